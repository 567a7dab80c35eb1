"""Every explorer in the built book: every state valid, every control moves the picture.

The book build runs each explorer's full sweep with SA_EXPLORER_DUMP=_build/explorers, which
writes every state's raw numbers (``utils.explorer``). These tests read those dumps and the
built pages:

- every state of every explorer holds finite values and weight rows summing to 1 (or 0 where
  fully masked) — checked here again from the raw numbers, independently of the panels' own
  checks;
- in headless Chromium, with every request to another host blocked, moving each control of
  each explorer changes the picture, and the numbers on the page for that position are Python's
  numbers for it (cell texts of annotated heatmaps and readouts, formatted as the renderer does).
  The same on the Chinese edition's pages (``zh/``), whose panels carry the titles and words
  ``utils.i18n`` translates and the very same numbers.
"""

import json
import math
import pathlib
import random

import numpy as np
import pytest
from browser_helpers import ALIGNMENT_JS, MOVE_JS, expected_texts

ROOT = pathlib.Path(__file__).resolve().parents[1]
DUMPS = ROOT / "_build" / "explorers"


def load_dumps():
    if not DUMPS.is_dir():
        pytest.fail(f"{DUMPS} is missing: build the book with `make book` (it sets SA_EXPLORER_DUMP)")
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(DUMPS.glob("*.json"))}


def explorers_on_pages(built_html, chapter_pages):
    found = {}
    for page in chapter_pages:
        text = pathlib.Path(page).read_text(encoding="utf-8")
        names = [part.split('"', 1)[0] for part in text.split('data-explorer="')[1:]]
        found[pathlib.Path(page).name] = names
    return found


def test_every_chapter_has_an_explorer_and_every_explorer_was_swept(built_html, chapter_pages):
    dumps = load_dumps()
    found = explorers_on_pages(built_html, chapter_pages)
    for page, names in found.items():
        assert names, f"{page} has no explorer"
    on_pages = [n for names in found.values() for n in names]
    assert len(on_pages) == len(set(on_pages)), f"explorer names repeat: {sorted(on_pages)}"
    missing = set(on_pages) - set(dumps)
    assert not missing, f"explorers on pages without a sweep dump: {sorted(missing)}"


def test_every_state_of_every_explorer_is_finite_with_weights_summing_to_one(built_html):
    dumps = load_dumps()
    assert dumps, "no explorer dumps found"
    n_states = n_weight_rows = 0
    for name, record in dumps.items():
        assert len(record["states"]) == math.prod(record["shape"]), name
        for state in record["states"]:
            n_states += 1
            for panel in state["panels"]:
                if panel["type"] != "heatmap":
                    continue
                values = np.array(panel["values"], dtype=float)
                visible = np.ones_like(values, bool) if panel["mask"] is None else np.array(panel["mask"])
                assert np.isfinite(values[visible]).all(), (name, state["values"], panel["title"])
                if panel["weights"]:
                    shown = np.where(visible, values, 0.0)
                    sums = shown.sum(axis=-1)
                    n_weight_rows += sums.size
                    assert (shown >= -1e-12).all(), (name, state["values"], panel["title"])
                    assert np.all(np.isclose(sums, 1.0, atol=1e-6) | np.isclose(sums, 0.0, atol=1e-12)), (
                        name, state["values"], panel["title"], sums)
    assert n_states > 0 and n_weight_rows > 0
    print(f"checked {n_states} states of {len(dumps)} explorers, {n_weight_rows} weight rows")


# Each panel of the explorer's view: its title and its cells' texts (heatmap tables, readouts).
READ_VIEW = """root => Array.from(root.querySelectorAll('.sa-view .sa-panel')).map(p => ({
    title: p.dataset.title,
    texts: Array.from(p.querySelectorAll('td')).map(td => td.textContent)}))"""


