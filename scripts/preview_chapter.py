"""Execute one chapter notebook on its own, time it, and screenshot its figures and explorers.

    .venv/bin/python scripts/preview_chapter.py chapters/02_softmax_xxt.ipynb [OUTDIR]

Writes OUTDIR/page.html (every figure and every explorer's static HTML, in order),
OUTDIR/page.png (a full-page screenshot) and OUTDIR/explorer-<name>-<control>.png (each
explorer after moving each control to its last position). The chapter file is never modified.
For authors working in parallel: it builds nothing under _build/ and never touches the book.
"""

import html
import os
import pathlib
import sys
import time

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))  # scripts/: browser.py
from browser import chromium  # noqa: E402


def execute(path: pathlib.Path):
    os.environ["SA_STATIC_EXPLORERS"] = "1"  # as in the book build: explorers sweep every state
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return nb, time.perf_counter() - start


def page_of(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "text/html" in data and "sa-explorer" in data["text/html"]:
                parts.append(data["text/html"])
            elif "image/png" in data:
                parts.append(f'<img src="data:image/png;base64,{data["image/png"]}">')
            elif out.get("output_type") == "stream" and out.get("name") == "stderr":
                parts.append(f'<pre style="color:#b00">{html.escape(out["text"])}</pre>')
            elif out.get("output_type") == "error":
                parts.append(f'<pre style="color:#b00">{html.escape(out["ename"])}</pre>')
    return "<!doctype html><meta charset=utf-8><body style='max-width:1000px'>" + "\n".join(parts)


def screenshots(page_file: pathlib.Path, outdir: pathlib.Path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = chromium(p)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        errors = []
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_file.as_uri())
        page.screenshot(path=str(outdir / "page.png"), full_page=True)
        for ex in page.query_selector_all(".sa-explorer"):
            name = ex.get_attribute("data-explorer")
            ex.evaluate("r => r.saReady && r.saReady()")  # states read now, not when scrolled to
            for ctl in ex.query_selector_all("[data-control]"):
                ctl.evaluate("""el => { if (el.type === 'checkbox') el.checked = !el.checked;
                    else if (el.tagName === 'SELECT') el.selectedIndex = el.options.length - 1;
                    else el.value = el.max;
                    el.dispatchEvent(new Event('input', {bubbles: true})); }""")
                shot = outdir / f"explorer-{name}-{ctl.get_attribute('data-control')}.png"
                ex.screenshot(path=str(shot))
        browser.close()
    return errors


def main():
    path = pathlib.Path(sys.argv[1]).resolve()
    outdir = pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else f"/tmp/preview-{path.stem}")
    outdir.mkdir(parents=True, exist_ok=True)
    nb, seconds = execute(path)
    page_file = outdir / "page.html"
    page_file.write_text(page_of(nb), encoding="utf-8")
    nbformat.write(nb, outdir / path.name)
    errors = screenshots(page_file, outdir)
    print(f"executed {path.name} in {seconds:.1f} s; page part {page_file.stat().st_size / 1e6:.2f} MB")
    print(f"screenshots in {outdir}; console errors: {errors or 'none'}")


if __name__ == "__main__":
    main()
