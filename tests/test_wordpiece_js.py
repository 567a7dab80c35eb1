"""BERT's WordPiece tokenizer in the browser (utils/minilm_static/wordpiece.js) equals Python's
(utils.pretrained.WordPieceTokenizer) and the tokenizers library's (MiniLM's tokenizer.json).

The static book tokenizes a reader's own sentence in the browser for MiniLM. These tests run the
script in headless Chromium, the engine readers use (Debian's, scripts/browser.py; the test fails,
saying what to install, when it is missing):

- the script's Unicode class table is Python's unicodedata, code point by code point;
- every code point Python knows (and every unassigned one in planes 0-3 and 14), lowered and
  decomposed by the browser, gives Python's words;
- a seeded corpus of over 1,000 sentences: the same tokens and ids in the browser, in Python and
  in the tokenizers library;
- vocab.txt read as Python reads it; pieces counted in code points (a vocabulary with astral
  tokens);
- bad input gets a clear error; the 256-token limit; a 20,000-character paste is fast.

``python tests/test_wordpiece_js.py`` rewrites the script's class table from this Python's
unicodedata (run it when Python's Unicode version changes; the first test says so).
"""

from __future__ import annotations

import functools
import json
import pathlib
import random
import re
import shutil
import string
import subprocess
import sys
import unicodedata

import pytest

from utils.pretrained import WordPieceTokenizer, is_cjk, is_punctuation, model_dir

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "utils" / "minilm_static" / "wordpiece.js"
BEGIN, END = "  // BEGIN CLASSES", "  // END CLASSES"
BIG = 1 << 20  # a maxLen no corpus sentence reaches


# ----------------------------------------------------------------------------- the class table


def python_class(cp: int) -> str:
    """What utils.pretrained.WordPieceTokenizer.words does with one code point of its normalised
    text: D dropped, M non-spacing mark (stripped), S whitespace, P punctuation, C CJK, L letter."""
    c = chr(cp)
    category = unicodedata.category(c)
    if cp == 0 or cp == 0xFFFD or (category.startswith("C") and c not in "\t\n\r"):
        return "D"
    if category == "Mn":
        return "M"
    if c.isspace():
        return "S"
    if is_punctuation(c):
        return "P"
    if is_cjk(cp):
        return "C"
    return "L"


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out


@functools.cache
def class_runs() -> tuple:
    """((first code point, class), ...): the runs of one class over all code points."""
    runs, previous = [], None
    categories = map(unicodedata.category, map(chr, range(0x110000)))
    for cp, category in enumerate(categories):  # most code points are C*: dropped, decided at once
        k = "D" if category[0] == "C" and cp not in (9, 10, 13) else python_class(cp)
        if k != previous:
            runs.append((cp, k))
            previous = k
    return tuple(runs)


def class_table() -> str:
    """The runs as the script holds them: <distance from the last run's start, base 36><class>."""
    starts = [cp for cp, _ in class_runs()]
    return "".join(_base36(cp - previous) + k for (cp, k), previous in zip(class_runs(), [0] + starts))


def table_lines() -> list[str]:
    text, width = class_table(), 96
    return (["  const CLASSES = ["] + [f'    "{text[i:i + width]}",' for i in range(0, len(text), width)]
            + ['  ].join("");'])


def script_table(source: str) -> tuple[list[str], str]:
    """The lines between the script's BEGIN and END markers, and its UNICODE_VERSION."""
    lines = source.split("\n")
    begin = next(i for i, line in enumerate(lines) if line.startswith(BEGIN))
    end = next(i for i, line in enumerate(lines) if line.startswith(END))
    version = re.search(r'const UNICODE_VERSION = "([\d.]+)"', source).group(1)
    return lines[begin + 1:end], version


