"""The whole book as one PDF (``make pdf``, scripts/make_pdf.py): checked from its text and layout.

``make test`` builds the PDF after the HTML book; this test reads it back (pypdf, pdftotext): every
page of the table of contents is in it under its title, in order, with a bookmark and a link on
the contents page; no MyST markup leaked through unrendered; every page carries its number; it
is under 15 MB.

Nothing runs out of the column on paper: every page is laid out in Chromium as make_pdf prints
it (print media, the printable width of A4, make_pdf's own preparation and equation fitting),
and every display equation and every code line must lie inside the column; the PDF's words are
read back (pdftotext -bbox) and none may lie outside the page's text box. (A glyph cut off by
the page edge is not in the PDF at all, so the layout check is the one that finds a cut.) On a
phone (390 px, both editions) a display equation wider than the column scrolls sideways in its
own box instead of being cut off.
"""

from __future__ import annotations

import html
import importlib.util
import pathlib
import re
import shutil
import subprocess

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
PDF = ROOT / "_build" / "html" / "seeing-attention.pdf"
MAX_MB = 15
MIN_SCALE = 0.6  # the smallest a display equation may be scaled to fit the column (legible in print)
PHONE = 390  # CSS px: a phone's width
RAW = ["{math}", "```", ":label:", "{cite", "{doc}", "{term}", "{eq}", "$$", "\\frac", "\\mathrm",
       "{solution", "{exercise"]


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture(scope="module")
def pdf(built_html):
    from pypdf import PdfReader

    if not PDF.is_file():
        pytest.fail(f"{PDF} is missing: run `make pdf` (make test does) after the book is built")
    reader = PdfReader(PDF)
    # The text of every page, as poppler's pdftotext reads it in layout order (a tenth of the
    # time pypdf's extract_text takes on this PDF).
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "pdftotext is missing (poppler-utils: `make chromium` installs it)"
    out = subprocess.run([pdftotext, "-layout", "-enc", "UTF-8", str(PDF), "-"], capture_output=True,
                         text=True, check=True).stdout
    texts = out.split("\f")[:len(reader.pages)]
    assert len(texts) == len(reader.pages), f"pdftotext read {len(texts)} of {len(reader.pages)} pages"
    return reader, texts


def chapter_titles(built_html) -> list[str]:
    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text(encoding="utf-8"))
    docs = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    titles = []
    for doc in docs:
        page = (built_html / f"{doc}.html").read_text(encoding="utf-8")
        page = page[page.index('<article class="bd-article"'):]
        h1 = re.search(r"<h1[^>]*>(.*?)<a class=\"headerlink\"", page, re.S) or re.search(
            r"<h1[^>]*>(.*?)</h1>", page, re.S)
        titles.append(squash(re.sub(r"<[^>]+>", "", h1.group(1))).replace("&amp;", "&"))
    return titles


def test_the_pdf_holds_every_chapter_in_toc_order_without_raw_markup(pdf, built_html):
    reader, texts = pdf
    print(f"\n{PDF.name}: {len(reader.pages)} pages, {PDF.stat().st_size / 1e6:.1f} MB")
    titles = chapter_titles(built_html)
    bookmarks = [squash(o.title) for o in reader.outline if not isinstance(o, list)]
    nested = [squash(o.title) for o in reader.outline for o in (o if isinstance(o, list) else [])]
    starts = []
    for title in titles:
        assert title in bookmarks + nested, f"no bookmark for {title!r}"
        hits = [k for k, t in enumerate(texts) if squash(title) in squash(t)]
        assert hits, f"{title!r} is not in the PDF's text"
        starts.append(hits[-1] if not starts else next((k for k in hits if k >= starts[-1]), hits[-1]))
    assert starts == sorted(starts), f"the chapters are out of order: {list(zip(titles, starts))}"
    assert squash(texts[0]).startswith("Seeing Attention"), "the first page is not the contents"
    for title in titles:
        assert squash(title) in squash(texts[0] + texts[1]), f"{title!r} is not on the contents page"
    leaks = [(k + 1, raw) for k, t in enumerate(texts) for raw in RAW if raw in t]
    assert not leaks, f"raw markup in the PDF (page, text): {leaks[:20]}"


