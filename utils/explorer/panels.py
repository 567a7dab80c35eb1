"""Panels: the pictures an explorer shows, rendered to HTML by Python (and to PNG by matplotlib).

Taught in chapter 1 (``01_attention_pooling``), whose explorer is the book's first; every
chapter's explorer returns these panels.

A chapter's compute function returns a list of panels; ``render(panels)`` turns them into one
HTML fragment. This module is the *only* renderer of explorer pictures: the live widget shows
its output, and the static book switches between outputs that it precomputed. So the numbers a
reader sees for a slider position are, by construction, the numbers Python computed for it.

- ``Heatmap``  a matrix as a coloured table, every cell annotated (or, for large matrices, a
  pixel image); token labels on both axes; a colour bar.
- ``Curve``    one or more lines as inline SVG, with an optional marker line.
- ``Bars``     a bar chart (or histogram) as inline SVG.
- ``Readout``  a few named numbers.

Each panel type is one class (a subclass of ``Panel``) that holds all the type does: its HTML
(``html``), its raw numbers for the tests' dump (``data``), its matplotlib drawing for the
PNG (``draw``) and, for heatmap tables, the arrays the static page's canvas paints (``paint``).
Anything else given as a panel raises ``TypeError``. HTML and PNG share the book's drawing rules
(``utils.style``): one number formatter (``format_number``: a true minus sign, and a value that
rounds to zero prints without one) and one rule for the colour of text on a coloured cell
(``text_colour``: black or white, whichever contrasts more with the cell by the WCAG formula;
always at least 4.58 : 1).

Panels check their data when they are made: NaN or infinite values raise ``ValueError``
(masked heatmap cells excepted), and a heatmap marked ``weights=True`` must have rows that sum
to 1, or to 0 where a row is fully masked.

The look (CSS) lives in ``utils/explorer/static/explorer.css``, read once here and inlined into every
explorer's output, so pages stay self-contained and work offline.
"""

from __future__ import annotations

import base64
import copy
import html
import io
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from importlib import resources
from typing import ClassVar, Optional, Sequence

import numpy as np

from ..plotting import figure, heatmap
from ..style import (
    INKS,
    MASKED_GREY,
    MAX_ANNOTATED_CELLS,
    MAX_TABLE_CELLS,
    SERIES_COLOURS,
    drawable,
    format_number,
    ink_index,
    latin,
    quantise,
)

__all__ = ["Panel", "Heatmap", "Curve", "Bars", "Readout", "render", "as_panels", "panels_figure",
           "static_text", "CSS"]

def static_text(name: str) -> str:
    """The text of a file in utils/explorer/static/ (package data, installed with the package).

    Used by every explorer (from chapter 1, 01_attention_pooling, on); the chapters do not teach it.
    """
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


CSS = static_text("explorer.css")


def _finite(name: str, values: np.ndarray, where: Optional[np.ndarray] = None) -> None:
    bad = ~np.isfinite(values)
    if where is not None:
        bad &= where
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name}: value {values[idx]} at {idx} is not finite")


def _rgb(values: np.ndarray, cmap: str, vmin: float, vmax: float) -> np.ndarray:
    """Map values to 8-bit sRGB colours (..., 3) in [0, 1] with a matplotlib colour map."""
    from matplotlib import colormaps

    span = vmax - vmin if vmax > vmin else 1.0
    t = np.clip((values - vmin) / span, 0.0, 1.0)
    return quantise(colormaps[cmap](t))


def _hex(rgb: np.ndarray) -> np.ndarray:
    """8-bit colours (..., 3) in [0, 1] as 'rrggbb' strings (no '#')."""
    ints = np.round(rgb * 255).astype(int).reshape(-1, 3)
    return np.array([f"{r:02x}{g:02x}{b:02x}" for r, g, b in ints]).reshape(rgb.shape[:-1])


