"""The Chinese edition: one source, complete catalogs, outputs in Chinese, the editions in step.

- The catalogs are complete (0 untranslated, 0 fuzzy) and each translation keeps its English
  message's roles, maths and numbers (``scripts/i18n.py check``); they hold every message of the
  English as it is now (a fresh gettext extraction), and changing an English sentence marks its
  translation out of date, so the check fails until it is translated again.
- ``utils.i18n`` turns printed lines, figure labels and explorer panels into Chinese by message
  templates, keeping the computed numbers, and leaves what it cannot translate in English.
- On the built book: every page has its twin in the other edition and a link to it, Chinese
  pages are in Chinese, every output of the one execution reached the Chinese pages translated,
  and search finds Chinese words. (The pages' browser checks, accessibility and explorers run
  over both editions in test_book_built, test_accessibility and test_explorers_built.)
"""

from __future__ import annotations

import json
import pathlib
import re
import shutil
import subprocess
import sys
from urllib.parse import quote

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
import book  # noqa: E402  (scripts/book.py)
from utils import i18n  # noqa: E402

PY = sys.executable
CATALOGS = ROOT / "book" / "locales" / "zh_CN" / "LC_MESSAGES"
CJK = re.compile(r"[\u4e00-\u9fff]")


def run(*args, cwd=ROOT):
    return subprocess.run([PY, *map(str, args)], capture_output=True, text=True, cwd=cwd)


# -- catalogs ---------------------------------------------------------------------------------
def test_catalogs_are_complete_and_consistent():
    result = run(ROOT / "scripts" / "i18n.py", "check")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "complete and consistent" in result.stdout


def test_catalogs_hold_every_message_the_english_has_now(tmp_path):
    result = run(ROOT / "scripts" / "build_book.py", "--gettext", "--quiet", "--out", tmp_path / "pot")
    assert result.returncode == 0, result.stderr[-2000:]
    pots = sorted((tmp_path / "pot").rglob("*.pot"))
    assert len(pots) >= 19, pots
    stale = []
    for pot in pots:
        rel = pot.relative_to(tmp_path / "pot").with_suffix(".po")
        po = book.po_catalog(CATALOGS / rel)
        for message in book.po_catalog(pot):
            if message.id:
                have = po.get(message.id)
                if have is None or not have.string or have.fuzzy:
                    stale.append(f"{rel}: {message.id[:100]}")
    assert not stale, f"{len(stale)} English messages have no current translation:\n" + "\n".join(stale[:20])


def test_a_changed_english_sentence_marks_its_translation_out_of_date(tmp_path):
    """Edit one sentence of chapter 2 in a copy of the sources: after the catalogs are updated,
    the check fails and names it, and the old translation is kept only as a fuzzy suggestion."""
    for name in ("chapters", "scripts"):
        shutil.copytree(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "book", tmp_path / "book", ignore=shutil.ignore_patterns("*.mo", "vendor"))
    chapter = tmp_path / "chapters" / "02_softmax_xxt.ipynb"
    nb = json.loads(chapter.read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if c["cell_type"] == "markdown"
                and "Scores can be any real numbers." in "".join(c["source"]))
    old = "".join(cell["source"])
    cell["source"] = old.replace("Scores can be any real numbers.", "Scores can be any numbers at all.", 1)
    chapter.write_text(json.dumps(nb, ensure_ascii=False, indent=1), encoding="utf-8")
    po_path = tmp_path / "book" / "locales" / "zh_CN" / "LC_MESSAGES" / "chapters" / "02_softmax_xxt.po"

    before = run(tmp_path / "scripts" / "i18n.py", "check", po_path, cwd=tmp_path)
    assert before.returncode == 0, before.stdout[-2000:]
    update = run(tmp_path / "scripts" / "i18n.py", "update", cwd=tmp_path)
    assert update.returncode == 0, update.stdout[-2000:] + update.stderr[-2000:]
    after = run(tmp_path / "scripts" / "i18n.py", "check", po_path, cwd=tmp_path)
    assert after.returncode == 1 and ("1 fuzzy" in after.stdout or "1 untranslated" in after.stdout), \
        after.stdout[-2000:]
    changed = [m for m in book.po_catalog(po_path) if m.id.startswith("Scores can be any numbers at all.")]
    assert len(changed) == 1
    assert changed[0].fuzzy or not changed[0].string


