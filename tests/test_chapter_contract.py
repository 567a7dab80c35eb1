"""The chapter contract that can be checked on the sources (and one check on the built pages).

- Chapter files are numbered 1, 2, 3, ... in the order of the table of contents, and every title,
  label and explorer name carries its chapter's number.
- No Python code sits in a chapter's Markdown: code that a solution needs is a real cell between
  sphinx-exercise's gated ``solution-start`` / ``solution-end``, so it runs at every build.
- A solution's code runs in its own scope: at top level a solution cell only defines functions
  and calls them, so it cannot overwrite the chapter's variables.
- Every bibliography entry is cited somewhere in the book.
"""

from __future__ import annotations

import ast
import json
import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))
# [ \t], not \s: a fence and its info string are on one line (\s would run into the next line)
FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*(\S*)", re.MULTILINE)
CODE_INFO = {"", "python", "py", "python3", "ipython", "ipython3", "pycon", "{code-block}",
             "{code-cell}", "{code}", "{literalinclude}"}


def cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def source(cell):
    return "".join(cell["source"])


def toc_chapters():
    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text(encoding="utf-8"))
    return [c["file"] for part in toc["parts"] for c in part["chapters"]
            if c["file"].startswith("chapters/")]


def test_chapter_files_are_numbered_one_to_n_in_toc_order():
    numbers = [int(pathlib.Path(f).name[:2]) for f in toc_chapters()]
    assert numbers == list(range(1, len(numbers) + 1)), f"chapter numbers in toc order: {numbers}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_title_labels_and_explorer_names_carry_the_chapter_number(path):
    number = int(path.name[:2])
    text = "\n".join(source(c) for c in cells(path))
    title = source(cells(path)[0])
    assert title.startswith(f"# {number}. "), f"{path.name}: title {title.splitlines()[0]!r}"
    tags = re.findall(r":label:\s*(?:eq-)?ch(\d\d)-", text) + re.findall(r'name="ch(\d\d)-', text)
    assert tags, f"{path.name}: no chNN- label or explorer name"
    wrong = sorted({t for t in tags if int(t) != number})
    assert not wrong, f"{path.name}: labels or explorer names of chapter(s) {wrong}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_code_block_in_chapter_markdown(path):
    for i, cell in enumerate(cells(path)):
        if cell["cell_type"] != "markdown":
            continue
        stack = []
        for m in FENCE.finditer(source(cell)):
            fence, info = m.group(1), m.group(2)
            if not info and stack and fence[0] == stack[-1][0] and len(fence) >= len(stack[-1]):
                stack.pop()  # a closing fence
                continue
            assert info.lower() not in CODE_INFO, (
                f"{path.name}, cell {i}: a code block ({fence}{info}) in Markdown; make it a code "
                "cell (between solution-start and solution-end if it belongs to a solution)")
            stack.append(fence)


def gated_solutions(path):
    """[(label, [code cell sources])] for every solution-start ... solution-end in the notebook."""
    found, current = [], None
    for i, cell in enumerate(cells(path)):
        text = source(cell)
        if cell["cell_type"] == "markdown":
            # markers in the order they appear: one cell may end a solution and start the next
            for m in re.finditer(r"\{solution-(start|end)\}[ \t]*(\S*)", text):
                if m.group(1) == "start":
                    assert current is None, f"{path.name}, cell {i}: solution-start inside another"
                    current = (m.group(2), [])
                else:
                    assert current is not None, f"{path.name}, cell {i}: solution-end without a start"
                    found.append(current)
                    current = None
        elif current is not None:
            current[1].append(text)
    assert current is None, f"{path.name}: solution-start {current[0]} is never closed"
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_solution_code_runs_in_its_own_scope(path):
    for label, codes in gated_solutions(path):
        assert codes, f"{path.name}: gated solution {label} has no code cell (use {{solution}})"
        for code in codes:
            tree = ast.parse(code)
            defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
            for node in tree.body:
                if isinstance(node, ast.FunctionDef):
                    continue
                is_call = (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
                           and isinstance(node.value.func, ast.Name) and node.value.func.id in defined)
                assert is_call, (f"{path.name}, solution {label}: top-level `{ast.unparse(node)[:60]}`;"
                                 " put it inside the solution's function")


def test_every_bibliography_entry_is_cited():
    keys = re.findall(r"^@\w+\{([^,\s]+),", (ROOT / "book" / "references.bib").read_text(encoding="utf-8"),
                      re.MULTILINE)
    assert keys
    texts = [p.read_text(encoding="utf-8") for p in NOTEBOOKS] + [
        p.read_text(encoding="utf-8") for p in (ROOT / "book").glob("*.md")]
    cited = set()
    for text in texts:
        for group in re.findall(r"\{cite(?::[a-z]+)?\}`([^`]+)`", text):
            cited.update(k.strip() for k in group.split(","))
    uncited = [k for k in keys if k not in cited]
    assert not uncited, f"bibliography entries cited nowhere: {uncited}"


def test_glossary_has_the_taxonomy_terms():
    glossary = (ROOT / "book" / "glossary.md").read_text(encoding="utf-8")
    for term in ["对齐函数", "上下文向量"]:
        assert term in glossary, f"glossary lacks {term}"


