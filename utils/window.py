"""Sliding-window attention, a rolling key/value cache, and attention sinks.

Taught in chapter 18 (``chapters/18_windows_sinks.ipynb``).

A query at position i attends to a band of keys, the last ``size − sinks`` positions up to i
itself, plus the first ``sinks`` positions of the sequence, which are kept for ever (the
"attention sinks" of StreamingLLM, Xiao et al., 2023). With ``sinks = 0`` this is the sliding
window of Longformer (Beltagy et al., 2020) and Mistral 7B (Jiang et al., 2023).

Two ways to compute the same thing, checked equal in ``tests/test_window.py``:

- **a mask**: the whole sequence at once, ordinary causal attention with ``window_mask`` (the
  band, plus the sink columns) in every layer — ``masked_forward``;
- **a rolling cache**: one token at a time, a cache that holds at most ``size`` keys and values
  per layer and drops the oldest non-sink entry when it is full — ``RollingCache`` and ``step``.

The model is ``utils.decoder.DecoderOnlyLM`` (chapter 13). Its positions are absolute (a learned
or sinusoidal vector added to each token), so every token keeps the position it was read at and
a sequence can be at most ``max_len`` tokens long; StreamingLLM's models use relative positions
(RoPE, ALiBi) and renumber the cache, which this module does not do.

Reading order: the mask → the receptive field → the forward pass with a mask → the rolling
cache → one step → a whole sequence through the cache. Conventions as in ``utils.decoder``:
batch first, masks boolean with True = may attend.
"""

from __future__ import annotations

import math

import torch

from utils.decoder import DecoderOnlyLM

__all__ = ["window_mask", "receptive_field", "masked_forward", "RollingCache", "step", "rolling_forward"]


# ----------------------------------------------------------------------------- the mask


def window_mask(n, size, sinks=0):
    """(n, n) bool: query i may attend to key j iff j ≤ i and (i − j < size − sinks or j < sinks).

    size: the keys a query sees once the sequence is long enough (its own included), the
    number of entries a rolling cache holds; sinks: how many of them are the first positions.
    With sinks = 0 a band of width size below the diagonal; with size ≥ n, the causal mask.

    Taught in chapter 18 (18_windows_sinks).
    """
    _check_size_sinks(size, sinks)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a whole number >= 1 (the sequence length), got {n!r}")
    i = torch.arange(n)[:, None]  # (n, 1) query positions
    j = torch.arange(n)[None, :]  # (1, n) key positions
    return (j <= i) & ((i - j < size - sinks) | (j < sinks))  # (n, n)


def receptive_field(mask, n_layers):
    """(n, n) bool: position j can influence position i's output after n_layers layers.

    One layer lets i read from j where mask[i, j]; the residual path keeps i's own token; so
    n_layers layers reach along chains of n_layers allowed steps (a boolean matrix power).

    Taught in chapter 18 (18_windows_sinks).
    """
    if mask.dim() != 2 or mask.shape[0] != mask.shape[1] or mask.dtype != torch.bool:
        raise ValueError(f"mask must be a square bool tensor (n, n), got {tuple(mask.shape)} {mask.dtype}")
    step_ = (mask | torch.eye(mask.shape[0], dtype=torch.bool)).to(torch.int64)  # (n, n)
    reach = torch.eye(mask.shape[0], dtype=torch.int64)
    for _ in range(n_layers):
        reach = ((reach @ step_) > 0).to(torch.int64)  # (n, n): chains one step longer
    return reach.bool()


# ----------------------------------------------------------------------------- with a mask


def masked_forward(model, tokens, mask):
    """DecoderOnlyLM's forward pass with `mask` (n, n) in every layer instead of the causal mask.

    tokens (B, n) int → (logits (B, n, vocab), weights [per layer (B, h, n, n)]). With
    mask = causal this is model(tokens); with window_mask it is sliding-window attention.
    The model's own forward does the work (its `mask` argument); this checks the model and the
    mask's shape first, so that a wrong one is named here.

    Taught in chapter 18 (18_windows_sinks).
    """
    _check_model(model)
    tokens = model._check_tokens(tokens, "tokens")
    n = tokens.shape[1]
    if tuple(mask.shape) != (n, n) or mask.dtype != torch.bool:
        raise ValueError(f"mask must be bool ({n}, {n}) for {n} tokens, got {tuple(mask.shape)} {mask.dtype}")
    logits, _, weights = model(tokens, mask=mask)
    return logits, weights


# ----------------------------------------------------------------------------- the rolling cache


