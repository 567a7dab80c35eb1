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

Two models. ``utils.decoder.DecoderOnlyLM`` (chapter 13) adds an absolute position vector to
each token, so every token keeps the position it was read at and a sequence can be at most
``max_len`` tokens long. ``RopeLM`` is the same stack of blocks with rotary positions (RoPE,
chapter 16) and no position vector: each layer rotates its queries and keys by their positions
(``rope_block``), so a score depends only on the offset between query and key, and the model
reads sequences of any length. Its rolling cache holds the keys *unrotated*, as StreamingLLM's
does, so that each step can rotate them by the positions of its choice: their positions in the
text (``renumber=False``), or their slots in the cache, 0 .. m, as StreamingLLM does
(``renumber=True``).

Reading order: the mask → the receptive field → the forward pass with a mask → the RoPE model
→ the rolling cache → one step → a whole sequence through the cache. Conventions as in
``utils.decoder``: batch first, masks boolean with True = may attend.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from utils import rope
from utils.decoder import DecoderOnlyBlock, DecoderOnlyLM, causal_mask_after
from utils.layers import scaled_dot_product

__all__ = ["window_mask", "receptive_field", "masked_forward", "rope_block", "RopeLM", "RollingCache", "step",
           "rolling_forward"]


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
    if isinstance(n_layers, bool) or not isinstance(n_layers, int) or n_layers < 0:
        raise ValueError(f"n_layers must be a whole number >= 0, got {n_layers!r}")
    step_ = (mask | torch.eye(mask.shape[0], dtype=torch.bool)).to(torch.int64)  # (n, n)
    reach = torch.eye(mask.shape[0], dtype=torch.int64)
    for _ in range(n_layers):
        reach = ((reach @ step_) > 0).to(torch.int64)  # (n, n): chains one step longer
    return reach.bool()


# ----------------------------------------------------------------------------- with a mask


