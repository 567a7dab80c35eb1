"""Explorers: sliders that redraw heatmaps, live in a kernel and in the static HTML book.

A chapter writes a compute function that takes the controls' values as keyword arguments and
returns a list of panels (``utils.panels``: Heatmap, Curve, Bars, Readout), and lists its
controls::

    def compute(angle, causal):
        ...
        return [Heatmap(weights, rows=tokens, cols=tokens, title="weights", weights=True)]

    Explorer(compute, [Slider("angle", range(0, 181, 15), default=45),
                       Toggle("causal")], name="ch02-rotate")

The explorer is displayed by being the last expression of a cell. There is one renderer,
``utils.panels.render``, which is Python turning panels into HTML. How a state reaches the
reader in each of the three places:

1. **A live kernel** (Jupyter, Colab, Binder, VS Code). The output is an ipywidgets box: the
   controls above an ``ipywidgets.HTML``. Moving a control calls ``compute`` with the new
   values, renders the panels and replaces the HTML widget's value: one picture, redrawn in
   place, never stacked. Core widgets only, so ipywidgets 7 (Colab) and 8 both work, and no
   ipympl is needed. Displaying the explorer computes the default state only: besides the
   widget, the output carries that one picture as ``text/html`` (``fallback_html``), which is
   what a saved notebook shows where the widget cannot be drawn (GitHub's preview, a notebook
   opened without its kernel). No sweep, no PNG: the cell costs one ``compute`` and one render.
2. **The static HTML book** (no kernel). Only where a static page is being built, that is when
   the environment variable ``SA_STATIC_EXPLORERS`` is set (``make book`` sets it), the explorer also
   sweeps every combination of control positions, renders each state with the same renderer,
   and emits a ``text/html`` output: plain HTML controls, the default state, the rendered
   states as JSON (identical states stored once) and a small script
   (``utils/static/explorer.js``, inlined) that, on every input event, looks up the state for
   the controls' positions and swaps it in: it patches the nodes that differ, and paints
   heatmap cells onto a canvas laid over the table (from the colours and texts that each state
   carries as arrays, ``Panel.paint``; the table's own cells follow when the browser is idle),
   because a browser repaints a canvas several times faster than it restyles and lays out 64
   annotated table cells. The book's configuration tells MyST-NB to prefer ``text/html`` over
   the widget view.
3. **No widgets, no JavaScript** (a PDF, a page read without scripts). The book's ``text/html``
   already contains the default state's picture, and its output also carries an ``image/png``
   of the default state drawn by matplotlib, for formats that cannot show HTML.

The script and the CSS (``utils/static/``) are package data, read once and inlined into every
output, so a page or a notebook needs no network and no other file. Limits: at most
``MAX_STATES`` combinations of control positions per explorer and ``MAX_STATIC_BYTES`` of static
HTML per explorer (a chapter page, with all its explorers and images, must stay under 3 MB;
tests/test_explorers_built.py checks).

Every sweep checks every state (the panels validate themselves: finite values, weight rows
summing to 1 or 0), so a bad state fails the build. If the environment variable
``SA_EXPLORER_DUMP`` names a folder, the sweep also writes every state's raw numbers there as
``<name>.json``, which the tests use to check the built pages against Python's values. If
``SA_EXPLORER_METRICS`` names a file, every display appends one JSON line to it: the explorer's
name, the display's time, one ``compute`` call's time and the output's size (``make bench``).
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import json
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np

try:  # imported with the module, once per kernel, so that displaying an explorer does not pay for it
    import ipywidgets  # noqa: F401
except ImportError:  # pragma: no cover - the static explorer works without it
    pass

from .panels import (
    CSS,
    INKS,
    Bars,
    Curve,
    Heatmap,
    Panel,
    Readout,
    as_panels,
    format_number,
    render,
    static_text,
)

__all__ = ["Slider", "Toggle", "Dropdown", "Explorer", "Panel", "Heatmap", "Curve", "Bars", "Readout"]

MAX_STATES = 2000
MAX_STATIC_BYTES = 2_000_000
STATIC_ENV = "SA_STATIC_EXPLORERS"  # set where a static page is built: sweep every state
METRICS_ENV = "SA_EXPLORER_METRICS"  # a file: each display appends its cost (bench/run.py reads it)
# The static page's script (utils/static/explorer.js), read once, inlined into every explorer.
SWITCH_JS = static_text("explorer.js")
assert "</script" not in SWITCH_JS.lower() and "</style" not in CSS.lower()  # safe to inline


@dataclass
class Slider:
    """A slider over a fixed list of values (the same positions live and static).

    Taught in chapter 1 (01_attention_pooling).
    """

    name: str
    values: Sequence[Any]
    default: Any = None
    label: Optional[str] = None
    fmt: str = "{:g}"

    def __post_init__(self):
        self.values = [v.item() if isinstance(v, np.generic) else v for v in self.values]
        if not self.values:
            raise ValueError(f"Slider {self.name!r} has no values")
        if self.default is None:
            self.default = self.values[len(self.values) // 2]
        self.index = _index_of(self.name, self.values, self.default)

    def labels(self):  # numbers as the panels print them (format_number: a true minus sign)
        return [format_number(self.fmt, v) if isinstance(v, (int, float)) else self.fmt.format(v)
                for v in self.values]


@dataclass
class Toggle:
    """A checkbox: values False, True.

    Taught in chapter 3 (03_queries_keys_values).
    """

    name: str
    default: bool = False
    label: Optional[str] = None

    def __post_init__(self):
        self.values = [False, True]
        self.index = int(bool(self.default))

    def labels(self):
        return ["off", "on"]


@dataclass
class Dropdown:
    """A choice among named options: options is a list of values or {label: value}.

    Taught in chapter 6 (06_score_functions).
    """

    name: str
    options: Any
    default: Any = None
    label: Optional[str] = None
    _labels: list = field(default_factory=list, repr=False)

    def __post_init__(self):
        if isinstance(self.options, dict):
            self._labels, self.values = list(self.options), list(self.options.values())
        else:
            self.values = list(self.options)
            self._labels = [str(v) for v in self.values]
        if self.default is None:
            self.default = self.values[0]
        self.index = _index_of(self.name, self.values, self.default)

    def labels(self):
        return list(self._labels)


def _index_of(name, values, default):
    for i, v in enumerate(values):
        if v == default or (isinstance(v, float) and np.isclose(v, default)):
            return i
    raise ValueError(f"control {name!r}: default {default!r} is not one of its values {values!r}")


class Explorer:
    """Controls wired to a compute function and the panels it returns.

    compute: (**{control.name: value}) -> list of panels.
    controls: list of Slider / Toggle / Dropdown, shown in this order.
    name: unique in the book (letters, digits, '-'); used in the page and in test dumps.

    Taught in chapter 1 (01_attention_pooling).
    """

    def __init__(self, compute: Callable, controls: Sequence, name: str, title: str = "",
                 png: bool = True):
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
            raise ValueError(f"explorer name must be lowercase letters, digits and '-': {name!r}")
        names = [c.name for c in controls]
        if len(set(names)) != len(names):
            raise ValueError(f"explorer {name!r}: control names repeat: {names}")
        self.compute, self.controls, self.name, self.title = compute, list(controls), name, title
        self.png = png
        self.shape = tuple(len(c.values) for c in self.controls)
        if int(np.prod(self.shape)) > MAX_STATES:
            raise ValueError(f"explorer {name!r}: {int(np.prod(self.shape))} states "
                             f"(grid {self.shape}); keep it under {MAX_STATES}")

    # -- compute and render ------------------------------------------------------------
    def defaults(self) -> dict:
        return {c.name: c.values[c.index] for c in self.controls}

    def panels(self, **values):
        """The panels for these control values (missing ones take their defaults)."""
        from . import i18n

        args = {**self.defaults(), **values}
        panels = as_panels(self.compute(**args))
        if i18n.current_language() != "en":  # a reader notebook in another language
            panels = [i18n.translate_panel(p) for p in panels]
        return panels

    def render(self, **values) -> str:
        return render(self.panels(**values))

    def sweep(self):
        """Yield (positions, values, panels) for every combination of control positions."""
        for positions in itertools.product(*(range(n) for n in self.shape)):
            values = {c.name: c.values[i] for c, i in zip(self.controls, positions)}
            yield positions, values, self.panels(**values)

    # -- the static explorer -------------------------------------------------------------
    def static_html(self) -> str:
        """Controls, default state and every precomputed state, switched by a small script.

        In a translating build (``utils.i18n``: ``SA_TRANSLATE`` set) the same states are also
        rendered with their words translated, and that page is stored for the other edition.
        """
        from . import i18n

        other = i18n.dump_folder() and os.environ[i18n.TRANSLATE_ENV]
        pages = {None: ({}, [], [])} if not other else {None: ({}, [], []), other: ({}, [], [])}
        dump = []
        i18n.seen(clear=True)
        for positions, values, panels in self.sweep():
            for language, (unique, paint, index) in pages.items():
                shown = panels if language is None else [i18n.translate_panel(p, language) for p in panels]
                fragment = render(shown)
                if fragment not in unique:
                    unique[fragment] = len(unique)
                    paint.append([cells for p in shown for cells in p.paint()])
                index.append(unique[fragment])
            dump.append({"positions": list(positions), "values": _jsonable(values),
                         "panels": [p.data() for p in panels]})
        self._write_dump(dump)
        page = self._static_page(*pages[None], language=None)
        if other:
            translated = self._static_page(*pages[other], language=other)
            i18n.write_translation(page.encode(), "html", translated.encode(), i18n.seen(clear=True))
        return page

    def _static_page(self, unique, paint, index, language) -> str:
        from . import i18n

        def tr(text):
            return text if language is None else i18n.translate(text, language)

        states = list(unique)
        default_key = int(np.ravel_multi_index([c.index for c in self.controls], self.shape))
        data = {"shape": self.shape, "labels": [[tr(t) for t in c.labels()] for c in self.controls],
                "index": index, "states": states, "paint": paint, "inks": list(INKS)}
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
        page = (
            f'<div class="sa-explorer" data-explorer="{self.name}">'
            f"<style>{CSS}</style>"
            + (f'<div class="sa-title">{html.escape(tr(self.title))}</div>' if self.title else "")
            + f'<div class="sa-controls">{"".join(self._static_control(c, tr) for c in self.controls)}</div>'
            f'<div class="sa-view" data-key="{default_key}">{states[index[default_key]]}</div>'
            f'<script type="application/json" class="sa-data">{payload}</script>'
            f"<script>{SWITCH_JS}</script></div>"
        )
        if len(page.encode()) > MAX_STATIC_BYTES:
            raise ValueError(f"explorer {self.name!r}: static page part is {len(page.encode())} "
                             f"bytes (> {MAX_STATIC_BYTES}); use fewer slider positions")
        return page

    def fallback_html(self, picture=None) -> str:
        """The default state alone: what a saved notebook shows where the live widget cannot be drawn.

        picture: the default state's rendered HTML, if already rendered.
        """
        from .i18n import translate

        picture = self.render() if picture is None else picture
        names = ", ".join(html.escape(translate(c.label or c.name)) for c in self.controls)
        note = translate("The explorer at its default setting. Run the notebook to move its controls:")
        return (
            f'<div class="sa-explorer sa-fallback" data-explorer="{self.name}"><style>{CSS}</style>'
            + (f'<div class="sa-title">{html.escape(translate(self.title))}</div>' if self.title else "")
            + f'<p class="sa-note">{html.escape(note)} {names}.</p>'
            f'<div class="sa-view">{picture}</div></div>'
        )

    def _static_control(self, c, tr=str) -> str:
        label = html.escape(tr(c.label or c.name))
        attrs = f'data-control="{html.escape(c.name)}" aria-label="{label}"'
        if isinstance(c, Toggle):
            checked = " checked" if c.index else ""
            widget = f'<input type="checkbox" {attrs}{checked}>'
            return f'<label class="sa-control">{widget}<span>{label}</span></label>'
        if isinstance(c, Dropdown):
            options = "".join(
                f'<option value="{i}"{" selected" if i == c.index else ""}>{html.escape(tr(t))}</option>'
                for i, t in enumerate(c.labels()))
            return f'<label class="sa-control"><span>{label}</span><select {attrs}>{options}</select></label>'
        widget = (f'<input type="range" min="0" max="{len(c.values) - 1}" step="1" '
                  f'value="{c.index}" {attrs}>')
        return (f'<label class="sa-control"><span>{label}</span>{widget}'
                f"<output>{html.escape(tr(c.labels()[c.index]))}</output></label>")

    def _write_dump(self, dump) -> None:
        folder = os.environ.get("SA_EXPLORER_DUMP")
        if not folder:
            return
        os.makedirs(folder, exist_ok=True)
        record = {"name": self.name, "shape": list(self.shape),
                  "controls": [{"name": c.name, "kind": type(c).__name__, "labels": c.labels(),
                                "default": c.index} for c in self.controls],
                  "states": dump}
        with open(os.path.join(folder, f"{self.name}.json"), "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False)

    # -- the live explorer ---------------------------------------------------------------
    def widget(self, picture=None):
        """An ipywidgets box whose controls redraw the picture in place (needs a kernel).

        picture: the default state's rendered HTML, if already rendered.
        """
        import ipywidgets as w

        view = w.HTML(value=self._safe_render(self.defaults()) if picture is None else picture)
        controls = [self._live_control(w, c) for c in self.controls]

        def redraw(_change=None):
            view.value = self._safe_render({c.name: ctl.value for c, ctl in zip(self.controls, controls)})

        for ctl in controls:
            ctl.observe(redraw, names="value")
        box = w.VBox([w.HTML(value=f"<style>{CSS}</style>"),
                      w.HBox(controls, layout=w.Layout(flex_flow="row wrap")), view])
        box.add_class("sa-explorer")
        box.view, box.controls, box.redraw = view, controls, redraw  # handles for tests/benchmarks
        return box

    def _safe_render(self, values) -> str:
        try:
            return self.render(**values)
        except Exception as err:  # show the error in place of the picture, do not go blank
            return f'<pre class="sa-error">{html.escape(type(err).__name__ + ": " + str(err))}</pre>'

    @staticmethod
    def _live_control(w, c):
        from .i18n import translate

        label = translate(c.label or c.name)
        style = {"description_width": "initial"}
        if isinstance(c, Toggle):
            return w.Checkbox(value=bool(c.default), description=label, indent=False)
        options = list(zip(map(translate, c.labels()), c.values))
        if isinstance(c, Dropdown):
            return w.Dropdown(options=options, value=c.values[c.index], description=label, style=style)
        return w.SelectionSlider(options=options, value=c.values[c.index], description=label,
                                 style=style, continuous_update=True)

    # -- display -------------------------------------------------------------------------
    def _repr_mimebundle_(self, include=None, exclude=None):
        start = time.perf_counter()
        static = static_build()
        picture = None if static else self._safe_render(self.defaults())  # live: the one state computed
        bundle = {"text/plain": f"<Explorer {self.name}: {', '.join(c.name for c in self.controls)}>",
                  "text/html": self.static_html() if static else self.fallback_html(picture)}
        try:
            box = self.widget(picture)
            bundle["application/vnd.jupyter.widget-view+json"] = {
                "version_major": 2, "version_minor": 0, "model_id": box.model_id}
            self._box = box  # keep the live widget alive as long as the explorer
        except Exception:  # no kernel or no ipywidgets: the static explorer still works
            pass
        if self.png and static:
            bundle["image/png"] = _png(self.panels())
        self._record_metrics(static, time.perf_counter() - start, bundle)
        return bundle

    def _record_metrics(self, static, seconds, bundle) -> None:
        path = os.environ.get(METRICS_ENV)
        if not path:
            return
        start = time.perf_counter()
        self.compute(**self.defaults())
        compute_s = time.perf_counter() - start
        saved = {k: v for k, v in bundle.items() if k != "application/vnd.jupyter.widget-view+json"}
        record = {"name": self.name, "static": static, "display_ms": 1e3 * seconds,
                  "compute_ms": 1e3 * compute_s, "output_bytes": len(json.dumps(saved).encode())}
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")


def static_build() -> bool:
    """True where a static page is being built (``SA_STATIC_EXPLORERS`` set, e.g. by ``make book``).

    Used by every explorer; no chapter teaches it.
    """
    return os.environ.get(STATIC_ENV, "") not in ("", "0")


def _jsonable(values: dict) -> dict:
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in values.items()}


def _png(panels) -> str:
    from .plotting import panels_figure

    fig = panels_figure(panels)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    return base64.b64encode(buf.getvalue()).decode("ascii")
