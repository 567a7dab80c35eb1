"""utils.layers (PyTorch): the book's modules against PyTorch's own, given the same weights.

PyTorch's nn.MultiheadAttention and nn.Transformer* layers read a boolean mask the other way
round (True = blocked), so every comparison passes them ``~mask``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from utils import attention as A
from utils import layers as L

D_MODEL, N_HEADS, D_FF = 12, 3, 20
F64 = torch.float64


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def randn(*shape):
    return torch.randn(*shape, dtype=F64)


def random_mask(*shape, p=0.6):
    """Random bool mask (True = may attend) where every row has at least one True."""
    mask = torch.rand(*shape) < p
    mask[..., 0] |= ~mask.any(-1)
    return mask


@torch.no_grad()
def copy_mha_by_hand(ours, theirs):
    """Independent of utils.layers.copy_from_torch_mha: split PyTorch's stacked in_proj."""
    W_q, W_k, W_v = theirs.in_proj_weight.chunk(3)
    b_q, b_k, b_v = theirs.in_proj_bias.chunk(3)
    for linear, W, b in [(ours.w_q, W_q, b_q), (ours.w_k, W_k, b_k), (ours.w_v, W_v, b_v),
                         (ours.w_o, theirs.out_proj.weight, theirs.out_proj.bias)]:
        linear.weight.copy_(W)
        linear.bias.copy_(b)


def torch_mha():
    return nn.MultiheadAttention(D_MODEL, N_HEADS, batch_first=True, dtype=F64)


# ----------------------------------------------------------------------------- masked softmax


def test_torch_masked_softmax_equals_numpy():
    scores = randn(2, 3, 5)
    mask = torch.rand(2, 3, 5) < 0.5
    mask[1, 2] = False  # a fully masked row
    ours = L.masked_softmax(scores, mask)
    np.testing.assert_allclose(ours.numpy(), A.masked_softmax(scores.numpy(), mask.numpy()), atol=1e-15)
    assert torch.all(ours[1, 2] == 0)


def test_torch_masked_softmax_without_empty_rows_is_bitwise_the_general_path():
    """Rows that all have a key take a shorter path: the same weights and gradients, bit for bit."""
    torch.manual_seed(0)
    cases = (((2, 3, 5, 5), L.causal_mask(5)), ((2, 4, 6), L.padding_mask(torch.tensor([6, 2]), 6)))
    for shape, mask in cases:
        garbage = torch.full(shape, float("nan"))
        garbage[..., ::2] = float("inf")  # masked scores may be anything: they still get weight 0
        scores = torch.where(mask, torch.randn(shape), garbage).requires_grad_()
        upstream = torch.randn(shape)
        row_ok = mask.any(dim=-1, keepdim=True)
        filled = scores.masked_fill(~mask, float("-inf")).masked_fill(~row_ok, 0.0)
        general = F.softmax(filled, dim=-1) * row_ok
        (general_grad,) = torch.autograd.grad((general * upstream).sum(), scores)
        ours = L.masked_softmax(scores, mask)
        (ours_grad,) = torch.autograd.grad((ours * upstream).sum(), scores)
        assert torch.equal(ours, general) and torch.equal(ours_grad, general_grad)
        assert torch.all(ours[~mask.expand(shape)] == 0)


def test_torch_masked_softmax_fully_masked_row_has_zero_gradient_not_nan():
    scores = randn(2, 4).requires_grad_()
    mask = torch.tensor([[True, False, True, True], [False] * 4])
    (L.masked_softmax(scores, mask) * randn(2, 4)).sum().backward()
    assert torch.isfinite(scores.grad).all()
    assert torch.all(scores.grad[1] == 0)
    assert torch.all(scores.grad[0, 1] == 0)


def test_torch_masks_equal_numpy_masks():
    np.testing.assert_array_equal(L.causal_mask(5).numpy(), A.causal_mask(5))
    lens = [3, 0, 6]
    np.testing.assert_array_equal(L.padding_mask(torch.tensor(lens), 5).numpy(), A.padding_mask(lens, 5))
    per_query = np.array([[1, 2], [4, 0]])
    np.testing.assert_array_equal(L.padding_mask(torch.from_numpy(per_query), 4).numpy(),
                                  A.padding_mask(per_query, 4))


# ----------------------------------------------------------------------------- attention layers


