"""utils.window: a rolling cache equals full attention with the window mask (with and without
sinks), its memory stays constant, the mask and the receptive field are right, and bad input gets
a clear error."""

from __future__ import annotations

import pytest
import torch

from utils import window
from utils.decoder import DecoderOnlyLM


def _model(seed, vocab=13, n_layers=3, n_kv_heads=2, max_len=45):
    torch.manual_seed(seed)
    return DecoderOnlyLM(vocab, d_model=24, n_heads=4, d_ff=40, n_layers=n_layers, max_len=max_len,
                         n_kv_heads=n_kv_heads, positions="sinusoidal").double().eval()


# shapes the chapter does not use: batch of 3, grouped K/V heads, odd lengths, a window of 1,
# every key a sink but the query's own, a window longer than the sequence
CASES = [(3, 41, 1, 0), (1, 29, 3, 0), (2, 44, 7, 3), (2, 17, 6, 5), (1, 23, 40, 0), (3, 30, 9, 1)]


@pytest.mark.parametrize("B, n, size, sinks", CASES)
def test_rolling_cache_equals_full_attention_with_the_window_mask(B, n, size, sinks):
    model = _model(seed=n + size)
    tokens = torch.randint(0, 13, (B, n), generator=torch.Generator().manual_seed(size))
    rolled, _ = window.rolling_forward(model, tokens, size, sinks)
    with torch.no_grad():
        masked, _ = window.masked_forward(model, tokens, window.window_mask(n, size, sinks))
    assert rolled.shape == (B, n, 13)
    assert torch.allclose(rolled, masked, atol=1e-10)


def test_masked_forward_with_the_causal_mask_is_the_model():
    model = _model(1, n_kv_heads=4)
    tokens = torch.randint(0, 13, (2, 31))
    with torch.no_grad():
        ours, weights = window.masked_forward(model, tokens, window.window_mask(31, 31))
        theirs, _, their_weights = model(tokens)
    assert torch.allclose(ours, theirs, atol=1e-12)
    assert all(torch.allclose(a, b) for a, b in zip(weights, their_weights))


def test_the_models_mask_argument_works_after_a_cache_and_refuses_a_wrong_shape():
    """DecoderOnlyLM's own `mask` (what masked_forward uses): after 5 cached tokens, the next 4
    read with the window mask's last 4 rows equal the whole sequence read with the window mask."""
    model = _model(5)
    tokens = torch.randint(0, 13, (2, 9), generator=torch.Generator().manual_seed(5))
    mask = window.window_mask(9, 3, 1)
    with torch.no_grad():
        whole, _ = window.masked_forward(model, tokens, mask)
        _, cache, _ = model(tokens[:, :5], mask=mask[:5, :5])
        rest, _, weights = model(tokens[:, 5:], cache=cache, mask=mask[5:])
    assert torch.allclose(rest, whole[:, 5:], atol=1e-12)
    assert weights[0].shape == (2, 4, 4, 9) and not weights[0][..., ~mask[5:]].any()
    with pytest.raises(ValueError, match=r"mask must be bool \(4, 9\) for 4 new tokens after 5"):
        model(tokens[:, 5:], cache=cache, mask=mask[5:, 5:])


def test_a_window_as_long_as_the_sequence_is_the_causal_mask():
    assert torch.equal(window.window_mask(9, 9), torch.ones(9, 9, dtype=torch.bool).tril())
    assert torch.equal(window.window_mask(9, 30, 2), torch.ones(9, 9, dtype=torch.bool).tril())


def test_window_mask_rows_hold_at_most_size_keys_sinks_first():
    mask = window.window_mask(40, 7, 2)
    assert mask.sum(dim=1).max() == 7 and mask[39].nonzero().flatten().tolist() == [0, 1, 35, 36, 37, 38, 39]
    assert not mask.triu(1).any()                       # causal: nothing after the query


def test_cache_memory_is_constant_in_the_length_and_holds_the_right_positions():
    model = _model(2)
    peaks = {}
    for n in (12, 24, 44):
        tokens = torch.randint(0, 13, (1, n))
        _, peaks[n] = window.rolling_forward(model, tokens, 8, 2)
    # 2 · layers · B · (size − 1) · g · d_head · 8 bytes, whatever the length
    assert peaks[12] == peaks[24] == peaks[44] == 2 * 3 * 1 * 7 * 2 * 6 * 8
    cache = window.RollingCache(5, 1)
    for t in range(9):
        _, w, seen = window.step(model, torch.tensor([[t % 13]]), cache)
        assert seen == ([0] + list(range(max(1, t - 3), t + 1)) if t >= 4 else list(range(t + 1)))
        assert w[0].shape == (1, 4, 1, len(seen))
    assert cache.positions == [0, 6, 7, 8] and cache.seen == 9


def test_receptive_field_grows_by_size_minus_one_per_layer():
    mask = window.window_mask(50, 5)
    for layers in (1, 2, 3):
        reach = window.receptive_field(mask, layers)
        assert reach[49].nonzero().min().item() == 49 - layers * 4


