"""The repository's own files: notebooks without outputs, every chapter in the table of
contents, the Binder environment in step with pyproject.toml, nothing vendored committed; the
licences, the citation, the workflows, and where the book lives (named once)."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import re
import shutil
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


# ----------------------------------------------------------------------------- where the book lives


def book_address():
    spec = importlib.util.spec_from_file_location("book_address", ROOT / "scripts" / "book_address.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_book_lives_at_one_address():
    """The repository URL and the site address are written once, in book/_config.yml; every
    copy (set-up cells, reader notebooks, README, CITATION.cff, project.urls) agrees with it
    (the launch buttons and footer links are made from it: tests/test_book_built.py)."""
    problems = book_address().check(ROOT)
    assert not problems, "copies of where the book lives disagree with book/_config.yml " \
        "(a fork: run scripts/book_address.py):\n" + "\n".join(problems[:20])


def copy_text_files(module, target):
    for rel in module.text_files(ROOT):
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / rel, target / rel)


def test_a_copy_of_the_address_changed_by_hand_is_caught(tmp_path):
    """The check of the check: in a copy of the repository, each hand edit of one copy of the
    address is reported, naming its file; a fork that edits _config.yml alone is reported
    everywhere, and scripts/book_address.py then rewrites every copy until none disagrees."""
    module = book_address()
    copy = tmp_path / "repo"
    copy_text_files(module, copy)
    assert module.check(copy) == []
    repo, site = module.addresses(copy)
    slug = repo.split("github.com/")[1]
    elsewhere_repo = repo.replace(slug.split("/")[0], "a-fork", 1)
    elsewhere_site = "https://example.org/attention-book/"
    chapter = sorted((copy / "chapters").glob("*.ipynb"))[3].relative_to(copy).as_posix()
    notebook = sorted((copy / "notebooks" / "zh").glob("*.ipynb"))[5].relative_to(copy).as_posix()
    edits = [  # (file, old, new): one copy changed by hand
        ("README.md", repo, elsewhere_repo),
        ("README.md", site, elsewhere_site),
        (chapter, f"git+{repo}", f"git+{elsewhere_repo}"),
        (notebook, site, elsewhere_site),
        ("CITATION.cff", f'url: "{site}"', f'url: "{elsewhere_site}"'),
        ("CITATION.cff", repo, elsewhere_repo),
        ("pyproject.toml", f'Homepage = "{site}"', f'Homepage = "{elsewhere_site}"'),
        ("pyproject.toml", f'Issues = "{repo}/issues"', f'Issues = "{elsewhere_repo}/issues"'),
        ("postBuild", "-e .", f"-e git+{repo}"),
        ("environment.yml", "  - pip\n", f"  - pip\n  # see {site}\n"),
        ("book/intro.md", "## How to cite\n", f"## How to cite\n\n<{repo.replace(slug, slug + '-old')}>\n"),
    ]
    for rel, old, new in edits:
        path = copy / rel
        text = path.read_text(encoding="utf-8")
        assert old in text, (rel, old)
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        problems = module.check(copy)
        path.write_text(text, encoding="utf-8")
        assert problems, f"a hand edit of {rel} ({old!r} -> {new!r}) was not caught"
        assert all(p.startswith(rel) for p in problems), (rel, problems)
    assert module.check(copy) == []
    # ... and what is not a copy of the address is not reported: another site on github.io, a
    # repository of someone else's, a page that is not the book's
    readme = copy / "README.md"
    text = readme.read_text(encoding="utf-8")
    readme.write_text(text + "\n<https://jalammar.github.io/illustrated-transformer/>, "
                      "<https://github.com/pytorch/pytorch/pull/131863>, <https://example.org/book/intro.htm>\n",
                      encoding="utf-8")
    assert module.check(copy) == []
    readme.write_text(text, encoding="utf-8")

    # A fork: only _config.yml changes. Every copy is reported, then rewritten.
    config = copy / "book" / "_config.yml"
    fork_repo, fork_site = elsewhere_repo.replace("seeing-attention", "attention-book"), elsewhere_site
    config.write_text(config.read_text(encoding="utf-8").replace(repo, fork_repo).replace(site, fork_site),
                      encoding="utf-8")
    reported = {p.split(":")[0] for p in module.check(copy)}
    assert {"README.md", "CITATION.cff", "pyproject.toml", chapter, notebook} <= reported, sorted(reported)
    changed = {p.as_posix() for p in module.rewrite(copy)}
    assert {"README.md", "CITATION.cff", "pyproject.toml", chapter, notebook} <= changed
    assert module.check(copy) == []
    readme = (copy / "README.md").read_text(encoding="utf-8")
    assert repo not in readme and fork_repo in readme and fork_site in readme


# ----------------------------------------------------------------------------- licences and citation


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_licence_files_cover_code_and_text_and_the_metadata_says_so():
    mit = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert mit.startswith("MIT License") and "THE SOFTWARE IS PROVIDED \"AS IS\"" in mit
    cc = (ROOT / "LICENSE-CC-BY-SA-4.0").read_text(encoding="utf-8")
    for words in ("Creative Commons Attribution-ShareAlike 4.0 International Public License",
                  "Section 3 – License Conditions.", "Section 8 – Interpretation.",
                  "https://creativecommons.org/licenses/by-sa/4.0/legalcode"):
        assert words in cc, words
    project = pyproject()
    assert project["license"] == "MIT AND CC-BY-SA-4.0"
    assert project["license-files"] == ["LICENSE", "LICENSE-CC-BY-SA-4.0"]
    assert not any(c.startswith("License ::") for c in project.get("classifiers", [])), \
        "PEP 639: a licence expression and a licence classifier may not both be given"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    licences = readme.split("## Licences", 1)[1].split("\n## ", 1)[0]
    for name in ("[LICENSE](LICENSE)", "[LICENSE-CC-BY-SA-4.0](LICENSE-CC-BY-SA-4.0)", "MIT",
                 "Attribution-ShareAlike 4.0"):
        assert name in licences, name


def test_the_footer_names_both_licences_in_both_languages():
    """Every page's footer (html.extra_footer; the Chinese one in book/_ext/book_i18n.py) names
    the two licence files, with the same links, made from the repository in _config.yml."""
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    try:
        import book_i18n
    finally:
        sys.path.remove(str(ROOT / "book" / "_ext"))
    config = yaml.safe_load((ROOT / "book" / "_config.yml").read_text(encoding="utf-8"))
    repo = config["repository"]["url"].rstrip("/")
    english = config["html"]["extra_footer"]
    links = {}
    for language in ("en", "zh_CN"):
        html = book_i18n.footer(english, language, repo, config["repository"]["branch"])
        links[language] = re.findall(r'href="([^"]+)"', html)
        assert links[language] == ["https://creativecommons.org/licenses/by-sa/4.0/",
                                   f"{repo}/blob/main/LICENSE-CC-BY-SA-4.0", f"{repo}/blob/main/LICENSE"]
        assert "CC BY-SA 4.0" in html and "MIT" in html and "{" not in html
    assert re.search(r"[\u4e00-\u9fff]", book_i18n.footer(english, "zh_CN", repo))
    assert not re.search(r"[\u4e00-\u9fff]", book_i18n.footer(english, "en", repo))


def installed_tool(name: str, how: str) -> pathlib.Path:
    """A command-line tool of this environment (beside its python), or a failure that says how to get it."""
    exe = pathlib.Path(sys.executable).parent / name
    if not exe.exists():
        pytest.fail(f"{exe} is missing: {how}")
    return exe


def cffconvert():
    return installed_tool("cffconvert", "the Makefile installs cffconvert (CFFCONVERT_SPEC)")


def test_citation_cff_is_valid_and_agrees_with_the_package_and_the_introduction(tmp_path):
    exe = cffconvert()
    done = subprocess.run([str(exe), "--validate", "-i", str(ROOT / "CITATION.cff")],
                          capture_output=True, text=True)
    assert done.returncode == 0 and "valid" in done.stdout, done.stdout + done.stderr
    # ... and cffconvert does reject a bad record (a misspelt key)
    bad = tmp_path / "CITATION.cff"
    good = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    bad.write_text(good.replace("repository-code:", "repository_code:"), encoding="utf-8")
    done = subprocess.run([str(exe), "--validate", "-i", str(bad)], capture_output=True, text=True)
    assert done.returncode != 0 and "repository_code" in done.stdout + done.stderr
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert str(cff["version"]) == pyproject()["version"]
    intro = (ROOT / "book" / "intro.md").read_text(encoding="utf-8")
    cite = " ".join(intro.split("## How to cite", 1)[1].split())
    authors = cff["authors"][0]["name"]
    assert f"{authors} (" in cite and f"*{cff['title']}*, version {cff['version']}" in cite, cite
    assert "`CITATION.cff`" in cite and "CC BY-SA 4.0" in cite and "MIT" in cite


# ----------------------------------------------------------------------------- the workflows

WORKFLOWS = ROOT / ".github" / "workflows"


def readme_commands():
    """The README's two commands: the lines of the code block under "## Two commands"."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.strip()]