@pytest.mark.parametrize("with_mask", [False, True])
def test_scaled_dot_product_attention_equals_torch_sdpa_and_numpy(with_mask):
    Q, K, V = randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 6)
    mask = random_mask(2, 3, 5) if with_mask else None
    out, weights = L.ScaledDotProductAttention()(Q, K, V, mask=mask)
    assert out.shape == (2, 3, 6) and weights.shape == (2, 3, 5)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(Q, K, V, attn_mask=mask),
                               atol=1e-6, rtol=0)
    np_out, np_weights = A.attention(Q.numpy(), K.numpy(), V.numpy(),
                                     mask=None if mask is None else mask.numpy())
    np.testing.assert_allclose(out.numpy(), np_out, atol=1e-12)
    np.testing.assert_allclose(weights.numpy(), np_weights, atol=1e-12)


def test_valid_lens_equal_the_padding_mask():
    Q, K, V = randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 6)
    lens = torch.tensor([2, 4])
    layer = L.ScaledDotProductAttention()
    torch.testing.assert_close(layer(Q, K, V, valid_lens=lens), layer(Q, K, V, mask=L.padding_mask(lens, 5)))
    with pytest.raises(ValueError, match="either mask or valid_lens"):
        layer(Q, K, V, mask=L.padding_mask(lens, 5), valid_lens=lens)


def test_additive_attention_equals_numpy_additive_score():
    d_q, d_k, h = 3, 5, 4
    layer = L.AdditiveAttention(key_size=d_k, query_size=d_q, num_hiddens=h).double()
    Q, K, V = randn(2, 4, d_q), randn(2, 6, d_k), randn(2, 6, 2)
    mask = random_mask(2, 4, 6)
    out, weights = layer(Q, K, V, mask=mask)
    # nn.Linear stores (out, in); the NumPy function takes (in, out) because vectors are rows
    W_q, W_k = layer.W_q.weight.detach().T.numpy(), layer.W_k.weight.detach().T.numpy()
    w_v = layer.w_v.weight.detach()[0].numpy()
    np_out, np_weights = A.attention(Q.numpy(), K.numpy(), V.numpy(), mask=mask.numpy(),
                                     score=lambda q, k: A.additive_score(q, k, W_q, W_k, w_v))
    np.testing.assert_allclose(weights.detach().numpy(), np_weights, atol=1e-12)
    np.testing.assert_allclose(out.detach().numpy(), np_out, atol=1e-12)
    # keys projected once by the caller (as BahdanauDecoder does): the same output, bit for bit
    again = layer(Q, K, V, mask=mask, projected_keys=layer.project_keys(K))
    assert torch.equal(again[0], out) and torch.equal(again[1], weights)


def test_d2l_example_additive_and_dot_attention():
    """d2l §11.3 (attention scoring functions): equal keys → averages of the valid values."""
    values = torch.arange(40, dtype=torch.float32).reshape(1, 10, 4).repeat(2, 1, 1)  # (2, 10, 4)
    keys = torch.ones(2, 10, 2)
    valid_lens = torch.tensor([2, 6])
    expected = torch.tensor([[[2.0, 3.0, 4.0, 5.0]], [[10.0, 11.0, 12.0, 13.0]]])

    additive = L.AdditiveAttention(key_size=2, query_size=20, num_hiddens=8)
    additive.eval()
    out, weights = additive(torch.normal(0, 1, (2, 1, 20)), keys, values, valid_lens=valid_lens)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(weights[0, 0, :2], torch.full((2,), 0.5))

    dot = L.ScaledDotProductAttention()
    dot.eval()
    out, weights = dot(torch.normal(0, 1, (2, 1, 2)), keys, values, valid_lens=valid_lens)
    torch.testing.assert_close(out, expected)
    assert torch.all(weights[1, 0, 6:] == 0)


def test_attention_layers_fully_masked_query_gives_zero_output():
    Q, K, V = randn(1, 2, 4), randn(1, 3, 4), randn(1, 3, 2)
    mask = torch.tensor([[[True, True, False], [False, False, False]]])
    for layer in [L.ScaledDotProductAttention(), L.AdditiveAttention(4, 4, 5).double()]:
        out, weights = layer(Q, K, V, mask=mask)
        assert torch.all(out[0, 1] == 0) and torch.all(weights[0, 1] == 0)
        assert torch.isfinite(out).all()


