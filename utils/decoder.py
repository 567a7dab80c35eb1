"""A decoder-only language model that generates one token at a time, with a key/value cache.

Taught in chapter 13. Reading order: the cache → causal self-attention with grouped key/value
heads → one block → the model → generation → what a step costs.

The model is the Transformer's decoder without cross-attention: token embeddings plus
positions, a stack of blocks (causal multi-head self-attention, Add & Norm, position-wise FFN,
Add & Norm; ``utils.layers``' modules where they fit), and a linear map to next-token logits.

Conventions as in ``utils.layers``: batch first, masks boolean with True = may attend, modules
that attend return the weights they used. Key/value heads: ``n_kv_heads`` must divide
``n_heads``; query head i reads key/value head ``i // (n_heads // n_kv_heads)``.
``n_kv_heads = n_heads`` is multi-head attention, ``n_kv_heads = 1`` multi-query attention
(Shazeer, 2019), anything between grouped-query attention (Ainslie et al., 2023).

The cache holds, for every layer, the keys and values of every token read so far, shapes
(B, n_kv_heads, n, d_head). ``model(tokens, cache)`` reads only the new tokens, appends their
keys and values and returns a new cache (the old one is left as it was).
"""

from __future__ import annotations

import math
import weakref

import torch
import torch.nn.functional as F
from torch import nn

from utils.layers import (
    AddNorm,
    LearnedPositionalEncoding,
    PositionalEncoding,
    PositionWiseFFN,
    scaled_dot_product,
)

__all__ = ["KVCache", "CausalSelfAttention", "DecoderOnlyBlock", "DecoderOnlyLM", "causal_mask_after"]


# ----------------------------------------------------------------------------- the cache


class KVCache:
    """The keys and values of every layer for the tokens read so far. Taught in chapter 13.

    keys[l], values[l]: (B, n_kv_heads, n, d_head) for layer l. Made by DecoderOnlyLM.forward,
    which also checks it when it is given back; it remembers which model made it.

    Taught in chapter 13 (13_kv_cache).
    """

    def __init__(self, keys, values, model):
        self.keys, self.values = list(keys), list(values)
        self._model = weakref.ref(model)

    @property
    def length(self) -> int:
        """n: the number of tokens whose keys and values are stored."""
        return self.keys[0].shape[2]

    @property
    def batch_size(self) -> int:
        return self.keys[0].shape[0]

    @property
    def nbytes(self) -> int:
        """Bytes held: 2 · layers · B · n · n_kv_heads · d_head · bytes per number."""
        return sum(t.numel() * t.element_size() for t in self.keys + self.values)

    def made_by(self, model) -> bool:
        return self._model() is model

    def __repr__(self):
        K = self.keys[0]
        return (f"KVCache({len(self.keys)} layers, B={K.shape[0]}, n={K.shape[2]}, "
                f"n_kv_heads={K.shape[1]}, d_head={K.shape[3]}, {K.dtype}, {self.nbytes:,} bytes)")


# ----------------------------------------------------------------------------- attention


def causal_mask_after(n_new, n_past, device=None):
    """(n_new, n_past + n_new) bool: new token i (at position n_past + i) sees keys j <= n_past + i.

    With n_past = 0 this is utils.layers.causal_mask(n_new). True = may attend.

    Taught in chapter 13 (13_kv_cache).
    """
    keys = torch.arange(n_past + n_new, device=device)  # (n_k,)
    queries = torch.arange(n_past, n_past + n_new, device=device)  # (n_new,): the new tokens' positions
    return keys[None, :] <= queries[:, None]  # (n_new, n_k)


