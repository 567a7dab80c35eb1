"""One style sheet per page, merged and pruned at build (book/_ext/book_pages.py,
``merge_stylesheets``).

The merged sheet must style every page exactly as the eleven sheets it replaces: on a sample of
pages of both editions, in both colour modes, at a phone's width and a desktop's, every element's
computed style (and its ::before content, where the icons are) is read with the page as built
and again with the page's original links to the theme's, Sphinx's and the extensions' own sheets
(the build records them in the doctrees, ``MERGED_INDEX``); the two must be equal. The merging
and the pruning are also tested on small sheets: the order kept, imports written in where they
stood, url()s rebased, one @charset; what pruning keeps, what it drops, and that a rule whose
class hides inside :not() is kept.
"""

from __future__ import annotations

import importlib.util
import json
import pathlib
import posixpath

import pytest
from browser_helpers import NO_TRANSITIONS, offline_context

ROOT = pathlib.Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("book_pages", ROOT / "book" / "_ext" / "book_pages.py")
book_pages = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(book_pages)

# (page, [(mode, width[, a button to press first]), ...]): chapters with maths, code, explorers and
# figures; the search page (its own scripts); the introduction and the Chinese edition; on a phone,
# the table of contents opened, and the search dialog.
MENU, SEARCH = "button.primary-toggle", "button.search-button__button"
SAMPLE = [
    ("chapters/05_masking.html", [("light", 390), ("dark", 1280), ("dark", 390, MENU),
                                  ("light", 390, SEARCH)]),
    ("zh/chapters/19_latent_linear.html", [("dark", 390), ("light", 1280)]),
    ("search.html", [("light", 390)]),
    ("book/intro.html", [("dark", 1280)]),
]
PROPERTIES = [
    "display", "visibility", "position", "top", "left", "float", "z-index", "width", "height",
    "margin-top", "margin-right", "margin-bottom", "margin-left", "padding-top", "padding-right",
    "padding-bottom", "padding-left", "border-top-width", "border-top-style", "border-top-color",
    "border-bottom-width", "border-bottom-color", "border-left-width", "border-left-color",
    "border-radius", "color", "background-color", "background-image", "font-family", "font-size",
    "font-weight", "font-style", "line-height", "text-align", "text-decoration-line",
    "text-transform", "white-space", "opacity", "overflow-x", "overflow-y", "flex-direction",
    "flex-wrap", "justify-content", "align-items", "gap", "grid-template-columns", "transform",
    "box-shadow", "outline-style", "cursor", "list-style-type", "vertical-align",
]
STYLES = """props => Array.from(document.querySelectorAll('html, body, body *')).map(el => {
    const s = getComputedStyle(el), before = getComputedStyle(el, '::before');
    const classes = typeof el.className === 'string' ? el.className.trim().split(/\\s+/).join('.') : '';
    const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (classes ? '.' + classes : '');
    return [name, props.map(p => p + ':' + s.getPropertyValue(p)).join(';') + ';before:' + before.content];
})"""


# True once the page's element count is the same at two polls in a row.
SETTLED = """() => { const n = document.getElementsByTagName('*').length;
    const same = window.saElementCount === n; window.saElementCount = n; return same; }"""


def originals(built_html: pathlib.Path, page_path: str) -> tuple[str, str]:
    """(the page as built, the same page linking the sheets its merged sheet replaced)."""
    zh = page_path.startswith("zh/")
    doctrees = ROOT / "_build" / (".doctrees-zh_CN" if zh else ".doctrees")
    index = doctrees / book_pages.MERGED_INDEX
    assert index.is_file(), f"{index} is missing: the build records there what each merged sheet replaced"
    record = json.loads(index.read_text(encoding="utf-8"))
    name = page_path[3:] if zh else page_path  # the page's path in its edition
    built = (built_html / page_path).read_text(encoding="utf-8")
    [(tag, merged)] = book_pages.page_stylesheets(name, built)
    assert merged in record, f"{page_path} links {merged}, which the build did not record"
    links = "".join(f'<link rel="stylesheet" href="{posixpath.relpath(sheet, posixpath.dirname(name))}" />\n'
                    for sheet in record[merged])
    return built, built.replace(tag, links, 1)


def computed_styles(browser, server, page_path, mode, width, press=None, html=None):
    context, page = offline_context(browser, server, mode=mode, width=width, height=900)
    try:
        if html is not None:
            page.route(f"{server}/{page_path}",
                       lambda r: r.fulfill(status=200, content_type="text/html; charset=utf-8", body=html))
        page.goto(f"{server}/{page_path}", wait_until="load")
        page.add_style_tag(content=NO_TRANSITIONS)
        if press is not None:
            page.locator(press + " >> visible=true").first.click()
            page.wait_for_function("document.querySelector('dialog[open]') !== null")
        page.wait_for_timeout(100)
        # settled: the explorers near the screen build their canvases and warm their states when
        # the machine is idle, so two loads can differ in elements for a while (a busy machine)
        page.wait_for_function(SETTLED, polling=300, timeout=15000)
        return page.evaluate(STYLES, PROPERTIES)
    finally:
        context.close()