class Panel(ABC):
    """One picture of an explorer state. A new panel type is one subclass defining these.

    Used by every explorer (from chapter 1, 01_attention_pooling, on); the chapters do not teach it.
    """

    kind: ClassVar[str] = ""  # the dump's "type" and the CSS class sa-<kind>

    @abstractmethod
    def html(self) -> str:
        """The panel as an HTML fragment (a <figure class="sa-panel sa-KIND">)."""

    @abstractmethod
    def data(self) -> dict:
        """The panel's raw numbers (JSON-able, with "type": kind), for the tests' dump."""

    @abstractmethod
    def draw(self, ax) -> None:
        """Draw the panel on a matplotlib Axes (the PNG of the default state)."""

    def paint(self) -> list:
        """For each table.sa-table in html(), in order, what the static page's canvas paints
        over its cells: {"bg": 6 hex digits per cell or "------" if masked, "ink": one digit
        per cell (index into INKS), "text": the cells' texts}. Most panels have no table."""
        return []

    # The panel's words, for the other edition (utils.i18n.translate_panel): ``text_fields`` are
    # always words; ``label_fields`` hold labels (tick labels, tokens, bar labels), translated
    # only when a label is words with a space ("with positions"): a single word is data (a token).
    # A panel with text of another shape overrides ``translated``.
    text_fields: ClassVar[tuple] = ("title",)
    label_fields: ClassVar[tuple] = ()

    def translated(self, words):
        """A copy of the panel with its words put through ``words`` (text -> text)."""
        changes = {name: words(getattr(self, name)) for name in self.text_fields if getattr(self, name, "")}
        for name in self.label_fields:
            labels = getattr(self, name, None)
            if labels is not None:
                changes[name] = [words(str(t)) if " " in str(t).strip() else str(t) for t in labels]
        return _with(self, changes)


def _with(panel, changes: dict):
    """A shallow copy of panel with some attributes replaced (the original is left as it is)."""
    if not changes:
        return panel
    new = copy.copy(panel)
    for name, value in changes.items():
        setattr(new, name, value)
    return new