class CausalSelfAttention(nn.Module):
    """Causal multi-head self-attention with n_kv_heads key/value heads and a cache. Chapter 13.

    head_i = softmax(Q_i K_gᵀ / √d_head + causal) V_g with g = i // (n_heads / n_kv_heads);
    output = Concat(head_1..h) W_o. w_q and w_o are nn.Linear(d_model, d_model), w_k and w_v
    nn.Linear(d_model, n_kv_heads · d_head). With n_kv_heads = n_heads the parameters have the
    names and shapes of utils.layers.MultiHeadAttention, so state dicts are interchangeable.

    forward(X (B, n, d_model), past=None, mask=None) → (output (B, n, d_model),
    weights (B, n_heads, n, n_past + n), (K, V) each (B, n_kv_heads, n_past + n, d_head)).
    past: the (K, V) this layer returned for the earlier tokens, or None. The n new tokens
    sit at positions n_past .. n_past + n − 1. mask: bool (n, n_past + n), True = may attend,
    in place of the causal mask (chapter 18's sliding windows); None = causal.

    Taught in chapter 13 (13_kv_cache).
    """

    def __init__(self, d_model, n_heads, n_kv_heads=None, bias=True):
        super().__init__()
        n_kv_heads = n_heads if n_kv_heads is None else n_kv_heads
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}; "
                             f"expected d_model = n_heads · d_head")
        if not 1 <= n_kv_heads <= n_heads or n_heads % n_kv_heads:
            raise ValueError(f"n_kv_heads={n_kv_heads} must divide n_heads={n_heads} "
                             f"(1 = multi-query, {n_heads} = multi-head)")
        self.d_model, self.n_heads, self.n_kv_heads = d_model, n_heads, n_kv_heads
        self.d_head = d_model // n_heads
        self.w_q = nn.Linear(d_model, d_model, bias=bias)
        self.w_k = nn.Linear(d_model, n_kv_heads * self.d_head, bias=bias)
        self.w_v = nn.Linear(d_model, n_kv_heads * self.d_head, bias=bias)
        self.w_o = nn.Linear(d_model, d_model, bias=bias)

    def split(self, X, heads):
        """(B, n, heads · d_head) → (B, heads, n, d_head)."""
        B, n, _ = X.shape
        return X.view(B, n, heads, self.d_head).transpose(1, 2)

    def forward(self, X, past=None, mask=None):
        B, n, _ = X.shape
        Q = self.split(self.w_q(X), self.n_heads)  # (B, h, n, d_head)
        K = self.split(self.w_k(X), self.n_kv_heads)  # (B, g, n, d_head): only the new tokens
        V = self.split(self.w_v(X), self.n_kv_heads)  # (B, g, n, d_head)
        if past is not None:
            K = torch.cat([past[0], K], dim=2)  # (B, g, n_past + n, d_head): old keys unchanged
            V = torch.cat([past[1], V], dim=2)  # (B, g, n_past + n, d_head)
        n_past = K.shape[2] - n
        present = (K, V)  # what the cache keeps: n_kv_heads heads, not n_heads
        group = self.n_heads // self.n_kv_heads
        if group > 1:  # shared K/V heads: repeat each for its group (multi-head needs no copy)
            K = K.repeat_interleave(group, dim=1)  # (B, h, n_k, d_head): head i reads group i // group
            V = V.repeat_interleave(group, dim=1)  # (B, h, n_k, d_head)
        if mask is None:  # one new token sees every cached key and itself: no mask needed
            mask = None if n == 1 else causal_mask_after(n, n_past, X.device)  # (n, n_k)
        elif tuple(mask.shape) != (n, n_past + n) or mask.dtype != torch.bool:
            raise ValueError(f"mask must be bool ({n}, {n_past + n}) for {n} new tokens after {n_past}, "
                             f"got {tuple(mask.shape)} {mask.dtype}")
        heads, weights = scaled_dot_product(Q, K, V, mask)  # (B, h, n, d_head), (B, h, n, n_k)
        concat = heads.transpose(1, 2).reshape(B, n, self.d_model)  # (B, n, d_model)
        return self.w_o(concat), weights, present


class DecoderOnlyBlock(nn.Module):
    """Causal self-attention, Add & Norm, FFN, Add & Norm (post-norm). Taught in chapter 13.

    The Transformer's decoder block without cross-attention, which is also an encoder block
    with a causal mask: with n_kv_heads = n_heads its parameters have the names of
    utils.layers.EncoderBlock's (attention, addnorm1, ffn, addnorm2).
    forward(X (B, n, d_model), past=None, mask=None) → (Y (B, n, d_model), weights (B, h, n, n_past + n),
    (K, V) each (B, n_kv_heads, n_past + n, d_head)). mask: as in CausalSelfAttention.

    Taught in chapter 13 (13_kv_cache).
    """

    def __init__(self, d_model, n_heads, d_ff, n_kv_heads=None):
        super().__init__()
        self.attention = CausalSelfAttention(d_model, n_heads, n_kv_heads)
        self.addnorm1 = AddNorm(d_model)
        self.ffn = PositionWiseFFN(d_model, d_ff)
        self.addnorm2 = AddNorm(d_model)

    def forward(self, X, past=None, mask=None):
        attended, weights, present = self.attention(X, past, mask)
        Y = self.addnorm1(X, attended)
        return self.addnorm2(Y, self.ffn(Y)), weights, present


# ----------------------------------------------------------------------------- the model