def write_table() -> None:
    lines = SCRIPT.read_text(encoding="utf-8").split("\n")
    begin = next(i for i, line in enumerate(lines) if line.startswith(BEGIN))
    end = next(i for i, line in enumerate(lines) if line.startswith(END))
    text = "\n".join(lines[:begin + 1] + table_lines() + lines[end:])
    version = f'const UNICODE_VERSION = "{unicodedata.unidata_version}"'
    text = re.sub(r'const UNICODE_VERSION = "[\d.]+"', version, text)
    SCRIPT.write_text(text, encoding="utf-8")


# ----------------------------------------------------------------------------- the corpus

ENGLISH = [
    "The cat sat on the mat because it was tired.",
    "Attention is all you need!",
    "When Mary met John at the station, she gave him the book that he had lent her.",
    "Each query asks every key how well it matches, and the answer is a weighted average of the values.",
    "Softmax turns a row of scores into weights that are positive and sum to one.",
    "A head that copies the token after an earlier copy of the current token is an induction head.",
    "The model reads the whole sentence at once; nothing forces it to go from left to right.",
    "Scaling the scores by the square root of the key dimension keeps the softmax from saturating.",
    "A causal mask hides the future, so a decoder cannot peek at the words it must predict.",
    "Multi-head attention runs several small attentions side by side and concatenates their outputs.",
    "Positional encodings tell the model where each token stands in the sequence.",
    "The cost of attention grows with the square of the sequence length.",
    "A key-value cache keeps the keys and values of earlier tokens so that they are not recomputed.",
    "Flash attention computes the same result in tiles, without writing the full score matrix.",
    "Rotary embeddings rotate queries and keys by an angle that depends on the position.",
    "The tokenizer splits unbelievable words into pieces it has seen before.",
    "She said that the weather in the mountains was unpredictable in April.",
    "Dr. Smith's lab (room 4.12) opens at 9:30 a.m. on weekdays.",
    "Is this the right answer, or only the most likely one?",
    "They tried again, and again, and again — and finally it worked.",
    "Nobody expected the experiment to succeed on the first try.",
    "Learning rates that are too large make the loss jump around.",
    "The encoder's last layer feeds every position of the decoder.",
    "I can't believe it's not butter, said the advertisement in 1981.",
    "Please send the report to the committee before Friday afternoon.",
    "The quick brown fox jumps over the lazy dog.",
    "Pack my box with five dozen liquor jugs.",
    "How vexingly quick daft zebras jump!",
    "A sliding window lets each token see only its nearest neighbours.",
    "Sink tokens soak up attention that has nowhere better to go.",
    "The first token's final state is often used as a summary of the whole sentence.",
    "Tokens that appear together often end up with similar embeddings.",
    "Why does the heat map light up along the diagonal?",
    "Gradients flow backwards through the softmax and the dot products.",
    "He read the paper twice before he understood the figure on page seven.",
    "Our results hold across three seeds and two numerical back-ends.",
    "If the keys are all alike, the weights are uniform and the output is the mean of the values.",
    "Residual connections let each layer add a small correction to its input.",
    "Layer normalisation rescales every vector to zero mean and unit variance.",
    "The bank of the river was steep, so we walked to the bank in town instead.",
    "Time flies like an arrow; fruit flies like a banana.",
    "Colorless green ideas sleep furiously.",
    "The old man the boat.",
    "Buffalo buffalo Buffalo buffalo buffalo buffalo Buffalo buffalo.",
    "Transformers replaced recurrent networks in most language tasks within a few years.",
    "A well-tuned baseline beats a badly tuned state-of-the-art model.",
    "The pronoun 'it' refers to the animal, not the street, because the animal was tired.",
    "Write down what you expect before you run the cell.",
    "Ninety-nine bottles of lemonade stood on the shelf.",
    "Out of memory? Halve the batch size and try again.",
]