# ----------------------------------------------------------------------------- multi-head


def mha_pair(cls=L.MultiHeadAttention):
    theirs = torch_mha()
    ours = cls(D_MODEL, N_HEADS).double()
    copy_mha_by_hand(ours, theirs)
    return ours, theirs


@pytest.mark.parametrize("cls", [L.MultiHeadAttention, L.MultiHeadAttentionLoop])
def test_mha_equals_torch_without_mask_cross_attention(cls):
    ours, theirs = mha_pair(cls)
    q, kv = randn(2, 4, D_MODEL), randn(2, 6, D_MODEL)
    v = randn(2, 6, D_MODEL)
    out, weights = ours(q, kv, v)
    ref_out, ref_weights = theirs(q, kv, v, average_attn_weights=False)
    assert out.shape == (2, 4, D_MODEL) and weights.shape == (2, N_HEADS, 4, 6)
    torch.testing.assert_close(out, ref_out, atol=1e-10, rtol=0)
    torch.testing.assert_close(weights, ref_weights, atol=1e-12, rtol=0)


@pytest.mark.parametrize("cls", [L.MultiHeadAttention, L.MultiHeadAttentionLoop])
def test_mha_equals_torch_with_causal_mask(cls):
    ours, theirs = mha_pair(cls)
    x = randn(2, 5, D_MODEL)
    mask = L.causal_mask(5)
    out, weights = ours(x, x, x, mask=mask)
    ref_out, ref_weights = theirs(x, x, x, attn_mask=~mask, average_attn_weights=False)  # True = blocked
    torch.testing.assert_close(out, ref_out, atol=1e-10, rtol=0)
    torch.testing.assert_close(weights, ref_weights, atol=1e-12, rtol=0)


@pytest.mark.parametrize("cls", [L.MultiHeadAttention, L.MultiHeadAttentionLoop])
def test_mha_equals_torch_with_key_padding(cls):
    ours, theirs = mha_pair(cls)
    q, kv = randn(3, 4, D_MODEL), randn(3, 6, D_MODEL)
    lens = torch.tensor([6, 2, 4])
    mask = L.padding_mask(lens, 6)  # (B, 1, n_k), True = may attend
    out, weights = ours(q, kv, kv, mask=mask)
    key_padding_mask = torch.arange(6) >= lens[:, None]  # (B, n_k), True = padding (blocked)
    ref_out, ref_weights = theirs(q, kv, kv, key_padding_mask=key_padding_mask, average_attn_weights=False)
    torch.testing.assert_close(out, ref_out, atol=1e-10, rtol=0)
    torch.testing.assert_close(weights, ref_weights, atol=1e-12, rtol=0)
    assert torch.all(weights[1, :, :, 2:] == 0)


@pytest.mark.parametrize("cls", [L.MultiHeadAttention, L.MultiHeadAttentionLoop])
def test_mha_equals_torch_with_a_different_mask_per_head(cls):
    ours, theirs = mha_pair(cls)
    B, n_q, n_k = 2, 3, 5
    q, kv = randn(B, n_q, D_MODEL), randn(B, n_k, D_MODEL)
    mask = random_mask(B, N_HEADS, n_q, n_k)
    out, weights = ours(q, kv, kv, mask=mask)
    # PyTorch's 3-D attn_mask is (B · n_heads, n_q, n_k), batch-major
    ref_out, ref_weights = theirs(q, kv, kv, attn_mask=~mask.reshape(B * N_HEADS, n_q, n_k),
                                  average_attn_weights=False)
    torch.testing.assert_close(out, ref_out, atol=1e-10, rtol=0)
    torch.testing.assert_close(weights, ref_weights, atol=1e-12, rtol=0)


def test_copy_from_torch_mha_equals_copy_by_hand():
    theirs = torch_mha()
    ours = L.copy_from_torch_mha(L.MultiHeadAttention(D_MODEL, N_HEADS).double(), theirs)
    by_hand = L.MultiHeadAttention(D_MODEL, N_HEADS).double()
    copy_mha_by_hand(by_hand, theirs)
    for (name, a), (_, b) in zip(ours.state_dict().items(), by_hand.state_dict().items()):
        assert torch.equal(a, b), name
    with pytest.raises(ValueError, match=r"num_heads=4"):
        L.copy_from_torch_mha(L.MultiHeadAttention(D_MODEL, N_HEADS), nn.MultiheadAttention(D_MODEL, 4))


