"""Helpers shared by the browser tests (test_static_switch.py on pages made here,
test_explorers_built.py on the built book). Not a test module: no test imports another test.

- ``static_page(browser, body)``: a page holding ``body`` (an explorer's static HTML), with its
  console errors collected in ``page.sa_errors``.
- ``MOVE_JS``: move one control of an explorer root; returns what the reader sees at once
  (texts painted on the canvases, their pixel colours, readouts) and, once the table cells
  have caught up, the cells, the state's HTML and whether each canvas lies over its table.
- ``ALIGNMENT_JS``: the same alignment check alone.
- ``expected_texts(panel)``: what the page must show for a panel of a sweep dump.
- ``rgb(hex)``: '#rrggbb' as three ints.
- ``book_pages(built_html)``: every page of the built book, both editions.
- ``offline_context(browser, server, mode)``: a browser context and page that may only talk to
  the local book server, recording what else it asked for, its console errors and its failed
  requests (``page.sa_external``, ``sa_console_errors``, ``sa_failed``): scripts/browser.py's.
- ``LOAD_FACTS``: what a loaded page shows (typeset maths, images, explorer controls).
- axe-core's run (``prepare_for_axe``, ``RUN_AXE``, ``TO_DARK``): conftest's ``page_tour``
  loads every page once for tests/test_book_built.py and tests/test_accessibility.py.
"""

from __future__ import annotations

import contextlib
import pathlib
import sys

from utils.style import MAX_TABLE_CELLS, format_number

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "scripts"))
from browser import offline_context  # noqa: E402, F401  (scripts/browser.py; the tests import it from here)

# The colour at 3 px inside each cell's top-left corner, read back from the canvas.
_PIXELS = """function PIXELS(c) {
    const ctx = c.getContext('2d'), dpr = window.devicePixelRatio || 1;
    const box = c.getBoundingClientRect(), view = c.parentNode;
    const table = view.querySelectorAll('table.sa-table')[
        Array.from(view.querySelectorAll('canvas.sa-paint')).indexOf(c)];
    return Array.from(table.querySelectorAll('td')).map(td => {
        const r = td.getBoundingClientRect();
        const d = ctx.getImageData(Math.round((r.left - box.left + 3) * dpr),
                                   Math.round((r.top - box.top + 3) * dpr), 1, 1).data;
        return [d[0], d[1], d[2], d[3]];
    });
}"""

# Every unmasked cell's computed background equals the canvas pixel over it.
_ALIGNED = """function ALIGNED(table, c) {
    if (!c) return false;
    const px = PIXELS(c);
    return Array.from(table.querySelectorAll('td')).every((td, k) => {
        if (td.classList.contains('sa-masked')) return true;
        const rgb = getComputedStyle(td).backgroundColor.match(/\\d+/g).map(Number);
        return rgb.every((v, i) => Math.abs(v - px[k][i]) <= 2) && px[k][3] === 255;
    });
}"""

_CHECKS = f"""{_PIXELS}
    {_ALIGNED}
    function ALIGNMENT(view) {{
        const tables = Array.from(view.querySelectorAll('table.sa-table'));
        const canvases = view.querySelectorAll('canvas.sa-paint');
        return tables.map((t, k) => ALIGNED(t, canvases[k]));
    }}"""

MOVE_JS = f"""async (root, [name, position]) => {{
    {_CHECKS}
    if (root.saReady) await root.saReady();  // the states load as the explorer nears the screen
    const el = root.querySelector(`[data-control="${{name}}"]`);
    if (el.type === 'checkbox') el.checked = position === 1; else el.value = String(position);
    el.dispatchEvent(new Event('input', {{bubbles: true}}));
    const view = root.querySelector('.sa-view');
    // What the reader sees at once, before the browser is idle again.
    const canvases = Array.from(view.querySelectorAll('canvas.sa-paint'));
    const now = {{
        painted: canvases.map(c => c.saTexts),
        pixels: canvases.map(c => PIXELS(c)),
        readout: Array.from(view.querySelectorAll('.sa-kv td')).map(td => td.textContent)}};
    while (view.dataset.synced !== view.dataset.key) await new Promise(r => setTimeout(r, 5));
    const tables = Array.from(view.querySelectorAll('table.sa-table'));
    const later = {{
        html: view.firstElementChild.outerHTML,
        cells: tables.map(t => Array.from(t.querySelectorAll('td')).map(td => td.textContent)),
        canvases: view.querySelectorAll('canvas.sa-paint').length,
        aligned: ALIGNMENT(view)}};
    return {{now, later}};
}}"""

