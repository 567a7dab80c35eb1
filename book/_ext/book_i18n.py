"""The two editions of the book (English at the site's root, Chinese under ``zh/``), one source.

Sphinx translates the pages' prose from ``book/locales``. This extension does the rest:

- **Outputs in Chinese** (only when ``language`` is not ``en``). The chapters executed once, for
  the English build, and ``utils.i18n`` then also drew every figure and every static explorer in
  Chinese into ``_build/i18n-dump/<language>/``: a figure named by the SHA-256 of its English
  PNG, an explorer by its name. Here every explorer's HTML is swapped for its Chinese page,
  every figure's copied image is overwritten with its Chinese drawing, and every printed line
  (streams and text results) is translated by ``utils.i18n.translate``. What was met, and what
  had no translation, is written to ``_build/i18n/<language>/messages.json`` and
  ``missing.json`` (the tests read them).
- **A language switch on every page**: each page links the same page in every edition at its
  published address (``<link rel="alternate" hreflang=...>``, with ``x-default``), and ``book.js``
  shows the other edition's as a button (with the relative address it also carries).
- **A meta description** on every page: its opening paragraph, in the page's language.
- Exercise titles become messages: sphinx-exercise parses an exercise's title without
  recording where it came from, so Sphinx's gettext would skip it; a transform that runs before
  Sphinx's translation gives it its source and its text (maths back in ``$…$``).
- The theme's search box text in Chinese, and the licence footer of every page in the page's
  language, with its links made from the repository named in ``_config.yml``.
"""

from __future__ import annotations

import importlib.util
import json
import pathlib
import re
import shutil
import sys

from docutils import nodes
from sphinx.transforms import SphinxTransform

ROOT = pathlib.Path(__file__).resolve().parents[2]
DUMP = ROOT / "_build" / "i18n-dump"
REPORT = ROOT / "_build" / "i18n"


def _load_book():
    """scripts/book.py, loaded by its path (scripts/ is not a package, and the Sphinx build's
    path holds the folder book/ under the same name)."""
    name = "seeing_attention_book"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "book.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


EDITIONS = _load_book().EDITIONS  # language -> Edition(folder, title, name, hreflang)


def _i18n():
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from utils import i18n

    return i18n


def _is_output(node) -> bool:
    parent = node.parent
    while parent is not None:
        if "cell_output" in parent.get("classes", []):
            return True
        parent = parent.parent
    return "output" in node.get("classes", [])


def _translate_outputs(app, doctree, docname):
    language = app.config.language
    if language == "en":
        return
    i18n = _i18n()
    unswapped = []
    met = set()
    folder = DUMP / language

    images = {}  # English image's name -> its Chinese drawing

    def note(messages):
        met.update(messages)

    for node in list(doctree.findall(nodes.literal_block)):
        if not _is_output(node):
            continue
        text = node.astext()
        i18n.seen(clear=True)
        new = i18n.translate(text, language)
        note(m for m, _ in i18n.seen(clear=True))
        if new != text:
            replacement = nodes.literal_block(new, new, **{k: v for k, v in node.attributes.items()
                                                           if k not in ("ids", "names", "dupnames")})
            node.replace_self(replacement)
    for node in list(doctree.findall(nodes.raw)):
        if node.get("format") != "html" or not _is_output(node):
            continue
        text = node.astext()
        explorer = re.search(r'<div class="sa-explorer" data-explorer="([a-z0-9-]+)"', text)
        page = folder / f"explorer-{explorer.group(1)}.html" if explorer else None
        # other outputs written in both languages by the build (utils.minilm_web's panel)
        swapped = re.search(r'data-sa-translated="([a-z0-9-]+)"', text)
        if swapped is not None:
            page = folder / f"{swapped.group(1)}.html"
            if not page.exists():
                unswapped.append(f"output {swapped.group(1)}")
                continue
        if page is not None and page.exists():
            new = page.read_text(encoding="utf-8")
            note(json.loads(page.with_name(page.name + ".json").read_text(encoding="utf-8")))
        elif 'class="sa-explorer' in text:
            unswapped.append(f"explorer {explorer.group(1) if explorer else text[:60]}")
            continue
        else:  # other HTML (a table): translate the text between tags
            i18n.seen(clear=True)
            new = re.sub(r">([^<>]+)<", lambda m: ">" + i18n.translate(m.group(1), language) + "<", text)
            note(m for m, _ in i18n.seen(clear=True))
        node.replace_self(nodes.raw("", new, format="html", classes=node.get("classes", [])))
    for node in doctree.findall(nodes.image):
        uri = node.get("uri", "")
        stem = pathlib.Path(uri).stem
        if not re.fullmatch(r"[0-9a-f]{64}", stem) or not _is_output(node):
            continue
        png = folder / f"{stem}.png"
        if png.exists():
            images[stem] = str(png)
            note(json.loads((folder / f"{stem}.png.json").read_text(encoding="utf-8")))
        else:
            unswapped.append(f"figure {stem[:12]}")
    missing = sorted(m for m in met if i18n.lookup(m, language) is None)
    # One record per page, written now: a later build that rewrites only some pages keeps the
    # others' records (build-finished gathers them all).
    record = {"messages": sorted(met), "missing": missing, "images": images,
              "unswapped": unswapped}
    path = REPORT / language / "pages" / f"{docname}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")


