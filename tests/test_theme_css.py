"""The theme's style sheet, pruned at build (book/_ext/book_pages.py, ``prune_theme_css``).

The pruned sheet must style every page exactly as the full one: on a sample of pages of both
editions, in both colour modes, at a phone's width and a desktop's, every element's computed
style (and its ::before content, where the icons are) is read with the built, pruned sheet and
again with the full sheet served in its place; the two must be equal. The pruning itself is
tested on small sheets: what it keeps, what it drops, and that a rule whose class hides inside
:not() is kept.
"""

from __future__ import annotations

import importlib.util
import pathlib

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


def edition_root(built_html: pathlib.Path, page: str) -> tuple[pathlib.Path, str]:
    """The doctrees folder of the page's edition (where the build keeps the full sheet), and the
    URL path of that edition's theme sheet."""
    if page.startswith("zh/"):
        return ROOT / "_build" / ".doctrees-zh_CN", "/zh/" + book_pages.THEME_CSS
    return ROOT / "_build" / ".doctrees", "/" + book_pages.THEME_CSS


def computed_styles(browser, server, page_path, mode, width, press=None, full_css=None):
    context, page = offline_context(browser, server, mode=mode, width=width, height=900)
    try:
        if full_css is not None:
            page.route("**/_static/styles/pydata-sphinx-theme.css*",
                       lambda r: r.fulfill(status=200, content_type="text/css", body=full_css))
        page.goto(f"{server}/{page_path}", wait_until="load")
        page.add_style_tag(content=NO_TRANSITIONS)
        if press is not None:
            page.locator(press + " >> visible=true").first.click()
            page.wait_for_function("document.querySelector('dialog[open]') !== null")
        page.wait_for_timeout(100)
        return page.evaluate(STYLES, PROPERTIES)
    finally:
        context.close()


@pytest.mark.built
@pytest.mark.parametrize("page_path,states", SAMPLE, ids=[p for p, _ in SAMPLE])
def test_the_pruned_theme_sheet_styles_every_element_as_the_full_one(built_html, book_server, browser,
                                                                     page_path, states):
    doctrees, _ = edition_root(built_html, page_path)
    full = doctrees / book_pages.UNPRUNED
    assert full.is_file(), f"{full} is missing: the build keeps the full theme sheet there"
    pruned = (built_html / ("zh/" if page_path.startswith("zh/") else "") / book_pages.THEME_CSS).read_text(
        encoding="utf-8")
    full_css = full.read_text(encoding="utf-8")
    assert len(pruned) < 0.5 * len(full_css), "the theme sheet was not pruned"
    for mode, width, *press in states:
        with_pruned = computed_styles(browser, book_server, page_path, mode, width, *press)
        with_full = computed_styles(browser, book_server, page_path, mode, width, *press, full_css=full_css)
        assert len(with_pruned) == len(with_full), (page_path, mode, width, "a different number of elements")
        differences = []
        for (name, a), (_, b) in zip(with_pruned, with_full):
            if a != b:
                pa = dict(x.split(":", 1) for x in a.split(";"))
                pb = dict(x.split(":", 1) for x in b.split(";"))
                differences.append((name, {k: (pa[k], pb[k]) for k in pa if pa[k] != pb.get(k)}))
        assert not differences, (f"{page_path} ({mode}, {width} px): {len(differences)} elements styled "
                                 f"differently by the pruned sheet (pruned, full), e.g. {differences[:5]}")


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