def test_every_page_is_numbered_and_the_contents_links_to_every_chapter(pdf, built_html):
    reader, texts = pdf
    # The number is stamped on last, so it is the last word of the page's text.
    unnumbered = [k + 1 for k, t in enumerate(texts) if not re.search(rf"(^|\s){k + 1}$", t.rstrip())]
    assert not unnumbered, f"pages without their number: {unnumbered[:20]}"
    index = {pg.indirect_reference.idnum: k for k, pg in enumerate(reader.pages)}

    def contents_links(k):
        links = [a.get_object() for a in reader.pages[k].get("/Annots", [])]
        return [index[a["/Dest"][0].idnum] for a in links if a.get("/Subtype") == "/Link" and "/Dest" in a]

    # the contents take the pages before the first entry's page (two, since chapter 19)
    targets = contents_links(0)
    assert targets, "the contents page has no link"
    for k in range(1, min(targets)):
        targets += contents_links(k)
    titles = chapter_titles(built_html)
    assert len(targets) == len(titles), f"{len(targets)} links on the contents page, {len(titles)} chapters"
    for title, k in zip(titles, targets):  # each link lands on the page where its chapter starts
        assert squash(title) in squash(texts[k]), f"the link to {title!r} lands on page {k + 1}"


def test_solutions_are_printed_open_and_marked(pdf):
    _, texts = pdf
    solutions = [k for k, t in enumerate(texts) if "Solution to" in t]
    assert solutions, "no solution in the PDF"
    marked = [k for k in solutions if "printed open" in squash(texts[k])]
    assert len(marked) == len(solutions), \
        f"solutions on pages {[k + 1 for k in solutions if k not in marked]} are not marked as printed open"


def test_the_site_offers_the_pdf_in_its_download_menu(pdf, offline_page):
    page = offline_page
    page.goto(f"{page.sa_server}/chapters/01_attention_pooling.html", wait_until="load")
    link = page.wait_for_selector(".dropdown-download-buttons .dropdown-menu a.sa-book-pdf",
                                  state="attached", timeout=10_000)
    assert link.inner_text().strip() == "Book (PDF)"
    status = page.evaluate("href => fetch(href, {method: 'HEAD'}).then(r => r.status)",
                           link.evaluate("a => a.href"))
    assert status == 200
    assert link.evaluate("a => a.href").endswith("/seeing-attention.pdf")
    assert not page.sa_external and not page.sa_console_errors, (page.sa_external, page.sa_console_errors)


def test_the_pdf_is_under_15_mb(pdf):
    size = PDF.stat().st_size / 1e6
    assert size < MAX_MB, f"{PDF.name} is {size:.1f} MB (at most {MAX_MB} MB)"


