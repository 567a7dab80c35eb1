"""The static explorer's script (utils/explorer/static/explorer.js) in headless Chromium, on small pages
made here (no book build).

The script shows a new state in two steps: at once it patches the page's nodes and paints
every heatmap's cells onto a canvas laid over the table (from the arrays the state carries);
when the browser is idle it brings the table's own cells up to date. These tests check both
steps against Python's rendering of the same state: the texts painted, the colours of the
painted pixels, the canvas lying exactly over the cells, the table cells after the idle step,
masked cells, a change of picture size (which cannot be painted onto the old canvas and takes
the slow path), and a layout change.
"""

import re

import numpy as np
import pytest
from browser_helpers import MOVE_JS, RELAYOUT_JS, rgb, static_page

from utils.explorer import Dropdown, Explorer, Heatmap, Readout, Slider, Toggle, render

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
    """Per heatmap: the cells' background colours and texts, read from Python's HTML."""
    values = {c.name: c.values[p] for c, p in zip(ex.controls, positions)}
    html = render(ex.panels(**values))
    tables = []
    for table in re.findall(r'<table class="sa-table">(.*?)</table>', html):
        cells = re.findall(r'<td(?: class="sa-masked"| style="background:(#\w{6});color:#\w+")>(.*?)</td>',
                           table)
        tables.append([(bg or None, text) for bg, text in cells])
    readout = re.findall(r'<td data-label="[^"]*">(.*?)</td>', html)
    return tables, readout


@pytest.fixture()
def page(browser):
    ex = make()
    with static_page(browser, ex.static_html()) as page:
        page.sa_explorer = ex
        yield page


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
        result = root.evaluate(MOVE_JS, [name, pos])
        check(result, ex, positions)
        fast += bool(result["now"]["painted"])
        if name == "n":  # a new picture size: the old canvases cannot hold it
            assert not result["now"]["painted"]
    assert fast >= 5, f"only {fast} of {len(moves)} moves were painted at once"
    assert not page.sa_errors, page.sa_errors


def test_masked_cells_are_painted_as_stripes_not_as_a_colour(page):
    ex = page.sa_explorer
    root = page.query_selector(".sa-explorer")
    result = root.evaluate(MOVE_JS, ["causal", 1])
    tables, _ = expected(ex, [1, 0, 1])
    weights_cells, pixels = tables[1], result["now"]["pixels"][1]
    masked = [k for k, (bg, _) in enumerate(weights_cells) if bg is None]
    assert masked, "the causal mask hides no cell"
    for k in masked:  # the light grey of the stripes (explorer.css: #ddd / #f4f4f4), not a colour
        r, g, b, a = pixels[k]
        assert a == 255 and min(r, g, b) >= 0xd0 and max(r, g, b) - min(r, g, b) <= 3, pixels[k]
    assert result["now"]["painted"][1][masked[0]] == "\u00b7"


def test_the_canvas_follows_the_table_when_the_layout_changes(page):
    root = page.query_selector(".sa-explorer")
    assert root.evaluate(RELAYOUT_JS) == [[True, True], [True, True]]


def test_the_canvas_takes_its_colours_from_the_css_custom_properties(browser):
    """Border colour comes from --sa-cell-border: change it on the page, the canvas follows."""
    ex = make()
    style = "<style>body .sa-explorer{--sa-cell-border:#ff0000}</style>"  # beats explorer.css
    with static_page(browser, style + ex.static_html()) as page:
        root = page.query_selector(".sa-explorer")
        root.evaluate(MOVE_JS, ["scale", 3])
        corner = root.evaluate("""root => {
            const c = root.querySelector('canvas.sa-paint');
            return Array.from(c.getContext('2d').getImageData(0, 0, 1, 1).data); }""")
        assert corner[:3] == [255, 0, 0], corner
        assert not page.sa_errors, page.sa_errors
