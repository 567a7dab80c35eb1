"""The reader notebooks (notebooks/): generated from the chapters, plain Jupyter Markdown, in step.

Colab, Binder, JupyterLab, Notebook 7, VS Code and GitHub's preview do not understand MyST, so the
launch buttons open these generated notebooks instead of the chapters. Here: they are up to date
(a fresh generation changes nothing), no MyST syntax is left, the set-up cell is Colab-only and
shows pip's errors, and, on the built book, every equation and exercise number and every link
they carry agrees with the pages.
"""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
MYST = [
    (re.compile(r"\{[a-z:-]+\}`"), "a MyST role"),
    (re.compile(r"^\s*(`{3,}|~{3,}|:{3,})\s*\{[a-z-]+\}", re.M), "a MyST directive"),
    (re.compile(r"^:(label|class|name):", re.M), "a directive option"),
    (re.compile(r"^\(\S+\)=\s*$", re.M), "a MyST target"),
]


def markdown_cells(path):
    return ["".join(c["source"]) for c in json.loads(path.read_text(encoding="utf-8"))["cells"]
            if c["cell_type"] == "markdown"]


def base_url():
    config = yaml.safe_load((ROOT / "book" / "_config.yml").read_text(encoding="utf-8"))
    return config["html"]["baseurl"].rstrip("/") + "/"


def test_there_is_one_reader_notebook_per_chapter_in_the_toc():
    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text(encoding="utf-8"))
    chapters = [pathlib.Path(c["file"]).name for part in toc["parts"] for c in part["chapters"]
                if c["file"].startswith("chapters/")]
    assert [p.stem for p in NOTEBOOKS] == chapters


def test_reader_notebooks_are_up_to_date_with_the_chapters():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "reader_notebooks.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_myst_syntax_is_left(path):
    for i, text in enumerate(markdown_cells(path)):
        for pattern, what in MYST:
            m = pattern.search(text)
            context = text[max(0, m.start() - 40):m.end() + 40] if m else ""
            assert not m, f"{path.name}, markdown cell {i}: {what} is left: {context!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_exercises_are_headings_and_solutions_are_folded(path):
    text = "\n".join(markdown_cells(path))
    exercises = [int(k) for k in re.findall(r"^### Exercise (\d+)", text, re.M)]
    assert len(exercises) >= 3 and exercises == list(range(exercises[0], exercises[0] + len(exercises)))
    solutions = {int(k) for k in re.findall(r"Solution to Exercise (\d+)", text)}
    assert solutions == set(exercises), f"{path.name}: exercises without a folded solution"
    assert text.count("<details>") == text.count("</details>") > 0
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if "solution" in cell["metadata"].get("tags", []):
            assert cell["metadata"]["jupyter"] == {"source_hidden": True, "outputs_hidden": True}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_setup_cell_installs_on_colab_only_with_pip_errors_shown(path):
    setup = "".join(json.loads(path.read_text(encoding="utf-8"))["cells"][1]["source"])
    lines = setup.splitlines()
    assert lines[:2] == ["import sys", lines[1]] and lines[1].startswith('if "google.colab" in sys.modules:')
    installs = [l.strip() for l in lines[2:]]
    assert installs and all(l.startswith("%pip install ") for l in installs), setup
    repo = yaml.safe_load((ROOT / "book" / "_config.yml").read_text(encoding="utf-8"))["repository"]["url"]
    assert f'"git+{repo}"' in installs[0]
    for line in installs:  # Colab's ipywidgets 7.7.1 must stay: nothing upgrades or names it
        assert not re.search(r"(^|\s)(-U|--upgrade)(\s|$)|ipywidgets", line), line


def test_colabs_versions_satisfy_the_packages_minimums():
    """Installing the book on Colab must not upgrade anything Colab ships (ipywidgets above all)."""
    try:
        import tomllib
    except ImportError:  # pragma: no cover
        tomllib = pytest.importorskip("tomli")
    from packaging.requirements import Requirement

    # Colab's published runtime (its list names these; tqdm and safetensors it does not publish)
    colab = {"numpy": "2.1.3", "torch": "2.11.0", "matplotlib": "3.10.0", "ipywidgets": "7.7.1"}
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    for dep in deps:
        req = Requirement(dep)
        if req.name not in colab:
            continue
        version = colab[req.name]
        assert req.specifier.contains(version), f"{dep} would change Colab's {req.name} {version}"


# ----------------------------------------------------------------------------- against the built book


def links(path):
    return re.findall(r"\]\((https?://[^)\s]+)\)", "\n".join(markdown_cells(path)))


def test_every_link_to_the_book_names_a_built_page_and_anchor(built_html):
    base = base_url()
    n = 0
    for path in NOTEBOOKS:
        for url in links(path):
            if not url.startswith(base):
                continue
            page, _, anchor = url[len(base):].partition("#")
            built = built_html / page
            assert built.is_file(), f"{path.name}: link to {page}, which the build does not have"
            if anchor:
                has = f'id="{anchor}"' in built.read_text(encoding="utf-8")
                assert has, f"{path.name}: {page} has no #{anchor}"
            n += 1
    assert n > 50, n


def test_equation_and_exercise_numbers_match_the_pages(built_html):
    for path in NOTEBOOKS:
        page = (built_html / "chapters" / f"{path.stem}.html").read_text(encoding="utf-8")
        text = "\n".join(markdown_cells(path))
        tags = re.findall(r"\\tag\{(\d+)\}", text)
        numbers = re.findall(r'<span class="eqno">\((\d+)\)', page)
        assert tags == numbers, f"{path.name}: equation numbers {tags} vs the page's {numbers}"
        exercises = re.findall(r"^### Exercise (\d+)", text, re.M)
        on_page = re.findall(r'<span class="caption-number">Exercise (\d+) </span>', page)
        assert exercises == on_page, f"{path.name}: exercises {exercises} vs the page's {on_page}"
