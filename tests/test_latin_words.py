"""Every word a Chinese page shows is Chinese, unless it is code, a token, a name, a unit or a number.

The book build (``make book``) writes what it drew for the Chinese edition into
``_build/i18n-dump/zh_CN`` (``SA_I18N_DUMP``, utils.i18n): every static explorer's Chinese
page (``<sha>.html``: its title, controls and every state) and, for every figure, the messages
its texts were drawn from (``<sha>.png.json``, checked in the catalogs' Chinese) and the tick
labels it kept as data (``<sha>.png.data.json``: tokens such as "the"). It also writes every
explorer state's raw panels (``_build/explorers/<name>.json``, ``SA_EXPLORER_DUMP``), which say
what is data: heatmap rows and columns, bar labels and the readout values a panel marks as data
(``Readout.data_keys``).

These tests walk all of it and fail on a Latin word (two letters or more) that is none of:

- a token or other data of that explorer or figure (from the dumps), or a quoted word ('the',
  “The cat sat on the mat.”): quote a token or an input sentence in a label;
- code: an identifier with ``_`` or a digit (``d_k``, ``float32``), or a name in ``CODE``;
- a proper name, an acronym or a unit the Chinese text keeps (``NAMES``, ``UNITS``).

Each entry of the allow-lists says why it may stay Latin.
"""

from __future__ import annotations

import json
import pathlib
import re
from html.parser import HTMLParser

import pytest

from utils import i18n

ROOT = pathlib.Path(__file__).resolve().parents[1]
DUMP = ROOT / "_build" / "i18n-dump" / "zh_CN"
EXPLORERS = ROOT / "_build" / "explorers"

# A Latin word: letters, with digits, _, ., ' or - inside ("local-p", "float32", "d_k").
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_.'’-]*[A-Za-z0-9_]|[A-Za-z]")
QUOTED = re.compile(r"'[^'\n]*'|‘[^’\n]*’|“[^”\n]*”|「[^」\n]*」|\[[A-Z]+\]")  # [CLS]: a special token

CODE = {  # written as code in Chinese text too
    "softmax": "the function's name, kept as written (book/locales/zh_CN/terms.yml)",
    "sqrt": "q·k / sqrt(d_k): a formula",
    "ln": "ln 10: the natural logarithm in a formula",
    "dL": "|dL/ds|: a derivative in a formula",
    "ds": "|dL/ds|: a derivative in a formula",
    "logit": "the field's word, kept in Chinese writing (logit)",
    "tracemalloc": "Python's module that measured the memory (chapter 17), named as code",
    "elu": "the feature map elu(x) + 1 of linear attention (chapter 19): a function's name, as softmax",
    "ReLU": "the feature map ReLU (chapter 19): a function's name, kept in Chinese writing",
    "exp": "the feature map exp (chapter 19): a function's name in a formula",
}
NAMES = {  # proper names and acronyms the Chinese text keeps
    "Transformer": "the model's name (d2l-zh keeps it)",
    "Bahdanau": "an author's name (Bahdanau attention)",
    "Luong": "an author's name",
    "general": "Luong et al.'s name for the bilinear score, kept as a name as the prose keeps it",
    "Nadaraya": "an author's name (Nadaraya–Watson)",
    "Watson": "an author's name (Nadaraya–Watson)",
    "NumPy": "a library's name",
    "PyTorch": "a library's name",
    "BERT": "a model's name",
    "GPT": "a model's name",
    "RoPE": "the method's name, as 苏剑林 writes it beside 旋转式位置编码",
    "ALiBi": "the method's name (Press et al.), kept as Chinese writing keeps it",
    "NTK-aware": "bloc97's name for the scaling of RoPE's base, kept as Chinese writing keeps it",
    "MLP": "the additive score's network, as d2l-zh writes it",
    "FFN": "the feed-forward block, as d2l-zh writes it",
    "SGD": "stochastic gradient descent, as Chinese writing abbreviates it",
    "MSE": "mean squared error, as Chinese writing abbreviates it",
    "CPU": "the processor",
    "OV": "the OV circuit (Elhage et al.'s name)",
    "QK": "the QK circuit (Elhage et al.'s name)",
    "local-p": "Luong et al.'s name for predictive local attention (the glossary keeps it)",
    "local-m": "Luong et al.'s name for monotonic local attention (the glossary keeps it)",
    "FlashAttention": "the algorithm's name (Dao et al.), kept as Chinese writing keeps it",
    "IO": "the IO model of Dao et al. (reads and writes of slow memory), as Chinese writing says IO",
}
UNITS = {u: "a unit" for u in ("ms", "s", "MiB", "KiB", "GiB", "KB", "MB", "GB", "rad", "nats", "bits")}
ALLOWED = CODE | NAMES | UNITS


class _Texts(HTMLParser):
    """The text nodes of an HTML fragment outside <style> and <script>."""

    def __init__(self):
        super().__init__()
        self.texts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("style", "script")

    def handle_endtag(self, tag):
        self._skip -= tag in ("style", "script")

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.texts.append(data.strip())


def html_texts(fragment: str) -> list[str]:
    parser = _Texts()
    parser.feed(fragment)
    return parser.texts


def latin_words(text: str, data=frozenset()) -> list[str]:
    """The Latin words of a Chinese text that are not data, code, names or units."""
    text = QUOTED.sub(" ", text)
    data = {d.lower() for d in data}  # "After the storm" is data if its tokens are (an uncased model's)
    return [w for w in WORD.findall(text)
            if len(w) > 1 and w.lower() not in data and w not in ALLOWED
            and not re.search(r"[_\d]", w)]


