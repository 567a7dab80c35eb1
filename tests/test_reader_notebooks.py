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
NOTEBOOKS_ZH = sorted((ROOT / "notebooks" / "zh").glob("*.ipynb"))
CJK = re.compile(r"[\u4e00-\u9fff]")
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


@pytest.mark.parametrize("path", NOTEBOOKS + NOTEBOOKS_ZH,
                         ids=lambda p: p.relative_to(ROOT / "notebooks").as_posix())
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


def test_chinese_notebooks_have_the_same_code_chinese_text_and_the_language_cell():
    assert [p.name for p in NOTEBOOKS_ZH] == [p.name for p in NOTEBOOKS]
    for en_path, zh_path in zip(NOTEBOOKS, NOTEBOOKS_ZH):
        en = json.loads(en_path.read_text(encoding="utf-8"))["cells"]
        zh = json.loads(zh_path.read_text(encoding="utf-8"))["cells"]
        code_en = ["".join(c["source"]) for c in en if c["cell_type"] == "code"]
        code_zh = ["".join(c["source"]) for c in zh if c["cell_type"] == "code"]
        assert code_zh[0] == code_en[0] and 'use_language("zh_CN")' in code_zh[1]
        assert code_zh[2:] == code_en[1:], f"{zh_path.name}: code cells differ from the English"
        text = "\n".join(markdown_cells(zh_path))
        assert CJK.search(text.split("\n", 1)[0]), f"{zh_path.name}: title not in Chinese"
        assert len(re.findall(r"^### 练习 \d+", text, re.M)) == len(
            re.findall(r"^### Exercise \d+", "\n".join(markdown_cells(en_path)), re.M)) >= 3
        assert "/zh/chapters/" in text and "seeing-attention/chapters/" not in text


def test_a_chinese_notebook_runs_and_prints_in_chinese(tmp_path):
    """Chapter 2's Chinese notebook in a fresh kernel: its printed sentences, figure and explorer
    come out in Chinese (utils.i18n.use_language), with the same numbers as the English."""
    import nbformat
    from nbclient import NotebookClient

    outputs = {}
    for folder in ("", "zh"):
        nb = nbformat.read(ROOT / "notebooks" / folder / "02_softmax_xxt.ipynb", as_version=4)
        NotebookClient(nb, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(ROOT / "chapters")}}).execute()
        outputs[folder or "en"] = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    streams = {k: "".join(o.get("text", "") for o in v if o.output_type == "stream")
               for k, v in outputs.items()}
    assert CJK.search(streams["zh"]) and not CJK.search(re.sub(r"[早上好]", "", streams["en"]))
    numbers = {k: re.findall(r"-?\d+\.\d+", v) for k, v in streams.items()}
    assert numbers["zh"] == numbers["en"], "the Chinese run printed other numbers"
    html = [o["data"]["text/html"] for o in outputs["zh"] if "text/html" in o.get("data", {})]
    assert any("sa-explorer" in h and CJK.search(re.sub(r"[早上好]", "", h)) for h in html)


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


def test_term_anchor_gives_the_ids_the_built_glossary_has(built_html):
    """The reader notebooks link each {term} to the glossary by the id Sphinx gives the term, which
    reader_notebooks.term_anchor computes by copying Sphinx's rule (a private function): every
    term of book/glossary.md, in order, must get the id the built glossary gives it, in both
    editions, so that a change of Sphinx's rule shows here, not as a dead link in a notebook."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from reader_notebooks import term_anchor

    source = (ROOT / "book" / "glossary.md").read_text(encoding="utf-8")
    block = source.split("```{glossary}", 1)[1].split("\n```", 1)[0]
    terms = [line.strip() for line in block.splitlines() if line.strip() and not line[0].isspace()]
    assert len(terms) >= 40, terms
    for folder in ("", "zh"):
        page = (built_html / folder / "book" / "glossary.html").read_text(encoding="utf-8")
        ids = re.findall(r'<dt id="([^"]+)"', page)
        assert [term_anchor(t) for t in terms] == ids, f"{folder or 'en'}: the glossary's ids differ"
