"""What the scripts know about the book, read in one place.

- ``config()``: ``book/_config.yml``; ``baseurl()``: its ``html.baseurl`` with one trailing slash.
- ``toc_pages()``: every page of ``book/_toc.yml`` in order, with its part's caption;
  ``toc_chapters()``: the chapters (``chapters/...``) in that order.
- ``EDITIONS``: language -> ``Edition`` (output folder, html title, display name, hreflang);
  ``LANGUAGES``: their languages, English first. Used by scripts/build_book.py,
  scripts/reader_notebooks.py and the Sphinx extension book/_ext/book_i18n.py (which loads this
  file by its path).
- ``read_po(path)``: {msgid: msgstr} of a catalog's translated, non-fuzzy messages, read by
  ``utils.i18n.read_po``, the one reader of translations: utils runs in the reader's kernel and
  cannot import scripts, so the scripts and tests reuse it.
- ``po_catalog(path)``: the whole catalog as babel reads it (fuzzy and untranslated messages
  too, and .pot files), for what edits and checks the catalogs (scripts/i18n.py, tests/test_i18n.py).

Importing this module reads nothing and imports nothing of the book's (not even utils).
"""

from __future__ import annotations

import pathlib
import sys
from typing import NamedTuple

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONFIG = ROOT / "book" / "_config.yml"
TOC = ROOT / "book" / "_toc.yml"


class Edition(NamedTuple):
    folder: str  # under _build/html, under html.baseurl and under notebooks/ ("" for the root)
    title: str  # html_title
    name: str  # the language's own name, on the language switch
    hreflang: str  # <link rel="alternate" hreflang=...>

    @property
    def prefix(self) -> str:
        """The folder as the start of a relative address: "" or "zh/"."""
        return self.folder + "/" if self.folder else ""


EDITIONS = {
    "en": Edition("", "Seeing Attention", "English", "en"),
    "zh_CN": Edition("zh", "看见注意力 (Seeing Attention)", "中文", "zh-CN"),
}
LANGUAGES = tuple(EDITIONS)


def config(path: pathlib.Path = CONFIG) -> dict:
    """book/_config.yml."""
    return yaml.safe_load(pathlib.Path(path).read_text(encoding="utf-8"))


def baseurl(cfg: dict | None = None) -> str:
    """Where the book is published (html.baseurl), with one trailing slash."""
    return (cfg or config())["html"]["baseurl"].rstrip("/") + "/"


def toc_pages(toc_file: pathlib.Path = TOC) -> list[tuple[str | None, str]]:
    """[(part caption or None, document path), ...] in the order of the table of contents."""
    toc = yaml.safe_load(pathlib.Path(toc_file).read_text(encoding="utf-8"))
    pages = [(None, toc["root"])]
    for part in toc.get("parts", [{"chapters": toc.get("chapters", [])}]):
        for chapter in part.get("chapters", []):
            pages.append((part.get("caption"), chapter["file"]))
            for section in chapter.get("sections", []):
                pages.append((part.get("caption"), section["file"]))
    return pages


def toc_chapters(toc_file: pathlib.Path = TOC) -> list[str]:
    """The chapters' document paths (``chapters/NN_name``) in the order of the table of contents."""
    return [doc for _, doc in toc_pages(toc_file) if doc.startswith("chapters/")]


def read_po(path) -> dict:
    """{msgid: msgstr} of a .po file's translated, non-fuzzy messages (utils.i18n.read_po)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from utils.i18n import read_po

    return read_po(path)


def po_catalog(path, locale: str | None = None):
    """The whole catalog of a .po or .pot file (babel's Catalog: every message, fuzzy or not)."""
    from babel.messages.pofile import read_po

    with open(path, "rb") as f:
        return read_po(f, locale=locale)