def test_solutions_with_code_show_their_outputs_folded(chapter_pages):
    n = 0
    for path in chapter_pages:
        html = path.read_text(encoding="utf-8")
        for block in re.split(r'<div class="solution ', html)[1:]:
            head = block[:200]
            body = block.split("</section>", 1)[0]
            if 'class="cell docutils container' not in body:
                continue
            n += 1
            assert head.startswith("dropdown"), f"{path.name}: a solution with code is not folded"
            assert 'class="cell_output' in body, f"{path.name}: a solution's code shows no output"
    assert n >= 10, f"only {n} solutions with code on the built pages"


# -- no check that only prints ---------------------------------------------------------------
# A printed True/False is not a check: a cell that prints the verdict of a comparison must also
# assert it (or hand it to utils.claims.check), so that the build fails when it comes out False.
VERDICT_CALLS = {"allclose", "isclose", "array_equal", "array_equiv", "equal", "isin"}
PASS_THROUGH = {"all", "any", "bool", "item"}  # calls that keep a verdict a verdict


def _key(node) -> str:
    return ast.dump(node, annotate_fields=False, include_attributes=False)


def _call_name(node) -> str | None:
    if isinstance(node, ast.Call):
        f = node.func
        return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
    return None


def _verdicts(expr):
    """The sub-expressions of a printed expression whose value is the verdict of a comparison."""
    if isinstance(expr, ast.JoinedStr):
        for part in expr.values:
            if isinstance(part, ast.FormattedValue):
                yield from _verdicts(part.value)
    elif isinstance(expr, ast.Compare) or _call_name(expr) in VERDICT_CALLS:
        yield expr
    elif isinstance(expr, ast.BoolOp):
        for value in expr.values:
            yield from _verdicts(value)
    elif isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.Not):
        yield from _verdicts(expr.operand)
    elif _call_name(expr) in PASS_THROUGH:
        method = isinstance(expr.func, ast.Attribute)
        inner = expr.args[0] if expr.args else expr.func.value if method else None
        if isinstance(inner, (ast.GeneratorExp, ast.ListComp)):
            inner = inner.elt
        if inner is not None:
            yield from _verdicts(inner)
    elif isinstance(expr, ast.Constant) and isinstance(expr.value, bool):
        yield expr  # a verdict typed in by hand
    elif isinstance(expr, ast.Name):
        yield expr


def _parse(code: str):
    lines = [line[: len(line) - len(line.lstrip())] + "pass  # magic" if line.lstrip().startswith(("%", "!"))
             else line for line in code.splitlines()]
    return ast.parse("\n".join(lines))


def print_only_checks(code: str) -> list[str]:
    """The printed comparisons of one code cell that no assert or claims.check in it checks."""
    tree = _parse(code)
    verdict_names, checked, checked_names = set(), set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(not isinstance(v, ast.Name) for v in _verdicts(node.value)):
            verdict_names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        guarded = (node.test if isinstance(node, ast.Assert) else
                   ast.Tuple(elts=node.args + [k.value for k in node.keywords], ctx=ast.Load())
                   if _call_name(node) == "check" else None)
        if guarded is not None:
            for sub in ast.walk(guarded):
                checked.add(_key(sub))
                if isinstance(sub, ast.Name):
                    checked_names.add(sub.id)
    unchecked = []
    for node in ast.walk(tree):
        if _call_name(node) != "print":
            continue
        for arg in node.args:
            for verdict in _verdicts(arg):
                if isinstance(verdict, ast.Constant):
                    unchecked.append(f"{verdict.value} typed into the print")
                elif isinstance(verdict, ast.Name):
                    if verdict.id in verdict_names and verdict.id not in checked_names:
                        unchecked.append(verdict.id)
                elif _key(verdict) not in checked:
                    unchecked.append(ast.unparse(verdict))
    return unchecked


def test_the_print_only_rule_catches_a_printed_verdict_and_passes_an_asserted_one():
    assert print_only_checks('print("symmetric:", np.allclose(S, S.T))') == ["np.allclose(S, S.T)"]
    assert print_only_checks('print(f"same: {a == b}")') == ["a == b"]
    assert print_only_checks('same = torch.allclose(x, y)\nprint(same)') == ["same"]
    assert print_only_checks('print("all:", (a == b).all())') == ["a == b"]
    assert print_only_checks('print("sym:", np.allclose(S, S.T))\nassert np.allclose(S, S.T)') == []
    assert print_only_checks('same = torch.allclose(x, y)\nprint(same)\nassert same') == []
    assert print_only_checks('print(ok := a < b)\nclaims.check(a < b, "a below b", a=a)') == []
    assert print_only_checks('print("zeros:", int((h == 0).sum()))') == []  # a count, not a verdict
    assert print_only_checks('print("ok:", bool(np.all(a.argmax(1) == b)))') == ["a.argmax(1) == b"]
    assert print_only_checks('print("equal:", True)') == ["True typed into the print"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_code_cell_prints_a_comparison_without_checking_it(path):
    found = [f"cell {i}: {v}" for i, c in enumerate(cells(path)) if c["cell_type"] == "code"
             for v in print_only_checks(source(c))]
    assert not found, f"{path.name}: printed comparisons nobody checks: {found}"
