"""The explorer's script and style sheet (utils/static/) are package data: a wheel built from
this repository holds them, and the package installed from it (as Colab's `pip install` of the
repository does) finds and inlines them."""

from __future__ import annotations

import pathlib
import site
import subprocess
import sys
import textwrap
import zipfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
STATIC = sorted(p.name for p in (ROOT / "utils" / "static").iterdir() if p.suffix in (".js", ".css"))


def run(*args, **kw):
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_installed_wheel_holds_and_inlines_the_static_files(tmp_path):
    assert STATIC == ["explorer.css", "explorer.js"]
    # Build from a copy, so that the build leaves nothing (build/, *.egg-info) in the repository.
    source = tmp_path / "src"
    files = run("git", "-C", ROOT, "ls-files", "pyproject.toml", "README.md", "utils").split()
    for name in set(files) | {f"utils/static/{n}" for n in STATIC}:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes((ROOT / name).read_bytes())
    wheels = tmp_path / "wheels"
    run(sys.executable, "-m", "pip", "wheel", source, "--no-deps", "--no-build-isolation", "-q", "-w", wheels)
    (wheel,) = wheels.glob("seeing_attention-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for name in STATIC:
        assert f"utils/static/{name}" in names, f"{name} is not in the wheel: {names}"
    # the Chinese output catalogs (utils.i18n reads them in a Chinese reader notebook on Colab)
    assert "utils/locales/zh_CN/utils.po" in names and len([n for n in names if n.endswith(".po")]) >= 16

    # A fresh venv with the wheel alone; its dependencies (numpy, matplotlib) come from this
    # environment's site-packages, added after the venv's own (so `utils` is the wheel's).
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel)
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    venv_site = pathlib.Path(run(python, "-c", purelib).strip())
    assert (venv_site / "utils" / "static" / "explorer.js").is_file()
    (venv_site / "zz_deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    check = textwrap.dedent("""
        import pathlib, sys, utils
        from utils.explorer import Explorer, Heatmap, Slider
        here = pathlib.Path(utils.__file__).parent
        assert str(here).startswith(sys.prefix), here  # the installed copy, not the repository
        js = (here / "static" / "explorer.js").read_text(encoding="utf-8")
        css = (here / "static" / "explorer.css").read_text(encoding="utf-8")
        page = Explorer(lambda a: [Heatmap([[a, 1 - a]], weights=True)], [Slider("a", [0.0, 1.0])],
                        name="wheel-test").static_html()
        assert "<script>" + js + "</script>" in page and "<style>" + css + "</style>" in page
        print(here)
    """)
    out = run(python, "-I", "-c", check, cwd=tmp_path)
    assert out.strip().startswith(str(venv)), out


MACHINERY = ("Used by every explorer", "Used by every output translation", "Used by every claim about a run")


def test_every_public_function_and_class_in_utils_names_its_chapter():
    """As d2l's library does: each public definition says where the book teaches it (or that it
    is the explorers', the Chinese edition's or the claims' machinery, which no chapter teaches)."""
    import ast
    import re

    missing = []
    for path in sorted((ROOT / "utils").glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                doc = ast.get_docstring(node) or ""
                taught = re.search(r"Taught in chapter (\d+) \((\d\d)_\w+\)\.", doc)
                if taught:
                    assert int(taught.group(1)) == int(taught.group(2)), (path.name, node.name)
                elif not any(used in doc for used in MACHINERY):
                    missing.append(f"{path.name}:{node.name}")
    assert not missing, f"public definitions that name no chapter: {missing}"
