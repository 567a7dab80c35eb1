"""The book's build settings turn a failing notebook into a failed build that shows the cell's
traceback (by default Jupyter Book only warns). Builds a two-page book with our _config.yml."""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys

import nbformat
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_a_notebook_error_fails_the_build_and_shows_the_traceback(tmp_path):
    config = yaml.safe_load((ROOT / "book" / "_config.yml").read_text(encoding="utf-8"))
    config.pop("bibtex_bibfiles", None)
    config["sphinx"].pop("local_extensions", None)
    book = tmp_path / "book"
    book.mkdir()
    (book / "_config.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    toc = "format: jb-book\nroot: book/intro\nchapters:\n  - file: chapters/broken\n"
    (book / "_toc.yml").write_text(toc, encoding="utf-8")
    (book / "intro.md").write_text("# Intro\n", encoding="utf-8")
    shutil.copytree(ROOT / "book" / "_static", book / "_static",
                    ignore=shutil.ignore_patterns("vendor"))
    (tmp_path / "chapters").mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Broken"),
                nbformat.v4.new_code_cell("def inner():\n"
                                          "    raise ValueError('scores have shape (3, 4)')\n\n"
                                          "inner()")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "chapters" / "broken.ipynb")
    jb = pathlib.Path(sys.executable).parent / "jupyter-book"
    run = subprocess.run([str(jb), "build", ".", "--config", "book/_config.yml", "--toc", "book/_toc.yml",
                          "-W", "--keep-going"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    output = run.stdout + run.stderr
    assert run.returncode != 0, output[-2000:]
    assert "ValueError" in output and "scores have shape (3, 4)" in output, output[-2000:]
    assert "inner()" in output, "the failing cell's traceback is not shown"
