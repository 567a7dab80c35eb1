"""Seeing Attention's support package.

What the chapters teach, one module per idea, in the book's order:

- ``utils.attention``  NumPy math: softmax, masks, score functions, attention, encodings.
- ``utils.layers``     PyTorch modules: attention layers, multi-head, Transformer, Bahdanau.
- ``utils.decoder``    a decoder-only language model with a key/value cache (chapter 13).
- ``utils.induction``  an attention-only transformer that learns to copy (chapter 14).
- ``utils.pretrained`` MiniLM's encoder, written out and checked against BertModel (chapter 15).
- ``utils.rope``       rotary position embedding (both layouts) and ALiBi (chapter 16).
- ``utils.flash``      FlashAttention: tiled forward, backward by recomputation, the IO model (chapter 17).
- ``utils.window``     sliding-window attention, a rolling key/value cache, attention sinks (chapter 18).
- ``utils.latent``     multi-head latent attention and its latent cache; linear attention (chapter 19).
- ``utils.tasks``      seeded toy data and tasks (nothing is downloaded).
- ``utils.training``   a small training loop with a progress bar.
- ``utils.timing``     timing code the same way in every chapter (medians, side by side).
- ``utils.plotting``   matplotlib figures for the static pictures.
- ``utils.claims``     claims about a training run or a timing: checked by the build, a note for a reader.

The book's machinery, which the chapters use but do not teach:

- ``utils.style``      the drawing rules figures and explorers share (numbers, text colour, limits).
- ``utils.explorer``   sliders that redraw pictures, live in a kernel and in the static HTML book.
- ``utils.i18n``       the outputs in Chinese: printed lines, figures, explorers (and ``locales/``).
- ``utils.minilm_web`` chapter 15's own-sentence box: MiniLM exported to ONNX for the page
                       (scripts in ``minilm_static/``), and the same box live in a kernel.

Modules are imported on demand (``from utils import attention``): importing one runs nothing
else, and importing the NumPy parts never pays for importing PyTorch.
"""

__version__ = "0.1.0"
