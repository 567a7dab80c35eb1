"""Panels: the pictures an explorer shows, rendered to HTML by Python.

A chapter's compute function returns a list of panels; ``render(panels)`` turns them into one
HTML fragment. This module is the *only* renderer of explorer pictures: the live widget shows
its output, and the static book switches between outputs that it precomputed. So the numbers a
reader sees for a slider position are, by construction, the numbers Python computed for it.

- ``Heatmap``  a matrix as a coloured table, every cell annotated (or, for large matrices, a
  pixel image); token labels on both axes; a colour bar.
- ``Curve``    one or more lines as inline SVG, with an optional marker line.
- ``Bars``     a bar chart (or histogram) as inline SVG.
- ``Readout``  a few named numbers.

Panels check their data when they are made: NaN or infinite values raise ``ValueError``
(masked heatmap cells excepted), and a heatmap marked ``weights=True`` must have rows that sum
to 1, or to 0 where a row is fully masked.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

__all__ = ["Heatmap", "Curve", "Bars", "Readout", "render", "CSS"]

# Heatmaps with more cells than this are drawn as a pixel image instead of a table.
MAX_TABLE_CELLS = 400
SERIES_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]


def _finite(name: str, values: np.ndarray, where: Optional[np.ndarray] = None) -> None:
    bad = ~np.isfinite(values)
    if where is not None:
        bad &= where
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name}: value {values[idx]} at {idx} is not finite")


def _hex_colours(values: np.ndarray, cmap: str, vmin: float, vmax: float) -> np.ndarray:
    """Map values to '#rrggbb' strings with a matplotlib colour map."""
    from matplotlib import colormaps

    span = vmax - vmin if vmax > vmin else 1.0
    t = np.clip((values - vmin) / span, 0.0, 1.0)
    rgb = (colormaps[cmap](t)[..., :3] * 255).round().astype(int)  # (..., 3)
    return np.array([f"#{r:02x}{g:02x}{b:02x}" for r, g, b in rgb.reshape(-1, 3)]).reshape(
        values.shape
    )


def _text_colours(hexes: np.ndarray) -> np.ndarray:
    """White text on dark cells, near-black on light ones (by relative luminance)."""
    flat = hexes.reshape(-1)
    rgb = np.array([[int(h[i : i + 2], 16) for i in (1, 3, 5)] for h in flat]) / 255.0
    lum = rgb @ np.array([0.2126, 0.7152, 0.0722])
    return np.where(lum < 0.5, "#fff", "#111").reshape(hexes.shape)


def _fmt(fmt: str, value) -> str:
    return fmt.format(value).replace("-", "\u2212")  # a true minus sign


@dataclass
class Heatmap:
    """A matrix drawn as a heatmap.

    values: (n_rows, n_cols). rows, cols: tick labels (e.g. tokens), or None for 0, 1, ...
    mask: optional bool (n_rows, n_cols), True = may attend (drawn normally); False cells are
    drawn grey and their values ignored (they may be -inf). weights=True declares the rows to
    be attention weights: each must sum to 1, or to 0 when the row is fully masked.
    """

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
        visible = self.mask if self.mask is not None else None
        _finite(f"Heatmap {self.title!r}", self.values, visible)
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

    def _limits(self):
        shown = self.values if self.mask is None else self.values[self.mask]
        lo = float(shown.min()) if shown.size else 0.0
        hi = float(shown.max()) if shown.size else 1.0
        vmin = self.vmin if self.vmin is not None else (0.0 if self.weights else lo)
        vmax = self.vmax if self.vmax is not None else (1.0 if self.weights else hi)
        if self.center is not None:
            half = max(abs(vmax - self.center), abs(self.center - vmin), 1e-12)
            vmin, vmax = self.center - half, self.center + half
        return vmin, vmax

    def html(self) -> str:
        vmin, vmax = self._limits()
        safe = np.where(np.isfinite(self.values), self.values, vmin)
        bg = _hex_colours(safe, self.cmap, vmin, vmax)
        n_rows, n_cols = self.values.shape
        rows = [str(r) for r in self.rows] if self.rows is not None else [str(i) for i in range(n_rows)]
        cols = [str(c) for c in self.cols] if self.cols is not None else [str(j) for j in range(n_cols)]
        if self.annotate and n_rows * n_cols <= MAX_TABLE_CELLS:
            body = self._table(bg, rows, cols)
        else:
            body = self._image(bg, rows, cols)
        kind = "weights" if self.weights else "values"
        return (
            f'<figure class="sa-panel sa-heatmap" data-kind="{kind}" '
            f'data-title="{html.escape(self.title)}">'
            f"<figcaption>{html.escape(self.title)}</figcaption>{body}"
            f"{_colourbar(self.cmap, vmin, vmax, self.fmt)}</figure>"
        )

    def _table(self, bg, rows, cols) -> str:
        fg = _text_colours(bg)
        head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
        corner = html.escape(f"{self.row_title} \u2193 {self.col_title} \u2192".strip())
        lines = [f'<table class="sa-table"><tr><th class="sa-corner">{corner}</th>{head}</tr>']
        for i, label in enumerate(rows):
            cells = []
            for j in range(len(cols)):
                if self.mask is not None and not self.mask[i, j]:
                    cells.append('<td class="sa-masked">\u00b7</td>')
                else:
                    text = _fmt(self.fmt, self.values[i, j]) if self.annotate else ""
                    cells.append(f'<td style="background:{bg[i, j]};color:{fg[i, j]}">{text}</td>')
            lines.append(f"<tr><th>{html.escape(label)}</th>{''.join(cells)}</tr>")
        return "".join(lines) + "</table>"

    def _image(self, bg, rows, cols) -> str:
        from PIL import Image

        rgb = np.array([[int(h[k : k + 2], 16) for k in (1, 3, 5)] for h in bg.reshape(-1)])
        rgb = rgb.reshape(*bg.shape, 3).astype(np.uint8)
        if self.mask is not None:
            rgb[~self.mask] = 200
        buf = io.BytesIO()
        Image.fromarray(rgb, "RGB").save(buf, format="PNG", optimize=True)
        data = base64.b64encode(buf.getvalue()).decode("ascii")
        n_rows, n_cols = bg.shape
        width = min(360, max(120, 8 * n_cols))
        height = min(360, max(60, round(width * n_rows / n_cols)))
        axes = html.escape(f"{self.row_title} ({rows[0]}\u2013{rows[-1]}) \u2193   "
                           f"{self.col_title} ({cols[0]}\u2013{cols[-1]}) \u2192")
        return (
            f'<div class="sa-axes">{axes}</div><img class="sa-pixels" alt="{html.escape(self.title)}"'
            f' width="{width}" height="{height}" src="data:image/png;base64,{data}">'
        )


def _colourbar(cmap: str, vmin: float, vmax: float, fmt: str) -> str:
    stops = ",".join(_hex_colours(np.linspace(0, 1, 9), cmap, 0.0, 1.0))
    return (
        f'<div class="sa-cbar"><span>{_fmt(fmt, vmin)}</span>'
        f'<i style="background:linear-gradient(to right,{stops})"></i>'
        f"<span>{_fmt(fmt, vmax)}</span></div>"
    )


@dataclass
class _Plot:
    """Shared SVG frame for Curve and Bars: data → pixel maps and axes."""

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
        ticks = (
            f'<text x="{left}" y="{h - bottom + 13}" text-anchor="middle">{e(_fmt(fmt, xlim[0]))}</text>'
            f'<text x="{w - right}" y="{h - bottom + 13}" text-anchor="end">{e(_fmt(fmt, xlim[1]))}</text>'
        ) if xticks else ""
        return (
            f'<line x1="{left}" y1="{h - bottom}" x2="{w - right}" y2="{h - bottom}" class="sa-ax"/>'
            f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" class="sa-ax"/>'
            + ticks +
            f'<text x="{left - 3}" y="{h - bottom}" text-anchor="end">{e(_fmt(fmt, ylim[0]))}</text>'
            f'<text x="{left - 3}" y="{top + 8}" text-anchor="end">{e(_fmt(fmt, ylim[1]))}</text>'
            f'<text x="{(left + w - right) / 2}" y="{h - 4}" text-anchor="middle">{e(self.xlabel)}</text>'
            f'<text x="10" y="{(top + h - bottom) / 2}" text-anchor="middle" '
            f'transform="rotate(-90 10 {(top + h - bottom) / 2})">{e(self.ylabel)}</text>'
        )

    def _svg(self, kind: str, inner: str, legend: str = "") -> str:
        return (
            f'<figure class="sa-panel sa-{kind}" data-title="{html.escape(self.title)}">'
            f"<figcaption>{html.escape(self.title)}</figcaption>"
            f'<svg width="{self.width}" height="{self.height}" viewBox="0 0 {self.width} '
            f'{self.height}" role="img">{inner}</svg>{legend}</figure>'
        )


@dataclass
class Curve(_Plot):
    """Lines y(x). x: (n,); ys: {label: (n,) array}; marker: an x to draw a vertical line at."""

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
            legend.append(f'<span style="color:{colour}">\u2501 {html.escape(label)}</span>')
        for k, (label, (a, b)) in enumerate(self.points.items(), start=len(self.ys)):
            colour = SERIES_COLOURS[k % len(SERIES_COLOURS)]
            dots = "".join(f'<circle cx="{u:.1f}" cy="{v:.1f}" r="2.5"/>' for u, v in zip(px(a), py(b)))
            parts.append(f'<g fill="{colour}" opacity="0.7">{dots}</g>')
            legend.append(f'<span style="color:{colour}">\u25cf {html.escape(label)}</span>')
        if self.marker is not None:
            m = float(px(self.marker))
            parts.append(f'<line x1="{m:.1f}" y1="{self.pad[0]}" x2="{m:.1f}" '
                         f'y2="{self.height - self.pad[2]}" class="sa-marker"/>')
        return self._svg("curve", "".join(parts), f'<div class="sa-legend">{" ".join(legend)}</div>')


@dataclass
class Bars(_Plot):
    """A bar chart: values (n,), labels (n,) or None. A histogram is bars over bin labels."""

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
        return self._svg("bars", "".join(parts))


@dataclass
class Readout:
    """A few named numbers (or short strings): items {label: value}."""

    items: dict
    title: str = ""
    fmt: str = "{:.3f}"

    def __post_init__(self):
        for label, value in self.items.items():
            if isinstance(value, (int, float, np.floating, np.integer)) and not np.isfinite(value):
                raise ValueError(f"Readout {self.title!r}: {label!r} is {value}")

    def html(self) -> str:
        rows = []
        for label, value in self.items.items():
            text = value if isinstance(value, str) else _fmt(self.fmt, value)
            rows.append(f"<tr><th>{html.escape(str(label))}</th>"
                        f'<td data-label="{html.escape(str(label))}">{html.escape(text)}</td></tr>')
        return (f'<figure class="sa-panel sa-readout" data-title="{html.escape(self.title)}">'
                f"<figcaption>{html.escape(self.title)}</figcaption>"
                f'<table class="sa-kv">{"".join(rows)}</table></figure>')


def render(panels) -> str:
    """One state's HTML: the panels side by side (wrapping on narrow screens)."""
    if not isinstance(panels, (list, tuple)):
        panels = [panels]
    return '<div class="sa-panels">' + "".join(p.html() for p in panels) + "</div>"


