"""Write the reader notebooks: the chapters with their MyST markup turned into plain Jupyter Markdown.

    .venv/bin/python scripts/reader_notebooks.py            # (re)write notebooks/*.ipynb
    .venv/bin/python scripts/reader_notebooks.py --check    # exit 1 if notebooks/ is out of date

The chapters in ``chapters/`` are the one source. They use MyST (directives such as
``{math}``, ``{exercise}``, ``{solution}``, ``{admonition}``; roles such as ``{doc}``,
``{eq}``, ``{cite:t}``, ``{term}``), which Jupyter Book renders but Colab, JupyterLab, Notebook 7,
VS Code and GitHub's preview show as raw text. The notebooks in ``notebooks/`` are generated
from the chapters and are what the book's Colab, Binder and download buttons open:

- ``{math}`` with a label → ``$$ … \\tag{k} $$`` with the number the book page shows (the book
  numbers equations and exercises across all chapters);
- ``{doc}``, ``{eq}``, ``{ref}`` (to an exercise), ``{term}`` → links to the book's pages (``html.baseurl`` in
  ``book/_config.yml``), citations → "Vaswani et al. (2017)" / "(Vaswani et al., 2017)" linked
  to the bibliography;
- admonitions → block quotes, or ``<details>`` when folded;
- exercises → "Exercise k" headings; solutions folded in ``<details>``; a solution's code cells
  (gated ``solution-start`` … ``solution-end``) keep their code, with source and output hidden
  until the reader opens them.

Code cells are copied unchanged; nothing is edited by hand in ``notebooks/``.

The Chinese reader notebooks (``notebooks/zh/``) are made the same way from the same chapters:
each paragraph, heading, list item, table cell and title of a chapter's Markdown is replaced by
its translation from the chapter's catalog (``book/locales/zh_CN/LC_MESSAGES/chapters/*.po``,
the one the Chinese book uses), links go to the Chinese pages, and a cell after the set-up cell
calls ``utils.i18n.use_language("zh_CN")`` so that what the code prints and draws is in Chinese
too. A piece of text without a translation stays in English and is counted (``--check`` fails).
"""

from __future__ import annotations

import argparse
import copy
import json
import pathlib
import re
import sys
import unicodedata

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from book import EDITIONS, config, read_po, toc_chapters  # noqa: E402  (scripts/book.py)
from utils.i18n import PIP_FONT  # noqa: E402

CHAPTERS = ROOT / "chapters"
OUT = ROOT / "notebooks"
# notebooks/ and notebooks/zh/: the editions' folders
LANGUAGES = {language: OUT / edition.folder for language, edition in EDITIONS.items()}
CATALOGS = ROOT / "book" / "locales" / "zh_CN" / "LC_MESSAGES"
WORDS = {  # what the conversion itself writes, in each language
    "en": {"exercise": "Exercise {k}", "solution": "Solution to Exercise {k}",
           "folded": "**Solution to Exercise {k}** (folded: open the parts below after you have "
                     "tried the exercise)\n\n",
           "about": "> This notebook is generated from the book *Seeing Attention*. The book's page "
                    "for this chapter, [{title}]({url}), shows the same text with its figures and "
                    "explorers.",
           "note": "Note", "tip": "Tip", "warning": "Warning", "important": "Important",
           "hint": "Hint", "seealso": "See also", "caution": "Caution"},
    "zh_CN": {"exercise": "练习 {k}", "solution": "练习 {k} 的解答",
              "folded": "**练习 {k} 的解答**（已折叠：请先自己做这道练习，再展开下面的部分）\n\n",
              "about": "> 本笔记本由《看见注意力》(*Seeing Attention*) 一书生成。本章在书中的网页 "
                       "[{title}]({url}) 有同样的文字，以及图和探索器。",
              "note": "注意", "tip": "提示", "warning": "警告", "important": "重要",
              "hint": "提示", "seealso": "另请参阅", "caution": "小心"},
}
LANGUAGE_CELL = (  # utils.i18n.PIP_FONT: a CJK font from PyPI where there is none (Colab)
    "# 中文版：让代码打印的句子、图中的文字和探索器也用中文（需要 utils，上一个单元格在 Colab 上安装它）\n"
    "import sys\n"
    "\n"
    "import utils.i18n\n"
    "\n"
    "if \"google.colab\" in sys.modules and not utils.i18n.has_cjk_font():  # Colab 没有中文字体：\n"
    "    # 从 PyPI 安装 Noto Sans CJK SC（开源字体），--no-deps：不升级 Colab 的任何包\n"
    f"    %pip install -q --no-deps {PIP_FONT}\n"
    "utils.i18n.use_language(\"zh_CN\")"
)