@pytest.mark.built
@pytest.mark.parametrize("page_path,states", SAMPLE, ids=[p for p, _ in SAMPLE])
def test_the_merged_sheet_styles_every_element_as_the_sheets_it_replaces(built_html, book_server, browser,
                                                                        page_path, states):
    built, original = originals(built_html, page_path)
    assert built.count('rel="stylesheet"') == 1 and original.count('rel="stylesheet"') >= 10, \
        "the page does not link one merged sheet in place of the theme's"
    for mode, width, *press in states:
        merged = computed_styles(browser, book_server, page_path, mode, width, *press)
        separate = computed_styles(browser, book_server, page_path, mode, width, *press, html=original)
        assert len(merged) == len(separate), (page_path, mode, width, "a different number of elements")
        differences = []
        for (name, a), (_, b) in zip(merged, separate):
            if a != b:
                pa = dict(x.split(":", 1) for x in a.split(";"))
                pb = dict(x.split(":", 1) for x in b.split(";"))
                differences.append((name, {k: (pa[k], pb[k]) for k in pa if pa[k] != pb.get(k)}))
        assert not differences, (f"{page_path} ({mode}, {width} px): {len(differences)} elements styled "
                                 f"differently by the merged sheet (merged, separate): {differences[:5]}")


def test_merging_keeps_the_order_writes_imports_in_and_rebases_urls(tmp_path):
    static = tmp_path / "_static"
    (static / "styles").mkdir(parents=True)
    (static / "basic.css").write_text("div.a{background:url(file.png)}", encoding="utf-8")
    (static / "styles" / "theme.css").write_text('@charset "UTF-8";@import "../basic.css";\n.b{color:red}',
                                                  encoding="utf-8")
    (static / "styles" / "fonts.css").write_text(
        "@font-face{font-family:F;src:url('../fonts/f.woff')}.c{background:url(data:image/png;base64,AA)}",
        encoding="utf-8")
    (static / "book.css").write_text(".d{color:blue}.never{color:green}", encoding="utf-8")
    page = ('<html><head><link href="../_static/styles/theme.css?v=1" rel="stylesheet" />\n'
            '<link rel="stylesheet" href="../_static/styles/fonts.css" />\n'
            '<link rel="stylesheet" type="text/css" href="../_static/book.css?v=2" />\n'
            '</head><body><div class="a b c d">x</div></body></html>')
    index = tmp_path / "doctrees" / book_pages.MERGED_INDEX
    out = book_pages.merge_stylesheets(tmp_path, {"ch/p.html": page}, index)["ch/p.html"]
    [(_, merged)] = book_pages.page_stylesheets("ch/p.html", out)
    assert merged.startswith(book_pages.MERGED_DIR + "/" + book_pages.MERGED_PREFIX)
    css = (tmp_path / merged).read_text(encoding="utf-8")
    assert css.startswith('@charset "utf-8";') and css.count("@charset") == 1 and "@import" not in css
    # in the pages' order, basic.css where theme.css imported it; url()s from the merged sheet's folder
    order = [css.index(x) for x in ('url("../file.png")', ".b{", 'url("../fonts/f.woff")', ".d{")]
    assert order == sorted(order), css
    assert "url(data:image/png;base64,AA)" in css
    assert ".never{color:green}" in css  # the book's own sheet is not pruned
    assert json.loads(index.read_text(encoding="utf-8"))[merged] == [
        "_static/styles/theme.css", "_static/styles/fonts.css", "_static/book.css"]
    # run again on its own output (an incremental build): nothing changes
    assert book_pages.merge_stylesheets(tmp_path, {"ch/p.html": out}, index)["ch/p.html"] == out


def test_a_style_between_the_sheets_or_a_sheet_from_elsewhere_is_an_error(tmp_path):
    between = ('<head><link rel="stylesheet" href="a.css" /><style>p{}</style>'
               '<link rel="stylesheet" href="b.css" /></head>')
    with pytest.raises(RuntimeError, match="between the page's style sheets"):
        book_pages.page_stylesheets("p.html", between)
    with pytest.raises(RuntimeError, match="outside the book"):
        remote = '<head><link rel="stylesheet" href="https://x.org/a.css" /></head>'
        book_pages.page_stylesheets("p.html", remote)


def test_pruning_keeps_what_the_pages_use_and_drops_the_rest():
    css = (".used{color:red}.unused{color:blue}.used:hover,.unused:hover{color:green}"
           "@media (max-width:500px){.unused{margin:0}.used .also{margin:1px}}"
           "a:not(.unused){color:black}html[data-theme=dark] .used{color:white}"
           "@font-face{font-family:X;src:url(x.woff)}div{padding:0}")
    pruned, dropped = book_pages.prune_css(css, {"used", "also"})
    assert ".unused{" not in pruned and ".unused:hover" not in pruned
    assert ".used{color:red}" in pruned and ".used:hover{color:green}" in pruned
    assert "@media (max-width:500px){.used .also{margin:1px}}" in pruned
    assert "a:not(.unused){color:black}" in pruned  # matches exactly where .unused is absent
    assert "html[data-theme=dark] .used{color:white}" in pruned
    assert "@font-face" in pruned and "div{padding:0}" in pruned
    assert dropped == 2  # .unused{color:blue}, and .unused{margin:0} inside the @media rule
    pruned_all, dropped_all = book_pages.prune_css(css, set())
    assert ".used" not in pruned_all.replace("a:not(.unused)", "") and "@media" not in pruned_all
    assert dropped_all == 6  # all but a:not(.unused), @font-face and div


def test_a_comma_inside_brackets_does_not_split_a_selector():
    kept = 'html[data-theme=dark] .box img:not(.only-dark,.dark-light){background:#fff}'
    pruned, dropped = book_pages.prune_css(kept + '.gone,.box a[title="a,b"]{color:red}', {"box"})
    assert pruned == kept + '.box a[title="a,b"]{color:red}'
    assert dropped == 0


def test_escaped_characters_belong_to_the_name():
    assert book_pages._needed(".sm\\:flex:hover .a") == ["sm:flex", "a"]
    assert book_pages._needed(".x:is(.y, .z) > #w[data-k='.v']") == ["x", "w"]
