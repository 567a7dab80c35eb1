"""Chapter 15's own-sentence panel in headless Chromium (``make bench`` (g); needs the built book).

The page is served from 127.0.0.1 without compression. Measured: what the page fetches before the
reader types (bytes); the load the first keystroke starts (tokenizer, views, runtime, vocabulary,
model: seconds and bytes); then, with the model loaded, the time from a keystroke that changes
the sentence (32 tokens with [CLS] and [SEP]) to its head view drawn, in the next frame (median
over repeats; target <= 150 ms).
"""

from __future__ import annotations

import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from browser import chromium, offline_context, serve  # noqa: E402  (scripts/browser.py)

PAGE = "chapters/15_pretrained_heads.html"
# 30 word pieces: with [CLS] and [SEP], 32 tokens (checked below against utils.pretrained)
SENTENCE = ("The old lighthouse keeper watched the storm roll in from the sea while his dog slept "
            "by the warm stove and the radio played {} in the small back room")
WORDS = ["softly", "quietly", "slowly", "gently", "loudly", "again", "music", "jazz", "songs", "news", "on"]

# from a keystroke (an input event) to the drawn head view: tokens, the model, the drawing
TIME_ONE = """async ([text]) => {
    const root = document.querySelector('.sa-own'), input = root.querySelector('input');
    input.value = text;
    delete root.dataset.state;
    const t0 = performance.now();
    input.dispatchEvent(new Event('input', {bubbles: true}));   // as a keystroke does
    const done = () => root.dataset.state === 'ready' || root.dataset.state === 'error';
    while (!done()) await new Promise(r => setTimeout(r, 1));
    await new Promise(r => requestAnimationFrame(() => r()));
    return [root.dataset.state, performance.now() - t0, root.saOwn.tokens.length];
}"""


def run(built=ROOT / "_build" / "html", repeats=11) -> dict:
    from playwright.sync_api import sync_playwright

    from utils import pretrained as P

    tokenizer = P.load().tokenizer
    texts = [SENTENCE.format(w) for w in WORDS[:repeats]]
    assert all(len(tokenizer.tokenize(t)) == 32 for t in texts), [len(tokenizer.tokenize(t)) for t in texts]
    if not (built / PAGE).is_file():
        return {}
    with serve(built) as server, sync_playwright() as p:
        browser = chromium(p)
        context, page = offline_context(browser, server)
        sizes = {}
        page.on("requestfinished", lambda r: sizes.__setitem__(r.url, r.sizes()["responseBodySize"]))
        page.goto(f"{server}/{PAGE}", wait_until="load")
        page.wait_for_timeout(500)
        first = sum(sizes.values())
        before = dict(sizes)
        start = time.perf_counter()
        state, _, _ = page.evaluate(TIME_ONE, [texts[0]])
        load_s = time.perf_counter() - start
        assert state == "ready", page.text_content(".sa-own-status")
        fetched = {url.rsplit("/", 1)[1]: b for url, b in sizes.items() if url not in before}
        times = []
        for text in texts[1:]:
            state, ms, n = page.evaluate(TIME_ONE, [text])
            assert state == "ready" and n == 32
            times.append(ms)
        context.close()
        browser.close()
    return {"minilm_first_load_bytes": first, "minilm_load_s": load_s,
            "minilm_load_bytes": sum(fetched.values()), "minilm_load_files": fetched,
            "minilm_32_tokens_ms": statistics.median(times), "minilm_32_tokens_max_ms": max(times)}


if __name__ == "__main__":
    for k, v in run().items():
        print(k, v)
