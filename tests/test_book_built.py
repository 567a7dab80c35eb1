"""The built book, as a reader meets it: every page in headless Chromium, offline.

Each page must load with no console error, no failed request and no request to another host;
math must be typeset by the book's own MathJax; every image must decode; every explorer's
controls must be visible; and the reader's tools (launch menu, download, search, citations)
must be there.
"""

from __future__ import annotations

import importlib.util
import pathlib
import re

import yaml
from browser import FLAGS, require_chromium  # scripts/browser.py (conftest puts scripts/ on the path)
from browser_helpers import offline_context

ROOT = pathlib.Path(__file__).resolve().parents[1]


def all_pages(built_html):
    skip = {"genindex.html", "index.html"}  # index.html only redirects (tested on its own)
    return sorted(p for p in built_html.rglob("*.html")
                  if p.name not in skip and "_static" not in p.parts and "_sources" not in p.parts)


def repository_url():
    config = yaml.safe_load((ROOT / "book" / "_config.yml").read_text(encoding="utf-8"))
    return config["repository"]["url"].rstrip("/")


def test_every_page_loads_offline_with_math_figures_and_explorer_controls(built_html, page_tour):
    """Every page (both editions, conftest's page_tour) loads from the book alone: no request to
    another host, none failed, no console error; its formulas typeset, its images loaded, every
    explorer with visible controls."""
    pages = [p.relative_to(built_html).as_posix() for p in all_pages(built_html)]
    assert len(pages) >= 6, pages
    missing = sorted(set(pages) - set(page_tour))
    assert not missing, f"pages the tour did not load: {missing}"
    n_math = n_images = n_controls = 0
    for rel, facts in page_tour.items():
        if 'class="math' in (built_html / rel).read_text(encoding="utf-8"):
            assert facts["math"] > 0, f"{rel}: math not typeset"
            assert facts["merror"] == 0, f"{rel}: MathJax reported an error"
            assert not facts["glyphless"], f"{rel}: glyphs the page does not hold: {facts['glyphless']}"
            n_math += 1
        assert not facts["broken"], f"{rel}: images that did not load: {facts['broken']}"
        n_images += facts["images"]
        for explorer in facts["explorers"]:
            assert explorer["controls"], f"{rel}: explorer {explorer['name']} has no controls"
            assert all(explorer["controls"]), f"{rel}: explorer {explorer['name']} hides a control"
            n_controls += len(explorer["controls"])
        assert not facts["external"], f"{rel}: requests to other hosts: {facts['external']}"
        assert not facts["failed"], f"{rel}: failed requests: {facts['failed']}"
        assert not facts["console_errors"], f"{rel}: console errors: {facts['console_errors']}"
    assert n_math >= 3 and n_images > 0 and n_controls > 0, (n_math, n_images, n_controls)


def test_index_redirects_to_the_introduction(offline_page):
    page = offline_page
    page.goto(f"{page.sa_server}/index.html")
    page.wait_for_url("**/book/intro.html", timeout=10_000)
    assert page.locator("h1").first.inner_text().startswith("Seeing Attention")


def test_every_chapter_has_a_figure_an_explorer_exercises_and_a_summary(chapter_pages):
    for path in chapter_pages:
        html = path.read_text(encoding="utf-8")
        name = path.name
        assert re.search(r'<img[^>]+src="[^"]*_images/', html), f"{name}: no static figure"
        assert "sa-explorer" in html, f"{name}: no explorer"
        assert html.count('class="exercise') >= 3, f"{name}: fewer than 3 exercises"
        assert html.count('class="solution') >= 3, f"{name}: fewer than 3 solutions"
        assert re.search(r"<h2>Summary", html), f"{name}: no summary section"