ASCII_PUNCTUATION = list(string.punctuation)
UNICODE_PUNCTUATION = list("“”‘’«»„‚‹›–—‒―…•·¿¡§¶†‡‰′″‐‑⁄「」『』【】〈〉《》、。，！？：；（）")
ACCENTED = ["café", "naïve", "Ångström", "São Paulo", "Dvořák", "façade", "ÉCOLE", "crème brûlée",
            "jalapeño", "Zürich", "Œuvre", "smørrebrød", "Łódź", "Kraków", "résumé", "Noël", "coöperate",
            "Bjørn", "Ærøskøbing", "Þór", "Citroën", "piñata", "Māori", "Tiếng Việt", "Ça va?", "Erdoğan",
            "e\u0301cole (decomposed)", "A\u030a and \u00c5"]
GREEK = ["ΟΔΟΣ", "Η ΟΔΟΣ ΕΙΝΑΙ ΜΑΚΡΙΑ", "σοφία", "ΣΟΦΙΑΣ", "Ἀθῆναι", "ὁδός", "ΌΡΟΣ.", "Σίσυφος", "ΣΣ",
         "ΑΣ.Β", "λόγος", "ΟΔΟΣ\x01Α", "Α\x01Σ", "ᾼ ᾈ"]
TURKISH = ["İstanbul", "IĞDIR", "ışık", "İ", "ı", "DİYARBAKIR", "Iıİi", "İİİ"]
GERMAN = ["Straße", "STRASSE", "GROẞ", "ẞ", "ß", "Fußball", "Maß", "Grüße", "ÄÖÜ äöü"]
CHINESE = ["中文句子，带标点。", "我喜欢注意力机制！", "今天天气很好；我们去公园吧？", "“你好”，他说。",
           "模型（Transformer）很强大。", "一二三四五六七八九十", "㐀㐁𠀀𠀁 rare ideographs", "豈 更 車"]
JAPANESE = ["ひらがなとカタカナ", "これは日本語の文です。", "カタカナ・テスト", "ｶﾀｶﾅ ﾃｽﾄ", "ラーメン",
            "東京へ行きます。", "が ぱ ガ パ"]
KOREAN = ["한국어 문장입니다.", "안녕하세요!", "주의 메커니즘", "ㄱㄴㄷ", "한글"]
EMOJI = ["😀", "👍🏽", "👩\u200d👩\u200d👧\u200d👦", "🏳️\u200d🌈", "❤️", "🇫🇷", "👩🏽\u200d💻", "🧑\u200d🚀",
         "😂😂😂", "🥰", "🫠", "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f", "1️⃣",
         "☕", "✨", "🙂", "ok👍", "☺", "♥"]
WHITESPACE = ["\t", "\n", "\r\n", "\r", "\u00a0", "\u2003", "\u2009", "\u3000", "\u2028", "\u2029",
              "\u202f", "\u205f", "\u1680", "  ", " \t "]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u180e", "\u00ad", "\u200e", "\u200f",
             "\u202a", "\u202c", "\u2066", "\u2069"]
CONTROL = [chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"] + [
    "\x7f", "\x85", "\x9f", "\ufffd", "\ue000", "\U000f0000"]
NUMBERS = ["3.14", "1,000,000", "42", "½", "x²", "١٢٣", "①②", "Ⅻ", "ⅻ", "1e-9", "-273.15°C", "$19.99",
           "50%", "२०२४", "٣٫١٤", "0x1F600", "10^6", "№ 5", "€2,50", "£100", "¥500"]
URLS = ["https://example.com/path?q=1&x=y#frag", "http://localhost:8000/index.html",
        "user.name+tag@example.org", "www.d2l.ai", "ftp://files.example.net/a_b-c~d",
        "C:\\Users\\reader\\file.txt", "@handle", "#hashtag", "https://zh.wikipedia.org/wiki/注意力",
        "<a href=\"x\">link</a>", "{\"key\": [1, 2]}", "`code`", "a|b", "~/.bashrc"]
