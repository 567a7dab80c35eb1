"""The whole book as one PDF (``make pdf``, scripts/make_pdf.py): checked from its text.

``make test`` builds the PDF after the HTML book; this test reads it back with pypdf: every
page of the table of contents is in it under its title, in order, with a bookmark and a link on
the contents page; no MyST markup leaked through unrendered; every page carries its number.
"""

from __future__ import annotations

import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
PDF = ROOT / "_build" / "html" / "seeing-attention.pdf"
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
    texts = [page.extract_text() or "" for page in reader.pages]
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
    links = [a.get_object() for a in reader.pages[0].get("/Annots", [])]
    index = {pg.indirect_reference.idnum: k for k, pg in enumerate(reader.pages)}
    targets = [index[a["/Dest"][0].idnum] for a in links if a.get("/Subtype") == "/Link" and "/Dest" in a]
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
