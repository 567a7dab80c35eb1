"""The book's outputs in Chinese: printed sentences, figure labels and explorer texts.

The pages' prose is translated by Sphinx from the catalogs under ``book/locales``. What the code
prints or draws is translated here, from a message table shipped with the package:
``utils/i18n/locales/zh_CN/*.po`` (one catalog per chapter, plus ``utils.po`` for this package's own
words). A message is an output line or label with its numbers taken out::

    "weights sum to 1.000 over 3 keys"  ->  msgid "weights sum to {0} over {1} keys"
                                            msgstr "{1} 个键上的权重之和为 {0}"

so one message serves every number a run prints, and the numbers shown in Chinese are the
numbers the code computed. A line without two Latin letters in a row (a matrix, a number) is
not a message. A line with no translation stays in English and is recorded as missing (the
tests fail on any).

Three places use it:

- **The Chinese book.** The chapters execute once, for the English build, with
  ``SA_TRANSLATE=zh_CN`` and ``SA_I18N_DUMP=<folder>`` set (``make book``). Then every figure a
  cell shows is drawn twice, in English for the notebook and in Chinese into the folder (named by
  the English PNG's SHA-256), and every static explorer writes its Chinese page there too
  (named by the explorer's name). The
  Chinese build (``book/_ext/book_i18n.py``) swaps them in and translates the printed text.
- **A Chinese reader notebook** (``notebooks/zh/``) calls ``use_language("zh_CN")`` in its first
  cell: from then on figures, explorers and printed lines come out in Chinese in the kernel.
- **The tests and** ``scripts/i18n.py outputs``, which collect the messages a build met.

Taught in no chapter: the Chinese edition's machinery.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import pathlib
import re
import sys

LANGUAGES = ("en", "zh_CN")
TRANSLATE_ENV = "SA_TRANSLATE"  # build: also make the outputs in this language
DUMP_ENV = "SA_I18N_DUMP"  # build: where the translated figures and explorers go
LOCALES = pathlib.Path(__file__).resolve().parent / "locales"
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK", "WenQuanYi Zen Hei")
CJK_FONT_FILES = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",)
# Where there is no CJK font (Colab), the Chinese reader notebook installs one from PyPI:
# mplfonts ships Noto Sans CJK SC (SIL Open Font License); --no-deps keeps Colab's packages.
PIP_FONT = "mplfonts==0.0.11"
PIP_FONT_FILE = ("mplfonts", "fonts/NotoSansCJKsc-Regular.otf")

# A number as outputs print it: -1, 0.45, 1,024, 3e-05, .5 ; not the 2 of "W2" or "d_k2".
NUMBER = re.compile(r"(?<![A-Za-z_\d.])[-−]?(?:\d+(?:,\d{3})*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
WORDS = re.compile(r"[A-Za-z]{2}")

_language = "en"
_catalogs: dict = {}
_seen: list = []  # (message, translated?) in order, for the build's records


# -- catalogs -------------------------------------------------------------------------------
def read_po(path) -> dict:
    """{msgid: msgstr} of a .po file's translated, non-fuzzy messages (a small reader, no babel).

    Used by every output translation; no chapter teaches it.
    """
    entries, current, fuzzy = {}, None, False
    key = None

    def close():
        if current and current.get("msgid") and current.get("msgstr") and not current.get("fuzzy"):
            entries[current["msgid"]] = current["msgstr"]

    for raw in pathlib.Path(path).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("#~"):
            continue
        if line.startswith("#,"):
            fuzzy = "fuzzy" in line
            continue
        if not line or line.startswith("#"):
            continue
        if line.startswith("msgid "):
            close()
            current, key = {"fuzzy": fuzzy}, "msgid"
            fuzzy = False
            current[key] = _unquote(line[6:])
        elif line.startswith("msgstr "):
            key = "msgstr"
            current[key] = _unquote(line[7:])
        elif line.startswith('"') and current is not None and key:
            current[key] += _unquote(line)
    close()
    return entries


def _unquote(text: str) -> str:
    return json.loads(text) if text.startswith('"') else text


def catalog(language: str) -> dict:
    """Every output message of ``language`` (all chapters' catalogs and ``utils.po`` merged).

    Used by every output translation; no chapter teaches it.
    """
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
    if language not in _catalogs:
        merged = {}
        for path in sorted((LOCALES / language).glob("*.po")):
            merged.update(read_po(path))
        _catalogs[language] = merged
    return _catalogs[language]


# -- messages -------------------------------------------------------------------------------
def lookup(msgid: str, language: str):
    """The translation of a message, or None. Runs of spaces do not count: printed columns are
    padded to the width of their numbers, which can change from run to run (a timing).

    Used by every output translation; no chapter teaches it.
    """
    table = catalog(language)
    found = table.get(msgid)
    if found is None:
        key = ("collapsed", language)
        if key not in _catalogs:
            _catalogs[key] = {_collapse(k): v for k, v in table.items()}
        found = _catalogs[key].get(_collapse(msgid))
    return found


def _collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def message(text: str):
    """(msgid, numbers): the text with its numbers replaced by {0}, {1}, ... (braces doubled).

    Used by every output translation; no chapter teaches it.
    """
    numbers = []

    def take(match):
        numbers.append(match.group(0))
        return "\0" + str(len(numbers) - 1) + "\0"

    marked = NUMBER.sub(take, text).replace("{", "{{").replace("}", "}}")
    return re.sub("\0(\\d+)\0", r"{\1}", marked), numbers


def is_message(text: str) -> bool:
    """True if a line or label has words to translate (two Latin letters in a row).

    Used by every output translation; no chapter teaches it.
    """
    return bool(WORDS.search(text))


def translate(text: str, language: str = None, record: bool = True) -> str:
    """The text in ``language`` (default: the current one), line by line; untranslated lines stay.

    Used by every output translation; no chapter teaches it.
    """
    language = language or _language
    if language == "en" or not isinstance(text, str):
        return text
    out = []
    for line in text.split("\n"):
        if not is_message(line):
            out.append(line)
            continue
        body = line.strip()
        lead, tail = line[: len(line) - len(line.lstrip())], line[len(line.rstrip()):]
        key, numbers = message(body)
        found = lookup(key, language)
        if record:
            _seen.append((key, found is not None))
        out.append(lead + found.format(*numbers) + tail if found is not None else line)
    return "\n".join(out)


def seen(clear: bool = False) -> list:
    """The messages met so far, as (msgid, translated) pairs; clear=True empties the record.

    Used by every output translation; no chapter teaches it.
    """
    items = list(_seen)
    if clear:
        _seen.clear()
    return items


# -- figures ---------------------------------------------------------------------------------
def _cjk_font_files() -> list:
    """Font files that hold a CJK font, where matplotlib may not look: Debian's fonts-noto-cjk,
    and the Noto file of the PyPI package ``PIP_FONT`` if it is installed (not imported)."""
    import importlib.util

    files = list(CJK_FONT_FILES)
    importlib.invalidate_caches()  # a package installed since this kernel started
    spec = importlib.util.find_spec(PIP_FONT_FILE[0])
    if spec is not None and spec.submodule_search_locations:
        files += [os.path.join(folder, PIP_FONT_FILE[1]) for folder in spec.submodule_search_locations]
    return files


def _cjk_fonts() -> list:
    """Names of the CJK fonts matplotlib can use here (a font file above added if needed)."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    if not any(n in names for n in CJK_FONTS):
        for path in _cjk_font_files():
            if os.path.exists(path):
                font_manager.fontManager.addfont(path)
                names = {f.name for f in font_manager.fontManager.ttflist}
                break
    return [n for n in CJK_FONTS if n in names]


def has_cjk_font() -> bool:
    """True if matplotlib can draw Chinese here (e.g. Debian's fonts-noto-cjk, or the Noto font
    that the Chinese reader notebook installs on Colab: ``PIP_FONT``).

    Used by every output translation; no chapter teaches it.
    """
    return bool(_cjk_fonts())


@contextlib.contextmanager
def translated_figure(fig, language: str = None):
    """Within the block, the figure's titles, labels, legends and texts are in ``language``.

    Tick labels are translated only where they are words with a space ("with positions"); a
    single word on an axis is data (a token such as "the"), and numbers stay numbers.

    Used by every output translation; no chapter teaches it.
    """
    from matplotlib.axis import Tick
    from matplotlib.text import Text
    from matplotlib.ticker import FixedFormatter

    language = language or _language
    cjk = _cjk_fonts()
    if language == "en" or not cjk:  # no font to draw Chinese with (PIP_FONT not installed): keep English
        yield fig
        return
    saved_texts, saved_ticks = [], []

    def chinese(artist, text):
        # A text's font family is fixed when it is made ("sans-serif"): add the CJK font after
        # it, so that Latin letters keep their font and Chinese characters fall back to it.
        saved_texts.append((artist, artist.get_text(), artist.get_fontfamily()))
        artist.set_fontfamily([f for f in artist.get_fontfamily() if f not in cjk] + cjk)
        artist.set_text(text)

    ticks = {id(t) for tick in fig.findobj(Tick) for t in (tick.label1, tick.label2)}
    for artist in fig.findobj(Text):
        text = artist.get_text()
        if text and is_message(text) and id(artist) not in ticks:
            chinese(artist, translate(text, language))
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            formatter = axis.get_major_formatter()
            if isinstance(formatter, FixedFormatter) and any(" " in str(s) for s in formatter.seq):
                saved_ticks.append((formatter, list(formatter.seq)))
                formatter.seq = [translate(str(s), language) if " " in str(s) else s
                                 for s in formatter.seq]
                for label in axis.get_ticklabels():
                    chinese(label, label.get_text())
    try:
        yield fig
    finally:
        for artist, text, family in reversed(saved_texts):
            artist.set_text(text)
            artist.set_fontfamily(family)
        for formatter, seq in saved_ticks:
            formatter.seq = seq


# -- the build: every figure and static explorer also in the other language -----------------
def dump_folder():
    """The folder the build writes translated outputs into, or None (not a translating build).

    Used by every output translation; no chapter teaches it.
    """
    language, folder = os.environ.get(TRANSLATE_ENV, ""), os.environ.get(DUMP_ENV, "")
    if not language or not folder:
        return None
    if language not in LANGUAGES or language == "en":
        raise ValueError(f"{TRANSLATE_ENV} must be one of {LANGUAGES[1:]}, got {language!r}")
    path = pathlib.Path(folder) / language
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_translation(key: str, suffix: str, translated: bytes, messages, data=()) -> None:
    """Store ``translated`` as <key>.<suffix>, with the messages it used (.json) and the texts it
    shows as data, untranslated (.data.json: a figure's tokens on its axes). The key of a figure
    is the SHA-256 of its English PNG; the key of an explorer is ``explorer-<its name>`` (names
    are unique in the book).

    Used by every output translation; no chapter teaches it.
    """
    folder = dump_folder()
    (folder / f"{key}.{suffix}").write_bytes(translated)
    (folder / f"{key}.{suffix}.json").write_text(
        json.dumps(sorted({m for m, _ in messages}), ensure_ascii=False), encoding="utf-8")
    if data:
        (folder / f"{key}.{suffix}.data.json").write_text(
            json.dumps(sorted(set(data)), ensure_ascii=False), encoding="utf-8")


def figure_data(fig) -> list:
    """The tick labels of a drawn figure that are words without a space: data (tokens such as
    "the"), which ``translated_figure`` leaves as they are.

    Used by every output translation; no chapter teaches it.
    """
    from matplotlib.axis import Tick

    texts = {t.get_text() for tick in fig.findobj(Tick) for t in (tick.label1, tick.label2)}
    return sorted(t for t in texts if is_message(t) and " " not in t.strip())


def _png_formatter(original, language, dump: bool):
    def format_png(fig):
        if dump:
            english = original(fig)
            seen(clear=True)
            with translated_figure(fig, language):
                other = original(fig)
                data = figure_data(fig)
            raw = [base64.b64decode(x) if isinstance(x, str) else x
                   for x in (english[0] if isinstance(english, tuple) else english,
                             other[0] if isinstance(other, tuple) else other)]
            write_translation(hashlib.sha256(raw[0]).hexdigest(), "png", raw[1], seen(clear=True), data)
            return english
        with translated_figure(fig, language):
            return original(fig)

    format_png.sa_translating = True
    return format_png


def _install_png(shell, language, dump):
    from matplotlib.figure import Figure

    formatter = shell.display_formatter.formatters["image/png"]
    current = formatter.lookup_by_type(Figure) if Figure in formatter.type_printers else None
    if current is None or getattr(current, "sa_translating", False):
        return
    formatter.for_type(Figure, _png_formatter(current, language, dump))


def _install_figures(language, dump):
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    import matplotlib.pyplot as plt

    plt.close(plt.figure())  # loads the inline backend now, which registers its PNG formatter

    def ensure(*_args):
        _install_png(shell, language, dump)

    ensure()
    shell.events.register("pre_execute", ensure)  # %matplotlib or %config re-register theirs


class _TranslatingStream:
    """stdout in the notebook's language: whole lines go through ``translate``."""

    def __init__(self, stream):
        self._stream, self._buffer = stream, ""

    def write(self, text):
        self._buffer += text
        if "\n" not in self._buffer:
            return len(text)
        done, self._buffer = self._buffer.rsplit("\n", 1)
        self._stream.write(translate(done + "\n"))
        return len(text)

    def flush(self):
        if self._buffer:
            self._stream.write(translate(self._buffer))
            self._buffer = ""
        self._stream.flush()

    def __getattr__(self, name):
        return getattr(self._stream, name)


def use_language(language: str) -> None:
    """Make this kernel's outputs speak ``language`` ("en" or "zh_CN"): figures, explorers and
    printed lines. A Chinese reader notebook calls it in its first cell.

    Used by every output translation; no chapter teaches it.
    """
    global _language
    catalog(language)  # fails early on an unknown language
    _language = language
    if language == "en":
        return
    if not isinstance(sys.stdout, _TranslatingStream):
        sys.stdout = _TranslatingStream(sys.stdout)
    _install_figures(language, dump=False)


def current_language() -> str:
    """The language outputs are made in ("en" unless ``use_language`` changed it).

    Used by every output translation; no chapter teaches it.
    """
    return _language


def install_from_environment() -> None:
    """In a translating build (``SA_TRANSLATE`` and ``SA_I18N_DUMP`` set), draw every displayed
    figure in both languages. The build's kernels call it as they start (scripts/build_book.py).

    Used by every output translation; no chapter teaches it.
    """
    if dump_folder() is not None:
        _install_figures(os.environ[TRANSLATE_ENV], dump=True)


# -- explorers ------------------------------------------------------------------------------
def translate_panel(panel, language: str = None):
    """A copy of an explorer panel (``utils.explorer.Panel``) with its words in ``language``:
    each panel type says which of its texts are words (``Panel.translated``).

    Used by every output translation; no chapter teaches it.
    """
    language = language or _language
    if language == "en":
        return panel
    return panel.translated(lambda text: translate(text, language))
