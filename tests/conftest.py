"""Shared fixtures: the built book, a local server for it, and an offline Chromium page
(the server, the browser and the offline page come from scripts/browser.py).

Tests that need the built book (``make book``) take the ``built_html`` fixture; they are
marked ``built`` automatically, so ``pytest -m "not built"`` runs only the fast unit tests.
"""

from __future__ import annotations

import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILT = ROOT / "_build" / "html"
sys.path.insert(0, str(ROOT / "scripts"))
from browser import ChromiumMissing, chromium, serve  # noqa: E402  (scripts/browser.py)
from browser_helpers import (  # noqa: E402
    COLOUR_RULES,
    LOAD_FACTS,
    RUN_AXE,
    TAGS,
    TO_DARK,
    book_pages,
    offline_context,
    prepare_for_axe,
)


def pytest_configure(config):
    config.addinivalue_line("markers", "built: needs the built book in _build/html (make book)")
    config.addinivalue_line("markers", "lighthouse: Lighthouse's mobile audit of the built book "
                            "against issue 24's targets (tests/test_lighthouse.py): "
                            "make bench runs it, make test not yet")
    config.addinivalue_line("markers", "packaging: the slow packaging test (builds the sdist and wheel, "
                            "installs the wheel in a fresh venv): tests/test_release.py")


def pytest_collection_modifyitems(items):
    for item in items:
        if "built_html" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.built)


@pytest.fixture(scope="session")
def built_html() -> pathlib.Path:
    if not (BUILT / "index.html").is_file():
        pytest.fail(f"{BUILT} has no built book: run `make book` first")
    return BUILT


@pytest.fixture(scope="session")
def chapter_pages(built_html) -> list[pathlib.Path]:
    pages = sorted((built_html / "chapters").glob("*.html"))
    assert pages, "the built book has no chapter pages"
    return pages


@pytest.fixture(scope="session")
def book_server(built_html):
    """Serve the built book on 127.0.0.1 (a free port) for the session; yields its base URL."""
    with serve(built_html) as base:
        yield base


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        try:
            b = chromium(p)
        except ChromiumMissing as e:
            pytest.fail(str(e))
        yield b
        b.close()


@pytest.fixture()
def offline_page(browser, book_server):
    """A page that may only talk to the local book server (browser.offline_context)."""
    context, page = offline_context(browser, book_server)
    yield page
    context.close()


@pytest.fixture(scope="session")
def page_tour(built_html, book_server, browser):
    """Every page of the built book (both editions) loaded once, offline, in the light mode:
    {page: facts}. Its load (``external`` requests, ``console_errors``, ``failed`` requests,
    LOAD_FACTS: maths, images, explorer controls), read before anything is added to the page;
    then axe-core's violations (``axe``): every WCAG A/AA rule in the light mode, then the
    reader's own switch to the dark mode (the theme's button) and the colour rules again.
    tests/test_book_built.py and tests/test_accessibility.py both read it: one load per page."""
    assert (built_html / "_static" / "vendor" / "axe.min.js").is_file(), \
        "axe-core is not in the built book: the Makefile copies it from node_modules"
    tour = {}
    for rel in book_pages(built_html):
        context, page = offline_context(browser, book_server, mode="light")
        try:
            page.goto(f"{book_server}/{rel}", wait_until="load")
            facts = page.evaluate(LOAD_FACTS)
            facts.update(external=list(page.sa_external), console_errors=list(page.sa_console_errors),
                         failed=list(page.sa_failed))
            assert facts["theme"] == "light", rel
            prepare_for_axe(page, book_server)
            facts["axe"] = {"light": page.evaluate(RUN_AXE, ["tag", TAGS])}
            page.evaluate(TO_DARK)
            assert page.evaluate("document.documentElement.dataset.theme") == "dark", rel
            facts["axe"]["dark"] = page.evaluate(RUN_AXE, ["rule", COLOUR_RULES])
        finally:
            context.close()
        tour[rel] = facts
    return tour
