"""The book's drawing rules, shared by the static figures (``utils.plotting``) and the
explorers (``utils.explorer``): one number format, one rule for the colour of text on a coloured
cell, the colours, the limits, and the labels matplotlib's default font can draw.

- ``format_number(fmt, value)``: ``fmt.format(value)`` with a true minus sign; a value that
  rounds to zero prints without one.
- ``text_colour(rgb)``: black or white text on a cell, whichever contrasts more with it by the
  WCAG formula (always at least 4.58 : 1); ``contrast_ratio``, ``relative_luminance``, ``INKS``.
- ``MAX_TABLE_CELLS`` (an explorer's heatmap with more cells is a pixel image),
  ``MAX_ANNOTATED_CELLS`` (a figure's heatmap with more cells carries no numbers),
  ``MASKED_GREY`` (a masked cell), ``SERIES_COLOURS`` (lines and dots, in order).
- ``drawable(text)``, ``latin(labels)``: text without the CJK characters matplotlib's default
  font cannot draw.

A leaf: imports nothing of the book. Taught in no chapter; every figure and explorer uses it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MAX_TABLE_CELLS", "MAX_ANNOTATED_CELLS", "SERIES_COLOURS", "INKS", "MASKED_GREY",
           "format_number", "relative_luminance", "contrast_ratio", "quantise", "ink_index",
           "text_colour", "drawable", "latin"]

# Heatmaps with more cells than this are drawn as a pixel image instead of a table.
MAX_TABLE_CELLS = 400
# A static figure's heatmap (utils.plotting.heatmap) with more cells than this carries no numbers.
MAX_ANNOTATED_CELLS = 100
SERIES_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]
INKS = ("#000", "#fff")  # the two text colours on coloured cells: black, white
MASKED_GREY = "#dddddd"  # a masked cell: in a figure, a PNG and a pixel image


def format_number(fmt: str, value) -> str:
    """``fmt.format(value)`` with a true minus sign; a value that rounds to zero has none.

    >>> format_number("{:.2f}", -0.001), format_number("{:.2f}", -1.5)
    ('0.00', '−1.50')

    Used by every explorer (from chapter 1, 01_attention_pooling, on); the chapters do not teach it.
    """
    text = fmt.format(value)
    if "-" in text:
        size = abs(value)
        zero = fmt.format(size * 0)  # 0 of the value's type (0.0 for floats, 0 for ints), never -0.0
        if fmt.format(size) == zero:
            return zero  # e.g. -0.0 or -0.001 with "{:.2f}": "0.00", not "-0.00"
    return text.replace("-", "\u2212")


def relative_luminance(rgb) -> np.ndarray:
    """WCAG 2 relative luminance of sRGB colours rgb (..., 3) in [0, 1].

    Used by every explorer (from chapter 1, 01_attention_pooling, on); the chapters do not teach it.
    """
    rgb = np.asarray(rgb, dtype=float)[..., :3]
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return linear @ np.array([0.2126, 0.7152, 0.0722])


def contrast_ratio(rgb_a, rgb_b) -> np.ndarray:
    """WCAG 2 contrast ratio (1 to 21) between colours rgb_a and rgb_b (..., 3) in [0, 1].

    Used by every explorer (from chapter 1, 01_attention_pooling, on); the chapters do not teach it.
    """
    la, lb = relative_luminance(rgb_a), relative_luminance(rgb_b)
    return (np.maximum(la, lb) + 0.05) / (np.minimum(la, lb) + 0.05)


def quantise(rgb) -> np.ndarray:
    """Colours (..., 3 or 4) in [0, 1] as the 8-bit colours a page or PNG shows.

    Used by every explorer (from chapter 1, 01_attention_pooling, on); the chapters do not teach it.
    """
    return np.round(np.asarray(rgb, dtype=float)[..., :3] * 255) / 255


def ink_index(rgb) -> np.ndarray:
    """Index into INKS of the text colour for cells coloured rgb (..., 3) in [0, 1].

    Used by every explorer (from chapter 1, 01_attention_pooling, on); the chapters do not teach it.
    """
    lum = relative_luminance(quantise(rgb))
    on_black, on_white = (lum + 0.05) / 0.05, 1.05 / (lum + 0.05)
    return (on_white > on_black).astype(int)


def text_colour(rgb) -> str:
    """Black or white text on a cell of colour rgb (3 values in [0, 1]): the higher contrast.

    Used by every explorer (from chapter 1, 01_attention_pooling, on); the chapters do not teach it.
    """
    return INKS[int(ink_index(rgb))]


def drawable(text: str) -> str:
    """Drop characters matplotlib's default font cannot draw (CJK: e.g. 早 in '早 zǎo').

    Used by every explorer (from chapter 1, 01_attention_pooling, on); the chapters do not teach it.
    """
    return "".join(ch for ch in str(text) if ord(ch) < 0x2E80).strip()


def latin(labels):
    """Tick labels without CJK characters; a label left empty becomes its index.

    Used by every explorer (from chapter 1, 01_attention_pooling, on); the chapters do not teach it.
    """
    if labels is None:
        return None
    return [drawable(label) or str(i) for i, label in enumerate(labels)]
