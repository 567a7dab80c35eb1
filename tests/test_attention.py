"""utils.attention (NumPy): every function against an independent reference.

References are PyTorch's own functions (F.softmax, F.scaled_dot_product_attention) or the
formula written out the slow way (loops over pairs, positions, frequencies), never numbers
copied from our own output.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from utils import attention as A

RNG = np.random.default_rng(12345)


def randn(*shape):
    return RNG.normal(size=shape)


def random_mask(shape, p=0.6, keep_one=True):
    """Random bool mask; if keep_one, every row (last axis) has at least one True."""
    mask = RNG.random(shape) < p
    if keep_one:
        first = RNG.integers(0, shape[-1], shape[:-1])
        np.put_along_axis(mask, first[..., None], True, axis=-1)
    return mask


def sdpa(Q, K, V, mask=None):
    """PyTorch's scaled dot-product attention on NumPy arrays (float64)."""
    t = [torch.from_numpy(np.ascontiguousarray(x)) for x in (Q, K, V)]
    m = None if mask is None else torch.from_numpy(np.ascontiguousarray(mask))
    return F.scaled_dot_product_attention(*t, attn_mask=m).numpy()


# ----------------------------------------------------------------------------- softmax


def test_softmax_matches_torch_along_any_axis():
    x = randn(3, 4, 5)
    for axis in (0, 1, -1):
        expected = F.softmax(torch.from_numpy(x), dim=axis).numpy()
        np.testing.assert_allclose(A.softmax(x, axis=axis), expected, rtol=1e-12, atol=1e-15)


