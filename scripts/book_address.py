"""Where the book lives, set once in ``book/_config.yml``, and every copy of it.

    python scripts/book_address.py           # rewrite every copy from _config.yml
    python scripts/book_address.py --check   # list the copies that disagree (exit 1 if any)

Two values name where the book lives: the repository (``repository.url``) and the published
site (``html.baseurl``). Jupyter Book makes the launch buttons (Colab, Binder) and the
repository button from them, ``book/_ext/book_i18n.py`` the footer's licence links, and
``scripts/reader_notebooks.py`` every link of the reader notebooks. What cannot be made from
them holds a copy: the chapters' set-up cells (``%pip install "git+<repository>"``), the
README's links, ``CITATION.cff`` (``repository-code``, ``url``) and ``pyproject.toml``'s
``project.urls``. ``--check`` (run by ``tests/test_repo_files.py``) reports:

- any URL in the repository's text files that names the book (its owner or its name, as a
  path segment or a host label) and is neither under the repository nor under the site, nor a
  Colab or Binder link to the repository; a link to one of the book's pages (``chapters/NN_*.html``,
  ``book/*.html``) that is not under the site; any ``git+`` install from somewhere else;
- a copy that is missing where it must be (the README, CITATION.cff, pyproject.toml, every
  chapter's set-up cell, every reader notebook's link to its page);
- a URL in ``environment.yml`` or ``postBuild`` (Binder installs this checkout, ``-e .``);
- either value written more than once in ``_config.yml``.

Without ``--check``, a fork that changed the two lines of ``_config.yml`` gets every copy
rewritten: the old values are read from ``CITATION.cff`` and replaced, in every text file,
by the new ones (the reader notebooks included: their links are made from the same values).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONFIG = pathlib.Path("book") / "_config.yml"
SKIP_DIRS = {".git", "_build", "node_modules", "vendor", "__pycache__", ".ipynb_checkpoints",
             ".pytest_cache", ".ruff_cache", ".hypothesis", "build", "dist"}
BINARY = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".pdf", ".woff", ".woff2", ".ttf", ".ico", ".mo",
          ".whl", ".gz", ".zip", ".pyc", ".safetensors", ".pt"}
URL = re.compile(r"https?://[^\s\"'<>()\[\]{}\\`|,]+")
# a link to one of the book's pages (the reader notebooks link every cross-reference to the site)
BOOK_PAGE = re.compile(r"/(zh/)?(chapters/\d\d_\w+|book/(intro|notation|glossary|bibliography))\.html")
GIT_PLUS = re.compile(r"git\+(https?://[^\s\"'<>()\[\]{}\\`|,]+)")


def addresses(root: pathlib.Path = ROOT) -> tuple[str, str]:
    """(repository URL without a trailing slash, site address with one), from _config.yml."""
    import yaml

    config = yaml.safe_load((root / CONFIG).read_text(encoding="utf-8"))
    return config["repository"]["url"].rstrip("/"), config["html"]["baseurl"].rstrip("/") + "/"


def text_files(root: pathlib.Path = ROOT) -> list[pathlib.Path]:
    """Every text file of the repository (relative paths), without builds and environments."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith(".venv")
                         and not d.endswith(".egg-info"))
        for name in sorted(files):
            path = pathlib.Path(folder, name)
            if path.suffix.lower() not in BINARY and name not in ("package-lock.json", ".git"):
                found.append(path.relative_to(root))
    return found


def _lines(text: str):
    yield from enumerate(text.splitlines(), 1)


