"""Smaller keys and values, or none: multi-head latent attention and linear attention.

Taught in chapter 19 (``chapters/19_latent_linear.ipynb``).

**Multi-head latent attention** (MLA, DeepSeek-V2, DeepSeek-AI 2024) projects each token's
hidden state h_t down to one latent vector c_t = W_DKV h_t of d_latent numbers, shared by all
heads, and builds every head's key and value from it: k_t = W_UK c_t, v_t = W_UV c_t. The cache
holds c_t, not the keys and values. Because q · (W_UK c) = (W_UKᵀ q) · c, the up-projection of
the keys can be moved onto the query ("absorbed"), and W_UV onto the output projection, so a
decoding step never rebuilds the keys and values. RoPE would put a position-dependent rotation
between W_UK and the query; MLA therefore adds a small *decoupled* RoPE key k^R_t of d_rope
numbers, shared by the heads and cached beside c_t, and a RoPE part of d_rope numbers per head
to each query. ``MultiHeadLatentAttention`` computes both forms, ``absorbed=False`` (rebuild K
and V) and ``absorbed=True`` (attend in the latent space), checked equal in ``tests/test_latent.py``.

**Linear attention** (Katharopoulos et al., 2020) replaces exp(q · k) by φ(q) · φ(k) for a
feature map φ; then row i of causal attention is φ(q_i)ᵀ S_i / φ(q_i)ᵀ z_i with
S_i = Σ_{j≤i} φ(k_j) v_jᵀ and z_i = Σ_{j≤i} φ(k_j), a state of fixed size that a recurrent
step updates. Three ways to compute the same thing, checked equal in the tests:
``linear_attention`` (the weights, an n × n matrix, like softmax attention),
``linear_attention_prefix_sums`` (all S_i at once, no n × n matrix) and
``linear_attention_recurrent`` (one token at a time, one state).

Reading order: the latent cache → MLA (both forms) → bytes per token → feature maps → linear
attention, its three forms → a linear multi-head layer for chapter 14's model.
Conventions as in ``utils.decoder``: batch first, masks boolean with True = may attend.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from utils.decoder import causal_mask_after
from utils.layers import MultiHeadAttention
from utils.rope import rotate_halves

__all__ = [
    "LatentCache",
    "MultiHeadLatentAttention",
    "bytes_per_token",
    "FEATURE_MAPS",
    "feature_map",
    "linear_attention",
    "linear_attention_prefix_sums",
    "linear_attention_recurrent",
    "LinearMultiHeadAttention",
]


# ----------------------------------------------------------------------------- the latent cache


class LatentCache:
    """What an MLA layer keeps per token: the latent c_t and the decoupled RoPE key k^R_t.

    latents: (B, n, d_latent); rope_keys: (B, n, d_rope) (d_rope may be 0).

    Taught in chapter 19 (19_latent_linear).
    """

    def __init__(self, latents, rope_keys):
        self.latents, self.rope_keys = latents, rope_keys

    @property
    def length(self) -> int:
        """n: the number of tokens held."""
        return self.latents.shape[1]

    @property
    def nbytes(self) -> int:
        """Bytes held: B · n · (d_latent + d_rope) · bytes per number."""
        return sum(t.numel() * t.element_size() for t in (self.latents, self.rope_keys))

    def __repr__(self):
        B, n, d_c = self.latents.shape
        return (f"LatentCache(B={B}, n={n}, d_latent={d_c}, d_rope={self.rope_keys.shape[-1]}, "
                f"{self.latents.dtype}, {self.nbytes:,} bytes)")


def bytes_per_token(cache) -> float:
    """A cache's bytes divided by the tokens it holds (a KVCache, or a LatentCache).

    Taught in chapter 19 (19_latent_linear).
    """
    if not hasattr(cache, "nbytes") or not hasattr(cache, "length"):
        raise ValueError(f"cache must be a utils.decoder.KVCache or a LatentCache, "
                         f"got {type(cache).__name__}")
    if cache.length == 0:
        raise ValueError("the cache holds no tokens: bytes per token is undefined")
    return cache.nbytes / cache.length


# ----------------------------------------------------------------------------- multi-head latent attention


class MultiHeadLatentAttention(nn.Module):
    """Causal multi-head latent attention (DeepSeek-V2) with a latent cache. Chapter 19.

    c_t = W_DKV h_t (d_latent);  k_t,i = W_UK,i c_t, v_t,i = W_UV,i c_t (head i, d_head each);
    q_t,i = W_Q,i h_t.  With d_rope > 0, also q^R_t,i = RoPE(W_QR,i h_t) per head and one shared
    k^R_t = RoPE(W_KR h_t); head i's key is [k_t,i ; k^R_t] and its query [q_t,i ; q^R_t,i].
    score = qᵀk / √(d_head + d_rope); output = Σ_i W_O,i (softmax · V)_i.  No biases.
    RoPE is utils.rope.rotate_halves, at the token's position in the sequence.

    forward(X (B, n, d_model), cache=None, absorbed=False) → (output (B, n, d_model),
    weights (B, n_heads, n, n_past + n), LatentCache holding the old tokens and these).
    absorbed=False rebuilds every key and value from the latents; absorbed=True attends in the
    latent space: scores (W_UK,iᵀ q_i) · c_j, output Σ_i (W_O,i W_UV,i) (weights · c).

    Taught in chapter 19 (19_latent_linear).
    """

    def __init__(self, d_model, n_heads, d_head, d_latent, d_rope=0):
        super().__init__()
        for name, value in (("d_model", d_model), ("n_heads", n_heads), ("d_head", d_head),
                            ("d_latent", d_latent)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
        if isinstance(d_rope, bool) or not isinstance(d_rope, numbers.Integral) or d_rope < 0 or d_rope % 2:
            raise ValueError(f"d_rope must be an even whole number >= 0 (RoPE rotates pairs), got {d_rope!r}")
        sizes = (int(v) for v in (d_model, n_heads, d_head, d_latent, d_rope))  # numpy integers too
        d_model, n_heads, d_head, d_latent, d_rope = sizes
        self.d_model, self.n_heads, self.d_head = d_model, n_heads, d_head
        self.d_latent, self.d_rope = d_latent, d_rope
        self.w_dkv = nn.Linear(d_model, d_latent, bias=False)  # down-projection: the latent
        self.w_uk = nn.Linear(d_latent, n_heads * d_head, bias=False)  # up-projection: keys
        self.w_uv = nn.Linear(d_latent, n_heads * d_head, bias=False)  # up-projection: values
        self.w_q = nn.Linear(d_model, n_heads * d_head, bias=False)
        if d_rope:
            self.w_qr = nn.Linear(d_model, n_heads * d_rope, bias=False)  # RoPE part of each query
            self.w_kr = nn.Linear(d_model, d_rope, bias=False)  # one RoPE key, shared by the heads
        else:  # no decoupled RoPE: the cache holds the latents only
            self.w_qr = self.w_kr = None
        self.w_o = nn.Linear(n_heads * d_head, d_model, bias=False)

    def split(self, X, d):
        """(B, n, n_heads · d) → (B, n_heads, n, d)."""
        B, n, _ = X.shape
        return X.view(B, n, self.n_heads, d).transpose(1, 2)

    def absorbed_query(self):
        """W_UK,i as (n_heads, d_head, d_latent): q_i · (W_UK,i c) = (W_UK,iᵀ q_i) · c."""
        return self.w_uk.weight.view(self.n_heads, self.d_head, self.d_latent)

    def absorbed_output(self):
        """W_O,i W_UV,i for every head, (n_heads, d_model, d_latent): the output read from c."""
        W_uv = self.w_uv.weight.view(self.n_heads, self.d_head, self.d_latent)  # (h, d_head, d_c)
        W_o = self.w_o.weight.view(self.d_model, self.n_heads, self.d_head)  # (d_model, h, d_head)
        W_o = W_o.transpose(0, 1)  # (h, d_model, d_head): W_O,i
        return W_o @ W_uv  # (h, d_model, d_latent)

    def forward(self, X, cache=None, absorbed=False):
        n_past = self._check(X, cache)
        B, n, _ = X.shape
        positions = np.arange(n_past, n_past + n)  # the new tokens' positions
        c = self.w_dkv(X)  # (B, n, d_latent): what the cache keeps
        if self.d_rope:
            k_rope = rotate_halves(self.w_kr(X), positions)  # (B, n, d_rope): rotated once, cached
        else:
            k_rope = X.new_zeros(B, n, 0)  # (B, n, 0)
        if cache is not None:
            c = torch.cat([cache.latents, c], dim=1)  # (B, n_past + n, d_latent)
            k_rope = torch.cat([cache.rope_keys, k_rope], dim=1)  # (B, n_past + n, d_rope)
        q = self.split(self.w_q(X), self.d_head)  # (B, h, n, d_head)
        scores_rope = 0.0
        if self.d_rope:
            q_rope = rotate_halves(self.split(self.w_qr(X), self.d_rope), positions)  # (B, h, n, d_rope)
            scores_rope = q_rope @ k_rope[:, None].transpose(-1, -2)  # (B, h, n, n_k): the shared key
        if absorbed:
            q_latent = q @ self.absorbed_query()  # (B, h, n, d_latent): W_UKᵀ q
            scores = q_latent @ c[:, None].transpose(-1, -2) + scores_rope  # (B, h, n, n_k)
        else:
            K = self.split(self.w_uk(c), self.d_head)  # (B, h, n_k, d_head): rebuilt keys
            scores = q @ K.transpose(-1, -2) + scores_rope  # (B, h, n, n_k)
        scores = scores / math.sqrt(self.d_head + self.d_rope)
        if n > 1:
            mask = causal_mask_after(n, n_past, X.device)  # (n, n_k), True = may attend
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)  # (B, h, n, n_k)
        if absorbed:
            mixed = weights @ c[:, None]  # (B, h, n, d_latent): a mix of latents per head
            output = torch.einsum("bhnc,hmc->bnm", mixed, self.absorbed_output())  # (B, n, d_model)
        else:
            V = self.split(self.w_uv(c), self.d_head)  # (B, h, n_k, d_head): rebuilt values
            heads = weights @ V  # (B, h, n, d_head)
            output = self.w_o(heads.transpose(1, 2).reshape(B, n, self.n_heads * self.d_head))
        return output, weights, LatentCache(c, k_rope)

    def _check(self, X, cache):
        if not isinstance(X, torch.Tensor) or X.dim() != 3 or X.shape[-1] != self.d_model or X.shape[1] < 1:
            got = tuple(X.shape) if isinstance(X, torch.Tensor) else type(X).__name__
            raise ValueError(f"X must be a tensor (B, n, d_model={self.d_model}) with n >= 1, got {got}")
        if not torch.isfinite(X).all():
            raise ValueError(f"X {tuple(X.shape)} holds non-finite values (inf or nan)")
        if cache is None:
            return 0
        if not isinstance(cache, LatentCache):
            raise ValueError(f"cache must be a LatentCache returned by this layer, "
                             f"got {type(cache).__name__}")
        want = (X.shape[0], cache.length)
        if (tuple(cache.latents.shape) != (*want, self.d_latent)
                or tuple(cache.rope_keys.shape) != (*want, self.d_rope)):
            raise ValueError(f"cache latents {tuple(cache.latents.shape)} and rope keys "
                             f"{tuple(cache.rope_keys.shape)} do not fit: expected (B={X.shape[0]}, n, "
                             f"d_latent={self.d_latent}) and (B, n, d_rope={self.d_rope})")
        return cache.length


# ----------------------------------------------------------------------------- feature maps


FEATURE_MAPS = {
    "elu+1": lambda x: F.elu(x) + 1.0,  # Katharopoulos et al.'s choice: positive, smooth
    "relu": F.relu,  # non-negative; a row of zeros is possible
    "exp": torch.exp,  # positive, elementwise (not softmax's exp(q · k))
    "identity": lambda x: x,  # no feature map: weights may be negative
}


def feature_map(name):
    """The function φ called `name` in FEATURE_MAPS ("elu+1", "relu", "exp", "identity").

    Taught in chapter 19 (19_latent_linear).
    """
    if not isinstance(name, str) or name not in FEATURE_MAPS:
        raise ValueError(f"unknown feature map {name!r}; choose one of {sorted(FEATURE_MAPS)}")
    return FEATURE_MAPS[name]


# ----------------------------------------------------------------------------- linear attention


def linear_attention(Q, K, V, feature="elu+1", mask=None):
    """Attention with similarity φ(q_i) · φ(k_j) in place of exp(q_i · k_j / √d): the weights form.

    weights_ij = φ(q_i)·φ(k_j) / Σ_{j' allowed} φ(q_i)·φ(k_j'), over the allowed keys j;
    output_i = Σ_j weights_ij v_j. A row whose similarities sum to exactly 0 (with "relu": φ(q_i)
    shares no positive feature with any allowed φ(k_j); with "identity": they cancel) gets
    weights 0 and output 0, not NaN. A feature map that overflows (e.g. "exp" of large inputs)
    raises a ValueError.
    Q: (..., n_q, d)  K: (..., n_k, d)  V: (..., n_k, d_v)
    mask: bool broadcastable to (..., n_q, n_k), True = may attend; None = every key.
    Returns output (..., n_q, d_v) and weights (..., n_q, n_k). O(n_q · n_k) memory.

    Taught in chapter 19 (19_latent_linear).
    """
    phi = feature_map(feature)
    _check_qkv(Q, K, V)
    if mask is not None:
        _check_mask(mask, Q, K)
    phi_q, phi_k = _features(phi, feature, Q, K)
    sim = phi_q @ phi_k.transpose(-1, -2)  # (..., n_q, n_k)
    if mask is not None:
        sim = sim * mask  # masked pairs contribute nothing
    total = sim.sum(dim=-1, keepdim=True)  # (..., n_q, 1)
    weights = torch.where(total != 0, sim / torch.where(total != 0, total, 1.0), 0.0)
    return weights @ V, weights  # (..., n_q, d_v), (..., n_q, n_k)


def linear_attention_prefix_sums(Q, K, V, feature="elu+1"):
    """Causal linear attention without an n × n matrix: prefix sums of φ(k_j) v_jᵀ.

    S_i = Σ_{j≤i} φ(k_j) v_jᵀ (d × d_v), z_i = Σ_{j≤i} φ(k_j) (d); output_i = φ(q_i)ᵀS_i / φ(q_i)ᵀz_i
    (0 where the denominator is exactly 0, as in ``linear_attention``). Q, K: (..., n, d)
    V: (..., n, d_v) → output (..., n, d_v).
    O(n · d · d_v) work and memory: it grows with n, not n².

    Taught in chapter 19 (19_latent_linear).
    """
    phi = feature_map(feature)
    _check_qkv(Q, K, V, same_n=True)
    phi_q, phi_k = _features(phi, feature, Q, K)  # (..., n, d)
    S = torch.cumsum(phi_k[..., :, None] * V[..., None, :], dim=-3)  # (..., n, d, d_v): S_1..S_n
    z = torch.cumsum(phi_k, dim=-2)  # (..., n, d): z_1..z_n
    numerator = (phi_q[..., None, :] @ S)[..., 0, :]  # (..., n, d_v)
    denominator = (phi_q * z).sum(dim=-1, keepdim=True)  # (..., n, 1)
    return torch.where(denominator != 0, numerator / torch.where(denominator != 0, denominator, 1.0), 0.0)


def linear_attention_recurrent(Q, K, V, feature="elu+1", state=None):
    """Causal linear attention as a recurrent network: one token at a time, one state (S, z).

    For each token: S ← S + φ(k) vᵀ, z ← z + φ(k); output = φ(q)ᵀS / φ(q)ᵀz (0 where the
    denominator is exactly 0, as in ``linear_attention``).
    Q, K: (..., n, d)  V: (..., n, d_v); state: (S (..., d, d_v), z (..., d)) from an earlier call,
    or None (zeros). Returns output (..., n, d_v) and the state after the last token. The state
    has d · d_v + d numbers however many tokens it has read.

    Taught in chapter 19 (19_latent_linear).
    """
    phi = feature_map(feature)
    _check_qkv(Q, K, V, same_n=True)
    d, d_v = K.shape[-1], V.shape[-1]
    if state is None:
        S = Q.new_zeros(*Q.shape[:-2], d, d_v)  # (..., d, d_v)
        z = Q.new_zeros(*Q.shape[:-2], d)  # (..., d)
    else:
        if not (isinstance(state, (tuple, list)) and len(state) == 2
                and all(isinstance(x, torch.Tensor) for x in state)):
            raise ValueError("state must be the pair (S, z) of tensors returned by an earlier call")
        S, z = state
        if not (torch.isfinite(S).all() and torch.isfinite(z).all()):
            raise ValueError("state (S, z) holds non-finite values (inf or nan)")
        if tuple(S.shape) != (*Q.shape[:-2], d, d_v) or tuple(z.shape) != (*Q.shape[:-2], d):
            raise ValueError(f"state (S {tuple(S.shape)}, z {tuple(z.shape)}) does not fit: expected "
                             f"S {(*Q.shape[:-2], d, d_v)} and z {(*Q.shape[:-2], d)}")
    phi_Q, phi_K = _features(phi, feature, Q, K)  # (..., n, d)
    outputs = []
    for t in range(Q.shape[-2]):
        phi_q, phi_k, v = phi_Q[..., t, :], phi_K[..., t, :], V[..., t, :]  # (..., d), (..., d), (..., d_v)
        S = S + phi_k[..., :, None] * v[..., None, :]  # (..., d, d_v): add this token's outer product
        z = z + phi_k  # (..., d)
        numerator = (phi_q[..., None, :] @ S)[..., 0, :]  # (..., d_v)
        denominator = (phi_q * z).sum(dim=-1, keepdim=True)  # (..., 1)
        outputs.append(torch.where(denominator != 0,
                                   numerator / torch.where(denominator != 0, denominator, 1.0), 0.0))
    return torch.stack(outputs, dim=-2), (S, z)  # (..., n, d_v)


def _check_qkv(Q, K, V, same_n=False):
    for name, x in (("Q", Q), ("K", K), ("V", V)):
        if not isinstance(x, torch.Tensor) or x.dim() < 2:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"{name} must be a tensor (..., n, d), got {got}")
        if not x.is_floating_point():
            raise ValueError(f"{name} must hold floating-point numbers, got {x.dtype}")
        if not torch.isfinite(x).all():
            raise ValueError(f"{name} {tuple(x.shape)} holds non-finite values (inf or nan)")
    shapes = f"Q {tuple(Q.shape)}, K {tuple(K.shape)}, V {tuple(V.shape)}"
    if Q.shape[-1] != K.shape[-1] or K.shape[-2] != V.shape[-2]:
        raise ValueError(f"expected Q (..., n_q, d), K (..., n_k, d), V (..., n_k, d_v), got {shapes}")
    try:
        torch.broadcast_shapes(Q.shape[:-2], K.shape[:-2], V.shape[:-2])
    except RuntimeError:
        raise ValueError(f"the leading (batch, head) dimensions of Q, K and V do not broadcast: "
                         f"{shapes}") from None
    if same_n and Q.shape[-2] != K.shape[-2]:
        raise ValueError(f"causal linear attention needs as many queries as keys (n_q = n_k), got {shapes}")


def _check_mask(mask, Q, K):
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        got = f"dtype {mask.dtype}" if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise ValueError(f"mask must be a boolean tensor (True = may attend), got {got}; an additive "
                         f"0/-inf mask does not work here: the similarities are multiplied by the mask")
    try:
        torch.broadcast_shapes(mask.shape, (*Q.shape[:-1], K.shape[-2]))
    except RuntimeError:
        raise ValueError(f"mask {tuple(mask.shape)} does not broadcast to (..., n_q={Q.shape[-2]}, "
                         f"n_k={K.shape[-2]})") from None


def _features(phi, feature, Q, K):
    """φ(Q), φ(K), refusing a feature map that overflowed (e.g. "exp" of large inputs)."""
    phi_q, phi_k = phi(Q), phi(K)
    for name, x in (("Q", phi_q), ("K", phi_k)):
        if not torch.isfinite(x).all():
            raise ValueError(f"the feature map {feature!r} overflowed on {name} (inf): its inputs are too "
                             f"large for {x.dtype}")
    return phi_q, phi_k


# ----------------------------------------------------------------------------- a layer for chapter 14's model


class LinearMultiHeadAttention(MultiHeadAttention):
    """utils.layers.MultiHeadAttention with linear attention in every head. Chapter 19.

    The same parameters (state dicts are interchangeable), the same forward(query, key, value,
    mask) → (output (B, n_q, d_model), weights (B, n_heads, n_q, n_k)); each head computes
    linear_attention(Q_i, K_i, V_i, feature, mask) instead of softmax attention. Put it in place
    of ``block.attention`` in utils.induction's AttentionOnlyTransformer.

    Taught in chapter 19 (19_latent_linear).
    """

    def __init__(self, d_model, n_heads, feature="elu+1", bias=True):
        super().__init__(d_model, n_heads, bias=bias)
        feature_map(feature)  # raises on an unknown name
        self.feature = feature

    def forward(self, query, key, value, mask=None):
        mask = self._head_mask(query, key, value, mask)
        Q = self.split_heads(self.w_q(query))  # (B, h, n_q, d_head)
        K = self.split_heads(self.w_k(key))  # (B, h, n_k, d_head)
        V = self.split_heads(self.w_v(value))  # (B, h, n_k, d_head)
        heads, weights = linear_attention(Q, K, V, self.feature, mask)  # (B, h, n_q, d_head), (.., n_k)
        B, _, n_q, _ = heads.shape
        return self.w_o(heads.transpose(1, 2).reshape(B, n_q, self.d_model)), weights