ALIGNMENT_JS = f"""root => {{
    {_CHECKS}
    const view = root.querySelector('.sa-view');
    return [view.querySelectorAll('table.sa-table').length,
            view.querySelectorAll('canvas.sa-paint').length, ALIGNMENT(view)];
}}"""

# Grow the tables' cells and labels, then report the alignment before and after.
RELAYOUT_JS = f"""async root => {{
    {_CHECKS}
    const view = root.querySelector('.sa-view');
    const before = ALIGNMENT(view);
    const style = document.createElement('style');  // wider labels, taller cells
    style.textContent = '.sa-table th{{padding-left:40px!important}} .sa-table td{{height:40px!important}}';
    document.head.appendChild(style);
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    return [before, ALIGNMENT(view)];
}}"""


@contextlib.contextmanager
def static_page(browser, body: str, width: int = 1000, height: int = 800):
    """A page showing body; yields it once every explorer on it has laid out its canvases."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.sa_errors = []
    page.on("console", lambda m: m.type == "error" and page.sa_errors.append(m.text))
    page.on("pageerror", lambda e: page.sa_errors.append(str(e)))
    page.set_content(f"<!doctype html><meta charset=utf-8><body>{body}")
    # an explorer reads its states when it nears the screen: here every one at once
    page.evaluate("() => Promise.all(Array.from(document.querySelectorAll('.sa-explorer'))"
                  ".map(r => r.saReady && r.saReady()))")
    page.wait_for_function("Array.from(document.querySelectorAll('.sa-view'))"
                           ".every(v => v.dataset.synced !== undefined)")
    try:
        yield page
    finally:
        context.close()


def expected_texts(panel: dict):
    """What the page must show for a panel of a sweep dump (utils.explorer, SA_EXPLORER_DUMP):
    the texts of an annotated heatmap's cells or of a readout's values; None for others."""
    if panel["type"] == "heatmap":
        n_rows, n_cols = panel["shape"]
        if not panel["annotate"] or n_rows * n_cols > MAX_TABLE_CELLS:
            return None
        mask = panel["mask"]
        return [("\u00b7" if mask is not None and not mask[i][j] else format_number(panel["fmt"], v))
                for i, row in enumerate(panel["values"]) for j, v in enumerate(row)]
    if panel["type"] == "readout":
        return [v if isinstance(v, str) else format_number(panel["fmt"], v) for v in panel["items"].values()]
    return None


def rgb(hex_colour: str) -> list:
    """'#rrggbb' as [r, g, b] ints."""
    return [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]


def book_pages(built_html: pathlib.Path) -> list[str]:
    """Every page of the built book, both editions (the Chinese one under zh/), as paths relative
    to its root (toc pages, indexes, search), except those that only redirect (index.html)."""
    skip = ("_static", "_sources", "_images", "jupyter_execute", "_sphinx_design_static")
    return sorted(p.relative_to(built_html).as_posix() for p in built_html.rglob("*.html")
                  if not set(p.relative_to(built_html).parts) & set(skip)
                  and 'http-equiv="Refresh"' not in p.read_text(encoding="utf-8")[:2000])


# What a loaded page shows: typeset formulas (and MathJax errors), images that did not load,
# and each explorer's controls with whether each is visible once the reader has scrolled to it
# (book.css lays a section out only when it nears the screen: before that its boxes are empty).
# Figures load when they near the screen (loading="lazy"): each is made to load now, and counted
# as broken if it does not.
LOAD_FACTS = """async () => {
    const lazy = Array.from(document.querySelectorAll('img[loading="lazy"]'));
    for (const img of lazy) img.loading = 'eager';
    await Promise.all(lazy.map(img => img.complete ? null : new Promise(done => {
        img.addEventListener('load', done);
        img.addEventListener('error', done);
    })));
    const facts = {
        theme: document.documentElement.dataset.theme,
        math: document.querySelectorAll('mjx-container').length,
        merror: document.querySelectorAll('mjx-merror, g[data-mml-node="merror"]').length,
        // a formula's glyphs are paths of the page's hidden SVG: each one it uses must be there
        glyphless: Array.from(document.querySelectorAll('mjx-container use'))
            .filter(u => !document.getElementById((u.getAttribute('href') || '').slice(1)))
            .map(u => u.getAttribute('href')).slice(0, 5),
        images: document.images.length,
        broken: Array.from(document.images).filter(im => !im.complete || im.naturalWidth === 0)
            .map(im => im.src),
        explorers: []};
    for (const root of document.querySelectorAll('.sa-explorer')) {
        root.scrollIntoView();
        await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
        facts.explorers.push({name: root.dataset.explorer,
            controls: Array.from(root.querySelectorAll('[data-control]')).map(c => {
                const box = c.getBoundingClientRect(), s = getComputedStyle(c);
                return box.width > 0 && box.height > 0 && s.visibility !== 'hidden';
            })});
    }
    window.scrollTo(0, 0);
    return facts;
}"""

# -- axe-core (tests/test_accessibility.py) ------------------------------------------------
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]  # 2.2 AA: target size (24 x 24 px)
# The rules whose verdict depends on the colours: the dark mode changes only colours (the theme's
# CSS variables; the DOM is the same), so the dark run checks these and the light run checks all.
COLOUR_RULES = ["color-contrast", "link-in-text-block"]
CONTENT = "article.bd-article"  # the page itself: the theme's <article> inside <main>, without the toolbar

HIDE_CANVASES = "canvas.sa-paint { display: none !important; }"
# The theme's colours change with CSS transitions (e.g. the search button's background when the
# dark mode is applied on load): axe must see the colours a reader sees once they have settled,
# not a frame in between (a clean run once caught the search button at 3.49:1 mid-transition).
NO_TRANSITIONS = "*, *::before, *::after { transition: none !important; animation: none !important; }"
# book.css lays a section out only when it nears the screen (content-visibility: auto); axe must
# see every section laid out, as a reader scrolling to it does.
ALL_LAID_OUT = "section { content-visibility: visible !important; }"

# Every explorer's table brought up to its state (the idle step of the static script) before
# axe looks at the cells.
SETTLE = """async () => {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
    if (window.saTabStops) window.saTabStops();  // book.js: the tab stops a first Tab makes
    const roots = Array.from(document.querySelectorAll('.sa-explorer'));
    await Promise.all(roots.map(root => root.saReady && root.saReady()));  // every explorer's states
    for (const root of roots) if (root.saSync) root.saSync();
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
}"""

# The theme's colour-mode button, as a reader presses it: it cycles auto / dark / light.
TO_DARK = """async () => {
    const button = document.querySelector('.theme-switch-button');
    for (let i = 0; i < 3 && document.documentElement.dataset.mode !== 'dark'; i++) button.click();
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
}"""

RUN_AXE = """async ([type, values]) => {
    const result = await axe.run(document, {runOnly: {type: type, values: values},
                                            resultTypes: ['violations']});
    return result.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html.slice(0, 200),
                                  summary: n.failureSummary.slice(0, 300),
                                  content: !!document.querySelector(n.target.join(' '))
                                           ?.closest('CONTENT')}))}));
}""".replace("CONTENT", CONTENT)


def prepare_for_axe(page, server: str) -> None:
    """Hide the canvases, stop transitions, bring every explorer's table up to its state, and
    inject axe-core (vendored by the Makefile) into a loaded page of the built book."""
    page.add_style_tag(content=HIDE_CANVASES + "\n" + NO_TRANSITIONS + "\n" + ALL_LAID_OUT)
    page.evaluate(SETTLE)
    page.add_script_tag(url=f"{server}/_static/vendor/axe.min.js")
