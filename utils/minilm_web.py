"""MiniLM in the static page: the files the browser needs to read a reader's own sentence.

Chapter 15 (``chapters/15_pretrained_heads.ipynb``) lets a reader type a sentence and see all 72
heads of MiniLM-L6 on it. In a running kernel Python computes the maps (``utils.pretrained``); in
the static book the browser does, with no kernel and no network:

- the model, exported from the same weights ``utils.pretrained.load()`` reads, to ONNX
  (``export_onnx``), with one output: every layer's attention weights, ``(L, H, n, n)`` float32;
- onnxruntime-web (npm, vendored) runs it in WebAssembly, on one thread;
- ``utils/minilm_static/wordpiece.js`` splits the sentence into the same word pieces as
  ``utils.pretrained.WordPieceTokenizer``;
- ``utils/minilm_static/headview.js`` draws the head view and the 72-head overview.

``write_assets(directory)`` writes the model, the vocabulary, the runtime and the scripts above
(package data, ``utils/minilm_static/``: a notebook inlines the views from there too) into one
folder of the built book (``_static/minilm/``, once, for both editions); the page loads them only
when the reader asks. ``max_tokens()`` word pieces (with [CLS] and [SEP]) is the longest sentence the page
accepts: the model card's own limit (``max_seq_length`` in ``sentence_bert_config.json``).
"""

from __future__ import annotations

import html
import json
import pathlib
import shutil
from importlib import resources

import numpy as np
import torch
from torch import nn

from utils import i18n
from utils import pretrained as P
from utils.explorer import static_build

ROOT = pathlib.Path(__file__).resolve().parents[1]
RUNTIME_DIR = ROOT / "node_modules" / "onnxruntime-web" / "dist"
# the WebAssembly-only build of onnxruntime-web (no WebGPU): the script and the module it imports
RUNTIME_FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
MODEL_FILE = "minilm-l6-attention.onnx"
MANIFEST = "manifest.json"
OPSET = 17


class AttentionOnly(nn.Module):
    """``ids (1, n) long`` → MiniLM's attention weights ``(L, H, n, n)``: what the page draws.

    Taught in chapter 15 (15_pretrained_heads).
    """

    def __init__(self, bert):
        super().__init__()
        self.bert = bert

    def forward(self, ids):
        _, weights = self.bert(ids)
        return weights[0]


def max_tokens(path=None) -> int:
    """The model card's longest input in word pieces (``max_seq_length``; the model has 512 positions).

    Taught in chapter 15 (15_pretrained_heads).
    """
    folder = P.model_dir(path)
    card = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
    return int(card["max_seq_length"])


