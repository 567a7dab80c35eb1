"""The book's build settings turn a failing notebook into a failed build that shows the cell's
traceback (by default Jupyter Book only warns). Builds a two-page book with our _config.yml.
A formula MathJax cannot typeset fails the build too (the maths is typeset at build time)."""

from __future__ import annotations

import importlib.util
import pathlib
import re
import shutil
import subprocess
import sys

import nbformat
import pytest
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


def test_a_tex_error_fails_the_build_and_names_the_formula():
    """The maths is typeset at build time (book/_ext/book_pages.py, MathJax in Node): a formula
    MathJax cannot typeset, or a macro TeX does not know, stops the build and is named; a good
    formula comes out as MathJax's SVG with its MathML for screen readers, its glyphs drawn from
    the page's one hidden SVG of paths."""
    spec = importlib.util.spec_from_file_location("book_pages", ROOT / "book" / "_ext" / "book_pages.py")
    book_pages = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(book_pages)
    head = '<html><head><script>window.MathJax = {"options": {}}</script>\n</head><body>'

    def page(tex):
        math = f'<span class="math notranslate nohighlight">\\({tex}\\)</span>'
        return f"{head}<p>Scores {math}.</p></body></html>"

    good = book_pages.prerender_math({"a.html": page(r"QK^\top / \sqrt{d_k} &lt; 1")})
    html = good["a.html"]
    assert "<mjx-container" in html and "<mjx-assistive-mml" in html and "<msqrt>" in html, html[:500]
    assert "window.MathJax" not in html and '<style id="sa-math">' in html
    # every glyph a formula uses is a path of the page's hidden SVG, written once, before it
    glyphs = re.search(r'<body><svg id="sa-math-glyphs" style="display: none;" aria-hidden="true">'
                       r'<defs>(.*?)</defs></svg>', html)
    assert glyphs, html[:800]
    defined = re.findall(r'<path id="([^"]+)"', glyphs[1])
    used = re.findall(r'<use href="#([^"]+)"', html)
    assert used and set(used) == set(defined) and len(defined) == len(set(defined)), (used, defined)
    # written compactly: no attribute only MathJax's scripts read, no bare group
    body = html.split("</head>")[1]
    assert "data-mml-node" not in body and "data-c=" not in body and "xlink" not in body
    assert "<g>" not in body
    bad = [(r"\frac{1}{2", "Missing close brace"), (r"\softmaxx(x)", "Undefined control sequence")]
    for tex, message in bad:
        with pytest.raises(book_pages.MathError, match=message) as failure:
            book_pages.prerender_math({"b.html": page(tex)})
        assert "b.html" in str(failure.value) and tex in str(failure.value).replace("\\\\", "\\")


def test_a_print_cut_into_stream_chunks_comes_out_as_one_line():
    """The kernel cuts printed text into chunks wherever it flushes; under load that can be in
    the middle of a ``print``. MyST-NB's merge puts a newline after every chunk; the book's merge
    (book/_ext/book_pages.py) joins them as written, so the page, and the Chinese edition's
    line-by-line translation, see the line the code printed."""
    from myst_nb.core import render
    from nbformat import NotebookNode

    spec = importlib.util.spec_from_file_location("book_pages", ROOT / "book" / "_ext" / "book_pages.py")
    book_pages = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(book_pages)
    chunks = [NotebookNode(output_type="stream", name="stdout", text="picks in sample 1:"),
              NotebookNode(output_type="stream", name="stdout", text=" {'cat': 'kitten'}\nnext "),
              NotebookNode(output_type="display_data", data={"text/plain": "x"}, metadata={}),
              NotebookNode(output_type="stream", name="stdout", text="line\n")]
    assert render.coalesce_streams([dict(c) for c in chunks])[0]["text"].count("\n") > 2  # MyST-NB's own
    original = render.coalesce_streams
    try:
        book_pages._install_stream_merging()
        book_pages._install_stream_merging()  # twice (a second build in one process): still one merge
        merged = render.coalesce_streams([NotebookNode(c) for c in chunks])
    finally:
        render.coalesce_streams = original
    assert [o["output_type"] for o in merged] == ["stream", "display_data"]
    assert merged[0]["text"] == "picks in sample 1: {'cat': 'kitten'}\nnext line\n"
    assert chunks[0]["text"] == "picks in sample 1:"  # the executed notebook is left as it was


