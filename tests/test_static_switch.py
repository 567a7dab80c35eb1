"""The static explorer's script in headless Chromium, on small pages made here (no book build).

The script shows a new state in two steps: at once it patches the page's nodes and paints
every heatmap's cells onto a canvas laid over the table; when the browser is idle it brings the
table's own cells up to date. These tests check both steps against Python's rendering of the
same state: the texts painted, the colours of the painted pixels, the canvas lying exactly over
the cells, the table cells after the idle step, masked cells, and a change of picture size
(which cannot be painted onto the old canvas and takes the slow path).
"""

import re

import numpy as np
import pytest

from utils.explorer import Dropdown, Explorer, Heatmap, Readout, Slider, Toggle
from utils.panels import render

TOKENS = ["a", "b", "c", "d", "e", "f"]


def compute(scale, n, causal):
    rng = np.random.default_rng(n)
    x = rng.normal(size=(n, 3))
    scores = scale * x @ x.T
    mask = np.tril(np.ones((n, n), bool)) if causal else None
    masked = scores if mask is None else np.where(mask, scores, -np.inf)
    w = np.exp(masked - masked.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    return [Heatmap(scores, TOKENS[:n], TOKENS[:n], "scores", cmap="RdBu_r", center=0.0),
            Heatmap(w, TOKENS[:n], TOKENS[:n], "weights", weights=True, mask=mask),
            Readout({"max weight": float(w.max())}, title="readout")]


def make():
    return Explorer(compute, [Slider("scale", [0.0, 0.5, 1.0, 2.0], default=0.5),
                              Dropdown("n", [4, 6]), Toggle("causal")], name="switch-test")


def expected(ex, positions):
    """Per heatmap: the cells' texts and background colours as Python rendered them."""
    values = {c.name: c.values[p] for c, p in zip(ex.controls, positions)}
    html = render(ex.panels(**values))
    tables = []
    for table in re.findall(r'<table class="sa-table">(.*?)</table>', html):
        cells = re.findall(r'<td(?: class="sa-masked"| style="background:(#\w{6});color:#\w+")>(.*?)</td>',
                           table)
        tables.append([(bg or None, text) for bg, text in cells])
    readout = re.findall(r'<td data-label="[^"]*">(.*?)</td>', html)
    return tables, readout


MOVE = """async (root, [name, position]) => {
    const el = root.querySelector(`[data-control="${name}"]`);
    if (el.type === 'checkbox') el.checked = position === 1; else el.value = String(position);
    el.dispatchEvent(new Event('input', {bubbles: true}));
    const view = root.querySelector('.sa-view');
    // What the reader sees at once, before the browser is idle again.
    const canvases = Array.from(view.querySelectorAll('canvas.sa-paint'));
    const now = {
        painted: canvases.map(c => c.saTexts),
        pixels: canvases.map(c => PIXELS(c)),
        readout: Array.from(view.querySelectorAll('.sa-kv td')).map(td => td.textContent)};
    while (view.dataset.synced !== view.dataset.key) await new Promise(r => setTimeout(r, 10));
    const tables = Array.from(view.querySelectorAll('table.sa-table'));
    const later = {
        cells: tables.map(t => Array.from(t.querySelectorAll('td')).map(td => td.textContent)),
        canvases: view.querySelectorAll('canvas.sa-paint').length,
        aligned: tables.map((t, k) => ALIGNED(t, view.querySelectorAll('canvas.sa-paint')[k]))};
    return {now, later};
}"""

# The colour at 3 px inside each cell's top-left corner, read back from the canvas.
PIXELS_JS = """function PIXELS(c) {
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

# After the idle step: every unmasked cell's computed background equals the pixel over it.
ALIGNED_JS = """function ALIGNED(table, c) {
    if (!c) return false;
    const px = PIXELS(c);
    return Array.from(table.querySelectorAll('td')).every((td, k) => {
        if (td.classList.contains('sa-masked')) return true;
        const rgb = getComputedStyle(td).backgroundColor.match(/\\d+/g).map(Number);
        return rgb.every((v, i) => Math.abs(v - px[k][i]) <= 2) && px[k][3] === 255;
    });
}"""


def rgb(hex_colour):
    return [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]


@pytest.fixture()
def page(browser):
    ex = make()
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    page = context.new_page()
    page.sa_errors = []
    page.on("console", lambda m: m.type == "error" and page.sa_errors.append(m.text))
    page.on("pageerror", lambda e: page.sa_errors.append(str(e)))
    page.set_content(f"<!doctype html><meta charset=utf-8><body>{ex.static_html()}"
                     f"<script>{PIXELS_JS}{ALIGNED_JS}</script>")
    page.wait_for_function("document.querySelector('.sa-view').dataset.synced !== undefined")
    page.sa_explorer = ex
    yield page
    context.close()


def check(result, ex, positions):
    tables, readout = expected(ex, positions)
    now, later = result["now"], result["later"]
    if now["painted"]:  # the fast path: painted at once
        assert now["painted"] == [[text for _, text in cells] for cells in tables]
        for pixels, cells in zip(now["pixels"], tables):
            for pixel, (bg, _) in zip(pixels, cells):
                if bg is not None:
                    assert np.abs(np.array(pixel[:3]) - rgb(bg)).max() <= 2, (positions, pixel, bg)
    assert now["readout"] == readout, positions
    assert later["cells"] == [[text for _, text in cells] for cells in tables], positions
    assert later["canvases"] == len(tables)
    assert all(later["aligned"]), f"{positions}: the canvas does not lie over the table's cells"


def test_every_move_paints_pythons_cells_at_once_and_the_table_follows(page):
    ex = page.sa_explorer
    root = page.query_selector(".sa-explorer")
    positions = [c.index for c in ex.controls]
    fast = 0
    moves = [("scale", 2), ("scale", 3), ("causal", 1), ("scale", 0), ("n", 1), ("scale", 1),
             ("causal", 0), ("n", 0), ("scale", 2)]
    for name, pos in moves:
        k = [c.name for c in ex.controls].index(name)
        positions[k] = pos
        result = root.evaluate(MOVE, [name, pos])
        check(result, ex, positions)
        fast += bool(result["now"]["painted"])
        if name == "n":  # a new picture size: the old canvases cannot hold it
            assert not result["now"]["painted"]
    assert fast >= 5, f"only {fast} of {len(moves)} moves were painted at once"
    assert not page.sa_errors, page.sa_errors


def test_masked_cells_are_painted_as_stripes_not_as_a_colour(page):
    ex = page.sa_explorer
    root = page.query_selector(".sa-explorer")
    result = root.evaluate(MOVE, ["causal", 1])
    tables, _ = expected(ex, [1, 0, 1])
    weights_cells, pixels = tables[1], result["now"]["pixels"][1]
    masked = [k for k, (bg, _) in enumerate(weights_cells) if bg is None]
    assert masked, "the causal mask hides no cell"
    for k in masked:  # the light grey of the stripes (#ddd / #f4f4f4), not a colour-map colour
        r, g, b, a = pixels[k]
        assert a == 255 and min(r, g, b) >= 0xd0 and max(r, g, b) - min(r, g, b) <= 3, pixels[k]
    assert result["now"]["painted"][1][masked[0]] == "\u00b7"


def test_the_canvas_follows_the_table_when_the_layout_changes(page):
    root = page.query_selector(".sa-explorer")
    aligned = root.evaluate("""async root => {
        const view = root.querySelector('.sa-view');
        const check = () => Array.from(view.querySelectorAll('table.sa-table')).map(
            (t, k) => ALIGNED(t, view.querySelectorAll('canvas.sa-paint')[k]));
        const before = check();
        const style = document.createElement('style');  // wider labels, taller cells
        style.textContent = '.sa-table th{padding-left:40px!important} .sa-table td{height:40px!important}';
        document.head.appendChild(style);
        await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
        return [before, check()];
    }""")
    assert aligned == [[True, True], [True, True]]