DIRECTIVE = re.compile(r"^(?P<fence>`{3,}|~{3,}|:{3,})\{(?P<name>[a-z-]+)\}[ \t]*(?P<arg>[^\n]*)$", re.M)
OPTION = re.compile(r"^:(?P<key>[a-z-]+):[ \t]*(?P<value>[^\n]*)$")
ROLE = re.compile(r"\{(?P<role>doc|eq|ref|term|cite:t|cite:p|cite)\}`(?P<body>[^`]+)`")


# ----------------------------------------------------------------------------- book facts
# (the config, the table of contents and the editions: scripts/book.py)


def bibliography():
    """{key: (short author text, year)} from book/references.bib."""
    text = (ROOT / "book" / "references.bib").read_text(encoding="utf-8")
    entries = {}
    for m in re.finditer(r"@\w+\{([^,\s]+),(.*?)\n\}", text, re.S):
        key, body = m.group(1), m.group(2)
        fields = dict(re.findall(r"(\w+)\s*=\s*\{((?:[^{}]|\{[^{}]*\})*)\}", body))
        authors = [a.strip() for a in fields.get("author", "").split(" and ") if a.strip()]
        last = [_plain(a.split(",")[0] if "," in a else a.split()[-1]) for a in authors]
        if len(last) == 1:
            who = last[0]
        elif len(last) == 2:
            who = f"{last[0]} and {last[1]}"
        else:
            who = f"{last[0]} et al."
        entries[key] = (who, fields.get("year", "n.d."))
    return entries


def _plain(tex: str) -> str:
    tex = re.sub(r"\{\\[a-zA-Z]+\s*([a-zA-Z])\}", r"\1", tex)  # {\L} etc.: keep the letter
    return tex.replace("{", "").replace("}", "").strip()


def title_of(path: pathlib.Path) -> str:
    if path.suffix == ".ipynb":
        first = "".join(json.loads(path.read_text(encoding="utf-8"))["cells"][0]["source"])
    else:
        first = path.read_text(encoding="utf-8")
    line = next(l for l in first.splitlines() if l.startswith("# "))
    return line[2:].strip()


def term_anchor(term: str) -> str:
    """The id Sphinx gives a glossary term (sphinx.util.nodes._make_id of 'term-<term>', a private
    function, copied: tests/test_reader_notebooks.py checks it against the built glossary)."""
    text = unicodedata.normalize("NFKD", f"term-{term}").encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^a-zA-Z0-9._]+", "-", " ".join(text.split()))
    return re.sub(r"^[-0-9._]+|-+$", "", text)


def directives(text):
    """Yield (start, end, name, arg, options, body) for each top-level directive in text."""
    pos = 0
    while True:
        m = DIRECTIVE.search(text, pos)
        if not m:
            return
        fence, lines_after = m.group("fence"), text[m.end():].split("\n")[1:]
        options, i = {}, 0
        while i < len(lines_after) and OPTION.match(lines_after[i]):
            o = OPTION.match(lines_after[i])
            options[o.group("key")] = o.group("value").strip()
            i += 1
        body, depth, j = [], 0, i
        opener = re.compile(r"^(`{3,}|~{3,}|:{3,})\S")
        while j < len(lines_after):
            line = lines_after[j]
            stripped = line.strip()
            if stripped and set(stripped) == {fence[0]} and len(stripped) >= len(fence) and depth == 0:
                break
            if opener.match(line) and line[0] == fence[0]:
                depth += 1
            elif stripped and set(stripped) == {fence[0]} and depth > 0:
                depth -= 1
            body.append(line)
            j += 1
        if j == len(lines_after):
            raise ValueError(f"unclosed directive {{{m.group('name')}}}: {text[m.start():m.start() + 80]!r}")
        end = m.end() + 1 + sum(len(l) + 1 for l in lines_after[: j + 1]) - 1
        name, arg = m.group("name"), m.group("arg").strip()
        yield m.start(), min(end, len(text)), name, arg, options, "\n".join(body)
        pos = min(end, len(text))


# ----------------------------------------------------------------------------- conversion