def test_mha_loop_and_vectorised_agree_with_shared_state_dict():
    fast = L.MultiHeadAttention(8, 4, bias=False).double()
    loop = L.MultiHeadAttentionLoop(8, 4, bias=False).double()
    loop.load_state_dict(fast.state_dict())
    assert fast.w_q.bias is None
    x, mask = randn(2, 5, 8), random_mask(2, 5, 5)
    for a, b in zip(fast(x, x, x, mask), loop(x, x, x, mask)):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


def test_mha_head_i_is_attention_on_its_slice():
    mha = L.MultiHeadAttention(D_MODEL, N_HEADS).double()
    x = randn(1, 4, D_MODEL)
    _, weights = mha(x, x, x)
    d_head = D_MODEL // N_HEADS
    Q, K = mha.w_q(x).detach(), mha.w_k(x).detach()
    for i in range(N_HEADS):
        cols = slice(i * d_head, (i + 1) * d_head)
        expected = A.softmax(A.scaled_dot_score(Q[..., cols].numpy(), K[..., cols].numpy()))
        np.testing.assert_allclose(weights[:, i].detach().numpy(), expected, atol=1e-12)


# ----------------------------------------------------------------------------- blocks vs PyTorch


def encoder_pair():
    theirs = nn.TransformerEncoderLayer(D_MODEL, N_HEADS, D_FF, dropout=0.0, batch_first=True, dtype=F64)
    ours = L.copy_from_torch_encoder_layer(L.EncoderBlock(D_MODEL, N_HEADS, D_FF).double(), theirs)
    return ours, theirs


def decoder_pair():
    theirs = nn.TransformerDecoderLayer(D_MODEL, N_HEADS, D_FF, dropout=0.0, batch_first=True, dtype=F64)
    ours = L.copy_from_torch_decoder_layer(L.DecoderBlock(D_MODEL, N_HEADS, D_FF).double(), theirs)
    return ours, theirs


def test_encoder_block_equals_torch_encoder_layer():
    ours, theirs = encoder_pair()
    X = randn(3, 5, D_MODEL)
    Y, weights = ours(X)
    assert weights.shape == (3, N_HEADS, 5, 5)
    torch.testing.assert_close(Y, theirs(X), atol=1e-10, rtol=0)


def test_encoder_block_equals_torch_with_padding_and_causal_masks():
    ours, theirs = encoder_pair()
    X = randn(3, 5, D_MODEL)
    lens = torch.tensor([5, 3, 1])
    padding = L.padding_mask(lens, 5)  # (B, 1, n)
    Y, _ = ours(X, padding)
    expected = theirs(X, src_key_padding_mask=~padding[:, 0])
    torch.testing.assert_close(Y, expected, atol=1e-10, rtol=0)
    Y, _ = ours(X, L.causal_mask(5) & padding)
    expected = theirs(X, src_mask=~L.causal_mask(5), src_key_padding_mask=~padding[:, 0])
    torch.testing.assert_close(Y, expected, atol=1e-10, rtol=0)


def test_decoder_block_equals_torch_decoder_layer_with_masks():
    ours, theirs = decoder_pair()
    tgt, memory = randn(3, 4, D_MODEL), randn(3, 6, D_MODEL)
    causal = L.causal_mask(4)
    memory_mask = L.padding_mask(torch.tensor([6, 2, 5]), 6)  # (B, 1, n_s)
    Z, self_w, cross_w = ours(tgt, memory, causal, memory_mask)
    expected = theirs(tgt, memory, tgt_mask=~causal, memory_key_padding_mask=~memory_mask[:, 0])
    torch.testing.assert_close(Z, expected, atol=1e-10, rtol=0)
    assert self_w.shape == (3, N_HEADS, 4, 4) and cross_w.shape == (3, N_HEADS, 4, 6)
    assert torch.all(self_w.triu(1) == 0)
    assert torch.all(cross_w[1, ..., 2:] == 0)
    Z, _, _ = ours(tgt, memory)
    torch.testing.assert_close(Z, theirs(tgt, memory), atol=1e-10, rtol=0)


