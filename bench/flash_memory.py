"""Peak memory of naive attention against the tiled pass of chapter 17, at n = 4096 (make bench).

Both run on the same float64 inputs (one head, d = 64) in NumPy; tracemalloc records the largest
amount of memory each allocates while it runs. Naive attention holds the n x n scores and
weights; the tiled pass (utils.flash.flash_forward, blocks of 64) holds one tile of scores and
the output. Their time is measured too (the tiled pass is Python: slower, as chapter 17 says).
"""

from __future__ import annotations

import pathlib
import sys
import time
import tracemalloc

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from utils import attention, flash  # noqa: E402

N, D, BLOCK = 4096, 64, 64


def peak_and_seconds(f, *args):
    tracemalloc.start()
    tracemalloc.reset_peak()
    start = time.perf_counter()
    out = f(*args)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, peak, seconds


def run(n: int = N) -> dict:
    rng = np.random.default_rng(0)
    Q, K, V = (rng.normal(size=(n, D)) for _ in range(3))
    (naive_out, _), naive_peak, naive_s = peak_and_seconds(attention.attention, Q, K, V)
    (tiled_out, _), tiled_peak, tiled_s = peak_and_seconds(flash.flash_forward, Q, K, V, BLOCK, BLOCK)
    assert np.allclose(naive_out, tiled_out, atol=1e-12), "the tiled pass must equal naive attention"
    return {"flash_n": n, "flash_naive_peak_bytes": naive_peak, "flash_tiled_peak_bytes": tiled_peak,
            "flash_peak_ratio": naive_peak / tiled_peak, "flash_naive_s": naive_s, "flash_tiled_s": tiled_s}


if __name__ == "__main__":
    print(run())
