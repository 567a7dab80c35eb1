"""Accessibility of the built book: axe-core (WCAG 2.1 A/AA) on every page, and the keyboard.

axe-core is vendored from npm (package.json, locked) into the book's ``_static/vendor`` by the
Makefile and injected into every built page here: every WCAG A/AA rule in the theme's light mode,
and the rules that depend on colour (COLOUR_RULES) again in its dark mode. The
explorers' canvases (painted copies of the heatmap tables, ``aria-hidden``) are hidden for the
run, so that axe checks the contrast of the table cells themselves: with the canvases shown it
cannot tell what lies under the text and reports the cells as "incomplete", and a run passes
without having looked at them.

Scope: the whole page is checked; a violation inside the book's content (``main``) always
fails, and a violation in the theme's chrome fails unless it is one of the named, explained
EXCEPTIONS below (something in the theme's HTML that the book's CSS cannot change).

Per-page counts are printed (``pytest -s``) and written to ``_build/accessibility.json``.
"""

from __future__ import annotations

import json
import pathlib
import re

import pytest
from browser_helpers import book_pages, offline_context, prepare_for_axe

ROOT = pathlib.Path(__file__).resolve().parents[1]
# What the theme (sphinx-book-theme 1.3 / pydata-sphinx-theme 0.17) gets wrong in its own
# chrome and the book cannot fix: (axe rule id, a regular expression the node's CSS selector
# must match, why). Each is checked to still be needed (a stale exception fails). None is
# needed today: what axe found in the chrome (the colour-mode and search buttons' names not
# matching their text, label-content-name-mismatch, 102 nodes over 17 pages x 2 modes) is fixed
# by book/_static/book.js, and the rest by book/_static/book.css.
EXCEPTIONS: list[tuple[str, str, str]] = [
]


def open_page(browser, server: str, rel: str):
    """A page of the built book in the light mode, offline, ready for axe."""
    context, page = offline_context(browser, server, mode="light")
    page.goto(f"{server}/{rel}", wait_until="load")
    prepare_for_axe(page, server)
    return context, page


def excepted(rule: str, target: str) -> str | None:
    for rid, pattern, _why in EXCEPTIONS:
        if rid == rule and re.search(pattern, target):
            return pattern
    return None


@pytest.fixture(scope="module")
def axe_results(page_tour):
    """{(page, mode): [violation, ...]} for every built page in both modes (conftest's page_tour
    loads each page once: every rule in the light mode, the colour rules again in the dark)."""
    return {(rel, mode): facts["axe"][mode] for rel, facts in page_tour.items() for mode in ("light", "dark")}


def summarise(results) -> list[dict]:
    rows = []
    for (rel, mode), violations in sorted(results.items()):
        nodes = [(v["id"], n) for v in violations for n in v["nodes"]]
        content = [(i, n) for i, n in nodes if n["content"]]
        chrome = [(i, n) for i, n in nodes if not n["content"]]
        unexcused = [(i, n) for i, n in chrome if not excepted(i, n["target"])]
        rows.append({"page": rel, "mode": mode, "content": len(content), "chrome": len(chrome),
                     "chrome_unexcused": len(unexcused),
                     "rules": sorted({i for i, _ in nodes}),
                     "failures": [f"{i}: {n['target']}: {n['summary']}" for i, n in content + unexcused]})
    return rows


def test_axe_finds_no_wcag21_aa_violation_on_any_page_in_light_or_dark_mode(axe_results, built_html):
    rows = summarise(axe_results)
    (built_html.parent / "accessibility.json").write_text(json.dumps(rows, indent=1))
    print("\naxe-core WCAG 2.1 A/AA, failing nodes per page (content / theme chrome, unexcused):")
    for r in rows:
        print(f"  {r['page']:45s} {r['mode']:5s} {r['content']:4d} / {r['chrome']:3d} "
              f"({r['chrome_unexcused']}) {' '.join(r['rules'])}")
    print(f"  total: {sum(r['content'] for r in rows)} in the content, "
          f"{sum(r['chrome'] for r in rows)} in the chrome "
          f"({sum(r['chrome_unexcused'] for r in rows)} not excused)")
    failures = [f"{r['page']} ({r['mode']}): {f}" for r in rows for f in r["failures"]]
    assert not failures, f"{len(failures)} violations:\n" + "\n".join(failures[:60])


def test_every_named_exception_is_still_needed(axe_results):
    used = {excepted(v["id"], n["target"]) for vs in axe_results.values() for v in vs
            for n in v["nodes"] if not n["content"]}
    stale = [(rid, pattern) for rid, pattern, _ in EXCEPTIONS if pattern not in used]
    assert not stale, f"exceptions no longer needed (remove them): {stale}"


