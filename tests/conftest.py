"""Shared fixtures: the built book, a local server for it, and an offline Chromium page.

Tests that need the built book (``make book``) take the ``built_html`` fixture; they are
marked ``built`` automatically, so ``pytest -m "not built"`` runs only the fast unit tests.
"""

from __future__ import annotations

import functools
import http.server
import pathlib
import threading
from urllib.parse import urlparse

import pytest
from browser_helpers import CHROMIUM, CHROMIUM_FLAGS

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILT = ROOT / "_build" / "html"


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

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(built_html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not pathlib.Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield b
        b.close()


@pytest.fixture()
def offline_page(browser, book_server):
    """A page that may only talk to the local book server.

    Every request to another host is aborted and recorded in ``page.sa_external``; console
    errors and uncaught exceptions go to ``page.sa_console_errors``; requests that failed
    (including local 404s) go to ``page.sa_failed``.
    """
    local = urlparse(book_server).netloc
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.sa_server = book_server
    page.sa_external, page.sa_console_errors, page.sa_failed = [], [], []

    def route(r):
        url = urlparse(r.request.url)
        if url.scheme in ("data", "blob") or url.netloc == local:
            r.continue_()
        else:
            page.sa_external.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page.on("console", lambda m: m.type == "error" and page.sa_console_errors.append(m.text))
    page.on("pageerror", lambda e: page.sa_console_errors.append(str(e)))
    # A request cancelled because the page navigated away (ERR_ABORTED: e.g. the previous
    # page's favicon, fetched after its load) is not a failure; a missing file still shows up
    # as a 4xx response below, and a request to another host in sa_external.
    page.on("requestfailed", lambda r: r.failure != "net::ERR_ABORTED" and page.sa_failed.append(
        f"{r.failure} {r.url}"))
    page.on("response", lambda r: r.status >= 400 and page.sa_failed.append(f"{r.status} {r.url}"))
    yield page
    context.close()