def test_launch_menu_download_and_repository_link_on_every_chapter(chapter_pages):
    """Colab and Binder open the chapter's reader notebook (plain Markdown, notebooks/), Binder in
    JupyterLab (labpath=), and the page's .ipynb download is that reader notebook."""
    repo = repository_url()
    slug = repo.split("github.com/")[1]
    for path in chapter_pages:
        html = path.read_text(encoding="utf-8")
        notebook = f"notebooks/{path.stem}.ipynb"
        assert f"colab.research.google.com/github/{slug}/blob/main/{notebook}" in html, path.name
        assert f"mybinder.org/v2/gh/{slug}/main?labpath={notebook}" in html, path.name
        assert "urlpath=" not in html and f"blob/main/chapters/{path.stem}" not in html, path.name
        assert f"_sources/chapters/{path.stem}.ipynb" in html, f"{path.name}: no .ipynb download"
        downloaded = path.parent.parent / "_sources" / "chapters" / f"{path.stem}.ipynb"
        assert downloaded.is_file(), f"{downloaded} is missing"
        assert downloaded.read_bytes() == (ROOT / notebook).read_bytes(), f"{downloaded} is not {notebook}"


def test_colab_cells_install_from_the_configured_repository():
    repo = repository_url()
    for nb in sorted((ROOT / "chapters").glob("*.ipynb")):
        text = nb.read_text(encoding="utf-8")
        assert f"git+{repo}" in text, f"{nb.name}: its Colab set-up cell does not install from {repo}"


def test_citations_resolve_to_the_bibliography(built_html):
    bib = (built_html / "book" / "bibliography.html").read_text(encoding="utf-8")
    for author in ["Vaswani", "Bahdanau", "Luong", "Shaw", "Nadaraya", "Watson", "Ba", "He",
                   "Zhang"]:
        assert author in bib, f"bibliography lacks {author}"
    cited = 0
    for path in (built_html / "chapters").glob("*.html"):
        cited += path.read_text(encoding="utf-8").count("bibliography.html#id")
    assert cited > 0, "no chapter links a citation to the bibliography page"


def test_glossary_gives_chinese_terms(built_html):
    html = (built_html / "book" / "glossary.html").read_text(encoding="utf-8")
    for term in ["注意力", "查询", "键", "值", "掩蔽", "多头注意力", "位置编码"]:
        assert term in html, f"glossary lacks {term}"


def test_search_finds_a_chapter(offline_page):
    page = offline_page
    page.goto(f"{page.sa_server}/search.html?q=softmax", wait_until="load")
    page.wait_for_selector("#search-results li", timeout=20_000)
    hits = page.locator("#search-results li").all_inner_texts()
    assert any("Softmax" in h or "softmax" in h for h in hits), hits[:5]
    assert not page.sa_external and not page.sa_console_errors


def test_every_page_names_its_licences_in_its_language(built_html):
    """Both editions: every page's footer links the two licence files (made from the repository
    in _config.yml), in English on the English pages and in Chinese on the Chinese ones."""
    repo = repository_url()
    pages = all_pages(built_html)
    assert any(p.relative_to(built_html).parts[0] == "zh" for p in pages), "no Chinese pages"
    for path in pages:
        html = path.read_text(encoding="utf-8")
        footer = re.search(r'<div class="extra_footer">(.*?)</div>', html, re.S)
        rel = path.relative_to(built_html).as_posix()
        assert footer, f"{rel}: no licence footer"
        links = re.findall(r'href="([^"]+)"', footer.group(1))
        assert links == ["https://creativecommons.org/licenses/by-sa/4.0/",
                         f"{repo}/blob/main/LICENSE-CC-BY-SA-4.0", f"{repo}/blob/main/LICENSE"], (rel, links)
        chinese = bool(re.search(r"[\u4e00-\u9fff]", footer.group(1)))
        assert chinese == rel.startswith("zh/"), f"{rel}: the footer is not in the page's language"


TAB_STOPS = """() => {
    const list = "pre, .nboutput > .output_area, .cell_output > .output, .jp-RenderedHTMLCommon, "
        + ".pst-scrollable-table-container";
    return Array.from(document.querySelectorAll(list)).map(el => [
        el.scrollWidth > el.clientWidth || el.scrollHeight > el.clientHeight, el.getAttribute('tabindex')]);
}"""


