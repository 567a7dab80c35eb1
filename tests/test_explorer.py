"""The explorer mechanism: one renderer for the live widget and the static page.

Runs under ipywidgets 8 (the main environment) and ipywidgets 7 (``make test-widgets7``), so it
imports nothing but NumPy, matplotlib and ipywidgets.
"""

import base64
import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from utils.explorer import Dropdown, Explorer, Slider, Toggle
from utils.explorer.panels import Bars, Curve, Heatmap, Panel, Readout, panels_figure, render

TOKENS = ["a", "b", "c", "d"]


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def compute(scale, causal, which):
    """A small attention picture whose every number depends on every control."""
    X = np.random.default_rng(0).normal(size=(4, 3)) * (2.0 if which == "wide" else 1.0)
    mask = np.tril(np.ones((4, 4), bool)) if causal else np.ones((4, 4), bool)
    scores = X @ X.T * scale
    weights = softmax(np.where(mask, scores, -np.inf))
    return [Heatmap(scores, TOKENS, TOKENS, "scores", mask=mask, cmap="RdBu_r", center=0.0),
            Heatmap(weights, TOKENS, TOKENS, "weights", weights=True, mask=mask),
            Readout({"scale": scale, "which": which})]


def make():
    return Explorer(compute, [Slider("scale", [0.0, 0.5, 1.0, 2.0], default=1.0),
                              Toggle("causal"),
                              Dropdown("which", {"narrow": "narrow", "wide": "wide"})],
                    name="test-explorer")


def static_data(page: str) -> dict:
    payload = re.search(r'<script type="application/json" class="sa-data">(.*?)</script>', page, re.S)
    return json.loads(payload.group(1).replace("<\\/", "</"))


class Cells(HTMLParser):
    """Collect the text of every <td> in document order."""

    def __init__(self):
        super().__init__()
        self.cells, self._in = [], False

    def handle_starttag(self, tag, attrs):
        if tag == "td":
            self._in = True
            self.cells.append("")

    def handle_endtag(self, tag):
        if tag == "td":
            self._in = False

    def handle_data(self, data):
        if self._in:
            self.cells[-1] += data


def cells(fragment: str):
    parser = Cells()
    parser.feed(fragment)
    return parser.cells


def test_static_states_are_the_live_renderer_output_for_every_position():
    ex = make()
    data = static_data(ex.static_html())
    assert data["shape"] == [4, 2, 2]
    n_checked = 0
    for key, state in enumerate(data["index"]):
        positions = np.unravel_index(key, data["shape"])  # the page's JS uses the same row-major key
        values = {c.name: c.values[i] for c, i in zip(ex.controls, positions)}
        assert data["states"][state] == ex.render(**values)
        n_checked += 1
    assert n_checked == 16


def test_identical_states_are_stored_once():
    ex = Explorer(lambda a, b: [Readout({"a": a})], [Slider("a", [1, 2, 3]), Slider("b", [1, 2])],
                  name="test-dedupe")
    data = static_data(ex.static_html())
    assert len(data["index"]) == 6 and len(data["states"]) == 3  # b does not change the picture


def test_live_widget_redraws_in_place_with_the_same_html():
    ex = make()
    box = ex.widget()
    n_children = len(box.children)
    scale, causal, which = box.controls
    assert box.view.value == ex.render(scale=1.0, causal=False, which="narrow")
    scale.value, causal.value, which.value = 2.0, True, "wide"
    assert box.view.value == ex.render(scale=2.0, causal=True, which="wide")
    assert len(box.children) == n_children  # redrawn in place, nothing stacked below


def test_annotations_are_python_numbers_formatted():
    S = np.array([[0.123, -4.5], [1e-3, 2.0]])
    texts = cells(render(Heatmap(S, fmt="{:.2f}")))
    assert texts == ["0.12", "\u22124.50", "0.00", "2.00"]


