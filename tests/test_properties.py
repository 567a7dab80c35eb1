"""Properties that must hold for every input, checked with hypothesis (NumPy and PyTorch)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from utils import attention as A
from utils import layers as L

SETTINGS = settings(max_examples=30, deadline=None)
FEW = settings(max_examples=8, deadline=None)

small = st.integers(1, 5)
values = st.floats(-5, 5, allow_nan=False, allow_infinity=False, width=64)


def matrix(*shape, elements=values):
    return arrays(np.float64, shape, elements=elements)


@st.composite
def qkv_mask(draw, max_batch=2):
    """Q (b, n_q, d_k), K (b, n_k, d_k), V (b, n_k, d_v), mask (b, n_q, n_k) with a True per row."""
    b = draw(st.integers(1, max_batch))
    n_q, n_k, d_k, d_v = (draw(small) for _ in range(4))
    Q, K, V = draw(matrix(b, n_q, d_k)), draw(matrix(b, n_k, d_k)), draw(matrix(b, n_k, d_v))
    mask = draw(arrays(np.bool_, (b, n_q, n_k)))
    first = draw(arrays(np.int64, (b, n_q), elements=st.integers(0, n_k - 1)))
    np.put_along_axis(mask, first[..., None], True, axis=-1)
    return Q, K, V, mask


def torch_rng(seed):
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------- weights


@SETTINGS
@given(
    scores=st.integers(1, 4).flatmap(lambda n_q: st.integers(1, 6).flatmap(
        lambda n_k: st.tuples(matrix(n_q, n_k, elements=st.floats(-1e4, 1e4)), arrays(np.bool_, (n_q, n_k)))))
)
def test_masked_softmax_rows_are_distributions_or_zero(scores):
    scores, mask = scores
    weights = A.masked_softmax(scores, mask)
    assert np.all(np.isfinite(weights)) and np.all(weights >= 0)
    assert np.all(weights[~mask] == 0)
    sums = weights.sum(-1)
    has_key = mask.any(-1)
    np.testing.assert_allclose(sums[has_key], 1.0, rtol=1e-12)
    np.testing.assert_array_equal(sums[~has_key], 0.0)
    # PyTorch's version agrees, fully masked rows included
    ours_torch = L.masked_softmax(torch.from_numpy(scores), torch.from_numpy(mask)).numpy()
    np.testing.assert_allclose(ours_torch, weights, atol=1e-12)


@SETTINGS
@given(x=matrix(3, 5, elements=st.floats(-1e4, 1e4)), shift=st.floats(-1e3, 1e3))
def test_softmax_is_a_distribution_and_ignores_shifts(x, shift):
    w = A.softmax(x)
    assert np.all(w >= 0)
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(A.softmax(x + shift), w, atol=1e-9)


@SETTINGS
@given(data=qkv_mask())
def test_outputs_are_weighted_averages_of_values(data):
    Q, K, V, mask = data
    out, weights = A.attention(Q, K, V, mask=mask)
    lo = np.where(mask[..., None], V[:, None], np.inf).min(-2)  # smallest allowed value, per column
    hi = np.where(mask[..., None], V[:, None], -np.inf).max(-2)
    assert np.all(out >= lo - 1e-9) and np.all(out <= hi + 1e-9)


# ----------------------------------------------------------------------------- against PyTorch


@SETTINGS
@given(data=qkv_mask(max_batch=3), use_mask=st.booleans())
def test_numpy_attention_equals_torch_sdpa(data, use_mask):
    Q, K, V, mask = data
    mask = mask if use_mask else None
    out, weights = A.attention(Q, K, V, mask=mask)
    t = [torch.from_numpy(x) for x in (Q, K, V)]
    t_mask = None if mask is None else torch.from_numpy(mask)
    expected = F.scaled_dot_product_attention(*t, attn_mask=t_mask)
    np.testing.assert_allclose(out, expected.numpy(), atol=1e-6, rtol=0)
    layer_out, layer_weights = L.ScaledDotProductAttention()(*t, mask=t_mask)
    np.testing.assert_allclose(layer_out.numpy(), out, atol=1e-12)
    np.testing.assert_allclose(layer_weights.numpy(), weights, atol=1e-12)


@FEW
@given(n_heads=st.sampled_from([1, 2, 4]), d_head=st.integers(1, 3), n_q=small, n_k=small,
       seed=st.integers(0, 2**16))
def test_multi_head_attention_equals_torch_for_any_size(n_heads, d_head, n_q, n_k, seed):
    d_model = n_heads * d_head
    torch.manual_seed(seed)
    theirs = torch.nn.MultiheadAttention(d_model, n_heads, batch_first=True, dtype=torch.float64)
    ours = L.copy_from_torch_mha(L.MultiHeadAttention(d_model, n_heads).double(), theirs)
    q = torch.randn(2, n_q, d_model, dtype=torch.float64)
    kv = torch.randn(2, n_k, d_model, dtype=torch.float64)
    mask = torch.rand(n_q, n_k) < 0.7
    mask[:, 0] = True
    out, weights = ours(q, kv, kv, mask=mask)
    ref_out, ref_weights = theirs(q, kv, kv, attn_mask=~mask, average_attn_weights=False)
    torch.testing.assert_close(out, ref_out, atol=1e-10, rtol=0)
    torch.testing.assert_close(weights, ref_weights, atol=1e-12, rtol=0)


# ----------------------------------------------------------------------------- causality


@SETTINGS
@given(X=matrix(6, 4), noise=matrix(6, 4), t=st.integers(0, 5), W=matrix(3, 4, 4))
def test_causal_numpy_output_ignores_future_tokens(X, noise, t, W):
    def run(X):
        return A.attention(X @ W[0], X @ W[1], X @ W[2], mask=A.causal_mask(6))[0]

    changed = X.copy()
    changed[t + 1 :] += noise[t + 1 :] + 1.0  # every future token moves
    np.testing.assert_allclose(run(changed)[: t + 1], run(X)[: t + 1], atol=1e-12)


@FEW
@given(t=st.integers(0, 4), seed=st.integers(0, 2**16))
def test_causal_mha_and_decoder_block_ignore_future_tokens(t, seed):
    torch.manual_seed(seed)
    mha = L.MultiHeadAttention(8, 2).double()
    block = L.DecoderBlock(8, 2, 16).double()
    Y, memory = torch.randn(2, 5, 8, dtype=torch.float64), torch.randn(2, 3, 8, dtype=torch.float64)
    changed = Y.clone()
    changed[:, t + 1 :] = torch.randn(2, 4 - t, 8, dtype=torch.float64)
    causal = L.causal_mask(5)
    a, b = mha(Y, Y, Y, causal)[0], mha(changed, changed, changed, causal)[0]
    torch.testing.assert_close(a[:, : t + 1], b[:, : t + 1], atol=1e-12, rtol=0)
    a, b = block(Y, memory, causal)[0], block(changed, memory, causal)[0]
    torch.testing.assert_close(a[:, : t + 1], b[:, : t + 1], atol=1e-12, rtol=0)
    if t < 4:  # the future does change (the test can see a leak)
        assert not torch.allclose(a[:, t + 1 :], b[:, t + 1 :])


# ----------------------------------------------------------------------------- permutations


@SETTINGS
@given(X=matrix(5, 3), perm=st.permutations(range(5)), W=matrix(3, 3, 3))
def test_numpy_self_attention_is_permutation_equivariant(X, perm, W):
    perm = np.array(perm)
    out, weights = A.self_attention(X)
    out_p, weights_p = A.self_attention(X[perm])
    np.testing.assert_allclose(out_p, out[perm], atol=1e-9)
    np.testing.assert_allclose(weights_p, weights[perm][:, perm], atol=1e-12)
    out, _ = A.attention(X @ W[0], X @ W[1], X @ W[2])
    out_p, _ = A.attention(X[perm] @ W[0], X[perm] @ W[1], X[perm] @ W[2])
    np.testing.assert_allclose(out_p, out[perm], atol=1e-9)


@FEW
@given(perm=st.permutations(range(6)), seed=st.integers(0, 2**16))
def test_encoder_block_is_permutation_equivariant_without_positions(perm, seed):
    torch.manual_seed(seed)
    block = L.EncoderBlock(8, 2, 16).double()
    X = torch.randn(2, 6, 8, dtype=torch.float64)
    perm = torch.tensor(perm)
    Y, weights = block(X)
    Y_p, weights_p = block(X[:, perm])
    torch.testing.assert_close(Y_p, Y[:, perm], atol=1e-10, rtol=0)
    torch.testing.assert_close(weights_p, weights[:, :, perm][..., perm], atol=1e-12, rtol=0)
    # with positional encoding added, order matters and the property breaks
    if not torch.equal(perm, torch.arange(6)):
        positions = L.PositionalEncoding(8)
        assert not torch.allclose(block(positions(X[:, perm]))[0], block(positions(X))[0][:, perm])


# ----------------------------------------------------------------------------- positions


@SETTINGS
@given(half=st.integers(1, 8), k=st.integers(0, 50), base=st.sampled_from([100.0, 10000.0]))
def test_a_shift_in_position_is_one_fixed_rotation(half, k, base):
    d = 2 * half
    M = A.sinusoidal_shift_matrix(k, d, base)
    PE = A.sinusoidal_encoding(60 + k, d, base)
    np.testing.assert_allclose(PE[:60] @ M, PE[k : 60 + k], atol=1e-9)  # the same M for every p
    np.testing.assert_allclose(M.T @ M, np.eye(d), atol=1e-12)
    np.testing.assert_allclose(A.sinusoidal_shift_matrix(1, d, base) @ M,
                               A.sinusoidal_shift_matrix(k + 1, d, base), atol=1e-9)


@SETTINGS
@given(n=st.integers(1, 30), d=st.integers(1, 17))
def test_sinusoidal_encoding_shape_and_range(n, d):
    PE = A.sinusoidal_encoding(n, d)
    assert PE.shape == (n, d)
    assert np.all(np.abs(PE) <= 1)
    np.testing.assert_allclose(PE[:, 0::2][:, : d // 2] ** 2 + PE[:, 1::2] ** 2, 1.0, atol=1e-12)


# ----------------------------------------------------------------------------- gradients


@FEW
@given(seed=st.integers(0, 2**16), n_q=st.integers(1, 3), n_k=st.integers(1, 4))
def test_gradcheck_with_random_masks(seed, n_q, n_k):
    g = torch_rng(seed)
    Q, K, V = (torch.randn(2, n, 3, generator=g, dtype=torch.float64).requires_grad_()
               for n in (n_q, n_k, n_k))
    mask = torch.rand(2, n_q, n_k, generator=g) < 0.6  # fully masked rows allowed: zero gradient
    assert torch.autograd.gradcheck(lambda q, k, v: L.scaled_dot_product(q, k, v, mask)[0], (Q, K, V))
    mha = L.MultiHeadAttention(4, 2).double()
    q = torch.randn(2, n_q, 4, generator=g, dtype=torch.float64).requires_grad_()
    kv = torch.randn(2, n_k, 4, generator=g, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: mha(a, b, b, mask)[0], (q, kv))
