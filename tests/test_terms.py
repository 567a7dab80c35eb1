"""One concept, one Chinese term: the term table (book/locales/zh_CN/terms.yml) holds.

Fast (no build): reads the table and every Chinese catalog, the prose catalogs
(book/locales/zh_CN/LC_MESSAGES/**/*.po, the glossary included) and the output catalogs
(utils/i18n/locales/zh_CN/*.po), and fails on any forbidden variant outside its allowed exceptions,
naming the file, the start of the msgid and the variant found. Inline code, roles, maths and URLs
do not count (a citation key or ``x.shape`` is code, not prose).
"""

from __future__ import annotations

import collections
import pathlib
import re

import pytest
import yaml

from utils.i18n import read_po

ROOT = pathlib.Path(__file__).resolve().parents[1]
TABLE = ROOT / "book" / "locales" / "zh_CN" / "terms.yml"
GLOSSARY = ROOT / "book" / "glossary.md"
GLOSSARY_PO = ROOT / "book" / "locales" / "zh_CN" / "LC_MESSAGES" / "book" / "glossary.po"
PROSE = ROOT / "book" / "locales" / "zh_CN" / "LC_MESSAGES"
OUTPUTS = ROOT / "utils" / "i18n" / "locales" / "zh_CN"

# What is not prose: ``code``, `code` (roles' targets included), $$maths$$, $maths$, a URL, and the
# message of a printed Python exception ("ValueError: ..." to the end of its line: Python's words).
NOT_PROSE = re.compile(r"``.+?``|`[^`]*`|\$\$.+?\$\$|\$[^$]*\$|https?://\S+|\b[A-Z]\w*Error: [^\n]*", re.S)
HEAD = re.compile(r"^(?P<en>[^\s(][^(]*?) \((?P<zh>[^)]+)\)$")


def load_table(path=TABLE) -> list[dict]:
    table = yaml.safe_load(path.read_text(encoding="utf-8"))
    for entry in table:
        assert {"en", "zh", "why"} <= set(entry), f"terms.yml: entry lacks en/zh/why: {entry}"
        entry["forbidden_re"] = [re.compile(p) for p in entry.get("forbidden", [])]
        entry["allowed_re"] = [re.compile(p) for p in entry.get("allowed", [])]
    return table


def prose_only(text: str) -> str:
    """The text with code, maths and URLs blanked out (same length, so positions stay)."""
    return NOT_PROSE.sub(lambda m: " " * len(m.group(0)), text)


def violations_in(text: str, table) -> list[tuple[str, str]]:
    """(the variant found, the term it breaks) for each forbidden match outside the exceptions."""
    text = prose_only(text)
    found, spans = [], set()
    for entry in table:
        allowed = [m.span() for a in entry["allowed_re"] for m in a.finditer(text)]
        for pattern in entry["forbidden_re"]:
            for m in pattern.finditer(text):
                if m.span() not in spans and not any(s <= m.start() and m.end() <= e for s, e in allowed):
                    spans.add(m.span())
                    found.append((m.group(0), f"{entry['en']} → {entry['zh']}"))
    return found


def catalogs() -> list[pathlib.Path]:
    return sorted(PROSE.rglob("*.po")) + sorted(OUTPUTS.glob("*.po"))


def scan(paths, table) -> dict:
    """{relative path: [(msgid start, variant, term), ...]} over the msgstrs of these catalogs."""
    report = collections.defaultdict(list)
    for path in paths:
        for msgid, msgstr in read_po(path).items():
            for variant, term in violations_in(msgstr, table):
                rel = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
                report[rel].append((" ".join(msgid.split())[:50], variant, term))
    return dict(report)


def describe(report: dict) -> str:
    lines = [f"{sum(map(len, report.values()))} forbidden term variants in {len(report)} catalogs "
             "(book/locales/zh_CN/terms.yml gives the one rendering):"]
    for rel, found in sorted(report.items()):
        counts = collections.Counter(v for _, v, _ in found)
        lines.append(f"  {rel}: {len(found)} ({', '.join(f'{v} ×{n}' for v, n in counts.most_common())})")
        for start, variant, term in found:
            lines.append(f"      {variant!r} ({term}) in msgid {start!r}…")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def table():
    return load_table()


def test_no_catalog_uses_a_forbidden_term_variant(table):
    paths = catalogs()
    assert any(p.parent.name == "chapters" for p in paths) and any(p.parent == OUTPUTS for p in paths)
    report = scan(paths, table)
    assert not report, describe(report)


def test_the_term_test_can_fail(table, tmp_path):
    """A fabricated catalog with forbidden variants is caught; the allowed exceptions are not."""
    po = tmp_path / "fake.po"
    po.write_text(
        'msgid "The scores and the causal mask."\n'
        'msgstr "这些得分和因果掩蔽。"\n\n'
        'msgid "The score function; concatenate; a residual connection; `x.shape`."\n'
        'msgstr "评分函数；拼接；残差连接；`x.shape`。"\n\n'
        'msgid "Keys of width d, as Su writes; {cite:t}`su2021roformer`."\n'
        'msgstr "宽度为 $d$ 的键，正如 Su 所写；{cite:t}`su2021roformer`。窗口宽度为 3。"\n',
        encoding="utf-8")
    report = scan([po], table)
    found = sorted(v for items in report.values() for _, v, _ in items)
    assert found == ["Su", "因果掩蔽", "宽度", "得分"], found
    assert "fake.po" in describe(report) and "The scores and the causal mask." in describe(report)


def glossary_heads() -> dict:
    """{English: Chinese} of the heads of book/glossary.md's {glossary} block."""
    text = GLOSSARY.read_text(encoding="utf-8")
    block = re.search(r"```\{glossary\}\n(.*?)\n```", text, re.S)
    assert block, "book/glossary.md has no {glossary} block"
    heads = {}
    for line in block.group(1).splitlines():
        if line and not line[0].isspace():
            m = HEAD.match(line.strip())
            assert m, f"glossary head not of the form 'English (中文)': {line!r}"
            heads[m.group("en")] = m.group("zh")
    assert len(heads) > 30, heads
    return heads


def test_the_table_covers_every_glossary_term_with_its_chinese(table):
    by_en = {e["en"]: e for e in table}
    heads = glossary_heads()
    missing = sorted(set(heads) - set(by_en))
    assert not missing, f"glossary terms missing from book/locales/zh_CN/terms.yml: {missing}"
    differ = {en: (zh, by_en[en].get("head", by_en[en]["zh"])) for en, zh in heads.items()
              if zh != by_en[en].get("head", by_en[en]["zh"])}
    assert not differ, f"glossary head's Chinese ≠ the table's (glossary, table): {differ}"


def test_the_chinese_glossary_heads_give_the_tables_terms(table):
    by_en = {e["en"]: e for e in table}
    catalog = read_po(GLOSSARY_PO)
    wrong = {}
    for en, zh in glossary_heads().items():
        msgstr = catalog.get(f"{en} ({zh})")
        chinese = by_en[en].get("head", by_en[en]["zh"])
        if msgstr is None or not msgstr.startswith(chinese) or en not in msgstr:
            wrong[en] = msgstr
    assert not wrong, f"glossary.po heads not '<the table's term> (<English>)': {wrong}"


def test_the_table_is_consistent(table):
    seen = collections.Counter(e["en"] for e in table)
    assert not [en for en, n in seen.items() if n > 1], "terms.yml: an English term twice"
    for entry in table:
        assert entry["why"].strip(), entry["en"]
        # the rendering itself is never a forbidden variant (outside its exceptions)
        assert not violations_in(entry["zh"], [entry]), entry["en"]
