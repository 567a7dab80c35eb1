"""utils.decoder: the decoder-only model and its key/value cache (chapter 13).

The cache must change nothing but the work: tokens and logits with it equal those without,
for multi-head, grouped-query and multi-query attention. The attention itself is checked
against PyTorch's (scaled_dot_product_attention with is_causal, nn.MultiheadAttention,
nn.TransformerEncoderLayer with a causal mask), the cost formulas against FlopCounterMode.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from utils import layers as L
from utils.decoder import (
    CausalSelfAttention,
    DecoderOnlyBlock,
    DecoderOnlyLM,
    KVCache,
    causal_mask_after,
    pick,
)

F64 = torch.float64
VOCAB = 23

# (n_heads, n_kv_heads, positions): multi-head, grouped-query, multi-query
CONFIGS = [(4, 4, "learned"), (4, 2, "learned"), (4, 1, "learned"), (6, 3, "sinusoidal"),
           (2, 1, "sinusoidal")]
CONFIG_IDS = ["multi-head", "grouped-2", "multi-query", "grouped-3-sinusoidal", "multi-query-sinusoidal"]


@pytest.fixture(autouse=True)
def _seed_and_one_thread():
    # small models: one thread is faster (no hand-offs between threads) and gives the same rounding
    threads = torch.get_num_threads()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_model(n_heads=4, n_kv_heads=None, positions="learned", dtype=torch.float32, d_model=24, n_layers=3,
               max_len=40):
    return DecoderOnlyLM(VOCAB, d_model=d_model, n_heads=n_heads, d_ff=2 * d_model, n_layers=n_layers,
                         max_len=max_len, n_kv_heads=n_kv_heads, positions=positions).to(dtype)


def prompt(B=3, n=5, seed=1):
    return torch.randint(0, VOCAB, (B, n), generator=torch.Generator().manual_seed(seed))


# ----------------------------------------------------------------------------- cached == recomputed


@pytest.mark.parametrize("dtype, tol", [(F64, 1e-10), (torch.float32, 1e-5)], ids=["float64", "float32"])
@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_greedy_generation_with_the_cache_equals_recomputing(config, dtype, tol):
    n_heads, n_kv_heads, positions = config
    model = make_model(n_heads, n_kv_heads, positions, dtype)
    x = prompt()
    with_cache, logits_cache = model.generate(x, 25, use_cache=True)
    without, logits_full = model.generate(x, 25, use_cache=False)
    assert with_cache.shape == (3, 30) and logits_cache.shape == (3, 25, VOCAB)
    assert torch.equal(with_cache[:, :5], x)
    assert torch.equal(with_cache, without)
    assert (logits_cache - logits_full).abs().max().item() < tol


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_sampled_generation_with_the_cache_equals_recomputing_given_the_same_generator(config):
    model = make_model(*config, dtype=F64)
    x = prompt(B=4, n=2)
    a, la = model.generate(x, 25, use_cache=True, temperature=1.5, generator=torch.Generator().manual_seed(7))
    b, lb = model.generate(x, 25, use_cache=False, temperature=1.5,
                           generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)
    assert (la - lb).abs().max().item() < 1e-10
    greedy, _ = model.generate(x, 25)
    assert not torch.equal(a, greedy), "sampling at temperature 1.5 wrote exactly the greedy tokens"


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_forward_in_chunks_with_the_cache_equals_one_forward(config):
    model = make_model(*config, dtype=F64)
    tokens = prompt(B=2, n=17)
    full_logits, full_cache, full_weights = model(tokens)
    logits, cache, start = [], None, 0
    for size in (3, 1, 6, 2, 5):
        out, cache, weights = model(tokens[:, start : start + size], cache)
        # the new rows of attention are the full model's rows for these positions
        for w, w_full in zip(weights, full_weights):
            assert torch.allclose(w, w_full[:, :, start : start + size, : start + size], atol=1e-12)
        logits.append(out)
        start += size
    assert torch.allclose(torch.cat(logits, dim=1), full_logits, atol=1e-10)
    for K, V, K_full, V_full in zip(cache.keys, cache.values, full_cache.keys, full_cache.values):
        assert torch.allclose(K, K_full, atol=1e-12) and torch.allclose(V, V_full, atol=1e-12)


def test_a_step_returns_a_new_cache_and_leaves_the_old_one_unchanged():
    model = make_model(dtype=F64)
    tokens = prompt(B=2, n=6)
    _, cache, _ = model(tokens)
    before = [K.clone() for K in cache.keys]
    _, longer, _ = model(tokens[:, :1], cache)
    assert cache.length == 6 and longer.length == 7
    assert all(torch.equal(K, K0) for K, K0 in zip(cache.keys, before))
    # the first 6 cached keys are carried over unchanged: earlier keys do not depend on later tokens
    assert all(torch.equal(K_new[:, :, :6], K0) for K_new, K0 in zip(longer.keys, before))


def test_causal_output_ignores_changes_to_later_tokens():
    model = make_model(dtype=F64)
    tokens = prompt(B=2, n=12)
    changed = tokens.clone()
    changed[:, 7:] = (changed[:, 7:] + 1) % VOCAB
    a, _, _ = model(tokens)
    b, _, _ = model(changed)
    assert torch.allclose(a[:, :7], b[:, :7], atol=1e-12)
    assert not torch.allclose(a[:, 7:], b[:, 7:])


# ----------------------------------------------------------------------------- against PyTorch


@pytest.mark.parametrize("n_heads, n_kv_heads", [(4, 4), (4, 2), (4, 1), (6, 2)])
def test_attention_equals_scaled_dot_product_attention_with_is_causal(n_heads, n_kv_heads):
    att = CausalSelfAttention(24, n_heads, n_kv_heads).double()
    X = torch.randn(3, 9, 24, dtype=F64)
    with torch.no_grad():
        out, weights, (K, V) = att(X)
        Q = att.split(att.w_q(X), n_heads)  # (B, h, n, d_head)
        heads = F.scaled_dot_product_attention(Q, K, V, is_causal=True, enable_gqa=True)  # (B, h, n, d_head)
        theirs = att.w_o(heads.transpose(1, 2).reshape(3, 9, 24))
    assert K.shape == (3, n_kv_heads, 9, 24 // n_heads)
    assert torch.allclose(out, theirs, atol=1e-12)
    assert torch.allclose(weights.sum(-1), torch.ones(3, n_heads, 9, dtype=F64))
    assert (weights.triu(diagonal=1) == 0).all(), "a query gave weight to a later token"


def test_multi_head_attention_equals_nn_multihead_attention_with_a_causal_mask():
    theirs = nn.MultiheadAttention(24, 4, batch_first=True, dtype=F64)
    ours = L.copy_from_torch_mha(CausalSelfAttention(24, 4).double(), theirs)  # same parameter names
    X = torch.randn(2, 8, 24, dtype=F64)
    causal = L.causal_mask(8)
    with torch.no_grad():
        # PyTorch's attn_mask: True = blocked, hence ~
        expected, expected_w = theirs(X, X, X, attn_mask=~causal, average_attn_weights=False)
        out, weights, _ = ours(X)
    assert torch.allclose(out, expected, atol=1e-12)
    assert torch.allclose(weights, expected_w, atol=1e-12)


def test_block_is_an_encoder_block_with_a_causal_mask_and_equals_pytorchs_layer():
    theirs = nn.TransformerEncoderLayer(24, 4, 48, dropout=0.0, batch_first=True, dtype=F64)
    encoder_block = L.copy_from_torch_encoder_layer(L.EncoderBlock(24, 4, 48).double(), theirs)
    block = DecoderOnlyBlock(24, 4, 48).double()
    block.load_state_dict(encoder_block.state_dict())  # same names: attention, addnorm1, ffn, addnorm2
    X = torch.randn(2, 7, 24, dtype=F64)
    causal = L.causal_mask(7)
    with torch.no_grad():
        ours, _, _ = block(X)
        by_encoder_block, _ = encoder_block(X, causal)
        by_torch = theirs(X, src_mask=~causal)
    assert torch.allclose(ours, by_encoder_block, atol=1e-12)
    assert torch.allclose(ours, by_torch, atol=1e-12)


@pytest.mark.parametrize("n_kv_heads", [2, 1])
def test_grouped_heads_equal_multi_head_attention_with_each_kv_head_repeated(n_kv_heads):
    # query head i reads key/value head i // (n_heads / n_kv_heads): copying each K/V head into
    # its group's slots of a multi-head layer gives the same output
    grouped = CausalSelfAttention(24, 4, n_kv_heads).double()
    full = CausalSelfAttention(24, 4).double()
    group = 4 // n_kv_heads
    with torch.no_grad():
        for name in ("w_q", "w_o"):
            getattr(full, name).load_state_dict(getattr(grouped, name).state_dict())
        for name in ("w_k", "w_v"):
            W = getattr(grouped, name).weight.view(n_kv_heads, 6, 24).repeat_interleave(group, dim=0)
            b = getattr(grouped, name).bias.view(n_kv_heads, 6).repeat_interleave(group, dim=0)
            getattr(full, name).weight.copy_(W.reshape(24, 24))
            getattr(full, name).bias.copy_(b.reshape(24))
        X = torch.randn(2, 6, 24, dtype=F64)
        a, wa, _ = grouped(X)
        b_, wb, _ = full(X)
    assert torch.allclose(a, b_, atol=1e-12) and torch.allclose(wa, wb, atol=1e-12)


def test_causal_mask_after_extends_the_causal_mask():
    assert torch.equal(causal_mask_after(5, 0), L.causal_mask(5))
    assert torch.equal(causal_mask_after(3, 4), L.causal_mask(7)[4:])
    assert causal_mask_after(1, 9).all()


# ----------------------------------------------------------------------------- sizes and costs


@pytest.mark.parametrize("dtype", [torch.float32, F64, torch.bfloat16], ids=str)
@pytest.mark.parametrize("n_kv_heads", [4, 2, 1])
def test_cache_size_in_bytes_is_2_layers_batch_n_kv_heads_d_head_bytes(n_kv_heads, dtype):
    model = make_model(4, n_kv_heads, dtype=dtype)  # 3 layers, d_head 6
    _, cache, _ = model(prompt(B=2, n=11))
    bytes_per_number = torch.tensor([], dtype=dtype).element_size()
    assert cache.nbytes == 2 * 3 * 2 * 11 * n_kv_heads * 6 * bytes_per_number
    assert model.cache_numbers(11, batch_size=2) * bytes_per_number == cache.nbytes
    assert cache.length == 11 and cache.batch_size == 2
    assert f"{cache.nbytes:,} bytes" in repr(cache)


@pytest.mark.parametrize("config", CONFIGS[:3], ids=CONFIG_IDS[:3])
@pytest.mark.parametrize("n", [1, 7, 20])
def test_step_multiply_adds_equal_pytorchs_flop_count(config, n):
    model = make_model(*config, dtype=F64)
    tokens = prompt(B=1, n=n)
    _, cache, _ = model(tokens[:, :-1]) if n > 1 else (None, None, None)
    with torch.no_grad():
        with FlopCounterMode(display=False) as cached:
            model(tokens[:, -1:], cache, last_only=True)
        with FlopCounterMode(display=False) as recomputed:
            model(tokens, last_only=True)
    assert cached.get_total_flops() // 2 == model.step_multiply_adds(n, use_cache=True)
    assert recomputed.get_total_flops() // 2 == model.step_multiply_adds(n, use_cache=False)
    if n > 1:
        assert model.step_multiply_adds(n, False) > model.step_multiply_adds(n, True)


# ----------------------------------------------------------------------------- sampling


def test_pick_is_argmax_at_temperature_zero_and_follows_softmax_when_sampling():
    logits = torch.tensor([[0.0, 1.0, 2.0, -1.0]], dtype=F64)
    assert pick(logits).item() == 2
    g = torch.Generator().manual_seed(0)
    draws = pick(logits.expand(20000, 4), 2.0, g)[:, 0]
    freq = torch.bincount(draws, minlength=4).double() / 20000
    expected = torch.softmax(logits[0] / 2.0, -1)
    assert (freq - expected).abs().max().item() < 0.015


# ----------------------------------------------------------------------------- errors


def test_prompt_plus_new_tokens_longer_than_the_positions_is_refused():
    model = make_model(max_len=10)
    with pytest.raises(ValueError, match=r"prompt of 6 tokens \+ 5 new tokens = 11 positions.*max_len=10"):
        model.generate(prompt(n=6), 5)
    with pytest.raises(ValueError, match=r"0 cached \+ 11 new tokens = 11 positions.*max_len=10"):
        model(prompt(n=11))
    _, cache, _ = model(prompt(n=10))
    with pytest.raises(ValueError, match=r"10 cached \+ 1 new tokens = 11 positions.*max_len=10"):
        model(prompt(n=1), cache)
    tokens, _ = model.generate(prompt(n=6), 4)  # exactly max_len is fine
    assert tokens.shape == (3, 10)


def test_a_cache_from_another_model_is_refused_even_with_the_same_shapes():
    a, b = make_model(), make_model()
    _, cache, _ = a(prompt())
    with pytest.raises(ValueError, match="made by another model"):
        b(prompt(n=1), cache)
    assert a(prompt(n=1), cache)[1].length == 6  # its own model accepts it


def test_a_cache_for_another_batch_size_is_refused():
    model = make_model()
    _, cache, _ = model(prompt(B=3))
    with pytest.raises(ValueError, match="holds 3 sequences but the tokens are a batch of 2"):
        model(prompt(B=2, n=1), cache)


def test_a_cache_of_the_wrong_dtype_or_shape_or_type_is_refused():
    model = make_model()
    _, cache, _ = model(prompt())
    model.double()  # the cache still holds float32 keys
    with pytest.raises(ValueError, match=r"cache layer 0: keys .*float32.*expected .*float64"):
        model(prompt(n=1), cache)
    model.float()
    cache.keys[1] = cache.keys[1][:, :, :-1]  # one key short
    with pytest.raises(ValueError, match="cache layer 1"):
        model(prompt(n=1), cache)
    with pytest.raises(ValueError, match="cache must be a KVCache"):
        model(prompt(n=1), (cache.keys, cache.values))
    short = KVCache(cache.keys[:2], cache.values[:2], model)
    with pytest.raises(ValueError, match="the model has 3 layers"):
        model(prompt(n=1), short)


@pytest.mark.parametrize("bad, message", [
    (torch.zeros(3, 4), "integer token ids, got dtype torch.float32"),
    (torch.zeros(4, dtype=torch.long), r"shape \(B, n\).*got \(4,\)"),
    (torch.zeros(2, 0, dtype=torch.long), r"got \(2, 0\)"),
    (torch.full((1, 3), VOCAB), f"ids from {VOCAB} to {VOCAB}; the vocabulary has ids 0 .. {VOCAB - 1}"),
    (torch.tensor([[-1, 2]]), "ids from -1 to 2"),
    ([[1, 2, 3]], "torch tensor of token ids"),
])
def test_bad_tokens_are_refused_with_what_was_wrong(bad, message):
    model = make_model()
    with pytest.raises(ValueError, match=message):
        model(bad)
    with pytest.raises(ValueError, match=message.replace("tokens", "prompt")):
        model.generate(bad, 1)


@pytest.mark.parametrize("kwargs, message", [
    (dict(n_new=-1), "n_new must be a whole number"),
    (dict(n_new=2.0), "n_new must be a whole number"),
    (dict(n_new=2, temperature=-0.5), "temperature must be a finite number >= 0"),
    (dict(n_new=2, temperature=math.nan), "temperature must be a finite number >= 0"),
    (dict(n_new=2, temperature=1.0, generator=0), "generator must be a torch.Generator"),
])
def test_bad_generation_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_model().generate(prompt(), **kwargs)


def test_kv_heads_must_divide_the_heads():
    with pytest.raises(ValueError, match="n_kv_heads=3 must divide n_heads=4"):
        CausalSelfAttention(24, 4, 3)
    with pytest.raises(ValueError, match="n_kv_heads=8 must divide n_heads=4"):
        CausalSelfAttention(24, 4, 8)
    with pytest.raises(ValueError, match="positions must be"):
        DecoderOnlyLM(VOCAB, positions="rotary")


def test_generating_zero_tokens_returns_the_prompt():
    tokens, logits = make_model().generate(prompt(), 0)
    assert torch.equal(tokens, prompt()) and logits.shape == (3, 0, VOCAB)


def test_the_kv_cache_benchmark_runs_and_reports_what_the_build_reads():
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[1] / "bench" / "kv_cache.py"
    spec = importlib.util.spec_from_file_location("bench_kv_cache", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    threads = torch.get_num_threads()
    r = bench.run(repeats=1, full_repeats=1, lengths=(16, 32))  # small: checks the wiring, not the speed
    assert torch.get_num_threads() == threads, "the benchmark must restore the thread count"
    assert r["kv_cache_lengths"] == [16, 32] and r["kv_cache_speedup_32"] > 0
    assert len(r["kv_cache_per_token_cached_ms"]) == len(r["kv_cache_generation_recomputed_ms"]) == 2
    expected = {"multi_head": 1024, "grouped_2": 512, "multi_query": 256}  # 2 · g · d_head · 4 bytes
    assert r["kv_cache_bytes_per_token_per_layer"] == expected