@dataclass
class Heatmap(Panel):
    """A matrix drawn as a heatmap.

    values: (n_rows, n_cols). rows, cols: tick labels (e.g. tokens), or None for 0, 1, ...
    mask: optional bool (n_rows, n_cols), True = may attend (drawn normally); False cells are
    drawn grey and their values ignored (they may be -inf). weights=True declares the rows to
    be attention weights: each must sum to 1, or to 0 when the row is fully masked.

    Taught in chapter 1 (01_attention_pooling).
    """

    kind: ClassVar[str] = "heatmap"
    text_fields: ClassVar[tuple] = ("title", "row_title", "col_title")
    label_fields: ClassVar[tuple] = ("rows", "cols")
    values: np.ndarray
    rows: Optional[Sequence[str]] = None
    cols: Optional[Sequence[str]] = None
    title: str = ""
    row_title: str = ""
    col_title: str = ""
    cmap: str = "viridis"
    vmin: Optional[float] = None
    vmax: Optional[float] = None
    fmt: str = "{:.2f}"
    annotate: bool = True
    mask: Optional[np.ndarray] = None
    weights: bool = False
    center: Optional[float] = None  # e.g. 0 for scores with a diverging cmap such as "RdBu_r"

    def __post_init__(self):
        self.values = np.asarray(self.values, dtype=float)
        if self.values.ndim != 2:
            raise ValueError(f"Heatmap {self.title!r}: values must be 2-D, got {self.values.shape}")
        n_rows, n_cols = self.values.shape
        if self.mask is not None:
            self.mask = np.broadcast_to(np.asarray(self.mask, dtype=bool), self.values.shape)
        _finite(f"Heatmap {self.title!r}", self.values, self.mask)
        for name, labels, n in (("rows", self.rows, n_rows), ("cols", self.cols, n_cols)):
            if labels is not None and len(labels) != n:
                raise ValueError(f"Heatmap {self.title!r}: {len(labels)} {name} labels for {n} {name}")
        if self.weights:
            shown = self.values if self.mask is None else np.where(self.mask, self.values, 0.0)
            sums = shown.sum(axis=-1)
            ok = np.isclose(sums, 1.0, atol=1e-6) | np.isclose(sums, 0.0, atol=1e-12)
            if (shown < -1e-12).any() or not ok.all():
                raise ValueError(
                    f"Heatmap {self.title!r}: weights must be >= 0 with rows summing to 1 "
                    f"(or 0 if fully masked); row sums are {np.round(sums, 6).tolist()}"
                )

    def limits(self):
        """(vmin, vmax) of the colour scale: given, or the visible values' range (0, 1 for
        weights), made symmetric about center when center is set."""
        shown = self.values if self.mask is None else self.values[self.mask]
        lo = float(shown.min()) if shown.size else 0.0
        hi = float(shown.max()) if shown.size else 1.0
        vmin = self.vmin if self.vmin is not None else (0.0 if self.weights else lo)
        vmax = self.vmax if self.vmax is not None else (1.0 if self.weights else hi)
        if self.center is not None:
            half = max(abs(vmax - self.center), abs(self.center - vmin), 1e-12)
            vmin, vmax = self.center - half, self.center + half
        return vmin, vmax

    _limits = limits  # the name earlier versions used

    def _as_table(self) -> bool:
        return self.annotate and self.values.size <= MAX_TABLE_CELLS

    def _visible(self) -> np.ndarray:
        return np.ones(self.values.shape, bool) if self.mask is None else self.mask

    def _cells(self):
        """Each cell's colour (8-bit rgb in [0, 1]), ink index (INKS) and text."""
        vmin, _ = self.limits()
        safe = np.where(np.isfinite(self.values), self.values, vmin)
        rgb = _rgb(safe, self.cmap, *self.limits())
        ink = ink_index(rgb)
        visible = self._visible()
        texts = [[(format_number(self.fmt, v) if self.annotate else "") if shown else "\u00b7"
                  for v, shown in zip(row, vis)] for row, vis in zip(self.values, visible)]
        return rgb, ink, texts

    def html(self) -> str:
        vmin, vmax = self.limits()
        n_rows, n_cols = self.values.shape
        rows = [str(r) for r in self.rows] if self.rows is not None else [str(i) for i in range(n_rows)]
        cols = [str(c) for c in self.cols] if self.cols is not None else [str(j) for j in range(n_cols)]
        body = self._table(rows, cols) if self._as_table() else self._image(rows, cols)
        kind = "weights" if self.weights else "values"
        return (
            f'<figure class="sa-panel sa-heatmap" data-kind="{kind}" '
            f'data-title="{html.escape(self.title)}">'
            f"<figcaption>{html.escape(self.title)}</figcaption>{body}"
            f"{_colourbar(self.cmap, vmin, vmax, self.fmt)}</figure>"
        )

    def _table(self, rows, cols) -> str:
        rgb, ink, texts = self._cells()
        bg, visible = _hex(rgb), self._visible()
        head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
        corner = html.escape(f"{self.row_title} \u2193 {self.col_title} \u2192".strip())
        lines = [f'<table class="sa-table"><tr><th class="sa-corner">{corner}</th>{head}</tr>']
        for i, label in enumerate(rows):
            cells = []
            for j in range(len(cols)):
                if not visible[i, j]:
                    cells.append(f'<td class="sa-masked">{texts[i][j]}</td>')
                else:
                    cells.append(f'<td style="background:#{bg[i, j]};color:{INKS[ink[i, j]]}">'
                                 f"{texts[i][j]}</td>")
            lines.append(f"<tr><th>{html.escape(label)}</th>{''.join(cells)}</tr>")
        return "".join(lines) + "</table>"

    def _image(self, rows, cols) -> str:
        from PIL import Image

        rgb, _, _ = self._cells()
        pixels = np.round(rgb * 255).astype(np.uint8)
        pixels[~self._visible()] = [int(MASKED_GREY[k:k + 2], 16) for k in (1, 3, 5)]
        buf = io.BytesIO()
        Image.fromarray(pixels, "RGB").save(buf, format="PNG", optimize=True)
        data = base64.b64encode(buf.getvalue()).decode("ascii")
        n_rows, n_cols = self.values.shape
        width = min(360, max(120, 8 * n_cols))
        height = min(360, max(60, round(width * n_rows / n_cols)))
        axes = html.escape(f"{self.row_title} ({rows[0]}\u2013{rows[-1]}) \u2193   "
                           f"{self.col_title} ({cols[0]}\u2013{cols[-1]}) \u2192")
        return (
            f'<div class="sa-axes">{axes}</div><img class="sa-pixels" alt="{html.escape(self.title)}"'
            f' width="{width}" height="{height}" src="data:image/png;base64,{data}">'
        )

    def paint(self) -> list:
        if not self._as_table():
            return []
        rgb, ink, texts = self._cells()
        visible = self._visible().reshape(-1)
        bg = "".join(h if shown else "------" for h, shown in zip(_hex(rgb).reshape(-1), visible))
        return [{"bg": bg, "ink": "".join(str(i) for i in ink.reshape(-1)),
                 "text": [t for row in texts for t in row]}]

    def data(self) -> dict:
        return {"type": self.kind, "title": self.title, "fmt": self.fmt, "weights": self.weights,
                "annotate": self.annotate, "shape": list(self.values.shape),
                "values": np.where(np.isfinite(self.values), self.values, 0.0).tolist(),
                "mask": None if self.mask is None else self.mask.tolist(),
                "rows": None if self.rows is None else [str(t) for t in self.rows],  # data (tokens)
                "cols": None if self.cols is None else [str(t) for t in self.cols]}

    def draw(self, ax) -> None:
        heatmap(ax, self.values, latin(self.rows), latin(self.cols), self.title, self.row_title,
                self.col_title, self.cmap, *self.limits(),
                annotate=self.annotate and self.values.size <= MAX_ANNOTATED_CELLS, fmt=self.fmt,
                mask=self.mask)