def test_scrollable_code_is_keyboard_reachable_on_a_phone_and_a_desktop(built_html, browser, book_server):
    """book.js's tab stops (the theme's own pass is taken out of its script: it laid the page out
    once per code cell). On a phone-wide page, scrolled to its third code cell, before any key
    is pressed, only the blocks near the screen are measured; at the first Tab every code block
    and output wider than its box has tabindex 0 and every other one -1, before the focus moves;
    widened to a desktop, they follow."""
    theme = (built_html / "_static" / "scripts" / "pydata-sphinx-theme.js").read_text(encoding="utf-8")
    assert "tab stops: book.js" in theme, "the theme's own tab-stop pass is still in its script"
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(f"{book_server}/chapters/04_scaling.html", wait_until="load")
        page.evaluate("document.querySelectorAll('div.cell')[2].scrollIntoView()")  # a reader scrolls
        page.wait_for_timeout(500)
        before = page.evaluate(TAB_STOPS)
        measured = [index for _, index in before if index is not None]
        assert 0 < len(measured) < len(before) / 2, (len(measured), len(before))
        page.keyboard.press("Tab")
        phone = page.evaluate(TAB_STOPS)
        assert sum(wide for wide, _ in phone) >= 10, "a phone-wide chapter should have wide code lines"
        assert all(index == ("0" if wide else "-1") for wide, index in phone), phone
        page.set_viewport_size({"width": 1600, "height": 1000})
        page.wait_for_timeout(700)  # book.js waits 300 ms after the last resize event
        desktop = page.evaluate(TAB_STOPS)
        assert sum(wide for wide, _ in desktop) < sum(wide for wide, _ in phone)
        assert all(index == ("0" if wide else "-1") for wide, index in desktop), desktop
    finally:
        context.close()


SIDEBARS = """() => [Array.from(document.querySelectorAll('dialog')).filter(d => d.open).map(d => d.id),
    Math.round(document.querySelector('.bd-sidebar-primary').getBoundingClientRect().left)]"""


# The links a reader can see in an element (by id): laid out, not hidden.
VISIBLE_LINKS = """id => Array.from(document.getElementById(id).querySelectorAll('a[href]')).filter(a => {
    const r = a.getBoundingClientRect(), s = getComputedStyle(a);
    return r.width > 0 && r.height > 0 && s.visibility === 'visible'; }).map(a => a.getAttribute('href'))"""


def test_the_menu_buttons_a_reader_sees_open_the_contents_on_a_phone_and_hide_them_on_a_desktop(
        built_html, browser, book_server):
    """The theme binds its sidebar buttons to the first .primary-toggle / .secondary-toggle, which
    is hidden; book.js hands the visible buttons' clicks to it. On a phone the menu button opens
    the table of contents (and the other button the page's contents) in a dialog, with every
    chapter in the table (on a phone book.css leaves the page's own sidebars out of the layout, and
    the theme moves their contents into the dialog); on a desktop it hides the sidebar, and shows
    it again."""
    for width, press, expect in ((390, "primary", ["pst-primary-sidebar-modal"]),
                                 (390, "secondary", ["pst-secondary-sidebar-modal"]),
                                 (1280, "primary", [])):
        for edition in ("", "zh/"):
            context, page = offline_context(browser, book_server, width=width, height=844)
            try:
                page.goto(f"{book_server}/{edition}chapters/05_masking.html", wait_until="load")
                opened, left = page.evaluate(SIDEBARS)
                assert opened == [], (edition, width, opened)
                page.locator(f"button.{press}-toggle >> visible=true").first.click()
                page.wait_for_timeout(300)
                now_open, now_left = page.evaluate(SIDEBARS)
                assert now_open == expect, (edition, width, press, now_open)
                if width < 960:  # the dialog shows what the hidden sidebar held (book.css hides it)
                    links = page.evaluate(VISIBLE_LINKS, expect[0])
                    if press == "primary":
                        chapters = {p.name for p in (built_html / edition / "chapters").glob("*.html")}
                        listed = {href.rsplit("/", 1)[-1].split("#")[0] for href in links}
                        missing = chapters - listed - {"05_masking.html"}  # this page's own: "#"
                        assert not missing, (edition, "not in the menu", sorted(missing))
                    else:
                        assert len(links) >= 5, (edition, links)
                if width > 992:  # the sidebar slides out of view, and back
                    assert left >= 0 and now_left < 0, (edition, left, now_left)
                    page.locator("button.primary-toggle >> visible=true").first.click()
                    page.wait_for_timeout(300)
                    assert page.evaluate(SIDEBARS)[1] >= 0
                assert page.sa_console_errors == [], page.sa_console_errors
            finally:
                context.close()


