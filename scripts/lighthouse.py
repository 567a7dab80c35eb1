"""Lighthouse on the built book, served as a static host serves it (gzip, from 127.0.0.1).

    .venv/bin/python scripts/lighthouse.py                      # every page of both editions: a table
    .venv/bin/python scripts/lighthouse.py chapters/02_softmax_xxt.html zh/chapters/04_scaling.html
    .venv/bin/python scripts/lighthouse.py --check PAGES        # exit 1 if a page misses a target

Lighthouse (npm, locked in package-lock.json) runs Debian's Chromium with its default mobile
profile: a mid-range phone's screen, a 4x slower CPU and a slow 4G network, simulated. Python's
http.server sends files uncompressed, which no static host does, so the book is served here by a
small server that gzips text files as GitHub Pages or Netlify would. Nothing is fetched from
another host: the pages are offline by design, and Chromium runs with its network features off.

Targets (``TARGETS``): performance ≥ 90, accessibility, best practices and SEO 100; Largest
Contentful Paint ≤ 2.5 s, Total Blocking Time ≤ 200 ms, Cumulative Layout Shift ≤ 0.1; no
console error. ``make bench`` prints the table for every page; ``tests/test_lighthouse.py``
checks three chapter pages of each edition.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import pathlib
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))  # scripts/: browser.py
import browser  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILT = ROOT / "_build" / "html"
LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"
CHROME_FLAGS = " ".join(["--headless=new", *browser.FLAGS])  # Lighthouse launches Chromium itself
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
TARGETS = {"performance": 90, "accessibility": 100, "best-practices": 100, "seo": 100,
           "lcp_ms": 2500, "tbt_ms": 200, "cls": 0.1}
COMPRESSED = {".html", ".js", ".mjs", ".css", ".json", ".svg", ".txt", ".xml", ".map", ".woff", ".ttf",
              ".otf"}


class GzipHandler(browser.QuietHandler):
    """Serves a folder, gzipping text files for clients that accept it; logs nothing. HTTP/1.1,
    so that the browser keeps its connections open as with any static host (http.server's
    default, HTTP/1.0, opens a connection per file, which Lighthouse's simulated slow network
    then charges a round trip each)."""

    protocol_version = "HTTP/1.1"

    def end_headers(self):
        self.send_header("Cache-Control", "max-age=600")
        super().end_headers()

    def send_head(self):
        path = pathlib.Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        if (path.suffix not in COMPRESSED or not path.is_file()
                or "gzip" not in self.headers.get("Accept-Encoding", "")):
            return super().send_head()
        body = gzip.compress(path.read_bytes(), compresslevel=6)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)


def serve(folder: pathlib.Path):
    """Serve `folder` with gzip on 127.0.0.1 at a free port (a context manager yielding the base URL)."""
    return browser.serve(folder, handler=GzipHandler)


def audit(url: str, categories: tuple[str, ...] = CATEGORIES) -> dict:
    """Run Lighthouse on one URL; return its scores (of `categories`), metrics, bytes and console
    errors (these only with best practices, whose audit reads them)."""
    if not LIGHTHOUSE.exists():
        raise SystemExit(f"{LIGHTHOUSE} is missing: `make setup` installs it (npm ci)")
    try:
        chrome = browser.require_chromium()
    except browser.ChromiumMissing as e:
        raise SystemExit(str(e)) from None
    with tempfile.TemporaryDirectory() as tmp:
        report = pathlib.Path(tmp) / "report.json"
        done = subprocess.run(
            [str(LIGHTHOUSE), url, "--output=json", f"--output-path={report}", "--quiet",
             f"--only-categories={','.join(categories)}", f"--chrome-flags={CHROME_FLAGS}",
             # what no score reads and costs seconds on a long page: the whole page's screenshot,
             # and the back/forward-cache test (a second navigation; weight 0 in performance)
             "--disable-full-page-screenshot", "--skip-audits=bf-cache"],
            env={**os.environ, "CHROME_PATH": chrome}, capture_output=True, text=True, timeout=300)
        if done.returncode != 0 or not report.exists():
            raise RuntimeError(f"lighthouse failed on {url}: {done.stderr.strip()[-2000:]}")
        data = json.loads(report.read_text(encoding="utf-8"))
        if os.environ.get("SA_LIGHTHOUSE_KEEP"):  # the whole report, to see what costs
            keep = pathlib.Path(os.environ["SA_LIGHTHOUSE_KEEP"])
            keep.mkdir(parents=True, exist_ok=True)
            name = url.split("/", 3)[-1].replace("/", "_")
            (keep / f"{name}.json").write_text(json.dumps(data), encoding="utf-8")
    audits = data["audits"]
    failed = {key: a["title"] for key, a in audits.items()
              if a.get("score") is not None and a["score"] < 1 and a.get("scoreDisplayMode") == "binary"}
    console = audits.get("errors-in-console", {}).get("details", {})
    errors = [item.get("description", "") for item in console.get("items", [])]
    return {
        "url": url,
        **{c: round(100 * data["categories"][c]["score"]) for c in categories},
        "fcp_ms": audits["first-contentful-paint"]["numericValue"],
        "lcp_ms": audits["largest-contentful-paint"]["numericValue"],
        "tbt_ms": audits["total-blocking-time"]["numericValue"],
        "cls": audits["cumulative-layout-shift"]["numericValue"],
        "tti_ms": audits["interactive"]["numericValue"],
        "bytes": audits["total-byte-weight"]["numericValue"],
        "console_errors": errors,
        "failed_audits": failed,
    }


PERFORMANCE = ("performance", "fcp_ms", "lcp_ms", "tbt_ms", "cls", "tti_ms", "bytes")


def median(values: list[float]) -> float:
    values = sorted(values)
    if not values:
        raise ValueError("median: no values")
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def judged(full: dict, others: list[dict]) -> dict:
    """A page's result from one full run (every category) and more runs of performance alone.
    Performance and each of its metrics are the median over all the runs, as Lighthouse's
    documentation advises for thresholds of failure ("use aggregate values like the median ...
    instead of single test results"; "the median Lighthouse score of 5 runs is twice as stable as
    1 run", docs/variability.md). Accessibility, best practices, SEO, the console errors and the
    failed audits are the full run's: they are read from the page as it stands once loaded and do
    not vary with the machine's speed, so a performance-only run skips the gatherers that cost most
    of a full one (the accessibility scan, font sizes, links)."""
    runs = [full, *others]
    return {**full, **{key: median([r[key] for r in runs]) for key in PERFORMANCE}, "runs": len(runs)}


def misses(result: dict) -> list[str]:
    """What a page's result falls short of, in words (empty if it meets every target)."""
    out = [f"{c} {result[c]} < {TARGETS[c]}" for c in CATEGORIES if result[c] < TARGETS[c]]
    out += [f"{m} {result[m]:.0f} > {TARGETS[m]}" for m in ("lcp_ms", "tbt_ms") if result[m] > TARGETS[m]]
    if result["cls"] > TARGETS["cls"]:
        out.append(f"cls {result['cls']:.3f} > {TARGETS['cls']}")
    if result["console_errors"]:
        out.append(f"console errors: {result['console_errors']}")
    return out


def all_pages(built: pathlib.Path) -> list[str]:
    pages = sorted(p.relative_to(built).as_posix() for p in built.rglob("*.html")
                   if "_static" not in p.parts and "_sources" not in p.parts and p.name != "index.html")
    return pages


def table(results: list[dict]) -> str:
    head = (f"{'page':44s} {'perf':>4s} {'a11y':>4s} {'bp':>4s} {'seo':>4s} {'FCP s':>6s} {'LCP s':>6s} "
            f"{'TBT ms':>7s} {'CLS':>6s} {'kB sent':>8s}")
    rows = [head]
    for r in results:
        page = r["url"].split("/", 3)[-1]
        rows.append(f"{page:44s} {r['performance']:4.0f} {r['accessibility']:4d} {r['best-practices']:4d} "
                    f"{r['seo']:4d} {r['fcp_ms'] / 1000:6.1f} {r['lcp_ms'] / 1000:6.1f} {r['tbt_ms']:7.0f} "
                    f"{r['cls']:6.3f} {r['bytes'] / 1000:8.0f}")
    return "\n".join(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pages", nargs="*", help="pages relative to _build/html (default: every page)")
    parser.add_argument("--check", action="store_true", help="exit 1 if a page misses a target")
    parser.add_argument("--json", type=pathlib.Path, help="write the results here")
    parser.add_argument("--built", type=pathlib.Path, default=BUILT,
                        help="the built site (default _build/html)")
    args = parser.parse_args(argv)
    if not (args.built / "index.html").exists():
        raise SystemExit(f"no book built in {args.built}: run make book")
    pages = args.pages or all_pages(args.built)
    results = []
    with serve(args.built) as base:
        for page in pages:
            results.append(audit(f"{base}/{page}"))
            print(table(results[-1:]).splitlines()[1], flush=True)
    print(table(results))
    short = {r["url"]: misses(r) for r in results if misses(r)}
    for url, why in short.items():
        print(f"below target: {url}: {'; '.join(why)}")
        failed = results[[r["url"] for r in results].index(url)]["failed_audits"]
        if failed:
            print(f"   failed audits: {failed}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"{len(results) - len(short)} of {len(results)} pages meet every target")
    return 1 if args.check and short else 0


if __name__ == "__main__":
    sys.exit(main())