class Book:
    def __init__(self, language: str = "en"):
        cfg = config()
        self.language, self.words = language, WORDS[language]
        self.base = cfg["html"]["baseurl"].rstrip("/") + "/" + EDITIONS[language].prefix
        self.tables = {}
        self.missing = []  # (page, English text) without a translation
        self.repo = cfg["repository"]["url"].rstrip("/")
        self.bib = bibliography()
        self.glossary = self.base + "book/glossary.html"
        self.chapters = [ROOT / (f + ".ipynb") for f in toc_chapters()]
        # Sphinx numbers equations and sphinx-exercise numbers exercises across the whole book,
        # in table-of-contents order (chapter 2 starts where chapter 1 stopped).
        self.equations = {}  # label -> (page stem, number)
        self.first_exercise = {}  # page stem -> number of its first exercise
        self.exercises = {}  # label -> (page stem, number)
        k = e = 0
        for path in self.chapters:
            self.first_exercise[path.stem] = e + 1
            for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
                if cell["cell_type"] != "markdown":
                    continue
                for _, _, name, _, options, _ in directives("".join(cell["source"])):
                    if name == "math" and "label" in options:
                        k += 1
                        self.equations[options["label"]] = (path.stem, k)
                    elif name == "exercise":
                        e += 1
                        self.exercises[options.get("label", "")] = (path.stem, e)

    def page(self, target: str, here: str) -> tuple[str, str]:
        """(url, title) of a {doc} target, relative to chapter `here`."""
        if target.startswith("/"):
            rel = target.lstrip("/")
        else:
            rel = f"chapters/{target}"
        found = [ROOT / (rel + ext) for ext in (".ipynb", ".md") if (ROOT / (rel + ext)).exists()]
        if not found:
            raise FileNotFoundError(f"{here}: {{doc}} target {target!r} has no file {rel}.ipynb or .md")
        source = found[0]
        return self.base + rel + ".html", self.title(source)

    def title(self, path: pathlib.Path) -> str:
        title = title_of(path)
        if self.language == "en":
            return title
        return re.sub(r"^(\d+)\\\.", r"\1.", self.table(path).get(_norm(title), title))

    def table(self, path: pathlib.Path) -> dict:
        """{normalised English message: translation} of a page's catalog."""
        folder = "chapters" if path.parent.name == "chapters" else "book"
        key = f"{folder}/{path.stem}"
        if key not in self.tables:
            self.tables[key] = read_catalog(CATALOGS / f"{key}.po")
        return self.tables[key]

    def translate(self, text: str, path: pathlib.Path) -> str:
        """A chapter's MyST source with every message replaced by its translation."""
        if self.language == "en":
            return text
        return translate_myst(text, self.table(path), lambda en: self.missing.append((path.stem, en)))

    def role(self, m, here: str) -> str:
        role, body = m.group("role"), m.group("body")
        explicit = re.fullmatch(r"(.*?)\s*<([^<>]+)>", body, re.S)
        text, target = (explicit.group(1), explicit.group(2)) if explicit else (None, body)
        if role == "doc":
            url, title = self.page(target, here)
            return f"[{text or title}]({url})"
        if role == "eq":
            stem, k = self.equations[target]
            return f"[({k})]({self.base}chapters/{stem}.html#equation-{target})"
        if role == "ref":
            if target not in self.exercises:
                raise KeyError(f"{here}: {{ref}} to {target!r}, which is not an exercise label")
            stem, k = self.exercises[target]
            return f"[{text or self.words['exercise'].format(k=k)}]({self.base}chapters/{stem}.html#{target})"
        if role == "term":
            return f"[{text or target}]({self.glossary}#{term_anchor(target)})"
        keys = [k.strip() for k in target.split(",")]
        missing = [k for k in keys if k not in self.bib]
        if missing:
            raise KeyError(f"{here}: citation keys not in references.bib: {missing}")
        url = self.base + "book/bibliography.html"
        if role == "cite:t":
            return "; ".join(f"[{self.bib[k][0]} ({self.bib[k][1]})]({url})" for k in keys)
        return "(" + "; ".join(f"[{self.bib[k][0]}, {self.bib[k][1]}]({url})" for k in keys) + ")"

    def markdown(self, text: str, here: str, ctx: dict) -> str:
        """Convert MyST markdown (without gated solution markers) to plain Jupyter markdown."""
        out, pos = [], 0
        for start, end, name, arg, options, body in list(directives(text)):
            out.append(text[pos:start])
            out.append(self.directive(name, arg, options, body, here, ctx))
            pos = end
        out.append(text[pos:])
        return ROLE.sub(lambda m: self.role(m, here), "".join(out))

    def directive(self, name, arg, options, body, here, ctx) -> str:
        if name == "math":
            body = body.strip()
            if "\\\\" in body and "\\begin" not in body:
                body = f"\\begin{{split}}{body}\\end{{split}}"
            tag = f" \\tag{{{self.equations[options['label']][1]}}}" if "label" in options else ""
            return f"$$\n{body}{tag}\n$$"
        if name == "exercise":
            ctx["exercises"] += 1
            ctx["numbers"][options.get("label", "")] = ctx["exercises"]
            title = self.words["exercise"].format(k=ctx["exercises"]) + (f": {arg}" if arg else "")
            return f"### {title}\n\n{self.markdown(body, here, ctx).strip()}"
        if name == "solution":
            k = ctx["numbers"][arg]
            return details(self.words["solution"].format(k=k), self.markdown(body, here, ctx))
        if name in ("admonition", "note", "tip", "warning", "important", "hint", "seealso", "caution"):
            title = arg if name == "admonition" else self.words[name]
            inner = self.markdown(body, here, ctx).strip()
            if "dropdown" in options.get("class", ""):
                return details(title, inner)
            quoted = "\n".join("> " + l if l else ">" for l in inner.split("\n"))
            return f"> **{title}**\n>\n{quoted}"
        raise ValueError(f"{here}: no plain-Markdown form for the directive {{{name}}}")