def test_encoder_and_decoder_stacks_equal_torch_stacks():
    enc_layer = nn.TransformerEncoderLayer(D_MODEL, N_HEADS, D_FF, dropout=0.0, batch_first=True, dtype=F64)
    dec_layer = nn.TransformerDecoderLayer(D_MODEL, N_HEADS, D_FF, dropout=0.0, batch_first=True, dtype=F64)
    their_enc = nn.TransformerEncoder(enc_layer, 2, enable_nested_tensor=False)
    their_dec = nn.TransformerDecoder(dec_layer, 2)
    for layer in list(their_enc.layers) + list(their_dec.layers):  # the clones start equal: make them differ
        with torch.no_grad():
            for p in layer.parameters():
                p.add_(0.1 * torch.randn_like(p))
    enc = L.Encoder(D_MODEL, N_HEADS, D_FF, 2).double()
    dec = L.Decoder(D_MODEL, N_HEADS, D_FF, 2).double()
    for ours, theirs in zip(enc.blocks, their_enc.layers):
        L.copy_from_torch_encoder_layer(ours, theirs)
    for ours, theirs in zip(dec.blocks, their_dec.layers):
        L.copy_from_torch_decoder_layer(ours, theirs)
    X, Y = randn(2, 5, D_MODEL), randn(2, 3, D_MODEL)
    padding = L.padding_mask(torch.tensor([5, 3]), 5)
    memory, enc_weights = enc(X, padding)
    torch.testing.assert_close(memory, their_enc(X, src_key_padding_mask=~padding[:, 0]), atol=1e-10, rtol=0)
    Z, dec_weights = dec(Y, memory, L.causal_mask(3), padding)
    expected = their_dec(Y, memory, tgt_mask=~L.causal_mask(3), memory_key_padding_mask=~padding[:, 0])
    torch.testing.assert_close(Z, expected, atol=1e-10, rtol=0)
    assert len(enc_weights) == 2 and len(dec_weights["self"]) == 2 and len(dec_weights["cross"]) == 2


def test_copy_refuses_pre_norm_or_gelu_layers():
    block = L.EncoderBlock(D_MODEL, N_HEADS, D_FF)
    pre_norm = nn.TransformerEncoderLayer(D_MODEL, N_HEADS, D_FF, norm_first=True)
    gelu = nn.TransformerEncoderLayer(D_MODEL, N_HEADS, D_FF, activation="gelu")
    with pytest.raises(ValueError, match=r"norm_first=True"):
        L.copy_from_torch_encoder_layer(block, pre_norm)
    with pytest.raises(ValueError, match=r"activation"):
        L.copy_from_torch_encoder_layer(block, gelu)


# ----------------------------------------------------------------------------- small modules


def test_sinusoidal_positional_encoding_adds_the_numpy_encoding():
    layer = L.PositionalEncoding(D_MODEL, max_len=50)
    X = torch.randn(2, 7, D_MODEL)
    out = layer(X)
    assert out.dtype == torch.float32
    np.testing.assert_allclose((out - X)[0].numpy(), A.sinusoidal_encoding(7, D_MODEL), atol=1e-6)
    assert list(layer.parameters()) == []
    odd = L.PositionalEncoding(5, max_len=10)(torch.zeros(1, 3, 5, dtype=F64))
    np.testing.assert_allclose(odd[0].numpy(), A.sinusoidal_encoding(3, 5), atol=1e-15)


def test_positional_encoding_longer_than_max_len_is_refused():
    with pytest.raises(ValueError, match=r"12 positions.*max_len=10"):
        L.PositionalEncoding(4, max_len=10)(torch.zeros(1, 12, 4))
    with pytest.raises(ValueError, match=r"12 positions.*max_len=10"):
        L.LearnedPositionalEncoding(4, max_len=10)(torch.zeros(1, 12, 4))


def test_learned_positional_encoding_adds_a_trainable_row_per_position():
    layer = L.LearnedPositionalEncoding(D_MODEL, max_len=20)
    X = torch.randn(2, 6, D_MODEL)
    out = layer(X)
    torch.testing.assert_close(out - X, layer.P.weight[:6].expand(2, -1, -1))
    out.sum().backward()
    assert layer.P.weight.grad[:6].abs().sum() > 0 and torch.all(layer.P.weight.grad[6:] == 0)