def test_softmax_of_huge_logits_is_exact_and_finite():
    out = A.softmax(np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]]))
    assert np.all(np.isfinite(out))
    np.testing.assert_array_equal(out[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(out[1], [1 / 3] * 3, rtol=1e-15)


def test_softmax_ignores_a_constant_shift():
    x = randn(4, 6)
    np.testing.assert_allclose(A.softmax(x), A.softmax(x + 123.0), rtol=1e-12)


def test_softmax_returns_float64_for_int_and_list_input():
    out = A.softmax([[1, 2, 3]])
    assert out.dtype == np.float64
    assert out.shape == (1, 3)


# ----------------------------------------------------------------------------- masked softmax


def test_masked_softmax_renormalises_over_allowed_keys():
    scores = randn(2, 3, 5)
    mask = random_mask((2, 3, 5))
    weights = A.masked_softmax(scores, mask)
    for idx in np.ndindex(2, 3):
        allowed = mask[idx]
        expected = np.zeros(5)
        e = np.exp(scores[idx][allowed])
        expected[allowed] = e / e.sum()
        np.testing.assert_allclose(weights[idx], expected, rtol=1e-12, atol=1e-15)


def test_masked_softmax_fully_masked_row_is_zero_not_nan():
    scores = randn(3, 4)
    mask = np.ones((3, 4), bool)
    mask[1] = False
    weights = A.masked_softmax(scores, mask)
    assert not np.isnan(weights).any()
    np.testing.assert_array_equal(weights[1], np.zeros(4))
    np.testing.assert_allclose(weights[[0, 2]].sum(-1), 1.0)


def test_masked_softmax_docstring_promises_zeros_not_nan():
    doc = A.masked_softmax.__doc__.lower()
    assert "zeros" in doc and "nan" in doc


def test_masked_softmax_without_mask_is_softmax():
    x = randn(2, 5)
    np.testing.assert_allclose(A.masked_softmax(x), A.softmax(x))


def test_masked_softmax_broadcasts_a_smaller_mask():
    scores = randn(2, 3, 4)
    mask = np.array([True, False, True, True])  # (n_k,), shared by every query
    weights = A.masked_softmax(scores, mask)
    assert weights.shape == (2, 3, 4)
    np.testing.assert_array_equal(weights[..., 1], 0.0)
    np.testing.assert_allclose(weights, A.masked_softmax(scores, np.broadcast_to(mask, (2, 3, 4))))


def test_masked_softmax_with_huge_scores_stays_finite():
    scores = np.array([[1e4, -1e4, 5e3]])
    weights = A.masked_softmax(scores, np.array([[False, True, True]]))
    np.testing.assert_array_equal(weights, [[0.0, 0.0, 1.0]])


def test_subtract_trick_equals_masked_softmax_when_a_key_is_allowed():
    scores = randn(4, 6)
    mask = random_mask((4, 6))
    expected = A.masked_softmax(scores, mask)
    np.testing.assert_allclose(A.masked_softmax_subtract(scores, mask), expected, atol=1e-12)
    np.testing.assert_allclose(A.masked_softmax_subtract(scores, mask, replace=True), expected, atol=1e-12)


def test_subtract_trick_on_a_fully_masked_row_attends_anyway():
    """The docstring's claim: subtracting gives softmax(scores), replacing gives uniform."""
    scores = randn(2, 5)
    mask = np.array([[True] * 5, [False] * 5])
    subtracted = A.masked_softmax_subtract(scores, mask)
    replaced = A.masked_softmax_subtract(scores, mask, replace=True)
    np.testing.assert_allclose(subtracted[1], A.softmax(scores[1]), rtol=1e-9)  # 1e6 costs digits
    np.testing.assert_allclose(replaced[1], np.full(5, 0.2), rtol=1e-12)
    np.testing.assert_array_equal(A.masked_softmax(scores, mask)[1], 0.0)


def test_subtract_trick_with_a_small_penalty_leaks_weight():
    # With big comparable to the scores the trick is only approximate: masked keys get weight.
    scores = np.array([[0.0, 0.0]])
    mask = np.array([[True, False]])
    leaked = A.masked_softmax_subtract(scores, mask, big=1.0)[0, 1]
    assert leaked == pytest.approx(1 / (1 + math.e))


# ----------------------------------------------------------------------------- masks


def test_causal_mask():
    m = A.causal_mask(5)
    assert m.dtype == np.bool_ and m.shape == (5, 5)
    for i in range(5):
        for j in range(5):
            assert m[i, j] == (j <= i)


def test_padding_mask_from_valid_lengths():
    m = A.padding_mask([2, 0, 7], 5)
    assert m.shape == (3, 1, 5) and m.dtype == np.bool_
    np.testing.assert_array_equal(m[:, 0], [[1, 1, 0, 0, 0], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1]])


def test_padding_mask_per_query_lengths():
    m = A.padding_mask(np.array([[1, 3], [4, 0]]), 4)
    assert m.shape == (2, 2, 4)
    for b in range(2):
        for q in range(2):
            np.testing.assert_array_equal(m[b, q], np.arange(4) < [[1, 3], [4, 0]][b][q])


def test_local_mask_sees_2r_plus_1_positions():
    n, r = 9, 2
    m = A.local_mask(n, r)
    assert m.shape == (n, n)
    np.testing.assert_array_equal(m[n // 2].sum(), 2 * r + 1)  # away from the edges
    for i in range(n):
        allowed = np.flatnonzero(m[i])
        np.testing.assert_array_equal(allowed, np.arange(max(0, i - r), min(n, i + r + 1)))
    np.testing.assert_array_equal(A.local_mask(4, 0), np.eye(4, dtype=bool))
    assert A.local_mask(4, 3).all()


def test_local_mask_rejects_a_negative_or_nan_window():
    with pytest.raises(ValueError, match=r"window.*>= 0.*-1"):
        A.local_mask(4, -1)
    with pytest.raises(ValueError, match=r"window.*nan"):
        A.local_mask(4, float("nan"))


# ----------------------------------------------------------------------------- score functions


def test_dot_and_scaled_dot_scores_match_pairwise_loops():
    Q, K = randn(3, 4), randn(5, 4)
    dot = np.array([[sum(Q[i, t] * K[j, t] for t in range(4)) for j in range(5)] for i in range(3)])
    np.testing.assert_allclose(A.dot_score(Q, K), dot, rtol=1e-12)
    np.testing.assert_allclose(A.scaled_dot_score(Q, K), dot / 2.0, rtol=1e-12)  # √4 = 2


def test_general_score_is_Q_W_Kt_and_allows_different_sizes():
    Q, K, W = randn(2, 3, 4), randn(2, 5, 6), randn(4, 6)
    expected = np.einsum("bqi,ij,bkj->bqk", Q, W, K)
    np.testing.assert_allclose(A.general_score(Q, K, W), expected, rtol=1e-12)
    np.testing.assert_allclose(A.general_score(Q[0], Q[0][:2], np.eye(4)), A.dot_score(Q[0], Q[0][:2]))


def test_additive_score_matches_the_formula_pair_by_pair():
    d_q, d_k, h = 3, 5, 4
    Q, K = randn(2, d_q), randn(6, d_k)
    W_q, W_k, w_v = randn(d_q, h), randn(d_k, h), randn(h)
    scores = A.additive_score(Q, K, W_q, W_k, w_v)
    assert scores.shape == (2, 6)
    for i in range(2):
        for j in range(6):
            # w_vᵀ tanh(W_qᵀ q + W_kᵀ k), with W_q stored as (d_q, h) because vectors are rows
            expected = w_v @ np.tanh(W_q.T @ Q[i] + W_k.T @ K[j])
            assert scores[i, j] == pytest.approx(expected, rel=1e-12)


def test_additive_score_with_batch_dimensions():
    Q, K = randn(2, 3, 3), randn(2, 4, 5)
    W_q, W_k, w_v = randn(3, 7), randn(5, 7), randn(7)
    batched = A.additive_score(Q, K, W_q, W_k, w_v)
    assert batched.shape == (2, 3, 4)
    for b in range(2):
        np.testing.assert_allclose(batched[b], A.additive_score(Q[b], K[b], W_q, W_k, w_v))


def test_cosine_score_is_in_range_scale_free_and_zero_for_zero_vectors():
    Q, K = randn(4, 3), randn(5, 3)
    s = A.cosine_score(Q, K)
    assert np.all(np.abs(s) <= 1 + 1e-12)
    np.testing.assert_allclose(A.cosine_score(3.0 * Q, 0.5 * K), s, rtol=1e-12)
    np.testing.assert_allclose(A.cosine_score(Q, Q).diagonal(), 1.0)
    np.testing.assert_allclose(A.cosine_score(Q, -Q).diagonal(), -1.0)
    Q[1] = 0.0
    s = A.cosine_score(Q, K)
    assert not np.isnan(s).any()
    np.testing.assert_array_equal(s[1], 0.0)


# ----------------------------------------------------------------------------- attention vs PyTorch


@pytest.mark.parametrize(
    "q_shape, k_shape, v_shape",
    [
        ((3, 4), (3, 4), (3, 4)),  # unbatched self-attention sizes
        ((2, 3, 4), (2, 5, 4), (2, 5, 6)),  # batched, n_q ≠ n_k, d_k ≠ d_v
        ((2, 3, 1, 8), (2, 3, 7, 8), (2, 3, 7, 2)),  # two batch dims, a single query
    ],
)
def test_attention_equals_torch_sdpa_without_mask(q_shape, k_shape, v_shape):
    Q, K, V = randn(*q_shape), randn(*k_shape), randn(*v_shape)
    out, weights = A.attention(Q, K, V)
    assert out.dtype == np.float64
    assert out.shape == q_shape[:-1] + v_shape[-1:]
    assert weights.shape == q_shape[:-1] + k_shape[-2:-1]
    np.testing.assert_allclose(out, sdpa(Q, K, V), atol=1e-6, rtol=0)
    np.testing.assert_allclose(out, weights @ V, atol=1e-12)


@pytest.mark.parametrize("mask_shape", [(2, 3, 5), (3, 5), (2, 1, 5), (5,)])
def test_attention_equals_torch_sdpa_with_bool_mask(mask_shape):
    Q, K, V = randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 6)
    mask = random_mask(mask_shape)
    out, weights = A.attention(Q, K, V, mask=mask)
    np.testing.assert_allclose(out, sdpa(Q, K, V, mask), atol=1e-6, rtol=0)
    assert np.all(weights[..., ~np.broadcast_to(mask, weights.shape)] == 0)


def test_attention_with_causal_mask_equals_torch_is_causal():
    Q, K, V = randn(2, 6, 4), randn(2, 6, 4), randn(2, 6, 3)
    out, _ = A.attention(Q, K, V, mask=A.causal_mask(6))
    t = [torch.from_numpy(x) for x in (Q, K, V)]
    expected = F.scaled_dot_product_attention(*t, is_causal=True).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-6, rtol=0)


def test_attention_with_padding_mask_ignores_padded_values():
    Q, K, V = randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 2)
    mask = A.padding_mask([2, 4], 5)
    out, _ = A.attention(Q, K, V, mask=mask)
    V2 = V.copy()
    V2[0, 2:] = 1e3  # padding of sequence 0
    V2[1, 4:] = -1e3  # padding of sequence 1
    out2, _ = A.attention(Q, K, V2, mask=mask)
    np.testing.assert_allclose(out, out2)
    # and it equals attending to the unpadded prefix only
    np.testing.assert_allclose(out[0], A.attention(Q[0], K[0, :2], V[0, :2])[0], atol=1e-12)


