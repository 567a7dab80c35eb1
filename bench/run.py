"""Benchmarks for the explorers, side by side in one run (``make bench``).

(a) Python side, live kernel: time from a slider change to an updated picture, for an 8×8
    annotated heatmap and for four 8×8 heads. Ours (the explorer: compute, render HTML, set the
    widget's value) against the naive way (what ``interact`` with ``plt.imshow`` does on every
    change: a new matplotlib figure, 64 text annotations, rendered to PNG).
(b) Browser side, static book: time from a slider's input event to the repainted explorer, in
    headless Chromium (the handler patches the page and paints the heatmap canvases; we then
    force style and layout). Also, separately, the work the page does afterwards when idle:
    bringing the table cells under the canvases up to date (not on the input path), and the
    size of each explorer's static HTML (41 slider positions).
(c) Each built chapter page's size: its HTML (which holds the precomputed states) plus the
    images it loads.
(d) Each explorer in a live kernel, as a reader meets it: every reader notebook (notebooks/) is
    run with nbclient and each explorer's display is measured (utils.explorer writes one line
    per display to SA_EXPLORER_METRICS): the display's own cost beyond one call of its compute
    function (target <= 50 ms) and the size of the output a saved notebook keeps (<= 50 KB).
(e) Generating tokens with and without the KV cache (bench/kv_cache.py, chapter 13), one thread,
    64 to 512 tokens (target: >= 10x per token at 512).
(f) Peak memory of naive attention against chapter 17's tiled pass at n = 4096 (bench/flash_memory.py,
    tracemalloc, float64, d = 64, blocks of 64), as a ratio.
(g) Chapter 15's own-sentence panel in Chromium (bench/minilm_web.py, needs the built book): bytes
    before the reader types, the model's load (seconds, bytes), and a changed 32-token sentence to
    its drawn head view (target <= 150 ms).

Prints a table and writes _build/bench.json. Medians over many repeats; the ratio is what to
trust on a noisy machine, since both sides run in the same process minutes apart at most.
"""

from __future__ import annotations

import io
import json
import pathlib
import re
import statistics
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "scripts"))

from browser import chromium  # noqa: E402  (scripts/browser.py)

from utils.explorer import Explorer, Heatmap, Slider  # noqa: E402

TOKENS = ["the", "cat", "sat", "on", "the", "mat", "and", "slept"]
VALUES = [round(v, 2) for v in np.linspace(0.1, 3.0, 41)]


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


RNG = np.random.default_rng(0)
X = RNG.normal(size=(8, 16))
HEADS = RNG.normal(size=(4, 16, 16)) / 4.0


def weights(scale, head=None):
    Xh = X if head is None else X @ HEADS[head]
    return softmax(Xh @ X.T * scale / 4.0)  # (8, 8)


def compute_one(scale):
    return [Heatmap(weights(scale), TOKENS, TOKENS, "weights", weights=True)]


def compute_four(scale):
    return [Heatmap(weights(scale, h), TOKENS, TOKENS, f"head {h}", weights=True) for h in range(4)]


def summary(samples):
    ms = sorted(1e3 * s for s in samples)
    return statistics.median(ms), ms[int(0.95 * (len(ms) - 1))]


def time_ours(compute, repeats=200):
    box = Explorer(compute, [Slider("scale", VALUES, default=VALUES[0])], name="bench").widget()
    slider, samples = box.controls[0], []
    for k in range(repeats):
        start = time.perf_counter()
        slider.value = VALUES[(k % 40) + 1 if slider.value == VALUES[0] else 0]
        samples.append(time.perf_counter() - start)
    assert box.view.value.count("<td") == 64 * (1 if compute is compute_one else 4)
    return summary(samples)