# Colours of the heatmap table that the static explorer's canvas also paints (utils.explorer):
# defined once here, so that the table and the canvas cannot disagree.
CELL_BORDER = "rgba(255,255,255,.35)"
MASK_STRIPES = ("#ddd", "#f4f4f4")  # 45° stripes, 3 px each, in a masked cell
MASK_TEXT = "#777"

CSS = """
.sa-explorer{font:13px/1.3 system-ui,sans-serif;margin:.5em 0 1em}
.sa-controls{display:flex;flex-wrap:wrap;gap:.4em 1.4em;margin:0 0 .5em}
.sa-control{display:inline-flex;align-items:center;gap:.4em}
.sa-control output{min-width:3.5em;font-variant-numeric:tabular-nums}
.sa-panels{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start;contain:content}
.sa-panel{margin:0}
.sa-panel figcaption{font-weight:600;margin:0 0 3px;font-size:12.5px}
.sa-table{border-collapse:collapse;table-layout:fixed;margin:0}
.sa-table td{width:2.7em;height:1.8em;text-align:center;padding:0;font-size:11.5px;
  border:1px solid CELL_BORDER}
.sa-table th{font-weight:500;padding:0 .35em;font-size:12px;white-space:nowrap}
.sa-table th.sa-corner{font-weight:400;font-size:10.5px;opacity:.7}
.sa-table td.sa-masked{background:repeating-linear-gradient(45deg,STRIPE_0 0 3px,STRIPE_1 3px 6px);
  color:MASK_TEXT}
.sa-cbar{display:flex;align-items:center;gap:4px;font-size:10.5px;margin-top:3px}
.sa-cbar i{display:inline-block;width:110px;height:8px}
.sa-pixels{image-rendering:pixelated;display:block}
.sa-axes{font-size:10.5px;opacity:.75}
.sa-panel svg text{font-size:10.5px;fill:currentColor}
.sa-panel svg .sa-ax{stroke:currentColor;stroke-width:1;opacity:.6}
.sa-panel svg .sa-marker{stroke:#d62728;stroke-dasharray:4 3;stroke-width:1.5}
.sa-legend{font-size:11px;display:flex;gap:.8em;flex-wrap:wrap}
.sa-kv th{text-align:left;font-weight:500;padding:1px .8em 1px 0}
.sa-kv td{font-variant-numeric:tabular-nums;text-align:right}
.sa-error{color:#b00;white-space:pre-wrap}
.sa-view{position:relative}
.sa-paint{position:absolute;pointer-events:none}
"""
CSS = (CSS.replace("CELL_BORDER", CELL_BORDER).replace("STRIPE_0", MASK_STRIPES[0])
       .replace("STRIPE_1", MASK_STRIPES[1]).replace("MASK_TEXT", MASK_TEXT))
