"""Lighthouse on the built book: a chapter opens fast on a phone (issue 24).

The three heaviest chapter pages of each edition (the largest gzipped HTML: the most maths, code
and explorers) are served with gzip from 127.0.0.1 and audited by Lighthouse (npm, locked) in
Debian's Chromium with its mobile profile (a slow 4G network, simulated) and the CPU slowed down
to Lighthouse's mid-tier phone: see ``scripts/lighthouse.py``. Lighthouse's default is to slow
down whatever machine it runs on four times, so the same page scored differently on two machines:
a clean-clone run on another machine measured Total Blocking Time medians of 226-276 ms on four
of these pages, where this machine's runs of the same build had given 74-145 ms. Lighthouse's
docs/throttling.md asks to calibrate the multiplier from the BenchmarkIndex it measures on the
machine. ``lighthouse.audit_all`` loads every page first, then audits every load with one
slowdown, calibrated from the median of the BenchmarkIndex measured in all thirty loads (on this
machine it varied from about 1,000 to 2,000 between loads a minute apart).

Each page must reach performance ≥ 90, accessibility, best practices and SEO 100, LCP ≤ 2.5 s,
CLS ≤ 0.1, with no console error. Total Blocking Time's target is 200 ms, and the longest pages
do not reliably meet it (README, "Fast pages"): issue 24 stays open on it. The test prints each page's
shortfall and holds the median under ``lighthouse.TBT_CEILING_MS``, so that it cannot grow
unnoticed.

Each page is audited RUNS times: once in full, then RUNS - 1 times for performance alone. Its
performance score and each of its timings are the median over the RUNS runs, as Lighthouse's
documentation advises for thresholds of failure (docs/variability.md: "use aggregate values like
the median ... instead of single test results"; "the median Lighthouse score of 5 runs is twice
as stable as 1 run"): Total Blocking Time on this book's pages varied by more than its 200 ms
target between runs of the same page on one machine. Accessibility, best practices, SEO and the
console errors are the full run's: they are read from the loaded page and do not vary with the
machine's speed, and a performance-only run skips the gatherers that cost most of a full one
(``lighthouse.judged``).
The calibration, the results (and, below target, the failing audits) and every run's
performance, TBT, LCP and BenchmarkIndex are printed (``pytest -s``) and written to
``_build/lighthouse-test.json``. ``make bench`` runs the same audit once on every page (a table).

Marked ``lighthouse``: ``make test`` runs it last (``make test-lighthouse``), after both of its
lanes have finished, so that it has the machine to itself: Lighthouse's simulation multiplies the
main thread's observed task times by the slowdown, so runs made while the other lane kept the
second core busy would measure that load as well as the page. Its thirty runs take about
nine minutes. The unit tests of ``lighthouse.judged`` and ``lighthouse.slowdown_for`` (no mark)
run in lane B.
"""

from __future__ import annotations

import gzip
import json
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import lighthouse  # noqa: E402  (scripts/lighthouse.py)

PER_EDITION = 3
RUNS = 5  # Lighthouse runs per page, one full and four of performance alone (lighthouse.judged)


def heaviest_chapters(built_html: pathlib.Path) -> list[str]:
    """The PER_EDITION chapter pages of each edition with the largest gzipped HTML."""
    pages = []
    for folder in (built_html / "chapters", built_html / "zh" / "chapters"):
        chapters = sorted(folder.glob("*.html"))
        assert chapters, f"no chapter pages in {folder}"
        chapters.sort(key=lambda p: len(gzip.compress(p.read_bytes(), 6)), reverse=True)
        pages += [p.relative_to(built_html).as_posix() for p in chapters[:PER_EDITION]]
    return pages


@pytest.fixture(scope="module")
def audits(built_html):
    """{page: its result over RUNS runs (lighthouse.judged)} for the sampled pages, every run kept
    beside it."""
    pages = heaviest_chapters(built_html)
    results, runs = {}, {}
    with lighthouse.serve(built_html) as base:
        urls = [(f"{base}/{page}", categories) for page in pages
                for categories in [lighthouse.CATEGORIES] + [("performance",)] * (RUNS - 1)]
        every, cpu = lighthouse.audit_all(urls)
    for k, page in enumerate(pages):
        full, *others = every[k * RUNS:(k + 1) * RUNS]
        assert all(r["url"].endswith("/" + page) for r in (full, *others)), page
        runs[page] = [full, *others]
        results[page] = lighthouse.judged(full, others)
    print("\n" + lighthouse.calibration_line(cpu))
    print(f"performance and its metrics: the median of {RUNS} runs; the other categories: the "
          "first run, the only one that audits them")
    print(lighthouse.table(list(results.values())))
    for page, each in runs.items():
        print(f"{page}: every run's performance {[r['performance'] for r in each]}, "
              f"TBT ms {[round(r['tbt_ms']) for r in each]}, "
              f"LCP s {[round(r['lcp_ms'] / 1000, 2) for r in each]}, "
              f"BenchmarkIndex {[round(r['benchmark_index']) for r in each]}")
    (built_html.parent / "lighthouse-test.json").write_text(
        json.dumps({"calibration": cpu, "median": results, "runs": runs}, indent=1, ensure_ascii=False),
        encoding="utf-8")
    for page, each in runs.items():  # every run used the calibrated slowdown
        assert {r["cpu_slowdown"] for r in each} == {cpu["cpu_slowdown"]}, \
            (page, [r["cpu_slowdown"] for r in each])
    return results