def load_make_pdf():
    spec = importlib.util.spec_from_file_location("make_pdf", ROOT / "scripts" / "make_pdf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# What runs out of its room, in the layout the page has now. A display equation's painted extent
# (its descendants' boxes, without MathJax's hidden copy for screen readers and without the
# equation number) must lie between the left of its div.math and the left of its number (or the
# div's right), and the div inside the viewport; where it is wider, it passes only if a box
# between the equation and the div scrolls sideways (overflow-x auto or scroll), starts at the
# equation's left (what lies left of a scroll box's start cannot be scrolled to) and lies inside
# the div. With print=true (paper: nothing scrolls) a wider equation always fails, and every
# code block (pre) must hold its lines (scrollWidth within clientWidth) inside the viewport.
OVERRUNS = """print => {
    const W = document.documentElement.clientWidth, out = [], scales = [];
    function extent(e) {
        let l = Infinity, r = -Infinity;
        for (const d of e.querySelectorAll('*')) {
            if (d.closest('mjx-assistive-mml, .eqno')) continue;
            const b = d.getBoundingClientRect();
            if (b.width > 0 && b.height > 0) { l = Math.min(l, b.left); r = Math.max(r, b.right); }
        }
        return [l, r];
    }
    const round = x => Math.round(x);
    for (const div of document.querySelectorAll('main div.math')) {
        const eq = div.querySelector('mjx-container[display="true"], .katex-display') || div;
        const name = div.id || div.textContent.slice(0, 40);
        const zoom = parseFloat(eq.style.zoom || '1');
        if (zoom < 1) scales.push([name, zoom]);
        const m = div.getBoundingClientRect(), no = div.querySelector('.eqno');
        const nb = no && no.getBoundingClientRect();
        const left = m.left, right = nb && nb.width ? nb.left : m.right;
        const [l, r] = extent(eq);
        if (!(r > l)) { out.push([name, 'nothing painted']); continue; }
        if (m.left < -0.5 || m.right > W + 0.5) {
            out.push([name, `its box [${round(m.left)}, ${round(m.right)}] is outside [0, ${W}]`]);
            continue;
        }
        if (l >= left - 0.5 && r <= right + 0.5) continue;
        let scroller = null;
        for (let e = eq; e && e !== div.parentElement; e = e.parentElement)
            if (['auto', 'scroll'].includes(getComputedStyle(e).overflowX)) { scroller = e; break; }
        const s = scroller && scroller.getBoundingClientRect();
        if (!print && s && l >= s.left - 0.5 && s.left >= left - 0.5 && s.right <= m.right + 0.5) continue;
        out.push([name, `painted over [${round(l)}, ${round(r)}], its room is [${round(left)}, ` +
                        `${round(right)}]` + (print ? ' (on paper)' : scroller ?
                        ' (its scroll box cannot reach it)' : ' (and nothing scrolls)')]);
    }
    if (print) for (const p of document.querySelectorAll('main pre')) {
        const b = p.getBoundingClientRect();
        if (p.scrollWidth > p.clientWidth + 1 || b.left < -0.5 || b.right > W + 0.5)
            out.push(['code: ' + p.textContent.trim().split('\\n')[0].slice(0, 60),
                      `lines ${p.scrollWidth} px wide in a box of ${p.clientWidth} px ` +
                      `at [${round(b.left)}, ${round(b.right)}] of [0, ${W}]`]);
    }
    return {out, scales};
}"""


@pytest.fixture(scope="module")
def printed_layout(built_html, browser, book_server):
    """Every page of the PDF as make_pdf lays it out before printing:
    {doc: (overruns, [[equation, scale], ...] for the equations FIT scaled)}."""
    make_pdf = load_make_pdf()
    context, page = make_pdf.paper_page(browser, book_server)
    found = {}
    for _, doc in make_pdf.toc_pages(ROOT / "book" / "_toc.yml"):
        source = (built_html / f"{doc}.html").read_text(encoding="utf-8")
        if '<div class="math' not in source and "<pre" not in source:
            continue  # no display equation, no code: nothing that could run out
        page.goto(f"{book_server}/{doc}.html", wait_until="load")
        page.evaluate(make_pdf.PREPARE, "https://example.org/")
        page.evaluate(make_pdf.FIT)
        got = page.evaluate(OVERRUNS, True)
        found[doc] = (got["out"], got["scales"])
    context.close()
    return found


def test_no_equation_or_code_line_runs_out_of_the_column_on_paper(printed_layout):
    equations = sum(len(s) for _, s in printed_layout.values())
    overruns = [(doc, *o) for doc, (out, _) in printed_layout.items() for o in out]
    assert not overruns, f"runs out of the printed column (page, what, where): {overruns}"
    tiny = [(doc, name, zoom) for doc, (_, scales) in printed_layout.items() for name, zoom in scales
            if zoom < MIN_SCALE]
    assert not tiny, f"display equations scaled below {MIN_SCALE:.0%} to fit the column: {tiny}"
    print(f"\n{equations} display equations scaled to fit the column, the smallest to "
          f"{min((z for _, s in printed_layout.values() for _, z in s), default=1):.0%}")


DISPLAY_WIDTH = re.compile(r'<mjx-container [^>]*display="true"[^>]*><svg [^>]*?width="([\d.]+)ex"')


def test_a_wide_equation_scrolls_on_a_phone_in_both_editions(printed_layout, browser, book_server):
    # The chapter with the widest display equation (MathJax's SVG width, in ex), in both editions
    # (each has its own copy of the styles): on a phone every display equation fits or scrolls.
    make_pdf = load_make_pdf()
    widths = {}
    for doc in printed_layout:
        found = DISPLAY_WIDTH.findall((ROOT / "_build" / "html" / f"{doc}.html").read_text(encoding="utf-8"))
        widths[doc] = max(map(float, found), default=0)
    widest = sorted(widths, key=widths.get, reverse=True)[:1]
    # wider than a phone's column (its text is about 16 px, an ex about 8 px)
    assert widest and widths[widest[0]] * 8 > PHONE, f"no display equation wider than a phone: {widths}"
    page = browser.new_page(viewport={"width": PHONE, "height": 900})
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(book_server) else r.abort())
    cut = []
    for doc in widest + [f"zh/{doc}" for doc in widest]:
        page.goto(f"{book_server}/{doc}.html", wait_until="load")
        page.evaluate(make_pdf.PREPARE, "https://example.org/")
        assert page.evaluate("() => document.querySelectorAll('main div.math').length"), doc
        cut += [(doc, *o) for o in page.evaluate(OVERRUNS, False)["out"]]
    page.close()
    assert not cut, f"display equations cut off on a {PHONE} px screen (page, equation, where): {cut}"