def time_naive(n_heads, repeats=40):
    """What interact + plt.imshow does per change: a new annotated figure, rendered to PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples = []
    for k in range(repeats):
        start = time.perf_counter()
        fig, axes = plt.subplots(1, n_heads, figsize=(3.5 * n_heads, 3.2), squeeze=False)
        for h, ax in enumerate(axes[0]):
            w = weights(VALUES[k % 41], None if n_heads == 1 else h)
            ax.imshow(w, vmin=0, vmax=1)
            for i in range(8):
                for j in range(8):
                    ax.text(j, i, f"{w[i, j]:.2f}", ha="center", va="center", fontsize=7)
            ax.set_xticks(range(8), TOKENS, rotation=90)
            ax.set_yticks(range(8), TOKENS)
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        plt.close(fig)
        samples.append(time.perf_counter() - start)
    return summary(samples)


def time_static(repeats=200):
    """Median ms from an input event to the repainted static explorer, in headless Chromium."""
    from playwright.sync_api import sync_playwright

    results = {}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = chromium(p)
        for label, compute in (("8x8", compute_one), ("4 heads", compute_four)):
            page_file = pathlib.Path(tmp) / "bench.html"
            static = Explorer(compute, [Slider("scale", VALUES)], name="bench").static_html()
            results[label + " bytes"] = len(static.encode())
            page_file.write_text(f"<!doctype html><meta charset=utf-8><body>{static}", encoding="utf-8")
            page = browser.new_page()
            page.goto(page_file.as_uri())
            page.wait_for_timeout(1000)  # a reader looks before moving; the page parses states when idle
            samples, later, painted = page.evaluate("""async (repeats) => {
                const root = document.querySelector('.sa-explorer');
                if (root.saReady) await root.saReady();
                const slider = root.querySelector('input[type=range]');
                const view = root.querySelector('.sa-view');
                const out = [], later = [];
                let painted = 0;
                for (let k = 0; k < repeats; k++) {
                    const t0 = performance.now();
                    slider.value = String((+slider.value + 7) % (+slider.max + 1));
                    slider.dispatchEvent(new Event('input', {bubbles: true}));
                    view.getBoundingClientRect(); document.body.offsetHeight;  // force style+layout
                    const t1 = performance.now();
                    painted += view.querySelector('canvas.sa-paint') !== null;  // canvas now, cells later
                    root.saSync();  // what the page does next when idle: the table cells catch up
                    view.getBoundingClientRect(); document.body.offsetHeight;
                    out.push(t1 - t0);
                    later.push(performance.now() - t1);
                }
                return [out, later, painted];
            }""", repeats)
            assert painted == repeats, f"{label}: {repeats - painted} of {repeats} switches were not painted"
            results[label] = summary([s / 1e3 for s in samples])
            results[label + " idle"] = summary([s / 1e3 for s in later])
            page.close()
        browser.close()
    return results


def page_sizes():
    html_dir = ROOT / "_build" / "html" / "chapters"
    sizes = {}
    for page in sorted(html_dir.glob("*.html")):
        text = page.read_text(encoding="utf-8")
        images = set(re.findall(r'<img[^>]+src="([^"]+)"', text))
        extra = sum((page.parent / src).stat().st_size for src in images
                    if not src.startswith("data:") and (page.parent / src).exists())
        sizes[page.name] = page.stat().st_size + extra
    return sizes


def live_explorers():
    """Run every reader notebook in a live kernel; return {explorer: metrics} (see (d))."""
    import os

    import nbformat
    from nbclient import NotebookClient

    records = []
    with tempfile.TemporaryDirectory() as tmp:
        metrics = pathlib.Path(tmp) / "metrics.jsonl"
        old = {k: os.environ.get(k) for k in ("SA_EXPLORER_METRICS", "SA_STATIC_EXPLORERS")}
        os.environ["SA_EXPLORER_METRICS"] = str(metrics)
        os.environ.pop("SA_STATIC_EXPLORERS", None)  # a reader's kernel, not the book build
        try:
            for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
                nb = nbformat.read(path, as_version=4)
                NotebookClient(nb, timeout=600, kernel_name="python3",
                               resources={"metadata": {"path": str(path.parent)}}).execute()
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        records = [json.loads(line) for line in metrics.read_text().splitlines()]
    return {r["name"]: {"display_ms": r["display_ms"], "compute_ms": r["compute_ms"],
                        "overhead_ms": r["display_ms"] - r["compute_ms"],
                        "output_bytes": r["output_bytes"]} for r in records}


def main():
    from flash_memory import run as flash_memory_run
    from kv_cache import run as kv_cache_run
    from minilm_web import run as minilm_web_run

    live = {"8x8": (time_ours(compute_one), time_naive(1)),
            "4 heads": (time_ours(compute_four), time_naive(4))}
    static = time_static()
    sizes = page_sizes()
    explorers = live_explorers()
    kv = kv_cache_run()
    fm = flash_memory_run()
    web = minilm_web_run()
    print("(a) live kernel, slider change -> updated picture (ms; median / p95)")
    print(f"    {'case':9} {'ours':>14} {'naive':>16} {'naive / ours':>13}")
    for case, ((om, op), (nm, np95)) in live.items():
        print(f"    {case:9} {om:6.2f} / {op:5.2f} {nm:7.1f} / {np95:6.1f} {nm / om:12.0f}×")
    print("(b) static book, input event -> repainted explorer in Chromium (ms; median / p95)")
    print("    and, off the input path, the idle-time catch-up of the table cells under the canvas")
    for case in live:
        (m, p95), (im, ip95) = static[case], static[case + " idle"]
        print(f"    {case:9} {m:6.2f} / {p95:5.2f}   idle catch-up {im:6.2f} / {ip95:5.2f}"
              f"   ({static[case + ' bytes'] / 1e3:.0f} kB of static HTML for {len(VALUES)} positions)")
    print("(c) chapter pages: HTML with precomputed states + images (MB)")
    if not sizes:
        print("    no built book found: run `make book` first")
    for name, size in sizes.items():
        print(f"    {name:36} {size / 1e6:6.2f}")
    print("(d) explorers in a live kernel: display beyond one compute (ms, target <= 50) and saved output")
    print(f"    {'explorer':22} {'display':>8} {'compute':>8} {'beyond':>7} {'output kB':>10}")
    for name, m in sorted(explorers.items()):
        flag = "" if m["overhead_ms"] <= 50 and m["output_bytes"] <= 50_000 else "   <- over target"
        print(f"    {name:22} {m['display_ms']:8.1f} {m['compute_ms']:8.1f} {m['overhead_ms']:7.1f}"
              f" {m['output_bytes'] / 1e3:10.1f}{flag}")
    print("(e) generation with and without the KV cache, ms per token (one thread)")
    for n, c, f in zip(kv["kv_cache_lengths"], kv["kv_cache_per_token_cached_ms"],
                       kv["kv_cache_per_token_recomputed_ms"]):
        print(f"    {n:4d} tokens  recompute {f:8.2f}   cached {c:6.2f}   {f / c:5.1f}x")
    print(f"    speed-up at 512 tokens: {kv['kv_cache_speedup_512']:.1f}x (target >= 10x); log-log slopes "
          f"{kv['kv_cache_per_token_slope_recomputed']:.2f} recomputed, "
          f"{kv['kv_cache_per_token_slope_cached']:.2f} cached")
    naive_mib, tiled_mib = fm["flash_naive_peak_bytes"] / 2**20, fm["flash_tiled_peak_bytes"] / 2**20
    print(f"(f) peak memory at n = {fm['flash_n']} (tracemalloc): naive {naive_mib:.1f} MiB, tiled "
          f"{tiled_mib:.2f} MiB, naive / tiled {fm['flash_peak_ratio']:.0f}x "
          f"(time {fm['flash_naive_s']:.2f} s naive, {fm['flash_tiled_s']:.2f} s tiled in Python)")
    if web:
        first_kb = web["minilm_first_load_bytes"] / 1e3
        print(f"(g) own sentence in Chromium: the chapter page loads {first_kb:.0f} kB (all of it) "
              f"before the reader types; "
              f"the first keystroke loads {web['minilm_load_bytes'] / 1e6:.1f} MB "
              f"in {web['minilm_load_s']:.1f} s; "
              f"a changed 32-token sentence to its head view {web['minilm_32_tokens_ms']:.0f} ms median, "
              f"{web['minilm_32_tokens_max_ms']:.0f} ms at most (target <= 150 ms)")
    else:
        print("(g) own sentence: no built book found: run `make book` first")
    result = {"live_ours_ms": live["8x8"][0][0], "live_naive_ms": live["8x8"][1][0],
              "live_ratio": live["8x8"][1][0] / live["8x8"][0][0],
              "live_ours_4heads_ms": live["4 heads"][0][0], "live_naive_4heads_ms": live["4 heads"][1][0],
              "static_switch_ms": static["8x8"][0], "static_switch_4heads_ms": static["4 heads"][0],
              "static_idle_sync_ms": static["8x8 idle"][0],
              "static_idle_sync_4heads_ms": static["4 heads idle"][0],
              "static_bytes": static["8x8 bytes"], "static_4heads_bytes": static["4 heads bytes"],
              "page_bytes": sizes, "live_explorers": explorers,
              "live_explorer_max_overhead_ms": max(m["overhead_ms"] for m in explorers.values()),
              "live_explorer_max_output_bytes": max(m["output_bytes"] for m in explorers.values()),
              **kv, **fm, **web}
    out = ROOT / "_build" / "bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
