"""Attention and the Transformer as PyTorch modules, in the order the book builds them.

attention layers → multi-head → positional encodings → FFN and Add & Norm → encoder and
decoder blocks → Encoder, Decoder, Transformer → an RNN decoder with Bahdanau attention.

Conventions: batch first, (batch, n, features). Masks are boolean with True = may attend
(as in ``F.scaled_dot_product_attention``); ``nn.MultiheadAttention`` and the
``nn.Transformer*`` layers use the opposite, True = blocked, so pass them ``~mask``.
A query whose keys are all masked gets zero weights and a zero output, never NaN.
Every module that attends returns the weights it used, so chapters can draw them.
Dropout is 0 by default, so outputs are deterministic.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from utils.attention import sinusoidal_encoding

# ----------------------------------------------------------------------------- masks


def padding_mask(valid_lens, n_k):
    """Bool mask from valid lengths: key j may be attended to iff j < valid_len.

    valid_lens: int tensor (batch,) or (batch, n_q). Returns (batch, 1, n_k) or (batch, n_q, n_k).

    Taught in chapter 5 (05_masking).
    """
    valid_lens = torch.as_tensor(valid_lens)
    if valid_lens.dim() == 1:
        valid_lens = valid_lens[:, None]  # (batch, 1)
    return torch.arange(n_k, device=valid_lens.device) < valid_lens[..., None]  # (batch, ·, n_k)


def causal_mask(n, device=None):
    """(n, n) bool, True where j <= i: position i sees itself and the past only.

    Taught in chapter 5 (05_masking).
    """
    return torch.ones(n, n, dtype=torch.bool, device=device).tril()


def masked_softmax(scores, mask=None):
    """Softmax over the last axis with masked positions set to weight 0.

    scores: (..., n_q, n_k). mask: bool broadcastable to scores, True = may attend.
    Fully masked rows return zeros (and zero gradients) instead of NaN.

    Taught in chapter 5 (05_masking).
    """
    if mask is None:
        return F.softmax(scores, dim=-1)
    _check_mask(mask, scores.shape)
    row_ok = mask.any(dim=-1, keepdim=True)  # (..., n_q, 1): False on fully masked rows
    if bool(row_ok.all()):  # the usual case (causal, padding): every row has a key to attend to
        # the same -inf as below, without the two steps that only fully masked rows need;
        # torch.where is also about twice as fast as masked_fill on a CPU
        return F.softmax(torch.where(mask, scores, float("-inf")), dim=-1)
    scores = scores.masked_fill(~mask, float("-inf")).masked_fill(~row_ok, 0.0)
    return F.softmax(scores, dim=-1) * row_ok


def scaled_dot_product(Q, K, V, mask=None, dropout=None):
    """softmax(Q Kᵀ / √d_k) V.

    Q: (..., n_q, d_k)  K: (..., n_k, d_k)  V: (..., n_k, d_v)
    mask: bool broadcastable to (..., n_q, n_k), True = may attend.
    Returns output (..., n_q, d_v) and weights (..., n_q, n_k) (before dropout, if any).

    Taught in chapter 5 (05_masking).
    """
    if Q.shape[-1] != K.shape[-1]:
        raise ValueError(f"K has d_k={K.shape[-1]} but Q has d_k={Q.shape[-1]}: Q {tuple(Q.shape)}, "
                         f"K {tuple(K.shape)}")
    if V.shape[-2] != K.shape[-2]:
        raise ValueError(f"V must have one row per key: K has n_k={K.shape[-2]} rows, V has "
                         f"{V.shape[-2]}: K {tuple(K.shape)}, V {tuple(V.shape)}")
    scores = Q @ K.transpose(-2, -1) / math.sqrt(Q.shape[-1])  # (..., n_q, n_k)
    weights = masked_softmax(scores, mask)  # (..., n_q, n_k)
    used = dropout(weights) if dropout is not None else weights
    return used @ V, weights  # (..., n_q, d_v), (..., n_q, n_k)


def _check_mask(mask, shape):
    if mask.dtype != torch.bool:
        raise ValueError(f"mask must be boolean (True = may attend), got dtype {mask.dtype} "
                         f"with shape {tuple(mask.shape)}")
    try:
        fits = torch.broadcast_shapes(mask.shape, shape) == shape
    except RuntimeError:
        fits = False
    if not fits:
        raise ValueError(f"mask {tuple(mask.shape)} cannot broadcast to scores {tuple(shape)} "
                         f"(..., n_q, n_k)")


def _mask_from(mask, valid_lens, n_k):
    if valid_lens is not None:
        if mask is not None:
            raise ValueError("give either mask or valid_lens, not both")
        return padding_mask(valid_lens, n_k)
    return mask


# ----------------------------------------------------------------------------- attention layers


class ScaledDotProductAttention(nn.Module):
    """softmax(Q Kᵀ / √d_k) V, with no parameters (d2l's DotProductAttention).

    forward(queries (B, n_q, d_k), keys (B, n_k, d_k), values (B, n_k, d_v), mask=None,
    valid_lens=None) → (output (B, n_q, d_v), weights (B, n_q, n_k)).
    mask: bool broadcastable to (B, n_q, n_k), True = may attend; or valid_lens, ints
    (B,) or (B, n_q): only the first valid_lens keys count.

    Taught in chapter 5 (05_masking).
    """

    def __init__(self, dropout=0.0):
        super().__init__()
        self.dropout = nn.Dropout(dropout)

    def forward(self, queries, keys, values, mask=None, valid_lens=None):
        mask = _mask_from(mask, valid_lens, keys.shape[-2])
        return scaled_dot_product(queries, keys, values, mask, self.dropout)


class AdditiveAttention(nn.Module):
    """Additive (Bahdanau) attention: score(q, k) = w_vᵀ tanh(W_q q + W_k k).

    AdditiveAttention(key_size, query_size, num_hiddens): W_k, W_q map keys and queries
    (which may have different sizes) to num_hiddens features; w_v maps them to one score.
    forward(queries (B, n_q, query_size), keys (B, n_k, key_size), values (B, n_k, d_v),
    mask=None, valid_lens=None, projected_keys=None) → (output (B, n_q, d_v), weights (B, n_q, n_k)).
    projected_keys: W_k(keys) (B, n_k, num_hiddens) from project_keys, if the caller computed it
    already; it depends on the keys only, so a decoder that asks a new query of the same keys at
    every step computes it once (Bahdanau et al., 2014, appendix A.1.2).

    Taught in chapter 6 (06_score_functions).
    """

    def __init__(self, key_size, query_size, num_hiddens, dropout=0.0):
        super().__init__()
        self.W_k = nn.Linear(key_size, num_hiddens, bias=False)
        self.W_q = nn.Linear(query_size, num_hiddens, bias=False)
        self.w_v = nn.Linear(num_hiddens, 1, bias=False)
        self.dropout = nn.Dropout(dropout)

    def project_keys(self, keys):
        """W_k k for every key: (B, n_k, key_size) → (B, n_k, num_hiddens). No query needed."""
        return self.W_k(keys)

    def forward(self, queries, keys, values, mask=None, valid_lens=None, projected_keys=None):
        mask = _mask_from(mask, valid_lens, keys.shape[-2])
        if projected_keys is None:
            projected_keys = self.project_keys(keys)  # (B, n_k, h)
        q = self.W_q(queries).unsqueeze(2)  # (B, n_q, 1, h)
        k = projected_keys.unsqueeze(1)  # (B, 1, n_k, h)
        features = torch.tanh(q + k)  # (B, n_q, n_k, h)
        scores = self.w_v(features).squeeze(-1)  # (B, n_q, n_k)
        weights = masked_softmax(scores, mask)
        return self.dropout(weights) @ values, weights  # (B, n_q, d_v), (B, n_q, n_k)


# ----------------------------------------------------------------------------- multi-head


class MultiHeadAttention(nn.Module):
    """Multi-head attention, every head in one tensor.

    head_i = Attention(query W_q^i, key W_k^i, value W_v^i);  output = Concat(head_1..h) W_o.
    w_q, w_k, w_v, w_o are nn.Linear(d_model, d_model); head i uses the slice
    [i·d_head, (i+1)·d_head) of the projected features, d_head = d_model / n_heads.

    forward(query (B, n_q, d_model), key (B, n_k, d_model), value (B, n_k, d_model), mask=None)
    → (output (B, n_q, d_model), weights (B, n_heads, n_q, n_k)).
    mask: bool, True = may attend, broadcastable to (B, n_heads, n_q, n_k); a 3-D mask
    (B, n_q, n_k) or (B, 1, n_k) is shared by all heads (a head axis is inserted).

    Taught in chapter 9 (09_multi_head).
    """

    def __init__(self, d_model, n_heads, bias=True, dropout=0.0):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}; "
                             f"expected d_model = n_heads · d_head")
        self.d_model, self.n_heads, self.d_head = d_model, n_heads, d_model // n_heads
        self.w_q = nn.Linear(d_model, d_model, bias=bias)
        self.w_k = nn.Linear(d_model, d_model, bias=bias)
        self.w_v = nn.Linear(d_model, d_model, bias=bias)
        self.w_o = nn.Linear(d_model, d_model, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def split_heads(self, X):
        """(B, n, d_model) → (B, n_heads, n, d_head)."""
        B, n, _ = X.shape
        return X.view(B, n, self.n_heads, self.d_head).transpose(1, 2)

    def forward(self, query, key, value, mask=None):
        mask = self._head_mask(query, key, value, mask)
        Q = self.split_heads(self.w_q(query))  # (B, n_heads, n_q, d_head)
        K = self.split_heads(self.w_k(key))  # (B, n_heads, n_k, d_head)
        V = self.split_heads(self.w_v(value))  # (B, n_heads, n_k, d_head)
        heads, weights = scaled_dot_product(Q, K, V, mask, self.dropout)  # (B, n_heads, n_q, d_head)
        B, _, n_q, _ = heads.shape
        concat = heads.transpose(1, 2).reshape(B, n_q, self.d_model)  # (B, n_q, d_model)
        return self.w_o(concat), weights  # (B, n_q, d_model), (B, n_heads, n_q, n_k)

    def _head_mask(self, query, key, value, mask):
        """Check the shapes given; return the mask with a head axis if it had none."""
        shapes = f"query {tuple(query.shape)}, key {tuple(key.shape)}, value {tuple(value.shape)}"
        if any(x.dim() != 3 or x.shape[-1] != self.d_model for x in (query, key, value)):
            raise ValueError(f"query, key and value must be (B, n, d_model={self.d_model}), got {shapes}")
        if key.shape[:2] != value.shape[:2] or query.shape[0] != key.shape[0]:
            raise ValueError(f"expected query (B, n_q, d), key and value (B, n_k, d), got {shapes}")
        if mask is not None:
            if mask.dim() == 3:
                mask = mask.unsqueeze(1)  # (B, 1, n_q or 1, n_k): the same for every head
            _check_mask(mask, torch.Size((query.shape[0], self.n_heads, query.shape[1], key.shape[1])))
        return mask


class MultiHeadAttentionLoop(MultiHeadAttention):
    """The same computation and parameters as MultiHeadAttention, one head at a time.

    A Python loop over heads, each with its own slice of the weight matrices: slower, because
    it launches n_heads small products instead of one large one. State dicts are
    interchangeable with MultiHeadAttention.

    Taught in chapter 9 (09_multi_head).
    """

    def forward(self, query, key, value, mask=None):
        mask = self._head_mask(query, key, value, mask)
        heads, weights = [], []
        for i in range(self.n_heads):
            rows = slice(i * self.d_head, (i + 1) * self.d_head)
            Q = F.linear(query, self.w_q.weight[rows], _part(self.w_q.bias, rows))  # (B, n_q, d_head)
            K = F.linear(key, self.w_k.weight[rows], _part(self.w_k.bias, rows))  # (B, n_k, d_head)
            V = F.linear(value, self.w_v.weight[rows], _part(self.w_v.bias, rows))  # (B, n_k, d_head)
            head_mask = mask
            if mask is not None and mask.dim() == 4:
                head_mask = mask[:, i if mask.shape[1] > 1 else 0]  # this head's (B, n_q, n_k) mask
            head, w = scaled_dot_product(Q, K, V, head_mask, self.dropout)  # (B, n_q, d_head)
            heads.append(head)
            weights.append(w)
        concat = torch.cat(heads, dim=-1)  # (B, n_q, d_model)
        return self.w_o(concat), torch.stack(weights, dim=1)  # (B, n_q, d_model), (B, h, n_q, n_k)


def _part(bias, rows):
    return None if bias is None else bias[rows]


# ----------------------------------------------------------------------------- positions


class PositionalEncoding(nn.Module):
    """Adds the sinusoidal encoding of utils.attention.sinusoidal_encoding: X + PE[:n].

    forward(X (B, n, d_model)) → (B, n, d_model), for n <= max_len. No parameters.

    Taught in chapter 10 (10_positional_encoding).
    """

    def __init__(self, d_model, max_len=1000, dropout=0.0, base=10000.0):
        super().__init__()
        PE = torch.from_numpy(sinusoidal_encoding(max_len, d_model, base))  # (max_len, d_model), float64
        self.register_buffer("PE", PE, persistent=False)  # cast to the input's dtype when added
        self.dropout = nn.Dropout(dropout)

    def forward(self, X):
        _check_length(X, self.PE.shape[0])
        return self.dropout(X + self.PE[: X.shape[1]].to(X.dtype))


class LearnedPositionalEncoding(nn.Module):
    """Adds a trained vector per position: X + P[:n], P an nn.Embedding(max_len, d_model).

    forward(X (B, n, d_model)) → (B, n, d_model), for n <= max_len.

    Taught in chapter 10 (10_positional_encoding).
    """

    def __init__(self, d_model, max_len=1000, dropout=0.0):
        super().__init__()
        self.P = nn.Embedding(max_len, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, X):
        _check_length(X, self.P.num_embeddings)
        positions = torch.arange(X.shape[1], device=X.device)  # (n,)
        return self.dropout(X + self.P(positions))


def _check_length(X, max_len):
    if X.dim() != 3 or X.shape[1] > max_len:
        raise ValueError(f"X {tuple(X.shape)} has {X.shape[1] if X.dim() == 3 else '?'} positions; "
                         f"expected (B, n, d_model) with n <= max_len={max_len}")


# ----------------------------------------------------------------------------- FFN, Add & Norm


class PositionWiseFFN(nn.Module):
    """FFN(x) = max(0, x W_1 + b_1) W_2 + b_2, applied to every position separately.

    forward(X (B, n, d_model)) → (B, n, d_model); hidden size d_ff.

    Taught in chapter 11 (11_transformer).
    """

    def __init__(self, d_model, d_ff, dropout=0.0):
        super().__init__()
        self.dense1 = nn.Linear(d_model, d_ff)
        self.dense2 = nn.Linear(d_ff, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, X):
        return self.dense2(self.dropout(F.relu(self.dense1(X))))


class AddNorm(nn.Module):
    """Residual connection then layer normalisation: LayerNorm(X + Y) (post-norm).

    forward(X, Y), both (B, n, d_model) → (B, n, d_model).

    Taught in chapter 11 (11_transformer).
    """

    def __init__(self, d_model, dropout=0.0, eps=1e-5):
        super().__init__()
        self.norm = nn.LayerNorm(d_model, eps=eps)
        self.dropout = nn.Dropout(dropout)

    def forward(self, X, Y):
        return self.norm(X + self.dropout(Y))


# ----------------------------------------------------------------------------- blocks


class EncoderBlock(nn.Module):
    """Self-attention, Add & Norm, FFN, Add & Norm (post-norm, as in the paper and PyTorch).

    forward(X (B, n, d_model), mask=None) → (Y (B, n, d_model), self_weights (B, n_heads, n, n)).
    mask: bool, True = may attend, as in MultiHeadAttention (e.g. padding_mask(lens, n)).

    Taught in chapter 11 (11_transformer).
    """

    def __init__(self, d_model, n_heads, d_ff, dropout=0.0):
        super().__init__()
        self.attention = MultiHeadAttention(d_model, n_heads, dropout=dropout)
        self.addnorm1 = AddNorm(d_model, dropout)
        self.ffn = PositionWiseFFN(d_model, d_ff, dropout)
        self.addnorm2 = AddNorm(d_model, dropout)

    def forward(self, X, mask=None):
        attended, weights = self.attention(X, X, X, mask)
        Y = self.addnorm1(X, attended)
        return self.addnorm2(Y, self.ffn(Y)), weights


class DecoderBlock(nn.Module):
    """Masked self-attention, then encoder–decoder (cross) attention, then FFN; each + Add & Norm.

    In cross-attention the queries come from the decoder, keys and values from `memory`
    (the encoder's output).
    forward(Y (B, n_t, d_model), memory (B, n_s, d_model), self_mask=None, memory_mask=None)
    → (Z (B, n_t, d_model), self_weights (B, n_heads, n_t, n_t), cross_weights (B, n_heads, n_t, n_s)).
    self_mask is usually causal_mask(n_t); memory_mask hides source padding. True = may attend.

    Taught in chapter 11 (11_transformer).
    """

    def __init__(self, d_model, n_heads, d_ff, dropout=0.0):
        super().__init__()
        self.self_attention = MultiHeadAttention(d_model, n_heads, dropout=dropout)
        self.addnorm1 = AddNorm(d_model, dropout)
        self.cross_attention = MultiHeadAttention(d_model, n_heads, dropout=dropout)
        self.addnorm2 = AddNorm(d_model, dropout)
        self.ffn = PositionWiseFFN(d_model, d_ff, dropout)
        self.addnorm3 = AddNorm(d_model, dropout)

    def forward(self, Y, memory, self_mask=None, memory_mask=None):
        attended, self_weights = self.self_attention(Y, Y, Y, self_mask)
        Y = self.addnorm1(Y, attended)
        attended, cross_weights = self.cross_attention(Y, memory, memory, memory_mask)
        Y = self.addnorm2(Y, attended)
        return self.addnorm3(Y, self.ffn(Y)), self_weights, cross_weights


class Encoder(nn.Module):
    """A stack of n_layers EncoderBlocks on vectors (no embedding).

    forward(X (B, n, d_model), mask=None) → (Y (B, n, d_model), [self_weights of each layer]).

    Taught in chapter 11 (11_transformer).
    """

    def __init__(self, d_model, n_heads, d_ff, n_layers, dropout=0.0):
        super().__init__()
        self.blocks = nn.ModuleList(EncoderBlock(d_model, n_heads, d_ff, dropout) for _ in range(n_layers))

    def forward(self, X, mask=None):
        weights = []
        for block in self.blocks:
            X, w = block(X, mask)
            weights.append(w)
        return X, weights


class Decoder(nn.Module):
    """A stack of n_layers DecoderBlocks on vectors (no embedding, no output projection).

    forward(Y (B, n_t, d_model), memory (B, n_s, d_model), self_mask=None, memory_mask=None)
    → (Z (B, n_t, d_model), {"self": [per layer (B, h, n_t, n_t)], "cross": [per layer (B, h, n_t, n_s)]}).

    Taught in chapter 11 (11_transformer).
    """

    def __init__(self, d_model, n_heads, d_ff, n_layers, dropout=0.0):
        super().__init__()
        self.blocks = nn.ModuleList(DecoderBlock(d_model, n_heads, d_ff, dropout) for _ in range(n_layers))

    def forward(self, Y, memory, self_mask=None, memory_mask=None):
        weights = {"self": [], "cross": []}
        for block in self.blocks:
            Y, w_self, w_cross = block(Y, memory, self_mask, memory_mask)
            weights["self"].append(w_self)
            weights["cross"].append(w_cross)
        return Y, weights


class Transformer(nn.Module):
    """Encoder–decoder Transformer on token ids.

    Embeddings are scaled by √d_model, then the sinusoidal encoding is added. Masks are built
    here: the decoder is causal, and if pad_id is given, padded source tokens are hidden from
    the encoder and from cross-attention, padded target tokens from decoder self-attention.

    forward(src (B, n_s) long, tgt (B, n_t) long) → (logits (B, n_t, tgt_vocab), weights) with
    weights = {"encoder": [per layer (B, h, n_s, n_s)], "decoder_self": [(B, h, n_t, n_t)],
    "decoder_cross": [(B, h, n_t, n_s)]}.

    Taught in chapter 11 (11_transformer).
    """

    def __init__(self, src_vocab, tgt_vocab, d_model=32, n_heads=4, d_ff=64, n_layers=2,
                 max_len=256, dropout=0.0, pad_id=None):
        super().__init__()
        self.d_model, self.pad_id = d_model, pad_id
        self.src_embedding = nn.Embedding(src_vocab, d_model)
        self.tgt_embedding = nn.Embedding(tgt_vocab, d_model)
        for embedding in (self.src_embedding, self.tgt_embedding):
            # entries of size 1/√d_model: after the √d_model scaling they are of size 1, like the
            # positional encoding's; PyTorch's default N(0, 1) would make them √d_model times
            # larger and drown the positions
            nn.init.normal_(embedding.weight, std=d_model**-0.5)
        self.positions = PositionalEncoding(d_model, max_len, dropout)
        self.encoder = Encoder(d_model, n_heads, d_ff, n_layers, dropout)
        self.decoder = Decoder(d_model, n_heads, d_ff, n_layers, dropout)
        self.output = nn.Linear(d_model, tgt_vocab)

    def _keys_mask(self, tokens):
        if self.pad_id is None:
            return None
        return (tokens != self.pad_id)[:, None, :]  # (B, 1, n_k): hide padded keys

    def encode(self, src):
        """src (B, n_s) → (memory (B, n_s, d_model), encoder weights list)."""
        X = self.positions(self.src_embedding(src) * math.sqrt(self.d_model))  # (B, n_s, d_model)
        return self.encoder(X, self._keys_mask(src))

    def decode(self, tgt, memory, src):
        """tgt (B, n_t), memory (B, n_s, d_model), src (B, n_s) → (logits, decoder weights dict)."""
        self_mask = causal_mask(tgt.shape[1], tgt.device)  # (n_t, n_t)
        padding = self._keys_mask(tgt)
        if padding is not None:
            self_mask = self_mask & padding  # (B, n_t, n_t)
        Y = self.positions(self.tgt_embedding(tgt) * math.sqrt(self.d_model))  # (B, n_t, d_model)
        Z, weights = self.decoder(Y, memory, self_mask, self._keys_mask(src))
        return self.output(Z), weights  # (B, n_t, tgt_vocab)

    def forward(self, src, tgt):
        memory, enc_weights = self.encode(src)
        logits, dec_weights = self.decode(tgt, memory, src)
        weights = {"encoder": enc_weights, "decoder_self": dec_weights["self"],
                   "decoder_cross": dec_weights["cross"]}
        return logits, weights


@torch.no_grad()
def greedy_decode(model, src, bos, max_len, eos=None):
    """Generate up to max_len tokens after `bos`, always taking the most likely next token.

    model: any module with forward(src, tgt) → (logits (B, n_t, vocab), weights), e.g.
    Transformer or Seq2Seq; it is rerun on the whole prefix at every step (simple, O(n²)).
    src: (B, n_s) long. If eos is given, decoding stops once every sequence has produced it
    (tokens after a sequence's eos are whatever the model predicts; cut them when reading).
    Returns tokens (B, 1 + steps) starting with bos, and the weights of the last forward call
    (None if max_len is 0): that call read tokens[:, :-1], so query row i holds the attention
    used to choose tokens[:, i + 1].

    Taught in chapter 8 (08_bahdanau).
    """
    tokens = torch.full((src.shape[0], 1), bos, dtype=torch.long, device=src.device)  # (B, 1)
    weights = None
    for _ in range(max_len):
        logits, weights = model(src, tokens)  # (B, n_t, vocab)
        next_token = logits[:, -1].argmax(dim=-1, keepdim=True)  # (B, 1)
        tokens = torch.cat([tokens, next_token], dim=1)
        if eos is not None and (tokens == eos).any(dim=1).all():
            break
    return tokens, weights


# ----------------------------------------------------------------------------- weights from PyTorch


@torch.no_grad()
def copy_from_torch_mha(ours, theirs):
    """Load nn.MultiheadAttention's weights into our MultiHeadAttention; returns ours.

    PyTorch stacks the three input projections in in_proj_weight (3·d_model, d_model):
    rows [0, d) are W_q, [d, 2d) W_k, [2d, 3d) W_v (nn.Linear stores weights as (out, in)).

    Taught in chapter 9 (09_multi_head).
    """
    d = ours.d_model
    if theirs.embed_dim != d or theirs.num_heads != ours.n_heads or theirs.in_proj_weight is None:
        raise ValueError(f"need nn.MultiheadAttention({d}, {ours.n_heads}) with kdim = vdim = embed_dim, "
                         f"got embed_dim={theirs.embed_dim}, num_heads={theirs.num_heads}")
    for i, linear in enumerate([ours.w_q, ours.w_k, ours.w_v]):
        linear.weight.copy_(theirs.in_proj_weight[i * d : (i + 1) * d])
        if linear.bias is not None:
            linear.bias.copy_(theirs.in_proj_bias[i * d : (i + 1) * d])
    ours.w_o.weight.copy_(theirs.out_proj.weight)
    if ours.w_o.bias is not None:
        ours.w_o.bias.copy_(theirs.out_proj.bias)
    return ours


@torch.no_grad()
def _copy_ffn_norms(ours, theirs, addnorms):
    _require_post_norm_relu(theirs)
    ours.ffn.dense1.load_state_dict(theirs.linear1.state_dict())
    ours.ffn.dense2.load_state_dict(theirs.linear2.state_dict())
    for addnorm, norm in zip(addnorms, [theirs.norm1, theirs.norm2, getattr(theirs, "norm3", None)]):
        addnorm.norm.load_state_dict(norm.state_dict())


def copy_from_torch_encoder_layer(ours, theirs):
    """Load nn.TransformerEncoderLayer's weights into our EncoderBlock; returns ours.

    The layer must be post-norm (norm_first=False) with ReLU, PyTorch's defaults. Given the
    same input, ``ours(X, mask)[0]`` equals ``theirs(X, src_mask=~mask)`` (in eval mode or
    with dropout 0): note PyTorch's True = blocked.

    Taught in chapter 11 (11_transformer).
    """
    copy_from_torch_mha(ours.attention, theirs.self_attn)
    _copy_ffn_norms(ours, theirs, [ours.addnorm1, ours.addnorm2])
    return ours


def copy_from_torch_decoder_layer(ours, theirs):
    """Load nn.TransformerDecoderLayer's weights into our DecoderBlock; returns ours.

    self_attn → self_attention, multihead_attn → cross_attention, norm1..3 → addnorm1..3.
    ``ours(Y, M, s, m)[0]`` equals ``theirs(Y, M, tgt_mask=~s, memory_mask=~m)``.

    Taught in chapter 11 (11_transformer).
    """
    copy_from_torch_mha(ours.self_attention, theirs.self_attn)
    copy_from_torch_mha(ours.cross_attention, theirs.multihead_attn)
    _copy_ffn_norms(ours, theirs, [ours.addnorm1, ours.addnorm2, ours.addnorm3])
    return ours


def _require_post_norm_relu(layer):
    is_relu = layer.activation is F.relu or isinstance(layer.activation, nn.ReLU)
    if layer.norm_first or not is_relu:
        raise ValueError(f"only post-norm layers with ReLU can be copied: got norm_first={layer.norm_first}, "
                         f"activation={layer.activation}")


# ----------------------------------------------------------------------------- RNN + attention


class GRUEncoder(nn.Module):
    """Embedding then a GRU over the source.

    forward(src (B, n_s) long) → (outputs (B, n_s, num_hiddens), state (num_layers, B, num_hiddens)).

    Taught in chapter 8 (08_bahdanau).
    """

    def __init__(self, vocab_size, embed_size, num_hiddens, num_layers=1, dropout=0.0):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.rnn = nn.GRU(embed_size, num_hiddens, num_layers, dropout=dropout, batch_first=True)

    def forward(self, src):
        return self.rnn(self.embedding(src))


class PlainDecoder(nn.Module):
    """GRU decoder without attention: the encoder's final state is the only context.

    That final state is concatenated to every input embedding, so all source information has
    to pass through one fixed-size vector.
    forward(tgt (B, n_t), enc_outputs, enc_state, mask=None) → (logits (B, n_t, vocab), None).

    Taught in chapter 8 (08_bahdanau).
    """

    def __init__(self, vocab_size, embed_size, num_hiddens, num_layers=1, dropout=0.0):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.rnn = nn.GRU(embed_size + num_hiddens, num_hiddens, num_layers, dropout=dropout,
                          batch_first=True)
        self.dense = nn.Linear(num_hiddens, vocab_size)

    def forward(self, tgt, enc_outputs, enc_state, mask=None):
        X = self.embedding(tgt)  # (B, n_t, embed_size)
        context = enc_state[-1].unsqueeze(1).expand(-1, X.shape[1], -1)  # (B, n_t, num_hiddens)
        outputs, _ = self.rnn(torch.cat([X, context], dim=-1), enc_state)  # (B, n_t, num_hiddens)
        return self.dense(outputs), None


class BahdanauDecoder(nn.Module):
    """GRU decoder that attends over all encoder outputs at every step (Bahdanau et al., 2014).

    At step t the query is the decoder's previous top-layer state; the keys and values are the
    encoder outputs; the context vector is concatenated with the input embedding. The keys'
    part of the score, h_j W_k, does not depend on t: it is computed once per forward call, as
    Bahdanau et al. (2014, appendix A.1.2) suggest.
    forward(tgt (B, n_t), enc_outputs (B, n_s, h), enc_state (num_layers, B, h), mask=None)
    → (logits (B, n_t, vocab), weights (B, n_t, n_s)). mask: bool (B, 1, n_s), True = may attend.

    Taught in chapter 8 (08_bahdanau).
    """

    def __init__(self, vocab_size, embed_size, num_hiddens, num_layers=1, dropout=0.0):
        super().__init__()
        self.attention = AdditiveAttention(num_hiddens, num_hiddens, num_hiddens, dropout)
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.rnn = nn.GRU(embed_size + num_hiddens, num_hiddens, num_layers, dropout=dropout,
                          batch_first=True)
        self.dense = nn.Linear(num_hiddens, vocab_size)

    def forward(self, tgt, enc_outputs, enc_state, mask=None):
        X = self.embedding(tgt)  # (B, n_t, embed_size)
        keys = self.attention.project_keys(enc_outputs)  # (B, n_s, h): h_j W_k, the same at every step
        state, outputs, weights = enc_state, [], []
        for t in range(X.shape[1]):
            query = state[-1].unsqueeze(1)  # (B, 1, h)
            context, w = self.attention(query, enc_outputs, enc_outputs, mask,
                                        projected_keys=keys)  # (B, 1, h), (B, 1, n_s)
            step_input = torch.cat([X[:, t : t + 1], context], dim=-1)  # (B, 1, embed_size + h)
            out, state = self.rnn(step_input, state)  # (B, 1, h)
            outputs.append(out)
            weights.append(w)
        outputs = torch.cat(outputs, dim=1)  # (B, n_t, h)
        return self.dense(outputs), torch.cat(weights, dim=1)  # (B, n_t, vocab), (B, n_t, n_s)


class Seq2Seq(nn.Module):
    """A GRUEncoder with a PlainDecoder or a BahdanauDecoder.

    forward(src (B, n_s), tgt (B, n_t)) → (logits (B, n_t, vocab), weights (B, n_t, n_s) or None).
    If pad_id is given, padded source positions are hidden from the attention.

    Taught in chapter 8 (08_bahdanau).
    """

    def __init__(self, encoder, decoder, pad_id=None):
        super().__init__()
        self.encoder, self.decoder, self.pad_id = encoder, decoder, pad_id

    def forward(self, src, tgt):
        enc_outputs, enc_state = self.encoder(src)
        mask = None if self.pad_id is None else (src != self.pad_id)[:, None, :]  # (B, 1, n_s)
        return self.decoder(tgt, enc_outputs, enc_state, mask)