def test_masked_cells_are_drawn_grey_and_may_hold_minus_infinity():
    S = np.array([[1.0, -np.inf], [0.5, 0.25]])
    mask = np.array([[True, False], [True, True]])
    fragment = render(Heatmap(S, mask=mask))
    assert fragment.count('class="sa-masked"') == 1
    assert cells(fragment) == ["1.00", "\u00b7", "0.50", "0.25"]


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_heatmap_rejects_non_finite_values(bad):
    with pytest.raises(ValueError, match="not finite"):
        Heatmap(np.array([[0.5, bad]]))


def test_weights_heatmap_checks_row_sums():
    Heatmap(np.array([[0.25, 0.75], [0.0, 0.0]]), weights=True)  # a fully masked row sums to 0
    with pytest.raises(ValueError, match="rows summing to 1"):
        Heatmap(np.array([[0.5, 0.6]]), weights=True)
    with pytest.raises(ValueError, match=">= 0"):
        Heatmap(np.array([[1.5, -0.5]]), weights=True)


def test_a_bad_state_anywhere_in_the_sweep_fails_the_static_build():
    def compute(x):
        return [Heatmap(np.array([[np.inf if x == 2.0 else x]]))]  # one bad state, at x = 2

    ex = Explorer(compute, [Slider("x", [0.0, 1.0, 2.0, 3.0], default=0.0)], name="test-bad")
    with pytest.raises(ValueError, match="not finite"):
        ex.static_html()


def test_live_error_is_shown_in_place_not_raised():
    def compute(x):
        if x == 2:
            raise RuntimeError("x must not be 2")
        return [Readout({"x": x})]

    box = Explorer(compute, [Slider("x", [1, 2], default=1)], name="test-live-error").widget()
    box.controls[0].value = 2
    assert "sa-error" in box.view.value and "x must not be 2" in box.view.value


def test_controls_validate_defaults_and_names():
    with pytest.raises(ValueError, match="not one of its values"):
        Slider("d_k", [1, 2, 4], default=3)
    with pytest.raises(ValueError, match="repeat"):
        Explorer(compute, [Slider("a", [1]), Slider("a", [2])], name="test-dup")
    with pytest.raises(ValueError, match="lowercase"):
        Explorer(compute, [Slider("a", [1])], name="Bad Name")


def test_too_many_states_or_bytes_are_refused():
    with pytest.raises(ValueError, match="states"):
        Explorer(compute, [Slider("a", range(100)), Slider("b", range(100))], name="test-big")
    big = Explorer(lambda a: [Heatmap(np.full((20, 20), float(a)), fmt="{:.6f}")],
                   [Slider("a", list(range(300)))], name="test-heavy")
    with pytest.raises(ValueError, match="bytes"):
        big.static_html()


def test_static_controls_start_at_the_defaults():
    page = make().static_html()
    assert re.search(r'type="range" min="0" max="3" step="1" value="2" data-control="scale"', page)
    assert re.search(r'<input type="checkbox" data-control="causal"[^>]*>', page)
    assert "checked" not in re.search(r'<input type="checkbox"[^>]*>', page).group(0)
    view = re.search(r'<div class="sa-view" data-key="(\d+)">', page)
    assert int(view.group(1)) == np.ravel_multi_index((2, 0, 0), (4, 2, 2))


