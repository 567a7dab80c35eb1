"""utils.flash: the tiled forward pass equals naive attention and PyTorch's SDPA, the backward pass
by recomputation equals autograd, the tile counts and the IO model are right, and bad input gets a
clear error."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from utils import attention as A
from utils import flash


def _qkv(shape_q, n_k, d_v, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    *batch, n_q, d_k = shape_q
    Q = rng.normal(size=(*batch, n_q, d_k))
    K = rng.normal(size=(*batch, n_k, d_k))
    V = rng.normal(size=(*batch, n_k, d_v))
    return Q.astype(dtype), K.astype(dtype), V.astype(dtype)


# shapes and tiles the chapter does not use: blocks that do not divide n, blocks larger than n,
# one-row blocks, n_q != n_k, batch and head dimensions
CASES = [((2, 3, 29, 8), 29, 5, 7, 4), ((1, 50, 16), 50, 16, 64, 3), ((3, 17, 4), 31, 6, 1, 1),
         ((2, 33, 12), 33, 12, 16, 16), ((40, 6), 23, 3, 9, 23)]


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("shape_q, n_k, d_v, block_q, block_k", CASES)
def test_tiled_forward_equals_naive_attention_in_float64(shape_q, n_k, d_v, block_q, block_k, causal):
    Q, K, V = _qkv(shape_q, n_k, d_v, seed=n_k + block_q)
    O, L = flash.flash_forward(Q, K, V, block_q, block_k, causal)
    mask = np.tril(np.ones((shape_q[-2], n_k), bool)) if causal else None
    ref, _ = A.attention(Q, K, V, mask=mask)
    scores = np.where(mask, Q @ np.swapaxes(K, -1, -2) / math.sqrt(Q.shape[-1]), -np.inf) if causal \
        else Q @ np.swapaxes(K, -1, -2) / math.sqrt(Q.shape[-1])
    lse = np.log(np.exp(scores - scores.max(-1, keepdims=True)).sum(-1)) + scores.max(-1)
    assert np.abs(O - ref).max() < 1e-12 and np.abs(L - lse).max() < 1e-12


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("shape_q, n_k, d_v, block_q, block_k", CASES)
def test_tiled_forward_in_torch_float32_equals_scaled_dot_product_attention(shape_q, n_k, d_v, block_q,
                                                                             block_k, causal):
    Q, K, V = (torch.from_numpy(x) for x in _qkv(shape_q, n_k, d_v, seed=7 * n_k, dtype=np.float32))
    O, L = flash.flash_forward(Q, K, V, block_q, block_k, causal)
    assert O.dtype == torch.float32 and L.shape == Q.shape[:-1]
    assert torch.allclose(O, F.scaled_dot_product_attention(Q, K, V, is_causal=causal), atol=1e-5)


def test_huge_scores_stay_finite():
    Q, K, V = _qkv((20, 8), 45, 4, seed=3)
    Q = Q * 300.0                                             # scores in the thousands: exp would overflow
    O, L = flash.flash_forward(Q, K, V, 6, 7)
    ref, _ = A.attention(Q, K, V)
    assert np.all(np.isfinite(O)) and np.allclose(O, ref, atol=1e-12)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("shape_q, n_k, d_v, block_q, block_k", CASES)
def test_backward_by_recomputation_equals_autograd(shape_q, n_k, d_v, block_q, block_k, causal):
    Q, K, V = _qkv(shape_q, n_k, d_v, seed=11 + block_k)
    O, L = flash.flash_forward(Q, K, V, block_q, block_k, causal)
    dO = np.random.default_rng(5).normal(size=O.shape)
    Qt, Kt, Vt = (torch.tensor(x, requires_grad=True) for x in (Q, K, V))
    scores = Qt @ Kt.transpose(-1, -2) / math.sqrt(Q.shape[-1])
    if causal:
        scores = scores.masked_fill(~torch.ones(Q.shape[-2], n_k, dtype=torch.bool).tril(), float("-inf"))
    (scores.softmax(-1) @ Vt).backward(torch.from_numpy(dO))  # naive attention, autograd
    grads = flash.flash_backward(Q, K, V, O, L, dO, block_q, block_k, causal)
    for ours, theirs in zip(grads, (Qt.grad, Kt.grad, Vt.grad)):
        assert ours.shape == tuple(theirs.shape) and np.abs(ours - theirs.numpy()).max() < 1e-12


def test_backward_in_torch_equals_autograd_through_sdpa():
    Q, K, V = (torch.from_numpy(x) for x in _qkv((2, 19, 8), 19, 8, seed=2))
    O, L = flash.flash_forward(Q, K, V, 5, 6, causal=True)
    dO = torch.randn(O.shape, dtype=O.dtype, generator=torch.Generator().manual_seed(0))
    Qt, Kt, Vt = (x.clone().requires_grad_() for x in (Q, K, V))
    F.scaled_dot_product_attention(Qt, Kt, Vt, is_causal=True).backward(dO)
    dQ, dK, dV = flash.flash_backward(Q, K, V, O, L, dO, 5, 6, causal=True)
    assert all(torch.allclose(a, b.grad, atol=1e-12) for a, b in ((dQ, Qt), (dK, Kt), (dV, Vt)))


@pytest.mark.parametrize("n, block_q, block_k", [(16, 4, 4), (37, 8, 5), (37, 5, 8), (100, 7, 13), (5, 9, 2),
                                                 (64, 1, 1)])
def test_causal_skips_exactly_the_tiles_above_the_diagonal(n, block_q, block_k):
    computed = list(flash.tiles(n, n, block_q, block_k, causal=True))
    total = math.ceil(n / block_q) * math.ceil(n / block_k)
    assert total - len(computed) == flash.causal_blocks_skipped(n, block_q, block_k)
    above = np.triu(np.ones((n, n), bool), 1)
    covered = np.zeros((n, n), bool)
    for _, _, rows, cols in computed:
        covered[rows.start:rows.stop, cols.start:cols.stop] = True
    assert not np.any(~covered & ~above)                      # every allowed score is in some tile
    for _, _, rows, cols in computed:                         # and no computed tile is wholly above
        assert not above[rows.start:rows.stop, cols.start:cols.stop].all()
    if n % block_q == 0 and block_q == block_k:
        T = n // block_q
        assert flash.causal_blocks_skipped(n, block_q, block_k) == T * (T - 1) // 2


def test_tiles_come_in_flashattention_2_order():
    order = [(i, j) for i, j, _, _ in flash.tiles(6, 6, 2, 3)]
    assert order == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]   # outer loop over query blocks


def test_io_model_counts():
    n, d = 1024, 64
    assert flash.io_standard(n, d) == 4 * n * d + 4 * n * n
    # without a mask every query block reads all keys and values
    assert flash.io_tiled(n, d, 128) == 2 * n * d + n + 2 * n * d * 8
    assert flash.io_tiled(n, d, 100) == 2 * n * d + n + 2 * n * d * 11
    # a causal mask reads the keys and values of the tiles on and below the diagonal only
    T = n // 128
    assert flash.io_tiled(n, d, 128, causal=True) == 2 * n * d + n + 2 * 128 * d * T * (T + 1) // 2
    # the block that fits: B_q (2d + B_k + 2) + 2 B_k d <= M
    b = flash.max_block_rows(98304, 64, 64)
    assert b * (2 * 64 + 64 + 2) + 2 * 64 * 64 <= 98304 < (b + 1) * (2 * 64 + 64 + 2) + 2 * 64 * 64


@pytest.mark.parametrize("call, words", [
    (lambda: flash.flash_forward(np.ones((4, 3)), np.ones((4, 3)), np.ones((4, 2)), block_q=0), "block_q"),
    (lambda: flash.flash_forward(np.ones((4, 3)), np.ones((4, 3)), np.ones((4, 2)), block_k=2.5), "block_k"),
    (lambda: flash.flash_forward(np.ones((4, 3)), np.ones((4, 5)), np.ones((4, 2))), "same width d_k"),
    (lambda: flash.flash_forward(np.ones((4, 3)), np.ones((4, 3)), np.ones((5, 2))), "one row per key"),
    (lambda: flash.flash_forward(np.ones(3), np.ones((4, 3)), np.ones((4, 2))), "Q must have shape"),
    (lambda: flash.flash_forward(np.ones((4, 3)), torch.ones(4, 3), np.ones((4, 2))), "must all be NumPy"),
    (lambda: flash.flash_backward(np.ones((4, 3)), np.ones((4, 3)), np.ones((4, 2)), np.ones((4, 2)),
                                  np.ones(4), np.ones((4, 3))), "same shape"),
    (lambda: list(flash.tiles(0, 4, 2, 2)), "n_q"),
    (lambda: flash.causal_blocks_skipped(8, 2, -1), "block_k"),
    (lambda: flash.max_block_rows(100, 64, 64), "cannot hold"),
])
def test_bad_input_gets_a_clear_error(call, words):
    with pytest.raises(ValueError, match=words):
        call()
