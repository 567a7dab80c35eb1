"""Positions inside the score: rotary position embedding (RoPE) and ALiBi.

RoPE (Su et al., RoFormer) rotates each query and key, pair of features by pair of features,
through angles proportional to its position; ALiBi (Press et al.) adds nothing to the vectors
and subtracts a linear penalty m_h · (i − j) from each score instead.

Every function takes NumPy arrays or PyTorch tensors (and returns the same kind), so the
chapter can derive with NumPy and train with PyTorch through the same code. Vectors are rows:
x has shape (..., n, d), with one position per row.

Two layouts of the same rotation are in use:

- **interleaved** (RoFormer): pair i is features (2i, 2i + 1);
- **halves** (Hugging Face's Llama, ``rotate_half``): pair i is features (i, i + d/2).

They differ by a fixed permutation of the features (:func:`halves_permutation`).

Reading order: frequencies → angles (with position interpolation and NTK-aware base scaling)
→ the two rotations → the permutation → ALiBi slopes and bias. Input checks at the end.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "frequencies",
    "ntk_base",
    "rope_angles",
    "rotate_interleaved",
    "rotate_halves",
    "halves_permutation",
    "alibi_slopes",
    "alibi_bias",
]


# ----------------------------------------------------------------------------- frequencies and angles


def frequencies(d, base=10000.0):
    """θ_i = base^(−2i/d) for the d/2 pairs i = 0 … d/2 − 1, radians per position.

    d: the head dimension, even and positive. Returns a float64 NumPy array (d/2,).

    Taught in chapter 16 (16_rope_alibi).
    """
    _check_d(d)
    if not base > 1:
        raise ValueError(f"base must be greater than 1, got {base}")
    return float(base) ** (-np.arange(0, d, 2) / d)  # (d/2,)


def ntk_base(base, factor, d):
    """The NTK-aware base for stretching the context by `factor`: base · factor^(d/(d−2)).

    With this base the fastest pair (i = 0) keeps its speed, and the slowest pair
    (i = d/2 − 1) turns `factor` times more slowly, as position interpolation would make it.

    Taught in chapter 16 (16_rope_alibi).
    """
    _check_d(d)
    if d < 4:
        raise ValueError(f"NTK-aware scaling needs d >= 4 (two pairs or more), got d={d}")
    _check_factor(factor)
    return float(base) * float(factor) ** (d / (d - 2))


def rope_angles(positions, d, base=10000.0, interpolation=1.0):
    """Angles m · θ_i / interpolation for every position m and pair i.

    positions: (n,) numbers (any, not necessarily 0 … n − 1). interpolation: position
    interpolation's factor s (Chen et al.): position m is treated as m / s. Returns (n, d/2),
    float64 NumPy array.

    Taught in chapter 16 (16_rope_alibi).
    """
    _check_factor(interpolation)
    positions = np.asarray(positions, dtype=np.float64)
    if positions.ndim != 1:
        raise ValueError(f"positions must be one-dimensional (n,), got shape {positions.shape}")
    return (positions[:, None] / interpolation) * frequencies(d, base)[None, :]  # (n, d/2)


# ----------------------------------------------------------------------------- the rotation, two layouts


def rotate_interleaved(x, positions, base=10000.0, interpolation=1.0):
    """RoPE as in RoFormer: pair i = features (2i, 2i + 1), as the complex number x_2i + i·x_2i+1,
    multiplied by e^(i m θ_i) for the row at position m.

    out_2i   = x_2i cos(mθ_i) − x_2i+1 sin(mθ_i)
    out_2i+1 = x_2i sin(mθ_i) + x_2i+1 cos(mθ_i)

    x: (..., n, d), NumPy or torch; positions: (n,). Returns the same shape and kind.

    Taught in chapter 16 (16_rope_alibi).
    """
    cos, sin = _cos_sin(x, positions, base, interpolation)  # (n, d/2) each
    even, odd = x[..., 0::2], x[..., 1::2]  # (..., n, d/2): real and imaginary parts
    out_even = even * cos - odd * sin
    out_odd = even * sin + odd * cos
    return _interleave(out_even, out_odd)  # (..., n, d)


def rotate_halves(x, positions, base=10000.0, interpolation=1.0):
    """RoPE as in Hugging Face's Llama: pair i = features (i, i + d/2).

    out = x · cos + rotate_half(x) · sin, rotate_half(x) = [−x_second_half, x_first_half],
    with cos and sin of the angles repeated for both halves.

    x: (..., n, d), NumPy or torch; positions: (n,). Returns the same shape and kind.

    Taught in chapter 16 (16_rope_alibi).
    """
    cos, sin = _cos_sin(x, positions, base, interpolation)  # (n, d/2) each
    h = x.shape[-1] // 2
    first, second = x[..., :h], x[..., h:]  # (..., n, d/2) each
    return _concat(first * cos - second * sin, second * cos + first * sin)  # (..., n, d)


def halves_permutation(d):
    """The feature order that turns the interleaved layout into the halves layout.

    x_halves = x_interleaved[..., perm], perm = [0, 2, 4, …, d−2, 1, 3, …, d−1]; then
    rotate_halves(x[..., perm]) = rotate_interleaved(x)[..., perm]. Returns an int array (d,).

    Taught in chapter 16 (16_rope_alibi).
    """
    _check_d(d)
    return np.concatenate([np.arange(0, d, 2), np.arange(1, d, 2)])


# ----------------------------------------------------------------------------- ALiBi


def alibi_slopes(n_heads):
    """ALiBi's head slopes m_h, a geometric sequence (Press et al.).

    For n_heads a power of two: m_h = 2^(−8h/n_heads), h = 1 … n_heads. Otherwise the slopes
    of the next lower power of two p, followed by every other slope of 2p (as the authors'
    code and Hugging Face's Bloom do). Returns float64 NumPy array (n_heads,).

    Taught in chapter 16 (16_rope_alibi).
    """
    if isinstance(n_heads, bool) or not isinstance(n_heads, (int, np.integer)) or n_heads < 1:
        raise ValueError(f"n_heads must be a positive integer, got {n_heads!r}")

    def power_of_two(n):
        return 2.0 ** (-8.0 * np.arange(1, n + 1) / n)  # (n,)

    p = 2 ** int(math.floor(math.log2(n_heads)))
    if p == n_heads:
        return power_of_two(n_heads)
    return np.concatenate([power_of_two(p), power_of_two(2 * p)[0::2][: n_heads - p]])


def alibi_bias(n_heads, n_q, n_k=None):
    """ALiBi's bias added to causal scores: bias[h, i, j] = −m_h · (i − j) for j ≤ i, else −inf.

    Query i and key j are positions in one sequence (the queries are its last n_q positions
    when n_q < n_k, as with a key/value cache). Returns float64 NumPy array (n_heads, n_q, n_k).

    Taught in chapter 16 (16_rope_alibi).
    """
    n_k = n_q if n_k is None else n_k
    if not (isinstance(n_q, (int, np.integer)) and isinstance(n_k, (int, np.integer)) and 1 <= n_q <= n_k):
        raise ValueError(f"need whole numbers 1 <= n_q <= n_k, got n_q={n_q!r}, n_k={n_k!r}")
    i = np.arange(n_k - n_q, n_k)[:, None]  # (n_q, 1): query positions
    j = np.arange(n_k)[None, :]  # (1, n_k): key positions
    bias = alibi_slopes(n_heads)[:, None, None] * (j - i)  # (heads, n_q, n_k): −m_h · distance
    return np.where(j <= i, bias, -np.inf)


# ----------------------------------------------------------------------------- helpers and input checks


def _check_d(d):
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 2 or d % 2:
        raise ValueError(
            f"RoPE rotates pairs of features: the head dimension must be a positive even integer, got d={d!r}"
        )


def _check_factor(factor):
    number = isinstance(factor, (int, float, np.floating, np.integer)) and not isinstance(factor, bool)
    if not (number and factor > 0 and math.isfinite(factor)):
        raise ValueError(f"a scaling factor must be a positive finite number, got {factor!r}")


def _is_torch(x):
    return type(x).__module__.startswith("torch")


def _cos_sin(x, positions, base, interpolation):
    if x.ndim < 2:
        raise ValueError(f"x must have shape (..., n, d), got shape {tuple(x.shape)}")
    n, d = x.shape[-2], x.shape[-1]
    _check_d(d)
    positions = np.asarray(positions.cpu() if _is_torch(positions) else positions, dtype=np.float64)
    if positions.shape != (n,):
        raise ValueError(f"positions must have shape (n,) = ({n},), one per row of x {tuple(x.shape)}, "
                         f"got {positions.shape}")
    angles = rope_angles(positions, d, base, interpolation)  # (n, d/2), float64
    cos, sin = np.cos(angles), np.sin(angles)
    if _is_torch(x):
        import torch

        return (torch.as_tensor(cos, dtype=x.dtype, device=x.device),
                torch.as_tensor(sin, dtype=x.dtype, device=x.device))
    return cos, sin


def _interleave(even, odd):
    if _is_torch(even):
        import torch

        return torch.stack([even, odd], dim=-1).flatten(-2)  # (..., n, d/2, 2) -> (..., n, d)
    return np.stack([even, odd], axis=-1).reshape(*even.shape[:-1], -1)


def _concat(first, second):
    if _is_torch(first):
        import torch

        return torch.cat([first, second], dim=-1)
    return np.concatenate([first, second], axis=-1)