def _colourbar(cmap: str, vmin: float, vmax: float, fmt: str) -> str:
    stops = ",".join("#" + h for h in _hex(_rgb(np.linspace(0, 1, 9), cmap, 0.0, 1.0)))
    return (
        f'<div class="sa-cbar"><span>{format_number(fmt, vmin)}</span>'
        f'<i style="background:linear-gradient(to right,{stops})"></i>'
        f"<span>{format_number(fmt, vmax)}</span></div>"
    )


@dataclass
class _Plot(Panel):
    """Shared SVG frame for Curve and Bars: data → pixel maps and axes."""

    text_fields: ClassVar[tuple] = ("title", "xlabel", "ylabel")
    title: str = ""
    xlabel: str = ""
    ylabel: str = ""
    width: int = 320
    height: int = 200
    pad: tuple = (10, 10, 30, 46)  # top, right, bottom, left

    def _frame(self, xlim, ylim, logx=False, logy=False):
        top, right, bottom, left = self.pad
        tx = np.log10 if logx else (lambda v: np.asarray(v, dtype=float))
        ty = np.log10 if logy else (lambda v: np.asarray(v, dtype=float))
        (x0, x1), (y0, y1) = (tx(np.array(xlim))), (ty(np.array(ylim)))
        x1 = x1 if x1 > x0 else x0 + 1.0
        y1 = y1 if y1 > y0 else y0 + 1.0

        def px(x):
            return left + (tx(x) - x0) / (x1 - x0) * (self.width - left - right)

        def py(y):
            return self.height - bottom - (ty(y) - y0) / (y1 - y0) * (self.height - top - bottom)

        return px, py

    def _axes(self, xlim, ylim, fmt="{:.3g}", xticks=True) -> str:
        top, right, bottom, left = self.pad
        w, h = self.width, self.height
        e = html.escape

        def num(v):
            return e(format_number(fmt, v))

        ticks = (
            f'<text x="{left}" y="{h - bottom + 13}" text-anchor="middle">{num(xlim[0])}</text>'
            f'<text x="{w - right}" y="{h - bottom + 13}" text-anchor="end">{num(xlim[1])}</text>'
        ) if xticks else ""
        return (
            f'<line x1="{left}" y1="{h - bottom}" x2="{w - right}" y2="{h - bottom}" class="sa-ax"/>'
            f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" class="sa-ax"/>'
            + ticks +
            f'<text x="{left - 3}" y="{h - bottom}" text-anchor="end">{num(ylim[0])}</text>'
            f'<text x="{left - 3}" y="{top + 8}" text-anchor="end">{num(ylim[1])}</text>'
            f'<text x="{(left + w - right) / 2}" y="{h - 4}" text-anchor="middle">{e(self.xlabel)}</text>'
            f'<text x="10" y="{(top + h - bottom) / 2}" text-anchor="middle" '
            f'transform="rotate(-90 10 {(top + h - bottom) / 2})">{e(self.ylabel)}</text>'
        )

    def _svg(self, inner: str, legend: str = "") -> str:
        return (
            f'<figure class="sa-panel sa-{self.kind}" data-title="{html.escape(self.title)}">'
            f"<figcaption>{html.escape(self.title)}</figcaption>"
            f'<svg width="{self.width}" height="{self.height}" viewBox="0 0 {self.width} '
            f'{self.height}" role="img" aria-label="{html.escape(self._label())}">{inner}</svg>'
            f"{legend}</figure>"
        )

    def _label(self) -> str:
        """The picture's text alternative: what is drawn against what."""
        what = f"{self.ylabel} against {self.xlabel}" if self.ylabel and self.xlabel else self.kind
        return f"{self.title}: {what}" if self.title else what


