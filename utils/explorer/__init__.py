"""Explorers: sliders that redraw heatmaps, live in a kernel and in the static HTML book.

A chapter writes a compute function that takes the controls' values as keyword arguments and
returns a list of panels (``utils.explorer.panels``: Heatmap, Curve, Bars, Readout), and lists its
controls::

    def compute(angle, causal):
        ...
        return [Heatmap(weights, rows=tokens, cols=tokens, title="weights", weights=True)]

    Explorer(compute, [Slider("angle", range(0, 181, 15), default=45),
                       Toggle("causal")], name="ch02-rotate")

The explorer is displayed by being the last expression of a cell. There is one renderer,
``utils.explorer.panels.render``, which is Python turning panels into HTML. How a state reaches the
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
   (``utils/explorer/static/explorer.js``, inlined) that, on every input event, looks up the state for
   the controls' positions and swaps it in: it patches the nodes that differ, and paints
   heatmap cells onto a canvas laid over the table (from the colours and texts that each state
   carries as arrays, ``Panel.paint``; the table's own cells follow when the browser is idle),
   because a browser repaints a canvas several times faster than it restyles and lays out 64
   annotated table cells. The book's configuration tells MyST-NB to prefer ``text/html`` over
   the widget view. In the built book, ``book/_ext/book_pages.py`` moves each explorer's JSON out
   of the page into ``_static/explorer-states/<hash>.js``, which the script loads when the
   explorer nears the screen or a control is touched.
3. **No widgets, no JavaScript** (a PDF, a page read without scripts). The book's ``text/html``
   already contains the default state's picture, and its output also carries an ``image/png``
   of the default state drawn by matplotlib, for formats that cannot show HTML.

The script and the CSS (``utils/explorer/static/``) are package data, read once and inlined into every
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

The package: ``controls`` (Slider, Toggle, Dropdown), ``panels`` (one class per kind of panel:
its HTML, its data, its PNG drawing, its words in another language), ``core`` (``Explorer``),
``static/`` (the page's script and style sheet). The drawing rules they share with the static
figures are ``utils.style``; the words in another language come from ``utils.i18n``.
"""

from .controls import Dropdown, Slider, Toggle
from .core import Explorer, static_build
from .panels import Bars, Curve, Heatmap, Panel, Readout, render

__all__ = ["Slider", "Toggle", "Dropdown", "Explorer", "Panel", "Heatmap", "Curve", "Bars", "Readout",
           "render", "static_build"]