def test_the_gradient_reaches_exactly_the_receptive_field():
    model = _model(3, n_layers=2, max_len=30)
    tokens = torch.randint(0, 13, (1, 30))
    X = (model.embedding(tokens) * model.d_model ** 0.5).detach().requires_grad_(True)
    # the same forward pass from embeddings: patch the embedding to return X
    original = model.embedding.forward
    model.embedding.forward = lambda ids: X / model.d_model ** 0.5
    try:
        logits, _ = window.masked_forward(model, tokens, window.window_mask(30, 4))
    finally:
        model.embedding.forward = original
    logits[0, -1].sum().backward()
    touched = (X.grad[0].abs().sum(dim=1) > 0).nonzero().flatten()
    assert touched.min().item() == 29 - 2 * 3


@pytest.mark.parametrize("args, words", [((5, 5), "sinks must be between 0 and size - 1"),
                                         ((0, 0), "size must be >= 1"),
                                         ((4, -1), "sinks must be between"),
                                         ((4.0, 0), "size must be a whole number"),
                                         ((True, 0), "size must be a whole number")])
def test_bad_size_or_sinks_is_a_clear_value_error(args, words):
    with pytest.raises(ValueError, match=words):
        window.RollingCache(*args)
    with pytest.raises(ValueError, match=words):
        window.window_mask(10, *args)


def test_bad_model_tokens_and_masks_are_clear_value_errors():
    model = _model(4, max_len=10)
    with pytest.raises(ValueError, match="DecoderOnlyLM"):
        window.step(torch.nn.Linear(2, 2), torch.tensor([[1]]), window.RollingCache(3))
    with pytest.raises(ValueError, match=r"one token at a time: expected \(B, 1\), got \(1, 2\)"):
        window.step(model, torch.tensor([[1, 2]]), window.RollingCache(3))
    with pytest.raises(ValueError, match=r"mask must be bool \(6, 6\)"):
        window.masked_forward(model, torch.zeros(1, 6, dtype=torch.long), window.window_mask(5, 3))
    with pytest.raises(ValueError, match="max_len=10"):
        window.rolling_forward(model, torch.zeros(1, 11, dtype=torch.long), 4)
    with pytest.raises(ValueError, match="n must be a whole number"):
        window.window_mask(0, 3)
    with pytest.raises(ValueError, match="square bool"):
        window.receptive_field(torch.ones(3, 4, dtype=torch.bool), 2)


# ----------------------------------------------------------------------------- RoPE and renumbering


def _rope_model(seed, vocab=13, n_layers=2, n_kv_heads=2):
    torch.manual_seed(seed)
    return window.RopeLM(vocab, d_model=24, n_heads=4, d_ff=40, n_layers=n_layers,
                         n_kv_heads=n_kv_heads).double().eval()