def test_axe_sees_the_heatmap_cells_once_the_canvases_are_hidden(built_html, book_server, browser):
    """The check is real: on a page with an explorer, axe evaluates the cells' contrast (passes
    or violations, not "incomplete"), and a cell made unreadable on purpose is reported."""
    rel = next(p for p in book_pages(built_html) if p.startswith("chapters/")
               and "sa-table" in (built_html / p).read_text(encoding="utf-8"))
    context, page = open_page(browser, book_server, rel)
    try:
        seen = page.evaluate("""async () => {
            const td = document.querySelector('.sa-explorer table.sa-table td:not(.sa-masked)');
            td.id = 'sa-probe';
            const before = await axe.run('#sa-probe', {runOnly: ['color-contrast']});
            td.style.background = '#777777';  // grey on grey: 1.2:1
            td.style.color = '#888888';
            const after = await axe.run('#sa-probe', {runOnly: ['color-contrast']});
            const n = r => ({passes: r.passes.length, violations: r.violations.length,
                             incomplete: r.incomplete.length});
            return [n(before), n(after)];
        }""")
    finally:
        context.close()
    before, after = seen
    assert before["incomplete"] == 0 and before["passes"] + before["violations"] == 1, (rel, before)
    assert after["violations"] == 1, (rel, after)


# ------------------------------------------------------------------------------- keyboard

KEYBOARD_PAGE = "chapters/02_softmax_xxt.html"


def focus_state(page) -> dict:
    return page.evaluate("""() => {
        const el = document.activeElement, s = getComputedStyle(el);
        const root = el.closest('.sa-explorer');
        const name = el.getAttribute('aria-label') || (el.labels && el.labels[0]
                     && el.labels[0].textContent.trim()) || '';
        return {tag: el.tagName, type: el.type || '', control: el.dataset.control || null,
                explorer: root ? root.dataset.explorer : null, name,
                visible: el.matches(':focus-visible'),
                outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0,
                shadow: s.boxShadow !== 'none'};
    }""")


def test_a_keyboard_alone_reaches_and_moves_every_control_of_an_explorer(built_html, offline_page):
    """Tab from the page's start reaches every control of the first explorer, each with an
    accessible name and a visible focus; arrow keys move the slider (and the dropdown), Space
    flips a checkbox, and each move changes the picture."""
    page = offline_page
    page.goto(f"{page.sa_server}/{KEYBOARD_PAGE}", wait_until="load")
    root = page.query_selector(".sa-explorer")
    assert root is not None, f"{KEYBOARD_PAGE} has no explorer"
    name = root.get_attribute("data-explorer")
    controls = root.evaluate("r => Array.from(r.querySelectorAll('[data-control]')).map("
                             "e => [e.dataset.control, e.tagName, e.type])")
    assert any(t == "range" for _, _, t in controls), f"{name}: no slider to move"
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    page.mouse.click(1, 1)  # a click on the page's corner: focus starts at the document's top
    reached = {}
    for _ in range(400):
        page.keyboard.press("Tab")
        state = focus_state(page)
        if state["explorer"] == name and state["control"]:
            reached[state["control"]] = state
        if len(reached) == len(controls):
            break
    missing = [c for c, _, _ in controls if c not in reached]
    assert not missing, f"{name}: Tab never reached {missing}"
    for control, state in reached.items():
        assert state["name"], f"{control}: no accessible name"
        assert state["visible"] and (state["outline"] or state["shadow"]), \
            f"{control}: focus is not visible: {state}"

    view = root.query_selector(".sa-view")

    def picture():
        return view.evaluate("async v => { const r = v.closest('.sa-explorer');"
                             " if (r.saReady) await r.saReady();"
                             " if (r.saSync) r.saSync(); return v.innerHTML; }")

    for control, tag, kind in controls:
        el = root.query_selector(f'[data-control="{control}"]')
        el.focus()
        before_value = el.evaluate("e => e.type === 'checkbox' ? e.checked : e.value")
        before = picture()
        if kind == "checkbox":
            page.keyboard.press("Space")
        else:
            at_end = el.evaluate("e => e.tagName === 'SELECT' ? e.selectedIndex === e.options.length - 1"
                                 " : +e.value >= +e.max")
            page.keyboard.press("ArrowLeft" if at_end and tag != "SELECT" else
                                "ArrowUp" if at_end else "ArrowRight" if tag != "SELECT" else "ArrowDown")
        after_value = el.evaluate("e => e.type === 'checkbox' ? e.checked : e.value")
        assert after_value != before_value, f"{name}: {control} did not move with the keyboard"
        if tag == "INPUT" and kind == "range":
            assert picture() != before, f"{name}: moving {control} with the keyboard changed nothing"
    assert not page.sa_console_errors, page.sa_console_errors
