"""The whole built book as one PDF, printed by the Chromium the tests use (``make pdf``).

Every page of the table of contents (book/_toc.yml) is loaded from the built HTML, served on
127.0.0.1 (any request to another host is refused, so the PDF is made offline), laid out as on
paper (print media, the printable width of A4), printed with Playwright's ``page.pdf()`` by
Debian's /usr/bin/chromium once its maths is typeset (MathJax, if the page runs it), and the
pieces are merged with pypdf behind a contents page. The print styles in book/_static/book.css
decide what a page looks like on paper: no navigation, explorers in their default state (their
table or picture, the canvas laid over it hidden), exercise solutions printed open under their exercise and
marked "printed open", long code lines wrapped, display equations never clipped. Before a page
is printed, every display equation wider than its room on the page is scaled down to fit (FIT);
tests/test_pdf.py checks that no equation or code line runs out of the column.

Then: page numbers (one overlay page per page, printed by the same Chromium and stamped on),
a bookmark per chapter (the PDF's outline) and, on the contents page, a link per chapter to its
first page. Links between chapters point to the published book (html.baseurl in the config).

    python scripts/make_pdf.py [--out _build/html/seeing-attention.pdf]

writes the PDF into the built site (the download menu links it) and prints the equations it
scaled, its page count, size and how long it took.
"""

from __future__ import annotations

import argparse
import html
import io
import pathlib
import sys
import time
from typing import NamedTuple

from pypdf import PdfReader, PdfWriter
from pypdf.annotations import Link
from pypdf.generic import Fit

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))  # scripts/: book.py, browser.py
from browser import ChromiumMissing, chromium, offline_context, require_chromium, serve  # noqa: E402

from book import CONFIG, TOC, baseurl, config, toc_pages  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILT = ROOT / "_build" / "html"
PAPER = {"format": "A4", "margin": {"top": "16mm", "bottom": "18mm", "left": "16mm", "right": "16mm"}}
PDF_NAME = "seeing-attention.pdf"


# Once the page has loaded: MathJax has typeset every formula, the explorers show their
# default state (the canvas is hidden by the print CSS), links to other pages of the book
# point to the published book; returns the page's title.
PREPARE = """async baseurl => {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
        await MathJax.startup.promise;
        if (MathJax.typesetPromise) await MathJax.typesetPromise();
    }
    await document.fonts.ready;
    const here = location.origin + '/';
    for (const a of document.querySelectorAll('main a[href]')) {
        if (a.href.startsWith(here) && !(a.getAttribute('href') || '').startsWith('#'))
            a.href = baseurl + a.href.slice(here.length);
    }
    const h1 = document.querySelector('main h1');
    return h1 ? h1.textContent.replace(/[#¶]\\s*$/, '').trim() : document.title;
}"""


# The printable width of a page (A4 less the side margins), in CSS px: the width the print
# layout has, and the width the pages are measured at before printing.
COLUMN_PX = round((210 - 16 - 16) / 25.4 * 96)

# Run with print media emulated at COLUMN_PX wide: every display equation wider than the room
# it has on the page (the column less its number) is scaled down (CSS zoom) until it fits, so
# that no part of it is cut off on paper (the print CSS keeps it unclipped: overflow visible, the
# equation's box no wider than its room). MathJax cannot break a display equation into lines.
# Works on whatever typeset the maths (MathJax in the page, or maths rendered at build time:
# it measures the boxes, not MathJax); returns [[id, scale], ...] for the equations it scaled.
FIT = """() => {
    // The left and right edge of what an element shows (its painted descendants).
    function extent(e) {
        let l = Infinity, r = -Infinity;
        for (const d of e.querySelectorAll('*')) {
            if (d.closest('mjx-assistive-mml, .eqno')) continue;
            const b = d.getBoundingClientRect();
            if (b.width > 0 && b.height > 0) { l = Math.min(l, b.left); r = Math.max(r, b.right); }
        }
        return [l, r];
    }
    const scaled = [];
    for (const c of document.querySelectorAll('mjx-container[display="true"], .katex-display')) {
        c.style.zoom = '';
        let zoom = 1;
        for (let k = 0; k < 4; k++) {  // zoom changes the room inside the box a little: settle
            const box = c.getBoundingClientRect(), [l, r] = extent(c);
            if (!(r > l) || (l >= box.left - 0.5 && r <= box.right + 0.5)) break;
            zoom = Math.floor(zoom * Math.min(1, box.width / (r - l)) * 0.99 * 1000) / 1000;
            c.style.zoom = String(zoom);
        }
        if (zoom < 1) scaled.push([(c.closest('[id]') || {}).id || '', zoom]);
    }
    return scaled;
}"""