OTHER_SCRIPTS = ["Привет, мир!", "Ёлка", "שלום עולם", "مرحبا بالعالم", "नमस्ते दुनिया", "สวัสดีครับ",
                 "Բարեւ", "გამარჯობა", "ሰላም", "𐐀𐐨 Deseret", "𝐀𝐁𝐂 math bold", "ＡＢＣ ｆｕｌｌ",
                 "ﬁnance ﬂow", "\u212b \u2126 \u212a", "Ⓐⓑ", "𞤀𞤢 Adlam", "ǅemal ǈ ǋ", "ŉ ǰ ΐ",
                 "[unused0]", "##ing"]
# Where the tokenizers library (0.23.3 when this was written) and utils.pretrained part ways; the
# browser must equal Python here too. The library: matches its special tokens in the raw text
# (case-sensitive, so "[cls]" is plain text to both); keeps unassigned code points (Cn) as [UNK]
# words where Python, like Google's BERT, drops every C* code point (so also the characters of
# Unicode 15-17, unassigned to Python 3.11); has older Unicode tables (no new punctuation or marks
# of Unicode 13-14; U+1734 and U+166D in their old categories); and starts CJK Extension E at
# U+2B920 where Python and Google's BERT say U+2B820.
# test_where_the_library_differs_the_browser_still_equals_python checks that these still differ.
LIBRARY_DIFFERS = [
    "Predict the [MASK] token, not [CLS] nor [SEP].",
    "noncharacters \ufdd0\uffff\U0001fffe and unassigned \u0378\U000e0000 code points",
    "new in Unicode 13 and 14: a\u061db a\u2e52b a\u0c3cb a\U00011070b",
    "category changed: Hanunoo \u1734 and Canadian a\u166db",
    "new in Unicode 15-17: a\ua7cbb a\U0001e4d0b a\U00031350b a\U0002ebf0b x\u1c89x",
    "CJK extension E: a\U0002b820b",
]
SPECIAL = (ACCENTED + GREEK + TURKISH + GERMAN + CHINESE + JAPANESE + KOREAN + EMOJI + NUMBERS + URLS
           + OTHER_SCRIPTS)
MARKS = [chr(c) for c in range(0x300, 0x370)] + ["\u0483", "\u0591", "\u05b0", "\u064b", "\u0903",
                                                 "\u093c", "\u20dd", "\u0e31", "\u302a"]


def _unknown(rng):
    return "".join(rng.choices("bcdfghjklmnpqrstvwxz", k=rng.randint(3, 14)))


def _long(rng):
    n = rng.choice([99, 100, 101, 102, 150, 300])
    kind = rng.randrange(4)
    if kind == 0:
        return "".join(rng.choices(string.ascii_letters, k=n))
    if kind == 1:  # composed accents: n code points, 2n after NFD, n again after stripping
        return "é" * n
    if kind == 2:  # vocabulary words glued together: pieces up to 100 code points
        return ("attention" * 40)[:n]
    return "a" + "\u0301" * n  # one letter under many accents: short again after stripping


def _zalgo(rng):
    word = rng.choice(["attention", "zalgo", "head", "ok"])
    return "".join(c + "".join(rng.choices(MARKS, k=rng.randint(0, 4))) for c in word)


def _mixed_case(rng, text):
    how = rng.randrange(4)
    if how == 0:
        return text.upper()
    if how == 1:
        return text.title()
    if how == 2:
        return "".join(c.upper() if rng.random() < 0.5 else c for c in text)
    return text


POOLS = [
    lambda rng: rng.choice(ASCII_PUNCTUATION) * rng.randint(1, 3),
    lambda rng: rng.choice(UNICODE_PUNCTUATION),
    lambda rng: rng.choice(ACCENTED), lambda rng: rng.choice(GREEK), lambda rng: rng.choice(TURKISH),
    lambda rng: rng.choice(GERMAN), lambda rng: rng.choice(CHINESE), lambda rng: rng.choice(JAPANESE),
    lambda rng: rng.choice(KOREAN), lambda rng: rng.choice(EMOJI), lambda rng: rng.choice(INVISIBLE),
    lambda rng: rng.choice(CONTROL), lambda rng: rng.choice(NUMBERS), lambda rng: rng.choice(URLS),
    lambda rng: rng.choice(OTHER_SCRIPTS), _unknown, _long, _zalgo,
    lambda rng: str(rng.randint(0, 10 ** rng.randint(1, 12))),
]