def test_a_page_is_judged_on_each_metrics_median_and_the_full_runs_other_categories():
    """lighthouse.judged: performance and each of its metrics the median over all runs (not the
    best run, not one run), the categories only the full run audits (and its console errors) the
    full run's."""
    full = {"performance": 80, "accessibility": 97, "best-practices": 100, "seo": 100, "fcp_ms": 1800,
            "lcp_ms": 2600, "tbt_ms": 300, "cls": 0.0, "tti_ms": 2500, "bytes": 1, "console_errors": ["x"]}
    others = [{"performance": 96, "fcp_ms": 1500, "lcp_ms": 2000, "tbt_ms": 50, "cls": 0.0, "tti_ms": 2100,
               "bytes": 1},
              {"performance": 92, "fcp_ms": 1790, "lcp_ms": 2100, "tbt_ms": 250, "cls": 0.02, "tti_ms": 2400,
               "bytes": 1}]
    result = lighthouse.judged(full, others)
    assert (result["performance"], result["tbt_ms"], result["lcp_ms"], result["cls"]) == (92, 250, 2100, 0.0)
    assert result["accessibility"] == 97 and result["console_errors"] == ["x"] and result["runs"] == 3
    assert lighthouse.misses(result) == ["accessibility 97 < 100", "tbt_ms 250 > 200",
                                         "console errors: ['x']"]
    assert lighthouse.held(result) == ["accessibility 97 < 100", "console errors: ['x']"]
    assert lighthouse.held({**result, "console_errors": [], "accessibility": 100}) == []
    over = {**result, "console_errors": [], "accessibility": 100, "tbt_ms": lighthouse.TBT_CEILING_MS + 1}
    ceiling = lighthouse.TBT_CEILING_MS
    assert lighthouse.held(over) == [f"tbt_ms {ceiling + 1} > the ceiling {ceiling}"]
    assert lighthouse.median([3, 1, 2, 10]) == 2.5
    with pytest.raises(ValueError):
        lighthouse.median([])


def test_the_cpu_slowdown_is_calibrated_to_lighthouses_mid_tier_phone():
    """lighthouse.slowdown_for follows the anchors of Lighthouse's CPU throttling calculator: the
    default 4x for a host of BenchmarkIndex 1533, less for a slower host, more for a faster one;
    a host below 150, where the calculator stops, is refused with the reason."""
    assert [round(lighthouse.slowdown_for(i), 2) for i in (150, 475, 800, 1050, 1300, 1533, 1766, 2000)] == \
        [1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0]
    steps = [lighthouse.slowdown_for(i) for i in range(150, 3000, 7)]
    assert all(b > a for a, b in zip(steps, steps[1:]))
    for bad in (149, 0, float("nan")):
        with pytest.raises(ValueError, match="below 150"):
            lighthouse.slowdown_for(bad)


@pytest.mark.lighthouse
def test_three_heavy_chapter_pages_of_each_edition_meet_the_lighthouse_targets(audits):
    assert len(audits) == 2 * PER_EDITION
    assert sum(page.startswith("zh/") for page in audits) == PER_EDITION
    for page, result in audits.items():  # the known shortfall (issue 24), printed, held under a ceiling
        if result["tbt_ms"] > lighthouse.TARGETS["tbt_ms"]:
            print(f"{page}: Total Blocking Time {result['tbt_ms']:.0f} ms, over its "
                  f"{lighthouse.TARGETS['tbt_ms']} ms target (ceiling {lighthouse.TBT_CEILING_MS} ms)")
    short = {page: lighthouse.held(result) for page, result in audits.items() if lighthouse.held(result)}
    report = "\n".join(f"{page}: {'; '.join(why)}\n   failed audits: {audits[page]['failed_audits']}"
                       for page, why in short.items())
    assert not short, (f"below the Lighthouse targets ({lighthouse.TARGETS}; Total Blocking Time: "
                       f"the ceiling {lighthouse.TBT_CEILING_MS} ms), {RUNS} runs:\n{report}")