def test_the_editions_are_the_languages_utils_translates_to():
    """scripts/book.py's editions and utils.i18n's languages (utils cannot import scripts)."""
    assert book.LANGUAGES == tuple(i18n.LANGUAGES)


# -- utils.i18n -----------------------------------------------------------------------------
def test_a_message_is_the_line_with_its_numbers_taken_out():
    assert i18n.message("weights sum to 1.000 over 3 keys, max -0.25") == (
        "weights sum to {0} over {1} keys, max {2}", ["1.000", "3", "-0.25"])
    assert i18n.message("W2 has shape (4, 8) {braces}")[0] == "W2 has shape ({0}, {1}) {{braces}}"
    assert i18n.message("loss 3e-05 at step 1,024")[1] == ["3e-05", "1,024"]
    assert not i18n.is_message("[0.45 0.37 0.18]") and not i18n.is_message("早 上 好")
    assert i18n.is_message("score 早·上 at 100°")


def test_translation_keeps_the_computed_numbers_and_leaves_unknown_lines(monkeypatch):
    table = {"weights sum to {0} over {1} keys": "{1} 个键上的权重之和为 {0}"}
    monkeypatch.setitem(i18n._catalogs, "zh_CN", table)
    text = "weights sum to 1.000 over 3 keys\n  weights sum to 0.5 over 12 keys\n[0.1 0.9]\nno such line"
    assert i18n.translate(text, "zh_CN") == (
        "3 个键上的权重之和为 1.000\n  12 个键上的权重之和为 0.5\n[0.1 0.9]\nno such line")
    with pytest.raises(ValueError, match="language must be one of"):
        i18n.catalog("fr")


