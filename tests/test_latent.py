"""utils.latent: MLA's absorbed form equals the naive form, decoding from a latent cache equals the
full forward, the MHA special case equals PyTorch's attention; linear attention's three forms
agree, equal a direct O(n²) computation, are causal; bad input gets a clear error; and the
checks would catch a wrong normalisation."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from utils import latent
from utils.decoder import DecoderOnlyLM


def _mla(seed, d_model=24, n_heads=3, d_head=8, d_latent=10, d_rope=4):
    torch.manual_seed(seed)
    return latent.MultiHeadLatentAttention(d_model, n_heads, d_head, d_latent, d_rope).double()


def _x(B, n, d, seed=0):
    return torch.randn(B, n, d, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


CASES = [(1, 1, 4, 0), (2, 13, 10, 4), (3, 7, 30, 6), (1, 20, 2, 2)]


@pytest.mark.parametrize("B, n, d_latent, d_rope", CASES)
def test_mla_absorbed_form_equals_the_form_that_rebuilds_keys_and_values(B, n, d_latent, d_rope):
    layer = _mla(n, d_latent=d_latent, d_rope=d_rope)
    X = _x(B, n, 24, seed=d_latent)
    with torch.no_grad():
        naive, w_naive, cache_naive = layer(X)
        absorbed, w_absorbed, cache_absorbed = layer(X, absorbed=True)
    assert torch.allclose(naive, absorbed, atol=1e-12) and torch.allclose(w_naive, w_absorbed, atol=1e-12)
    assert torch.equal(cache_naive.latents, cache_absorbed.latents)
    assert tuple(cache_naive.latents.shape) == (B, n, d_latent)
    assert tuple(cache_naive.rope_keys.shape) == (B, n, d_rope)


@pytest.mark.parametrize("absorbed", [False, True])
def test_mla_decoding_from_the_latent_cache_equals_the_full_forward(absorbed):
    layer = _mla(5)
    X = _x(2, 17, 24, seed=3)
    with torch.no_grad():
        full, weights, _ = layer(X)
        out, cache = [], None
        first, _, cache = layer(X[:, :5], cache, absorbed=absorbed)  # a prompt of 5, then one at a time
        out.append(first)
        for t in range(5, 17):
            o, w, cache = layer(X[:, t : t + 1], cache, absorbed=absorbed)
            out.append(o)
            assert torch.allclose(w[:, :, 0], weights[:, :, t, : t + 1], atol=1e-12)
    assert torch.allclose(torch.cat(out, dim=1), full, atol=1e-12)
    assert cache.length == 17 and cache.nbytes == 2 * 17 * (10 + 4) * 8


def test_mla_without_rope_equals_pytorch_attention_on_the_rebuilt_keys_and_values():
    layer = _mla(2, d_rope=0)
    X = _x(2, 11, 24)
    with torch.no_grad():
        ours, _, _ = layer(X)
        c = layer.w_dkv(X)
        K, V = layer.split(layer.w_uk(c), 8), layer.split(layer.w_uv(c), 8)  # (B, h, n, d_head)
        Q = layer.split(layer.w_q(X), 8)
        heads = F.scaled_dot_product_attention(Q, K, V, is_causal=True)  # (B, h, n, d_head)
        ref = layer.w_o(heads.transpose(1, 2).reshape(2, 11, 24))
    assert torch.allclose(ours, ref, atol=1e-12)


def test_mla_is_causal():
    layer = _mla(4)
    X = _x(1, 12, 24)
    changed = X.clone()
    changed[0, 8:] += 1.0
    with torch.no_grad():
        a, _, _ = layer(X, absorbed=True)
        b, _, _ = layer(changed, absorbed=True)
    assert torch.equal(a[0, :8], b[0, :8]) and not torch.allclose(a[0, 8:], b[0, 8:])


def test_bytes_per_token_of_the_four_caches():
    n, d_model, h, d_head = 6, 32, 4, 8
    per_token = {}
    for g in (4, 2, 1):
        model = DecoderOnlyLM(7, d_model=d_model, n_heads=h, n_layers=1, n_kv_heads=g)
        with torch.no_grad():
            _, cache, _ = model(torch.zeros(1, n, dtype=torch.long))
        per_token[g] = latent.bytes_per_token(cache)
    layer = latent.MultiHeadLatentAttention(d_model, h, d_head, 4 * d_head, d_head // 2)
    with torch.no_grad():
        _, _, lc = layer(torch.randn(1, n, d_model))
    assert per_token == {4: 2 * 4 * 8 * 4, 2: 2 * 2 * 8 * 4, 1: 2 * 1 * 8 * 4}
    assert latent.bytes_per_token(lc) == (4 * d_head + d_head // 2) * 4 == 2.25 * per_token[4] / 4


def _direct(Q, K, V, phi):
    """Row by row, straight from the definition: no shared code with utils.latent."""
    n = Q.shape[-2]
    out = torch.zeros(*Q.shape[:-1], V.shape[-1], dtype=Q.dtype)
    for i in range(n):
        sims = torch.stack([(phi(Q[..., i, :]) * phi(K[..., j, :])).sum(-1) for j in range(i + 1)], dim=-1)
        out[..., i, :] = (sims[..., :, None] * V[..., : i + 1, :]).sum(-2) / sims.sum(-1, keepdim=True)
    return out


@pytest.mark.parametrize("feature", ["elu+1", "exp", "identity"])
def test_linear_attention_three_forms_equal_the_direct_computation(feature):
    g = torch.Generator().manual_seed(1)
    Q = torch.randn(2, 3, 9, 5, generator=g, dtype=torch.float64)
    K = torch.randn(2, 3, 9, 5, generator=g, dtype=torch.float64)
    V = torch.randn(2, 3, 9, 6, generator=g, dtype=torch.float64)
    ref = _direct(Q, K, V, latent.feature_map(feature))
    mask = torch.ones(9, 9, dtype=torch.bool).tril()
    weights_form, weights = latent.linear_attention(Q, K, V, feature, mask)
    assert torch.allclose(weights_form, ref, atol=1e-9)
    assert torch.allclose(latent.linear_attention_prefix_sums(Q, K, V, feature), ref, atol=1e-9)
    recurrent, (S, z) = latent.linear_attention_recurrent(Q, K, V, feature)
    assert torch.allclose(recurrent, ref, atol=1e-9)
    assert tuple(S.shape) == (2, 3, 5, 6) and tuple(z.shape) == (2, 3, 5)
    if feature != "identity":  # a positive feature map: a proper causal attention map
        assert (weights >= 0).all()
        assert torch.allclose(weights.sum(-1), torch.ones(2, 3, 9, dtype=torch.float64))
        assert (weights.triu(1) == 0).all()


def test_recurrent_state_carries_over_between_calls():
    g = torch.Generator().manual_seed(2)
    Q, K, V = (torch.randn(12, 4, generator=g, dtype=torch.float64) for _ in range(3))
    whole, state = latent.linear_attention_recurrent(Q, K, V, "relu")
    first, mid = latent.linear_attention_recurrent(Q[:7], K[:7], V[:7], "relu")
    second, end = latent.linear_attention_recurrent(Q[7:], K[7:], V[7:], "relu", state=mid)
    assert torch.allclose(torch.cat([first, second]), whole, atol=1e-12)
    assert torch.allclose(end[0], state[0]) and torch.allclose(end[1], state[1])


def test_relu_row_with_no_similarity_gets_zero_not_nan():
    Q = torch.tensor([[-1.0, -1.0], [1.0, 0.5]], dtype=torch.float64)
    K = torch.tensor([[1.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    V = torch.tensor([[2.0], [3.0]], dtype=torch.float64)
    mask = torch.ones(2, 2, dtype=torch.bool).tril()
    out, w = latent.linear_attention(Q, K, V, "relu", mask)
    assert torch.equal(w[0], torch.zeros(2, dtype=torch.float64)) and out[0, 0] == 0
    assert torch.equal(latent.linear_attention_prefix_sums(Q, K, V, "relu"), out)


def test_linear_attention_is_causal():
    g = torch.Generator().manual_seed(3)
    Q, K, V = (torch.randn(10, 4, generator=g, dtype=torch.float64) for _ in range(3))
    K2, V2 = K.clone(), V.clone()
    K2[6:] += 2.0
    V2[6:] -= 1.0
    a = latent.linear_attention_prefix_sums(Q, K, V)
    b = latent.linear_attention_prefix_sums(Q, K2, V2)
    assert torch.equal(a[:6], b[:6]) and not torch.allclose(a[6:], b[6:])


def test_a_wrong_normalisation_would_be_caught():
    """The mutation: normalise by the sum over *all* keys instead of the allowed ones."""
    g = torch.Generator().manual_seed(4)
    Q, K, V = (torch.randn(8, 4, generator=g, dtype=torch.float64) for _ in range(3))
    phi = latent.feature_map("elu+1")
    sim = phi(Q) @ phi(K).T
    wrong = (sim * torch.ones(8, 8).tril()) / sim.sum(-1, keepdim=True) @ V
    assert not torch.allclose(wrong, latent.linear_attention_prefix_sums(Q, K, V), atol=1e-3)
    assert torch.allclose(_direct(Q, K, V, phi), latent.linear_attention_prefix_sums(Q, K, V), atol=1e-12)


def test_linear_multihead_layer_keeps_the_softmax_layer_parameters_and_is_a_proper_map():
    from utils.layers import MultiHeadAttention

    torch.manual_seed(0)
    soft = MultiHeadAttention(16, 2)
    lin = latent.LinearMultiHeadAttention(16, 2, "elu+1")
    lin.load_state_dict(soft.state_dict())
    X = torch.randn(2, 7, 16)
    mask = torch.ones(7, 7, dtype=torch.bool).tril()
    out, w = lin(X, X, X, mask)
    assert out.shape == (2, 7, 16) and w.shape == (2, 2, 7, 7)
    assert torch.allclose(w.sum(-1), torch.ones(2, 2, 7)) and (w.triu(1) == 0).all()


@pytest.mark.parametrize("call, match", [
    (lambda: latent.feature_map("softplus"), r"unknown feature map 'softplus'"),
    (lambda: latent.linear_attention(torch.ones(3, 4), torch.ones(3, 5), torch.ones(3, 2)), r"expected Q"),
    (lambda: latent.linear_attention(torch.ones(3, 4), torch.ones(3, 4), torch.ones(2, 2)), r"expected Q"),
    (lambda: latent.linear_attention(torch.ones(4), torch.ones(3, 4), torch.ones(3, 2)), r"Q must be"),
    (lambda: latent.linear_attention_prefix_sums(torch.ones(2, 4), torch.ones(3, 4), torch.ones(3, 2)),
     r"n_q = n_k"),
    (lambda: latent.linear_attention(torch.full((3, 4), math.nan), torch.ones(3, 4), torch.ones(3, 2)),
     r"non-finite"),
    (lambda: latent.linear_attention_recurrent(torch.ones(3, 4), torch.ones(3, 4), torch.ones(3, 2),
                                               state=(torch.zeros(4, 3), torch.zeros(4))), r"does not fit"),
    (lambda: latent.LinearMultiHeadAttention(8, 2, "tanh"), r"unknown feature map"),
    (lambda: latent.feature_map(["elu+1"]), r"unknown feature map"),
    (lambda: latent.linear_attention(torch.ones(3, 4), torch.ones(3, 4), torch.ones(3, 2),
                                     mask=torch.zeros(3, 3)), r"boolean tensor"),
    (lambda: latent.linear_attention(torch.ones(3, 4), torch.ones(3, 4), torch.ones(3, 2),
                                     mask=torch.ones(2, 2, dtype=torch.bool)), r"does not broadcast"),
    (lambda: latent.linear_attention(torch.ones(2, 3, 4), torch.ones(3, 3, 4), torch.ones(3, 3, 2)),
     r"do not broadcast"),
    (lambda: latent.linear_attention(torch.ones(3, 4, dtype=torch.long), torch.ones(3, 4), torch.ones(3, 2)),
     r"floating-point"),
    (lambda: latent.linear_attention(torch.full((3, 4), 100.0), torch.ones(3, 4), torch.ones(3, 2), "exp"),
     r"overflowed on Q"),
    (lambda: latent.linear_attention_prefix_sums(torch.ones(3, 4), torch.full((3, 4), 100.0),
                                                 torch.ones(3, 2), "exp"), r"overflowed on K"),
    (lambda: latent.linear_attention_recurrent(torch.ones(3, 4), torch.ones(3, 4), torch.ones(3, 2),
                                               state=(torch.zeros(4, 2),)), r"the pair \(S, z\)"),
    (lambda: latent.linear_attention_recurrent(torch.ones(3, 4), torch.ones(3, 4), torch.ones(3, 2),
                                               state=(torch.full((4, 2), math.nan), torch.zeros(4))),
     r"non-finite"),
    (lambda: latent.MultiHeadLatentAttention(8, 2, 4, 0), r"d_latent"),
    (lambda: latent.MultiHeadLatentAttention(8, 2, 4, 4, d_rope=3), r"d_rope"),
    (lambda: latent.MultiHeadLatentAttention(8, 2, 4, 4)(torch.ones(1, 3, 7)), r"d_model=8"),
    (lambda: latent.MultiHeadLatentAttention(8, 2, 4, 4)(torch.full((1, 3, 8), math.inf)), r"non-finite"),
    (lambda: latent.MultiHeadLatentAttention(8, 2, 4, 4)(torch.ones(1, 3, 8), cache="no"), r"LatentCache"),
    (lambda: latent.bytes_per_token([1, 2]), r"KVCache or a LatentCache"),
])
def test_bad_input_gets_a_clear_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_a_cache_of_another_shape_is_refused():
    layer = latent.MultiHeadLatentAttention(8, 2, 4, 4, 2)
    with torch.no_grad():
        _, _, cache = layer(torch.ones(2, 3, 8))
        with pytest.raises(ValueError, match=r"do not fit"):
            layer(torch.ones(1, 1, 8), cache)