def check(root: pathlib.Path = ROOT) -> list[str]:
    """Every disagreement with _config.yml, one line each ("file:line: what"); [] when none."""
    import yaml

    repo, site = addresses(root)
    slug = repo.split("github.com/", 1)[-1]
    owner, name = (slug.split("/") + [""])[:2]
    # what names the book in a URL: its owner or its name as a whole path segment or host label
    # (other sites on github.io, such as blogs a chapter cites, are not the book)
    names_book = re.compile(r"(?i)(^|[/.])(" + "|".join(re.escape(x) for x in {owner, name} if x)
                            + r")([/.]|$)")
    allowed = (repo + "/", site, f"https://colab.research.google.com/github/{slug}/",
               f"https://mybinder.org/v2/gh/{slug}/")
    problems = []
    for rel in text_files(root):
        if rel == CONFIG:
            continue
        text = (root / rel).read_text(encoding="utf-8", errors="replace")
        for number, line in _lines(text):
            for url in URL.findall(line):
                url = url.rstrip(".;:")
                if names_book.search(url.split("://", 1)[1]) and not (url + "/").startswith(allowed):
                    problems.append(f"{rel}:{number}: {url} is not under {repo} or {site}")
                elif BOOK_PAGE.search(url) and not url.startswith(site):
                    problems.append(f"{rel}:{number}: {url} (a page of the book) is not under {site}")
            for url in GIT_PLUS.findall(line):
                if url.rstrip("/") != repo:
                    problems.append(f"{rel}:{number}: git+{url} does not install from {repo}")

    def need(rel, value, what):
        path = root / rel
        if not path.is_file() or value not in path.read_text(encoding="utf-8"):
            problems.append(f"{rel}: {what} ({value}) is missing")

    need("README.md", repo, "the link to the repository")
    need("README.md", site, "the link to the book")
    cff = yaml.safe_load((root / "CITATION.cff").read_text(encoding="utf-8"))
    if cff.get("repository-code") != repo:
        problems.append(f"CITATION.cff: repository-code is {cff.get('repository-code')}, not {repo}")
    if cff.get("url") != site:
        problems.append(f"CITATION.cff: url is {cff.get('url')}, not {site}")
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    urls = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["urls"]
    if urls.get("Homepage") != site or urls.get("Repository") != repo:
        problems.append(f"pyproject.toml: project.urls Homepage/Repository are {urls.get('Homepage')}, "
                        f"{urls.get('Repository')}, not {site}, {repo}")
    for key, value in urls.items():
        if not (value + "/").startswith((repo + "/", site)):
            problems.append(f"pyproject.toml: project.urls.{key} = {value} is not under {repo} or {site}")
    for rel in ("environment.yml", "postBuild"):
        for number, line in _lines((root / rel).read_text(encoding="utf-8")):
            if "github" in line.lower() or any(names_book.search(u.split("://", 1)[1])
                                               for u in URL.findall(line)):
                problems.append(f"{rel}:{number}: names where the book lives; Binder installs this checkout")
    config_text = (root / CONFIG).read_text(encoding="utf-8")
    for value in (repo, site):
        if config_text.count(value) != 1:
            problems.append(f"{CONFIG}: {value} is written {config_text.count(value)} times, not once")
    chapters = sorted((root / "chapters").glob("*.ipynb"))
    for path in chapters:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        if f"git+{repo}" not in "".join(cells[1]["source"]):
            problems.append(f"{path.relative_to(root)}: the set-up cell does not install git+{repo}")
    for folder, base in (("notebooks", site), ("notebooks/zh", site + "zh/")):
        for path in sorted((root / folder).glob("*.ipynb")):
            text = path.read_text(encoding="utf-8")
            page = f"{base}chapters/{path.stem}.html"
            if page not in text:
                problems.append(f"{path.relative_to(root)}: no link to its page {page}")
            if f"git+{repo}" not in text:
                problems.append(f"{path.relative_to(root)}: the set-up cell does not install git+{repo}")
    return problems


def rewrite(root: pathlib.Path = ROOT) -> list[pathlib.Path]:
    """Replace the old addresses (CITATION.cff's) by _config.yml's in every text file."""
    import yaml

    repo, site = addresses(root)
    cff = yaml.safe_load((root / "CITATION.cff").read_text(encoding="utf-8"))
    old_repo, old_site = cff["repository-code"].rstrip("/"), cff["url"].rstrip("/") + "/"
    pairs = [(old, new) for old, new in ((old_site, site), (old_site.rstrip("/"), site.rstrip("/")),
                                         (old_repo, repo)) if old != new]
    changed = []
    for rel in text_files(root):
        if rel == CONFIG or not pairs:
            continue
        path = root / rel
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        new = text
        for old, value in pairs:
            new = new.replace(old, value)
        if old_repo != repo:  # Colab and Binder links name the repository by owner/name
            old_slug, slug = old_repo.split("github.com/", 1)[-1], repo.split("github.com/", 1)[-1]
            new = new.replace(f"/github/{old_slug}/", f"/github/{slug}/").replace(
                f"/v2/gh/{old_slug}/", f"/v2/gh/{slug}/")
        if new != text:
            path.write_text(new, encoding="utf-8", errors="surrogateescape")
            changed.append(rel)
    return changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only list the copies that disagree")
    parser.add_argument("--root", type=pathlib.Path, default=ROOT)
    args = parser.parse_args(argv)
    if not args.check:
        for rel in rewrite(args.root):
            print(f"rewrote {rel}")
    problems = check(args.root)
    for line in problems:
        print(line, file=sys.stderr)
    if args.check or problems:
        print(f"book_address: {len(problems)} disagreement(s) with {CONFIG}",
              file=sys.stderr if problems else sys.stdout)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