def corpus(n_random: int = 900) -> list[str]:
    """Every hand-written sentence and fragment once, then n_random seeded mixtures: an English
    sentence with 1-5 fragments from the pools inserted between its words (or glued to them),
    its case sometimes changed, its spaces sometimes replaced by other whitespace."""
    rng = random.Random(20261207)
    out = ENGLISH + SPECIAL + ["".join(ASCII_PUNCTUATION), " ".join(ASCII_PUNCTUATION),
                               "".join(UNICODE_PUNCTUATION), "x".join(CONTROL) + "x",
                               "a" + "".join(INVISIBLE) + "b", "a" + "b".join(WHITESPACE) + "c",
                               "[cls] [mask] [sep] [pad] [unk] [Mask] [ CLS ]"]
    for _ in range(n_random):
        words = rng.choice(ENGLISH).split(" ")
        for _ in range(rng.randint(1, 5)):
            fragment = rng.choice(POOLS)(rng)
            i = rng.randrange(len(words) + 1)
            if rng.random() < 0.3 and i < len(words):
                words[i] = words[i] + fragment  # glued to a word
            else:
                words.insert(i, fragment)
        text = " ".join(words)
        if rng.random() < 0.3:
            text = _mixed_case(rng, text)
        if rng.random() < 0.3:
            text = "".join(rng.choice(WHITESPACE) if c == " " and rng.random() < 0.3 else c for c in text)
        out.append(text)
    return out


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def vocab_file():
    return model_dir() / "vocab.txt"


@pytest.fixture(scope="module")
def python_tok(vocab_file):
    return WordPieceTokenizer(vocab_file, max_len=BIG)


@pytest.fixture(scope="module")
def library():
    tokenizers = pytest.importorskip("tokenizers")
    tok = tokenizers.Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    return tok


@pytest.fixture(scope="module")
def page(browser, vocab_file):
    """about:blank with the script loaded as a classic <script>; window.WP: the MiniLM vocabulary's
    tokenizer with the default maxLen (256)."""
    context = browser.new_context()
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("about:blank")
    page.add_script_tag(content=SCRIPT.read_text(encoding="utf-8"))
    page.evaluate("vocab => { window.VOCAB = vocab; window.WP = new SAWordPiece(vocab); }",
                  vocab_file.read_text(encoding="utf-8"))
    assert not errors, errors
    yield page
    assert not errors, errors
    context.close()


# ----------------------------------------------------------------------------- tests


def test_the_class_table_is_pythons_unicodedata():
    lines, version = script_table(SCRIPT.read_text(encoding="utf-8"))
    regenerate = f"regenerate it: PYTHONPATH=. {sys.executable} tests/test_wordpiece_js.py"
    assert version == unicodedata.unidata_version, (
        f"the script's table is from Unicode {version}, this Python's unicodedata is "
        f"{unicodedata.unidata_version}: {regenerate}")
    assert lines == table_lines(), f"the script's class table is not this Python's unicodedata: {regenerate}"


SPAN = [(0, 0xD800), (0xE000, 0x40000), (0xE0000, 0xE1000)]  # planes 0-3 and 14, no surrogates


def _spans(dropped: bool) -> list[tuple[int, int]]:
    """The parts of SPAN whose code points Python drops (dropped=True) or keeps."""
    runs = class_runs()
    bounds = [(cp, nxt, k) for (cp, k), (nxt, _) in zip(runs, runs[1:] + ((0x110000, ""),))]
    out = [(max(a, lo), min(b, hi)) for lo, hi in SPAN for a, b, k in bounds
           if (k == "D") == dropped and a < hi and b > lo]
    return out