# What a screen reader is given of a page's maths: the accessibility tree's MathML nodes, role and
# name, in order (Chromium names the roles MathMLMath, MathMLIdentifier, ...; others say math).
def _maths_read_aloud(cdp) -> list[tuple[str, str]]:
    nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    return [(n["role"]["value"], str(n.get("name", {}).get("value", ""))) for n in nodes
            if not n.get("ignored") and (n.get("role", {}).get("value", "").startswith("MathML")
                                         or n.get("role", {}).get("value") == "math")]


def test_every_formula_stays_in_the_accessibility_tree_on_a_phone(browser, book_server):
    """book.css lays out MathJax's MathML copy of each formula (for screen readers) only near the
    screen (content-visibility: auto), like the sections after the first. A screen reader must
    still be given every formula: on a phone, a chapter of each edition gives the same maths to
    the accessibility tree (every node, in order) as it does with the MathML laid out, and a
    formula for almost every one on the page. Chromium builds the whole tree, as it does when a
    screen reader runs, only in its full accessibility mode: the browser is launched in it."""
    reader = browser.browser_type.launch(executable_path=require_chromium(),
                                         args=[*FLAGS, "--force-renderer-accessibility"])
    try:
        for edition in ("", "zh/"):
            context, page = offline_context(reader, book_server, width=390, height=844)
            try:
                page.goto(f"{book_server}/{edition}chapters/04_scaling.html", wait_until="load")
                skipped = page.evaluate("""() => Array.from(document.querySelectorAll('mjx-assistive-mml'))
                    .map(m => getComputedStyle(m).contentVisibility)""")
                assert len(skipped) > 50 and set(skipped) == {"auto"}, (edition, set(skipped))
                cdp = context.new_cdp_session(page)
                cdp.send("Accessibility.enable")
                given = _maths_read_aloud(cdp)
                formulas = [name for role, name in given if role in ("MathMLMath", "math")]
                assert len(formulas) >= 0.95 * len(skipped), (edition, len(formulas), len(skipped))
                page.add_style_tag(content="mjx-assistive-mml { content-visibility: visible !important; }")
                page.wait_for_timeout(300)
                assert _maths_read_aloud(cdp) == given, edition
                assert page.sa_console_errors == [], page.sa_console_errors
            finally:
                context.close()
    finally:
        reader.close()


def test_an_explorer_works_opened_from_disk(built_html, browser):
    """The book read from the disk (file://, no server): an explorer's states, in a file of their
    own since book_pages moved them out of the page, load and a move shows a new picture."""
    from browser_helpers import MOVE_JS

    page = browser.new_page()
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto((built_html / "chapters" / "02_softmax_xxt.html").as_uri(), wait_until="load")
        root = page.query_selector(".sa-explorer")
        source = root.evaluate("r => r.querySelector('script.sa-data').getAttribute('data-src')")
        assert source and source.startswith("../_static/explorer-states/"), source
        before = root.evaluate("r => r.querySelector('.sa-view').innerHTML")
        name = root.evaluate("r => r.querySelector('[data-control]').dataset.control")
        moved = root.evaluate(MOVE_JS, [name, 1])
        assert moved["later"]["html"] != before and not errors, errors
    finally:
        page.close()