def workflow_steps(name):
    workflow = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    steps = [(job_name, step) for job_name, job in workflow["jobs"].items() for step in job.get("steps", [])]
    return workflow, triggers, steps


def run_lines(steps):
    return [line.strip() for _, step in steps for line in step.get("run", "").splitlines() if line.strip()]


def test_workflows_run_exactly_the_readmes_commands():
    commands = readme_commands()
    assert commands == ["make book", "make test"], commands
    for name in ("test.yml", "deploy.yml"):
        workflow, triggers, steps = workflow_steps(name)
        lines = run_lines(steps)
        makes = [line for line in lines if line.startswith("make")]
        # `make test` sets up everything, builds both editions and the PDF and tests them; running
        # `make book` before it would build the book twice (make test empties the build first).
        assert set(makes) <= set(commands) and makes == ["make test"], f"{name}: runs {makes}"
        others = [line for line in lines if not line.startswith("make")]
        # besides the README's command: only the prerequisites the README names, from Debian
        assert all(line.startswith("apt-get ") for line in others), f"{name}: {others}"
        for line in others:
            if " install " in line:
                words = line.split()
                packages = {w for w in words[words.index("install") + 1:] if not w.startswith("-")}
                assert packages <= {"python3", "python3-venv", "nodejs", "npm", "make", "git",
                                    "ca-certificates", "fontconfig"}, packages
        assert not re.search(r"pip3? install|npm (ci|install)", "\n".join(lines)), f"{name}: installs by hand"
        uses = [step["uses"].split("@")[0] for _, step in steps if "uses" in step]
        assert "actions/checkout" in uses
        for job in workflow["jobs"].values():
            if "steps" in job and any("run" in s for s in job["steps"]):
                assert job["container"].startswith("debian:"), f"{name}: not the README's Debian"
    _, triggers, _ = workflow_steps("test.yml")
    assert "pull_request" in triggers
    workflow, triggers, steps = workflow_steps("deploy.yml")
    assert triggers["push"]["branches"] == ["main"]
    assert workflow["permissions"]["pages"] == "write" and workflow["permissions"]["id-token"] == "write"
    upload = [step for _, step in steps if step.get("uses", "").startswith("actions/upload-pages-artifact@")]
    assert len(upload) == 1 and upload[0]["with"]["path"] == "_build/html"
    assert any(step.get("uses", "").startswith("actions/deploy-pages@") for _, step in steps)
    # the README says what the workflows do
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert ".github/workflows/deploy.yml" in readme and ".github/workflows/test.yml" in readme


def actionlint():
    return installed_tool("actionlint", "the test extra installs it (pyproject.toml)")


def test_workflows_pass_actionlint_and_a_broken_one_does_not(tmp_path):
    exe = actionlint()
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert [f.name for f in files] == ["deploy.yml", "test.yml"]
    done = subprocess.run([str(exe), *map(str, files)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / ".github" / "workflows" / "deploy.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(files[0].read_text(encoding="utf-8").replace("needs: build", "needs: biuld"),
                      encoding="utf-8")
    done = subprocess.run([str(exe), str(broken)], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode != 0 and "biuld" in done.stdout, done.stdout + done.stderr
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    lint = makefile.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert "actionlint .github/workflows/*.yml" in lint