@dataclass
class Curve(_Plot):
    """Lines y(x). x: (n,); ys: {label: (n,) array}; marker: an x to draw a vertical line at.

    Taught in chapter 1 (01_attention_pooling).
    """

    kind: ClassVar[str] = "curve"
    x: Sequence[float] = ()
    ys: dict = field(default_factory=dict)
    marker: Optional[float] = None
    points: dict = field(default_factory=dict)  # {label: (xs, ys)} drawn as dots
    logx: bool = False
    logy: bool = False
    ylim: Optional[tuple] = None

    def __post_init__(self):
        self.x = np.asarray(self.x, dtype=float)
        self.ys = {k: np.asarray(v, dtype=float) for k, v in self.ys.items()}
        self.points = {k: (np.asarray(a, float), np.asarray(b, float)) for k, (a, b) in self.points.items()}
        _finite(f"Curve {self.title!r} x", self.x)
        for label, y in self.ys.items():
            if y.shape != self.x.shape:
                raise ValueError(f"Curve {self.title!r}: {label!r} has shape {y.shape}, x has {self.x.shape}")
            _finite(f"Curve {self.title!r} {label!r}", y)
        for label, (a, b) in self.points.items():
            _finite(f"Curve {self.title!r} points {label!r}", np.concatenate([a, b]))

    def html(self) -> str:
        xs = [self.x] + [a for a, _ in self.points.values()]
        ys = list(self.ys.values()) + [b for _, b in self.points.values()]
        xlim = (min(float(v.min()) for v in xs if v.size), max(float(v.max()) for v in xs if v.size))
        ylim = self.ylim or (min(float(v.min()) for v in ys), max(float(v.max()) for v in ys))
        px, py = self._frame(xlim, ylim, self.logx, self.logy)
        parts = [self._axes(xlim, ylim)]
        legend = []
        for k, (label, y) in enumerate(self.ys.items()):
            colour = SERIES_COLOURS[k % len(SERIES_COLOURS)]
            yy = np.clip(y, *ylim)
            pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px(self.x), py(yy)))
            parts.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"/>')
            legend.append(f'<span><i class="sa-swatch" style="background:{colour}"></i> '
                          f"{html.escape(label)}</span>")
        for k, (label, (a, b)) in enumerate(self.points.items(), start=len(self.ys)):
            colour = SERIES_COLOURS[k % len(SERIES_COLOURS)]
            dots = "".join(f'<circle cx="{u:.1f}" cy="{v:.1f}" r="2.5"/>' for u, v in zip(px(a), py(b)))
            parts.append(f'<g fill="{colour}" opacity="0.7">{dots}</g>')
            legend.append(f'<span><i class="sa-swatch sa-dot" style="background:{colour}"></i> '
                          f"{html.escape(label)}</span>")
        if self.marker is not None:
            m = float(px(self.marker))
            parts.append(f'<line x1="{m:.1f}" y1="{self.pad[0]}" x2="{m:.1f}" '
                         f'y2="{self.height - self.pad[2]}" class="sa-marker"/>')
        return self._svg("".join(parts), f'<div class="sa-legend">{" ".join(legend)}</div>')

    def translated(self, words):
        new = super().translated(words)  # title and axis labels; the series' names are words too
        return _with(new, {"ys": {words(k): v for k, v in self.ys.items()},
                           "points": {words(k): v for k, v in self.points.items()}})

    def data(self) -> dict:
        return {"type": self.kind, "title": self.title, "x": self.x.tolist(),
                "ys": {k: v.tolist() for k, v in self.ys.items()}}

    def draw(self, ax) -> None:
        for k, (label, y) in enumerate(self.ys.items()):
            ax.plot(self.x, y, label=label, color=SERIES_COLOURS[k % len(SERIES_COLOURS)])
        for k, (label, (a, b)) in enumerate(self.points.items(), start=len(self.ys)):
            ax.plot(a, b, ".", label=label, alpha=0.7, color=SERIES_COLOURS[k % len(SERIES_COLOURS)])
        if self.marker is not None:
            ax.axvline(self.marker, color="#d62728", ls="--")
        ax.set(title=drawable(self.title), xlabel=self.xlabel, ylabel=self.ylabel,
               xscale="log" if self.logx else "linear", yscale="log" if self.logy else "linear")
        if self.ylim is not None:
            ax.set_ylim(*self.ylim)
        if self.ys or self.points:
            ax.legend(fontsize=8)