def test_every_code_point_gives_pythons_words_in_the_browser(page, python_tok):
    """Every code point of planes 0-3 and 14 (where Unicode assigns new characters, which Python
    3.11 calls unassigned and drops), each between spaces, lowered and decomposed by the browser:
    Python's words. The code points Python drops (the table's class D, which the first test
    holds to Python's rule) give no word at all; the others give Python's words."""
    words = """spans => {
        const chars = [];
        for (const [a, b] of spans) for (let c = a; c < b; c++) chars.push(String.fromCodePoint(c));
        return [chars.length, WP.words(chars.join(' ')).join('\\u0001')];
    }"""
    dropped, kept = _spans(True), _spans(False)
    n_dropped, ours = page.evaluate(words, dropped)
    assert n_dropped > 100_000 and ours == "", f"the browser keeps code points Python drops: {ours[:200]!r}"
    n_kept, ours = page.evaluate(words, kept)
    assert n_dropped + n_kept == sum(b - a for a, b in SPAN)
    theirs = "\x01".join(python_tok.words(" ".join(chr(c) for a, b in kept for c in range(a, b))))
    if ours != theirs:
        first = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
        pytest.fail(f"the browser's words differ from Python's near {theirs[first - 20:first + 20]!r} "
                    f"(browser: {ours[first - 20:first + 20]!r})")


# JSON made in the page: Playwright's own serialisation of 1,000 small objects takes seconds
RUN_CORPUS = """([vocab, texts, maxLen]) => {
    const wp = new SAWordPiece(vocab, {maxLen});
    return JSON.stringify(texts.map(t => {
        try {
            const {tokens, ids} = wp.encode(t);
            return {tokens, ids: Array.from(ids), typed: ids instanceof Int32Array};
        } catch (e) {
            return {error: String(e)};
        }
    }));
}"""


def test_corpus_equals_python_and_the_tokenizers_library(page, python_tok, library, vocab_file):
    texts = corpus()
    assert len(texts) >= 1000 and len(set(texts)) >= 1000
    ours = json.loads(page.evaluate(RUN_CORPUS, [vocab_file.read_text(encoding="utf-8"), texts, BIG]))
    assert len(ours) == len(texts)
    theirs = library.encode_batch(texts)
    wrong = []
    for text, js, lib in zip(texts, ours, theirs):
        tokens, ids = python_tok.encode(text)
        if not (js.get("tokens") == tokens == lib.tokens and js.get("ids") == ids == lib.ids and js["typed"]):
            wrong.append(f"{text!r}:\n  browser {js}\n  python  {tokens}\n  library {lib.tokens}")
    assert not wrong, f"{len(wrong)} of {len(texts)} sentences differ; the first:\n" + "\n".join(wrong[:5])
    # the corpus reaches what it is meant to: [UNK] words, long words, CJK, final sigma
    flat = {t for js in ours for t in js["tokens"]}
    assert {"[UNK]", "σ", "##σ", "中", "，", "ss", "istanbul"} <= flat
    assert sum(len(js["tokens"]) for js in ours) > 20_000


def test_where_the_library_differs_the_browser_still_equals_python(page, python_tok, library, vocab_file):
    vocab = vocab_file.read_text(encoding="utf-8")
    ours = json.loads(page.evaluate(RUN_CORPUS, [vocab, LIBRARY_DIFFERS, BIG]))
    for text, js in zip(LIBRARY_DIFFERS, ours):
        tokens, ids = python_tok.encode(text)
        assert (js["tokens"], js["ids"]) == (tokens, ids), text
        assert library.encode(text).ids != ids, (
            f"the tokenizers library now agrees with Python on {text!r}: move it into the corpus")