def test_attention_fully_masked_query_gets_a_zero_row():
    Q, K, V = randn(3, 4), randn(5, 4), randn(5, 2)
    mask = np.ones((3, 5), bool)
    mask[2] = False
    out, weights = A.attention(Q, K, V, mask=mask)
    np.testing.assert_array_equal(out[2], 0.0)
    np.testing.assert_array_equal(weights[2], 0.0)


@pytest.mark.parametrize("n, r", [(9, 0), (9, 2), (9, 8), (9, 20), (1, 3)])
def test_local_attention_equals_attention_with_a_local_mask(n, r):
    Q, K, V = randn(2, n, 4), randn(2, n, 4), randn(2, n, 3)  # a batch of two
    out, window_weights = A.local_attention(Q, K, V, r)
    ref_out, ref_weights = A.attention(Q, K, V, mask=A.local_mask(n, r))
    assert out.shape == (2, n, 3) and window_weights.shape == (2, n, 2 * r + 1)
    np.testing.assert_allclose(out, ref_out, atol=1e-12)
    for i in range(n):  # column c of row i is key i + c - r
        for c in range(2 * r + 1):
            j = i + c - r
            expected = ref_weights[:, i, j] if 0 <= j < n else 0.0
            np.testing.assert_allclose(window_weights[:, i, c], expected, atol=1e-12)


