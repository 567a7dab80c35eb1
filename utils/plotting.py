"""Static figures with matplotlib. Every function returns a Figure and never calls plt.show().

Figures are closed as soon as they are drawn, so a notebook shows a figure exactly once: when it
is the value of the cell's last line (or passed to ``display``).

- ``heatmap(ax, values, ...)``      one annotated heatmap on an existing Axes.
- ``show_heatmaps(matrices, ...)``  a row (or grid) of heatmaps sharing labels, one colour bar each.
- ``panels_figure(panels)``         an explorer's state (``utils.panels``) as a static picture.

Use Latin tick labels: matplotlib's default font has no Chinese glyphs (the HTML explorers can
show 早, 上, 好; figures label them zǎo, shàng, hǎo).
"""

from __future__ import annotations

from typing import Optional, Sequence

import matplotlib

matplotlib.rcParams.update({"figure.dpi": 100, "savefig.bbox": "tight", "font.size": 10})
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["heatmap", "show_heatmaps", "panels_figure", "figure"]


def figure(n_rows: int = 1, n_cols: int = 1, width: float = 4.0, height: float = 3.2, **kw):
    """A new (fig, axes) pair sized per panel; the figure is closed so it shows only once."""
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(width * n_cols, height * n_rows),
                             squeeze=False, layout="constrained", **kw)
    plt.close(fig)
    return fig, axes


def heatmap(ax, values, rows: Optional[Sequence[str]] = None, cols: Optional[Sequence[str]] = None,
            title: str = "", row_title: str = "", col_title: str = "", cmap: str = "viridis",
            vmin: Optional[float] = None, vmax: Optional[float] = None, annotate: Optional[bool] = None,
            fmt: str = "{:.2f}", mask=None, colorbar: bool = True):
    """Draw values (n_rows, n_cols) on ax; mask (bool, True = shown) greys out other cells."""
    values = np.asarray(values, dtype=float)
    shown = np.ma.masked_where(~np.asarray(mask, bool), values) if mask is not None else values
    cm = matplotlib.colormaps[cmap].with_extremes(bad="#dddddd")
    image = ax.imshow(shown, cmap=cm, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
    n_rows, n_cols = values.shape
    if annotate is None:
        annotate = n_rows * n_cols <= 100
    if annotate:
        lo, hi = image.get_clim()
        for i in range(n_rows):
            for j in range(n_cols):
                if mask is not None and not mask[i][j]:
                    continue
                dark = (values[i, j] - lo) / ((hi - lo) or 1.0) < 0.55
                ax.text(j, i, fmt.format(values[i, j]).replace("-", "\u2212"), ha="center",
                        va="center", fontsize=8, color="white" if dark and cmap == "viridis" else "black")
    if rows is not None:
        ax.set_yticks(range(n_rows), [str(r) for r in rows])
    if cols is not None:
        ax.set_xticks(range(n_cols), [str(c) for c in cols])
    ax.set_title(_drawable(title))
    ax.set_ylabel(row_title)
    ax.set_xlabel(col_title)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, shrink=0.85)
    return image


def show_heatmaps(matrices, titles: Sequence[str] = (), rows=None, cols=None, row_title: str = "",
                  col_title: str = "", n_cols: Optional[int] = None, width: float = 3.6,
                  height: float = 3.0, suptitle: str = "", **kw):
    """A grid of heatmaps. matrices: a sequence of (n_rows, n_cols) arrays (or a 3-D array)."""
    matrices = [np.asarray(m, dtype=float) for m in matrices]
    n = len(matrices)
    n_cols = n_cols or n
    n_rows = int(np.ceil(n / n_cols))
    fig, axes = figure(n_rows, n_cols, width, height)
    for k, ax in enumerate(axes.flat):
        if k >= n:
            ax.set_visible(False)
            continue
        heatmap(ax, matrices[k], rows, cols, titles[k] if k < len(titles) else "",
                row_title, col_title, **kw)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def panels_figure(panels):
    """Draw an explorer state (a list of utils.panels objects) as one static figure."""
    from .panels import Bars, Curve, Heatmap, Readout

    panels = list(panels) if isinstance(panels, (list, tuple)) else [panels]
    fig, axes = figure(1, len(panels), 3.6, 3.0)
    for ax, p in zip(axes.flat, panels):
        if isinstance(p, Heatmap):
            heatmap(ax, p.values, _latin(p.rows), _latin(p.cols), p.title, p.row_title,
                    p.col_title, p.cmap, *p._limits(), annotate=p.annotate and p.values.size <= 100,
                    fmt=p.fmt, mask=p.mask)
        elif isinstance(p, Curve):
            for label, y in p.ys.items():
                ax.plot(p.x, y, label=label)
            for label, (a, b) in p.points.items():
                ax.plot(a, b, ".", label=label, alpha=0.7)
            if p.marker is not None:
                ax.axvline(p.marker, color="#d62728", ls="--")
            ax.set(title=_drawable(p.title), xlabel=p.xlabel, ylabel=p.ylabel,
                   xscale="log" if p.logx else "linear", yscale="log" if p.logy else "linear")
            ax.legend(fontsize=8)
        elif isinstance(p, Bars):
            ax.bar(range(len(p.values)), p.values, color=p.colour)
            ax.set(title=_drawable(p.title), xlabel=p.xlabel, ylabel=p.ylabel)
        elif isinstance(p, Readout):
            ax.axis("off")
            text = "\n".join(f"{k}: {v if isinstance(v, str) else p.fmt.format(v)}"
                             for k, v in p.items.items())
            ax.text(0.0, 1.0, _drawable(text), va="top", family="monospace", fontsize=9)
            ax.set_title(_drawable(p.title))
    return fig


def _drawable(text: str) -> str:
    """Drop characters matplotlib's default font cannot draw (CJK: e.g. 早 in '早 zǎo')."""
    return "".join(ch for ch in str(text) if ord(ch) < 0x2E80).strip()


def _latin(labels):
    """Tick labels without CJK characters; a label left empty becomes its index."""
    if labels is None:
        return None
    return [_drawable(label) or str(i) for i, label in enumerate(labels)]