def test_vocab_is_read_as_python_reads_it_and_pieces_count_code_points(page, python_tok, tmp_path):
    """A small vocabulary with astral tokens, a token listed twice, \\r\\n line ends: the same
    ids and pieces as Python. A word of 60 astral letters is 60 code points (120 UTF-16 units),
    so it is split, not [UNK]; 101 of them are [UNK]."""
    vocab = "[PAD]\r\n[UNK]\r\n[CLS]\n[SEP]\rab\n##c\n𝐀\n##𝐀\nab\n##𝐀𝐀\n"
    (tmp_path / "vocab.txt").write_bytes(vocab.encode("utf-8"))
    py = WordPieceTokenizer(tmp_path / "vocab.txt", max_len=BIG)
    texts = ["abc", "𝐀" * 60, "𝐀" * 100, "𝐀" * 101, "ab𝐀𝐀𝐀 x", "ab" + "c" * 99, "ab" + "c" * 98]
    ours = json.loads(page.evaluate(RUN_CORPUS, [vocab, texts, BIG]))
    for text, js in zip(texts, ours):
        tokens, ids = py.encode(text)
        assert (js["tokens"], js["ids"]) == (tokens, ids), text
    assert ours[1]["tokens"].count("##𝐀𝐀") == 29 and ours[3]["tokens"] == ["[CLS]", "[UNK]", "[SEP]"]
    # lone surrogates (category Cs) are dropped; made in the page: Playwright passes no lone surrogate
    lone = page.evaluate("() => WP.words('a\\ud800b\\udc00c \\udbff\\udfff d\\ud83d')")
    assert lone == python_tok.words("a\ud800b\udc00c \U0010ffff d\ud83d") == ["abc", "d"]


BAD = """([vocab]) => {
    const message = f => { try { f(); return null; } catch (e) { return `${e.name}: ${e.message}`; } };
    const words = n => Array.from({length: n}, () => 'cat').join(' ');
    const small = new SAWordPiece(vocab, {maxLen: 5});
    return {
        number: message(() => WP.tokenize(42)),
        nothing: message(() => WP.tokenize()),
        nul: message(() => WP.encode(null)),
        array: message(() => WP.tokenize(['a'])),
        wordsNumber: message(() => WP.words(7)),
        empty: message(() => WP.tokenize('')),
        spaces: message(() => WP.tokenize(' \\t\\n\\u00a0\\u3000 ')),
        controls: message(() => WP.encode('\\u0000\\u0001\\u200b\\ufeff\\ufffd\\u0301')),
        longEmpty: message(() => WP.tokenize(' '.repeat(20000))),
        at256: message(() => WP.tokenize(words(254))),
        over256: message(() => WP.tokenize(words(255))),
        lengths: [WP.tokenize(words(254)).length, small.tokenize('a cat sat').length],
        small: message(() => small.tokenize('a cat sat on')),
        noCls: message(() => new SAWordPiece('[PAD]\\n[UNK]\\n[SEP]\\ncat\\n')),
        noPad: message(() => new SAWordPiece('[CLS]\\n[UNK]\\n[SEP]\\n')),
        notText: message(() => new SAWordPiece(undefined)),
        badMaxLen: message(() => new SAWordPiece(vocab, {maxLen: 0})),
    };
}"""


