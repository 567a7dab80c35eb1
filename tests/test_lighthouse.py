"""Lighthouse on the built book: a chapter opens fast on a phone (issue 24).

The three heaviest chapter pages of each edition (the largest gzipped HTML: the most maths, code
and explorers) are served with gzip from 127.0.0.1 and audited by Lighthouse (npm, locked) in
Debian's Chromium with its default mobile profile (a 4x slower CPU and a slow 4G network,
simulated): see ``scripts/lighthouse.py``. Each must reach performance ≥ 90, accessibility, best
practices and SEO 100, LCP ≤ 2.5 s, TBT ≤ 200 ms, CLS ≤ 0.1, with no console error.

The results (and, below target, the failing audits) are printed (``pytest -s``) and written to
``_build/lighthouse-test.json``. ``make bench`` runs the same audit on every page, then this test.

Marked ``lighthouse``: ``make test`` does not run it yet, because the pages do not meet every
target on every run. Since 2026-12-07 evening (the header's icons sized before their font
arrives, one link blue that passes on every tint) performance, accessibility, best practices,
SEO, LCP and CLS met their targets on all six pages in the runs measured there, but Total
Blocking Time still went over 200 ms on one or two of them, and varied from run to run on the
same page by more than the target itself (README, Fast pages; issue 24). A test that fails on
most runs cannot be part of the command CI runs. ``make bench`` runs it; when it passes there,
it moves into ``make test``.
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
pytestmark = pytest.mark.lighthouse


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
    """{page: Lighthouse's result} for the sampled pages (one Lighthouse run each)."""
    pages = heaviest_chapters(built_html)
    results = {}
    with lighthouse.serve(built_html) as base:
        for page in pages:
            results[page] = lighthouse.audit(f"{base}/{page}")
    print("\n" + lighthouse.table(list(results.values())))
    (built_html.parent / "lighthouse-test.json").write_text(
        json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    return results


def test_three_heavy_chapter_pages_of_each_edition_meet_the_lighthouse_targets(audits):
    assert len(audits) == 2 * PER_EDITION
    assert sum(page.startswith("zh/") for page in audits) == PER_EDITION
    short = {page: lighthouse.misses(result) for page, result in audits.items() if lighthouse.misses(result)}
    report = "\n".join(f"{page}: {'; '.join(why)}\n   failed audits: {audits[page]['failed_audits']}"
                       for page, why in short.items())
    assert not short, f"below the Lighthouse targets ({lighthouse.TARGETS}):\n{report}"