def positions_to_try(n, rng):
    return list(range(n)) if n <= 8 else sorted({0, n - 1, n // 2, *rng.sample(range(n), 3)})


def translator(language):
    """What a Chinese page shows for an English title or readout text (utils.i18n's rules)."""
    if language == "en":
        return lambda text: text
    import sys

    sys.path.insert(0, str(ROOT))
    from utils import i18n

    return lambda text: i18n.translate(text, language, record=False)


def check_state(root, record, positions, where, painted=(), language="en"):
    tr = translator(language)
    key = int(np.ravel_multi_index(positions, record["shape"]))
    state = record["states"][key]
    assert state["positions"] == list(positions)
    if painted:  # what the canvases showed at once: the annotated heatmaps' texts, in order
        tables = [t for p, t in zip(state["panels"], map(expected_texts, state["panels"]))
                  if t is not None and p["type"] == "heatmap"]
        assert painted == tables, f"{where}: the canvas painted other numbers"
    shown = root.evaluate(READ_VIEW)
    assert [p["title"] for p in shown] == [tr(p["title"]) for p in state["panels"]], where
    for panel, on_page in zip(state["panels"], shown):
        want = expected_texts(panel)
        if want is not None and panel["type"] == "readout" and language != "en":
            # utils.i18n.translate_panel: a text value is translated unless its label is data
            data = set(panel.get("data_keys", ()))
            want = [tr(t) if isinstance(v, str) and k not in data else t
                    for t, (k, v) in zip(want, panel["items"].items())]
        if want is not None:
            assert on_page["texts"] == want, f"{where}: panel {panel['title']!r} shows other numbers"


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_moving_every_control_shows_pythons_numbers(built_html, chapter_pages, book_server, offline_page,
                                                    language):
    dumps = load_dumps()
    rng = random.Random(0)
    n_moves = n_canvas_moves = n_painted = 0
    pages = chapter_pages if language == "en" else [built_html / "zh" / p.relative_to(built_html)
                                                     for p in chapter_pages]
    for page_path in pages:
        assert page_path.is_file(), f"{page_path} is missing: make book builds both editions"
        rel = pathlib.Path(page_path).relative_to(built_html).as_posix()
        page = offline_page
        page.goto(f"{book_server}/{rel}", wait_until="load")
        for root in page.query_selector_all(".sa-explorer"):
            record = dumps[root.get_attribute("data-explorer")]
            defaults = [c["default"] for c in record["controls"]]
            # the explorer's states load as it nears the screen (a reader scrolls to it first)
            root.evaluate("async r => { await r.saReady(); r.saSync(); }")
            default_html = root.evaluate("r => r.querySelector('.sa-view').firstElementChild.outerHTML")
            # an explorer with an annotated heatmap paints it on a canvas; one without has nothing
            # to paint at once (its pictures are SVG or images), so only the first kind is counted below
            paints = root.evaluate("r => r.querySelectorAll('.sa-view canvas.sa-paint').length > 0")
            for i, control in enumerate(record["controls"]):
                changed = False
                for pos in positions_to_try(len(control["labels"]), rng):
                    positions = list(defaults)
                    positions[i] = pos
                    moved = root.evaluate(MOVE_JS, [control["name"], pos])
                    check_state(root, record, positions, f"{rel} {record['name']} {control['name']}={pos}",
                                moved["now"]["painted"], language)
                    changed |= moved["later"]["html"] != default_html
                    n_moves += 1
                    n_canvas_moves += paints
                    n_painted += paints and bool(moved["now"]["painted"])
                assert changed, f"{rel}: {record['name']}: moving {control['name']} never changed the picture"
                root.evaluate(MOVE_JS, [control["name"], defaults[i]])
            if len(record["controls"]) > 1:  # several controls at once, not only the first
                for _ in range(3):
                    positions = [rng.randrange(len(c["labels"])) for c in record["controls"]]
                    for control, pos in zip(record["controls"], positions):
                        root.evaluate(MOVE_JS, [control["name"], pos])
                    check_state(root, record, positions, f"{rel} {record['name']} {positions}",
                                language=language)
                    n_moves += 1
            # On the real page, with the theme's CSS: one canvas per heatmap table, lying
            # exactly over its cells (every cell's colour equals the canvas pixel over it).
            tables, canvases, aligned = root.evaluate(ALIGNMENT_JS)
            assert canvases == tables and all(aligned), f"{rel}: {record['name']}: canvas off its table"
        assert not page.sa_console_errors, f"{rel}: console errors {page.sa_console_errors}"
        assert not page.sa_external, f"{rel}: requests to other hosts {page.sa_external}"
    assert n_moves > 0
    # Most moves of an explorer with a canvas keep the picture's size, so they are painted at once,
    # not laid out again.
    assert n_canvas_moves > 0 and n_painted > n_canvas_moves / 2, \
        f"only {n_painted} of {n_canvas_moves} moves of explorers with a canvas painted at once"
    print(f"moved controls {n_moves} times; of the {n_canvas_moves} moves of explorers with a canvas, "
          f"{n_painted} painted at once")


def test_every_chapter_page_stays_under_3_mb_with_its_precomputed_states(built_html, chapter_pages):
    """The page, its images and its explorers' state files (book_pages moves them out of the page)."""
    import re

    sizes = {}
    for page_path in chapter_pages:
        page = pathlib.Path(page_path)
        text = page.read_text(encoding="utf-8")
        images = set(re.findall(r'<img[^>]+src="([^"]+)"', text))
        extra = sum((page.parent / src).stat().st_size for src in images
                    if not src.startswith("data:") and (page.parent / src).exists())
        states = set(re.findall(r'class="sa-data"[^>]* data-src="([^"]+)"', text))
        assert states or "sa-data" not in text, f"{page.name}: an explorer's states are still inline"
        extra += sum((page.parent / src).stat().st_size for src in states)  # the states the page loads
        sizes[page.name] = page.stat().st_size + extra
    heavy = {name: size for name, size in sizes.items() if size > 3_000_000}
    assert not heavy, f"pages over 3 MB (HTML + images): {heavy}"
