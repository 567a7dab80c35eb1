"""The explorer itself: a compute function, its controls, and the three ways a state reaches
the reader (live widget, static page, PNG). See the package's docstring (``utils.explorer``).

Taught in chapter 1 (01_attention_pooling).
"""


from __future__ import annotations

import html
import itertools
import json
import os
import re
import time
from typing import Callable, Sequence

import numpy as np

try:  # imported with the module, once per kernel, so that displaying an explorer does not pay for it
    import ipywidgets  # noqa: F401
except ImportError:  # pragma: no cover - the static explorer works without it
    pass

from .. import i18n
from ..style import INKS
from .controls import Dropdown, Toggle
from .panels import CSS, as_panels, png_base64, render, static_text

__all__ = ["Explorer", "static_build"]

MAX_STATES = 2000
MAX_STATIC_BYTES = 2_000_000
STATIC_ENV = "SA_STATIC_EXPLORERS"  # set where a static page is built: sweep every state
DUMP_ENV = "SA_EXPLORER_DUMP"  # a folder: the sweep writes every state's numbers there (the tests read them)
METRICS_ENV = "SA_EXPLORER_METRICS"  # a file: each display appends its cost (bench/run.py reads it)
# The static page's script (utils/explorer/static/explorer.js), read once, inlined into every explorer.
SWITCH_JS = static_text("explorer.js")
assert "</script" not in SWITCH_JS.lower() and "</style" not in CSS.lower()  # safe to inline


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
        self.default_panels = None  # the default state's panels, once a sweep has computed them
        self.shape = tuple(len(c.values) for c in self.controls)
        if int(np.prod(self.shape)) > MAX_STATES:
            raise ValueError(f"explorer {name!r}: {int(np.prod(self.shape))} states "
                             f"(grid {self.shape}); keep it under {MAX_STATES}")

    # -- compute and render ------------------------------------------------------------
    def defaults(self) -> dict:
        return {c.name: c.values[c.index] for c in self.controls}

    def panels(self, **values):
        """The panels for these control values (missing ones take their defaults)."""
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
        other = i18n.dump_folder() and os.environ[i18n.TRANSLATE_ENV]
        pages = {None: ({}, [], [])} if not other else {None: ({}, [], []), other: ({}, [], [])}
        dump = []
        i18n.seen(clear=True)
        default = tuple(c.index for c in self.controls)
        for positions, values, panels in self.sweep():
            if positions == default:
                self.default_panels = panels  # the PNG draws these: the default state computed once
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
            i18n.write_translation(f"explorer-{self.name}", "html", translated.encode(),
                                   i18n.seen(clear=True))
        return page

    def _static_page(self, unique, paint, index, language) -> str:
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
        picture = self.render() if picture is None else picture
        names = ", ".join(html.escape(i18n.translate(c.label or c.name)) for c in self.controls)
        note = i18n.translate("The explorer at its default setting. Run the notebook to move its controls:")
        return (
            f'<div class="sa-explorer sa-fallback" data-explorer="{self.name}"><style>{CSS}</style>'
            + (f'<div class="sa-title">{html.escape(i18n.translate(self.title))}</div>' if self.title else "")
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
        folder = os.environ.get(DUMP_ENV)
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
        label = i18n.translate(c.label or c.name)
        style = {"description_width": "initial"}
        if isinstance(c, Toggle):
            return w.Checkbox(value=bool(c.default), description=label, indent=False)
        options = list(zip(map(i18n.translate, c.labels()), c.values))
        if isinstance(c, Dropdown):
            return w.Dropdown(options=options, value=c.values[c.index], description=label, style=style)
        return w.SelectionSlider(options=options, value=c.values[c.index], description=label,
                                 style=style, continuous_update=True)

    # -- display -------------------------------------------------------------------------
    def _repr_mimebundle_(self, include=None, exclude=None):
        start = time.perf_counter()
        static = static_build()
        if static:  # every state computed once, the default among them: the widget and PNG reuse it
            page = self.static_html()
            picture = render(self.default_panels)
        else:  # live: the one state computed
            picture = self._safe_render(self.defaults())
            page = self.fallback_html(picture)
        bundle = {"text/plain": f"<Explorer {self.name}: {', '.join(c.name for c in self.controls)}>",
                  "text/html": page}
        try:
            box = self.widget(picture)
            bundle["application/vnd.jupyter.widget-view+json"] = {
                "version_major": 2, "version_minor": 0, "model_id": box.model_id}
            self._box = box  # keep the live widget alive as long as the explorer
        except Exception:  # no kernel or no ipywidgets: the static explorer still works
            pass
        if self.png and static:
            bundle["image/png"] = png_base64(self.default_panels)
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
