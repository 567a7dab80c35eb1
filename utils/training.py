"""A small, generic training loop with a progress bar, and a few helpers around it.

    history = train(model, batches, loss_fn, optimizer, epochs=20)

`batches` is anything that can be iterated once per epoch (a list of tuples, a DataLoader);
`loss_fn(model, batch)` returns a scalar loss tensor, so one loop serves regression,
classification and sequence-to-sequence alike.
"""

from __future__ import annotations

import os

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm


def set_seed(seed):
    """Seed torch and NumPy's global generators (for model initialisation and dropout).

    The environment variable SA_SEED (default 0) is added to `seed`: scripts/envelope.py trains
    every chapter's models from other seeds that way, to measure how far their claims move.
    Returns the seed used.

    Taught in chapter 1 (01_attention_pooling).
    """
    seed = shifted_seed(seed)
    torch.manual_seed(seed)
    np.random.seed(seed)
    return seed


def shifted_seed(seed):
    """`seed` plus the environment variable SA_SEED (default 0): the seed set_seed uses.

    For code that seeds its own generator for training (a torch.Generator that draws the
    training batches, say) rather than the global ones: passing its seed through here lets
    scripts/envelope.py shift it together with set_seed's.

    utils.induction.train seeds its stream of training batches through it.

    Taught in chapter 14 (14_induction_heads).
    """
    return int(seed) + int(os.environ.get("SA_SEED", "0") or 0)


def make_batches(*tensors, batch_size, shuffle=True, seed=0):
    """Split tensors (same first dimension) into a list of batches of tuples.

    The order is shuffled once with `seed`, so the list is the same on every run. Returns
    [(t1[idx], t2[idx], ...), ...]; the last batch may be smaller.

    Taught in chapter 8 (08_bahdanau).
    """
    n = tensors[0].shape[0]
    if any(t.shape[0] != n for t in tensors):
        shapes = [tuple(t.shape) for t in tensors]
        raise ValueError(f"all tensors need the same first dimension, got {shapes}")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)) if shuffle else torch.arange(n)
    return [tuple(t[order[i : i + batch_size]] for t in tensors) for i in range(0, n, batch_size)]


def train(model, batches, loss_fn, optimizer, epochs=1, clip_grad=None, progress=True, desc="training",
          scheduler=None):
    """Run `epochs` passes over `batches`, one optimizer step per batch.

    loss_fn(model, batch) → scalar tensor. clip_grad: optional max gradient norm.
    scheduler: optional learning-rate scheduler, stepped once after every optimizer step
    (e.g. torch.optim.lr_scheduler.OneCycleLR with total_steps = epochs · len(batches)).
    progress: show a tqdm bar (False to hide it). Puts the model in train mode.
    Returns the loss of every step, a list of floats.
    An optimizer built with PyTorch's default foreach=None (Adam, AdamW, SGD, ...) steps with
    foreach=True while it trains here: on a CPU the default updates one parameter tensor at a
    time in Python, foreach updates them all in a few calls; the updates are the same, bit for bit
    (tests/test_tasks_training.py checks it). The setting is restored afterwards.

    Taught in chapter 1 (01_attention_pooling).
    """
    model.train()
    defaults = [group for group in optimizer.param_groups if "foreach" in group and group["foreach"] is None]
    for group in defaults:
        group["foreach"] = True
    try:
        return _train(model, batches, loss_fn, optimizer, epochs, clip_grad, progress, desc, scheduler)
    finally:
        for group in defaults:
            group["foreach"] = None


def _train(model, batches, loss_fn, optimizer, epochs, clip_grad, progress, desc, scheduler):
    history = []
    bar = tqdm(total=epochs * len(batches), desc=desc, disable=not progress)
    for _ in range(epochs):
        for batch in batches:
            loss = loss_fn(model, batch)
            optimizer.zero_grad()
            loss.backward()
            if clip_grad is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            history.append(loss.item())
            # the bar redraws at tqdm's own pace (mininterval); set_postfix's default would redraw
            # it at every step, one widget message per step in a notebook
            bar.set_postfix(loss=f"{history[-1]:.4f}", refresh=False)
            bar.update()
    bar.close()
    return history


def teacher_forcing_loss(model, batch, pad_id=0):
    """Cross-entropy of a sequence-to-sequence model: read tgt[:, :-1], predict tgt[:, 1:].

    model(src, tgt_in) → (logits (B, n_t, vocab), weights); batch = (src, tgt). Padding is ignored.

    Taught in chapter 8 (08_bahdanau).
    """
    src, tgt = batch
    logits, _ = model(src, tgt[:, :-1])  # (B, n_t - 1, vocab)
    return F.cross_entropy(logits.transpose(1, 2), tgt[:, 1:], ignore_index=pad_id)


def accuracy(logits, labels, ignore_index=None):
    """Fraction of positions where argmax(logits) equals labels.

    logits: (..., n_classes); labels: (...), long. Positions with label == ignore_index are skipped.

    Taught in chapter 8 (08_bahdanau).
    """
    correct = logits.argmax(dim=-1) == labels
    if ignore_index is not None:
        keep = labels != ignore_index
        return (correct & keep).sum().item() / max(keep.sum().item(), 1)
    return correct.float().mean().item()