def test_local_attention_rejects_bad_windows_and_shapes():
    Q = randn(6, 4)
    with pytest.raises(ValueError, match=r"window"):
        A.local_attention(Q, Q, Q, -1)
    with pytest.raises(ValueError, match=r"window"):
        A.local_attention(Q, Q, Q, 1.5)
    with pytest.raises(ValueError, match=r"one query, key and value per position"):
        A.local_attention(Q, randn(7, 4), randn(7, 4), 2)


def test_attention_score_options():
    Q, K, V = randn(3, 4), randn(5, 4), randn(5, 2)
    for name, fn in [("dot", A.dot_score), ("cosine", A.cosine_score), ("scaled_dot", A.scaled_dot_score)]:
        out, w = A.attention(Q, K, V, score=name)
        np.testing.assert_allclose(w, A.softmax(fn(Q, K)))
    # a callable may compare queries and keys of different sizes
    K6, W = randn(5, 6), randn(4, 6)
    out, w = A.attention(Q, K6, V, score=lambda q, k: A.general_score(q, k, W))
    np.testing.assert_allclose(w, A.softmax(Q @ W @ K6.T))


def test_self_attention_is_softmax_XXt_X():
    X = randn(4, 3)
    out, weights = A.self_attention(X)
    expected_w = F.softmax(torch.from_numpy(X @ X.T), dim=-1).numpy()
    np.testing.assert_allclose(weights, expected_w, rtol=1e-12)
    np.testing.assert_allclose(out, expected_w @ X, rtol=1e-12)


