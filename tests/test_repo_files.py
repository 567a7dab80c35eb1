"""The repository's own files: notebooks without outputs, every chapter in the table of
contents, the Binder environment in step with pyproject.toml, nothing vendored committed."""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys

import pytest
import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))


def requirement_name(spec: str) -> str:
    return re.split(r"[<>=!~\[ ;]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_there_are_chapters():
    assert len(NOTEBOOKS) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{path.name}: cell {i} has outputs"
            assert cell.get("execution_count") is None, f"{path.name}: cell {i} has an execution count"
    assert "widgets" not in nb.get("metadata", {}), f"{path.name}: saved widget state in metadata"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_starts_with_a_title_and_a_colab_only_setup_cell(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    title, setup = nb["cells"][0], nb["cells"][1]
    assert title["cell_type"] == "markdown" and "".join(title["source"]).startswith("# ")
    code = "".join(setup["source"])
    assert setup["cell_type"] == "code"
    assert 'if "google.colab" in sys.modules' in code, f"{path.name}: setup cell is not Colab-only"
    assert "pip" in code and "install" in code


def toc_files():
    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]
    for part in toc["parts"]:
        files += [c["file"] for c in part["chapters"]]
    return files


def test_every_chapter_is_in_the_toc_and_every_toc_entry_exists():
    files = toc_files()
    for f in files:
        assert not f.startswith(".."), f"{f}: a '../' path in the toc is dropped silently"
        matches = list(ROOT.glob(f + ".*"))
        assert matches, f"toc entry {f} has no file"
    chapters = {f"chapters/{p.stem}" for p in NOTEBOOKS}
    assert chapters <= set(files), f"chapters missing from the toc: {sorted(chapters - set(files))}"
    numbers = [int(pathlib.Path(f).name[:2]) for f in files if f.startswith("chapters/")]
    assert numbers == sorted(numbers), f"chapters are out of order in the toc: {numbers}"


def test_environment_yml_lists_the_same_runtime_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = {requirement_name(d): d.replace(" ", "") for d in project["dependencies"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    listed = {requirement_name(d): d.replace(" ", "") for d in pip_section if not d.startswith("-")}
    assert listed == runtime, f"environment.yml {listed} != pyproject.toml {runtime}"
    assert any("download.pytorch.org/whl/cpu" in d for d in pip_section), "Binder should get CPU-only torch"
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    minimum = project["requires-python"].lstrip(">=")
    assert tuple(map(int, python.split("=")[-1].split("."))) >= tuple(map(int, minimum.split(".")))
    postbuild = (ROOT / "postBuild").read_text(encoding="utf-8")
    assert "pip install" in postbuild and "-e ." in postbuild, "Binder must install the utils package"


def test_front_end_files_are_locked_and_not_committed():
    package = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    for name, version in package["dependencies"].items():
        locked = lock["packages"][f"node_modules/{name}"]["version"]
        assert locked == version, f"{name}: package.json pins {version}, the lock has {locked}"
    tracked = subprocess.run(["git", "ls-files", "book/_static/vendor", "node_modules"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
    assert not tracked, f"vendored files are committed: {tracked[:5]}"


def test_ci_runs_the_readmes_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = [line.strip() for line in ci.splitlines() if line.strip() and not line.startswith("#")]
    assert "make test" in commands
    assert "make test" in readme and "make book" in readme
