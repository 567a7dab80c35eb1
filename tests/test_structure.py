"""The house's map and its import arrows, checked against the files.

- CONTRIBUTING.md's tree names every module, script, extension and package folder, and only
  files that exist: it cannot go stale without this test failing.
- ``utils/__init__.py``'s docstring names every module and sub-package of ``utils``.
- Imports run one way: the modules the chapters teach import nothing of the book's machinery
  (``utils.explorer``, ``utils.i18n``) and only the leaf ``utils.style`` besides each other;
  ``utils.style`` imports nothing of the book; no circle anywhere in ``utils``; no module imports
  part of ``utils`` inside a function (a lazy import that would hide a circle).
- Importing a taught module runs nothing else: ``import utils.attention`` loads no other module
  of ``utils`` (no output hook, no explorer).
"""

from __future__ import annotations

import ast
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
UTILS = ROOT / "utils"
TAUGHT = {"attention", "layers", "decoder", "induction", "pretrained", "rope", "flash", "window", "latent",
          "tasks", "training", "timing", "plotting", "claims"}
MACHINERY = {"style", "explorer", "i18n", "minilm_web"}


def contributing_tree() -> dict:
    """{path: line} for every entry of CONTRIBUTING.md's first code block. An entry is a line
    indented by 0, 2 or 4 spaces (two per level) whose first word is a name; deeper-indented
    lines continue the description above them."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    block = text.split("```\n", 2)[1]
    entries, parents = {}, []
    for line in block.splitlines():
        match = re.match(r"( *)([\w.-]+/?)(?:\s|$)", line)
        if not match or len(match.group(1)) not in (0, 2, 4):
            continue
        name = match.group(2)
        if "." not in name and not name.endswith("/"):  # a word of a description, not a name
            continue
        depth = len(match.group(1)) // 2
        parents = parents[:depth] + [name.rstrip("/")]
        entries["/".join(parents)] = line
    return entries


def test_the_contributing_tree_names_every_module_and_only_real_files():
    tree = contributing_tree()
    missing_files = [path for path in tree if not (ROOT / path).exists()]
    assert not missing_files, f"CONTRIBUTING.md's tree names files that do not exist: {missing_files}"
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    wanted = set()
    for path in tracked:
        parts = pathlib.PurePosixPath(path).parts
        if len(parts) > 1 and not parts[0].startswith("."):
            wanted.add(parts[0])  # every top-level folder
        if parts[0] in ("utils", "scripts", "bench") or parts[:2] == ("book", "_ext"):
            if path.endswith((".py", ".cjs")) and not path.endswith("__init__.py"):
                wanted.add(path)
            if parts[0] == "utils" and len(parts) > 2:
                wanted.add("/".join(parts[:2]))  # a sub-package of utils
    unnamed = sorted(w for w in wanted if w not in tree)
    assert not unnamed, f"CONTRIBUTING.md's tree does not name: {unnamed}"


def test_the_package_docstring_names_every_module():
    import utils

    named = set(re.findall(r"``utils\.(\w+)``", utils.__doc__))
    real = {p.stem for p in UTILS.glob("*.py") if p.stem != "__init__"}
    real |= {p.name for p in UTILS.iterdir() if (p / "__init__.py").is_file()}
    assert named == real, f"utils/__init__.py names {sorted(named - real)} that do not exist, " \
                          f"and not {sorted(real - named)}"
    assert real == TAUGHT | MACHINERY, "a new module: add it to TAUGHT or MACHINERY here"


def utils_imports() -> dict:
    """{module: [(imported utils module, line, inside a function?)]} for every module of utils,
    a sub-package counted as one module (utils.explorer.core -> "explorer")."""
    graph = {}
    for path in sorted(UTILS.rglob("*.py")):
        rel = path.relative_to(UTILS).with_suffix("").parts
        module = rel[0] if rel[0] != "__init__" else "utils"
        package = ["utils", *rel[:-1]]  # what a relative import is relative to
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = {id(node) for node in tree.body}
        found = graph.setdefault(module, [])
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else []
                full = ".".join(base + ([node.module] if node.module else []))
                names = [full + "." + a.name if full == "utils" else full for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] == "utils" and len(parts) > 1 and parts[1] != module:
                    found.append((parts[1], node.lineno, id(node) not in top))
    return graph


def test_imports_run_one_way_with_no_circle_and_no_lazy_import():
    graph = utils_imports()
    lazy = [(m, name, line) for m, edges in graph.items() for name, line, inside in edges if inside]
    assert not lazy, f"imports of utils inside a function (a circle hidden?): {lazy}"
    for module in TAUGHT:
        wrong = [(name, line) for name, line, _ in graph[module] if name in MACHINERY - {"style"}]
        assert not wrong, f"utils.{module} (taught) imports the book's machinery: {wrong}"
    assert not graph["style"], f"utils.style must be a leaf: {graph['style']}"
    edges = {m: {name for name, _, _ in e} for m, e in graph.items()}

    def reach(start):
        seen, todo = set(), [start]
        while todo:
            for nxt in edges.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    circles = sorted(m for m in edges if m in reach(m))
    assert not circles, f"modules in an import circle: {circles} ({ {m: sorted(edges[m]) for m in circles} })"
    assert "plotting" in edges["explorer"] and "style" in edges["plotting"]  # the arrows this test reads


def test_importing_a_taught_module_runs_nothing_else():
    code = "import sys, utils.attention; print(sorted(m for m in sys.modules if m.startswith('utils')))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["['utils',", "'utils.attention']"], out.stdout