def test_self_attention_batched():
    X = randn(2, 4, 3)
    out, weights = A.self_attention(X)
    for b in range(2):
        ob, wb = A.self_attention(X[b])
        np.testing.assert_allclose(out[b], ob)
        np.testing.assert_allclose(weights[b], wb)


# ----------------------------------------------------------------------------- local and hard


def test_predict_position_is_S_sigmoid():
    H, W_p, v_p, S = randn(2, 3, 4), randn(4, 5), randn(5), 11
    p = A.predict_position(H, W_p, v_p, S)
    assert p.shape == (2, 3)
    assert np.all((p > 0) & (p < S))
    b, t = 1, 2
    logit = v_p @ np.tanh(W_p.T @ H[b, t])
    assert p[b, t] == pytest.approx(S / (1 + math.exp(-logit)))


def test_local_p_weights_windowed_softmax_times_gaussian():
    n_k, D = 9, 2
    scores, p_t = randn(3, n_k), np.array([0.3, 4.0, 7.6])
    weights = A.local_p_weights(scores, p_t, D)
    sigma = D / 2
    for t in range(3):
        s = np.arange(n_k)
        inside = np.abs(s - p_t[t]) <= D
        align = np.zeros(n_k)
        align[inside] = np.exp(scores[t, inside]) / np.exp(scores[t, inside]).sum()
        expected = align * np.exp(-((s - p_t[t]) ** 2) / (2 * sigma**2))
        np.testing.assert_allclose(weights[t], expected, rtol=1e-12, atol=1e-15)
        assert np.all(weights[t][~inside] == 0)
    assert np.all(weights.sum(-1) <= 1 + 1e-12)
    assert np.all(weights >= 0)


def test_local_p_weights_without_window_and_custom_sigma():
    scores, p_t = randn(2, 6), np.array([1.0, 4.0])
    weights = A.local_p_weights(scores, p_t, D=1, sigma=3.0, window=False)
    s = np.arange(6)
    expected = A.softmax(scores) * np.exp(-((s - p_t[:, None]) ** 2) / 18.0)
    np.testing.assert_allclose(weights, expected, rtol=1e-12)
    assert np.all(weights > 0)  # nothing is cut off


def test_local_p_weights_peak_at_integer_centre_is_unshrunk():
    scores = np.zeros((1, 7))
    weights = A.local_p_weights(scores, np.array([3.0]), D=2)
    # uniform over 5 window positions; the Gaussian is 1 at s = p_t
    assert weights[0, 3] == pytest.approx(1 / 5)
    assert weights[0].argmax() == 3


def test_hard_attention_samples_with_the_given_probabilities():
    weights = np.array([[0.1, 0.0, 0.6, 0.3], [0.25, 0.25, 0.25, 0.25]])
    many = np.broadcast_to(weights, (20000, 2, 4))
    indices, one_hot = A.hard_attention(many, rng=0)
    assert indices.shape == (20000, 2) and one_hot.shape == (20000, 2, 4)
    np.testing.assert_array_equal(one_hot.sum(-1), 1.0)
    np.testing.assert_array_equal(one_hot.argmax(-1), indices)
    assert not np.any(indices[:, 0] == 1)  # zero probability is never drawn
    np.testing.assert_allclose(one_hot.mean(0), weights, atol=0.015)


