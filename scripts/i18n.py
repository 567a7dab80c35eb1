"""The Chinese edition's translation catalogs: extract, update, count and check them.

    python scripts/i18n.py update            # English messages -> .pot -> update every zh_CN .po
    python scripts/i18n.py stats             # a table: translated / fuzzy / untranslated per file
    python scripts/i18n.py check [FILES]     # fail unless complete and consistent (make test runs it)
    python scripts/i18n.py outputs           # after make book: update the output catalogs

Two kinds of catalog. The text catalogs (``book/locales/...``) are Sphinx's. The output catalogs
(``utils/i18n/locales/zh_CN/<chapter>.po``) hold what the code prints and draws, with numbers taken
out (``utils/i18n/__init__.py`` explains); ``outputs`` rebuilds them from the messages the last Chinese
build met (``_build/i18n/zh_CN/messages.json``), keeping every translation that still applies.
A message made only of code and data (``torch.Size([{0}, {1}])``, ``True``) is kept as it is.
A message whose comment starts with "alternative" (what a run prints when a timing goes the
other way) is kept even when the last build did not print it.

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
import json
import pathlib
import re
import subprocess
import sys

from book import po_catalog  # scripts/book.py

ROOT = pathlib.Path(__file__).resolve().parents[1]
LOCALES = ROOT / "book" / "locales"
LANG = "zh_CN"
CATALOGS = LOCALES / LANG / "LC_MESSAGES"
OUTPUTS = ROOT / "utils" / "i18n" / "locales" / LANG
POT = ROOT / "_build" / "gettext"
MET = ROOT / "_build" / "i18n" / LANG / "messages.json"
# Words of printed code and data, not of sentences: a message made only of these stays as it is.
CODE_WORDS = {"tensor", "torch", "Size", "dtype", "float32", "float64", "float16", "int64", "bool",
              "True", "False", "None", "nan", "inf", "array", "grad_fn", "requires_grad", "device",
              "cpu", "shape", "e", "j", "SdpaBackward0", "MulBackward0", "AddBackward0", "Parameter",
              "containing", "bfloat16", "int32", "uint8", "np", "float", "int", "str"}
PLACEHOLDER = re.compile(r"\{(\d+)\}")

ROLE = re.compile(r"\{([a-z:]+)\}`([^`]*)`")
MATH = re.compile(r"(?<!\\)\$\$?[^$]+\$\$?")
NUMBER = re.compile(r"(?<![\w.])[-−]?\d+(?:[.,]\d+)*(?:e[-+]?\d+)?")


def read(path):
    return po_catalog(path, locale=LANG)


def po_files(paths=None):
    if paths:
        return [pathlib.Path(p).resolve() for p in paths]
    return sorted(CATALOGS.rglob("*.po")) + sorted(OUTPUTS.glob("*.po"))


def _name(path):
    path = pathlib.Path(path)
    for base in (CATALOGS, OUTPUTS.parent):
        if path.is_relative_to(base):
            return path.relative_to(base).as_posix()
    return path.as_posix()


def is_code(msgid: str) -> bool:
    """A printed message made only of code and data words (kept as it is in every language)."""
    text = PLACEHOLDER.sub(" ", msgid)
    words = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)
    return all(w in CODE_WORDS or "_" in w or len(w) == 1 for w in words)


def output_problems(message) -> list:
    """Why an output translation would print wrong: other placeholders, or braces that break."""
    if not message.string or message.fuzzy:
        return []
    found = []
    if sorted(set(PLACEHOLDER.findall(message.id))) != sorted(set(PLACEHOLDER.findall(message.string))):
        found.append("placeholders differ: every {0}, {1}, ... of the English must appear once")
    try:
        message.string.format(*["0"] * 50)
    except (IndexError, KeyError, ValueError) as err:
        found.append(f"not a valid format string ({err}); write a literal brace as {{{{ or }}}}")
    return found


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
        rows.append((_name(path), *c))
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
        is_output = path.is_relative_to(OUTPUTS)
        for message in catalog:
            if message.id:
                for problem in (output_problems if is_output else problems)(message):
                    print(f"{name}: {problem}\n    en: {message.id[:150]}")
                    bad += 1
    # The output catalogs are merged into one table at run time (utils.i18n.catalog): a message
    # in two chapters must have one translation.
    seen = {}
    for path in sorted(OUTPUTS.glob("*.po")):
        for message in read(path):
            if message.id and message.string and not message.fuzzy:
                seen.setdefault(message.id, {}).setdefault(message.string, []).append(path.stem)
    for msgid, strings in sorted(seen.items()):
        if len(strings) > 1:
            print(f"output message translated differently: {msgid!r}: "
                  + "; ".join(f"{s!r} in {', '.join(w)}" for s, w in strings.items()))
            bad += 1
    print("catalogs complete and consistent" if not bad else f"{bad} problems")
    return 1 if bad else 0


def cmd_outputs(_args) -> int:
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    if not MET.exists():
        print(f"no {MET.relative_to(ROOT)}: run make book first")
        return 1
    met = json.loads(MET.read_text(encoding="utf-8"))
    OUTPUTS.mkdir(parents=True, exist_ok=True)
    for docname, messages in sorted(met.items()):
        if not messages:
            continue
        path = OUTPUTS / f"{pathlib.Path(docname).name}.po"
        old = read(path) if path.exists() else None
        # a message printed with other padding this time (a number of another width) keeps its
        # translation (utils.i18n.lookup ignores runs of spaces too)
        by_spacing = {re.sub(r"\s+", " ", m.id): m for m in old if m.id} if old is not None else {}
        catalog = Catalog(locale=LANG, project="Seeing Attention (outputs)", fuzzy=False)
        for msgid in messages:
            previous = old.get(msgid) if old is not None else None
            if previous is None:
                previous = by_spacing.get(re.sub(r"\s+", " ", msgid))
            string = previous.string if previous is not None and not previous.fuzzy else ""
            comments = []
            if not string and is_code(msgid):
                string, comments = msgid, ["code and data: kept as printed"]
            elif previous is not None:
                comments = list(previous.auto_comments)
            catalog.add(msgid, string, auto_comments=comments)
        if old is not None:  # what a run prints only when a timing goes the other way
            for message in old:
                if (message.id and message.id not in catalog and message.string
                        and any(c.startswith("alternative") for c in message.auto_comments)):
                    catalog.add(message.id, message.string, auto_comments=list(message.auto_comments))
        with open(path, "wb") as f:
            write_po(f, catalog, width=100, omit_header=False, sort_output=True)
        done = sum(1 for m in catalog if m.id and m.string)
        print(f"{_name(path)}: {len(catalog)} messages, {done} translated")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("update")
    sub.add_parser("outputs")
    for name in ("stats", "check"):
        p = sub.add_parser(name)
        p.add_argument("files", nargs="*")
    args = parser.parse_args(argv)
    commands = {"update": cmd_update, "stats": cmd_stats, "check": cmd_check, "outputs": cmd_outputs}
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
