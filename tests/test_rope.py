"""utils.rope: RoPE in both layouts equals transformers' Llama code, ALiBi equals Bloom's,
the score depends on the offset only, and bad input gets a clear error."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from utils import rope


def _llama_rotary(head_dim, base, positions, dtype=torch.float64):
    """transformers' own LlamaRotaryEmbedding: cos, sin of shape (1, n, head_dim)."""
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

    config = LlamaConfig(hidden_size=head_dim * 2, num_attention_heads=2, head_dim=head_dim,
                         rope_parameters={"rope_type": "default", "rope_theta": base},
                         max_position_embeddings=64)
    module = LlamaRotaryEmbedding(config)
    return module(torch.zeros(1, dtype=dtype), torch.as_tensor(positions)[None])


@pytest.mark.parametrize("head_dim, base, n", [(6, 10000.0, 5), (16, 500000.0, 11), (2, 100.0, 3)])
def test_rotate_halves_equals_transformers_llama_rotary_code(head_dim, base, n):
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

    g = torch.Generator().manual_seed(head_dim + n)
    q = torch.randn(2, 3, n, head_dim, generator=g, dtype=torch.float64)   # (batch, heads, n, d)
    k = torch.randn(2, 3, n, head_dim, generator=g, dtype=torch.float64)
    positions = torch.randperm(900, generator=g)[:n] + 17                   # unseen, unordered positions
    cos, sin = _llama_rotary(head_dim, base, positions)                     # float32 angles inside
    q_hf, k_hf = apply_rotary_pos_emb(q, k, cos, sin)
    q_ours, k_ours = rope.rotate_halves(q, positions, base), rope.rotate_halves(k, positions, base)
    # Llama computes its angles in float32; positions below 1000 lose at most ~1e-4 radians
    assert torch.allclose(q_ours, q_hf, atol=5e-4) and torch.allclose(k_ours, k_hf, atol=5e-4)
    # with float64 cos and sin, the same formula agrees to float64 precision
    angles = torch.from_numpy(rope.rope_angles(positions.numpy(), head_dim, base))   # (n, d/2)
    emb = torch.cat([angles, angles], dim=-1)[None]                                  # (1, n, d)
    q_hf64, _ = apply_rotary_pos_emb(q, k, emb.cos(), emb.sin())
    assert torch.allclose(q_ours, q_hf64, atol=1e-12, rtol=0)


def test_interleaved_and_halves_are_one_permutation_apart():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 7, 10))                                          # (..., n, d)
    positions = rng.integers(0, 5000, size=7)
    perm = rope.halves_permutation(10)
    halves = rope.rotate_halves(x[..., perm], positions)
    assert np.allclose(halves, rope.rotate_interleaved(x, positions)[..., perm], atol=1e-12)
    assert sorted(perm.tolist()) == list(range(10)) and perm[:5].tolist() == [0, 2, 4, 6, 8]
    # and the two layouts are different functions of the same features
    assert not np.allclose(rope.rotate_halves(x, positions), rope.rotate_interleaved(x, positions))


def test_interleaved_is_complex_multiplication_by_e_to_the_i_m_theta():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(5, 8))
    positions = np.array([0, 3, 11, 250, 7])
    z = x[:, 0::2] + 1j * x[:, 1::2]                                         # (5, 4) complex pairs
    rotated = z * np.exp(1j * positions[:, None] * rope.frequencies(8))
    out = rope.rotate_interleaved(x, positions)
    assert np.allclose(out[:, 0::2], rotated.real, atol=1e-12)
    assert np.allclose(out[:, 1::2], rotated.imag, atol=1e-12)
    assert np.allclose(out[0], x[0])                                         # position 0: no rotation


def test_numpy_and_torch_give_the_same_rotation():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 6, 12))
    positions = np.arange(40, 46)
    for rotate in (rope.rotate_interleaved, rope.rotate_halves):
        from_torch = rotate(torch.from_numpy(x), torch.from_numpy(positions)).numpy()
        assert np.allclose(from_torch, rotate(x, positions), atol=1e-12)


@pytest.mark.parametrize("rotate", [rope.rotate_interleaved, rope.rotate_halves])
def test_score_depends_only_on_the_offset(rotate):
    rng = np.random.default_rng(6)
    q, k = rng.normal(size=(1, 16)), rng.normal(size=(1, 16))
    for m, n, shift in [(5, 2, 100), (0, 40, 3000), (1234, 7, -7)]:
        score = (rotate(q, [m]) @ rotate(k, [n]).T).item()
        shifted = (rotate(q, [m + shift]) @ rotate(k, [n + shift]).T).item()
        assert abs(score - shifted) < 1e-10 * (1 + abs(score))
    # rotations keep lengths, and a non-zero offset changes the score
    assert np.isclose(np.linalg.norm(rotate(q, [977])), np.linalg.norm(q))
    forward, backward = (rotate(q, [5]) @ rotate(k, [2]).T).item(), (rotate(q, [2]) @ rotate(k, [5]).T).item()
    assert not np.isclose(forward, backward)