def test_position_wise_ffn_and_add_norm_formulas():
    ffn = L.PositionWiseFFN(D_MODEL, D_FF).double()
    X, Y = randn(2, 4, D_MODEL), randn(2, 4, D_MODEL)
    expected = F.relu(X @ ffn.dense1.weight.T + ffn.dense1.bias) @ ffn.dense2.weight.T + ffn.dense2.bias
    torch.testing.assert_close(ffn(X), expected)
    torch.testing.assert_close(ffn(X[:, [2]]), ffn(X)[:, [2]])  # each position on its own
    addnorm = L.AddNorm(D_MODEL).double()
    torch.testing.assert_close(addnorm(X, Y), F.layer_norm(X + Y, (D_MODEL,), eps=1e-5))


def test_every_dropout_is_off_by_default():
    modules = [L.ScaledDotProductAttention(), L.AdditiveAttention(3, 3, 3), L.MultiHeadAttention(4, 2),
               L.PositionalEncoding(4), L.LearnedPositionalEncoding(4), L.PositionWiseFFN(4, 8),
               L.AddNorm(4), L.Encoder(4, 2, 8, 2), L.Decoder(4, 2, 8, 2), L.Transformer(7, 7),
               L.GRUEncoder(7, 4, 6, num_layers=2), L.BahdanauDecoder(7, 4, 6, num_layers=2)]
    for module in modules:
        for sub in module.modules():
            if isinstance(sub, nn.Dropout):
                assert sub.p == 0, type(module).__name__
            if isinstance(sub, nn.GRU):
                assert sub.dropout == 0, type(module).__name__
    model = L.Transformer(7, 7).train()
    src, tgt = torch.randint(0, 7, (2, 5)), torch.randint(0, 7, (2, 4))
    torch.testing.assert_close(model(src, tgt)[0], model(src, tgt)[0], atol=0, rtol=0)


# ----------------------------------------------------------------------------- Transformer


def test_transformer_shapes_and_weights():
    model = L.Transformer(11, 9, d_model=16, n_heads=4, d_ff=32, n_layers=2)
    src, tgt = torch.randint(0, 11, (3, 6)), torch.randint(0, 9, (3, 4))
    logits, weights = model(src, tgt)
    assert logits.shape == (3, 4, 9)
    assert [w.shape for w in weights["encoder"]] == [(3, 4, 6, 6)] * 2
    assert [w.shape for w in weights["decoder_self"]] == [(3, 4, 4, 4)] * 2
    assert [w.shape for w in weights["decoder_cross"]] == [(3, 4, 4, 6)] * 2
    for w in weights["decoder_self"]:
        assert torch.all(w.triu(1) == 0)  # causal


def test_transformer_is_causal_in_the_target():
    model = L.Transformer(10, 10, d_model=16, n_heads=2, d_ff=32, n_layers=2)
    src, tgt = torch.randint(0, 10, (2, 5)), torch.randint(0, 10, (2, 6))
    changed = tgt.clone()
    changed[:, 4:] = (changed[:, 4:] + 1) % 10
    a, b = model(src, tgt)[0], model(src, changed)[0]
    torch.testing.assert_close(a[:, :4], b[:, :4])
    assert not torch.allclose(a[:, 4:], b[:, 4:])


def test_transformer_ignores_extra_source_padding():
    pad = 0
    model = L.Transformer(10, 10, d_model=16, n_heads=2, d_ff=32, n_layers=2, pad_id=pad).double()
    src = torch.randint(1, 10, (2, 5))
    src[1, 3:] = pad
    tgt = torch.randint(1, 10, (2, 4))
    padded = torch.cat([src, torch.full((2, 3), pad)], dim=1)
    a, wa = model(src, tgt)
    b, wb = model(padded, tgt)
    torch.testing.assert_close(a, b, atol=1e-12, rtol=0)
    assert torch.all(wb["decoder_cross"][0][1, ..., 3:] == 0)
    # without pad_id the padding is read like any token
    plain = L.Transformer(10, 10, d_model=16, n_heads=2, d_ff=32, n_layers=2).double()
    assert not torch.allclose(plain(src, tgt)[0], plain(padded, tgt)[0])