def test_no_word_of_the_pdf_lies_outside_the_text_box(pdf):
    boxes = subprocess.run([shutil.which("pdftotext"), "-bbox", str(PDF), "-"], capture_output=True,
                           text=True, check=True).stdout
    margin = load_make_pdf().PAPER["margin"]
    mm = 72 / 25.4
    left, right = (float(margin[side].removesuffix("mm")) * mm for side in ("left", "right"))
    outside = []
    for k, sheet in enumerate(boxes.split("<page ")[1:]):
        width = float(re.search(r'width="([\d.]+)"', sheet).group(1))
        words = re.findall(r'xMin="([-\d.]+)" yMin="[-\d.]+" xMax="([-\d.]+)" yMax="[-\d.]+">([^<]*)<', sheet)
        for x0, x1, word in words:
            word = html.unescape(word)
            if all(0xE000 <= ord(c) <= 0xF8FF for c in word):  # icon glyphs (private use): no text
                continue
            if float(x1) - float(x0) > width:  # a stretched glyph (MathJax's bar over k̄ in a scaled
                continue                        # equation): pdftotext boxes its font matrix, not its ink
            if float(x0) < left - 1 or float(x1) > width - right + 1:
                outside.append((k + 1, word, round(float(x0)), round(float(x1))))
    assert not outside, f"words outside the text box (page, word, x from, x to in pt): {outside[:20]}"


def test_every_figure_is_printed(pdf, built_html):
    """The pages load their figures lazily (book_pages.lazy_figures); the printer must not leave
    one out. poppler's pdfimages lists every image drawn on every page: at least one per figure
    of the pages in the table of contents."""
    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text(encoding="utf-8"))
    docs = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    figures = sum(len(re.findall(r'<img\b[^>]*\bsrc="[^"]*_images/', (built_html / f"{doc}.html").read_text(
        encoding="utf-8"))) for doc in docs)
    pdfimages = shutil.which("pdfimages")
    assert pdfimages, "pdfimages is missing (poppler-utils: `make chromium` installs it)"
    listed = subprocess.run([pdfimages, "-list", str(PDF)], capture_output=True, text=True, check=True).stdout
    drawn = sum(1 for line in listed.splitlines()[2:] if line.split() and line.split()[2] == "image")
    assert figures > 20 and drawn >= figures, f"{drawn} images drawn in the PDF for {figures} figures"