class RollingCache:
    """Keys and values of at most `size` tokens per layer: `sinks` first ones and the latest.

    keys[l], values[l]: (B, n_kv_heads, m, d_head) with m ≤ size − 1 between steps (the new
    token makes it size during its step); positions: the m absolute positions held, in order.
    `seen` counts every token read, kept or dropped.

    Taught in chapter 18 (18_windows_sinks).
    """

    def __init__(self, size, sinks=0):
        _check_size_sinks(size, sinks)
        self.size, self.sinks = size, sinks
        self.keys, self.values, self.positions, self.seen = None, None, [], 0

    def store(self, keys, values):
        """Keep the step's keys and values (which include the new token), then drop the oldest
        non-sink entries until at most size − 1 remain, so the next token makes size."""
        self.positions = self.positions + [self.seen]
        self.seen += 1
        keep = list(range(len(self.positions)))  # indices into the held entries
        if len(keep) > self.size - 1:
            latest = self.size - 1 - self.sinks  # how many recent entries stay beside the sinks
            keep = keep[: self.sinks] + (keep[len(keep) - latest :] if latest > 0 else [])
        index = torch.tensor(keep, dtype=torch.long)
        self.keys = [K.index_select(2, index) for K in keys]  # (B, g, m, d_head)
        self.values = [V.index_select(2, index) for V in values]
        self.positions = [self.positions[k] for k in keep]

    @property
    def nbytes(self) -> int:
        """Bytes held between steps: 2 · layers · B · m · n_kv_heads · d_head · bytes per number."""
        if self.keys is None:
            return 0
        return sum(t.numel() * t.element_size() for t in self.keys + self.values)

    def __repr__(self):
        return f"RollingCache(size={self.size}, sinks={self.sinks}, holds positions {self.positions})"


@torch.no_grad()
def step(model, token, cache):
    """Read one token (B, 1) at position cache.seen through the rolling cache.

    Returns logits (B, vocab) for the next token, the weights per layer (B, h, 1, m + 1) and
    the positions those weights refer to (the held ones, then the new token's). Updates cache.

    Taught in chapter 18 (18_windows_sinks).
    """
    _check_model(model)
    token = model._check_tokens(token, "token")
    if token.shape[1] != 1:
        raise ValueError(f"step reads one token at a time: expected (B, 1), got {tuple(token.shape)}")
    t = cache.seen
    if t >= model.max_len:
        raise ValueError(f"position {t}, but the model has max_len={model.max_len} positions (absolute "
                         f"positions: a window does not make the sequence longer than max_len)")
    X = model.embedding(token) * math.sqrt(model.d_model) + model.position_vectors(t, 1)  # (B, 1, d)
    keys, values, weights = [], [], []
    for layer, block in enumerate(model.blocks):
        past = None if cache.keys is None else (cache.keys[layer], cache.values[layer])
        X, w, (K, V) = block(X, past)  # one query: it sees every held key and itself
        keys.append(K)  # (B, g, m + 1, d_head)
        values.append(V)
        weights.append(w)  # (B, h, 1, m + 1)
    attended = cache.positions + [t]
    cache.store(keys, values)
    return model.output(X[:, -1]), weights, attended


@torch.no_grad()
def rolling_forward(model, tokens, size, sinks=0):
    """Read tokens (B, n) one at a time through a RollingCache(size, sinks).

    Returns logits (B, n, vocab), equal to masked_forward(model, tokens, window_mask(n, size,
    sinks)) up to rounding, and the largest number of bytes the cache held between steps.

    Taught in chapter 18 (18_windows_sinks).
    """
    cache = RollingCache(size, sinks)
    tokens = model._check_tokens(tokens, "tokens")
    logits, peak = [], 0
    for t in range(tokens.shape[1]):
        out, _, _ = step(model, tokens[:, t : t + 1], cache)
        logits.append(out)
        peak = max(peak, cache.nbytes)
    return torch.stack(logits, dim=1), peak  # (B, n, vocab)


# ----------------------------------------------------------------------------- checks


def _check_size_sinks(size, sinks):
    for name, value in (("size", size), ("sinks", sinks)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be a whole number, got {value!r}")
    if size < 1:
        raise ValueError(f"size must be >= 1 (the keys a query sees, its own included), got {size}")
    if not 0 <= sinks < size:
        raise ValueError(f"sinks must be between 0 and size - 1 = {size - 1} (a query must also see "
                         f"itself), got sinks={sinks} with size={size}")


def _check_model(model):
    if not isinstance(model, DecoderOnlyLM):
        raise ValueError(f"model must be a utils.decoder.DecoderOnlyLM, got {type(model).__name__}")
