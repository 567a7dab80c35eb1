"""Induction heads: a small attention-only transformer that learns to copy. Taught in chapter 14.

Reading order: the data (random runs of tokens, repeated) → the model (attention-only blocks,
pre-LayerNorm, no MLPs) → the loss on the two parts of a sequence → the two head scores
(previous-token and induction) → ablation (switch a head off, or remove its output from one
later layer's keys only) → the training loop with checkpoints.

Conventions as in ``utils.layers``: batch first; masks are boolean with True = may attend;
every module that attends returns its weights, here one (B, n_heads, n, n) tensor per layer.
Layers and heads are indexed from 0 in code; the chapter prints them from 1 ("layer 1, head 2"
is ``(0, 1)``).
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from utils.layers import LearnedPositionalEncoding, MultiHeadAttention, causal_mask
from utils.training import shifted_seed

__all__ = [
    "repeated_sequences",
    "repeat_mask",
    "AttentionOnlyBlock",
    "AttentionOnlyTransformer",
    "next_token_losses",
    "loss_by_part",
    "previous_token_targets",
    "induction_targets",
    "previous_token_score",
    "induction_score",
    "head_scores",
    "ablate",
    "ablate_path",
    "TrainingRun",
    "train",
    "phase_change_step",
]

# ----------------------------------------------------------------------------- data


def repeated_sequences(n_sequences, seq_len=32, vocab_size=32, min_prefix=8, max_prefix=16, seed=0):
    """Sequences made of a random run of tokens written again and again. Taught in chapter 14.

    For each sequence a prefix length L is drawn uniformly from [min_prefix, max_prefix], then L
    tokens uniformly from 0..vocab_size-1; the sequence repeats those L tokens until it is
    seq_len long: tokens[i] = tokens[i mod L]. The first L tokens cannot be predicted; every
    later token is a copy of the token L places back. Drawing L per sequence matters: with
    one fixed L, a single layer could predict by looking a fixed distance back.
    seed: an int, or a torch.Generator (drawn from and advanced, for a stream of batches).
    Returns tokens (n_sequences, seq_len) long and prefix_lens (n_sequences,) long.

    Taught in chapter 14 (14_induction_heads).
    """
    if not 1 <= min_prefix <= max_prefix < seq_len:
        raise ValueError(f"need 1 <= min_prefix <= max_prefix < seq_len, got min_prefix={min_prefix}, "
                         f"max_prefix={max_prefix}, seq_len={seq_len}")
    if vocab_size < 2 or n_sequences < 1:
        raise ValueError(f"need vocab_size >= 2 and n_sequences >= 1, got vocab_size={vocab_size}, "
                         f"n_sequences={n_sequences}")
    gen = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(int(seed))
    prefix_lens = torch.randint(min_prefix, max_prefix + 1, (n_sequences,), generator=gen)  # (B,)
    fresh = torch.randint(0, vocab_size, (n_sequences, seq_len), generator=gen)  # (B, n)
    source = torch.arange(seq_len)[None, :] % prefix_lens[:, None]  # (B, n): i mod L
    return fresh.gather(1, source), prefix_lens


def repeat_mask(prefix_lens, seq_len):
    """(B, seq_len) bool: True at positions i >= L, whose token is a copy of the token L back.

    Taught in chapter 14 (14_induction_heads).
    """
    return torch.arange(seq_len)[None, :] >= torch.as_tensor(prefix_lens)[:, None]


# ----------------------------------------------------------------------------- the model


class AttentionOnlyBlock(nn.Module):
    """One pre-LayerNorm attention-only block: X + MultiHead(LN(X)), no MLP. Taught in chapter 14.

    forward(X (B, n, d_model), mask) → (X + attended (B, n, d_model), weights (B, n_heads, n, n)).
    The attention is utils.layers.MultiHeadAttention; its output is added to the residual stream.

    Taught in chapter 14 (14_induction_heads).
    """

    def __init__(self, d_model, n_heads):
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.attention = MultiHeadAttention(d_model, n_heads)

    def forward(self, X, mask=None):
        h = self.norm(X)  # (B, n, d_model)
        attended, weights = self.attention(h, h, h, mask)  # (B, n, d_model), (B, n_heads, n, n)
        return X + attended, weights


class AttentionOnlyTransformer(nn.Module):
    """A decoder-only transformer without MLPs: embeddings, attention blocks, unembedding.

    Taught in chapter 14. Token embedding plus a learned position vector start the residual
    stream; each block adds what its heads read (causally: position i sees 0..i); a final
    LayerNorm and a linear map give next-token logits.
    forward(tokens (B, n) long, n <= max_len) → (logits (B, n, vocab_size),
    [weights of each layer (B, n_heads, n, n)]). Row i of the logits predicts token i + 1.

    Taught in chapter 14 (14_induction_heads).
    """

    def __init__(self, vocab_size=32, d_model=64, n_heads=2, n_layers=2, max_len=32):
        super().__init__()
        if n_layers < 1 or vocab_size < 2:
            raise ValueError(f"need n_layers >= 1 and vocab_size >= 2, got n_layers={n_layers}, "
                             f"vocab_size={vocab_size}")
        self.vocab_size, self.max_len = vocab_size, max_len
        self.embedding = nn.Embedding(vocab_size, d_model)
        self.positions = LearnedPositionalEncoding(d_model, max_len)
        self.blocks = nn.ModuleList(AttentionOnlyBlock(d_model, n_heads) for _ in range(n_layers))
        self.norm = nn.LayerNorm(d_model)
        self.unembed = nn.Linear(d_model, vocab_size)

    @property
    def n_heads(self):
        return self.blocks[0].attention.n_heads

    def forward(self, tokens):
        self._check_tokens(tokens)
        X = self.positions(self.embedding(tokens))  # (B, n, d_model): the residual stream
        mask = causal_mask(tokens.shape[1], tokens.device)  # (n, n), True = may attend
        weights = []
        for block in self.blocks:
            X, w = block(X, mask)  # (B, n, d_model), (B, n_heads, n, n)
            weights.append(w)
        return self.unembed(self.norm(X)), weights  # (B, n, vocab_size)

    def _check_tokens(self, tokens):
        if not isinstance(tokens, torch.Tensor) or tokens.dtype != torch.long or tokens.dim() != 2:
            is_tensor = isinstance(tokens, torch.Tensor)
            got = f"{tokens.dtype} {tuple(tokens.shape)}" if is_tensor else type(tokens).__name__
            raise ValueError(f"tokens must be a long tensor (B, n), got {got}")
        if not 1 <= tokens.shape[1] <= self.max_len:
            raise ValueError(f"tokens {tuple(tokens.shape)} have {tokens.shape[1]} positions; "
                             f"the model has 1..max_len={self.max_len}")
        if tokens.numel() and (tokens.min() < 0 or tokens.max() >= self.vocab_size):
            raise ValueError(f"token ids must lie in 0..{self.vocab_size - 1}, got "
                             f"{int(tokens.min())}..{int(tokens.max())}")


# ----------------------------------------------------------------------------- losses


def next_token_losses(model, tokens):
    """Cross-entropy of every next-token prediction: (B, n - 1), entry i for predicting tokens[:, i+1].

    Taught in chapter 14 (14_induction_heads).
    """
    logits, _ = model(tokens)  # (B, n, vocab)
    return F.cross_entropy(logits[:, :-1].transpose(1, 2), tokens[:, 1:], reduction="none")  # (B, n-1)


def loss_by_part(losses, prefix_lens):
    """Mean loss of the predictions made from a first occurrence and from a repeat. Chapter 14.

    losses: (B, n - 1) from next_token_losses; entry i is the prediction made at position i (of
    token i + 1). Position i holds a repeat iff i >= L: then the token after its earlier copy
    gives the answer away. Positions i < L have seen no repeat yet; they include i = L - 1,
    whose next token is the first copy, which nothing announces (L is random).
    Returns (prefix_loss, repeat_loss), two scalar tensors: the means over i < L and i >= L.

    Taught in chapter 14 (14_induction_heads).
    """
    B, m = losses.shape
    prefix_lens = torch.as_tensor(prefix_lens)
    if prefix_lens.shape != (B,):
        raise ValueError(f"prefix_lens must be (B,) = ({B},), got {tuple(prefix_lens.shape)}")
    repeat = repeat_mask(prefix_lens, m)  # (B, n - 1): is the token at position i a repeat?
    return losses[~repeat].mean(), losses[repeat].mean()


# ----------------------------------------------------------------------------- head scores


def previous_token_targets(n):
    """(n, n) bool: True at (i, i - 1), the key a previous-token head attends to from query i.

    Taught in chapter 14 (14_induction_heads).
    """
    return torch.ones(n, n, dtype=torch.bool).tril(-1) & ~torch.ones(n, n, dtype=torch.bool).tril(-2)


def induction_targets(prefix_lens, n):
    """(B, n, n) bool: True at (i, j) when token j - 1 is an earlier copy of token i.

    In a sequence repeating a prefix of length L that is j = i + 1 - kL for k = 1, 2, ... and
    j >= 1: the positions right after earlier occurrences of the current token, which hold the
    token that comes next. Rows i < L (first occurrences) have no target.

    Taught in chapter 14 (14_induction_heads).
    """
    L = torch.as_tensor(prefix_lens)[:, None, None]  # (B, 1, 1)
    i = torch.arange(n)[None, :, None]  # (1, n, 1)
    j = torch.arange(n)[None, None, :]  # (1, 1, n)
    back = i + 1 - j  # how far back j lies, plus one: k·L for a target
    return (j >= 1) & (back >= L) & (back % L == 0)  # (B, n, n)


def _score(weights, targets, rows):
    """Mean over the chosen rows (B, n) of the weight each head puts on the targets (B, n, n)."""
    w = _as_weights(weights)  # (B, h, n, n)
    on_target = (w * targets[:, None]).sum(-1)  # (B, h, n): weight on the targets, per query
    chosen = rows[:, None].expand_as(on_target)  # (B, h, n)
    return (on_target * chosen).sum((0, 2)) / chosen[:, 0].sum()  # (h,)


def previous_token_score(weights):
    """Per head: the mean weight a query i >= 1 puts on position i - 1. Taught in chapter 14.

    weights: (B, n_heads, n, n) attention weights of one layer. Returns (n_heads,) float64
    tensor; 1 for a head that always looks exactly one token back.

    Taught in chapter 14 (14_induction_heads).
    """
    w = _as_weights(weights)
    B, _, n, _ = w.shape
    if n < 2:
        raise ValueError(f"need at least 2 positions for a previous token, got weights {tuple(w.shape)}")
    rows = (torch.arange(n) >= 1)[None, :].expand(B, n)
    return _score(w, previous_token_targets(n)[None].expand(B, n, n), rows)


def induction_score(weights, prefix_lens):
    """Per head: the mean weight a repeated token puts on the tokens after its earlier copies.

    Taught in chapter 14. weights: (B, n_heads, n, n) of one layer, on sequences from
    repeated_sequences; prefix_lens: (B,). Averages, over every query i >= L (the current
    token occurred before), the total weight on induction_targets. Returns (n_heads,)
    float64 tensor; 1 for a perfect induction head.

    Taught in chapter 14 (14_induction_heads).
    """
    w = _as_weights(weights)
    B, _, n, _ = w.shape
    prefix_lens = torch.as_tensor(prefix_lens)
    if prefix_lens.shape != (B,) or prefix_lens.dtype.is_floating_point:
        raise ValueError(f"prefix_lens must be ints (B,) = ({B},), got {prefix_lens.dtype} "
                         f"{tuple(prefix_lens.shape)}")
    if (prefix_lens < 1).any() or (prefix_lens >= n).any():
        raise ValueError(f"prefix lengths must lie in 1..n-1 = 1..{n - 1} (so that something repeats), "
                         f"got {prefix_lens.min().item()}..{prefix_lens.max().item()}")
    return _score(w, induction_targets(prefix_lens, n), repeat_mask(prefix_lens, n))


def _as_weights(weights):
    w = torch.as_tensor(weights).detach().to(torch.float64)
    if w.dim() != 4 or w.shape[-1] != w.shape[-2]:
        raise ValueError(f"weights must be (B, n_heads, n, n), got {tuple(w.shape)}")
    if not torch.isfinite(w).all() or (w < -1e-9).any() or not torch.allclose(
            w.sum(-1), torch.ones((), dtype=w.dtype), atol=1e-4):
        raise ValueError(f"weights {tuple(w.shape)} must be finite, >= 0, with rows summing to 1")
    return w


@torch.no_grad()
def head_scores(model, tokens, prefix_lens):
    """Both scores of every head, and the two losses, on one batch. Taught in chapter 14.

    Returns a dict of NumPy arrays: "previous_token" and "induction" (n_layers, n_heads),
    "prefix_loss" and "repeat_loss" (floats).

    Taught in chapter 14 (14_induction_heads).
    """
    logits, weights = model(tokens)
    losses = F.cross_entropy(logits[:, :-1].transpose(1, 2), tokens[:, 1:], reduction="none")
    prefix_loss, repeat_loss = loss_by_part(losses, prefix_lens)
    return {"previous_token": np.stack([previous_token_score(w).numpy() for w in weights]),
            "induction": np.stack([induction_score(w, prefix_lens).numpy() for w in weights]),
            "prefix_loss": prefix_loss.item(), "repeat_loss": repeat_loss.item()}


# ----------------------------------------------------------------------------- ablation


@contextlib.contextmanager
def ablate(model, heads):
    """Switch heads off inside a `with` block: each one's output is set to zero. Chapter 14.

    heads: iterable of (layer, head), 0-based. A forward pre-hook on the layer's output
    projection W_o zeroes the head's d_head columns of Concat(head_1..h) before W_o mixes them,
    so the head adds nothing to the residual stream (W_o's bias, shared by all heads, stays).
    Its attention weights are still computed and returned. The hooks are removed on exit.

    Taught in chapter 14 (14_induction_heads).
    """
    heads = [tuple(h) for h in heads]
    n_layers, n_heads = len(model.blocks), model.n_heads
    for pair in heads:
        if len(pair) != 2 or not (0 <= pair[0] < n_layers and 0 <= pair[1] < n_heads):
            raise ValueError(f"heads must be (layer, head) pairs with 0 <= layer < {n_layers} and "
                             f"0 <= head < {n_heads}, got {pair}")
    handles = []
    try:
        for layer in sorted({layer for layer, _ in heads}):
            attention = model.blocks[layer].attention
            keep = torch.ones(attention.d_model)  # (d_model,) over the concatenated heads
            for _, head in (p for p in heads if p[0] == layer):
                keep[head * attention.d_head : (head + 1) * attention.d_head] = 0.0

            def zero_heads(module, args, keep=keep):
                return (args[0] * keep.to(args[0].dtype),)  # (B, n, d_model), chosen heads zeroed

            handles.append(attention.w_o.register_forward_pre_hook(zero_heads))
        yield model
    finally:
        for handle in handles:
            handle.remove()


PARTS = ("query", "key", "value")


@contextlib.contextmanager
def ablate_path(model, heads, reader, parts=("key",)):
    """Remove heads' outputs from what one later layer reads as keys (or queries, values) only.

    Taught in chapter 14. heads: iterable of (layer, head), 0-based, each in a layer before
    `reader`; parts: a subset of ("query", "key", "value"). Inside the `with` block, layer
    `reader` computes its chosen inputs from LN(X - c) instead of LN(X), where X is the stream
    entering it and c the chosen heads' outputs (through their columns of W_o, without W_o's
    bias); its other inputs, every other layer and the residual stream itself are untouched.
    With parts=("key",) this isolates K-composition: the heads still write to the stream, the
    reader's queries and values and the direct path to the output still see it, and only the
    reader's keys are computed as if the heads had written nothing. (Layers between a head and
    the reader still read the head's output: only the reader's inputs change.)
    The hooks are removed on exit.

    Taught in chapter 14 (14_induction_heads).
    """
    heads = [tuple(h) for h in heads]
    parts = tuple(parts)
    n_layers, n_heads = len(model.blocks), model.n_heads
    if not 0 < reader < n_layers:
        raise ValueError(f"reader must be a layer after the first, 1..{n_layers - 1}, got {reader}")
    for pair in heads:
        if len(pair) != 2 or not (0 <= pair[0] < reader and 0 <= pair[1] < n_heads):
            raise ValueError(f"heads must be (layer, head) pairs with 0 <= layer < reader = {reader} and "
                             f"0 <= head < {n_heads}, got {pair}")
    if not parts or any(p not in PARTS for p in parts):
        raise ValueError(f"parts must be a non-empty subset of {PARTS}, got {parts}")
    written = {}  # writer layer -> (B, n, d_model): the chosen heads' outputs in this forward pass
    entering = {}  # the stream X entering the reader block
    handles = []
    try:
        for layer in sorted({layer for layer, _ in heads}):
            attention = model.blocks[layer].attention
            keep = torch.zeros(attention.d_model)  # (d_model,): 1 on the chosen heads' columns
            for _, head in (p for p in heads if p[0] == layer):
                keep[head * attention.d_head : (head + 1) * attention.d_head] = 1.0

            def record(module, args, layer=layer, keep=keep):
                concat = args[0] * keep.to(args[0].dtype)  # (B, n, d_model): only the chosen heads
                written[layer] = concat @ module.weight.T  # (B, n, d_model), no bias

            handles.append(attention.w_o.register_forward_pre_hook(record))
        block = model.blocks[reader]

        def grab_stream(module, args):
            entering["X"] = args[0]  # (B, n, d_model)

        def swap_inputs(module, args):
            query, key, value, *rest = args
            cleaned = block.norm(entering["X"] - sum(written.values()))  # (B, n, d_model)
            chosen = {"query": query, "key": key, "value": value}
            for part in parts:
                chosen[part] = cleaned
            return (chosen["query"], chosen["key"], chosen["value"], *rest)

        handles.append(block.register_forward_pre_hook(grab_stream))
        handles.append(block.attention.register_forward_pre_hook(swap_inputs))
        yield model
    finally:
        for handle in handles:
            handle.remove()


# ----------------------------------------------------------------------------- training


@dataclass
class TrainingRun:
    """What train() records. Taught in chapter 14.

    loss, prefix_loss, repeat_loss: (steps,) float64 arrays, the training batch's losses at each
    step (all predictions, the prefix's, the repeats'). lr: (steps,) learning rate used.
    checkpoints: {step: state_dict} (step 0 = before training); seconds: wall-clock time.

    Taught in chapter 14 (14_induction_heads).
    """

    loss: np.ndarray
    prefix_loss: np.ndarray
    repeat_loss: np.ndarray
    lr: np.ndarray
    checkpoints: dict = field(default_factory=dict)
    seconds: float = 0.0


def train(model, steps=800, batch_size=64, lr=1e-3, warmup=0, weight_decay=0.01, seed=0,
          checkpoints=(), min_prefix=8, max_prefix=16, threads=1):
    """Train on fresh repeated_sequences batches with AdamW. Taught in chapter 14.

    Every step draws a new batch (seq_len = model.max_len) from a generator seeded with `seed`
    (plus SA_SEED, through utils.training.shifted_seed), so no sequence is seen twice.
    warmup: the learning rate rises linearly from lr/warmup to lr over the first `warmup` steps,
    then stays at lr (0 = constant from the start).
    checkpoints: the steps after which to keep a copy of the weights (0 = the initial weights).
    Runs on `threads` CPU threads (restored afterwards): with the same seed, thread count and
    initial weights, two runs are bitwise identical. Returns a TrainingRun.

    Taught in chapter 14 (14_induction_heads).
    """
    if steps < 1 or batch_size < 1 or lr <= 0 or warmup < 0:
        raise ValueError(f"need steps >= 1, batch_size >= 1, lr > 0, warmup >= 0; got steps={steps}, "
                         f"batch_size={batch_size}, lr={lr}, warmup={warmup}")
    wanted = sorted(set(int(s) for s in checkpoints))
    if wanted and not 0 <= wanted[0] <= wanted[-1] <= steps:
        raise ValueError(f"checkpoint steps must lie in 0..steps={steps}, got {wanted}")
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        gen = torch.Generator().manual_seed(shifted_seed(seed))  # SA_SEED shifts the batches too
        # foreach: all parameters in a few calls, the same update as PyTorch's per-tensor CPU default
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, foreach=True)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: min(1.0, (step + 1) / warmup) if warmup else 1.0)
        saved = {0: copy.deepcopy(model.state_dict())} if 0 in wanted else {}
        record = np.zeros((4, steps))
        model.train()
        start = time.perf_counter()
        for step in range(1, steps + 1):
            tokens, prefix_lens = repeated_sequences(batch_size, model.max_len, model.vocab_size,
                                                     min_prefix, max_prefix, seed=gen)
            losses = next_token_losses(model, tokens)  # (B, n - 1)
            loss = losses.mean()
            record[3, step - 1] = optimizer.param_groups[0]["lr"]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            with torch.no_grad():
                prefix_loss, repeat_loss = loss_by_part(losses, prefix_lens)
            record[:3, step - 1] = loss.item(), prefix_loss.item(), repeat_loss.item()
            if not math.isfinite(record[0, step - 1]):
                raise ValueError(f"the loss became {record[0, step - 1]} at step {step} (lr={lr}): "
                                 f"training diverged")
            if step in wanted:
                saved[step] = copy.deepcopy(model.state_dict())
        seconds = time.perf_counter() - start
    finally:
        torch.set_num_threads(previous_threads)
    model.eval()
    return TrainingRun(record[0], record[1], record[2], record[3], saved, seconds)


def phase_change_step(losses, threshold, window=20):
    """The first step at which the mean of the last `window` losses is below threshold.

    Taught in chapter 14. losses: (steps,) per-step losses, step 1 first (TrainingRun.repeat_loss).
    Returns that step (an int between window and steps), or None if the mean never gets below.

    Taught in chapter 14 (14_induction_heads).
    """
    losses = np.asarray(losses, dtype=float)
    if losses.ndim != 1 or not 1 <= window <= losses.size:
        raise ValueError(f"need 1-D losses with at least window={window} steps, got shape {losses.shape}")
    means = np.convolve(losses, np.ones(window) / window, mode="valid")  # means[k]: steps k+1..k+window
    below = np.flatnonzero(means < threshold)
    return int(below[0]) + window if below.size else None
