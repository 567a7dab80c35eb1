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
"""

from __future__ import annotations

import argparse
import copy
import json
import pathlib
import re
import sys
import unicodedata

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
OUT = ROOT / "notebooks"

DIRECTIVE = re.compile(r"^(?P<fence>`{3,}|~{3,}|:{3,})\{(?P<name>[a-z-]+)\}[ \t]*(?P<arg>[^\n]*)$", re.M)
OPTION = re.compile(r"^:(?P<key>[a-z-]+):[ \t]*(?P<value>[^\n]*)$")
ROLE = re.compile(r"\{(?P<role>doc|eq|ref|term|cite:t|cite:p|cite)\}`(?P<body>[^`]+)`")


# ----------------------------------------------------------------------------- book facts


def config():
    return yaml.safe_load((ROOT / "book" / "_config.yml").read_text(encoding="utf-8"))


def toc_chapters():
    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text(encoding="utf-8"))
    return [c["file"] for part in toc["parts"] for c in part["chapters"] if c["file"].startswith("chapters/")]


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
    """The id Sphinx gives a glossary term (sphinx.util.nodes._make_id of 'term-<term>')."""
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
    def __init__(self):
        cfg = config()
        self.base = cfg["html"]["baseurl"].rstrip("/") + "/"
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
        return self.base + rel + ".html", title_of(source)

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
            return f"[{text or f'Exercise {k}'}]({self.base}chapters/{stem}.html#{target})"
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
            title = f"Exercise {ctx['exercises']}" + (f": {arg}" if arg else "")
            return f"### {title}\n\n{self.markdown(body, here, ctx).strip()}"
        if name == "solution":
            k = ctx["numbers"][arg]
            return details(f"Solution to Exercise {k}", self.markdown(body, here, ctx))
        if name in ("admonition", "note", "tip", "warning", "important", "hint", "seealso", "caution"):
            title = arg if name == "admonition" else name.capitalize()
            inner = self.markdown(body, here, ctx).strip()
            if "dropdown" in options.get("class", ""):
                return details(title, inner)
            quoted = "\n".join("> " + l if l else ">" for l in inner.split("\n"))
            return f"> **{title}**\n>\n{quoted}"
        raise ValueError(f"{here}: no plain-Markdown form for the directive {{{name}}}")


def details(summary: str, body: str) -> str:
    return f"<details>\n<summary>{summary}</summary>\n\n{body.strip()}\n\n</details>"


GATE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{solution-(?P<kind>start|end)\}[ \t]*(?P<label>\S*)[^\n]*\n"
                  r"(?::[a-z-]+:[^\n]*\n)*(?P=fence)[ \t]*$", re.M)


def convert(path: pathlib.Path, book: Book) -> dict:
    nb = json.loads(path.read_text(encoding="utf-8"))
    here = path.stem
    ctx = {"exercises": book.first_exercise[here] - 1, "numbers": {}, "solution": None}
    cells = []
    for i, cell in enumerate(nb["cells"]):
        cell = copy.deepcopy(cell)
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            parts, pos = [], 0
            for m in GATE.finditer(text):
                before = book.markdown(text[pos:m.start()], here, ctx)
                if ctx["solution"] is not None:  # prose inside a gated solution: folded
                    if before.strip():
                        parts.append(details(f"Solution to Exercise {ctx['solution']}", before))
                else:
                    parts.append(before)
                if m.group("kind") == "start":
                    ctx["solution"] = ctx["numbers"][m.group("label")]
                    parts.append(f"**Solution to Exercise {ctx['solution']}** (folded: open the parts "
                                 "below after you have tried the exercise)\n\n")
                else:
                    ctx["solution"] = None
                pos = m.end()
            rest = book.markdown(text[pos:], here, ctx)
            if ctx["solution"] is not None and rest.strip():
                rest = details(f"Solution to Exercise {ctx['solution']}", rest)
            text = "".join(parts) + rest
            text = re.sub(r"\n{3,}", "\n\n", text).strip()
            if i == 0:
                url = f"{book.base}chapters/{here}.html"
                text += (f"\n\n> This notebook is generated from the book *Seeing Attention*. The book's "
                         f"page for this chapter, [{title_of(path)}]({url}), shows the same text with "
                         f"its figures and explorers.")
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
    book = Book()
    wanted = {p.name: render(convert(p, book)) for p in book.chapters}
    present = {p.name: p.read_text(encoding="utf-8") for p in OUT.glob("*.ipynb")} if OUT.exists() else {}
    if args.check:
        stale = sorted(n for n in wanted if present.get(n) != wanted[n])
        extra = sorted(set(present) - set(wanted))
        if stale or extra:
            print(f"notebooks/ is out of date: differs {stale}, not a chapter {extra}. "
                  "Run: .venv/bin/python scripts/reader_notebooks.py", file=sys.stderr)
            return 1
        print(f"notebooks/ is up to date ({len(wanted)} notebooks)")
        return 0
    OUT.mkdir(exist_ok=True)
    for name in set(present) - set(wanted):
        (OUT / name).unlink()
    for name, text in wanted.items():
        if present.get(name) != text:
            (OUT / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(wanted)} reader notebooks to {OUT.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
