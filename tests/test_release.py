"""The release a reader installs (the slow packaging test, marked ``packaging``).

From a clean copy of the repository (its tracked files only), ``python -m build`` makes the
sdist and, from that sdist, the wheel. The test reads both (licence files, package data: the
explorer's script and style sheet and the Chinese output catalogs; the metadata: version,
licence, runtime dependencies, extras), then installs the wheel into a fresh venv (no system
site-packages) with pip resolving its dependencies, and in that venv, with no access to this
repository or to the test extras: imports every module of the package, renders an explorer's
static page headless, translates an output line from the packaged catalogs, and runs chapter 2's
reader notebook to its end, cell by cell, in IPython (no kernel, not Colab: its set-up cell
installs nothing).

The wheel is installed with ``--no-deps``: its dependencies are not downloaded again (PyTorch
alone is 700 MB, and the test must stay quick), but the venv sees this environment's copies of
exactly the wheel's runtime requirements and of what they require in turn (NumPy, PyTorch,
Matplotlib, ipywidgets, tqdm, safetensors, ...), through a folder of links on its path, and
nothing else of this environment: ``pip check`` in the venv then finds every requirement met,
and the test extras (pytest, transformers, Jupyter Book, ...) cannot be imported there.
"""

from __future__ import annotations

import email
import importlib.metadata
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile
import textwrap
import time
import zipfile

import pytest
from packaging.requirements import Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

pytestmark = pytest.mark.packaging

ROOT = pathlib.Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
MODULES = sorted(p.stem for p in (ROOT / "utils").glob("*.py") if p.stem != "__init__")
STATIC = ["utils/explorer/static/explorer.css", "utils/explorer/static/explorer.js"]
# chapter 15's own-sentence scripts (utils.minilm_web inlines the head view into a notebook's output)
MINILM_STATIC = sorted(f"utils/minilm_static/{p.name}" for p in (ROOT / "utils" / "minilm_static").iterdir()
                       if p.suffix in (".js", ".css"))
CATALOGS = sorted(f"utils/i18n/locales/zh_CN/{p.name}"
                  for p in (ROOT / "utils" / "i18n" / "locales" / "zh_CN").glob("*.po"))
# what only the book build and the tests use: none of it may be needed by the package
EXTRAS_ONLY = ["pytest", "hypothesis", "playwright", "transformers", "tokenizers", "jupyter_book",
               "sphinx", "nbclient", "nbformat", "jupyterlab", "pypdf", "yaml", "jieba", "cffconvert", "onnx"]