@dataclass
class Bars(_Plot):
    """A bar chart: values (n,), labels (n,) or None. A histogram is bars over bin labels.

    Taught in chapter 3 (03_queries_keys_values).
    """

    kind: ClassVar[str] = "bars"
    label_fields: ClassVar[tuple] = ("labels",)
    values: Sequence[float] = ()
    labels: Optional[Sequence[str]] = None
    ymax: Optional[float] = None
    colour: str = "#1f77b4"
    fmt: str = "{:.3g}"

    def __post_init__(self):
        self.values = np.asarray(self.values, dtype=float)
        _finite(f"Bars {self.title!r}", self.values)
        if self.labels is not None and len(self.labels) != len(self.values):
            raise ValueError(f"Bars {self.title!r}: {len(self.labels)} labels for {len(self.values)} bars")

    def html(self) -> str:
        n = len(self.values)
        lo = min(0.0, float(self.values.min()))
        hi = self.ymax if self.ymax is not None else max(float(self.values.max()), 1e-12)
        px, py = self._frame((0, n), (lo, hi))
        parts = [self._axes((0, n), (lo, hi), self.fmt, xticks=self.labels is None)]
        step = float(px(1) - px(0))
        for i, v in enumerate(self.values):
            y0, y1 = float(py(0)), float(py(min(v, hi)))
            parts.append(f'<rect x="{px(i) + 0.1 * step:.1f}" y="{min(y0, y1):.1f}" '
                         f'width="{0.8 * step:.1f}" height="{abs(y1 - y0):.1f}" fill="{self.colour}"/>')
        if self.labels is not None and n <= 16:
            for i, label in enumerate(self.labels):
                parts.append(f'<text x="{px(i + 0.5):.1f}" y="{self.height - self.pad[2] + 13}" '
                             f'text-anchor="middle">{html.escape(str(label))}</text>')
        return self._svg("".join(parts))

    def data(self) -> dict:
        return {"type": self.kind, "title": self.title, "values": self.values.tolist(),
                "labels": None if self.labels is None else [str(b) for b in self.labels]}  # data

    def draw(self, ax) -> None:
        ax.bar(range(len(self.values)), self.values, color=self.colour)
        if self.labels is not None and len(self.values) <= 16:
            ax.set_xticks(range(len(self.values)), latin([str(b) for b in self.labels]))
        if self.ymax is not None:
            ax.set_ylim(top=self.ymax)
        ax.set(title=drawable(self.title), xlabel=self.xlabel, ylabel=self.ylabel)