# ----------------------------------------------------------------------------- translation


def read_catalog(path: pathlib.Path) -> dict:
    """{normalised msgid: msgstr} of a .po file's translated, non-fuzzy messages (book.read_po)."""
    if not path.exists():
        return {}
    return {_norm(msgid): msgstr for msgid, msgstr in read_po(path).items()}


def _norm(text: str) -> str:
    return " ".join(text.split())


FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,}|:{3,})(?P<rest>.*)$")
ITEM = re.compile(r"^(?P<indent>\s*)(?P<marker>[-*+]|\d+[.)])(?P<space>\s+)(?P<text>.*)$")


def translate_myst(text: str, table: dict, missing) -> str:
    """Replace each message of MyST source (as Sphinx's gettext cuts it) by its translation.

    Paragraphs, headings, list items, table cells and directive titles are messages; maths,
    directive options and fences are kept. ``missing(english)`` is called for each message that
    has no translation (it stays in English).
    """

    def tr(english: str) -> str:
        key = _norm(english)
        if not key or not re.search(r"[A-Za-z]", key):
            return english
        if key in table:
            return table[key]
        missing(key)
        return english

    out, block, math, verbatim = [], [], None, None

    def flush():
        if block:
            out.extend(_translate_block(block, tr))
            block.clear()

    for line in text.split("\n"):
        stripped = line.strip()
        if verbatim is not None:  # inside {math} (or another literal directive) until its fence
            out.append(line)
            if stripped == verbatim:
                verbatim = None
            continue
        if math:
            out.append(line)
            if stripped.endswith("$$"):
                math = None
            continue
        fence = FENCE.match(line)
        if fence or not stripped or re.match(r"^:[a-z-]+:", stripped) or stripped.startswith("$$") \
                or re.match(r"^\(\S+\)=$", stripped):
            flush()
            if fence and fence.group("rest").startswith("{"):
                m = re.match(r"\{(?P<name>[a-z-]+)\}\s*(?P<arg>.*)$", fence.group("rest"))
                if m and m.group("name") in ("math", "code-cell", "code"):
                    verbatim = fence.group("fence")
                    out.append(line)
                    continue
                if m and m.group("arg") and m.group("name") not in (
                        "solution", "solution-start", "solution-end"):
                    line = line[: len(line) - len(m.group("arg"))] + tr(m.group("arg"))
            elif stripped.startswith("$$") and not (len(stripped) > 2 and stripped.endswith("$$")):
                math = True
            out.append(line)
            continue
        block.append(line)
    flush()
    return "\n".join(out)


def _translate_block(lines: list, tr) -> list:
    first = lines[0]
    heading = re.match(r"^(#{1,6})\s+(.*)$", first)
    if heading and len(lines) == 1:
        return [f"{heading.group(1)} {tr(heading.group(2))}"]
    if first.lstrip().startswith("|"):
        rows = []
        for line in lines:
            cells = line.strip().strip("|").split("|")
            if all(re.fullmatch(r"\s*:?-+:?\s*", c) for c in cells):
                rows.append(line)
            else:
                rows.append("| " + " | ".join(tr(c.strip()) for c in cells) + " |")
        return rows
    if ITEM.match(first):
        items = []  # [indent, marker, space, [text lines]]
        for line in lines:
            m = ITEM.match(line)
            if m:
                items.append([m.group("indent"), m.group("marker"), m.group("space"), [m.group("text")]])
            else:
                items[-1][3].append(line.strip())
        return [f"{indent}{marker}{space}{tr(' '.join(text))}" for indent, marker, space, text in items]
    if first.startswith(">"):
        return ["> " + tr(" ".join(line.lstrip(">").strip() for line in lines))]
    return [tr(" ".join(line.strip() for line in lines))]