def run(*args, timeout=300, **kw):
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, **kw)
    assert done.returncode == 0, f"{args}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def requirement_name(spec: str) -> str:
    return re.split(r"[<>=!~\[ ;(]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    """(sdist, wheel) built by ``python -m build`` from a copy of the tracked files."""
    tmp = tmp_path_factory.mktemp("release")
    source = tmp / "src"
    tracked = run("git", "-C", ROOT, "ls-files", "--cached", "--others", "--exclude-standard").split("\n")
    for name in filter(None, tracked):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / name, source / name)
    out = tmp / "dist"
    # --no-isolation: the build requirements (setuptools>=77) are this environment's, not downloaded
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, source, cwd=tmp)
    (sdist,) = out.glob("seeing_attention-*.tar.gz")
    (wheel,) = out.glob("seeing_attention-*.whl")
    return sdist, wheel


def test_the_package_data_is_what_the_test_expects():
    static = ROOT / "utils" / "explorer" / "static"
    assert sorted(f"utils/explorer/static/{p.name}" for p in static.iterdir()
                  if p.suffix in (".js", ".css")) == STATIC
    assert len(CATALOGS) >= 16 and "utils/i18n/locales/zh_CN/utils.po" in CATALOGS
    assert {"utils/minilm_static/headview.js", "utils/minilm_static/headview.css",
            "utils/minilm_static/wordpiece.js"} <= set(MINILM_STATIC)


def test_the_version_is_the_changelogs(dists):
    sdist, wheel = dists
    version = PROJECT["version"]
    assert sdist.name == f"seeing_attention-{version}.tar.gz"
    assert wheel.name.startswith(f"seeing_attention-{version}-py3-none-any")
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    first = re.search(r"^## (\S+)", changelog, re.M).group(1).rstrip(":")
    assert first == version, f"CHANGELOG.md's newest entry is {first}, the package is {version}"


def test_the_sdist_holds_the_package_its_data_and_both_licences(dists):
    sdist, _ = dists
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for name in ["pyproject.toml", "README.md", "LICENSE", "LICENSE-CC-BY-SA-4.0", *STATIC, *MINILM_STATIC,
                 *CATALOGS,
                 *(f"utils/{m}.py" for m in MODULES)]:
        assert name in names, f"{name} is not in {sdist.name}"
    assert not any(n.startswith(("chapters/", "tests/", "notebooks/", "book/")) for n in names), \
        "the sdist is the package, not the book"


def test_the_wheel_holds_the_package_data_licences_and_metadata(dists):
    _, wheel = dists
    version = PROJECT["version"]
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        info = f"seeing_attention-{version}.dist-info"
        metadata = email.message_from_string(z.read(f"{info}/METADATA").decode())
    for name in [*STATIC, *MINILM_STATIC, *CATALOGS, "utils/__init__.py", *(f"utils/{m}.py" for m in MODULES),
                 f"{info}/licenses/LICENSE", f"{info}/licenses/LICENSE-CC-BY-SA-4.0"]:
        assert name in names, f"{name} is not in {wheel.name}"
    assert len(CATALOGS) >= 16
    assert metadata["License-Expression"] == "MIT AND CC-BY-SA-4.0"
    urls = dict(u.split(", ", 1) for u in metadata.get_all("Project-URL"))
    assert urls == PROJECT["urls"]
    requires = metadata.get_all("Requires-Dist")
    runtime = sorted(requirement_name(r) for r in requires if "extra ==" not in r)
    assert runtime == sorted(requirement_name(d) for d in PROJECT["dependencies"])
    for extra in ("book", "test"):  # the extras exist, and are only extras
        listed = sorted(requirement_name(r) for r in requires if f'extra == "{extra}"' in r)
        assert listed == sorted(requirement_name(d) for d in PROJECT["optional-dependencies"][extra])


def borrowed(requirements, folder: pathlib.Path) -> list[str]:
    """A folder of links to this environment's copies of ``requirements`` and of everything they
    require in turn (no extras): the runtime closure, and nothing else. Returns their names."""
    folder.mkdir()
    todo, seen = [requirement_name(r) for r in requirements], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        dist = importlib.metadata.distribution(name)
        base = pathlib.Path(dist.locate_file(""))
        tops = {pathlib.PurePath(f).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in tops - {"__pycache__"}:
            if (base / top).exists() and not (folder / top).exists():
                (folder / top).symlink_to(base / top)
        for requirement in map(Requirement, dist.requires or []):
            # what this platform installs: no extras, markers evaluated (colorama: Windows only)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement_name(requirement.name))
    return sorted(seen)


CHECK = textwrap.dedent("""
    import importlib, importlib.util, json, pathlib, sys, time
    start = time.perf_counter()
    import utils
    here = pathlib.Path(utils.__file__).parent
    assert str(here).startswith(sys.prefix), here          # the venv's copy, not the repository
    modules = json.loads(sys.argv[1])
    for name in modules:
        importlib.import_module("utils." + name)
    present = [m for m in json.loads(sys.argv[2]) if importlib.util.find_spec(m) is not None]
    assert not present, f"extras-only packages are importable in the fresh venv: {present}"

    # an explorer, headless: its static page, with the packaged script and style sheet inlined
    from utils.explorer import Explorer, Heatmap, Slider
    js = (here / "explorer" / "static" / "explorer.js").read_text(encoding="utf-8")
    css = (here / "explorer" / "static" / "explorer.css").read_text(encoding="utf-8")
    page = Explorer(lambda a: [Heatmap([[a, 1 - a], [1 - a, a]], weights=True)],
                    [Slider("a", [0.0, 0.25, 0.5])], name="release-test").static_html()
    assert "<script>" + js + "</script>" in page and "<style>" + css + "</style>" in page

    # the packaged Chinese output catalogs
    from utils import i18n
    # a line chapter 2 prints; its message is in the packaged 02_softmax_xxt.po
    zh = i18n.translate("A[早, 好] = 0.25, A[好, 早] = 0.5, ratio 2.0 = Z_好 / Z_早 = 2.0", "zh_CN")
    assert zh == "A[早, 好] = 0.25，A[好, 早] = 0.5，比值 2.0 = Z_好 / Z_早 = 2.0", zh
    print(json.dumps({"utils": str(here), "seconds": round(time.perf_counter() - start, 1)}))
""")

NOTEBOOK = textwrap.dedent("""
    import json, sys
    import matplotlib
    matplotlib.use("Agg")
    from IPython.core.interactiveshell import InteractiveShell
    cells = [c for c in json.load(open(sys.argv[1], encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
    shell = InteractiveShell.instance()
    for i, cell in enumerate(cells):
        result = shell.run_cell("".join(cell["source"]), silent=False)
        if not result.success:
            sys.exit(f"code cell {i} failed: {result.error_in_exec or result.error_before_exec!r}")
    print(f"ran {len(cells)} code cells")
""")


def test_a_fresh_venv_installs_the_wheel_and_runs_chapter_2(dists, tmp_path):
    _, wheel = dists
    start = time.perf_counter()
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = pathlib.Path(run(python, "-c", purelib).strip())
    closure = borrowed(PROJECT["dependencies"], tmp_path / "runtime")
    (site / "zz_runtime.pth").write_text(str(tmp_path / "runtime") + "\n")
    pip = [sys.executable, "-m", "pip", "--python", python, "--disable-pip-version-check"]
    run(*pip, "install", "--quiet", "--no-deps", "--no-index", wheel)
    # every requirement of the installed wheel is met by the runtime closure alone
    run(*pip, "check")
    assert not set(closure) & {"pytest", "hypothesis", "playwright", "transformers", "jupyter-book",
                               "jupyterlab", "nbclient", "sphinx"}, closure

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "SA_", "VIRTUAL_ENV"))}
    env["MPLBACKEND"] = "Agg"
    import json

    out = run(python, "-I", "-c", CHECK, json.dumps(MODULES), json.dumps(EXTRAS_ONLY), cwd=tmp_path, env=env)
    report = json.loads(out.strip().splitlines()[-1])
    assert report["utils"].startswith(str(venv)), report
    # chapter 2's reader notebook, as a reader runs it after installing the wheel
    notebook = tmp_path / "02_softmax_xxt.ipynb"
    shutil.copyfile(ROOT / "notebooks" / "02_softmax_xxt.ipynb", notebook)
    out = run(python, "-I", "-c", NOTEBOOK, notebook, cwd=tmp_path, env=env, timeout=600)
    cells = [c for c in json.loads(notebook.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
    assert out.strip().splitlines()[-1] == f"ran {len(cells)} code cells", out[-2000:]
    print(f"fresh venv: installed and ran chapter 2 in {time.perf_counter() - start:.0f} s")
