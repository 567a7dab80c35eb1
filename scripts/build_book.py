"""Build one edition of the book (English or Chinese) from the one source, with Jupyter Book 1.

    python scripts/build_book.py                 # English, into _build/html
    python scripts/build_book.py --lang zh_CN    # Chinese, into _build/html/zh
    python scripts/build_book.py --gettext       # the English messages, into _build/gettext/*.pot

Both editions read the same chapters and the same ``book/_config.yml``; this script only adds
what Jupyter Book 1's command line cannot say: the language (``language``), where the Chinese
edition goes, and its own doctree folder. The Chinese text comes from the translation catalogs
``book/locales/zh_CN/LC_MESSAGES/**.po`` (Sphinx's gettext machinery); the code cells exist once.

Execution: ``_config.yml`` executes through Jupyter Book's cache (``_build/.jupyter_cache``).
``make book`` empties the cache first, so the English build executes every chapter; the Chinese
build then finds every notebook in the cache and executes nothing. What the outputs say in
Chinese (printed sentences, figures, explorers) is made during that one execution, or from its
printed text, by ``utils.i18n`` and ``book/_ext/book_i18n.py``. The chapters' kernels start
with ``utils.i18n.install_from_environment()`` (an IPython start-up file under ``_build/ipython``,
``IPYTHONDIR``): in a translating build (``SA_TRANSLATE``, ``make book``) every figure a chapter
shows is then also drawn in Chinese. Importing ``utils`` runs nothing.

Options: ``--toc FILE`` (a smaller table of contents), ``--out DIR``, ``--no-execute`` (pages
without outputs: quick checks of the translated text).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

from book import CONFIG, EDITIONS, config  # scripts/book.py: language -> output folder, html title, ...

ROOT = pathlib.Path(__file__).resolve().parents[1]


# What jupyter_client says when a kernel died at start-up, e.g. because the port it was given was
# taken by another process meanwhile (ZMQError: Address already in use).
KERNEL_RACE = "Kernel died before replying to kernel_info"

# Run by every chapter's kernel as it starts (IPython's start-up files, IPYTHONDIR).
STARTUP = """# Written by scripts/build_book.py: in a translating build (SA_TRANSLATE and SA_I18N_DUMP set),
# every figure a chapter shows is also drawn in the other language (utils.i18n).
from utils.i18n import install_from_environment

install_from_environment()
"""


def kernel_startup() -> pathlib.Path:
    """An IPython folder whose start-up file installs the build's output translation."""
    folder = ROOT / "_build" / "ipython"
    startup = folder / "profile_default" / "startup" / "00-outputs-in-both-languages.py"
    startup.parent.mkdir(parents=True, exist_ok=True)
    startup.write_text(STARTUP, encoding="utf-8")
    return folder


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", default="en", choices=sorted(EDITIONS))
    parser.add_argument("--gettext", action="store_true", help="extract the English messages (.pot)")
    parser.add_argument("--toc", default="book/_toc.yml")
    parser.add_argument("--out", default=None)
    parser.add_argument("--no-execute", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    os.chdir(ROOT)
    os.environ["IPYTHONDIR"] = str(kernel_startup())  # the kernels MyST-NB starts inherit it
    from jupyter_book.sphinx import build_sphinx

    edition = EDITIONS[args.lang]
    folder, title = edition.folder, edition.title
    baseurl = config()["html"]["baseurl"].rstrip("/") + "/" + edition.prefix
    overrides = {"external_toc_path": args.toc, "latex_individualpages": False}
    if args.gettext:
        builder, out = "gettext", pathlib.Path(args.out or "_build/gettext")
        overrides["nb_execution_mode"] = "off"
        doctrees = ROOT / "_build" / ".doctrees-gettext"
    else:
        builder = "html"
        out = pathlib.Path(args.out or pathlib.Path("_build/html") / folder)
        doctrees = ROOT / "_build" / (".doctrees" + ("" if args.lang == "en" else "-" + args.lang))
        overrides.update(language=args.lang, html_title=title, html_baseurl=baseurl)
        if args.no_execute:
            overrides["nb_execution_mode"] = "off"
    if args.out:
        doctrees = pathlib.Path(args.out).resolve().parent / (pathlib.Path(args.out).name + ".doctrees")
    start = time.perf_counter()
    result = build_sphinx(
        ROOT, (ROOT / out).resolve(), noconfig=True, path_config=str(CONFIG),
        confoverrides=overrides, doctreedir=doctrees, builder=builder, use_external_toc=True,
        warningiserror=builder == "html", keep_going=True, quiet=args.quiet,
    )
    if result and KERNEL_RACE in str(result) and not os.environ.get("SA_BUILD_RETRIED"):
        # A kernel could not bind the port jupyter_client had picked for it, because another
        # process (make test's other lane starts kernels too) took it first: not the chapter's
        # fault. Build once more; the chapters already executed come from the cache.
        print(f"build_book: a kernel did not start ({result}); building the {args.lang} edition once more",
              file=sys.stderr)
        os.environ["SA_BUILD_RETRIED"] = "1"
        os.execv(sys.executable, [sys.executable, str(pathlib.Path(__file__).resolve()), *sys.argv[1:]])
    if result:
        print(f"build_book: the {args.lang} {builder} build failed (exit {result})", file=sys.stderr)
        return int(result) if isinstance(result, int) else 1
    seconds = time.perf_counter() - start
    print(f"build_book: the {args.lang} {builder} build is in {out} ({seconds:.0f} s)")
    if builder == "html" and not args.out:
        times = ROOT / "_build" / "build-times.json"
        record = json.loads(times.read_text()) if times.exists() else {}
        record[args.lang] = round(seconds, 1)
        times.write_text(json.dumps(record, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
