"""The Chinese edition's translation catalogs: extract, update, count and check them.

    python scripts/i18n.py update            # English messages -> .pot -> update every zh_CN .po
    python scripts/i18n.py stats             # a table: translated / fuzzy / untranslated per file
    python scripts/i18n.py check [FILES]     # fail unless complete and consistent (make test runs it)

The text catalogs (``book/locales/zh_CN/LC_MESSAGES/{book,chapters}/*.po``) hold the prose of
every page, one message per paragraph, heading, list item or equation, keyed by the English text
itself. ``update`` runs Sphinx's gettext builder (``scripts/build_book.py --gettext``) and
``sphinx-intl update``: a message whose English changed comes back *fuzzy* (its old translation
kept for reference, not used by the build) and a new one *untranslated*. ``check`` fails on
either, so an English edit cannot leave the Chinese edition silently behind.

``check`` also compares each translation with its English message: the same roles and targets
(``{doc}``, ``{ref}``, ``{eq}``, ``{term}`` targets, ``{cite:t}``/``{cite:p}`` keys), the same
inline and display maths, the same numbers, and a title that starts with a chapter number keeps
it escaped (``2\\.``: otherwise Markdown reads it as a list item and Sphinx drops the title's
translation).
"""

from __future__ import annotations

import argparse
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
LOCALES = ROOT / "book" / "locales"
LANG = "zh_CN"
CATALOGS = LOCALES / LANG / "LC_MESSAGES"
POT = ROOT / "_build" / "gettext"

ROLE = re.compile(r"\{([a-z:]+)\}`([^`]*)`")
MATH = re.compile(r"(?<!\\)\$\$?[^$]+\$\$?")
NUMBER = re.compile(r"(?<![\w.])[-−]?\d+(?:[.,]\d+)*(?:e[-+]?\d+)?")


def read(path):
    from babel.messages.pofile import read_po

    with open(path, "rb") as f:
        return read_po(f, locale=LANG)


def po_files(paths=None):
    if paths:
        return [pathlib.Path(p).resolve() for p in paths]
    return sorted(CATALOGS.rglob("*.po"))


def counts(catalog):
    total = translated = fuzzy = 0
    for message in catalog:
        if not message.id:
            continue
        total += 1
        if message.fuzzy:
            fuzzy += 1
        elif message.string:
            translated += 1
    return total, translated, fuzzy, total - translated - fuzzy


def _targets(text):
    """What a translation must keep: role targets (not their shown text), maths, numbers."""
    roles = []
    for role, body in ROLE.findall(text):
        target = re.search(r"<([^<>]+)>\s*$", body)
        if role in ("term", "doc", "ref", "numref") and target:
            body = target.group(1)
        elif role == "term":
            body = "*"  # {term}`attention`: the shown text is the target; a translation may use <...>
        roles.append((role, body.strip()))
    maths = sorted(m.strip("$ ") for m in MATH.findall(text))
    without = ROLE.sub(" ", MATH.sub(" ", text))
    numbers = sorted(n.replace("−", "-").replace(",", "") for n in NUMBER.findall(without))
    return sorted(roles), maths, numbers


def problems(message) -> list:
    """Why this translation does not carry its English message's roles, maths or numbers."""
    if not message.string or message.fuzzy:
        return []
    found = []
    roles_en, maths_en, numbers_en = _targets(message.id)
    roles_zh, maths_zh, numbers_zh = _targets(message.string)
    terms_zh = [r for r in roles_zh if r[0] == "term"]
    if [r for r in roles_en if r[0] != "term"] != [r for r in roles_zh if r[0] != "term"]:
        found.append(f"roles differ: {roles_en} vs {roles_zh}")
    elif len([r for r in roles_en if r[0] == "term"]) != len(terms_zh):
        found.append("a different number of {term} roles")
    if maths_en != maths_zh:
        found.append(f"maths differ: {sorted(set(maths_en) ^ set(maths_zh))}")
    if numbers_en != numbers_zh:
        found.append(f"numbers differ: {numbers_en} vs {numbers_zh}")
    if re.match(r"\d+\. ", message.id) and not message.string.startswith(message.id.split(".")[0] + "\\."):
        found.append("a numbered title must start with its number and an escaped dot, e.g. 2\\.")
    return found


def cmd_update(_args) -> int:
    subprocess.run([sys.executable, str(ROOT / "scripts" / "build_book.py"), "--gettext", "--quiet"],
                   check=True, cwd=ROOT)
    subprocess.run([str(pathlib.Path(sys.executable).parent / "sphinx-intl"), "update", "-p", str(POT),
                    "-l", LANG, "-d", str(LOCALES), "-w", "100"], check=True, cwd=ROOT)
    return 0


def cmd_stats(args) -> int:
    rows, sums = [], [0, 0, 0, 0]
    for path in po_files(args.files):
        c = counts(read(path))
        sums = [a + b for a, b in zip(sums, c)]
        rows.append((path.relative_to(CATALOGS).as_posix(), *c))
    rows.append(("total", *sums))
    print(f"{'catalog':42} {'messages':>9} {'translated':>11} {'fuzzy':>6} {'untranslated':>13}")
    for name, total, done, fuzzy, todo in rows:
        print(f"{name:42} {total:9d} {done:11d} {fuzzy:6d} {todo:13d}")
    return 0


def cmd_check(args) -> int:
    bad = 0
    for path in po_files(args.files):
        catalog = read(path)
        name = path.relative_to(ROOT).as_posix()
        total, done, fuzzy, todo = counts(catalog)
        if fuzzy or todo:
            print(f"{name}: {fuzzy} fuzzy and {todo} untranslated of {total} messages")
            bad += 1
        for message in catalog:
            if message.id:
                for problem in problems(message):
                    print(f"{name}: {problem}\n    en: {message.id[:150]}")
                    bad += 1
        obsolete = len(catalog.obsolete)
        if obsolete and not args.allow_obsolete:
            print(f"{name}: {obsolete} obsolete messages (run: python scripts/i18n.py update)")
            bad += 1
    print("catalogs complete and consistent" if not bad else f"{bad} problems")
    return 1 if bad else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("update")
    for name in ("stats", "check"):
        p = sub.add_parser(name)
        p.add_argument("files", nargs="*")
        p.add_argument("--allow-obsolete", action="store_true")
    args = parser.parse_args(argv)
    return {"update": cmd_update, "stats": cmd_stats, "check": cmd_check}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