def test_a_figure_is_drawn_in_chinese_and_left_as_it_was(monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.setitem(i18n._catalogs, "zh_CN", {"attention weights": "注意力权重", "key": "键"})
    fig, ax = plt.subplots()
    ax.imshow([[0.2, 0.8]])
    ax.set_xticks([0, 1], ["the", "cat"])
    ax.set(title="attention weights", xlabel="key")
    with i18n.translated_figure(fig, "zh_CN"):
        assert ax.get_title() == "注意力权重" and ax.get_xlabel() == "键"
        assert [t.get_text() for t in ax.get_xticklabels()] == ["the", "cat"]  # tokens are data
        if i18n.has_cjk_font():
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("error")  # "Glyph ... missing from font(s)" would raise
                fig.canvas.draw()
    assert ax.get_title() == "attention weights" and ax.get_xlabel() == "key"
    plt.close(fig)


def test_explorer_panels_translate_words_not_numbers_or_tokens(monkeypatch):
    from utils.explorer import Heatmap, Readout

    monkeypatch.setitem(i18n._catalogs, "zh_CN", {"weights": "权重", "query": "查询",
                                                   "largest weight": "最大权重", "two words": "两个词"})
    heat = Heatmap([[0.5, 0.5]], rows=["the"], cols=["the", "cat"], title="weights", row_title="query",
                   weights=True)
    out = i18n.translate_panel(heat, "zh_CN")
    assert (out.title, out.row_title, list(out.cols)) == ("权重", "查询", ["the", "cat"])
    assert out.values.tolist() == heat.values.tolist()
    read = i18n.translate_panel(Readout({"largest weight": 0.5, "token": "two words"}), "zh_CN")
    assert read.items == {"最大权重": 0.5, "token": "两个词"}


def test_a_readouts_one_word_text_is_translated_and_its_data_is_not(monkeypatch):
    """A string value is text, one word too (chapter 5's "none" was once shown in English);
    the values whose labels the panel names in data_keys are data and stay as they are."""
    from utils.explorer import Readout

    monkeypatch.setitem(i18n._catalogs, "zh_CN", {"fully masked rows": "完全被掩蔽的行", "none": "无",
                                                   "token": "词元"})
    read = Readout({"fully masked rows": "none", "token": "none"}, data_keys=["token"])
    out = i18n.translate_panel(read, "zh_CN")
    assert out.items == {"完全被掩蔽的行": "无", "词元": "none"} and out.data_keys == ("词元",)
    with pytest.raises(ValueError, match="data_keys"):
        Readout({"a": "b"}, data_keys=["c"])


def test_the_chinese_search_index_is_the_same_with_a_set_of_latin_words():
    """book_i18n's speed-up of Sphinx's Chinese indexer (a set where Sphinx 7.4 keeps a list)
    changes no stem: Sphinx's own class and the sped-up one, fed the Chinese catalogs of four
    chapters page by page, as the build feeds them, cut and stem every text to the same words
    (four, not all: Sphinx's own class takes ever longer per page, as the speed-up says)."""
    import importlib.util

    from sphinx.search import zh

    def load(name):  # a fresh copy of a module, so that the two classes share no state
        spec = importlib.util.spec_from_file_location(name, zh.__file__ if name.startswith("zh") else
                                                      ROOT / "book" / "_ext" / "book_i18n.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    sphinx_own, sped_up = load("zh_as_shipped").SearchChinese, load("zh_sped_up").SearchChinese
    assert isinstance(sphinx_own.latin_terms, list), "Sphinx keeps a set now: drop the speed-up"
    ext = load("book_i18n_for_test")
    original = zh.SearchChinese
    zh.SearchChinese = sped_up
    try:
        ext._index_chinese_in_linear_time()
    finally:
        zh.SearchChinese = original
    assert isinstance(sped_up.latin_terms, set)
    options = {}
    own, fast = sphinx_own(options), sped_up(options)
    pages = sorted(CATALOGS.glob("chapters/*.po"))[::5]
    assert len(pages) >= 4
    words = 0
    for page in pages:
        for entry in book.po_catalog(page, "zh_CN"):
            text = entry.string or entry.id
            if not isinstance(text, str):
                continue
            cut = own.split(text)
            assert fast.split(text) == cut
            assert [fast.stem(w) for w in cut] == [own.stem(w) for w in cut], (page.name, text[:60])
            words += len(cut)
    assert words > 15_000, words


def test_every_output_catalog_entry_formats(tmp_path):
    for path in sorted((ROOT / "utils" / "i18n" / "locales" / "zh_CN").glob("*.po")):
        for msgid, msgstr in i18n.read_po(path).items():
            n = len(re.findall(r"\{(\d+)\}", msgid))
            msgstr.format(*["1"] * max(n, 1))  # raises on a broken placeholder


# -- the built book ----------------------------------------------------------------------------
def editions(built_html):
    en = sorted(p.relative_to(built_html) for p in built_html.rglob("*.html")
                if p.relative_to(built_html).parts[0] not in ("zh", "_static", "_sources", "_images"))
    zh_root = built_html / "zh"
    zh = sorted(p.relative_to(zh_root) for p in zh_root.rglob("*.html")
                if p.relative_to(zh_root).parts[0] not in ("_static", "_sources", "_images"))
    return en, zh


def test_every_page_has_its_twin_and_links_to_it(built_html):
    """Each page names both editions at their published addresses, and x-default (the English);
    the other edition's link also carries the relative address the language button uses."""
    site = yaml.safe_load((ROOT / "book" / "_config.yml").read_text(encoding="utf-8"))["html"]["baseurl"]
    site = site.rstrip("/") + "/"
    en, zh = editions(built_html)
    assert en == zh, sorted(set(en) ^ set(zh))
    checked = 0
    for rel in en:
        if rel.name in ("genindex.html", "index.html", "search.html"):
            continue
        for here, there, lang in ((built_html / rel, built_html / "zh" / rel, "zh-CN"),
                                  (built_html / "zh" / rel, built_html / rel, "en")):
            html = here.read_text(encoding="utf-8")
            links = dict(re.findall(r'<link rel="alternate" hreflang="([^"]+)" href="([^"]+)"', html))
            assert links == {"en": f"{site}{rel.as_posix()}", "zh-CN": f"{site}zh/{rel.as_posix()}",
                             "x-default": f"{site}{rel.as_posix()}"}, (here, links)
            relative = re.search(rf'hreflang="{lang}" href="[^"]+" title="[^"]+" data-sa-edition="[^"]+" '
                                 r'data-sa-href="([^"]+)"', html)
            assert relative, f"{here}: no relative link to the {lang} edition"
            assert (here.parent / relative.group(1)).resolve() == there.resolve(), (here, relative.group(1))
            checked += 1
    assert checked >= 2 * 19


def test_every_page_has_a_description_in_its_own_language(built_html):
    """Every page of both editions (the index and the search page included; not the two redirects
    at the editions' roots) has a meta description of 40 characters or more in its language."""
    en, _ = editions(built_html)
    checked = 0
    for rel in en:
        for here, chinese in ((built_html / rel, False), (built_html / "zh" / rel, True)):
            html = here.read_text(encoding="utf-8")
            if html.lstrip().startswith('<meta http-equiv="Refresh"'):
                continue
            checked += 1
            found = re.search(r'<meta name="description" content="([^"]{40,})">', html)
            assert found, f"{here}: no meta description"
            assert bool(CJK.search(found.group(1))) == chinese, (here, found.group(1))
    assert checked >= 2 * 22, checked


def test_chinese_pages_are_in_chinese(built_html):
    """Every paragraph of prose on a Chinese page is Chinese (maths, code, names and the
    bibliography's references are not prose)."""
    _, zh = editions(built_html)
    english, counted = {}, 0
    for rel in zh:
        if rel.parts[0] not in ("chapters", "book") or rel.name == "bibliography.html":
            continue
        html = (built_html / "zh" / rel).read_text(encoding="utf-8")
        assert '<html lang="zh-CN"' in html, rel
        assert CJK.search(re.search(r"<h1>(.*?)</h1>", html, re.S).group(1)), f"{rel}: title not in Chinese"
        article = html.split('<article class="bd-article"', 1)[1].split("</article>", 1)[0]
        article = re.sub(r'<div class="cell_output.*?</div>\s*</div>', "", article, flags=re.S)
        for p in re.findall(r"<p>(.*?)</p>", article, re.S):
            text = re.sub(r"<code.*?</code>|\\\(.*?\\\)|\\\[.*?\\\]", " ", p, flags=re.S)
            text = re.sub(r"<[^>]+>", " ", text)
            if CJK.search(text):
                counted += 1
            elif len(re.findall(r"[A-Za-z]{2,}", text)) >= 4:
                english.setdefault(rel.as_posix(), []).append(" ".join(text.split())[:120])
    assert counted > 1000, counted
    assert not english, f"English paragraphs on Chinese pages: {english}"


def test_every_output_reached_the_chinese_pages_translated(built_html):
    report = ROOT / "_build" / "i18n" / "zh_CN"
    missing = json.loads((report / "missing.json").read_text(encoding="utf-8"))
    unswapped = json.loads((report / "unswapped.json").read_text(encoding="utf-8"))
    messages = json.loads((report / "messages.json").read_text(encoding="utf-8"))
    assert not unswapped, f"figures or explorers without their Chinese version: {unswapped}"
    assert not missing, f"output messages without a translation: { {k: v[:5] for k, v in missing.items()} }"
    assert sum(map(len, messages.values())) > 500, "the Chinese build met few output messages"
    for rel in sorted((built_html / "chapters").glob("*.html")):
        en = rel.read_text(encoding="utf-8")
        zh = (built_html / "zh" / "chapters" / rel.name).read_text(encoding="utf-8")
        assert en.count('class="sa-explorer') == zh.count('class="sa-explorer'), rel.name
        titles = re.findall(r'<div class="sa-title">([^<]*)</div>', zh)
        assert all(CJK.search(t) for t in titles if re.search(r"[A-Za-z]{3}", t)), (rel.name, titles)
    different = same = 0
    for image in sorted((built_html / "zh" / "_images").glob("*.png")):
        twin = built_html / "_images" / image.name
        if twin.exists():
            if twin.read_bytes() != image.read_bytes():
                different += 1
            else:
                same += 1
    assert different > 20, (different, same)


def test_search_finds_chinese_words(offline_page):
    page = offline_page
    for word in ("注意力", "自注意力", "位置编码", "键值缓存"):  # glossary terms are words too
        page.goto(f"{page.sa_server}/zh/search.html?q={quote(word)}", wait_until="load")
        page.wait_for_selector("#search-results li", timeout=20_000)
        hits = page.locator("#search-results li").count()
        assert hits >= 3, (word, hits)
    assert not page.sa_external and not page.sa_console_errors


def test_the_language_switch_goes_to_the_same_page(offline_page):
    page = offline_page
    page.goto(f"{page.sa_server}/chapters/02_softmax_xxt.html", wait_until="load")
    switch = page.wait_for_selector("a.sa-language", timeout=10_000)
    assert switch.inner_text().strip() == "中文"
    switch.click()
    page.wait_for_url("**/zh/chapters/02_softmax_xxt.html")
    back = page.wait_for_selector("a.sa-language", timeout=10_000)
    assert back.inner_text().strip() == "English"
    assert CJK.search(page.locator("h1").first.inner_text())
    back.click()
    page.wait_for_url(re.compile(r".*/chapters/02_softmax_xxt\.html$"))
    assert "/zh/" not in page.url