def _renumbered_reference(model, tokens, size, sinks):
    """StreamingLLM's renumbered window the slow, obvious way: layer by layer, query by query.

    Query t sees the keys window_mask allows it; they get the positions 0, 1, ... in order of
    the text, the query the last of them. RoPE is written out with complex numbers (pair i =
    features i and i + d/2, as utils.rope.rotate_halves), and the softmax by hand.
    """
    B, n = tokens.shape
    allowed = window.window_mask(n, size, sinks)
    X = model.embedding(tokens) * model.d_model ** 0.5  # (B, n, d)
    for block in model.blocks:
        att = block.attention
        h, g, d = att.n_heads, att.n_kv_heads, att.d_head
        theta = model.base ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)  # (d/2,)

        def rotate(x, p, d=d, theta=theta):  # x (..., d) at position p → complex (..., d/2)
            return torch.complex(x[..., : d // 2], x[..., d // 2 :]) * torch.exp(1j * p * theta)

        Q = att.w_q(X).view(B, n, h, d)
        K = att.w_k(X).view(B, n, g, d)
        V = att.w_v(X).view(B, n, g, d)
        out = torch.zeros(B, n, h, d, dtype=torch.float64)
        for t in range(n):
            held = allowed[t].nonzero().flatten().tolist()  # text positions, in order; t is last
            for head in range(h):
                q = rotate(Q[:, t, head], len(held) - 1)  # (B, d/2): the query at the last slot
                scores = torch.stack([(q * rotate(K[:, j, head // (h // g)], slot).conj()).real.sum(-1)
                                      for slot, j in enumerate(held)], dim=-1) / d ** 0.5  # (B, m)
                weights = torch.exp(scores - scores.max(-1, keepdim=True).values)
                weights = weights / weights.sum(-1, keepdim=True)
                out[:, t, head] = sum(weights[:, [s]] * V[:, j, head // (h // g)] for s, j in enumerate(held))
        Y = block.addnorm1(X, att.w_o(out.reshape(B, n, h * d)))
        X = block.addnorm2(Y, block.ffn(Y))
    return model.output(X)


@pytest.mark.parametrize("B, n, size, sinks", [(2, 19, 6, 2), (1, 23, 5, 1), (2, 14, 4, 3)])
def test_renumbered_rolling_cache_equals_the_renumbered_window_computed_the_slow_way(B, n, size, sinks):
    model = _rope_model(n + size)
    tokens = torch.randint(0, 13, (B, n), generator=torch.Generator().manual_seed(size))
    rolled, _ = window.rolling_forward(model, tokens, size, sinks, renumber=True)
    with torch.no_grad():
        reference = _renumbered_reference(model, tokens, size, sinks)
        text_positions, _ = window.masked_forward(model, tokens, window.window_mask(n, size, sinks))
    assert torch.allclose(rolled, reference, atol=1e-10)
    # the mutation "do not renumber" is caught: the sinks' offsets differ once the cache is full
    not_renumbered, _ = window.rolling_forward(model, tokens, size, sinks, renumber=False)
    assert (not_renumbered - reference)[:, size:].abs().max() > 1e-3
    assert torch.allclose(not_renumbered, text_positions, atol=1e-10)   # the text's positions: the mask
    assert torch.allclose(rolled[:, :size], text_positions[:, :size], atol=1e-10)  # until the cache is full


def test_without_sinks_renumbering_changes_nothing_because_rope_sees_offsets_only():
    model = _rope_model(7)
    tokens = torch.randint(0, 13, (2, 30), generator=torch.Generator().manual_seed(7))
    renumbered, _ = window.rolling_forward(model, tokens, 6, 0, renumber=True)
    kept, _ = window.rolling_forward(model, tokens, 6, 0, renumber=False)
    with torch.no_grad():
        reference = _renumbered_reference(model, tokens, 6, 0)
    assert torch.allclose(renumbered, kept, atol=1e-10) and torch.allclose(renumbered, reference, atol=1e-10)


@pytest.mark.parametrize("renumber", [True, False])
def test_a_rope_cache_as_long_as_the_sequence_is_full_causal_attention(renumber):
    model = _rope_model(8, n_kv_heads=4)
    tokens = torch.randint(0, 13, (3, 21), generator=torch.Generator().manual_seed(8))
    rolled, _ = window.rolling_forward(model, tokens, 21, 2, renumber=renumber)
    with torch.no_grad():
        full, _ = model(tokens)
    assert torch.allclose(rolled, full, atol=1e-10)


def test_rope_model_scores_depend_on_offsets_only():
    model = _rope_model(9)
    tokens = torch.randint(0, 13, (1, 12), generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        a, _ = model(tokens)
        b, _ = model(tokens, positions=[p + 1000 for p in range(12)])   # every position shifted
    assert torch.allclose(a, b, atol=1e-9)


def test_rope_bad_input_is_a_clear_value_error():
    model = _rope_model(10)
    with pytest.raises(ValueError, match="renumber=True needs relative positions"):
        window.rolling_forward(_model(4), torch.zeros(1, 5, dtype=torch.long), 4, 1, renumber=True)
    with pytest.raises(ValueError, match="renumber must be True or False"):
        window.step(model, torch.tensor([[1]]), window.RollingCache(3), renumber=1)
    with pytest.raises(ValueError, match=r"mask must be bool \(6, 6\)"):
        window.masked_forward(model, torch.zeros(1, 6, dtype=torch.long), window.window_mask(5, 3))
    with pytest.raises(ValueError, match="positions must give one position per key"):
        model(torch.zeros(1, 6, dtype=torch.long), positions=[0, 1, 2])
    with pytest.raises(ValueError, match="d_model / n_heads must be even"):
        window.RopeLM(13, d_model=12, n_heads=4)
    with pytest.raises(ValueError, match="holds ids from 0 to 13"):
        model(torch.tensor([[0, 13]]))
    with pytest.raises(ValueError, match="positions must be finite numbers"):
        model(torch.zeros(1, 3, dtype=torch.long), positions=[0, float("nan"), 2])
    with pytest.raises(ValueError, match=r"one position per key, 0 held \+ 3 new = 3, got shape \(1, 3\)"):
        model(torch.zeros(1, 3, dtype=torch.long), positions=torch.arange(3)[None])
    with pytest.raises(ValueError, match="positions must be numbers"):
        model(torch.zeros(1, 3, dtype=torch.long), positions="abc")
    with pytest.raises(ValueError, match="model must be a utils.decoder.DecoderOnlyLM"):
        window.rolling_forward(torch.nn.Linear(2, 2), torch.zeros(1, 3, dtype=torch.long), 4)
    with pytest.raises(ValueError, match="n_layers must be a whole number"):
        window.receptive_field(window.window_mask(5, 2), -1)


def test_a_cache_refuses_another_model_or_another_batch():
    model, other = _rope_model(11), _rope_model(12)
    cache = window.RollingCache(4, 1)
    window.step(model, torch.tensor([[1], [2]]), cache, renumber=True)
    with pytest.raises(ValueError, match="another model"):
        window.step(other, torch.tensor([[1], [2]]), cache, renumber=True)
    with pytest.raises(ValueError, match="a batch of 2 sequences, got a token batch of 1"):
        window.step(model, torch.tensor([[1]]), cache, renumber=True)
    with pytest.raises(ValueError, match="RollingCache"):
        window.step(model, torch.tensor([[1]]), [], renumber=True)