def contents_html(entries, offset: int) -> str:
    """The contents page: every entry with the page it starts on (1-based, after this page)."""
    rows, part = [], object()
    for e in entries:
        if e["part"] != part and e["part"]:
            rows.append(f'<li class="part">{html.escape(e["part"])}</li>')
        part = e["part"]
        rows.append(f'<li class="entry"><a>'
                    f'<span>{html.escape(e["title"])}</span><b>{e["start"] + offset + 1}</b></a></li>')
    return f"""<!doctype html><meta charset="utf-8"><title>Contents</title>
<style>
 body {{ font: 11pt/1.45 "Noto Sans", "DejaVu Sans", sans-serif; color: #111; margin: 0; }}
 h1 {{ font-size: 24pt; margin: 0 0 4pt; }} p.sub {{ margin: 0 0 18pt; color: #333; }}
 h2 {{ font-size: 14pt; margin: 0 0 8pt; }}
 ol {{ list-style: none; padding: 0; margin: 0; }}
 li.part {{ font-weight: 700; margin: 10pt 0 3pt; }}
 li.entry a {{ display: flex; gap: 6pt; color: #111; text-decoration: none; padding: 2pt 0 2pt 12pt; }}
 li.entry a span {{ flex: 1; border-bottom: 1px dotted #888; }}
</style>
<h1>Seeing Attention</h1>
<p class="sub">An interactive book on attention and the Transformer, printed from its HTML edition.
The explorers are shown in their default state; solutions are printed open, under each exercise,
titled &ldquo;Solution to&nbsp;&hellip;&nbsp;&mdash; printed open&rdquo;.</p>
<h2>Contents</h2><ol>{''.join(rows)}</ol>"""


# One page per page number: printed at the book's paper size with no margin and stamped onto
# the merged pages.
def numbers_html(count: int) -> str:
    pages = "".join(f'<div class="p"><span>{k}</span></div>' for k in range(1, count + 1))
    return f"""<!doctype html><meta charset="utf-8"><style>
 @page {{ size: A4; margin: 0; }} html, body {{ margin: 0; background: transparent; }}
 .p {{ height: 297mm; position: relative; break-after: page; overflow: hidden; }}
 .p span {{ position: absolute; bottom: 8mm; left: 0; right: 0; text-align: center;
           font: 9pt "Noto Sans", "DejaVu Sans", sans-serif; color: #444; }}
</style>{pages}"""