CODE_COLOURS = """() => {
    const pre = document.querySelector('div.cell_input div[class^="highlight-"] > .highlight > pre');
    const keyword = pre.querySelector('span.k, span.kn');
    const bare = [...pre.childNodes].filter(n => n.nodeType === 3 && /[A-Za-z]/.test(n.textContent));
    return {pre: getComputedStyle(pre).color, box: getComputedStyle(pre.parentElement).color,
            keyword: keyword && getComputedStyle(keyword).color, bare: bare.length};
}"""


def test_code_names_and_punctuation_are_plain_text_in_the_code_colour_of_both_modes(built_html, browser,
                                                                                   book_server):
    """book_pages.unwrap_plain_tokens: no chapter's code cell keeps a span for a token the code
    style colours like plain text (names, punctuation), and in Chromium that text, now bare in
    the <pre>, has the code style's own colour (the .highlight box's) in light and dark mode,
    unlike a keyword's."""
    from browser_helpers import TO_DARK

    spec = importlib.util.spec_from_file_location("book_pages", ROOT / "book" / "_ext" / "book_pages.py")
    book_pages = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(book_pages)
    for css in (built_html / "_static" / "pygments.css", built_html / "zh" / "_static" / "pygments.css"):
        plain, _ = book_pages.plain_token_classes(css.read_text(encoding="utf-8"))
        assert {"n", "p"} <= plain, css
    left = {page.relative_to(built_html).as_posix():
            sum(len(re.findall(r'<span class="(?:n|p)">', block[1]))
                for block in book_pages.CODE_BLOCK.findall(page.read_text(encoding="utf-8")))
            for page in sorted(built_html.glob("**/chapters/*.html"))}
    assert len(left) >= 30 and not any(left.values()), left
    page = browser.new_page()
    try:
        page.goto(f"{book_server}/chapters/04_scaling.html", wait_until="load")
        light = page.evaluate(CODE_COLOURS)
        page.evaluate(TO_DARK)
        dark = page.evaluate(CODE_COLOURS)
    finally:
        page.close()
    for mode, colours in (("light", light), ("dark", dark)):
        assert colours["bare"] > 0 and colours["pre"] == colours["box"] != colours["keyword"], (mode, colours)
    assert light["pre"] != dark["pre"]


def test_every_table_names_every_column(built_html):
    """A screen reader announces a data cell with its column's header (axe's td-has-header, which
    Lighthouse runs and axe's WCAG tags leave out as experimental): no table of either edition
    has an empty header cell. Two tables had an empty top-left corner over their row names."""
    empty = []
    for page in all_pages(built_html):
        text = page.read_text(encoding="utf-8")
        for table in re.findall(r"<table\b.*?</table>", text, flags=re.S):
            head = re.search(r"<thead>(.*?)</thead>", table, flags=re.S)
            cells = re.findall(r"<th\b[^>]*>(.*?)</th>", head[1] if head else "", flags=re.S)
            if any(not re.sub(r"<[^>]+>|\s", "", cell) for cell in cells):
                empty.append(f"{page.relative_to(built_html)}: {table[:120]}")
    assert not empty, "\n".join(empty)