def test_the_themes_tab_stop_pass_is_found_once_and_taken_out(tmp_path):
    """book_pages.drop_theme_tab_stops edits the theme's script as installed: the pass is found
    exactly once and replaced; a second run changes nothing; a script without it fails loudly."""
    import pydata_sphinx_theme

    spec = importlib.util.spec_from_file_location("book_pages", ROOT / "book" / "_ext" / "book_pages.py")
    book_pages = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(book_pages)
    shipped = (pathlib.Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static"
               / "scripts" / "pydata-sphinx-theme.js").read_text(encoding="utf-8")
    assert len(book_pages.THEME_TAB_STOPS.findall(shipped)) == 1
    scripts = tmp_path / "_static" / "scripts"
    scripts.mkdir(parents=True)
    (scripts / "pydata-sphinx-theme.js").write_text(shipped, encoding="utf-8")
    book_pages.drop_theme_tab_stops(scripts.parents[1])
    once = (scripts / "pydata-sphinx-theme.js").read_text(encoding="utf-8")
    assert book_pages.THEME_TAB_STOPS_OFF in once and not book_pages.THEME_TAB_STOPS.search(once)
    assert len(once) < len(shipped) and "scrollWidth>e.clientWidth" in once  # the function stays, unused
    book_pages.drop_theme_tab_stops(scripts.parents[1])
    assert (scripts / "pydata-sphinx-theme.js").read_text(encoding="utf-8") == once
    (scripts / "pydata-sphinx-theme.js").write_text("function I(){}", encoding="utf-8")
    with pytest.raises(RuntimeError, match="found 0 times, expected once"):
        book_pages.drop_theme_tab_stops(scripts.parents[1])