def test_greedy_decode_takes_the_argmax_and_stops_at_eos():
    class Counter(nn.Module):
        """Predicts (last token + 1) mod 6 at every position."""

        def forward(self, src, tgt):
            return F.one_hot((tgt + 1) % 6, 6).double(), {"calls": tgt.shape[1]}

    src = torch.zeros(2, 3, dtype=torch.long)
    tokens, weights = L.greedy_decode(Counter(), src, bos=1, max_len=7)
    assert tokens.tolist() == [[1, 2, 3, 4, 5, 0, 1, 2]] * 2
    assert weights == {"calls": 7}
    tokens, _ = L.greedy_decode(Counter(), src, bos=1, max_len=7, eos=4)
    assert tokens.tolist() == [[1, 2, 3, 4]] * 2
    tokens, weights = L.greedy_decode(Counter(), src, bos=1, max_len=0)
    assert tokens.tolist() == [[1], [1]] and weights is None


# ----------------------------------------------------------------------------- RNN + attention


def test_bahdanau_decoder_attends_with_the_previous_state():
    torch.manual_seed(1)
    vocab, embed, hidden = 8, 5, 6
    encoder = L.GRUEncoder(vocab, embed, hidden, num_layers=2).double()
    decoder = L.BahdanauDecoder(vocab, embed, hidden, num_layers=2).double()
    model = L.Seq2Seq(encoder, decoder, pad_id=0)
    src = torch.randint(1, vocab, (2, 7))
    src[0, 4:] = 0
    tgt = torch.randint(1, vocab, (2, 5))
    logits, weights = model(src, tgt)
    assert logits.shape == (2, 5, vocab) and weights.shape == (2, 5, 7)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 5, dtype=F64))
    assert torch.all(weights[0, :, 4:] == 0)
    # step 0: the query is the encoder's final top-layer state
    enc_outputs, enc_state = encoder(src)
    _, first = decoder.attention(enc_state[-1].unsqueeze(1), enc_outputs, enc_outputs, (src != 0)[:, None])
    torch.testing.assert_close(weights[:, :1], first)
    # steps differ: the query moves with the decoder state
    assert not torch.allclose(weights[:, 0], weights[:, 1])
    # the keys projected once per call give the step-by-step computation that projects them anew
    mask, state, outs, ws = (src != 0)[:, None], enc_state, [], []
    for t in range(tgt.shape[1]):
        context, w = decoder.attention(state[-1].unsqueeze(1), enc_outputs, enc_outputs, mask)
        out, state = decoder.rnn(torch.cat([decoder.embedding(tgt[:, t : t + 1]), context], dim=-1), state)
        outs.append(out)
        ws.append(w)
    torch.testing.assert_close(logits, decoder.dense(torch.cat(outs, dim=1)), rtol=0, atol=1e-12)
    torch.testing.assert_close(weights, torch.cat(ws, dim=1), rtol=0, atol=1e-12)


def test_plain_decoder_seq2seq_has_no_weights():
    model = L.Seq2Seq(L.GRUEncoder(8, 5, 6), L.PlainDecoder(8, 5, 6))
    logits, weights = model(torch.randint(0, 8, (2, 4)), torch.randint(0, 8, (2, 3)))
    assert logits.shape == (2, 3, 8) and weights is None


# ----------------------------------------------------------------------------- gradcheck


def test_gradcheck_attention_layers():
    Q, K, V = randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 3)
    for x in (Q, K, V):
        x.requires_grad_()
    mask = random_mask(2, 3, 5)
    dot = L.ScaledDotProductAttention()
    assert torch.autograd.gradcheck(lambda q, k, v: dot(q, k, v, mask=mask), (Q, K, V))
    additive = L.AdditiveAttention(4, 4, 6).double()
    assert torch.autograd.gradcheck(lambda q, k, v: additive(q, k, v, mask=mask), (Q, K, V))
    # and with respect to the parameters
    W_q = additive.W_q.weight.detach().clone().requires_grad_()

    def with_W_q(w):
        q = (Q @ w.T).unsqueeze(2)
        k = additive.W_k(K).unsqueeze(1)
        scores = additive.w_v(torch.tanh(q + k)).squeeze(-1)
        return L.masked_softmax(scores, mask) @ V

    assert torch.autograd.gradcheck(with_W_q, (W_q,))


