"""Attention in NumPy: the math of the first chapters, one pure function per idea.

Every function takes NumPy arrays (lists work too), computes in float64 and accepts any number
of leading batch dimensions. Vectors are rows: a query is a row of Q (..., n_q, d_k), a key is
a row of K (..., n_k, d_k), so scores are Q Kᵀ with shape (..., n_q, n_k).

Masks are boolean with True = may attend (the convention of
``torch.nn.functional.scaled_dot_product_attention``). Functions that attend return
``(output, weights)`` so that the weights can always be drawn.

Reading order: softmax → masks → score functions → attention → local and hard attention →
sinusoidal positional encoding. Input checks live in one private section at the end.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "softmax",
    "masked_softmax",
    "masked_softmax_subtract",
    "causal_mask",
    "padding_mask",
    "local_mask",
    "dot_score",
    "scaled_dot_score",
    "general_score",
    "additive_score",
    "cosine_score",
    "attention",
    "local_attention",
    "self_attention",
    "predict_position",
    "local_p_weights",
    "hard_attention",
    "sinusoidal_encoding",
    "sinusoidal_shift_matrix",
]


# ----------------------------------------------------------------------------- softmax


def softmax(x, axis=-1):
    """softmax(x)_j = exp(x_j) / Σ_l exp(x_l), along `axis`.

    x: any shape, finite. Returns an array of the same shape whose slices along `axis` are
    non-negative and sum to 1. Subtracting the maximum first changes nothing mathematically
    (softmax ignores a constant shift) but keeps exp from overflowing: logits of ±1e4 work.

    Taught in chapter 1 (01_attention_pooling).
    """
    x = _finite("x", x)
    shifted = x - np.max(x, axis=axis, keepdims=True)  # largest entry becomes 0
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def masked_softmax(scores, mask=None):
    """Softmax over the last axis that gives weight 0 to every position where mask is False.

    scores: (..., n_q, n_k). mask: bool, broadcastable to scores; True = may attend.
    Returns weights with the broadcast shape of scores and mask.

    Masked positions are treated as score -∞, so they get exactly 0 and the allowed positions
    share all the weight. A row with no allowed position (every key masked) returns all
    zeros, not NaN: "attend to nothing" gives a zero context vector.

    Taught in chapter 5 (05_masking).
    """
    scores = _finite("scores", scores)
    if mask is None:
        return softmax(scores)
    mask = _mask(mask, scores.shape)
    scores, mask = np.broadcast_arrays(scores, mask)
    allowed = np.where(mask, scores, -np.inf)
    row_max = np.max(allowed, axis=-1, keepdims=True)  # -inf for a fully masked row
    row_max = np.where(np.isfinite(row_max), row_max, 0.0)
    e = np.exp(np.where(mask, scores - row_max, -np.inf))  # exp(-inf) = 0 on masked keys
    total = np.sum(e, axis=-1, keepdims=True)  # 0 only on fully masked rows
    return np.divide(e, total, out=np.zeros_like(e), where=total > 0)


def masked_softmax_subtract(scores, mask, big=1e6, replace=False):
    """The "subtract a large number" trick: softmax(scores - big · (not mask)).

    scores: (..., n_q, n_k). mask: bool, broadcastable to scores; True = may attend.
    big: the penalty; exp(-1e6) is exactly 0 in float64, so on rows with at least one
    allowed key this equals masked_softmax (as long as the scores are much smaller than big).
    replace: if True, masked scores are replaced by -big instead (d2l's version).

    The two tricks differ on a fully masked row. Subtracting shifts the whole row by -big,
    and softmax ignores a constant shift, so the row comes back as the ordinary, unmasked
    softmax(scores). Replacing sets every score to -big, so the row comes back uniform,
    1/n_k each. Either way the row pretends to attend to keys it must not see, which is why
    masked_softmax returns zeros on such a row instead.

    Taught in chapter 5 (05_masking).
    """
    scores = _finite("scores", scores)
    mask = _mask(mask, scores.shape)
    if replace:
        return softmax(np.where(mask, scores, -big))
    return softmax(scores - big * (~mask))


# ----------------------------------------------------------------------------- masks


def causal_mask(n):
    """(n, n) bool, True on and below the diagonal: position i may attend to j only if j <= i.

    Taught in chapter 5 (05_masking).
    """
    return np.tril(np.ones((n, n), dtype=bool))


def padding_mask(valid_lens, n_k):
    """Masks from "valid lengths" (d2l): only the first valid_lens keys may be attended to.

    valid_lens: ints, shape (batch,) (one length per sequence) or (batch, n_q) (one length
    per query). n_k: number of keys. Returns bool (batch, 1, n_k) or (batch, n_q, n_k), which
    broadcasts against scores (batch, n_q, n_k). A length >= n_k allows every key; a length
    of 0 masks the whole row.

    Taught in chapter 5 (05_masking).
    """
    valid_lens = np.asarray(valid_lens)
    if valid_lens.ndim not in (1, 2) or not np.issubdtype(valid_lens.dtype, np.integer):
        raise ValueError(
            f"valid_lens must be integers of shape (batch,) or (batch, n_q), "
            f"got dtype {valid_lens.dtype} and shape {valid_lens.shape}"
        )
    if np.any(valid_lens < 0):
        raise ValueError(f"valid_lens must be >= 0, got {valid_lens.tolist()}")
    if valid_lens.ndim == 1:
        valid_lens = valid_lens[:, None]  # (batch, 1)
    return np.arange(n_k) < valid_lens[..., None]  # (batch, 1 or n_q, n_k)


def local_mask(n, window):
    """(n, n) bool for restricted (local) attention: True where |i - j| <= window.

    window is the radius r: each query sees 2r + 1 positions (fewer at the edges), so the
    cost is O(n r) instead of O(n²), like a convolution window. window=0 keeps only the
    diagonal; window >= n - 1 allows everything.

    Taught in chapter 5 (05_masking).
    """
    if not window >= 0:  # also refuses NaN
        raise ValueError(f"window (the radius r) must be >= 0, got {window}")
    i = np.arange(n)
    return np.abs(i[:, None] - i[None, :]) <= window  # (n, n)


# ----------------------------------------------------------------------------- score functions


def dot_score(Q, K):
    """score(q, k) = q · k, for every pair: Q Kᵀ.

    Q: (..., n_q, d_k)  K: (..., n_k, d_k). Returns scores (..., n_q, n_k).

    Taught in chapter 6 (06_score_functions).
    """
    Q, K = _queries_keys(Q, K)
    return Q @ np.swapaxes(K, -1, -2)  # (..., n_q, n_k)


def scaled_dot_score(Q, K):
    """score(q, k) = q · k / √d_k.

    With unit-variance entries q · k has variance d_k; dividing by √d_k brings it back to 1,
    so softmax does not saturate (and its gradients do not vanish) as d_k grows.
    Q: (..., n_q, d_k)  K: (..., n_k, d_k). Returns scores (..., n_q, n_k).

    Taught in chapter 4 (04_scaling).
    """
    Q, K = _queries_keys(Q, K)
    return Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])  # (..., n_q, n_k)


def general_score(Q, K, W):
    """Multiplicative ("general", Luong) score: score(q, k) = q W kᵀ, i.e. Q W Kᵀ.

    Q: (..., n_q, d_q)  K: (..., n_k, d_k)  W: (d_q, d_k); queries and keys may differ in size.
    Returns scores (..., n_q, n_k).

    Taught in chapter 6 (06_score_functions).
    """
    Q, K, W = _finite("Q", Q), _finite("K", K), _finite("W", W)
    _need(Q.ndim >= 2 and K.ndim >= 2, f"Q and K must be at least 2-D, got Q {Q.shape}, K {K.shape}")
    _need(
        W.shape == (Q.shape[-1], K.shape[-1]),
        f"W must have shape (d_q, d_k) = {(Q.shape[-1], K.shape[-1])}: Q {Q.shape}, K {K.shape}, "
        f"W {W.shape}",
    )
    return Q @ W @ np.swapaxes(K, -1, -2)  # (..., n_q, d_k) @ (..., d_k, n_k) → (..., n_q, n_k)


def additive_score(Q, K, W_q, W_k, w_v):
    """Additive (Bahdanau, "MLP") score: score(q, k) = w_vᵀ tanh(q W_q + k W_k).

    Q: (..., n_q, d_q)  K: (..., n_k, d_k); d_q and d_k may differ.
    W_q: (d_q, h)  W_k: (d_k, h)  w_v: (h,), with h the hidden size.
    Returns scores (..., n_q, n_k).

    Taught in chapter 6 (06_score_functions).
    """
    Q, K = _finite("Q", Q), _finite("K", K)
    W_q, W_k, w_v = _finite("W_q", W_q), _finite("W_k", W_k), _finite("w_v", w_v)
    _need(Q.ndim >= 2 and K.ndim >= 2, f"Q and K must be at least 2-D, got Q {Q.shape}, K {K.shape}")
    h = w_v.shape[0] if w_v.ndim == 1 else None
    _need(
        W_q.shape == (Q.shape[-1], h) and W_k.shape == (K.shape[-1], h),
        f"expected W_q (d_q, h) = {(Q.shape[-1], h)}, W_k (d_k, h) = {(K.shape[-1], h)}, w_v (h,): "
        f"got W_q {W_q.shape}, W_k {W_k.shape}, w_v {w_v.shape} for Q {Q.shape}, K {K.shape}",
    )
    q = (Q @ W_q)[..., :, None, :]  # (..., n_q, 1, h)
    k = (K @ W_k)[..., None, :, :]  # (..., 1, n_k, h)
    features = np.tanh(q + k)  # (..., n_q, n_k, h): one hidden vector per pair
    return features @ w_v  # (..., n_q, n_k)


def cosine_score(Q, K):
    """score(q, k) = q · k / (|q| |k|), the cosine of the angle between q and k, in [-1, 1].

    Q: (..., n_q, d_k)  K: (..., n_k, d_k). Returns scores (..., n_q, n_k).
    A zero vector has no direction; its scores are 0.

    Taught in chapter 6 (06_score_functions).
    """
    Q, K = _queries_keys(Q, K)
    Q_len = np.linalg.norm(Q, axis=-1, keepdims=True)  # (..., n_q, 1)
    K_len = np.linalg.norm(K, axis=-1, keepdims=True)  # (..., n_k, 1)
    Q_unit = np.divide(Q, Q_len, out=np.zeros_like(Q), where=Q_len > 0)
    K_unit = np.divide(K, K_len, out=np.zeros_like(K), where=K_len > 0)
    return Q_unit @ np.swapaxes(K_unit, -1, -2)  # (..., n_q, n_k)


_SCORES = {"dot": dot_score, "scaled_dot": scaled_dot_score, "cosine": cosine_score}


# ----------------------------------------------------------------------------- attention


def attention(Q, K, V, mask=None, score="scaled_dot"):
    """Attention(Q, K, V) = softmax(score(Q, K)) V; by default softmax(Q Kᵀ / √d_k) V.

    Q: (..., n_q, d_k)  K: (..., n_k, d_k)  V: (..., n_k, d_v)
    mask: bool, broadcastable to (..., n_q, n_k); True = may attend. A query with no allowed
    key gets zero weights and a zero output row.
    score: "scaled_dot" (default), "dot", "cosine", or a callable (Q, K) → (..., n_q, n_k),
    e.g. ``lambda Q, K: general_score(Q, K, W)``.
    Returns output (..., n_q, d_v) and weights (..., n_q, n_k); each output row is the
    weighted average of the rows of V.

    Taught in chapter 3 (03_queries_keys_values).
    """
    Q, K = _queries_keys(Q, K, same_d=not callable(score))  # a callable may compare sizes d_q ≠ d_k
    V = _finite("V", V)
    _need(
        V.ndim >= 2 and V.shape[-2] == K.shape[-2],
        f"V must have one row per key: K has n_k={K.shape[-2]} rows but V has shape {V.shape}: "
        f"K {K.shape}, V {V.shape}",
    )
    if callable(score):
        scores = np.asarray(score(Q, K), dtype=np.float64)
    elif isinstance(score, str) and score in _SCORES:
        scores = _SCORES[score](Q, K)
    else:
        raise ValueError(f"score must be a callable or one of {sorted(_SCORES)}, got {score!r}")
    _need(
        scores.shape[-2:] == (Q.shape[-2], K.shape[-2]),
        f"score returned shape {scores.shape}, expected (..., n_q, n_k) = "
        f"(..., {Q.shape[-2]}, {K.shape[-2]})",
    )
    weights = masked_softmax(scores, mask)  # (..., n_q, n_k)
    return weights @ V, weights  # (..., n_q, d_v), (..., n_q, n_k)


def local_attention(Q, K, V, window):
    """Restricted attention that computes only the 2r + 1 scores around each query.

    Query i sees keys i - r .. i + r (r = window), as attention(Q, K, V, mask=local_mask(n, r))
    does, but the keys and values are cut into sliding windows first, so the work and memory
    are O(n r d) instead of O(n² d). Queries and keys are the same positions: n_q = n_k = n.
    Q, K: (..., n, d_k)  V: (..., n, d_v). Returns output (..., n, d_v) and the window weights
    (..., n, 2r + 1), column c holding the weight of key i + c - r (0 where that key does not
    exist, at the two ends).

    Taught in chapter 5 (05_masking).
    """
    from numpy.lib.stride_tricks import sliding_window_view

    Q, K = _queries_keys(Q, K)
    V = _finite("V", V)
    _need(
        Q.shape[-2] == K.shape[-2] == (V.shape[-2] if V.ndim >= 2 else -1),
        f"local attention needs one query, key and value per position: Q {Q.shape}, K {K.shape}, "
        f"V {V.shape}",
    )
    _need(window >= 0 and int(window) == window, f"window (the radius r) must be an integer >= 0, "
                                                 f"got {window}")
    r, n = int(window), Q.shape[-2]

    def windows(X):  # (..., n, d) → (..., n, d, 2r + 1): row i holds positions i - r .. i + r
        padded = np.pad(X, [(0, 0)] * (X.ndim - 2) + [(r, r), (0, 0)])  # r zero rows at each end
        return sliding_window_view(padded, 2 * r + 1, axis=-2)

    K_win, V_win = windows(K), windows(V)
    scores = np.einsum("...nd,...ndw->...nw", Q, K_win) / np.sqrt(Q.shape[-1])  # (..., n, 2r + 1)
    key_position = np.arange(n)[:, None] + np.arange(-r, r + 1)  # (n, 2r + 1)
    weights = masked_softmax(scores, (key_position >= 0) & (key_position < n))
    return np.einsum("...nw,...ndw->...nd", weights, V_win), weights  # (..., n, d_v), (..., n, 2r + 1)


def self_attention(X):
    """Softmax(X Xᵀ) X: every token against every token, then a weighted sum of the tokens.

    This is self-attention before Q, K, V and before scaling: the first chapter's version.
    X: (..., n, d). Returns output (..., n, d) and weights (..., n, n); row i of weights
    says how much token i draws from each token.

    Taught in chapter 2 (02_softmax_xxt).
    """
    X = _finite("X", X)
    _need(X.ndim >= 2, f"X must be at least 2-D (..., n, d), got shape {X.shape}")
    scores = X @ np.swapaxes(X, -1, -2)  # (..., n, n): inner product of every pair
    weights = softmax(scores)  # (..., n, n): each row sums to 1
    return weights @ X, weights  # (..., n, d), (..., n, n)


# ----------------------------------------------------------------------------- local and hard


def predict_position(H, W_p, v_p, S):
    """Luong's predicted centre for local-p attention: p_t = S · sigmoid(v_pᵀ tanh(W_p h_t)).

    H: (..., n_q, d) decoder states h_t as rows. W_p: (d, h)  v_p: (h,)  S: source length.
    Returns p_t (..., n_q), real numbers in (0, S).

    Taught in chapter 7 (07_global_local).
    """
    H, W_p, v_p = _finite("H", H), _finite("W_p", W_p), _finite("v_p", v_p)
    _need(
        W_p.shape == (H.shape[-1], v_p.shape[0]) and v_p.ndim == 1,
        f"expected W_p (d, h) = {(H.shape[-1], v_p.shape[0])} and v_p (h,): got H {H.shape}, "
        f"W_p {W_p.shape}, v_p {v_p.shape}",
    )
    logits = np.tanh(H @ W_p) @ v_p  # (..., n_q)
    return S / (1.0 + np.exp(-logits))  # S · sigmoid


def local_p_weights(scores, p_t, D, sigma=None, window=True):
    """Luong's local-p alignment: a_t(s) = softmax(scores)_s · exp(-(s - p_t)² / (2σ²)).

    scores: (..., n_q, n_k) alignment scores of each query against source positions
    s = 0 .. n_k - 1. p_t: (..., n_q) predicted centre of each query (real, e.g. from
    predict_position; p_t = t gives local-m). D: half-width of the window.
    sigma: width of the Gaussian; Luong uses σ = D / 2 (the default).
    window: if True (Luong), the softmax runs only over |s - p_t| <= D and weights outside
    are 0; if False, the softmax runs over all positions and only the Gaussian favours p_t.
    Returns weights (..., n_q, n_k). They do NOT sum to 1: the Gaussian shrinks them, as in
    the paper (rows sum to at most 1).

    Taught in chapter 7 (07_global_local).
    """
    scores, p_t = _finite("scores", scores), _finite("p_t", p_t)
    _need(
        scores.ndim >= 2 and p_t.shape == scores.shape[:-1],
        f"p_t must have one centre per query, shape (..., n_q) = {scores.shape[:-1]}: "
        f"got scores {scores.shape}, p_t {p_t.shape}",
    )
    _need(D > 0, f"D (window half-width) must be > 0, got {D}")
    sigma = D / 2 if sigma is None else sigma
    _need(sigma > 0, f"sigma (width of the Gaussian) must be > 0, got {sigma}")  # NaN fails too
    s = np.arange(scores.shape[-1])  # (n_k,) source positions
    distance = s - p_t[..., None]  # (..., n_q, n_k)
    mask = np.abs(distance) <= D if window else None
    align = masked_softmax(scores, mask)  # (..., n_q, n_k)
    return align * np.exp(-(distance**2) / (2 * sigma**2))


def hard_attention(weights, rng):
    """Hard attention: each query looks at exactly one key, sampled with probabilities `weights`.

    weights: (..., n_q, n_k), rows summing to 1. rng: a np.random.Generator or an int seed.
    Returns indices (..., n_q) of the chosen keys and one_hot (..., n_q, n_k), a 0/1 matrix
    that can replace the soft weights: ``one_hot @ V`` picks one value row per query.
    Sampling is not differentiable; training needs e.g. Monte Carlo (REINFORCE) gradients.

    Taught in chapter 7 (07_global_local).
    """
    weights = _finite("weights", weights)
    sums = weights.sum(axis=-1)
    _need(
        weights.ndim >= 1 and np.all(weights >= 0) and np.allclose(sums, 1.0),
        f"weights must be non-negative with rows summing to 1; got shape {weights.shape}, "
        f"row sums from {sums.min():.4g} to {sums.max():.4g}",
    )
    rng = np.random.default_rng(rng)
    u = rng.random(weights.shape[:-1] + (1,))  # one uniform number per query
    cumulative = np.cumsum(weights, axis=-1)  # (..., n_q, n_k)
    indices = np.minimum((cumulative < u).sum(axis=-1), weights.shape[-1] - 1)  # (..., n_q)
    one_hot = (np.arange(weights.shape[-1]) == indices[..., None]).astype(np.float64)
    return indices, one_hot


# ----------------------------------------------------------------------------- positions


def sinusoidal_encoding(n_positions, d_model, base=10000.0):
    """Sinusoidal positional encoding (Vaswani et al.), one row per position.

    PE[p, 2i] = sin(p / base^(2i/d_model)),  PE[p, 2i+1] = cos(p / base^(2i/d_model)).
    Returns (n_positions, d_model). An odd d_model works: the last column is a sine whose
    cosine partner is dropped.

    Taught in chapter 10 (10_positional_encoding).
    """
    positions = np.arange(n_positions, dtype=np.float64)[:, None]  # (n, 1)
    frequencies = base ** (-np.arange(0, d_model, 2) / d_model)  # (ceil(d/2),): 1/base^(2i/d)
    angles = positions * frequencies  # (n, ceil(d/2))
    PE = np.zeros((n_positions, d_model))
    PE[:, 0::2] = np.sin(angles)
    PE[:, 1::2] = np.cos(angles[:, : d_model // 2])
    return PE


def sinusoidal_shift_matrix(k, d_model, base=10000.0):
    """The matrix M_k with PE[p + k] = PE[p] @ M_k for every position p (rows as vectors).

    Each (sin, cos) column pair with frequency ω is rotated by the angle kω:
    [sin(a + kω), cos(a + kω)] = [sin a, cos a] @ [[cos kω, -sin kω], [sin kω, cos kω]],
    so M_k is block-diagonal with one 2 × 2 rotation per frequency. It does not depend on p:
    a shift in position is the same linear map everywhere. Returns (d_model, d_model).
    d_model must be even: with an odd d_model the last sine has no cosine partner, and
    sin(a + kω) is not a linear function of sin(a) alone.

    Taught in chapter 10 (10_positional_encoding).
    """
    if d_model % 2:
        raise ValueError(
            f"d_model must be even for a shift matrix, got d_model={d_model}: the last sine "
            f"column has no cosine partner to rotate with"
        )
    frequencies = base ** (-np.arange(0, d_model, 2) / d_model)  # (d/2,)
    M = np.zeros((d_model, d_model))
    for i, omega in enumerate(frequencies):
        c, s = np.cos(k * omega), np.sin(k * omega)
        M[2 * i : 2 * i + 2, 2 * i : 2 * i + 2] = [[c, -s], [s, c]]
    return M


# ----------------------------------------------------------------------------- input checks
# Each check raises ValueError naming what it received and what it expected.


def _need(condition, message):
    if not condition:
        raise ValueError(message)


def _finite(name, x):
    """x as a float64 array; NaN or ±inf is refused."""
    x = np.asarray(x, dtype=np.float64)
    bad = ~np.isfinite(x)
    if bad.any():
        raise ValueError(
            f"{name} contains NaN or infinite values ({int(bad.sum())} of {x.size} entries, "
            f"shape {x.shape}); expected finite numbers"
        )
    return x


def _queries_keys(Q, K, same_d=True):
    """Q (..., n_q, d_k) and K (..., n_k, d_k) as arrays with matching d_k and batch dims."""
    Q, K = _finite("Q", Q), _finite("K", K)
    _need(
        Q.ndim >= 2 and K.ndim >= 2,
        f"Q and K must be at least 2-D, (..., n_q, d_k) and (..., n_k, d_k): got Q {Q.shape}, K {K.shape}",
    )
    if same_d:
        _need(
            Q.shape[-1] == K.shape[-1],
            f"K has d_k={K.shape[-1]} but Q has d_k={Q.shape[-1]}: Q {Q.shape}, K {K.shape}",
        )
    try:
        np.broadcast_shapes(Q.shape[:-2], K.shape[:-2])
    except ValueError:
        raise ValueError(
            f"the batch dimensions of Q and K cannot broadcast: Q {Q.shape}, K {K.shape}"
        ) from None
    return Q, K


def _mask(mask, scores_shape):
    """mask as a bool array that broadcasts against scores (..., n_q, n_k)."""
    mask = np.asarray(mask)
    _need(
        mask.dtype == np.bool_,
        f"mask must be boolean (True = may attend), got dtype {mask.dtype} with shape {mask.shape}",
    )
    try:
        np.broadcast_shapes(mask.shape, scores_shape)
    except ValueError:
        raise ValueError(
            f"mask {mask.shape} cannot broadcast against scores {scores_shape} (..., n_q, n_k)"
        ) from None
    return mask
