"""The Chinese reader notebook draws Chinese figures on Colab, which has no CJK font.

Colab's runtime has matplotlib but no font with Chinese glyphs, so without help a Chinese reader
notebook would keep its figures in English (``utils.i18n.translated_figure`` does, where no CJK
font exists). The language cell that ``scripts/reader_notebooks.py`` adds to every Chinese
notebook therefore installs one from PyPI on Colab: ``utils.i18n.PIP_FONT`` (mplfonts, which
ships Noto Sans CJK SC under the SIL Open Font License), with ``--no-deps`` so that none of
Colab's packages is upgraded; ``utils.i18n`` then registers the Noto file with matplotlib.

This test runs that cell, as generated, in the Colab-versions environment (``.venv-colab``,
matplotlib 3.10.0, built by ``make test``), with Colab imitated: ``google.colab`` importable,
every CJK font of this machine hidden from matplotlib, and ``%pip install`` going to a fresh
folder. Then a figure is drawn in Chinese: its title must be Chinese, resolve to the Noto CJK
file and draw without a missing-glyph warning. The wheel (85 MB) is downloaded once from PyPI
into ``~/.cache/seeing-attention/wheels`` (``SA_WHEEL_CACHE`` to change it) and reused: the
first run needs the network (GitHub Actions has it), later runs take a few seconds.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from utils import i18n

ROOT = pathlib.Path(__file__).resolve().parents[1]
COLAB_PYTHON = ROOT / ".venv-colab" / "bin" / "python"
NOTEBOOK = ROOT / "notebooks" / "zh" / "02_softmax_xxt.ipynb"
CACHE = pathlib.Path(os.environ.get(
    "SA_WHEEL_CACHE", pathlib.Path.home() / ".cache" / "seeing-attention" / "wheels"))

# Runs in the Colab-versions python: argv = the cell's source file, the wheel folder, a fresh
# install folder. Prints one JSON line with what matplotlib did.
COLAB = r'''
import json, shlex, subprocess, sys, types, warnings

cell_file, wheels, target = sys.argv[1:4]
sys.modules["google.colab"] = types.ModuleType("google.colab")  # what the cell asks: are we on Colab?

from matplotlib import font_manager

import utils.i18n as i18n

# Colab has no CJK font: hide this machine's from matplotlib (its font list and the Debian file).
font_manager.fontManager.ttflist = [f for f in font_manager.fontManager.ttflist
                                    if "CJK" not in f.name and "WenQuanYi" not in f.name]
i18n.CJK_FONT_FILES = ()
assert not i18n.has_cjk_font(), "a CJK font is still visible"

class Shell:  # %pip in the cell: pip of this environment, into a folder on sys.path (Colab's site)
    def run_line_magic(self, name, line):
        assert name == "pip", name
        args = shlex.split(line)
        assert args[:1] == ["install"] and "--no-deps" in args, args
        subprocess.run([sys.executable, "-m", "pip", *args, "--no-index", "--find-links", wheels,
                        "--target", target, "--disable-pip-version-check"], check=True)
        sys.path.append(target)

from IPython.core.inputtransformer2 import TransformerManager

code = TransformerManager().transform_cell(open(cell_file, encoding="utf-8").read())
exec(code, {"get_ipython": Shell, "__name__": "__main__"})

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

fig, ax = plt.subplots()
ax.plot([0, 1], [0, 1])
ax.set_title("weights")
with warnings.catch_warnings(record=True) as caught, i18n.translated_figure(fig, "zh_CN"):
    warnings.simplefilter("always")
    fig.canvas.draw()
    title = ax.title
    # matplotlib draws each character with the first font of the title's families that has it
    from matplotlib.ft2font import FT2Font
    chain = []
    for family in title.get_fontfamily():
        try:
            chain.append(font_manager.findfont(font_manager.FontProperties(family=family),
                                               fallback_to_default=False))
        except ValueError:
            pass
    fonts = {c: next((f for f in chain if FT2Font(f).get_char_index(ord(c))), None)
             for c in title.get_text()}
    print(json.dumps({"title": title.get_text(), "family": title.get_fontfamily(), "fonts": fonts,
                      "warnings": [str(w.message) for w in caught], "cjk": i18n._cjk_fonts(),
                      "matplotlib": matplotlib.__version__}))
'''


def language_cell() -> str:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    cells = [c for c in nb["cells"] if c["id"].endswith("-lang")]
    assert len(cells) == 1, "the Chinese notebook has no language cell"
    return "".join(cells[0]["source"])


def cached_wheel() -> pathlib.Path:
    name = i18n.PIP_FONT.replace("==", "-") + "-py3-none-any.whl"
    if not (CACHE / name).exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", i18n.PIP_FONT,
                        "-d", str(CACHE)], check=True)
    assert (CACHE / name).exists(), f"{name} not in {CACHE}"
    return CACHE / name


def test_the_chinese_notebook_installs_a_cjk_font_on_colab_only():
    cell = language_cell()
    assert f"%pip install -q --no-deps {i18n.PIP_FONT}" in cell
    assert 'if "google.colab" in sys.modules and not utils.i18n.has_cjk_font():' in cell


def test_the_chinese_notebook_draws_chinese_with_colabs_versions(tmp_path):
    if not COLAB_PYTHON.exists():
        pytest.fail(f"{COLAB_PYTHON} is missing: `make test` builds the Colab-versions environment")
    wheels = cached_wheel().parent
    (tmp_path / "cell.py").write_text(language_cell(), encoding="utf-8")
    (tmp_path / "colab.py").write_text(COLAB, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLCONFIGDIR": str(tmp_path / "mpl")}
    run = subprocess.run([str(COLAB_PYTHON), str(tmp_path / "colab.py"), str(tmp_path / "cell.py"),
                          str(wheels), str(tmp_path / "site")],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    found = json.loads(run.stdout.strip().splitlines()[-1])
    assert found["matplotlib"] == "3.10.0", found
    assert found["title"] == i18n.translate("weights", "zh_CN") != "weights", found
    assert found["cjk"] == ["Noto Sans CJK SC"], found
    drawn_with = {c: f and pathlib.Path(f).name for c, f in found["fonts"].items()}
    assert set(drawn_with.values()) == {"NotoSansCJKsc-Regular.otf"}, drawn_with
    assert (tmp_path / "site" / "mplfonts").is_dir() and not (tmp_path / "site" / "matplotlib").exists()
    assert not [w for w in found["warnings"] if "missing from font" in w], found["warnings"]
