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
   ipympl is needed.
2. **The static HTML book** (no kernel). When the cell runs at build time, the explorer also
   sweeps every combination of control positions, renders each state with the same renderer,
   and emits a ``text/html`` output: plain HTML controls, the default state, the rendered
   states as JSON (identical states stored once) and a small script that, on every input
   event, looks up the state for the controls' positions and swaps it in: it patches the
   nodes that differ, and paints heatmap cells onto a canvas laid over the table (the colours
   and texts are those of the rendered state, read from its HTML; the table's own cells follow
   when the browser is idle), because a browser repaints a canvas several times faster than
   it restyles and lays out 64 annotated table cells. The book's configuration tells MyST-NB
   to prefer ``text/html`` over the widget view.
3. **No widgets, no JavaScript** (GitHub's preview, a PDF). The ``text/html`` already contains
   the default state's picture, and the output also carries an ``image/png`` of the default
   state drawn by matplotlib, for formats that cannot show HTML.

Every sweep checks every state (the panels validate themselves: finite values, weight rows
summing to 1 or 0), so a bad state fails the build. If the environment variable
``SA_EXPLORER_DUMP`` names a folder, the sweep also writes every state's raw numbers there as
``<name>.json``, which the tests use to check the built pages against Python's values.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np

from .panels import CELL_BORDER, CSS, MASK_STRIPES, MASK_TEXT, Bars, Curve, Heatmap, Readout, render

__all__ = ["Slider", "Toggle", "Dropdown", "Explorer", "Heatmap", "Curve", "Bars", "Readout"]

MAX_STATES = 2000
MAX_STATIC_BYTES = 1_500_000


@dataclass
class Slider:
    """A slider over a fixed list of values (the same positions live and static)."""

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

    def labels(self):
        return [self.fmt.format(v) for v in self.values]


@dataclass
class Toggle:
    """A checkbox: values False, True."""

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
    """A choice among named options: options is a list of values or {label: value}."""

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
        args = {**self.defaults(), **values}
        panels = self.compute(**args)
        return list(panels) if isinstance(panels, (list, tuple)) else [panels]

    def render(self, **values) -> str:
        return render(self.panels(**values))

    def sweep(self):
        """Yield (positions, values, panels) for every combination of control positions."""
        for positions in itertools.product(*(range(n) for n in self.shape)):
            values = {c.name: c.values[i] for c, i in zip(self.controls, positions)}
            yield positions, values, self.panels(**values)

    # -- the static explorer -------------------------------------------------------------
    def static_html(self) -> str:
        """Controls, default state and every precomputed state, switched by a small script."""
        unique, index, dump = {}, [], []
        for positions, values, panels in self.sweep():
            fragment = render(panels)
            index.append(unique.setdefault(fragment, len(unique)))
            dump.append({"positions": list(positions), "values": _jsonable(values),
                         "panels": [_panel_data(p) for p in panels]})
        self._write_dump(dump)
        states = list(unique)
        default_key = int(np.ravel_multi_index([c.index for c in self.controls], self.shape))
        data = {"shape": self.shape, "labels": [c.labels() for c in self.controls],
                "index": index, "states": states}
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
        page = (
            f'<div class="sa-explorer" data-explorer="{self.name}">'
            f"<style>{CSS}</style>"
            + (f'<div class="sa-title">{html.escape(self.title)}</div>' if self.title else "")
            + f'<div class="sa-controls">{"".join(self._static_control(c) for c in self.controls)}</div>'
            f'<div class="sa-view" data-key="{default_key}">{states[index[default_key]]}</div>'
            f'<script type="application/json" class="sa-data">{payload}</script>'
            f"<script>{_SWITCH_JS}</script></div>"
        )
        if len(page.encode()) > MAX_STATIC_BYTES:
            raise ValueError(f"explorer {self.name!r}: static page part is {len(page.encode())} "
                             f"bytes (> {MAX_STATIC_BYTES}); use fewer slider positions")
        return page

    def _static_control(self, c) -> str:
        label = html.escape(c.label or c.name)
        attrs = f'data-control="{html.escape(c.name)}" aria-label="{label}"'
        if isinstance(c, Toggle):
            checked = " checked" if c.index else ""
            widget = f'<input type="checkbox" {attrs}{checked}>'
            return f'<label class="sa-control">{widget}<span>{label}</span></label>'
        if isinstance(c, Dropdown):
            options = "".join(
                f'<option value="{i}"{" selected" if i == c.index else ""}>{html.escape(t)}</option>'
                for i, t in enumerate(c.labels()))
            return f'<label class="sa-control"><span>{label}</span><select {attrs}>{options}</select></label>'
        widget = (f'<input type="range" min="0" max="{len(c.values) - 1}" step="1" '
                  f'value="{c.index}" {attrs}>')
        return (f'<label class="sa-control"><span>{label}</span>{widget}'
                f"<output>{html.escape(c.labels()[c.index])}</output></label>")

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
    def widget(self):
        """An ipywidgets box whose controls redraw the picture in place (needs a kernel)."""
        import ipywidgets as w

        view = w.HTML(value=self._safe_render(self.defaults()))
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
        label = c.label or c.name
        style = {"description_width": "initial"}
        if isinstance(c, Toggle):
            return w.Checkbox(value=bool(c.default), description=label, indent=False)
        if isinstance(c, Dropdown):
            return w.Dropdown(options=list(zip(c.labels(), c.values)), value=c.values[c.index],
                              description=label, style=style)
        return w.SelectionSlider(options=list(zip(c.labels(), c.values)), value=c.values[c.index],
                                 description=label, style=style, continuous_update=True)

    # -- display -------------------------------------------------------------------------
    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {"text/plain": f"<Explorer {self.name}: {', '.join(c.name for c in self.controls)}>",
                  "text/html": self.static_html()}
        try:
            box = self.widget()
            bundle["application/vnd.jupyter.widget-view+json"] = {
                "version_major": 2, "version_minor": 0, "model_id": box.model_id}
            self._box = box  # keep the live widget alive as long as the explorer
        except Exception:  # no kernel or no ipywidgets: the static explorer still works
            pass
        if self.png:
            bundle["image/png"] = _png(self.panels())
        return bundle


def _jsonable(values: dict) -> dict:
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in values.items()}