class DecoderOnlyLM(nn.Module):
    """A decoder-only (causal) language model over token ids. Taught in chapter 13.

    logits for token t + 1 = Output(Blocks(√d_model · Embedding(x_0..x_t) + P_0..t))[t].
    positions: "learned" (utils.layers.LearnedPositionalEncoding's table) or "sinusoidal"
    (utils.layers.PositionalEncoding's); at most max_len positions.

    forward(tokens (B, n) int, cache=None, last_only=False, mask=None) → (logits (B, n or 1, vocab),
    cache (a new KVCache holding the old tokens and these), weights [per layer (B, h, n, n_k)]).
    With a cache, tokens are the *new* tokens only, at positions cache.length onwards.
    mask: bool (n, n_k), True = may attend, used in every layer in place of the causal mask
    (chapter 18: a sliding window, attention sinks); None = causal.

    Taught in chapter 13 (13_kv_cache).
    """

    def __init__(self, vocab_size, d_model=32, n_heads=4, d_ff=64, n_layers=2, max_len=64,
                 n_kv_heads=None, positions="learned"):
        super().__init__()
        if positions not in ("learned", "sinusoidal"):
            raise ValueError(f"positions must be 'learned' or 'sinusoidal', got {positions!r}")
        self.vocab_size, self.d_model, self.max_len = vocab_size, d_model, max_len
        self.embedding = nn.Embedding(vocab_size, d_model)
        # entries of size 1/√d_model, of size 1 after the √d_model scaling (as in utils.layers.Transformer)
        nn.init.normal_(self.embedding.weight, std=d_model**-0.5)
        if positions == "learned":
            self.positions = LearnedPositionalEncoding(d_model, max_len)
        else:
            self.positions = PositionalEncoding(d_model, max_len)
        self.blocks = nn.ModuleList(DecoderOnlyBlock(d_model, n_heads, d_ff, n_kv_heads)
                                    for _ in range(n_layers))
        self.output = nn.Linear(d_model, vocab_size)

    @property
    def n_layers(self):
        return len(self.blocks)

    @property
    def dtype(self):
        return self.output.weight.dtype

    def position_vectors(self, start, n):
        """The rows of the position table for positions start .. start + n − 1: (n, d_model)."""
        if isinstance(self.positions, LearnedPositionalEncoding):
            return self.positions.P.weight[start : start + n]
        return self.positions.PE[start : start + n].to(self.dtype)

    def forward(self, tokens, cache=None, last_only=False, mask=None):
        tokens = self._check_tokens(tokens, "tokens")
        n_past = 0 if cache is None else self._check_cache(cache, tokens.shape[0])
        B, n = tokens.shape
        if n_past + n > self.max_len:
            raise ValueError(f"{n_past} cached + {n} new tokens = {n_past + n} positions, but the model "
                             f"has max_len={self.max_len} positions")
        X = self.embedding(tokens) * math.sqrt(self.d_model)  # (B, n, d_model)
        X = X + self.position_vectors(n_past, n)  # positions n_past .. n_past + n − 1
        keys, values, weights = [], [], []
        for layer, block in enumerate(self.blocks):
            past = None if cache is None else (cache.keys[layer], cache.values[layer])
            X, w, (K, V) = block(X, past, mask)  # (B, n, d_model), (B, h, n, n_k), (B, g, n_k, d_head)
            keys.append(K)
            values.append(V)
            weights.append(w)
        if last_only:
            X = X[:, -1:]  # (B, 1, d_model): only the next token's logits are needed
        return self.output(X), KVCache(keys, values, self), weights

    # -- generation ------------------------------------------------------------------------
    @torch.no_grad()
    def generate(self, prompt, n_new, use_cache=True, temperature=0.0, generator=None):
        """Write n_new tokens after prompt (B, n_prompt), one at a time. Taught in chapter 13.

        use_cache: keep every layer's keys and values and read only the newest token at each
        step; False reruns the model on the whole sequence at every step (same result, more work).
        temperature: 0 takes the most likely token (greedy); T > 0 samples from
        softmax(logits / T), with `generator` (a torch.Generator) for reproducible draws.
        Returns tokens (B, n_prompt + n_new) and the logits each new token was chosen from
        (B, n_new, vocab).
        """
        prompt = self._check_tokens(prompt, "prompt")
        if isinstance(n_new, bool) or not isinstance(n_new, int) or n_new < 0:
            raise ValueError(f"n_new must be a whole number >= 0, got {n_new!r}")
        if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature >= 0):
            raise ValueError(f"temperature must be a finite number >= 0 (0 = greedy), got {temperature!r}")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise ValueError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
        B, n_prompt = prompt.shape
        if n_prompt + n_new > self.max_len:
            raise ValueError(f"prompt of {n_prompt} tokens + {n_new} new tokens = {n_prompt + n_new} "
                             f"positions, but the model has max_len={self.max_len} positions")
        tokens, cache, chosen_from = prompt, None, []
        for _ in range(n_new):
            if use_cache:
                fresh = tokens if cache is None else tokens[:, -1:]  # the prompt once, then one token
                logits, cache, _ = self(fresh, cache, last_only=True)
            else:
                logits, _, _ = self(tokens, last_only=True)  # every token, every step
            logits = logits[:, -1]  # (B, vocab)
            next_token = pick(logits, temperature, generator)  # (B, 1)
            tokens = torch.cat([tokens, next_token], dim=1)
            chosen_from.append(logits)
        if not chosen_from:
            return tokens, torch.empty(B, 0, self.vocab_size, dtype=self.dtype)
        return tokens, torch.stack(chosen_from, dim=1)

    # -- cost ------------------------------------------------------------------------------
    def step_multiply_adds(self, n, use_cache):
        """Multiply–adds of the step that has n tokens and writes token n + 1. Chapter 13.

        Per layer and per token read: projections d·d (queries) + 2·d·g·d_head (keys, values)
        + d·d (output), FFN 2·d·d_ff; attention 2·n_k·d per query (scores, then mix).
        With the cache the step reads 1 token whose query meets n keys; without, it reads all n
        tokens and computes the full n × n scores (masked, not skipped). Plus the output
        layer, d · vocab, for the last token only. Counts what FlopCounterMode counts / 2.
        """
        d, block = self.d_model, self.blocks[0]
        kv = block.attention.n_kv_heads * block.attention.d_head
        per_token = 2 * d * d + 2 * d * kv + 2 * d * block.ffn.dense1.out_features  # (projections, FFN)
        read = 1 if use_cache else n
        attention = 2 * read * n * d
        return self.n_layers * (read * per_token + attention) + d * self.vocab_size

    def cache_numbers(self, n, batch_size=1):
        """Numbers a cache of n tokens holds: 2 · layers · B · n · n_kv_heads · d_head."""
        att = self.blocks[0].attention
        return 2 * self.n_layers * batch_size * n * att.n_kv_heads * att.d_head

    # -- checks ------------------------------------------------------------------------------
    def _check_tokens(self, tokens, name):
        if not isinstance(tokens, torch.Tensor):
            raise ValueError(f"{name} must be a torch tensor of token ids (B, n), "
                             f"got {type(tokens).__name__}")
        if tokens.dtype.is_floating_point or tokens.dtype.is_complex or tokens.dtype == torch.bool:
            raise ValueError(f"{name} must hold integer token ids, got dtype {tokens.dtype} "
                             f"with shape {tuple(tokens.shape)}")
        if tokens.dim() != 2 or tokens.shape[1] == 0 or tokens.shape[0] == 0:
            raise ValueError(f"{name} must have shape (B, n) with B >= 1 and n >= 1, "
                             f"got {tuple(tokens.shape)}")
        lo, hi = int(tokens.min()), int(tokens.max())
        if lo < 0 or hi >= self.vocab_size:
            raise ValueError(f"{name} holds ids from {lo} to {hi}; the vocabulary has ids "
                             f"0 .. {self.vocab_size - 1}")
        return tokens.long()

    def _check_cache(self, cache, batch_size):
        """Raise ValueError unless cache came from this model and fits; return its length."""
        if not isinstance(cache, KVCache):
            raise ValueError(f"cache must be a KVCache returned by this model, got {type(cache).__name__}")
        if not cache.made_by(self):
            raise ValueError("this cache was made by another model: its keys and values come from other "
                             "weights; start again without a cache")
        if cache.batch_size != batch_size:
            raise ValueError(f"the cache holds {cache.batch_size} sequences but the tokens are a batch of "
                             f"{batch_size}: batch sizes must match")
        att = self.blocks[0].attention
        want = (batch_size, att.n_kv_heads, cache.length, att.d_head)
        if len(cache.keys) != self.n_layers or len(cache.values) != self.n_layers:
            raise ValueError(f"the cache has {len(cache.keys)} layers of keys and {len(cache.values)} of "
                             f"values; the model has {self.n_layers} layers")
        for layer, (K, V) in enumerate(zip(cache.keys, cache.values)):
            fits = tuple(K.shape) == tuple(V.shape) == want and K.dtype == V.dtype == self.dtype
            if not fits:
                raise ValueError(f"cache layer {layer}: keys {tuple(K.shape)} {K.dtype}, values "
                                 f"{tuple(V.shape)} {V.dtype}; expected {want} {self.dtype} "
                                 f"(B, n_kv_heads, n, d_head)")
        return cache.length


def pick(logits, temperature=0.0, generator=None):
    """The next token from logits (B, vocab): argmax if temperature is 0, else a sample of
    softmax(logits / temperature). Returns (B, 1) long. Taught in chapter 13.

    Taught in chapter 13 (13_kv_cache).
    """
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)
    probs = F.softmax(logits / temperature, dim=-1)  # (B, vocab)
    return torch.multinomial(probs, 1, generator=generator)
