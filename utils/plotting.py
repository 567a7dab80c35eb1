"""Static figures with matplotlib. Every function returns a Figure and never calls plt.show().

Figures are closed as soon as they are drawn, so a notebook shows a figure exactly once: when it
is the value of the cell's last line (or passed to ``display``).

- ``heatmap(ax, values, ...)``      one annotated heatmap on an existing Axes.
- ``show_heatmaps(matrices, ...)``  a row (or grid) of heatmaps sharing labels, one colour bar each.

Use Latin tick labels: matplotlib's default font has no Chinese glyphs (the HTML explorers can
show 早, 上, 好; figures label them zǎo, shàng, hǎo).
"""

from __future__ import annotations

from typing import Optional, Sequence

import matplotlib

matplotlib.rcParams.update({"figure.dpi": 100, "savefig.bbox": "tight", "font.size": 10})
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .style import MASKED_GREY, MAX_ANNOTATED_CELLS, drawable, format_number, text_colour  # noqa: E402

__all__ = ["heatmap", "show_heatmaps", "figure"]


def figure(n_rows: int = 1, n_cols: int = 1, width: float = 4.0, height: float = 3.2, **kw):
    """A new (fig, axes) pair sized per panel; the figure is closed so it shows only once.

    Taught in chapter 1 (01_attention_pooling).
    """
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(width * n_cols, height * n_rows),
                             squeeze=False, layout="constrained", **kw)
    plt.close(fig)
    return fig, axes


def heatmap(ax, values, rows: Optional[Sequence[str]] = None, cols: Optional[Sequence[str]] = None,
            title: str = "", row_title: str = "", col_title: str = "", cmap: str = "viridis",
            vmin: Optional[float] = None, vmax: Optional[float] = None, annotate: Optional[bool] = None,
            fmt: str = "{:.2f}", mask=None, colorbar: bool = True):
    """Draw values (n_rows, n_cols) on ax; mask (bool, True = shown) greys out other cells.

    Taught in chapter 1 (01_attention_pooling).
    """
    values = np.asarray(values, dtype=float)
    shown = np.ma.masked_where(~np.asarray(mask, bool), values) if mask is not None else values
    cm = matplotlib.colormaps[cmap].with_extremes(bad=MASKED_GREY)
    image = ax.imshow(shown, cmap=cm, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
    n_rows, n_cols = values.shape
    if annotate is None:
        annotate = n_rows * n_cols <= MAX_ANNOTATED_CELLS
    if annotate:  # the explorer's rules: text colour by WCAG contrast, numbers by format_number
        colours = image.cmap(image.norm(values))
        for i in range(n_rows):
            for j in range(n_cols):
                if mask is not None and not mask[i][j]:
                    continue
                ax.text(j, i, format_number(fmt, values[i, j]), ha="center", va="center", fontsize=8,
                        color=text_colour(colours[i, j]))
    if rows is not None:
        ax.set_yticks(range(n_rows), [str(r) for r in rows])
    if cols is not None:
        ax.set_xticks(range(n_cols), [str(c) for c in cols])
    ax.set_title(drawable(title))
    ax.set_ylabel(row_title)
    ax.set_xlabel(col_title)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, shrink=0.85)
    return image


def show_heatmaps(matrices, titles: Sequence[str] = (), rows=None, cols=None, row_title: str = "",
                  col_title: str = "", n_cols: Optional[int] = None, width: float = 3.6,
                  height: float = 3.0, suptitle: str = "", **kw):
    """A grid of heatmaps. matrices: a sequence of (n_rows, n_cols) arrays (or a 3-D array).

    Taught in chapter 6 (06_score_functions).
    """
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