def test_mimebundle_in_a_static_build_carries_the_sweep_widget_view_and_png(monkeypatch):
    monkeypatch.setenv("SA_STATIC_EXPLORERS", "1")
    bundle = make()._repr_mimebundle_()
    assert 'data-explorer="test-explorer"' in bundle["text/html"] and "sa-data" in bundle["text/html"]
    assert base64.b64decode(bundle["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
    view = bundle.get("application/vnd.jupyter.widget-view+json")
    assert view is not None and len(view["model_id"]) > 0


def test_a_live_display_computes_the_default_state_only(monkeypatch, tmp_path):
    """In a kernel (no SA_STATIC_EXPLORERS): the widget plus the default picture, no sweep, no PNG."""
    monkeypatch.delenv("SA_STATIC_EXPLORERS", raising=False)
    monkeypatch.setenv("SA_EXPLORER_METRICS", str(tmp_path / "metrics.jsonl"))
    calls = []

    def counted(**values):
        calls.append(values)
        return compute(**values)

    ex = make()
    ex.compute = counted
    bundle = ex._repr_mimebundle_()
    html = bundle["text/html"]
    assert "sa-fallback" in html and "sa-data" not in html and "<script" not in html
    assert html.count("<figure") == 3  # the default state's three panels, once
    assert "image/png" not in bundle
    assert bundle.get("application/vnd.jupyter.widget-view+json") is not None
    defaults = ex.defaults()
    assert calls == [defaults, defaults]  # one for the picture (fallback and widget), one timed for metrics
    record = json.loads((tmp_path / "metrics.jsonl").read_text())
    assert record["name"] == "test-explorer" and not record["static"]
    assert record["output_bytes"] < 50_000 and record["display_ms"] > 0 and record["compute_ms"] > 0


def test_dump_holds_every_state_with_raw_numbers(tmp_path, monkeypatch):
    monkeypatch.setenv("SA_EXPLORER_DUMP", str(tmp_path))
    make().static_html()
    record = json.loads((tmp_path / "test-explorer.json").read_text())
    assert record["shape"] == [4, 2, 2] and len(record["states"]) == 16
    state = record["states"][-1]
    assert state["values"] == {"scale": 2.0, "causal": True, "which": "wide"}
    weights = np.array(state["panels"][1]["values"])
    assert np.allclose(weights, compute(2.0, True, "wide")[1].values)


def test_curves_and_bars_render_and_validate():
    fragment = render([Curve(x=[0, 1, 2], ys={"y": [0.0, 1.0, 4.0]}, marker=1.0, title="c"),
                       Bars(values=[1.0, 3.0], labels=["p", "q"], title="b")])
    assert fragment.count("<svg") == 2 and "polyline" in fragment and fragment.count("<rect") == 2
    with pytest.raises(ValueError, match="shape"):
        Curve(x=[0, 1], ys={"y": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match="not finite"):
        Bars(values=[1.0, np.nan])


# -- one formatter, one text-colour rule, one class per panel type -----------------------------
def test_numbers_that_round_to_zero_print_without_a_minus_sign():
    from utils.style import format_number

    assert format_number("{:.2f}", -0.0) == "0.00"
    assert format_number("{:.2f}", -0.004) == "0.00"
    assert format_number("{:.1f}", -1e-12) == "0.0"
    assert format_number("{:.0%}", -0.001) == "0%"
    assert format_number("{:.2f}", -0.005001) == "\u22120.01"
    assert format_number("{:.2f}", -1.5) == "\u22121.50"
    assert format_number("{:d}", -3) == "\u22123" and format_number("{:d}", 0) == "0"
    assert format_number("x = {:.1f}", -0.01) == "x = 0.0"
    texts = cells(render(Heatmap(np.array([[-0.001, -1e-17], [0.0, -2.0]]))))
    assert texts == ["0.00", "0.00", "0.00", "\u22122.00"]


def chapter_cmaps():
    """Every colour map a chapter names (cmap="..."), with the three the explorers default to."""
    import pathlib

    found = set()
    for path in (pathlib.Path(__file__).resolve().parents[1] / "chapters").glob("*.ipynb"):
        found |= set(re.findall(r'cmap=\\?"(\w+)\\?"', path.read_text(encoding="utf-8")))
    return sorted(found | {"viridis", "RdBu_r", "Blues"})


@pytest.mark.parametrize("cmap", chapter_cmaps())
def test_cell_text_contrasts_at_least_4_5_to_1_on_every_level_of_every_colour_map(cmap):
    from matplotlib import colormaps

    from utils.style import INKS, contrast_ratio, text_colour

    cm = colormaps[cmap]
    levels = np.round(cm(np.arange(cm.N))[:, :3] * 255) / 255  # the 8-bit colours pages show
    inks = {ink: np.array([int(ink[k] * 2, 16) / 255 for k in (1, 2, 3)]) for ink in INKS}
    ratios = [float(contrast_ratio(c, inks[text_colour(c)])) for c in levels]
    assert min(ratios) >= 4.5, f"{cmap}: lowest contrast {min(ratios):.2f} at level {int(np.argmin(ratios))}"
    other = [float(contrast_ratio(c, inks[INKS[1 - INKS.index(text_colour(c))]])) for c in levels]
    assert all(r >= o for r, o in zip(ratios, other)), "the rule must pick the higher contrast"


def test_png_and_html_show_the_same_texts_in_the_same_colours():
    """The PNG (matplotlib, Panel.draw) and the HTML table share the formatter and colour rule."""
    from matplotlib.colors import to_hex

    rng = np.random.default_rng(1)
    S = np.round(rng.normal(size=(5, 5)), 3)
    S[0, 0] = -0.001  # prints as 0.00 in both
    mask = ~np.eye(5, dtype=bool)
    mask[0, 0] = True
    for panel, n_shown in ((Heatmap(S, cmap="RdBu_r", center=0.0, mask=mask), 21),
                           (Heatmap(np.abs(S), cmap="viridis"), 25),
                           (Heatmap(np.abs(S), cmap="Blues", fmt="{:.1f}"), 25)):
        fragment = panel.html()
        html_cells = re.findall(r'<td style="background:#\w{6};color:(#\w+)">(.*?)</td>', fragment)
        ax = panels_figure([panel]).axes[0]
        png_cells = [(to_hex(t.get_color()), t.get_text()) for t in ax.texts]
        assert [(to_hex(c), t) for c, t in html_cells] == png_cells
        assert len(png_cells) == n_shown


def test_each_state_carries_the_arrays_the_canvas_paints_equal_to_its_html():
    data = static_data(make().static_html())
    assert len(data["paint"]) == len(data["states"])
    for fragment, tables in zip(data["states"], data["paint"]):
        html_tables = re.findall(r'<table class="sa-table">(.*?)</table>', fragment)
        assert len(tables) == len(html_tables) == 2
        for cells_html, paint in zip(html_tables, tables):
            tds = re.findall(r'<td(?: class="sa-masked"| style="background:#(\w{6});color:(#\w+)")>'
                             r"(.*?)</td>", cells_html)
            assert paint["text"] == [text for _, _, text in tds]
            assert paint["bg"] == "".join(bg or "------" for bg, _, _ in tds)
            assert [data["inks"][int(i)] for i, (bg, _, _) in zip(paint["ink"], tds) if bg] == [
                ink for bg, ink, _ in tds if bg]


class Stars(Panel):
    """A made-up panel type: a row of stars. Adding a panel type is this one class."""

    kind = "stars"

    def __init__(self, n, title=""):
        self.n, self.title = int(n), title

    def html(self):
        return f'<figure class="sa-panel sa-stars" data-title="{self.title}">{"*" * self.n}</figure>'

    def data(self):
        return {"type": self.kind, "title": self.title, "n": self.n}

    def draw(self, ax):
        ax.axis("off")
        ax.text(0, 0, "*" * self.n)


def test_a_new_panel_type_is_one_class(tmp_path, monkeypatch):
    monkeypatch.setenv("SA_EXPLORER_DUMP", str(tmp_path))
    ex = Explorer(lambda n: [Stars(n, "stars"), Readout({"n": n})], [Slider("n", [1, 2, 3])],
                  name="test-stars")
    data = static_data(ex.static_html())
    assert data["states"][data["index"][2]].count("*") == 3 and data["paint"] == [[], [], []]
    record = json.loads((tmp_path / "test-stars.json").read_text())
    assert [s["panels"][0] for s in record["states"]] == [
        {"type": "stars", "title": "stars", "n": n} for n in (1, 2, 3)]
    assert panels_figure(ex.panels()).axes[0].texts[0].get_text() == "**"
    monkeypatch.setenv("SA_STATIC_EXPLORERS", "1")
    assert base64.b64decode(ex._repr_mimebundle_()["image/png"])[:4] == b"\x89PNG"


def test_a_new_panel_type_speaks_chinese_with_no_edit_elsewhere(monkeypatch):
    """A panel's words are its own (``Panel.translated``: its title by default): the made-up
    type comes out in Chinese in a Chinese kernel, and the original panel is left in English."""
    from utils import i18n

    stars = Stars(2, "soft weights")  # a title the output catalogs translate (chapter 7)
    chinese = i18n.translate_panel(stars, "zh_CN")
    assert chinese.title == i18n.translate("soft weights", "zh_CN") != "soft weights"
    assert chinese.n == 2 and stars.title == "soft weights"
    ex = Explorer(lambda n: [Stars(n, "soft weights")], [Slider("n", [1, 2])], name="test-stars-zh")
    monkeypatch.setattr(i18n, "_language", "zh_CN")
    assert f'data-title="{chinese.title}"' in ex.render()


def test_an_unknown_or_incomplete_panel_fails_loudly():
    with pytest.raises(TypeError, match="not a panel"):
        render([Readout({"a": 1}), "a string"])
    with pytest.raises(TypeError, match="not a panel"):
        panels_figure([object()])
    ex = Explorer(lambda a: [np.eye(2)], [Slider("a", [1, 2])], name="test-unknown")
    with pytest.raises(TypeError, match="not a panel: ndarray"):
        ex.static_html()

    class NoDrawing(Panel):  # a panel type without its matplotlib drawing
        kind = "nodrawing"

        def html(self):
            return "<figure></figure>"

        def data(self):
            return {"type": self.kind}

    with pytest.raises(TypeError, match="abstract"):
        NoDrawing()


def test_script_and_style_come_from_the_package_files_and_no_py_file_holds_js_or_css():
    import pathlib

    import utils
    from utils.explorer.core import SWITCH_JS
    from utils.explorer.panels import CSS

    package = pathlib.Path(utils.__file__).parent
    js = (package / "explorer" / "static" / "explorer.js").read_text(encoding="utf-8")
    css = (package / "explorer" / "static" / "explorer.css").read_text(encoding="utf-8")
    page = make().static_html()
    assert SWITCH_JS == js and f"<script>{js}</script>" in page
    assert CSS == css and f"<style>{css}</style>" in page
    assert "var(--sa-cell-border)" in css and '"--sa-cell-border"' in js  # colours as data
    for path in package.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for marker in ("function (", "addEventListener", "querySelector", "getContext(", "{display:",
                       "border-collapse", ".replace(\"CELL_BORDER"):
            assert marker not in text, f"{path.name} holds JavaScript or CSS ({marker!r})"


def test_no_test_imports_another_test_or_a_private_name():
    import ast
    import pathlib

    for path in pathlib.Path(__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith(("test_", "conftest")), (path.name, node.module)
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports private names {private} from {node.module}"
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("test_") for a in node.names), path.name


def test_the_masked_cells_dot_contrasts_at_least_4_5_to_1_with_both_stripes():
    from utils.explorer.panels import CSS
    from utils.style import contrast_ratio

    def colour(name):
        value = re.search(rf"{name}:\s*#(\w+);", CSS).group(1)
        value = "".join(ch * 2 for ch in value) if len(value) == 3 else value
        return np.array([int(value[k:k + 2], 16) / 255 for k in (0, 2, 4)])

    for stripe in ("--sa-stripe-0", "--sa-stripe-1"):
        assert contrast_ratio(colour("--sa-mask-text"), colour(stripe)) >= 4.5, stripe


def test_slider_labels_print_numbers_as_the_panels_do():
    """A slider's labels go through format_number: a true minus sign, never −0."""
    assert Slider("angle", [-180, -0.0, 90], default=90, fmt="{:g}°").labels() == ["\u2212180°", "0°", "90°"]
