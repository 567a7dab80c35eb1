"""The package's own definitions say where the book teaches them. (That the wheel holds the
package data, the explorer's script and style sheet and the output catalogs, and that the
package installed from it finds and inlines them: tests/test_release.py.)"""

from __future__ import annotations

import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]


MACHINERY = ("Used by every explorer", "Used by every output translation", "Used by every claim about a run")


def test_every_public_function_and_class_in_utils_names_its_chapter():
    """As d2l's library does: each public definition says where the book teaches it (or that it
    is the explorers', the Chinese edition's or the claims' machinery, which no chapter teaches)."""
    import ast
    import re

    missing = []
    for path in sorted((ROOT / "utils").rglob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                doc = ast.get_docstring(node) or ""
                taught = re.search(r"Taught in chapter (\d+) \((\d\d)_\w+\)\.", doc)
                if taught:
                    assert int(taught.group(1)) == int(taught.group(2)), (path.name, node.name)
                elif not any(used in doc for used in MACHINERY):
                    missing.append(f"{path.name}:{node.name}")
    assert not missing, f"public definitions that name no chapter: {missing}"