def test_the_themes_start_up_functions_each_get_a_task_of_their_own(tmp_path):
    """book_pages.split_theme_start edits the theme's script as installed: its start-up helper is
    found exactly once and made to schedule each function (setTimeout) instead of calling it at
    once; the rewritten script still parses; a second run changes nothing; a script without the
    helper fails loudly."""
    import pydata_sphinx_theme

    spec = importlib.util.spec_from_file_location("book_pages", ROOT / "book" / "_ext" / "book_pages.py")
    book_pages = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(book_pages)
    shipped = (pathlib.Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static"
               / "scripts" / "pydata-sphinx-theme.js").read_text(encoding="utf-8")
    assert shipped.count(book_pages.THEME_READY) == 1
    scripts = tmp_path / "_static" / "scripts"
    scripts.mkdir(parents=True)
    path = scripts / "pydata-sphinx-theme.js"
    path.write_text(shipped, encoding="utf-8")
    book_pages.split_theme_start(tmp_path)
    once = path.read_text(encoding="utf-8")
    assert book_pages.THEME_READY not in once and once.count(book_pages.THEME_READY_SPLIT) == 1
    assert once.replace(book_pages.THEME_READY_SPLIT, book_pages.THEME_READY) == shipped
    node = shutil.which("node")
    if node:  # the edited script is still JavaScript
        done = subprocess.run([node, "--check", str(path)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    book_pages.split_theme_start(tmp_path)
    assert path.read_text(encoding="utf-8") == once
    path.write_text("function e(e){e()}", encoding="utf-8")
    with pytest.raises(RuntimeError, match="found 0 times, expected once"):
        book_pages.split_theme_start(tmp_path)


def test_bootstrap_waits_for_the_reader_and_nothing_else_does():
    """book_pages.touch_scripts: the theme's bootstrap.js, copybutton.js and clipboard.min.js become
    inert scripts naming their files (book.js loads them at the reader's first touch); every other
    script stays as it was, and a page without book.js, which would never load them, keeps
    bootstrap.js as it was."""
    spec = importlib.util.spec_from_file_location("book_pages", ROOT / "book" / "_ext" / "book_pages.py")
    book_pages = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(book_pages)
    boot = '<script defer src="../_static/scripts/bootstrap.js?digest=55c2"></script>'
    theme = '<script defer src="../_static/scripts/pydata-sphinx-theme.js?digest=55c2"></script>'
    book = '<script defer src="../_static/book.js?v=1"></script>'
    clip = '<script defer src="../_static/clipboard.min.js?v=a789"></script>'
    copy = '<script defer src="../_static/copybutton.js?v=f281"></script>'
    page = f"<head>{boot}\n{theme}\n{clip}\n{copy}\n{book}</head>"
    out = book_pages.touch_scripts(page)
    assert boot not in out and clip not in out and copy not in out and theme in out and book in out
    inert = [f'<script type="text/x-sa-on-touch" data-src="../_static/{name}"></script>'
             for name in ("scripts/bootstrap.js?digest=55c2", "clipboard.min.js?v=a789",
                          "copybutton.js?v=f281")]
    assert all(tag in out for tag in inert), out
    assert out.index(inert[1]) < out.index(inert[2])  # book.js loads them in this order
    assert book_pages.touch_scripts(out) == out
    alone = f"<head>{boot}\n{theme}</head>"
    assert book_pages.touch_scripts(alone) == alone


def test_an_explorers_states_move_into_a_file_of_their_own(tmp_path):
    """book_pages.move_explorer_states: each payload goes to _static/explorer-states/<key>.js
    (one file for two equal payloads), which sets window.saStates[key] to exactly the payload;
    the page keeps an empty script naming the file relative to itself; a payload that is not
    JSON fails the build."""
    import json

    spec = importlib.util.spec_from_file_location("book_pages", ROOT / "book" / "_ext" / "book_pages.py")
    book_pages = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(book_pages)
    payload = json.dumps({"states": ["<td>1<\\/td>"], "index": [0]}, separators=(",", ":"))
    script = f'<script type="application/json" class="sa-data">{payload}</script>'
    page = f'<div class="sa-explorer">{script}</div><p>text</p><div class="sa-explorer">{script}</div>'
    moved = book_pages.move_explorer_states(tmp_path, "zh/chapters/02.html", page)
    files = list((tmp_path / "_static" / "explorer-states").glob("*.js"))
    assert len(files) == 1 and payload not in moved and "<p>text</p>" in moved
    key = files[0].stem
    assert moved.count(f'data-key="{key}" data-src="../../_static/explorer-states/{key}.js"></script>') == 2
    head, body = files[0].read_text(encoding="utf-8").split("] = ", 1)
    assert head == f'(window.saStates = window.saStates || {{}})["{key}"' and body == payload + ";\n"
    with pytest.raises(json.JSONDecodeError):
        book_pages.move_explorer_states(tmp_path, "a.html", script.replace(payload, "{not json"))


def test_code_tokens_coloured_like_plain_text_lose_their_spans_and_keep_their_colour(tmp_path):
    """book_pages.plain_token_classes reads Sphinx's pygments.css as it writes it (both modes):
    a class whose only style is its mode's code colour, in every mode, is plain; one with another
    colour in one mode, or a second property, is not. unwrap_plain_tokens drops those spans from
    code cells only (an output's block keeps everything) and keeps the text; plain_code_css gives
    the code block that colour once, however often it runs."""
    import html

    from pygments.formatters import HtmlFormatter

    spec = importlib.util.spec_from_file_location("book_pages", ROOT / "book" / "_ext" / "book_pages.py")
    book_pages = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(book_pages)
    other = {"light": "#00622F", "dark": "#F8F8F2"}  # operators: coloured in the light mode only
    css = "\n".join(f'html[data-theme="{mode}"] .highlight {{ background: #fff; color: {base} }}\n'
                    f'html[data-theme="{mode}"] .highlight .n {{ color: {base} }} /* Name */\n'
                    f'html[data-theme="{mode}"] .highlight .o {{ color: {other[mode]} }}\n'
                    f'html[data-theme="{mode}"] .highlight .k {{ color: {base}; font-weight: bold }}\n'
                    for mode, base in (("light", "#080808"), ("dark", "#F8F8F2")))
    assert book_pages.plain_token_classes(css) == ({"n"}, {"light": "#080808", "dark": "#F8F8F2"})
    # the real style sheet as this Sphinx writes it: names and punctuation are plain, operators not
    styles = (("light", "a11y-high-contrast-light"), ("dark", "a11y-high-contrast-dark"))  # the theme's
    shipped = "\n".join(HtmlFormatter(style=s).get_style_defs(f'html[data-theme="{m}"] .highlight')
                        for m, s in styles)
    plain, _ = book_pages.plain_token_classes(shipped)
    assert {"n", "p"} <= plain and "o" not in plain and "k" not in plain

    code = ('<div class="highlight-ipython3 notranslate"><div class="highlight"><pre><span></span>'
            '<span class="n">x</span> <span class="o">=</span> <span class="n">f</span>'
            '<span class="p">(</span><span class="mi">1</span><span class="p">)</span></pre></div></div>')
    output = '<div class="highlight"><pre><span class="n">kept</span></pre></div>'
    page = code + "<p>between</p>" + output
    light = book_pages.unwrap_plain_tokens(page, {"n", "p"})
    assert '<span class="n">' not in light.split("<p>")[0] and output in light
    assert '<span class="o">=</span>' in light and '<span class="mi">1</span>' in light
    text = lambda s: html.unescape(re.sub(r"<[^>]+>", "", s))  # noqa: E731
    assert text(light) == text(page) and book_pages.unwrap_plain_tokens(light, {"n", "p"}) == light

    static = tmp_path / "_static"
    static.mkdir()
    (static / "pygments.css").write_text(shipped, encoding="utf-8")
    assert book_pages.plain_code_css(tmp_path) == plain
    once = (static / "pygments.css").read_text(encoding="utf-8")
    assert book_pages.plain_code_css(tmp_path) == plain
    assert (static / "pygments.css").read_text(encoding="utf-8") == once
    assert once.count('div[class^="highlight-"] > .highlight > pre { color:') == 2