def explorer_page_texts(page: str) -> tuple[str, list[str]]:
    """(explorer name, every text its Chinese static page can show: title, controls, states)."""
    name = re.search(r'data-explorer="([^"]+)"', page).group(1)
    payload = re.search(r'<script type="application/json" class="sa-data">(.*?)</script>', page, re.S)
    data = json.loads(payload.group(1).replace("<\\/", "</"))
    texts = html_texts(page) + [t for labels in data["labels"] for t in labels]
    for state in data["states"]:
        texts += html_texts(state)
    return name, sorted(set(texts))


def explorer_data(dump: dict) -> set[str]:
    """The Latin words an explorer shows as data: heatmap rows and columns, bar labels and the
    readout values its panels mark as data (``Readout.data_keys``)."""
    words = set()
    for state in dump["states"]:
        for panel in state["panels"]:
            labels = [*(panel.get("rows") or []), *(panel.get("cols") or []), *(panel.get("labels") or [])]
            if panel["type"] == "readout":
                labels += [panel["items"][k] for k in panel.get("data_keys", [])]
            for label in labels:
                words.update(WORD.findall(str(label)))
    return words


def explorer_failures(pages, dumps) -> list[str]:
    failures = []
    for page in pages:
        name, texts = explorer_page_texts(page)
        data = explorer_data(dumps[name]) if name in dumps else set()
        for text in texts:
            for word in latin_words(text, data):
                failures.append(f"explorer {name}: {word!r} in {text!r}")
    return failures


def figure_failures(messages_by_figure, data_by_figure=None) -> list[str]:
    failures = []
    for figure, messages in messages_by_figure.items():
        data = {w for t in (data_by_figure or {}).get(figure, []) for w in WORD.findall(t)}
        for msgid in messages:
            shown = i18n.lookup(msgid, "zh_CN")
            if shown is None:
                failures.append(f"figure {figure}: {msgid!r} has no translation (drawn in English)")
                continue
            for word in latin_words(shown, data):
                failures.append(f"figure {figure}: {word!r} in {shown!r}")
    return failures


def _report(failures) -> str:
    head = (f"{len(failures)} Latin words on Chinese pages that are not code, data, names or units "
            "(translate them in the chapter's utils/i18n/locales/zh_CN/*.po; mark a readout value that is "
            "data with Readout(..., data_keys=[...]); or add a word with its reason to the allow-lists "
            "in tests/test_latin_words.py):")
    return "\n".join([head, *(f"  {f}" for f in sorted(set(failures)))])


@pytest.fixture(scope="module")
def dumps(built_html):
    if not DUMP.is_dir() or not EXPLORERS.is_dir():
        pytest.fail(f"{DUMP} or {EXPLORERS} is missing: build the book with `make book`")
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(EXPLORERS.glob("*.json"))}


def test_every_word_a_chinese_explorer_shows_is_chinese(dumps):
    pages = [p.read_text(encoding="utf-8") for p in sorted(DUMP.glob("explorer-*.html"))]  # not other outputs
    assert len(pages) == len(dumps), f"{len(pages)} Chinese explorer pages, {len(dumps)} explorers"
    failures = explorer_failures(pages, dumps)
    assert not failures, _report(failures)


def test_every_word_of_a_chinese_figure_is_chinese(dumps):
    figures = {p.name.split(".")[0][:12]: json.loads(p.read_text(encoding="utf-8"))
               for p in sorted(DUMP.glob("*.png.json"))}
    data = {p.name.split(".")[0][:12]: json.loads(p.read_text(encoding="utf-8"))
            for p in sorted(DUMP.glob("*.png.data.json"))}
    assert figures, f"{DUMP} holds no figure"
    failures = figure_failures(figures, data)
    assert not failures, _report(failures)


def test_the_latin_word_check_can_fail(monkeypatch):
    """Chapter 5's explorer once showed `完全被掩蔽的行（从 0 起编号）: none`: caught, while its
    tokens, code, names and numbers pass."""
    page = ('<div class="sa-explorer" data-explorer="ch05-masks"><div class="sa-view">'
            '<table><tr><th>完全被掩蔽的行（从 0 起编号）</th><td>none</td></tr></table></div>'
            '<script type="application/json" class="sa-data">'
            + json.dumps({"labels": [["0", "1"]], "states": ['<div><th>the</th><td>0.5</td>'
                                                             '<td>softmax 与 d_k, 12 ms</td></div>']})
            + "</script></div>")
    dump = {"states": [{"panels": [{"type": "heatmap", "rows": ["the", "<pad>"], "cols": None}]}]}
    assert explorer_failures([page], {"ch05-masks": dump}) == [
        "explorer ch05-masks: 'none' in 'none'"]
    assert latin_words("权重 'the' 与 Transformer（float32，3 ms）") == []
    assert latin_words("全局 global") == ["global"]
    assert latin_words("上的权重：After the storm", {"after", "the", "storm"}) == []
    monkeypatch.setitem(i18n._catalogs, "zh_CN", {"cat weights": "cat 的 weights"})
    assert sorted(figure_failures({"f": ["cat weights", "dog"]}, {"f": ["cat"]})) == [
        "figure f: 'dog' has no translation (drawn in English)",
        "figure f: 'weights' in 'cat 的 weights'"]


def test_a_figures_token_ticks_are_recorded_as_data():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.imshow([[0.5, 0.5], [0.2, 0.8]])
    ax.set_xticks([0, 1], ["the", "cat"])
    ax.set_yticks([0, 1], ["with positions", "0.5"])
    ax.set_title("weights")
    fig.canvas.draw()
    assert i18n.figure_data(fig) == ["cat", "the"]
    plt.close(fig)