def test_the_first_paint_waits_for_one_style_sheet_and_no_script_or_figure(built_html):
    """book_pages: a page's head links one style sheet (the merged one) and loads no script that
    stops the parser (every external script is deferred or async; documentation_options is written
    into the page); every figure of the content is fetched when it nears the screen (lazy)."""
    wrong = []
    for page in all_pages(built_html):
        text = page.read_text(encoding="utf-8")
        head = text[:text.find("</head>")]
        name = page.relative_to(built_html).as_posix()
        sheets = re.findall(r'<link\b[^>]*\brel="stylesheet"[^>]*>', head)
        if len(sheets) != 1 or "book-sheets-" not in sheets[0]:
            wrong.append(f"{name}: {len(sheets)} style sheets: {sheets[:3]}")
        blocking = [tag for tag in re.findall(r"<script\b[^>]*\ssrc=[^>]*>", head)  # not data-src
                    if not re.search(r"\b(defer|async)\b", tag)]
        if blocking:
            wrong.append(f"{name}: scripts that stop the parser: {blocking}")
        eager = [tag for tag in re.findall(r'<img\b[^>]*\bsrc="[^"]*_images/[^>]*>', text)
                 if 'loading="lazy"' not in tag]
        if eager:
            wrong.append(f"{name}: figures fetched before the first paint: {eager[:2]}")
    assert not wrong, "\n".join(wrong)


HEADER_WIDTHS = """() => Array.from(document.querySelectorAll(
    '.bd-header-article .header-article-items__start > *, .bd-header-article .article-header-buttons > *'))
    .filter(e => e.offsetParent !== null).map(e => Math.round(e.getBoundingClientRect().width))"""


def test_the_header_does_not_move_when_the_icon_font_arrives(browser, book_server):
    """book.css: the header's icon buttons are as wide before Font Awesome's font has loaded (the
    browser draws a fallback character then) as after, so the header does not shift after the
    first paint. Chapter 4 of both editions at a phone's width, once with the fonts and once with
    every font request refused."""
    for edition in ("", "zh/"):
        widths = []
        for refuse_fonts in (False, True):
            context, page = offline_context(browser, book_server, width=390, height=844)
            try:
                if refuse_fonts:
                    context.route("**/*.woff*", lambda r: r.abort())
                page.goto(f"{book_server}/{edition}chapters/04_scaling.html", wait_until="load")
                page.evaluate("document.fonts.ready")
                widths.append(page.evaluate(HEADER_WIDTHS))
            finally:
                context.close()
        assert len(widths[0]) >= 6, (edition, widths[0])
        assert widths[0] == widths[1], (
            f"{edition or 'en/'}: header buttons with the icon font {widths[0]}, without it {widths[1]}")


HEADER_FIT = """() => {
    const boxes = Array.from(document.querySelectorAll(
        '.bd-header-article .primary-toggle, .article-header-buttons > .btn, ' +
        '.article-header-buttons > .dropdown > .btn'))
        .map(b => b.getBoundingClientRect()).filter(r => r.width > 0);
    const middles = boxes.map(r => r.top + r.height / 2);
    return {width: innerWidth, page: document.documentElement.scrollWidth, shown: boxes.length,
            out: boxes.filter(r => r.left < 0 || r.right > innerWidth).length,
            rows: Math.max(...middles) - Math.min(...middles) > 4 ? 'more than one' : 'one',
            small: boxes.filter(r => r.width < 24 || r.height < 24).length}; }"""


def test_the_header_fits_a_phone_screen(browser, book_server):
    """book.css: on a phone every header button lies on the screen and the page does not scroll
    sideways (at 390 px the Chinese edition's row of buttons was 399 px wide), in one row, each at
    least 24 px each way (WCAG 2.2's target size). Both editions at 390 and 320 px wide; the
    sidebar toggles, the language switch, search and the menus stay."""
    for edition in ("", "zh/"):
        for width in (390, 320):
            context, page = offline_context(browser, book_server, width=width, height=800)
            try:
                page.goto(f"{book_server}/{edition}chapters/04_scaling.html", wait_until="load")
                page.evaluate("document.fonts.ready")
                fit = page.evaluate(HEADER_FIT)
                kept = page.evaluate("""() => ['.primary-toggle', '.secondary-toggle', '.sa-language',
                    '.search-button', '.dropdown-download-buttons .btn', '.dropdown-launch-buttons .btn']
                    .filter(s => !(document.querySelector('.bd-header-article ' + s)
                        ?.getBoundingClientRect().width > 0))""")
            finally:
                context.close()
            assert fit["out"] == 0 and fit["page"] == width and fit["rows"] == "one", (edition, width, fit)
            assert fit["small"] == 0 and fit["shown"] >= 7, (edition, width, fit)
            assert not kept, f"{edition or 'en/'} at {width} px: header controls not shown: {kept}"