def masked_forward(model, tokens, mask):
    """The model's forward pass with `mask` (n, n) in every layer instead of the causal mask.

    model: a DecoderOnlyLM or a RopeLM (positions 0 .. n − 1, as read).
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
    if isinstance(model, RopeLM):
        return model(tokens, mask=mask)
    logits, _, weights = model(tokens, mask=mask)
    return logits, weights


# ----------------------------------------------------------------------------- rotary positions


def rope_block(block, X, past, positions, mask=None, base=10000.0):
    """One DecoderOnlyBlock whose attention rotates queries and keys by their positions (RoPE).

    head_i = softmax(R(p_q) Q_i · (R(p_k) K_g)ᵀ / √d_head + mask) V_g, then Add & Norm, FFN,
    Add & Norm, with the block's own weights; R(p) is utils.rope.rotate_halves at position p.
    X: (B, n, d_model), the n new tokens. past: (K, V) each (B, n_kv_heads, m, d_head), the
    held keys *unrotated* and their values, or None (m = 0). positions: m + n numbers, the
    positions given to the held keys and then to the new tokens (the queries take the last n).
    mask: bool (n, m + n), True = may attend; None = causal (the new tokens come last).
    Returns Y (B, n, d_model), weights (B, n_heads, n, m + n) and (K, V) each
    (B, n_kv_heads, m + n, d_head), keys unrotated: the next step may rotate them differently.

    Taught in chapter 18 (18_windows_sinks).
    """
    att = block.attention
    B, n, _ = X.shape
    Q = att.split(att.w_q(X), att.n_heads)  # (B, h, n, d_head)
    K = att.split(att.w_k(X), att.n_kv_heads)  # (B, g, n, d_head): only the new tokens
    V = att.split(att.w_v(X), att.n_kv_heads)  # (B, g, n, d_head)
    if past is not None:
        K = torch.cat([past[0], K], dim=2)  # (B, g, m + n, d_head), unrotated
        V = torch.cat([past[1], V], dim=2)
    m = K.shape[2] - n
    positions = _check_positions(positions, m, n)
    Q_rot = rope.rotate_halves(Q, positions[m:], base)  # (B, h, n, d_head): queries at the last n
    K_rot = rope.rotate_halves(K, positions, base)  # (B, g, m + n, d_head)
    V_read = V
    group = att.n_heads // att.n_kv_heads
    if group > 1:  # shared K/V heads: head i reads group i // group
        K_rot = K_rot.repeat_interleave(group, dim=1)  # (B, h, m + n, d_head)
        V_read = V.repeat_interleave(group, dim=1)  # (B, h, m + n, d_head)
    if mask is None:
        mask = None if n == 1 else causal_mask_after(n, m, X.device)  # (n, m + n)
    elif tuple(mask.shape) != (n, m + n) or mask.dtype != torch.bool:
        raise ValueError(f"mask must be bool ({n}, {m + n}) for {n} new tokens after {m}, "
                         f"got {tuple(mask.shape)} {mask.dtype}")
    heads, weights = scaled_dot_product(Q_rot, K_rot, V_read, mask)  # (B, h, n, d_head), (B, h, n, m + n)
    attended = att.w_o(heads.transpose(1, 2).reshape(B, n, att.d_model))  # (B, n, d_model)
    Y = block.addnorm1(X, attended)
    return block.addnorm2(Y, block.ffn(Y)), weights, (K, V)


class RopeLM(nn.Module):
    """Chapter 13's decoder with rotary positions in every layer instead of a position vector.

    logits for token t + 1 = Output(Blocks(√d_model · Embedding(x_0..x_t)))[t], each block a
    DecoderOnlyBlock run by rope_block: nothing is added to the tokens, the attention rotates
    queries and keys by their positions (base: RoPE's, θ_i = base^(−2i/d_head)). No max_len.

    forward(tokens (B, n) int, mask=None, positions=None) → (logits (B, n, vocab),
    weights [per layer (B, h, n, n)]). mask: bool (n, n), True = may attend, None = causal;
    positions: n numbers, default 0 .. n − 1.

    Taught in chapter 18 (18_windows_sinks).
    """

    def __init__(self, vocab_size, d_model=32, n_heads=4, d_ff=64, n_layers=2, n_kv_heads=None,
                 base=10000.0):
        super().__init__()
        if d_model % n_heads or (d_model // n_heads) % 2:
            raise ValueError(f"RoPE rotates pairs of features: d_model / n_heads must be even, got "
                             f"d_model={d_model}, n_heads={n_heads}")
        self.vocab_size, self.d_model, self.base = vocab_size, d_model, float(base)
        self.embedding = nn.Embedding(vocab_size, d_model)
        nn.init.normal_(self.embedding.weight, std=d_model**-0.5)  # as DecoderOnlyLM's
        self.blocks = nn.ModuleList(DecoderOnlyBlock(d_model, n_heads, d_ff, n_kv_heads)
                                    for _ in range(n_layers))
        self.output = nn.Linear(d_model, vocab_size)

    _check_tokens = DecoderOnlyLM._check_tokens  # the same checks, the same messages

    def forward(self, tokens, mask=None, positions=None):
        tokens = self._check_tokens(tokens, "tokens")
        n = tokens.shape[1]
        positions = range(n) if positions is None else positions
        if mask is not None and (tuple(mask.shape) != (n, n) or mask.dtype != torch.bool):
            raise ValueError(f"mask must be bool ({n}, {n}) for {n} tokens, "
                             f"got {tuple(mask.shape)} {mask.dtype}")
        X = self.embedding(tokens) * math.sqrt(self.d_model)  # (B, n, d_model): no position added
        weights = []
        for block in self.blocks:
            X, w, _ = rope_block(block, X, None, positions, mask, self.base)  # (B, n, d_model)
            weights.append(w)  # (B, h, n, n)
        return self.output(X), weights


# ----------------------------------------------------------------------------- the rolling cache


class RollingCache:
    """Keys and values of at most `size` tokens per layer: `sinks` first ones and the latest.

    keys[l], values[l]: (B, n_kv_heads, m, d_head) with m ≤ size − 1 between steps (the new
    token makes it size during its step); positions: the m positions in the text held, in order.
    `seen` counts every token read, kept or dropped. `model`: the model that filled it (step
    refuses another one, or a batch of another size).

    Taught in chapter 18 (18_windows_sinks).
    """

    def __init__(self, size, sinks=0):
        _check_size_sinks(size, sinks)
        self.size, self.sinks = size, sinks
        self.keys, self.values, self.positions, self.seen = None, None, [], 0
        self.model = None

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
def step(model, token, cache, renumber=False):
    """Read one token (B, 1), the text's position cache.seen, through the rolling cache.

    renumber (RopeLM only): give the m held keys and the new token the positions 0 .. m, their
    slots in the cache, as StreamingLLM does; False gives them their positions in the text.
    A DecoderOnlyLM's positions are added to the tokens once, so it cannot renumber.
    Returns logits (B, vocab) for the next token, the weights per layer (B, h, 1, m + 1) and
    the text positions those weights refer to (the held ones, then the new token's). Updates cache.

    Taught in chapter 18 (18_windows_sinks).
    """
    _check_model(model)
    token = model._check_tokens(token, "token")
    if token.shape[1] != 1:
        raise ValueError(f"step reads one token at a time: expected (B, 1), got {tuple(token.shape)}")
    if not isinstance(renumber, bool):
        raise ValueError(f"renumber must be True or False, got {renumber!r}")
    _check_cache(cache, model, token.shape[0])
    t = cache.seen
    attended = cache.positions + [t]  # positions in the text: the held ones, then the new token
    if isinstance(model, RopeLM):
        given = list(range(len(attended))) if renumber else attended  # slots in the cache, or the text's
        X = model.embedding(token) * math.sqrt(model.d_model)  # (B, 1, d): no position added
        keys, values, weights = [], [], []
        for layer, block in enumerate(model.blocks):
            past = None if cache.keys is None else (cache.keys[layer], cache.values[layer])
            X, w, (K, V) = rope_block(block, X, past, given, None, model.base)  # K unrotated
            keys.append(K)  # (B, g, m + 1, d_head)
            values.append(V)
            weights.append(w)  # (B, h, 1, m + 1)
        cache.store(keys, values)
        return model.output(X[:, -1]), weights, attended
    if renumber:
        raise ValueError("renumber=True needs relative positions (a RopeLM): a DecoderOnlyLM adds each "
                         "token's absolute position to it once, and its keys cannot be renumbered")
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
    cache.store(keys, values)
    return model.output(X[:, -1]), weights, attended


@torch.no_grad()
def rolling_forward(model, tokens, size, sinks=0, renumber=False):
    """Read tokens (B, n) one at a time through a RollingCache(size, sinks).

    Returns logits (B, n, vocab) and the largest number of bytes the cache held between steps.
    With renumber=False the logits equal masked_forward(model, tokens, window_mask(n, size,
    sinks)) up to rounding; with renumber=True (RopeLM only, see step) each query sees its
    held keys at positions 0 .. m instead, which changes the offsets to the sinks, and nothing
    when sinks = 0 (RoPE sees offsets only, and a band keeps them).

    Taught in chapter 18 (18_windows_sinks).
    """
    _check_model(model)
    cache = RollingCache(size, sinks)
    tokens = model._check_tokens(tokens, "tokens")
    logits, peak = [], 0
    for t in range(tokens.shape[1]):
        out, _, _ = step(model, tokens[:, t : t + 1], cache, renumber)
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


def _check_positions(positions, m, n):
    """positions as a list of m + n finite floats (the held keys', then the new tokens')."""
    try:
        values = torch.as_tensor(positions, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"positions must be numbers, one per key, got {positions!r}") from None
    if values.dim() != 1 or len(values) != m + n:
        raise ValueError(f"positions must give one position per key, {m} held + {n} new = {m + n}, "
                         f"got shape {tuple(values.shape)}")
    if not torch.isfinite(values).all():
        raise ValueError(f"positions must be finite numbers, got {values.tolist()}")
    return values.tolist()


def _check_cache(cache, model, batch):
    """A cache belongs to the model and the batch that filled it."""
    if not isinstance(cache, RollingCache):
        raise ValueError(f"cache must be a utils.window.RollingCache, got {type(cache).__name__}")
    if cache.model is None:
        cache.model = model
    elif cache.model is not model:
        raise ValueError("this cache holds the keys and values of another model: start a new "
                         "RollingCache for each model")
    if cache.keys is not None and cache.keys[0].shape[0] != batch:
        raise ValueError(f"this cache holds a batch of {cache.keys[0].shape[0]} sequences, "
                         f"got a token batch of {batch}")


def _check_model(model):
    if not isinstance(model, (DecoderOnlyLM, RopeLM)):
        raise ValueError(f"model must be a utils.decoder.DecoderOnlyLM or a utils.window.RopeLM, "
                         f"got {type(model).__name__}")
