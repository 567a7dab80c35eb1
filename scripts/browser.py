"""The browser the book is printed, previewed, benchmarked and tested in, and how it is served.

One place for what scripts/make_pdf.py, scripts/preview_chapter.py, scripts/lighthouse.py,
bench/run.py and the browser tests (tests/conftest.py, tests/browser_helpers.py) share:

- ``CHROMIUM``, ``FLAGS``: Debian's Chromium (``make chromium`` installs it; Playwright's own
  download is never used) and the flags that keep it offline and quiet.
- ``require_chromium()``: the path, or a clear error saying what to run.
- ``chromium(playwright)``: Chromium launched by Playwright (``executable_path``).
- ``serve(folder)``: a quiet local HTTP server for a folder on 127.0.0.1 at a free port (a
  context manager yielding its base URL; one thread per request).
- ``offline_context(browser, server)``: a browser context and page that may only talk to that
  server, recording what else the page asked for, its console errors and its failed requests.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import pathlib
import sys
import threading
from urllib.parse import urlparse

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


class ChromiumMissing(RuntimeError):
    """Debian's Chromium is not installed."""


def require_chromium() -> str:
    """The path of Debian's Chromium; ChromiumMissing (saying what to run) if it is not there."""
    if not pathlib.Path(CHROMIUM).exists():
        raise ChromiumMissing(f"{CHROMIUM} is missing: `make chromium` installs Debian's chromium")
    return CHROMIUM


def chromium(playwright):
    """Debian's Chromium, headless, launched by Playwright (``sync_playwright()``'s object)."""
    return playwright.chromium.launch(executable_path=require_chromium(), args=FLAGS)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder and logs nothing."""

    def log_message(self, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):  # the browser hung up early: fine
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextlib.contextmanager
def serve(folder: pathlib.Path, handler=QuietHandler):
    """Serve ``folder`` on 127.0.0.1 at a free port, one thread per request; yields the base URL
    (``http://127.0.0.1:PORT``, no trailing slash). ``handler``: a SimpleHTTPRequestHandler."""
    server = _Server(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def offline_context(browser, server: str, mode: str | None = None, width: int = 1280, height: int = 900):
    """(context, page): a page that may only talk to the local server at ``server``.

    Every request to another host is aborted and recorded in ``page.sa_external``; console
    errors and uncaught exceptions go to ``page.sa_console_errors``; requests that failed
    (including local 404s) go to ``page.sa_failed``. ``mode`` ("light" or "dark"): the theme's
    colour mode, set the theme's own way (it reads the reader's choice from localStorage).
    """
    local = urlparse(server).netloc
    context = browser.new_context(viewport={"width": width, "height": height})
    if mode is not None:
        context.add_init_script(f"localStorage.setItem('mode', '{mode}');")
    page = context.new_page()
    page.sa_server = server
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
    return context, page