@dataclass
class Readout(Panel):
    """A few named numbers (or short strings): items {label: value}.

    A string value is text, translated in the Chinese edition like a label ("none", "2 of 5"),
    unless its label is in ``data_keys``: then it is data (a token, a model's output, digits) and is
    shown as it is in every language.

    Taught in chapter 1 (01_attention_pooling).
    """

    kind: ClassVar[str] = "readout"
    items: dict
    title: str = ""
    fmt: str = "{:.3f}"
    data_keys: Sequence = ()

    def __post_init__(self):
        self.data_keys = tuple(self.data_keys)
        unknown = [label for label in self.data_keys if label not in self.items]
        if unknown:
            raise ValueError(f"Readout {self.title!r}: data_keys names labels it does not have: {unknown}")
        for label, value in self.items.items():
            if isinstance(value, (int, float, np.floating, np.integer)) and not np.isfinite(value):
                raise ValueError(f"Readout {self.title!r}: {label!r} is {value}")

    def texts(self) -> list:
        """Each item's value as shown: strings as they are, numbers through format_number."""
        return [v if isinstance(v, str) else format_number(self.fmt, v) for v in self.items.values()]

    def translated(self, words):
        """Labels are words; a string value is words unless its label is in ``data_keys``."""
        label = {k: words(str(k)) for k in self.items}
        items = {label[k]: v if k in self.data_keys or not isinstance(v, str) else words(v)
                 for k, v in self.items.items()}
        return _with(super().translated(words),
                     {"items": items, "data_keys": tuple(label[k] for k in self.data_keys)})

    def html(self) -> str:
        rows = []
        for label, text in zip(self.items, self.texts()):
            rows.append(f"<tr><th>{html.escape(str(label))}</th>"
                        f'<td data-label="{html.escape(str(label))}">{html.escape(text)}</td></tr>')
        return (f'<figure class="sa-panel sa-readout" data-title="{html.escape(self.title)}">'
                f"<figcaption>{html.escape(self.title)}</figcaption>"
                f'<table class="sa-kv">{"".join(rows)}</table></figure>')

    def data(self) -> dict:
        return {"type": self.kind, "title": self.title, "fmt": self.fmt, "data_keys": list(self.data_keys),
                "items": {k: (v if isinstance(v, str) else float(v)) for k, v in self.items.items()}}

    def draw(self, ax) -> None:
        ax.axis("off")
        text = "\n".join(f"{k}: {t}" for k, t in zip(self.items, self.texts()))
        ax.text(0.0, 1.0, drawable(text), va="top", family="monospace", fontsize=9)
        ax.set_title(drawable(self.title))


def as_panels(panels) -> list:
    """A list of panels from one panel or a list; anything that is not a Panel raises TypeError.

    Used by every explorer (from chapter 1, 01_attention_pooling, on); the chapters do not teach it.
    """
    panels = list(panels) if isinstance(panels, (list, tuple)) else [panels]
    for p in panels:
        if not isinstance(p, Panel):
            raise TypeError(f"not a panel: {type(p).__name__} (a panel subclasses utils.explorer.Panel)")
    return panels


def render(panels) -> str:
    """One state's HTML: the panels side by side (wrapping on narrow screens).

    Used by every explorer (from chapter 1, 01_attention_pooling, on); the chapters do not teach it.
    """
    return '<div class="sa-panels">' + "".join(p.html() for p in as_panels(panels)) + "</div>"


def panels_figure(panels):
    """Draw an explorer state (a list of panels) as one static figure.

    The PNG an explorer carries for readers without HTML. Each panel draws itself
    (``Panel.draw``); anything else raises TypeError.

    Used by every explorer (from chapter 1, 01_attention_pooling, on); the chapters do not teach it.
    """
    panels = as_panels(panels)
    fig, axes = figure(1, len(panels), 3.6, 3.0)
    for ax, p in zip(axes.flat, panels):
        p.draw(ax)
    return fig


def png_base64(panels) -> str:
    """An explorer state drawn by matplotlib, as base64 PNG (the output's ``image/png``).

    Used by every explorer (from chapter 1, 01_attention_pooling, on); the chapters do not teach it.
    """
    fig = panels_figure(panels)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    return base64.b64encode(buf.getvalue()).decode("ascii")