def export_onnx(minilm, path) -> pathlib.Path:
    """Write ``minilm`` (a ``utils.pretrained.MiniLM``) as ONNX to ``path``: input ``ids`` (1, n)
    int64, output ``attention`` (L, H, n, n) float32, n free. Returns the path.

    Taught in chapter 15 (15_pretrained_heads).
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    module = AttentionOnly(minilm.model).eval()
    example = torch.tensor([minilm.tokenizer.encode("a short example sentence")[1]])
    torch.onnx.export(module, (example,), str(path), input_names=["ids"], output_names=["attention"],
                      dynamic_axes={"ids": {1: "n"}, "attention": {2: "n", 3: "n"}},
                      opset_version=OPSET, dynamo=False)
    return path


def write_assets(directory, minilm=None) -> dict:
    """Write the model, ``vocab.txt``, onnxruntime-web's files and the page's scripts into
    ``directory``, and a manifest (file → bytes and SHA-256, the layer and head counts,
    ``max_tokens``). Returns the manifest.

    Taught in chapter 15 (15_pretrained_heads).
    """
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    missing = [f for f in RUNTIME_FILES if not (RUNTIME_DIR / f).exists()]
    if missing:
        raise FileNotFoundError(f"onnxruntime-web is not installed ({', '.join(missing)} missing in "
                                f"{RUNTIME_DIR}): run `npm ci` (make setup does)")
    minilm = minilm or P.load()
    source = P.model_dir() / "model.safetensors"
    export_onnx(minilm, directory / MODEL_FILE)
    shutil.copyfile(P.model_dir() / "vocab.txt", directory / "vocab.txt")
    for script in resources.files(__package__).joinpath("minilm_static").iterdir():
        if script.name.endswith((".js", ".css")):
            (directory / script.name).write_bytes(script.read_bytes())
    for name in RUNTIME_FILES:
        shutil.copyfile(RUNTIME_DIR / name, directory / name)
    files = {f.name: {"bytes": f.stat().st_size, "sha256": P.sha256_of(f)}
             for f in sorted(directory.iterdir()) if f.name != MANIFEST}
    manifest = {"model": MODEL_FILE, "vocab": "vocab.txt", "runtime": RUNTIME_FILES[0],
                "layers": minilm.n_layers, "heads": minilm.n_heads, "max_tokens": max_tokens(),
                "weights_sha256": P.sha256_of(source), "files": files}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest


# ----------------------------------------------------------------------------- the page's panel

# The words the panel shows, in each edition's language ({name} fields are filled by the script).
LABELS = {
    "en": {
        "title": "Your own sentence",
        "input": "Your sentence",
        "button": "Show its 72 heads",
        "default": "The animal didn't cross the street because it was too tired.",
        "intro": "Type a sentence: MiniLM runs on it in your browser, with no server. The model "
                 "({mb} MB) loads only when you start typing.",
        "introPlain": "Type a sentence: MiniLM runs on it in your browser, with no server. The model "
                      "loads only when you start typing.",
        "nojs": "In the online book, with JavaScript on, you can type your own sentence here and see "
                "all 72 heads on it. The explorers above show three sentences computed when the book was "
                "built.",
        "needsServer": "Your browser will not load the model from a file opened on disk. Serve the book "
                       "(make serve) or open this chapter's notebook, which draws the same views with "
                       "Python.",
        "loading": "Loading the tokenizer and the runtime…",
        "loadingModel": "Loading the model: {got} of {total} MB…",
        "loadFailed": "The model could not run: {why}",
        "empty": "Type a sentence first: the box is empty.",
        "noTokens": "Nothing to read: the sentence has no word pieces (only spaces or invisible characters).",
        "tooLong": "The sentence has {n} word pieces with [CLS] and [SEP]; MiniLM reads at most {max}. "
                   "Shorten it.",
        "running": "Running MiniLM on {n} tokens…",
        "done": "{n} tokens, all 72 heads computed in your browser in {ms} ms.",
        "unknown": "{k} of them are [UNK]: pieces that MiniLM's vocabulary does not have (emoji, rare "
                   "scripts), which it reads as one unknown token.",
    },
    "zh_CN": {
        "title": "换成你自己的句子",
        "input": "你的句子",
        "button": "显示它的 72 个头",
        "default": "The animal didn't cross the street because it was too tired.",
        "intro": "输入一个英文句子，MiniLM 就在你的浏览器里处理它，不经过任何服务器。模型（{mb} MB）"
                 "在你开始输入时才下载。",
        "introPlain": "输入一个英文句子，MiniLM 就在你的浏览器里处理它，不经过任何服务器。"
                      "模型在你开始输入时才下载。",
        "nojs": "在线阅读本书并开启 JavaScript 时，可以在这里输入自己的句子，看它在全部 72 个头上的注意力。"
                "上面的探索器展示的是构建本书时算好的三个句子。",
        "needsServer": "浏览器不允许从本地磁盘上打开的文件加载模型。请用 make serve 启动本书，"
                       "或打开本章的笔记本：它用 Python 画出同样的视图。",
        "loading": "正在加载分词器和运行时……",
        "loadingModel": "正在加载模型：{got} / {total} MB……",
        "loadFailed": "模型无法运行：{why}",
        "empty": "请先输入一个句子：输入框是空的。",
        "noTokens": "没有可读的内容：这个句子切不出任何子词（只有空格或不可见字符）。",
        "tooLong": "这个句子连同 [CLS] 和 [SEP] 共有 {n} 个子词，MiniLM 最多读 {max} 个。请缩短它。",
        "running": "MiniLM 正在处理 {n} 个词元……",
        "done": "{n} 个词元，全部 72 个头在你的浏览器里用 {ms} 毫秒算完。",
        "unknown": "其中 {k} 个是 [UNK]：MiniLM 的词表里没有的部分（表情符号、少见的文字），"
                   "模型一律当作同一个未知词元来读。",
    },
}
PANEL_NAME = "ch15-own-sentence"


def _panel_html(language, depth):
    """The static page's panel: a form, a status line and an empty view, for ``language``.
    ``depth``: how many folders the page is below the site's root (English 1, Chinese 2)."""
    words = LABELS[language]
    payload = json.dumps(words, ensure_ascii=False).replace("</", "<\\/")
    up = "../" * depth
    e = html.escape
    return (
        f'<div class="sa-own" data-sa-translated="{PANEL_NAME}" data-assets="{up}_static/minilm/" '
        f'data-language="{language}" lang="{language.replace("_", "-")}">'
        f'<p class="sa-own-title"><strong>{e(words["title"])}</strong></p>'
        f'<p class="sa-own-nojs">{e(words["nojs"])}</p>'
        f'<form class="sa-own-form" hidden><label for="{PANEL_NAME}-input">{e(words["input"])}</label> '
        f'<input id="{PANEL_NAME}-input" type="text" value="{e(words["default"])}" autocomplete="off" '
        f'spellcheck="false"> <button type="submit">{e(words["button"])}</button></form>'
        f'<p class="sa-own-status" role="status" aria-live="polite">{e(words["introPlain"])}</p>'
        f'<div class="sa-own-view"></div>'
        f'<script type="application/json" class="sa-own-labels">{payload}</script>'
        f'<script src="{up}_static/minilm/own-sentence.js" defer></script></div>'
    )


