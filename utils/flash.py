"""FlashAttention: exact attention in tiles, with the n × n matrix never stored.

The forward pass visits the score matrix S = Q Kᵀ / √d_k one tile at a time, in FlashAttention-2's
loop order (Dao, 2023): an outer loop over blocks of B_q query rows, an inner loop over blocks of
B_k keys. For every query row it keeps three running quantities: m and ℓ are the online softmax of
chapter 12 (Milakov & Gimelshein), and o, rescaled in the same way, is what attention adds:

    m  the largest score seen so far,
    ℓ  the sum of exp(score − m) so far,
    o  the sum of exp(score − m) · v so far (the output before dividing by ℓ).

A new tile of scores raises m to m', and what was summed under the old maximum is rescaled by
exp(m − m'). At the end O = o / ℓ, and the only other thing kept is the log-sum-exp per row,
L = m + log ℓ, from which the backward pass recomputes every tile of the weights, P = exp(S − L)
(FlashAttention, Dao et al., 2022: "recomputation").

Every function that computes takes NumPy arrays or PyTorch tensors (and returns the same kind);
shapes are (..., n, d) with one token per row. Causal attention is top-left aligned, as in
``F.scaled_dot_product_attention(is_causal=True)``: query i may attend to key j only if j <= i.

Reading order: the tiles (which blocks exist, which a causal mask skips) → forward → backward →
the IO model (slow-memory reads and writes, standard vs tiled). Input checks at the end.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "tiles",
    "causal_blocks_skipped",
    "flash_forward",
    "flash_backward",
    "io_standard",
    "io_tiled",
    "max_block_rows",
]


# ----------------------------------------------------------------------------- the tiles


def tiles(n_q, n_k, block_q, block_k, causal=False):
    """The tiles of the (n_q, n_k) score matrix that must be computed, in FlashAttention-2's order.

    Yields (i, j, rows, cols): query block i (rows = range of query indices), key block j (cols =
    range of key indices); the outer loop is over i, the inner over j. The last block of each kind
    is shorter when the block size does not divide n. With causal=True, a tile whose first key
    comes after its last query (j · B_k > last row) is masked entirely and is not yielded.

    Taught in chapter 17 (17_flash_attention).
    """
    _check_sizes(n_q, n_k, block_q, block_k)
    for i, r0 in enumerate(range(0, n_q, block_q)):
        rows = range(r0, min(r0 + block_q, n_q))
        for j, c0 in enumerate(range(0, n_k, block_k)):
            if causal and c0 > rows[-1]:
                break  # this tile and every later one in the row of tiles lie above the diagonal
            yield i, j, rows, range(c0, min(c0 + block_k, n_k))


def causal_blocks_skipped(n, block_q, block_k):
    """How many tiles of an (n, n) causal score matrix lie wholly above the diagonal.

    Query block i ends at row r_i = min((i + 1) B_q, n) − 1 and needs key blocks 0 … ⌊r_i / B_k⌋,
    so it skips T_k − ⌊r_i / B_k⌋ − 1 of the T_k = ⌈n / B_k⌉ key blocks. For B_q = B_k = B dividing
    n, with T = n / B blocks, that is T(T − 1)/2 of the T² tiles.

    Taught in chapter 17 (17_flash_attention).
    """
    _check_sizes(n, n, block_q, block_k)
    T_k = -(-n // block_k)  # ⌈n / B_k⌉
    last_rows = np.minimum(np.arange(block_q, n + block_q, block_q), n) - 1  # (T_q,): r_i
    return int(np.sum(T_k - last_rows // block_k - 1))


# ----------------------------------------------------------------------------- forward


def flash_forward(Q, K, V, block_q=64, block_k=64, causal=False):
    """softmax(Q Kᵀ / √d_k) V, tile by tile, without forming the (n_q, n_k) matrix.

    Q: (..., n_q, d_k)  K: (..., n_k, d_k)  V: (..., n_k, d_v), NumPy or torch, one dtype.
    block_q, block_k: rows of Q and of K per tile (any positive integers; the last block is shorter
    when they do not divide n). causal: query i sees keys j <= i.
    Returns O (..., n_q, d_v) and the log-sum-exp of each row's scores L (..., n_q), which is
    all the backward pass needs.

    Taught in chapter 17 (17_flash_attention).
    """
    n_q, n_k = _check_qkv(Q, K, V)
    xp = _namespace(Q)
    scale = 1.0 / math.sqrt(Q.shape[-1])
    O = xp.zeros_like(Q[..., :1] * V[..., :1, :])  # (..., n_q, d_v): broadcast over the batch dims
    L = xp.zeros_like(O[..., 0])  # (..., n_q)
    row_blocks = {}
    for i, j, rows, cols in tiles(n_q, n_k, block_q, block_k, causal):
        r, c = slice(rows.start, rows.stop), slice(cols.start, cols.stop)
        if j == 0:  # a new query block: fresh running statistics, held only for its rows
            m = xp.full_like(O[..., r, :1], -np.inf)  # (..., B_q, 1) running maximum
            ell = xp.zeros_like(O[..., r, :1])  # (..., B_q, 1) running sum of exponentials
            acc = xp.zeros_like(O[..., r, :])  # (..., B_q, d_v) running unnormalised output
            row_blocks[i] = (r, m, ell, acc)
        r, m, ell, acc = row_blocks[i]
        S = (Q[..., r, :] @ _swap(K[..., c, :])) * scale  # (..., B_q, B_k): one tile of scores
        if causal and cols.stop - 1 > rows.start:  # the tile crosses the diagonal: mask it
            S = _mask_above_diagonal(S, rows, cols)
        m_new = xp.maximum(m, S.max(-1, keepdims=True) if xp is np else S.amax(-1, keepdim=True))
        P = xp.exp(S - m_new)  # (..., B_q, B_k), every entry <= 1
        rescale = xp.exp(m - m_new)  # (..., B_q, 1), exp(-inf) = 0 on the first tile
        ell = rescale * ell + P.sum(-1, keepdims=True)
        acc = rescale * acc + P @ V[..., c, :]  # (..., B_q, d_v)
        row_blocks[i] = (r, m_new, ell, acc)
        if cols.stop == n_k or (causal and cols.stop > rows[-1]):  # the last tile of this query block
            O[..., r, :] = acc / ell
            L[..., r] = (m_new + xp.log(ell))[..., 0]
            del row_blocks[i]
    return O, L


# ----------------------------------------------------------------------------- backward


def flash_backward(Q, K, V, O, L, dO, block_q=64, block_k=64, causal=False):
    """Gradients of attention from O and L only, recomputing each tile of P = exp(S − L).

    With D_i = Σ_c dO_ic O_ic per query row (= Σ_j P_ij dP_ij), each tile gives
        dV_j += P_ijᵀ dO_i,   dP_ij = dO_i V_jᵀ,   dS_ij = P_ij ∘ (dP_ij − D_i),
        dQ_i += dS_ij K_j / √d_k,   dK_j += dS_ijᵀ Q_i / √d_k.
    Q, K, V as for flash_forward; O (..., n_q, d_v) and L (..., n_q) are its outputs; dO is the
    gradient of the loss with respect to O. Returns dQ, dK, dV (shapes of Q, K, V).

    Taught in chapter 17 (17_flash_attention).
    """
    n_q, n_k = _check_qkv(Q, K, V)
    xp = _namespace(Q)
    scale = 1.0 / math.sqrt(Q.shape[-1])
    if tuple(O.shape) != tuple(dO.shape) or tuple(L.shape) != tuple(O.shape[:-1]):
        raise ValueError(f"O and dO must have the same shape (..., n_q, d_v) and L (..., n_q); got O "
                         f"{tuple(O.shape)}, dO {tuple(dO.shape)}, L {tuple(L.shape)}")
    D = (dO * O).sum(-1, keepdims=True)  # (..., n_q, 1)
    dQ = xp.zeros_like(Q * 1)
    dK = xp.zeros_like(Q[..., :1, :1] * K)  # (..., n_k, d_k), with Q's batch dims
    dV = xp.zeros_like(Q[..., :1, :1] * V)  # (..., n_k, d_v)
    for _, _, rows, cols in tiles(n_q, n_k, block_q, block_k, causal):
        r, c = slice(rows.start, rows.stop), slice(cols.start, cols.stop)
        S = (Q[..., r, :] @ _swap(K[..., c, :])) * scale  # (..., B_q, B_k), recomputed
        if causal and cols.stop - 1 > rows.start:
            S = _mask_above_diagonal(S, rows, cols)
        P = xp.exp(S - L[..., r, None])  # (..., B_q, B_k): the weights, recomputed from L
        dV[..., c, :] += _swap(P) @ dO[..., r, :]  # (..., B_k, d_v)
        dP = dO[..., r, :] @ _swap(V[..., c, :])  # (..., B_q, B_k)
        dS = P * (dP - D[..., r, :])  # (..., B_q, B_k)
        dQ[..., r, :] += (dS @ K[..., c, :]) * scale  # (..., B_q, d_k)
        dK[..., c, :] += (_swap(dS) @ Q[..., r, :]) * scale  # (..., B_k, d_k)
    return dQ, _sum_to(dK, K.shape), _sum_to(dV, V.shape)


# ----------------------------------------------------------------------------- the IO model


def io_standard(n, d):
    """Slow-memory (HBM) reads and writes of standard attention, in numbers (FlashAttention's Algorithm 0).

    Read Q, K (2nd), write S (n²); read S, write P (2n²); read P, V (n² + nd), write O (nd):
    4nd + 4n² in all, Θ(nd + n²).

    Taught in chapter 17 (17_flash_attention).
    """
    _check_sizes(n, n, 1, 1)
    return 4 * n * d + 4 * n * n


def io_tiled(n, d, block_q, block_k=None, causal=False):
    """Slow-memory reads and writes of the tiled forward pass (FlashAttention-2's loop order), in numbers.

    Q is read once and O written once (2nd), L written once (n), and for every query block the
    key and value blocks it needs are read (2 B_k d per tile; a causal mask skips tiles above the
    diagonal). Without a mask that is 2nd + n + 2nd ⌈n / B_q⌉: with B_q = Θ(M/d) for a fast memory
    of M numbers, Θ(n² d² / M).

    Taught in chapter 17 (17_flash_attention).
    """
    block_k = block_q if block_k is None else block_k
    if causal:  # count the key and value rows of the tiles that are not skipped
        kv = sum(2 * len(cols) * d for _, _, _, cols in tiles(n, n, block_q, block_k, causal=True))
    else:  # every query block reads all n keys and values
        _check_sizes(n, n, block_q, block_k)
        kv = 2 * n * d * -(-n // block_q)
    return 2 * n * d + n + kv


def max_block_rows(sram_numbers, d, block_k):
    """The largest B_q whose working set fits in a fast memory of `sram_numbers` numbers.

    Working set of one tile: Q_i and the output accumulator (2 B_q d), K_j and V_j (2 B_k d), the
    tile of scores (B_q B_k) and m, ℓ (2 B_q): B_q (2d + B_k + 2) + 2 B_k d <= M.

    Taught in chapter 17 (17_flash_attention).
    """
    free = sram_numbers - 2 * block_k * d
    if free < 2 * d + block_k + 2:
        raise ValueError(f"a fast memory of {sram_numbers} numbers cannot hold key and value blocks of "
                         f"{block_k} rows of width {d} and one query row")
    return free // (2 * d + block_k + 2)


# ----------------------------------------------------------------------------- helpers and input checks


def _is_torch(x):
    return type(x).__module__.startswith("torch")


def _namespace(x):
    if _is_torch(x):
        import torch

        return torch
    return np


def _swap(x):
    return x.transpose(-1, -2) if _is_torch(x) else np.swapaxes(x, -1, -2)


def _mask_above_diagonal(S, rows, cols):
    above = np.arange(cols.start, cols.stop)[None, :] > np.arange(rows.start, rows.stop)[:, None]
    if _is_torch(S):
        import torch

        return S.masked_fill(torch.from_numpy(above).to(S.device), float("-inf"))
    return np.where(above, -np.inf, S)


def _sum_to(grad, shape):
    # sum a gradient over the batch dimensions that its input was broadcast along
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(tuple(range(extra)))
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis, keepdims=True)
    return grad


def _is_whole(x):
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def _check_sizes(n_q, n_k, block_q, block_k):
    for name, value in (("n_q", n_q), ("n_k", n_k)):
        if not _is_whole(value) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    for name, value in (("block_q", block_q), ("block_k", block_k)):
        if not _is_whole(value) or value < 1:
            raise ValueError(f"{name} (rows per tile) must be a positive integer, got {value!r}")


def _check_qkv(Q, K, V):
    for name, x in (("Q", Q), ("K", K), ("V", V)):
        if x.ndim < 2:
            raise ValueError(f"{name} must have shape (..., n, d), got shape {tuple(x.shape)}")
    if Q.shape[-1] != K.shape[-1]:
        raise ValueError(f"Q and K must have the same width d_k: Q {tuple(Q.shape)}, K {tuple(K.shape)}")
    if K.shape[-2] != V.shape[-2]:
        raise ValueError(f"K and V must have one row per key: K {tuple(K.shape)}, V {tuple(V.shape)}")
    if _is_torch(Q) != _is_torch(K) or _is_torch(Q) != _is_torch(V):
        raise ValueError("Q, K and V must all be NumPy arrays or all torch tensors")
    return Q.shape[-2], K.shape[-2]