def arguments(argv=None) -> argparse.Namespace:
    """Read the command line and check that the built book and Chromium are there."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--html", type=pathlib.Path, default=BUILT)
    parser.add_argument("--toc", type=pathlib.Path, default=TOC)
    parser.add_argument("--config", type=pathlib.Path, default=CONFIG)
    parser.add_argument("--out", type=pathlib.Path, default=None)
    args = parser.parse_args(argv)
    args.out = args.out or args.html / PDF_NAME
    if not (args.html / "index.html").is_file():
        sys.exit(f"{args.html} has no built book: run `make book` first")
    try:
        require_chromium()
    except ChromiumMissing as e:
        sys.exit(str(e))
    return args


def paper_page(browser, origin: str):
    """(context, page): offline, in the light mode, laid out as on paper (print media, the column's width)."""
    # The pages are laid out as on paper before they are printed, so that FIT measures the
    # equations in the layout page.pdf() prints (tests/test_pdf.py measures in this layout too).
    context, page = offline_context(browser, origin, mode="light", width=COLUMN_PX, height=1200)
    page.emulate_media(media="print")
    page.route("**/*.html", eager_figures)
    return context, page


def eager_figures(route):
    """Serve a page with its figures loading at once, not when they near the screen (the pages'
    loading="lazy", book_pages.lazy_figures): Chromium prints a page with lazy figures about three
    times as slowly (3.0 s against 1.0 s for chapter 5, measured 2026-12-07), even once they have
    loaded, and a figure must be there to be printed."""
    response = route.fetch()
    route.fulfill(response=response, body=response.text().replace('<img loading="lazy" ', "<img "))


def print_pages(page, origin: str, args, site: str):
    """Print every page of the table of contents, in its order: (entries, pieces, scaled)."""
    # entries: {part, doc, title, start, pages} per page (start: its first page, 0-based, in the
    # book without its contents); pieces: each page's PDF; scaled: (doc, equation, zoom) for every
    # display equation FIT scaled down to the column.
    entries, pieces, scaled, start = [], [], [], 0
    for part, doc in toc_pages(args.toc):
        rel = f"{doc}.html"
        if not (args.html / rel).is_file():
            sys.exit(f"{rel} is in the table of contents but not in {args.html}")
        page.goto(f"{origin}/{rel}", wait_until="load")
        title = page.evaluate(PREPARE, site)
        scaled += [(doc, eq, zoom) for eq, zoom in page.evaluate(FIT)]
        data = page.pdf(print_background=True, prefer_css_page_size=False, outline=False,
                        tagged=True, **PAPER)
        n = len(PdfReader(io.BytesIO(data)).pages)
        entries.append({"part": part, "doc": doc, "title": title, "start": start, "pages": n})
        pieces.append(data)
        print(f"  {rel:45s} {n:4d} pages  {title}")
        start += n
    return entries, pieces, scaled


def print_contents(page, entries):
    """Print the contents page(s): (pdf, how many pages it takes, where each entry lies on them)."""
    # Printed twice, as the number of pages it takes shifts the page numbers it lists (it
    # settles at once: the numbers do not change its length).
    offset = 1
    for _ in range(3):
        page.set_content(contents_html(entries, offset), wait_until="load")
        toc_pdf = page.pdf(print_background=True, **PAPER)
        got = len(PdfReader(io.BytesIO(toc_pdf)).pages)
        if got == offset:
            break
        offset = got
    # Where each contents entry lies on its page, for the links (CSS px from the page's top):
    # measured in the print layout, at the printable width (A4 less the margins).
    boxes = page.evaluate("""() => Array.from(document.querySelectorAll('li.entry a')).map(a => {
        const r = a.getBoundingClientRect();
        return [r.left, r.top + window.scrollY, r.right, r.bottom + window.scrollY];
    })""")
    return toc_pdf, offset, boxes


def print_numbers(page, count: int) -> bytes:
    """Print the page numbers: one transparent A4 page per page of the book, its number at the foot."""
    page.set_content(numbers_html(count), wait_until="load")
    return page.pdf(print_background=False, prefer_css_page_size=True)


class Printed(NamedTuple):
    """What Chromium printed, for the steps that make one PDF of it."""

    entries: list  # {part, doc, title, start, pages} per page, in the order of the table of contents
    pieces: list  # each page's PDF
    scaled: list  # (doc, equation, zoom) for each display equation FIT scaled down
    contents: bytes  # the contents page(s)
    offset: int  # how many pages the contents take (the book's pages follow them)
    boxes: list  # where each contents entry lies (CSS px), for its link
    numbers: bytes  # the page numbers, one page per page


def print_book(args) -> Printed:
    """Serve the built book offline and print its pages, contents and page numbers in Chromium."""
    from playwright.sync_api import sync_playwright

    site = baseurl(config(args.config))
    with serve(args.html) as origin, sync_playwright() as p:
        browser = chromium(p)
        _, page = paper_page(browser, origin)
        entries, pieces, scaled = print_pages(page, origin, args, site)
        toc_pdf, offset, boxes = print_contents(page, entries)
        numbers = print_numbers(page, offset + sum(e["pages"] for e in entries))
        refused = page.sa_external
        browser.close()
    if refused:
        sys.exit(f"the pages asked for other hosts (refused, the PDF must be made offline): {refused[:5]}")
    return Printed(entries, pieces, scaled, toc_pdf, offset, boxes, numbers)


def merge(printed: Printed) -> PdfWriter:
    """Merge the contents and the pages into one PDF, stamp each page's number on it, deflate."""
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(printed.contents)))
    for data in printed.pieces:
        writer.append(PdfReader(io.BytesIO(data)), import_outline=False)
    stamps = PdfReader(io.BytesIO(printed.numbers))
    for k, pdf_page in enumerate(writer.pages):
        pdf_page.merge_page(stamps.pages[k])
        # merge_page leaves the page's content uncompressed (three quarters of the file): deflate it
        pdf_page.compress_content_streams()
    return writer


