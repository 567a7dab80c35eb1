"""Every reader notebook runs with Colab's package versions.

``.venv-colab`` (built by ``make test``) holds the versions of Colab's published runtime: ipywidgets
7.7.1, IPython 7.34.0, ipykernel 6.17.1, numpy 2.1.3, matplotlib 3.10.0. Python (3.11 here, 3.13
on Colab) and torch (2.13 CPU here, 2.11 on Colab) are the closest this machine has. Each reader
notebook is executed in a kernel of that environment; no cell may fail, and every explorer must
display as a live ipywidgets 7 widget (Colab's front end shows ipywidgets 7, not 8) that
computes only its default state: the output a saved notebook keeps is at most 50 KB, and the
display costs little beyond one compute (``make bench`` measures it against its 50 ms target; here,
on a busy machine, only a loose 1 s bound catches a display that sweeps every state).
"""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import time

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from utils import claims

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# and one Chinese reader notebook: utils.i18n.use_language under Colab's IPython and ipykernel
CHINESE = [ROOT / "notebooks" / "zh" / "02_softmax_xxt.ipynb"]
COLAB_PYTHON = ROOT / ".venv-colab" / "bin" / "python"
COLAB_MACHINE = ("default", 1)  # back-end and threads (utils.claims.machine)
COLAB_VERSIONS = {
    "ipywidgets": "7.7.1",
    "IPython": "7.34.0",
    "ipykernel": "6.17.1",
    "numpy": "2.1.3",
    "matplotlib": "3.10.0",
}


@pytest.fixture(scope="module")
def colab_kernel(tmp_path_factory):
    metrics = tmp_path_factory.mktemp("metrics") / "explorers.jsonl"
    if not COLAB_PYTHON.exists():
        pytest.fail(f"{COLAB_PYTHON} is missing: `make test` builds the Colab-versions environment")
    probe = (
        "import json, importlib; print(json.dumps({m: importlib.import_module(m).__version__ "
        f"for m in {list(COLAB_VERSIONS)!r}}}))"
    )
    found = json.loads(
        subprocess.run([str(COLAB_PYTHON), "-c", probe], capture_output=True, text=True, check=True).stdout
    )
    assert found == COLAB_VERSIONS, f"the Colab environment has {found}, expected {COLAB_VERSIONS}"
    spec = KernelSpec(
        argv=[str(COLAB_PYTHON), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        display_name="Python 3 (Colab versions)",
        language="python",
        # Another machine as well: PyTorch's plain C++ kernels, MKL and oneDNN capped to SSE, one
        # thread (the book build runs this CPU's own kernels), with every claim strict.
        env={"PYTHONPATH": str(ROOT), "SA_EXPLORER_METRICS": str(metrics), "SA_CLAIMS": "strict",
             **claims.machine(*COLAB_MACHINE)},
    )

    class ColabKernelManager(KernelManager):
        metrics_file = metrics

        @property
        def kernel_spec(self):
            return spec

    return ColabKernelManager


@pytest.mark.parametrize("path", NOTEBOOKS + CHINESE,
                         ids=lambda p: p.relative_to(ROOT / "notebooks").as_posix())
def test_reader_notebook_runs_with_colabs_versions(colab_kernel, path):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        kernel_manager_class=colab_kernel,
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    seconds = time.perf_counter() - start
    widgets = [
        o["data"]["application/vnd.jupyter.widget-view+json"]
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    explorers = sum("Explorer(" in c.source for c in nb.cells if c.cell_type == "code")
    boxes = sum("OwnSentence(" in c.source for c in nb.cells if c.cell_type == "code")  # chapter 15's
    assert len(widgets) >= explorers + boxes and explorers > 0, (
        f"{path.name}: {explorers} explorers and {boxes} own-sentence boxes but {len(widgets)} live widgets"
    )
    # IPython prints a display method's exception as a warning and goes on: none may be left
    warned = [o.get("text", "")[:300] for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("name") == "stderr" and re.search(r"Traceback|FormatterWarning", o.get("text", ""))]
    assert not warned, f"{path.name}: {warned}"
    state = (
        nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    )
    versions = {
        m["model_module_version"] for m in state.values() if m["model_module"] == "@jupyter-widgets/controls"
    }
    assert versions == {"1.5.0"}, f"{path.name}: widget models {versions} are not ipywidgets 7's"
    records = [json.loads(line) for line in colab_kernel.metrics_file.read_text().splitlines()]
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    names = set(re.findall(r'name="(ch\d\d-[a-z0-9-]+)"', code))
    shown = {r["name"]: r for r in records if r["name"] in names}
    assert set(shown) == names, f"{path.name}: no display record for {names - set(shown)}"
    for name, r in shown.items():
        assert not r["static"], f"{name}: swept every state in a live kernel"
        assert r["output_bytes"] <= 50_000, f"{name}: {r['output_bytes']} bytes of saved output (> 50 KB)"
        assert r["display_ms"] - r["compute_ms"] <= 1000, f"{name}: display {r['display_ms']:.0f} ms"
    if path in CHINESE:  # what the code printed is in Chinese, and so is the explorer's fallback
        printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                          for o in c.get("outputs", []) if o.get("name") == "stdout")
        assert re.search(r"[\u4e00-\u9fff]", re.sub("[早上好]", "", printed)), printed[:300]
    print(f"{path.name}: {seconds:.1f} s with Colab's versions, {len(widgets)} widgets")
