"""Chapter 15's "your own sentence": MiniLM in the static page (utils/minilm_web.py,
utils/minilm_static/).

Without the built book: the panel each edition gets, and the notebook's head view refusing bad
numbers. With it (``built_html``): in headless Chromium, offline, a reader's sentences typed into
chapter 15's page of both editions give Python's tokens and Python's 72 attention maps (to 1e-4),
nothing heavy loads before the reader types, no request leaves 127.0.0.1, and bad input gets a
message in the page's language instead of a frozen page.
"""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pytest

from utils import minilm_web as W

PAGE = "chapters/15_pretrained_heads.html"
# Sentences the tests type: punctuation and a contraction, accents and a Chinese character, words
# split into pieces, a name repeated, and a longer sentence.
SENTENCES = [
    "The animal didn't cross the street because it was too tired.",
    "Café naïveté in São Paulo: 中文 too!",
    "Tokenizers split unbelievably long words, don't they?",
    "Anna met Tom at the station, and later Anna gave Tom the keys she had found on the train "
    "that morning, before anyone else in the carriage had even noticed them.",
]
FIELDS = re.compile(r"\{(\w+)\}")


@pytest.fixture(scope="module")
def minilm():
    from utils import pretrained as P

    return P.load()


# ----------------------------------------------------------------------------- without the build
def test_both_editions_have_every_label_with_the_same_fields():
    assert set(W.LABELS["en"]) == set(W.LABELS["zh_CN"])
    for key, english in W.LABELS["en"].items():
        chinese = W.LABELS["zh_CN"][key]
        assert set(FIELDS.findall(english)) == set(FIELDS.findall(chinese)), key
        if key != "default":
            assert re.search(r"[\u4e00-\u9fff]", chinese), f"{key}: {chinese!r} is not Chinese"


@pytest.mark.parametrize("language, depth", [("en", 1), ("zh_CN", 2)])
def test_the_static_panel_points_at_the_books_files(language, depth):
    page = W._panel_html(language, depth)
    assert f'data-assets="{"../" * depth}_static/minilm/"' in page
    assert f'src="{"../" * depth}_static/minilm/own-sentence.js"' in page
    labels = json.loads(re.search(r'class="sa-own-labels">(.*?)</script>', page).group(1))
    assert labels == W.LABELS[language] and f'data-language="{language}"' in page
    # the form is hidden until the script shows it; without JavaScript (and in print) a note stays
    assert re.search(r"<form [^>]*hidden", page) and "sa-own-nojs" in page


def test_the_notebook_head_view_refuses_bad_numbers():
    tokens = ["[CLS]", "hi", "[SEP]"]
    good = np.full((6, 12, 3, 3), 1 / 3)
    assert "SAHeadView.render" in W.head_view_html(tokens, good, "en")
    with pytest.raises(ValueError, match="n = 3 tokens"):
        W.head_view_html(tokens, good[..., :2, :2], "en")
    bad = good.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        W.head_view_html(tokens, bad, "en")


# ----------------------------------------------------------------------------- in the built book
WAIT_DONE = """(root) => root.dataset.state === 'ready' || root.dataset.state === 'error'"""


def type_sentence(page, text, button=False):
    """Put ``text`` in the panel's box as typing does (an input event; with ``button``, silently,
    then the button) and wait for the result: (state, status, result)."""
    page.evaluate("() => { const r = document.querySelector('.sa-own'); delete r.dataset.state; }")
    if button:
        page.eval_on_selector(".sa-own input", "(e, t) => { e.value = t; }", text)
        page.click(".sa-own button[type=submit]")
    else:
        page.fill(".sa-own input", text)
    root = page.query_selector(".sa-own")
    page.wait_for_function(WAIT_DONE, arg=root, timeout=120_000)
    return tuple(page.evaluate(
        "(r) => [r.dataset.state, r.querySelector('.sa-own-status').textContent, r.saOwn || null]", root))


@pytest.fixture(scope="module")
def pages(browser, book_server):
    from browser_helpers import offline_context

    opened = {}
    for edition, prefix in (("en", ""), ("zh_CN", "zh/")):
        context, page = offline_context(browser, book_server)
        sizes = {}
        page.on("response", lambda r, sizes=sizes: sizes.__setitem__(r.url, r))
        page.goto(f"{book_server}/{prefix}{PAGE}", wait_until="load")
        page.wait_for_timeout(300)
        opened[edition] = (context, page, dict(sizes))
    yield opened
    for context, _, _ in opened.values():
        context.close()


def test_nothing_heavy_loads_before_the_reader_types(pages):
    for edition, (_, page, responses) in pages.items():
        minilm = {url: r for url, r in responses.items() if "/_static/minilm/" in url}
        names = sorted(url.rsplit("/", 1)[1] for url in minilm)
        assert names == ["manifest.json", "own-sentence.js"], f"{edition}: {names}"
        sent = sum(len(r.body()) for r in minilm.values())
        panel = page.evaluate("() => document.querySelector('.sa-own').outerHTML.length")
        assert sent + panel <= 100_000, f"{edition}: the panel adds {sent + panel} bytes to the first load"
        status = page.text_content(".sa-own-status")
        assert re.search(r"\d+ MB", status), f"{edition}: {status!r} (the model's size from the manifest)"


@pytest.mark.parametrize("edition", ["en", "zh_CN"])
def test_typed_sentences_give_pythons_tokens_and_maps(pages, minilm, edition):
    _, page, _ = pages[edition]
    for text in SENTENCES:
        state, status, result = type_sentence(page, text)
        assert state == "ready", f"{edition}: {text!r}: {status}"
        tokens, weights = minilm.attention_maps(text)
        assert result["tokens"] == tokens, text
        got = np.array(result["weights"]).reshape(weights.shape)
        assert np.abs(got - weights).max() <= 1e-4, f"{text!r}: {np.abs(got - weights).max()}"
        shown = page.evaluate("() => document.querySelectorAll('.sa-own-view .sa-hv-tok').length")
        assert shown == 2 * len(tokens), f"{edition}: {shown} drawn for {len(tokens)} tokens (queries, keys)"
        if edition == "zh_CN":
            assert re.search(r"[\u4e00-\u9fff]", status), status
    assert not page.sa_external and not page.sa_console_errors and not page.sa_failed, (
        page.sa_external, page.sa_console_errors, page.sa_failed)


@pytest.mark.parametrize("edition", ["en", "zh_CN"])
def test_bad_input_gets_a_clear_message_not_a_frozen_page(pages, edition):
    _, page, _ = pages[edition]
    labels = W.LABELS[edition]
    assert type_sentence(page, "")[:2] == ("error", labels["empty"])
    assert type_sentence(page, "   \t  ")[:2] == ("error", labels["empty"])
    assert type_sentence(page, "\u200b\u0007\ufeff")[:2] == ("error", labels["noTokens"])
    state, status, result = type_sentence(page, "🙂🙂 👍🏽")
    assert state == "ready" and "[UNK]" in result["tokens"], status
    assert labels["unknown"].format(k=result["tokens"].count("[UNK]")) in status, status
    pasted = "attention " * 3000  # 30,000 characters: 3,000 word pieces
    start = time.perf_counter()
    state, status, _ = type_sentence(page, pasted)
    assert state == "error" and status == labels["tooLong"].format(n=3002, max=W.max_tokens()), status
    assert time.perf_counter() - start < 10, "a long paste froze the page"
    # and the page still answers afterwards, to the button as to typing
    assert type_sentence(page, SENTENCES[0], button=True)[0] == "ready"