def _finish(app, exception):
    language = app.config.language
    if exception is not None or language == "en" or app.builder.format != "html":
        return
    out = REPORT / language
    out.mkdir(parents=True, exist_ok=True)
    pages = {}
    for path in sorted((out / "pages").rglob("*.json")):
        pages[path.relative_to(out / "pages").with_suffix("").as_posix()] = json.loads(
            path.read_text(encoding="utf-8"))
    folder = pathlib.Path(app.outdir) / "_images"
    for record in pages.values():  # the copied English image becomes the Chinese one
        for stem, source in record["images"].items():
            for target in folder.glob(f"{stem}*.png"):
                shutil.copyfile(source, target)
    for name in ("messages", "missing", "unswapped"):
        found = {doc: record[name] for doc, record in pages.items() if record[name] or name == "messages"}
        (out / f"{name}.json").write_text(json.dumps(found, ensure_ascii=False, indent=1), encoding="utf-8")


def _site_root(app) -> str:
    """The published address of the site's root (html_baseurl less this edition's folder)."""
    base = (app.config.html_baseurl or "").rstrip("/") + "/"
    folder = EDITIONS.get(app.config.language, EDITIONS["en"]).prefix
    return base[: -len(folder)] if folder and base.endswith(folder) else base


def _alternate(app, pagename, templatename, context, doctree):
    """<link rel="alternate" hreflang> to this page in every edition, at its published address,
    and x-default (the English page), as search engines want them. The other edition's link also
    carries its address relative to this page (data-sa-href): book.js makes it the language
    button, which must work offline and on any host."""
    language = app.config.language
    here = EDITIONS.get(language, EDITIONS["en"]).prefix
    up = "../" * pagename.count("/") + "../" * here.count("/")
    root = _site_root(app)
    links = []
    for edition, e in EDITIONS.items():
        absolute = f"{root}{e.prefix}{pagename}.html"
        extra = "" if edition == language else (f' title="{e.name}" data-sa-edition="{edition}" '
                                                f'data-sa-href="{up}{e.prefix}{pagename}.html"')
        links.append(f'<link rel="alternate" hreflang="{e.hreflang}" href="{absolute}"{extra}>')
    links.append(f'<link rel="alternate" hreflang="x-default" href="{root}{pagename}.html">')
    context["metatags"] = context.get("metatags", "") + "\n".join(links)


DESCRIPTION_LENGTH = 160  # characters, about what a search result shows


# The pages Sphinx writes without a source (no opening paragraph to describe them), and the
# bibliography (its Chinese opening sentence is shorter than a description's 40 characters, so the
# first reference, in the language of the work cited, would be taken), per language.
GENERATED_DESCRIPTIONS = {
    "en": {"genindex": "The index of Seeing Attention, an interactive book on attention and the "
                       "Transformer: every term of its glossary, in English and in Chinese.",
           "search": "Search the text of Seeing Attention, an interactive book on attention and the "
                     "Transformer, in the page itself, with no connection needed.",
           "book/bibliography": "Every work that Seeing Attention, an interactive book on attention "
                                "and the Transformer, cites, in one list; each chapter's citations "
                                "link here."},
    "zh_CN": {"genindex": "《看见注意力》的索引：这本讲注意力机制与 Transformer 的交互式教材的"
                          "全部术语表词条，中英对照。",
              "search": "在《看见注意力》全书中搜索。这本讲注意力机制与 Transformer 的交互式教材，"
                        "搜索就在页面里完成，无须联网。",
              "book/bibliography": "《看见注意力》这本讲注意力机制与 Transformer 的交互式教材所引用的"
                                   "全部文献，集中在这一页；各章的引文都链接到这里。"},
}