MENU = ".dropdown-download-buttons"
MENU_STATE = f"""() => [typeof window.bootstrap,
    !!document.querySelector('{MENU} .dropdown-menu.show'),
    document.querySelector('{MENU} button.dropdown-toggle').getAttribute('aria-expanded'),
    window.bootstrap ? document.querySelectorAll('[data-bs-toggle="tooltip"]').length : -1,
    window.bootstrap ? Array.from(document.querySelectorAll('[data-bs-toggle="tooltip"]'))
        .filter(e => window.bootstrap.Tooltip.getInstance(e)).length : -1]"""


COPY_BUTTONS = """() => [document.querySelectorAll('.copybtn').length,
                         document.querySelectorAll('div.highlight pre').length]"""
ON_TOUCH = ("bootstrap.js", "clipboard.min.js", "copybutton.js")


def test_the_header_menus_work_though_bootstrap_loads_only_at_the_first_touch(browser, book_server):
    """book_pages.touch_scripts and book.js: a chapter page does not load the theme's bootstrap.js,
    nor copybutton.js and clipboard.min.js, with the page (nothing requests them while nobody
    touches the page); the reader's first click loads them and opens the download menu, Escape
    closes it, every tooltip is set up and every code block has its copy button. A menu
    button clicked by a script before any pointer or key (no event that loads it first) opens once
    bootstrap.js has loaded. Both editions, at a phone's width."""
    for edition in ("", "zh/"):
        context, page = offline_context(browser, book_server, width=390, height=844)
        try:
            asked = []
            page.on("request", lambda r, a=asked: any(n in r.url for n in ON_TOUCH) and a.append(r.url))
            page.goto(f"{book_server}/{edition}chapters/07_global_local.html", wait_until="load")
            page.wait_for_timeout(1000)
            before = page.evaluate(MENU_STATE)[:3]
            assert before == ["undefined", False, "false"] and not asked, (edition, before, asked)
            assert page.evaluate(COPY_BUTTONS)[0] == 0, edition
            page.locator(f"{MENU} button.dropdown-toggle").click()
            page.wait_for_function(f"!!document.querySelector('{MENU} .dropdown-menu.show')", timeout=5000)
            kind, shown, expanded, tooltips, set_up = page.evaluate(MENU_STATE)
            assert (kind, shown, expanded) == ("object", True, "true") and len(asked) == 3, (edition, asked)
            # the copy buttons came with the same touch: one on every code block, ClipboardJS there
            page.wait_for_function(f"(([b, c]) => b > 0 && b === c)(({COPY_BUTTONS})())", timeout=5000)
            assert page.evaluate("typeof window.ClipboardJS") == "function", edition
            assert tooltips >= 6 and set_up == tooltips, (edition, tooltips, set_up)
            page.keyboard.press("Escape")
            page.wait_for_timeout(300)
            assert page.evaluate(MENU_STATE)[1:3] == [False, "false"], edition
            assert not page.sa_console_errors and not page.sa_failed, (page.sa_console_errors, page.sa_failed)
        finally:
            context.close()
        context, page = offline_context(browser, book_server, width=390, height=844)
        try:
            page.goto(f"{book_server}/{edition}chapters/07_global_local.html", wait_until="load")
            page.evaluate(f"document.querySelector('{MENU} button.dropdown-toggle').click()")
            assert page.evaluate(MENU_STATE)[:2] == ["undefined", False], edition
            page.wait_for_function(f"!!document.querySelector('{MENU} .dropdown-menu.show')", timeout=5000)
            assert page.sa_console_errors == [], page.sa_console_errors
        finally:
            context.close()