def head_view_html(tokens, weights, language=None) -> str:
    """A standalone head view and 72-head overview of ``weights`` ((L, H, n, n), rows summing to 1)
    over ``tokens``, drawn by ``headview.js`` (inlined): what the static page draws from the
    browser's numbers, here from Python's. For a notebook output (``IPython.display.HTML``).

    Taught in chapter 15 (15_pretrained_heads).
    """
    language = language or i18n.current_language()
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 4 or w.shape[2] != w.shape[3] or w.shape[2] != len(tokens):
        raise ValueError(f"weights must be (layers, heads, n, n) with n = {len(tokens)} tokens, "
                         f"got shape {w.shape}")
    if not np.isfinite(w).all():
        raise ValueError("weights contain NaN or infinity")
    # 6 decimals: a row of 256 still sums to 1 within the 1e-3 headview.js checks
    data = {"tokens": list(tokens), "weights": [round(float(v), 6) for v in w.ravel()],
            "layers": w.shape[0], "heads": w.shape[1]}
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    script = "\n".join(_static(name) for name in ("headview.js", "headview-labels.js", "headview-live.js"))
    return (f'<style>{_static("headview.css")}</style>'
            f'<div class="sa-hv-live" data-language="{language}">'
            f'<script type="application/json">{payload}</script></div><script>{script}</script>')


def _static(name):
    return resources.files(__package__).joinpath("minilm_static", name).read_text(encoding="utf-8")


class OwnSentence:
    """Chapter 15's "your own sentence": in the static book a form whose sentence MiniLM reads in
    the browser (``utils/minilm_static/own-sentence.js``); in a running kernel a text box whose
    sentence Python reads (``minilm.attention_maps``), drawn by the same views.

    Taught in chapter 15 (15_pretrained_heads).
    """

    def __init__(self, minilm):
        self.minilm = minilm

    def _ipython_display_(self):
        # display() rather than a mimebundle: ipywidgets 7 (Colab) widgets have no _repr_mimebundle_
        from IPython.display import display

        if static_build():
            if i18n.dump_folder() is not None:
                i18n.write_translation(PANEL_NAME, "html", _panel_html("zh_CN", depth=2).encode(), [])
            display({"text/html": _panel_html("en", depth=1),
                     "text/plain": "<your own sentence: a form in the static book>"}, raw=True)
        else:
            display(self._live())

    def _live(self):
        from IPython.display import HTML, clear_output, display

        words = LABELS[i18n.current_language()]
        try:
            import ipywidgets as widgets
        except ImportError:  # no widgets: the default sentence's views alone
            tokens, w = self.minilm.attention_maps(words["default"])
            return HTML(head_view_html(tokens, w))
        text = widgets.Text(value=words["default"], description=words["input"],
                            style={"description_width": "initial"},
                            layout=widgets.Layout(width="100%", max_width="40em"))
        button = widgets.Button(description=words["button"])
        out = widgets.Output()

        def show(_=None):
            with out:
                clear_output(wait=True)
                if not text.value.strip():
                    print(words["empty"])
                    return
                try:
                    tokens = self.minilm.tokenizer.tokenize(text.value)
                except ValueError as error:  # no tokens, or too many
                    print(words["noTokens"] if "no tokens" in str(error) else str(error))
                    return
                limit = max_tokens()
                if len(tokens) > limit:
                    print(words["tooLong"].format(n=len(tokens), max=limit))
                    return
                tokens, w = self.minilm.attention_maps(text.value)
                display(HTML(head_view_html(tokens, w)))

        button.on_click(show)
        text.continuous_update = False  # Enter (or leaving the box) reads the sentence, in ipywidgets 7 and 8
        text.observe(show, names="value")
        show()
        return widgets.VBox([widgets.HBox([text, button]), out])