def _description(app, pagename, templatename, context, doctree):
    """<meta name="description">: the page's first paragraph of plain prose (no maths, no code), in
    the page's language, cut at a word (or, in Chinese, a character) before DESCRIPTION_LENGTH.
    The index, the search page and the bibliography get a fixed one (GENERATED_DESCRIPTIONS)."""
    fixed = GENERATED_DESCRIPTIONS.get(app.config.language or "en", {}).get(pagename)
    if doctree is None or fixed:
        text = fixed
        if text:
            from html import escape

            meta = f'<meta name="description" content="{escape(text)}">'
            context["metatags"] = context.get("metatags", "") + "\n" + meta
        return

    def plain_sentences(paragraph) -> str:
        """The paragraph's sentences that hold no maths (a description cannot typeset it)."""
        if _is_output(paragraph) or isinstance(paragraph.parent, (nodes.list_item, nodes.admonition)):
            return ""
        parts = ["\0" if isinstance(n, nodes.math) else n.astext()
                 for n in paragraph.findall(lambda n: isinstance(n, (nodes.Text, nodes.math)))
                 if not isinstance(n.parent, nodes.math)]
        text = re.sub(r"\s+", " ", "".join(parts)).strip()
        sentences = re.findall(r"[^.。!?！？]+(?:[.。!?！？]+|$)", text)
        return "".join(s for s in sentences if "\0" not in s).strip()

    texts = (plain_sentences(p) for p in doctree.findall(nodes.paragraph))
    text = next((t for t in texts if len(t) >= 40), None)
    if text is None:
        return
    if len(text) > DESCRIPTION_LENGTH:
        cut = text[: DESCRIPTION_LENGTH - 1]
        cut = cut.rsplit(" ", 1)[0] if " " in cut[DESCRIPTION_LENGTH // 2:] else cut
        text = cut.rstrip(",;:，；：") + "…"
    from html import escape

    meta = f'<meta name="description" content="{escape(text)}">'
    context["metatags"] = context.get("metatags", "") + "\n" + meta


# The licence footer of every page (``html.extra_footer`` in _config.yml is the English one).
FOOTER = {
    "zh_CN": '<p class="sa-licence">本书的文字、图片和译文采用 '
             '<a href="https://creativecommons.org/licenses/by-sa/4.0/">CC BY-SA 4.0</a> 许可协议'
             '（<a href="{repository}/blob/{branch}/LICENSE-CC-BY-SA-4.0">LICENSE-CC-BY-SA-4.0</a>），'
             '代码采用 <a href="{repository}/blob/{branch}/LICENSE">MIT 许可协议（LICENSE）</a>。</p>',
}


def footer(english: str, language: str, repository: str, branch: str = "main") -> str:
    """The licence footer for ``language`` (``english`` is ``html.extra_footer``), its links to
    the licence files made from the repository named once in ``_config.yml``. Used by every
    page (both editions)."""
    text = FOOTER.get(language, english)
    return text.replace("{repository}", repository.rstrip("/")).replace("{branch}", branch or "main")


def _config(app, config):
    options = dict(config.html_theme_options or {})
    if options.get("extra_footer"):
        options["extra_footer"] = footer(options["extra_footer"], config.language or "en",
                                         options.get("repository_url", ""),
                                         options.get("repository_branch", "main"))
        config.html_theme_options = options
    if config.language == "zh_CN":
        options = dict(config.html_theme_options or {})
        options["search_bar_text"] = "搜索本书……"
        config.html_theme_options = options
        config.nb_code_prompt_show = "显示隐藏的内容"
        config.nb_code_prompt_hide = "隐藏内容"
        config.togglebutton_hint = "点击显示"
        config.togglebutton_hint_hide = "点击隐藏"
        # Chinese search: Sphinx cuts the text into words with jieba, but not the query; the
        # glossary's terms (自注意力, 位置编码, 键值缓存, ...) are added to jieba's dictionary so that
        # each is indexed as a word as well as in its parts.
        terms = sorted(set(re.findall(r"\(([\u4e00-\u9fff]+)\)",
                                      (ROOT / "book" / "glossary.md").read_text(encoding="utf-8"))))
        if terms:
            path = REPORT / "jieba-terms.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(f"{t} 100000 n\n" for t in terms), encoding="utf-8")
            config.html_search_options = {**(config.html_search_options or {}), "dict": str(path)}


class ExerciseTitles(SphinxTransform):
    """Make each exercise's title translatable (before sphinx.transforms.i18n.Locale, at 20)."""

    default_priority = 15

    def apply(self, **kwargs):
        try:
            from sphinx_exercise.nodes import exercise_subtitle
        except ImportError:  # pragma: no cover
            return
        source = self.document.get("source", "")
        for node in self.document.findall(exercise_subtitle):
            if node.source and node.rawsource:
                continue
            text = "".join(f"${child.astext()}$" if isinstance(child, nodes.math) else child.astext()
                           for child in node.children)
            node.source, node.rawsource = source, text
            node.line = node.line or (node.parent.line if node.parent is not None else None) or 1


class TocCaptions(SphinxTransform):
    """Translate the part captions of the table of contents. sphinx-external-toc inserts its
    toctrees (priority 100) after Sphinx has translated the page (20), so their captions, though
    extracted into the root page's catalog, would stay in English."""

    default_priority = 150

    def apply(self, **kwargs):
        from sphinx import addnodes
        from sphinx.builders.gettext import docname_to_domain
        from sphinx.locale import init as init_locale

        if self.config.language in (None, "en"):
            return
        domain = docname_to_domain(self.env.docname, self.config.gettext_compact)
        dirs = [str(pathlib.Path(self.env.srcdir) / d) for d in self.config.locale_dirs]
        catalog, found = init_locale(dirs, self.config.language, domain)
        if not found:
            return
        for node in self.document.findall(addnodes.toctree):
            if node.get("caption"):
                node["caption"] = node["rawcaption"] = catalog.gettext(node["caption"])


def _extract_exercise_titles(app, doctree, docname):
    """Sphinx's gettext builder reads the doctree after sphinx-exercise has rebuilt the titles:
    add the titles, as the reading left them, to the page's catalog."""
    if app.builder.name != "gettext":
        return
    from sphinx.builders.gettext import docname_to_domain
    from sphinx_exercise.nodes import exercise_subtitle

    catalog = app.builder.catalogs[docname_to_domain(docname, app.config.gettext_compact)]
    for node in app.env.get_doctree(docname).findall(exercise_subtitle):
        if node.rawsource:
            node.uid = ""
            catalog.add(node.rawsource, node)


def _index_chinese_in_linear_time():
    """Sphinx 7.4's Chinese search indexer (``sphinx.search.zh.SearchChinese``) keeps every Latin
    word it has cut from any page in one list, and for every word it stems asks whether the word
    is in that list: each page took longer to index than the one before, and the Chinese build
    spent 104 of its 240 s (measured with cProfile) in that one test. The same test against a set
    gives the same index (``tests/test_i18n.py`` compares the two on the book's own words)."""
    try:
        from sphinx.search import zh
    except ImportError:  # pragma: no cover (Sphinx always ships it)
        return
    cls = zh.SearchChinese
    if getattr(cls, "_sa_latin_set", False):
        return

    def split(self, input: str) -> list[str]:
        chinese = list(zh.jieba.cut_for_search(input)) if zh.JIEBA else []
        latin1 = [term.strip() for term in self.latin1_letters.findall(input)]
        self.latin_terms.update(latin1)
        return chinese + latin1

    cls.latin_terms = set(cls.latin_terms)
    cls.split = split
    cls._sa_latin_set = True


def setup(app):
    _index_chinese_in_linear_time()
    app.add_transform(ExerciseTitles)
    app.add_transform(TocCaptions)
    app.connect("doctree-resolved", _extract_exercise_titles)
    app.connect("config-inited", _config)
    app.connect("doctree-resolved", _translate_outputs)
    app.connect("html-page-context", _alternate)
    app.connect("html-page-context", _description)
    app.connect("build-finished", _finish)
    return {"parallel_read_safe": True, "parallel_write_safe": False}