def test_interpolation_divides_positions_and_ntk_base_keeps_the_fastest_pair():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(3, 8))
    interpolated = rope.rotate_halves(x, [8, 12, 40], interpolation=4.0)
    assert np.allclose(interpolated, rope.rotate_halves(x, [2, 3, 10]))
    base = rope.ntk_base(10000.0, 4.0, 8)
    slow, fast = rope.frequencies(8, base), rope.frequencies(8)
    assert np.isclose(slow[0], fast[0]) and np.isclose(slow[-1], fast[-1] / 4)


def test_interpolation_equals_transformers_linear_rope_scaling():
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

    config = LlamaConfig(hidden_size=16, num_attention_heads=2, head_dim=8, max_position_embeddings=64,
                         rope_parameters={"rope_type": "linear", "rope_theta": 10000.0, "factor": 4.0})
    positions = torch.tensor([[3, 50, 199]])
    cos, sin = LlamaRotaryEmbedding(config)(torch.zeros(1, dtype=torch.float64), positions)
    angles = rope.rope_angles([3, 50, 199], 8, interpolation=4.0)
    assert np.allclose(cos[0, :, :4].numpy(), np.cos(angles), atol=1e-6)
    assert np.allclose(sin[0, :, 4:].numpy(), np.sin(angles), atol=1e-6)


@pytest.mark.parametrize("n_heads", [1, 2, 3, 5, 8, 12, 16])
def test_alibi_equals_bloom_build_alibi_tensor(n_heads):
    from transformers.models.bloom.modeling_bloom import build_alibi_tensor

    n = 9
    bloom = build_alibi_tensor(torch.ones(1, n), n_heads, torch.float64).numpy()   # (heads, 1, n): m_h · j
    slopes = rope.alibi_slopes(n_heads)
    assert np.allclose(bloom[:, 0, 1], slopes)
    bias = rope.alibi_bias(n_heads, n)                                              # (heads, n, n)
    # Bloom adds m_h · j; ALiBi's −m_h · (i − j) differs by m_h · i, constant along each row,
    # so after the causal mask the softmax weights are the same
    keep = np.tril(np.ones((n, n), bool))
    diff = np.where(keep, bias - bloom, np.nan)
    assert np.allclose(np.nanmax(diff, axis=-1), np.nanmin(diff, axis=-1))
    scores = np.random.default_rng(n_heads).normal(size=(n_heads, n, n))

    def softmax(s):
        s = np.where(keep, s, -np.inf)
        e = np.exp(s - s.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    assert np.allclose(softmax(scores + bias), softmax(scores + bloom))


def test_alibi_slopes_are_the_papers_geometric_sequence():
    assert np.allclose(rope.alibi_slopes(8), [2.0 ** -k for k in range(1, 9)])
    assert np.allclose(rope.alibi_slopes(4), [2.0 ** -k for k in (2, 4, 6, 8)])
    bias = rope.alibi_bias(2, 2, 5)                                 # the last two queries of 5 keys
    assert bias.shape == (2, 2, 5) and bias[0, 0, 3] == 0 and bias[0, 0, 4] == -np.inf
    assert np.isclose(bias[1, 1, 0], -4 * rope.alibi_slopes(2)[1])


@pytest.mark.parametrize("call, words", [
    (lambda: rope.rotate_halves(np.zeros((3, 7)), [0, 1, 2]), "even"),
    (lambda: rope.rotate_interleaved(np.zeros((3, 8)), [0, 1]), "positions must have shape"),
    (lambda: rope.rotate_interleaved(np.zeros(8), [0]), "shape (..., n, d)"),
    (lambda: rope.frequencies(0), "even"),
    (lambda: rope.frequencies(8, base=1.0), "greater than 1"),
    (lambda: rope.rope_angles([1, 2], 8, interpolation=0), "positive finite"),
    (lambda: rope.ntk_base(10000.0, -2.0, 8), "positive finite"),
    (lambda: rope.ntk_base(10000.0, 2.0, 2), "d >= 4"),
    (lambda: rope.alibi_slopes(0), "positive integer"),
    (lambda: rope.alibi_slopes(2.5), "positive integer"),
    (lambda: rope.alibi_bias(4, 5, 3), "n_q <= n_k"),
])
def test_bad_input_gets_a_clear_error(call, words):
    with pytest.raises(ValueError, match=None) as err:
        call()
    assert words in str(err.value)