def _panel_data(p) -> dict:
    """A panel's raw numbers, for the test dump (not sent to the page)."""
    if isinstance(p, Heatmap):
        return {"type": "heatmap", "title": p.title, "fmt": p.fmt, "weights": p.weights,
                "annotate": p.annotate, "shape": list(p.values.shape),
                "values": np.where(np.isfinite(p.values), p.values, 0.0).tolist(),
                "mask": None if p.mask is None else p.mask.tolist()}
    if isinstance(p, Curve):
        return {"type": "curve", "title": p.title, "x": p.x.tolist(),
                "ys": {k: v.tolist() for k, v in p.ys.items()}}
    if isinstance(p, Bars):
        return {"type": "bars", "title": p.title, "values": p.values.tolist()}
    if isinstance(p, Readout):
        return {"type": "readout", "title": p.title, "fmt": p.fmt,
                "items": {k: (v if isinstance(v, str) else float(v)) for k, v in p.items.items()}}
    raise TypeError(f"not a panel: {type(p).__name__}")


def _png(panels) -> str:
    from .plotting import panels_figure

    fig = panels_figure(panels)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    return base64.b64encode(buf.getvalue()).decode("ascii")


# The static page's only script. It reads the controls' positions and shows the matching
# state. Each state's HTML is parsed once (while the reader reads). Switching patches the page's
# nodes in place where two states have the same structure, and replaces only the parts that
# differ. Heatmap cells are the exception: restyling and re-laying out 64 annotated table cells
# costs the browser ~3 ms, so a canvas laid over each table repaints the cells (the colours and
# texts Python rendered, read from the state's HTML) at once, and the table's own cells are
# brought up to date when the browser is idle. Without JavaScript the table is all there is.
_SWITCH_JS = """(function () {
  var root = document.currentScript.parentNode;
  var data = JSON.parse(root.querySelector("script.sa-data").textContent);
  var view = root.querySelector(".sa-view");
  var inputs = Array.prototype.slice.call(root.querySelectorAll("[data-control]"));
  var shown = data.index[+view.dataset.key], states = {}, painters = null, pending = false;
  var idle = window.requestIdleCallback || function (f) { return setTimeout(f, 50); };
  var map = function (list, f) { return Array.prototype.map.call(list, f); };
  function position(el) { return el.type === "checkbox" ? (el.checked ? 1 : 0) : +el.value; }

  // A state: its HTML parsed once, and the colour and text of every heatmap cell in it.
  function state(i) {
    if (!states[i]) {
      var t = document.createElement("template");
      t.innerHTML = data.states[i];
      var el = t.content.firstElementChild;
      states[i] = {el: el, tables: map(el.querySelectorAll("table.sa-table"), function (table) {
        return map(table.querySelectorAll("td"), function (td) {
          var masked = td.classList.contains("sa-masked");
          return {bg: masked ? null : td.style.backgroundColor, fg: masked ? "MASK_TEXT" : td.style.color,
                  text: td.textContent};
        });
      })};
    }
    return states[i];
  }

  // Make the page's nodes equal to a state's, touching only what differs. With skipCells the
  // heatmap tables' cells are left alone (their canvas shows them); inside such a table it is 2.
  // False if a part had to be replaced.
  function patch(old, now, skipCells) {
    if (old.nodeType !== now.nodeType || old.nodeName !== now.nodeName ||
        old.childNodes.length !== now.childNodes.length) {
      old.replaceWith(now.cloneNode(true));
      return false;
    }
    if (old.nodeType === 3) {
      if (old.nodeValue !== now.nodeValue) { old.nodeValue = now.nodeValue; }
      return true;
    }
    if (skipCells === 2 && old.nodeName === "TD") { return true; }
    var i, a, intact = true;
    var inner = skipCells && (skipCells === 2 || old.classList.contains("sa-table")) ? 2 : skipCells;
    for (i = old.attributes.length - 1; i >= 0; i--) {
      if (!now.hasAttribute(old.attributes[i].name)) { old.removeAttribute(old.attributes[i].name); }
    }
    for (i = 0; i < now.attributes.length; i++) {
      a = now.attributes[i];
      if (old.getAttribute(a.name) !== a.value) { old.setAttribute(a.name, a.value); }
    }
    var o = old.firstChild, n = now.firstChild, next;
    while (o) { next = o.nextSibling; intact = patch(o, n, inner) && intact; o = next; n = n.nextSibling; }
    return intact;
  }

  // A canvas laid exactly over one heatmap table's cells. Moving a slider repaints the cells
  // on it (colours and texts that Python rendered) instead of restyling and laying out the
  // table; the table itself catches up when the browser is idle.
  function Painter(table) {
    this.table = table;
    this.tds = table.getElementsByTagName("td");
    this.canvas = document.createElement("canvas");
    this.canvas.className = "sa-paint";
    this.canvas.setAttribute("aria-hidden", "true");
    view.appendChild(this.canvas);
    this.ctx = this.canvas.getContext("2d");
  }
  Painter.prototype.measure = function () {
    // Cell rectangles in whole CSS pixels, relative to the canvas, so that lines stay sharp.
    var origin = view.getBoundingClientRect(), rects = map(this.tds, function (td) {
      var r = td.getBoundingClientRect();
      return [Math.round(r.left - origin.left), Math.round(r.top - origin.top),
              Math.round(r.right - origin.left), Math.round(r.bottom - origin.top)];
    });
    var x0 = Math.min.apply(null, rects.map(function (r) { return r[0]; }));
    var y0 = Math.min.apply(null, rects.map(function (r) { return r[1]; }));
    var x1 = Math.max.apply(null, rects.map(function (r) { return r[2]; }));
    var y1 = Math.max.apply(null, rects.map(function (r) { return r[3]; }));
    var dpr = window.devicePixelRatio || 1, c = this.canvas;
    if (!rects.length || x1 <= x0) { c.style.display = "none"; this.rects = []; return; }
    this.rects = rects.map(function (r) { return [r[0] - x0, r[1] - y0, r[2] - r[0], r[3] - r[1]]; });
    this.size = [x1 - x0, y1 - y0];
    c.style.cssText = "display:block;left:" + x0 + "px;top:" + y0 + "px;width:" + (x1 - x0) +
      "px;height:" + (y1 - y0) + "px";
    c.width = Math.round((x1 - x0) * dpr);
    c.height = Math.round((y1 - y0) * dpr);
    this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    var style = getComputedStyle(this.tds[0]);
    this.font = style.font || style.fontWeight + " " + style.fontSize + " " + style.fontFamily;
  };
  Painter.prototype.paint = function (cells) {
    var ctx = this.ctx, rects = this.rects, w = this.size && this.size[0], h = this.size && this.size[1];
    var k, c, r, line = "CELL_BORDER";  // the table's cell borders (.sa-table td)
    ctx.font = this.font;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    for (k = 0; k < rects.length; k++) {
      c = cells[k]; r = rects[k];
      ctx.fillStyle = c.bg || hatch(ctx, r);
      ctx.fillRect(r[0], r[1], r[2], r[3]);
      ctx.fillStyle = line;
      ctx.fillRect(r[0], r[1], r[2], 1);
      ctx.fillRect(r[0], r[1], 1, r[3]);
      if (r[0] + r[2] >= w) { ctx.fillRect(r[0] + r[2] - 1, r[1], 1, r[3]); }
      if (r[1] + r[3] >= h) { ctx.fillRect(r[0], r[1] + r[3] - 1, r[2], 1); }
      ctx.fillStyle = c.fg;
      ctx.fillText(c.text, r[0] + r[2] / 2, r[1] + r[3] / 2 + 0.5);
    }
    this.canvas.saTexts = cells.map(function (cell) { return cell.text; });
  };
  // The grey stripes of a masked cell, as the table draws them (.sa-masked in the CSS:
  // a repeating-linear-gradient at 45°, 3 px of each colour, restarting in every cell).
  var hatchPattern = null, STRIPE = 6 * Math.SQRT2;  // stripe period along a row, in pixels
  function hatch(ctx, r) {
    if (!hatchPattern) {
      var tile = document.createElement("canvas"), t = tile.getContext("2d");
      tile.width = tile.height = 8;  // one period of 45° stripes, scaled to STRIPE below
      t.fillStyle = "STRIPE_1"; t.fillRect(0, 0, 8, 8);
      t.strokeStyle = "STRIPE_0"; t.lineWidth = 4 / Math.SQRT2;  // half of the period
      [-8, 0, 8].forEach(function (c) { t.beginPath(); t.moveTo(c, 0); t.lineTo(c + 8, 8); t.stroke(); });
      hatchPattern = ctx.createPattern(tile, "repeat");
    }
    if (hatchPattern.setTransform && window.DOMMatrix) {  // put the stripes' phase where CSS has it
      var k = STRIPE / 8;
      hatchPattern.setTransform(new DOMMatrix([k, 0, 0, k, r[0] + STRIPE / 4 - r[3], r[1]]));
    }
    return hatchPattern;
  }

  // Measure again and repaint when the page's layout or zoom changes the tables' cells.
  var watch = window.ResizeObserver && new ResizeObserver(function () { if (painters) { repaint(); } });
  window.addEventListener("resize", function () { if (painters) { repaint(); } });
  function startPainting() {
    var tables = view.firstElementChild.querySelectorAll("table.sa-table");
    painters = map(tables, function (table) { return new Painter(table); });
    repaint();
    if (watch) {
      watch.disconnect();
      watch.observe(view);
      painters.forEach(function (p) { watch.observe(p.table); });
    }
  }
  function stopPainting() {
    (painters || []).forEach(function (p) { p.canvas.remove(); });
    painters = null;
  }
  function repaint() {
    var s = state(shown);
    painters.forEach(function (p, k) { p.measure(); p.paint(s.tables[k]); });
  }
  // Bring the page's nodes (the table cells too) up to the state on show.
  function sync() {
    pending = false;
    if (!patch(view.firstElementChild, state(shown).el, false)) { stopPainting(); }
    if (painters) { repaint(); } else { startPainting(); }
    view.dataset.synced = view.dataset.key;
  }
  root.saSync = sync;  // for the tests and the benchmark

  function show(i) {
    var s = state(i), fits = painters && painters.length === s.tables.length &&
      painters.every(function (p, k) { return p.tds.length === s.tables[k].length; });
    if (fits && patch(view.firstElementChild, s.el, true)) {
      painters.forEach(function (p, k) { p.paint(s.tables[k]); });
    } else {  // another shape of picture: take the state's nodes now, paint again later
      stopPainting();
      patch(view.firstElementChild, s.el, false);
    }
    if (!pending) { pending = true; idle(sync, {timeout: 250}); }
  }

  // While the reader reads: parse every state and lay the canvases over the tables, so that a
  // first move is as quick as a later one.
  var next = 0;
  function warm(deadline) {
    if (!painters && !pending) { sync(); }
    var timed = deadline && deadline.timeRemaining;
    while (next < data.states.length && (!timed || deadline.timeRemaining() > 2)) { state(next++); }
    if (next < data.states.length) { idle(warm); }
  }
  idle(warm);

  function update() {
    var key = 0;
    inputs.forEach(function (el, i) {
      key = key * data.shape[i] + position(el);
      var out = el.parentNode.querySelector("output");
      if (out) { out.textContent = data.labels[i][position(el)]; }
    });
    view.dataset.key = key;
    if (data.index[key] !== shown) {
      shown = data.index[key];
      show(shown);
    } else if (!pending) {
      view.dataset.synced = key;
    }
  }
  inputs.forEach(function (el) {
    el.addEventListener("input", update);
    el.addEventListener("change", update);
  });
})();"""
_SWITCH_JS = (_SWITCH_JS.replace("CELL_BORDER", CELL_BORDER).replace("STRIPE_0", MASK_STRIPES[0])
              .replace("STRIPE_1", MASK_STRIPES[1]).replace("MASK_TEXT", MASK_TEXT))
