"""Generation with and without the key/value cache, side by side (chapter 13's measurement).

A decoder-only model with random weights (4 layers, d_model 128, 4 heads, d_ff 512, vocab 64,
float32, one CPU thread). For each length n in 64, 128, 256, 512:

- per token: the time of the step that has n tokens and writes token n + 1, either reading
  the newest token against a cache of n − 1 tokens, or rerunning the model on all n tokens;
  the two run in turns (cached, recomputed, cached, ...) and each keeps its fastest of
  `repeats` runs, so a machine that gets busier slows both alike;
- whole generations: writing n − 1 tokens after a one-token prompt with ``generate``, both
  ways (fastest of `full_repeats`), and a check that both wrote the same tokens.

Slopes are least-squares fits of log time against log n. ``run()`` returns a dict (times in
ms) with ``kv_cache_speedup_512``: per-token time at 512 tokens, recomputed / cached. Run as a
script it prints a table: ``.venv/bin/python bench/kv_cache.py``.
"""

from __future__ import annotations

import pathlib
import sys
import time

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from utils.decoder import DecoderOnlyLM  # noqa: E402
from utils.timing import side_by_side  # noqa: E402

LENGTHS = (64, 128, 256, 512)
CONFIG = dict(vocab_size=64, d_model=128, n_heads=4, d_ff=512, n_layers=4, max_len=512)


def slope(ns, times):
    """Exponent a of times ≈ c · n^a, by least squares on log–log axes."""
    return float(np.polyfit(np.log(ns), np.log(times), 1)[0])


def model_for_bench(seed=0, n_kv_heads=None):
    torch.manual_seed(seed)
    return DecoderOnlyLM(**CONFIG, n_kv_heads=n_kv_heads).eval()


@torch.no_grad()
def per_token_ms(model, n, repeats):
    """Fastest ms of the step at length n: (cached, recomputed)."""
    tokens = torch.randint(0, CONFIG["vocab_size"], (1, n), generator=torch.Generator().manual_seed(n))
    _, cache, _ = model(tokens[:, :-1])  # keys and values of the first n − 1 tokens

    def cached():
        return model(tokens[:, -1:], cache, last_only=True)  # the newest token only

    def recomputed():
        return model(tokens, last_only=True)  # all n tokens again

    first, _, _ = cached()
    second, _, _ = recomputed()
    assert torch.allclose(first, second, atol=1e-4), "cached and recomputed logits differ"
    t_cached, t_full = side_by_side([cached, recomputed], repeats=repeats, warmup=1, stat="min")
    return float(t_cached), float(t_full)


@torch.no_grad()
def generation_ms(model, n, repeats):
    """Fastest ms to write n − 1 tokens after a 1-token prompt: (cached, recomputed)."""
    prompt = torch.zeros(1, 1, dtype=torch.long)
    best = {True: float("inf"), False: float("inf")}
    written = {}
    for _ in range(repeats):
        for use_cache in (True, False):
            start = time.perf_counter()
            written[use_cache], _ = model.generate(prompt, n - 1, use_cache=use_cache)
            best[use_cache] = min(best[use_cache], 1e3 * (time.perf_counter() - start))
    assert torch.equal(written[True], written[False]), f"n={n}: cached and recomputed generations differ"
    return best[True], best[False]


def run(repeats=9, full_repeats=2, lengths=LENGTHS):
    """Measure; return a dict of times (ms), slopes, speedups and cache sizes."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = model_for_bench()
        per_token = [per_token_ms(model, n, repeats) for n in lengths]
        whole = [generation_ms(model, n, full_repeats) for n in lengths]
    finally:
        torch.set_num_threads(threads)
    ns = np.array(lengths, dtype=float)
    cached, full = np.array(per_token).T
    gen_cached, gen_full = np.array(whole).T
    bytes_per_token_layer = {}
    for name, g in (("multi_head", 4), ("grouped_2", 2), ("multi_query", 1)):
        m = DecoderOnlyLM(**CONFIG, n_kv_heads=g)
        bytes_per_token_layer[name] = m.cache_numbers(1) * 4 // m.n_layers  # float32
    last = lengths[-1]
    return {
        "kv_cache_lengths": list(lengths),
        "kv_cache_per_token_cached_ms": cached.round(4).tolist(),
        "kv_cache_per_token_recomputed_ms": full.round(4).tolist(),
        "kv_cache_per_token_slope_cached": slope(ns, cached),
        "kv_cache_per_token_slope_recomputed": slope(ns, full),
        f"kv_cache_speedup_{last}": float(full[-1] / cached[-1]),
        "kv_cache_generation_cached_ms": gen_cached.round(3).tolist(),
        "kv_cache_generation_recomputed_ms": gen_full.round(3).tolist(),
        "kv_cache_generation_slope_cached": slope(ns, gen_cached),
        "kv_cache_generation_slope_recomputed": slope(ns, gen_full),
        f"kv_cache_generation_speedup_{last}": float(gen_full[-1] / gen_cached[-1]),
        "kv_cache_bytes_per_token_per_layer": bytes_per_token_layer,
        f"kv_cache_bytes_{last}": model.cache_numbers(last) * 4,
        "kv_cache_config": dict(CONFIG, threads=1, dtype="float32", repeats=repeats,
                                full_repeats=full_repeats),
    }


def main():
    r = run()
    print("KV cache: one CPU thread, float32, random weights "
          f"({CONFIG['n_layers']} layers, d_model {CONFIG['d_model']}, 4 heads, d_ff {CONFIG['d_ff']})")
    print(f"{'n':>5} {'per token: cached':>18} {'recomputed':>11} {'ratio':>7}   "
          f"{'generate n: cached':>19} {'recomputed':>11} {'ratio':>7}")
    rows = zip(r["kv_cache_lengths"], r["kv_cache_per_token_cached_ms"],
               r["kv_cache_per_token_recomputed_ms"],
               r["kv_cache_generation_cached_ms"], r["kv_cache_generation_recomputed_ms"])
    for n, c, f, gc, gf in rows:
        print(f"{n:5d} {c:15.2f} ms {f:8.2f} ms {f / c:6.1f}×   {gc:16.0f} ms {gf:8.0f} ms {gf / gc:6.1f}×")
    print(f"log-log slopes, per token: cached {r['kv_cache_per_token_slope_cached']:.2f}, recomputed "
          f"{r['kv_cache_per_token_slope_recomputed']:.2f}; whole generation: cached "
          f"{r['kv_cache_generation_slope_cached']:.2f}, "
          f"recomputed {r['kv_cache_generation_slope_recomputed']:.2f}")
    print(f"speedup at 512 tokens: {r['kv_cache_speedup_512']:.1f}× per token, "
          f"{r['kv_cache_generation_speedup_512']:.1f}× for the whole generation")
    sizes = ", ".join(f"{k} {v}" for k, v in r["kv_cache_bytes_per_token_per_layer"].items())
    print(f"cache bytes per token per layer (float32): {sizes}; whole cache at 512 tokens: "
          f"{r['kv_cache_bytes_512']:,} bytes")
    return r


if __name__ == "__main__":
    main()