def details(summary: str, body: str) -> str:
    return f"<details>\n<summary>{summary}</summary>\n\n{body.strip()}\n\n</details>"


GATE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{solution-(?P<kind>start|end)\}[ \t]*(?P<label>\S*)[^\n]*\n"
                  r"(?::[a-z-]+:[^\n]*\n)*(?P=fence)[ \t]*$", re.M)


def convert(path: pathlib.Path, book: Book) -> dict:
    nb = json.loads(path.read_text(encoding="utf-8"))
    here = path.stem
    ctx = {"exercises": book.first_exercise[here] - 1, "numbers": {}, "solution": None}
    words = book.words
    cells = []
    for i, cell in enumerate(nb["cells"]):
        cell = copy.deepcopy(cell)
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            text = book.translate(text, path)
            parts, pos = [], 0
            for m in GATE.finditer(text):
                before = book.markdown(text[pos:m.start()], here, ctx)
                if ctx["solution"] is not None:  # prose inside a gated solution: folded
                    if before.strip():
                        parts.append(details(words["solution"].format(k=ctx["solution"]), before))
                else:
                    parts.append(before)
                if m.group("kind") == "start":
                    ctx["solution"] = ctx["numbers"][m.group("label")]
                    parts.append(words["folded"].format(k=ctx["solution"]))
                else:
                    ctx["solution"] = None
                pos = m.end()
            rest = book.markdown(text[pos:], here, ctx)
            if ctx["solution"] is not None and rest.strip():
                rest = details(words["solution"].format(k=ctx["solution"]), rest)
            text = "".join(parts) + rest
            text = re.sub(r"\n{3,}", "\n\n", text).strip()
            if i == 0:
                url = f"{book.base}chapters/{here}.html"
                text += "\n\n" + words["about"].format(title=book.title(path), url=url)
            if not text:
                continue
        elif cell["cell_type"] == "code" and ctx["solution"] is not None:
            jupyter = cell["metadata"].setdefault("jupyter", {})
            jupyter["source_hidden"] = True
            jupyter["outputs_hidden"] = True
            tags = cell["metadata"].setdefault("tags", [])
            if "solution" not in tags:
                tags.append("solution")
        cell["source"] = _lines(text)
        cells.append(cell)
        if book.language != "en" and cell["cell_type"] == "code" and len(cells) == 2:
            cells.append({"cell_type": "code", "execution_count": None, "id": f"{cell['id']}-lang",
                          "metadata": {}, "outputs": [], "source": _lines(LANGUAGE_CELL)})
    if ctx["solution"] is not None:
        raise ValueError(f"{here}: a solution-start has no solution-end")
    nb["cells"] = cells
    nb["metadata"]["colab"] = {"name": path.name, "provenance": []}
    return nb


def _lines(text: str) -> list[str]:
    lines = text.split("\n")
    return [l + "\n" for l in lines[:-1]] + ([lines[-1]] if lines[-1] else [])


def render(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if notebooks/ differs from a fresh run")
    args = parser.parse_args(argv)
    status = 0
    for language, out in LANGUAGES.items():
        book = Book(language)
        wanted = {p.name: render(convert(p, book)) for p in book.chapters}
        present = {p.name: p.read_text(encoding="utf-8") for p in out.glob("*.ipynb")} if out.exists() else {}
        where = out.relative_to(ROOT)
        if book.missing:
            print(f"{where}: {len(book.missing)} pieces of text have no translation and stay in "
                  f"English, e.g. {book.missing[0]}", file=sys.stderr)
            status = 1 if args.check else status
        if args.check:
            stale = sorted(n for n in wanted if present.get(n) != wanted[n])
            extra = sorted(set(present) - set(wanted))
            if stale or extra:
                print(f"{where}/ is out of date: differs {stale}, not a chapter {extra}. "
                      "Run: .venv/bin/python scripts/reader_notebooks.py", file=sys.stderr)
                status = 1
            else:
                print(f"{where}/ is up to date ({len(wanted)} notebooks)")
            continue
        out.mkdir(exist_ok=True)
        for name in set(present) - set(wanted):
            (out / name).unlink()
        for name, text in wanted.items():
            if present.get(name) != text:
                (out / name).write_text(text, encoding="utf-8")
        print(f"wrote {len(wanted)} reader notebooks to {where}/")
    return status


if __name__ == "__main__":
    sys.exit(main())
