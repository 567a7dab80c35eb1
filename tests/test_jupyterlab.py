"""The reader notebooks in a real front end: JupyterLab 4, driven by headless Chromium.

JupyterLab (from PyPI) is served on 127.0.0.1 with this environment's kernel (ipywidgets 8; a
JupyterLab 4 front end cannot show ipywidgets 7 widgets, so Colab's versions are tested without a
browser in test_colab_versions.py). Chromium opens every reader notebook, runs all cells, and
checks what a reader would see: every code cell ran, no error, no MyST syntax left in the rendered
Markdown, math typeset, every control of every live explorer changes its picture, and chapter 15's
own-sentence box draws its head view for a sentence typed into it.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from utils import claims

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
LAB_MACHINE = ("avx2", 1)  # back-end and threads (utils.claims.machine): not the build's
RUN_TIMEOUT_S = 300
RAW_MYST = ["{doc}`", "{eq}`", "{term}`", "{cite", "```{", ":label:", "{solution", "{exercise"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on 127.0.0.1 serving copies of the reader notebooks (it autosaves: not the originals)."""
    base = tmp_path_factory.mktemp("lab")
    work = base / "work"
    work.mkdir()
    for nb in NOTEBOOKS:
        shutil.copy(nb, work / nb.name)
    kernel = base / "data" / "kernels" / "python3"  # shadows the server's own python3 kernel
    kernel.mkdir(parents=True)
    (kernel / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3 (book)",
                "language": "python",
                # another machine: PyTorch, MKL and oneDNN capped to AVX2, one thread; claims strict
                "env": {"PYTHONPATH": str(ROOT), "MPLBACKEND": "module://matplotlib_inline.backend_inline",
                        "SA_CLAIMS": "strict", **claims.machine(*LAB_MACHINE)},
            }
        )
    )
    settings = base / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    # JupyterLab only renders the cells in view unless windowing is off; the test must see them all.
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    apputils = base / "settings" / "@jupyterlab" / "apputils-extension"
    apputils.mkdir(parents=True)
    (apputils / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    port = free_port()
    env = {
        **os.environ,
        "JUPYTER_PATH": str(base / "data"),
        "JUPYTERLAB_SETTINGS_DIR": str(base / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "JUPYTER_CONFIG_DIR": str(base / "config"),
    }
    log = open(base / "lab.log", "w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            f"--port={port}",
            "--ip=127.0.0.1",
            "--ServerApp.token=",
            "--ServerApp.password=",
            "--ServerApp.disable_check_xsrf=True",
            f"--ServerApp.root_dir={work}",
            "--LabApp.news_url=",
            "--ContentsManager.allow_hidden=True",
            "--LabApp.expose_app_in_browser=True",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{url}/api/status", timeout=1)
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail("JupyterLab did not start:\n" + (base / "lab.log").read_text())
    yield url
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:  # a server slow to stop (a busy machine) is stopped, not a failure
        server.kill()
        server.wait(timeout=30)
    log.close()


RUN_STATE = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    if (!panel || !panel.content || !panel.content.model) return null;
    const cells = [...panel.content.model.cells].filter(c => c.type === 'code');
    // each output's type only: toJSON() of every output would copy every figure's PNG at each poll
    const errors = [];
    for (const c of cells) {
        for (let i = 0; i < c.outputs.length; i++) {
            const o = c.outputs.get(i);
            if (o.type === 'error') { const e = o.toJSON(); errors.push(e.ename + ': ' + e.evalue); }
        }
    }
    return {code: cells.length, done: cells.filter(c => c.executionCount !== null).length, errors};
}"""


CLOSE_ALL = """() => {
    for (const widget of [...window.jupyterapp.shell.widgets('main')]) {   // its run is discarded
        if (widget.context && widget.context.model) widget.context.model.dirty = false;
        widget.dispose();
    }
    return [...window.jupyterapp.shell.widgets('main')].length;
}"""

OPEN = """async (path) => {
    const app = window.jupyterapp;
    const panel = await app.commands.execute('docmanager:open', {path, factory: 'Notebook'});
    app.shell.activateById(panel.id);
    await panel.context.ready;
    await panel.sessionContext.ready;
}"""


def run_all(page, name):
    """Open the notebook in the running JupyterLab, run every cell
    (JupyterLab's own command), wait until all ran or one failed."""
    page.evaluate(OPEN, name)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    # the status bar reads "Python 3 (book) | Idle" once the kernel has started
    page.wait_for_function("() => document.body.innerText.includes('(book) | Idle')", timeout=120_000)
    start = time.time()
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(
        f"() => {{ const s = ({RUN_STATE})(); return s && (s.errors.length > 0 || s.done === s.code); }}",
        timeout=RUN_TIMEOUT_S * 1000,
        polling=500,
    )
    state = page.evaluate(RUN_STATE)
    assert not state["errors"], f"{name}: a cell failed: {state['errors']}"
    assert state["done"] == state["code"] > 0, f"{name}: {state}"
    return time.time() - start


def check_page(page, name):
    report = page.evaluate(
        """(raw) => {
        const md = [...document.querySelectorAll('.jp-MarkdownCell .jp-RenderedMarkdown')];
        const text = md.map(m => m.innerText).join('\\n');
        return {
            markdown: md.length,
            raw: raw.filter(r => text.includes(r)),
            math: document.querySelectorAll('.jp-RenderedMarkdown mjx-container').length,
            dollars: (text.match(/\\$\\$/g) || []).length,
            explorers: document.querySelectorAll('.sa-explorer').length,
        }; }""",
        RAW_MYST,
    )
    assert report["markdown"] > 10, f"{name}: markdown cells not rendered: {report}"
    assert not report["raw"], f"{name}: raw MyST visible: {report['raw']}"
    assert report["math"] > 0 and report["dollars"] == 0, f"{name}: math not typeset: {report}"
    return report


def move_every_control(page, name):
    """Each control of each live explorer: move it and require the picture (the HTML view) to change."""
    explorers = page.query_selector_all(".jp-OutputArea-output .sa-explorer")
    assert explorers, f"{name}: no live explorer widget was displayed"
    moved = 0
    for ex in explorers:
        ex.scroll_into_view_if_needed()
        view = ex.query_selector_all(".widget-html-content")[-1]
        controls = (
            ex.query_selector_all(".noUi-handle, .ui-slider-handle")
            + ex.query_selector_all("select")
            + ex.query_selector_all("input[type=checkbox]")
        )
        assert controls, f"{name}: an explorer has no controls"
        for control in controls:
            before = view.inner_html()
            tag = control.evaluate("e => e.tagName.toLowerCase() + ':' + (e.type || '')")
            if tag.startswith("select"):
                options = control.evaluate("e => [...e.options].map(o => o.value)")
                current = control.evaluate("e => e.value")
                control.select_option(next(o for o in options if o != current))
            elif tag == "input:checkbox":
                control.click()
            else:  # a slider handle: one step right, or, at the right end, one step left
                control.focus()
                at_end = control.evaluate(
                    "e => e.getAttribute('aria-valuenow') === e.getAttribute('aria-valuemax')")
                control.press("ArrowLeft" if at_end else "ArrowRight")
            page.wait_for_function("([v, b]) => v.innerHTML !== b", arg=[view, before], timeout=20_000)
            moved += 1
    return moved


def type_own_sentence(page, name):
    """Chapter 15's own-sentence box (utils.minilm_web.OwnSentence, live): its head view was drawn
    for the default sentence by the kernel's numbers; a new sentence, entered, is drawn in its turn."""
    views = page.query_selector_all(".jp-OutputArea-output .sa-hv-svg")
    assert views, f"{name}: the own-sentence box drew no head view"
    box = page.query_selector(".jp-OutputArea-output .widget-text input")
    box.scroll_into_view_if_needed()
    box.fill("Hello world")
    box.press("Enter")
    # [CLS] hello world [SEP]: four tokens, drawn twice (queries, keys); and 72 heads in the overview
    page.wait_for_function("""() => {
        const view = [...document.querySelectorAll('.jp-OutputArea-output .sa-hv-svg')].pop();
        const root = view && view.closest('.jp-OutputArea-output');
        return root && root.querySelectorAll('.sa-hv-tok').length === 8
            && root.querySelectorAll('.sa-hv-thumb').length === 72; }""", timeout=60_000)


def shut_down_kernels(url):
    """End every session's kernel (one per notebook run), as closing a notebook in JupyterLab
    with "shut down kernel" would: left running, 16 idle kernels hold several GB."""
    with urllib.request.urlopen(f"{url}/api/sessions", timeout=10) as response:
        sessions = json.loads(response.read())
    for session in sessions:
        request = urllib.request.Request(f"{url}/api/sessions/{session['id']}", method="DELETE")
        urllib.request.urlopen(request, timeout=30).close()


@pytest.fixture(scope="module")
def lab_page(lab, browser):
    """One JupyterLab page for every notebook, as a reader keeps one JupyterLab open: loading the
    app again for each notebook (about 10 MB of scripts, fetched and compiled) cost more CPU than
    most chapters' own code. Each test opens its notebook in it and closes it when done."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{lab}/lab/workspaces/t-book?reset", wait_until="load")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell "
                           "&& document.querySelector('.jp-LabShell')", timeout=120_000)
    yield page
    context.close()


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_reader_notebook_runs_and_reads_right_in_jupyterlab(lab, lab_page, notebook, tmp_path_factory):
    page = lab_page
    errors = []
    on_error = lambda e: errors.append(str(e))  # noqa: E731
    page.on("pageerror", on_error)
    try:
        seconds = run_all(page, notebook.name)
        report = check_page(page, notebook.name)
        moved = move_every_control(page, notebook.name)
        if "OwnSentence(" in notebook.read_text(encoding="utf-8"):
            type_own_sentence(page, notebook.name)
        shots = pathlib.Path(os.environ.get("SA_LAB_SHOTS", tmp_path_factory.mktemp("shots")))
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / f"{notebook.stem}.png"))
        print(
            f"{notebook.name}: ran in {seconds:.1f} s, {report['math']} math, "
            f"{report['explorers']} explorers, {moved} controls moved"
        )
    finally:
        page.remove_listener("pageerror", on_error)
        left = page.evaluate(CLOSE_ALL)  # as a reader closes a notebook and shuts its kernel down
        shut_down_kernels(lab)
    assert not left, f"{notebook.name}: {left} tabs still open after closing them"
    assert not errors, f"{notebook.name}: page errors {errors}"