def test_hard_attention_is_reproducible_and_picks_value_rows():
    weights = A.softmax(randn(5, 6))
    i1, oh1 = A.hard_attention(weights, rng=7)
    i2, _ = A.hard_attention(weights, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(i1, i2)
    V = randn(6, 3)
    np.testing.assert_allclose(oh1 @ V, V[i1])


def test_hard_attention_refuses_weights_that_are_not_probabilities():
    with pytest.raises(ValueError, match=r"row sums"):
        A.hard_attention(np.array([[0.5, 0.2]]), rng=0)
    with pytest.raises(ValueError, match=r"non-negative"):
        A.hard_attention(np.array([[1.5, -0.5]]), rng=0)


# ----------------------------------------------------------------------------- positions


@pytest.mark.parametrize("d_model", [1, 2, 6, 7])
def test_sinusoidal_encoding_matches_the_formula(d_model):
    n, base = 12, 10000.0
    PE = A.sinusoidal_encoding(n, d_model)
    assert PE.shape == (n, d_model)
    for p in range(n):
        for j in range(d_model):
            i = j // 2
            angle = p / base ** (2 * i / d_model)
            assert PE[p, j] == pytest.approx(math.sin(angle) if j % 2 == 0 else math.cos(angle), abs=1e-12)


def test_sinusoidal_encoding_position_zero_and_custom_base():
    PE = A.sinusoidal_encoding(5, 8, base=100.0)
    np.testing.assert_array_equal(PE[0], [0, 1, 0, 1, 0, 1, 0, 1])
    assert PE[3, 2] == pytest.approx(math.sin(3 / 100.0 ** (2 / 8)))
    np.testing.assert_allclose(PE[:, 0], np.sin(np.arange(5)))  # frequency 1 whatever the base
    assert not np.allclose(PE, A.sinusoidal_encoding(5, 8))


def test_shift_matrix_is_a_rotation_and_shifts_positions():
    d, k = 8, 5
    M = A.sinusoidal_shift_matrix(k, d)
    PE = A.sinusoidal_encoding(40, d)
    np.testing.assert_allclose(PE[:-k] @ M, PE[k:], atol=1e-12)
    np.testing.assert_allclose(M @ M.T, np.eye(d), atol=1e-12)  # orthogonal
    assert np.linalg.det(M) == pytest.approx(1.0)  # a rotation, not a reflection
    np.testing.assert_allclose(A.sinusoidal_shift_matrix(0, d), np.eye(d), atol=1e-15)


def test_shift_matrix_refuses_odd_d_model():
    with pytest.raises(ValueError, match=r"d_model must be even.*d_model=5"):
        A.sinusoidal_shift_matrix(1, 5)


# ----------------------------------------------------------------------------- bad input


def test_mismatched_d_k_names_both_shapes():
    with pytest.raises(ValueError, match=r"d_k=3.*d_k=4.*Q \(2, 4\), K \(5, 3\)"):
        A.attention(randn(2, 4), randn(5, 3), randn(5, 2))
    with pytest.raises(ValueError, match=r"d_k"):
        A.dot_score(randn(2, 4), randn(5, 3))
    with pytest.raises(ValueError, match=r"d_k"):
        A.cosine_score(randn(2, 4), randn(5, 3))


def test_value_rows_must_match_key_rows():
    with pytest.raises(ValueError, match=r"n_k=5.*V has shape \(4, 2\)"):
        A.attention(randn(2, 3), randn(5, 3), randn(4, 2))


def test_mask_that_cannot_broadcast():
    with pytest.raises(ValueError, match=r"mask \(3, 5\) cannot broadcast against scores \(2, 5\)"):
        A.attention(randn(2, 3), randn(5, 3), randn(5, 2), mask=np.ones((3, 5), bool))
    with pytest.raises(ValueError, match=r"mask \(4,\) cannot broadcast"):
        A.masked_softmax(randn(2, 5), np.ones(4, bool))


@pytest.mark.parametrize("bad", [np.ones((2, 5)), np.ones((2, 5), dtype=int), [[0, 1, 1, 1, 1]] * 2])
def test_non_boolean_mask(bad):
    with pytest.raises(ValueError, match=r"mask must be boolean.*got dtype"):
        A.attention(randn(2, 3), randn(5, 3), randn(5, 2), mask=bad)
    with pytest.raises(ValueError, match=r"mask must be boolean"):
        A.masked_softmax_subtract(randn(2, 5), bad)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nan_or_infinite_input_is_refused(value):
    bad = randn(2, 3)
    bad[1, 2] = value
    calls = {
        "x": lambda: A.softmax(bad),
        "scores": lambda: A.masked_softmax(bad, np.ones((2, 3), bool)),
        "Q": lambda: A.attention(bad, randn(4, 3), randn(4, 2)),
        "K": lambda: A.scaled_dot_score(randn(4, 3), bad),
        "V": lambda: A.attention(randn(4, 3), randn(3, 3), bad.T),
        "X": lambda: A.self_attention(bad),
        "W": lambda: A.general_score(randn(4, 3), randn(4, 3), np.vstack([bad, bad[:1]])),
        "w_v": lambda: A.additive_score(randn(4, 3), randn(4, 2), randn(3, 3), randn(2, 3), bad[1]),
        "weights": lambda: A.hard_attention(bad, rng=0),
    }
    for name, call in calls.items():
        with pytest.raises(ValueError, match=rf"^{name} contains NaN or infinite values.*shape"):
            call()


def test_unknown_score_name_lists_the_choices():
    with pytest.raises(ValueError, match=r"'scaled_dot'.*got 'general'"):
        A.attention(randn(2, 3), randn(4, 3), randn(4, 2), score="general")
    with pytest.raises(ValueError, match=r"score must be a callable"):
        A.attention(randn(2, 3), randn(4, 3), randn(4, 2), score=["dot"])


def test_score_callable_with_the_wrong_shape():
    with pytest.raises(ValueError, match=r"score returned shape \(4, 2\).*\(\.\.\., 2, 4\)"):
        A.attention(randn(2, 3), randn(4, 3), randn(4, 2), score=lambda q, k: k @ q.T)


def test_general_and_additive_weight_shapes_are_checked():
    with pytest.raises(ValueError, match=r"W must have shape \(d_q, d_k\) = \(3, 4\).*W \(4, 3\)"):
        A.general_score(randn(2, 3), randn(5, 4), randn(4, 3))
    with pytest.raises(ValueError, match=r"W_q \(d_q, h\).*got W_q \(3, 6\), W_k \(4, 7\)"):
        A.additive_score(randn(2, 3), randn(5, 4), randn(3, 6), randn(4, 7), randn(7))


def test_padding_mask_rejects_floats_and_negatives():
    with pytest.raises(ValueError, match=r"integers.*float64"):
        A.padding_mask([1.5, 2.0], 4)
    with pytest.raises(ValueError, match=r">= 0.*-1"):
        A.padding_mask([2, -1], 4)


def test_batch_dims_that_cannot_broadcast():
    with pytest.raises(ValueError, match=r"batch dimensions.*Q \(2, 3, 4\), K \(3, 5, 4\)"):
        A.attention(randn(2, 3, 4), randn(3, 5, 4), randn(3, 5, 2))


def test_local_p_weights_checks_centres_and_window():
    with pytest.raises(ValueError, match=r"p_t must have one centre per query.*\(3,\).*p_t \(2,\)"):
        A.local_p_weights(randn(3, 5), np.zeros(2), D=1)
    with pytest.raises(ValueError, match=r"D .* > 0, got 0"):
        A.local_p_weights(randn(3, 5), np.zeros(3), D=0)
    for sigma in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match=rf"sigma .* > 0, got {sigma}"):
            A.local_p_weights(randn(3, 5), np.zeros(3), D=1, sigma=sigma)