@pytest.mark.parametrize("cls", [L.MultiHeadAttention, L.MultiHeadAttentionLoop])
def test_gradcheck_multi_head_attention(cls):
    mha = cls(6, 2).double()
    q, kv = randn(2, 3, 6).requires_grad_(), randn(2, 4, 6).requires_grad_()
    mask = random_mask(2, 2, 3, 4)
    assert torch.autograd.gradcheck(lambda a, b: mha(a, b, b, mask=mask), (q, kv))
    # parameters: run the module functionally with a replacement w_q weight
    weight = mha.w_q.weight.detach().clone().requires_grad_()

    def with_weight(w):
        inputs = (q.detach(), kv.detach(), kv.detach(), mask)
        return torch.func.functional_call(mha, {"w_q.weight": w}, inputs)

    assert torch.autograd.gradcheck(with_weight, (weight,))


# ----------------------------------------------------------------------------- bad input


def test_mismatched_d_k_and_value_rows():
    layer = L.ScaledDotProductAttention()
    with pytest.raises(ValueError, match=r"K has d_k=3 but Q has d_k=4.*Q \(2, 3, 4\), K \(2, 5, 3\)"):
        layer(randn(2, 3, 4), randn(2, 5, 3), randn(2, 5, 6))
    with pytest.raises(ValueError, match=r"n_k=5 rows, V has 4"):
        layer(randn(2, 3, 4), randn(2, 5, 4), randn(2, 4, 6))


def test_mha_input_shapes_are_checked_with_the_shapes_given():
    mha = L.MultiHeadAttention(8, 2)
    x = torch.randn(2, 3, 8)
    with pytest.raises(ValueError, match=r"d_model=8.*query \(2, 3, 6\)"):
        mha(torch.randn(2, 3, 6), x, x)
    with pytest.raises(ValueError, match=r"key \(2, 4, 8\).*value \(2, 5, 8\)"):
        mha(x, torch.randn(2, 4, 8), torch.randn(2, 5, 8))
    with pytest.raises(ValueError, match=r"query \(2, 3, 8\).*key \(3, 4, 8\)"):
        mha(x, torch.randn(3, 4, 8), torch.randn(3, 4, 8))


def test_mha_d_model_not_divisible_by_n_heads():
    with pytest.raises(ValueError, match=r"d_model=10 is not divisible by n_heads=4"):
        L.MultiHeadAttention(10, 4)
    with pytest.raises(ValueError, match=r"d_model=10 is not divisible by n_heads=3"):
        L.EncoderBlock(10, 3, 16)


@pytest.mark.parametrize("cls", [L.MultiHeadAttention, L.MultiHeadAttentionLoop])
def test_mha_masks_that_are_not_boolean_or_do_not_broadcast(cls):
    mha = cls(8, 2)
    x = torch.randn(2, 3, 8)
    with pytest.raises(ValueError, match=r"mask must be boolean.*torch.float32.*\(3, 3\)"):
        mha(x, x, x, mask=torch.ones(3, 3))
    with pytest.raises(ValueError, match=r"mask must be boolean.*torch.int64"):
        mha(x, x, x, mask=torch.ones(3, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"mask \(4, 4\) cannot broadcast"):
        mha(x, x, x, mask=torch.ones(4, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"cannot broadcast.*\(2, 2, 3, 3\)"):
        mha(x, x, x, mask=torch.ones(2, 3, 3, 3, dtype=torch.bool))


def test_attention_layer_masks_are_checked():
    Q, K, V = randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 6)
    for layer in [L.ScaledDotProductAttention(), L.AdditiveAttention(4, 4, 3).double()]:
        with pytest.raises(ValueError, match=r"mask must be boolean"):
            layer(Q, K, V, mask=torch.ones(3, 5))
        with pytest.raises(ValueError, match=r"mask \(3, 4\) cannot broadcast to scores \(2, 3, 5\)"):
            layer(Q, K, V, mask=torch.ones(3, 4, dtype=torch.bool))


def test_transformer_embeddings_match_the_positional_encodings_size():
    torch.manual_seed(0)
    model = L.Transformer(50, 60, d_model=64, n_heads=4)
    for embedding in (model.src_embedding, model.tgt_embedding):
        scaled = embedding.weight * 64**0.5  # what encode/decode add the encoding to
        assert 0.8 < scaled.std().item() < 1.2  # like the encoding's entries, not √d_model times larger