def add_bookmarks(writer: PdfWriter, printed: Printed) -> None:
    """Bookmarks (the PDF's outline): one per part, one per chapter under it, and the contents."""
    parents, offset = {}, printed.offset
    for e in printed.entries:
        parent = None
        if e["part"]:
            if e["part"] not in parents:
                parents[e["part"]] = writer.add_outline_item(title=e["part"], page_number=e["start"] + offset)
            parent = parents[e["part"]]
        writer.add_outline_item(title=e["title"], page_number=e["start"] + offset, parent=parent)
    writer.add_outline_item(title="Contents", page_number=0)


def link_contents(writer: PdfWriter, printed: Printed) -> None:
    """A link on the contents page(s) from each entry to its first page."""
    # CSS px -> PDF points (72/96), the PDF's y axis points up.
    offset = printed.offset
    mm = 72 / 25.4
    height = float(writer.pages[0].mediabox.height)
    page_px = (297 - 16 - 18) * mm / 0.75  # the printable height of one page, in CSS px
    for e, (x0, y0, x1, y1) in zip(printed.entries, printed.boxes):
        sheet = int(y0 // page_px)
        y0, y1 = y0 - sheet * page_px, y1 - sheet * page_px
        rect = (16 * mm + x0 * 0.75, height - 16 * mm - y1 * 0.75,
                16 * mm + x1 * 0.75, height - 16 * mm - y0 * 0.75)
        writer.add_annotation(page_number=min(sheet, offset - 1),
                              annotation=Link(rect=rect, target_page_index=e["start"] + offset,
                                              fit=Fit.fit()))


def write(writer: PdfWriter, out: pathlib.Path) -> None:
    """Give the PDF its title and author, open it on its bookmarks, drop repeated objects, write it."""
    writer.add_metadata({"/Title": "Seeing Attention", "/Author": "The Seeing Attention authors"})
    writer.page_mode = "/UseOutlines"
    # Every piece embeds its own copy of the same fonts and stamps: keep one of each.
    writer.compress_identical_objects()
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as f:
        writer.write(f)


def report(out: pathlib.Path, printed: Printed, seconds: float) -> None:
    """Print the equations scaled to the column, the page count, the size and the time taken."""
    scaled, offset = printed.scaled, printed.offset
    if scaled:
        print(f"{len(scaled)} display equations scaled to the column, the smallest to "
              f"{min(z for *_, z in scaled):.0%}: " + ", ".join(f"{eq} {z:.0%}" for _, eq, z in scaled))
    total = sum(e["pages"] for e in printed.entries)
    print(f"{out}: {offset + total} pages ({offset} of contents), "
          f"{out.stat().st_size / 1e6:.1f} MB, made in {seconds:.0f} s")


def main(argv=None) -> int:
    """Make the PDF: print the book in Chromium, merge, stamp, bookmark, link, write, report."""
    args = arguments(argv)
    t0 = time.perf_counter()
    printed = print_book(args)
    writer = merge(printed)
    add_bookmarks(writer, printed)
    link_contents(writer, printed)
    write(writer, args.out)
    report(args.out, printed, time.perf_counter() - t0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