def test_bad_input_gets_a_clear_error_and_the_limit_is_256(page, vocab_file):
    got = page.evaluate(BAD, [vocab_file.read_text(encoding="utf-8")])
    expected = {
        "number": r"^TypeError: text must be a string, got a number$",
        "nothing": r"^TypeError: text must be a string, got undefined$",
        "nul": r"^TypeError: text must be a string, got null$",
        "array": r"^TypeError: text must be a string, got an array$",
        "wordsNumber": r"^TypeError: text must be a string, got a number$",
        "empty": r'^Error: text "" has no tokens \(it is empty, or only spaces and control characters\)',
        "spaces": r"^Error: text .* has no tokens",
        "controls": r"^Error: text .* has no tokens",
        "longEmpty": r'^Error: text " {40}…" has no tokens',
        "at256": None,
        "over256": r"^RangeError: text has 257 tokens with \[CLS\] and \[SEP\]; at most 256 are allowed$",
        "small": r"^RangeError: text has 6 tokens with \[CLS\] and \[SEP\]; at most 5 are allowed$",
        "noCls": r"^Error: SAWordPiece: the vocabulary has no \[CLS\] token: not a BERT vocab\.txt$",
        "noPad": r"^Error: SAWordPiece: the vocabulary has no \[PAD\] token",
        "notText": r"^TypeError: SAWordPiece: vocabText must be the text of vocab\.txt \(a string\), "
                   r"got undefined$",
        "badMaxLen": r"^RangeError: SAWordPiece: maxLen must be an integer of at least 3",
    }
    for key, pattern in expected.items():
        if pattern is None:
            assert got[key] is None, (key, got[key])
        else:
            assert got[key] is not None and re.search(pattern, got[key]), (key, got[key])
    assert got["lengths"] == [256, 5]
    # Python draws the same lines
    py = WordPieceTokenizer(vocab_file, max_len=256)
    assert len(py.tokenize(" ".join(["cat"] * 254))) == 256
    with pytest.raises(ValueError, match=r"has 257 tokens"):
        py.tokenize(" ".join(["cat"] * 255))
    for text in ["", " \t\n\u00a0\u3000 ", "\u0000\u0001\u200b\ufeff\ufffd\u0301"]:
        with pytest.raises(ValueError, match="has no tokens"):
            py.tokenize(text)


SPEED = """([texts]) => {
    const times = [], results = [];
    for (const text of texts) {
        const t0 = performance.now();
        let result;
        try { result = WP.tokenize(text).length; } catch (e) { result = e.message; }
        times.push(performance.now() - t0);
        results.push(result);
    }
    const words = WP.words(texts[0]).length;
    return {times, results, words};
}"""


def test_a_pasted_page_of_20000_characters_is_fast(page, vocab_file):
    """A reader pastes a page: 20,000 characters of prose, of CJK, of one-letter pieces (every
    word 100 letters long, the greedy match's worst case), of one endless word. Each is tokenized
    (and refused: too many tokens) in far less than a second; the script takes a few ms."""
    rng, sentences, prose = random.Random(7), corpus(0), ""
    while len(prose) < 20_000:
        prose += rng.choice(sentences) + " "
    texts = [prose[:20_000], ("中文句子，带标点。" * 3000)[:20_000], (("x" * 100 + " ") * 200)[:20_000],
             "a" * 20_000, " " * 19_999 + "a"]
    got = page.evaluate(SPEED, [texts])
    py = WordPieceTokenizer(vocab_file, max_len=256)
    assert got["words"] == len(py.words(texts[0]))
    for text, result in zip(texts, got["results"]):
        try:
            expected = len(py.tokenize(text))
        except ValueError as e:  # Python says "the model has 256 positions", the script "at most 256"
            expected = int(re.search(r"text has (\d+) tokens", str(e)).group(1))
            limit = rf"text has {expected} tokens with \[CLS\] and \[SEP\]; at most 256 are allowed"
            assert re.fullmatch(limit, result), (result, str(e))
            continue
        assert result == expected
    assert max(got["times"]) < 500, f"tokenizing 20,000 characters took {got['times']} ms in Chromium"


def test_node_reads_the_same_script(python_tok):
    """The same file under Node (module.exports): one sentence, Python's tokens."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (the browser tests above are the ones that count)")
    text = "Ångström's ΟΔΟΣ: 中文！ 👍🏽 naïve\u200bcafé"
    program = ("const W = require(process.argv[1]); const fs = require('fs');"
               "const wp = new W(fs.readFileSync(process.argv[2], 'utf8'));"
               "process.stdout.write(JSON.stringify(wp.tokenize(process.argv[3])));")
    out = subprocess.run([node, "-e", program, str(SCRIPT), str(model_dir() / "vocab.txt"), text],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    assert json.loads(out) == python_tok.tokenize(text)


if __name__ == "__main__":
    write_table()
    print(f"{SCRIPT}: class table written from Unicode {unicodedata.unidata_version}")
