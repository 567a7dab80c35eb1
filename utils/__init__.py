"""Seeing Attention's support package: one module per idea, in the book's order.

- ``utils.attention``  NumPy math: softmax, masks, score functions, attention, encodings.
- ``utils.layers``     PyTorch modules: attention layers, multi-head, Transformer, Bahdanau.
- ``utils.decoder``    a decoder-only language model with a key/value cache (chapter 13).
- ``utils.tasks``      seeded toy data and tasks (nothing is downloaded).
- ``utils.training``   a small training loop with a progress bar.
- ``utils.timing``     timing code the same way in every chapter (medians, side by side).
- ``utils.induction``  an attention-only transformer that learns to copy (chapter 14).
- ``utils.rope``       rotary position embedding (both layouts) and ALiBi (chapter 16).
- ``utils.plotting``   matplotlib figures for the static pictures.
- ``utils.explorer``   sliders that redraw heatmaps, live and in the static HTML book.
- ``utils.claims``     claims about a training run or a timing: checked by the build, a note for a reader.

Modules are imported on demand (``from utils import attention``) so that importing the
NumPy parts never pays for importing PyTorch.
"""

__version__ = "0.1.0"

from . import i18n as _i18n  # noqa: E402  (light: reads nothing unless a translating build asks)

_i18n.install_from_environment()
