"""utils.tasks (seeded toy data) and utils.training (the loop and its helpers)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from utils import attention as A
from utils import layers as L
from utils import tasks as T
from utils import training

# ----------------------------------------------------------------------------- 早上好


def test_zao_shang_hao_tokens_and_embedding():
    tokens, X = T.zao_shang_hao()
    assert tokens == ["早", "上", "好"]
    assert X.shape == (3, 4) and X.dtype == np.float64
    cos = A.cosine_score(X, X)
    assert cos[0, 1] > cos[0, 2] and cos[0, 1] > cos[1, 2]  # 早 and 上 alike, 好 elsewhere


def test_zao_shang_hao_weights_are_the_ones_the_docstring_promises():
    _, X = T.zao_shang_hao()
    _, weights = A.self_attention(X)
    # the docstring (and chapter 2's prose) says 早 draws about 0.45, 0.37, 0.18
    np.testing.assert_allclose(weights[0], [0.45, 0.37, 0.18], atol=0.006)


# ----------------------------------------------------------------------------- Nadaraya–Watson


def test_nadaraya_watson_data_shapes_and_ranges():
    x_train, y_train, x_test, y_test = T.nadaraya_watson_data(n_train=40)
    assert x_train.shape == y_train.shape == (40,)
    assert np.all(np.diff(x_train) >= 0) and x_train.min() >= 0 and x_train.max() <= 5
    np.testing.assert_allclose(x_test, np.arange(50) / 10, atol=1e-12)
    np.testing.assert_allclose(y_test, 2 * np.sin(x_test) + x_test**0.8)


def test_nadaraya_watson_noise_has_the_requested_size():
    x_train, y_train, _, _ = T.nadaraya_watson_data(n_train=4000, noise=0.5, seed=3)
    residuals = y_train - T.nadaraya_watson_target(x_train)
    assert abs(residuals.std() - 0.5) < 0.03 and abs(residuals.mean()) < 0.03
    x_train, y_train, _, _ = T.nadaraya_watson_data(n_train=10, noise=0.0)
    np.testing.assert_allclose(y_train, T.nadaraya_watson_target(x_train))


def test_nadaraya_watson_data_is_seeded():
    a, b, c = T.nadaraya_watson_data(seed=1), T.nadaraya_watson_data(seed=1), T.nadaraya_watson_data(seed=2)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.allclose(a[0], c[0]) and not np.allclose(a[1], c[1])


# ----------------------------------------------------------------------------- digit tasks


def split(src_row, tgt_row):
    """The digits of a src row and of a tgt row, checking the BOS/EOS/PAD layout on the way."""
    src_row, tgt_row = src_row.tolist(), tgt_row.tolist()
    n = src_row.index(T.EOS)
    assert all(i >= T.DIGIT_OFFSET for i in src_row[:n]) and set(src_row[n + 1 :]) <= {T.PAD}
    assert tgt_row[0] == T.BOS and tgt_row[n + 1] == T.EOS and set(tgt_row[n + 2 :]) <= {T.PAD}
    return [i - T.DIGIT_OFFSET for i in src_row[:n]], [i - T.DIGIT_OFFSET for i in tgt_row[1 : n + 1]]


@pytest.mark.parametrize("task, answer", [("copy", list), ("reverse", lambda d: d[::-1]), ("sort", sorted)])
def test_digit_task_targets_are_right(task, answer):
    src, tgt = T.digit_task(task, 200, min_len=2, max_len=6, seed=4)
    assert src.shape == (200, 7) and tgt.shape == (200, 8)
    assert src.dtype == tgt.dtype == torch.long
    lengths = set()
    for s, t in zip(src, tgt):
        digits, target = split(s, t)
        assert all(0 <= d <= 9 for d in digits)
        assert target == answer(digits)
        lengths.add(len(digits))
    assert lengths == {2, 3, 4, 5, 6}  # every length in [min_len, max_len] occurs


def test_digit_task_is_seeded():
    a, b = T.digit_task("reverse", 30, seed=5), T.digit_task("reverse", 30, seed=5)
    c = T.digit_task("reverse", 30, seed=6)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_digit_task_refuses_bad_arguments():
    with pytest.raises(ValueError, match=r"'copy'.*'reverse'.*'sort'.*got 'rotate'"):
        T.digit_task("rotate", 3)
    with pytest.raises(ValueError, match=r"min_len=5, max_len=3"):
        T.digit_task("copy", 3, min_len=5, max_len=3)


def test_to_digits_reads_a_target_row():
    src, tgt = T.digit_task("sort", 5, seed=1)
    for s, t in zip(src, tgt):
        digits, target = split(s, t)
        assert T.to_digits(t) == "".join(map(str, target))
        assert T.to_digits(s) == "".join(map(str, digits))
    assert T.to_digits([T.BOS, 5 + T.DIGIT_OFFSET, T.DIGIT_OFFSET, T.EOS, 9 + T.DIGIT_OFFSET]) == "50"
    assert T.to_digits(torch.tensor([T.BOS, T.EOS])) == ""


# ----------------------------------------------------------------------------- order task


def test_order_task_layout_and_labels():
    tokens, labels = T.order_task(101, length=7, vocab_size=9, seed=2)
    assert tokens.shape == (101, 7) and labels.shape == (101,)
    assert tokens.dtype == labels.dtype == torch.long
    assert labels.sum().item() == 50  # balanced: n_samples // 2 ones
    for row, label in zip(tokens.tolist(), labels.tolist()):
        assert row.count(T.ORDER_A) == 1 and row.count(T.ORDER_B) == 1
        assert all(T.ORDER_FILLER <= t < 9 for t in row if t not in (T.ORDER_A, T.ORDER_B))
        assert label == int(row.index(T.ORDER_A) < row.index(T.ORDER_B))


def test_order_task_label_depends_only_on_order():
    # With a single filler word every sequence is the same bag of tokens, yet both labels occur:
    # nothing but the order can tell the classes apart.
    tokens, labels = T.order_task(40, length=5, vocab_size=T.ORDER_FILLER + 1, seed=0)
    bags = {tuple(sorted(row)) for row in tokens.tolist()}
    assert len(bags) == 1
    assert set(labels.tolist()) == {0, 1}
    # swapping A and B in a sequence flips its label
    swapped = tokens.clone()
    swapped[tokens == T.ORDER_A], swapped[tokens == T.ORDER_B] = T.ORDER_B, T.ORDER_A
    flipped = ((swapped == T.ORDER_A).int().argmax(1) < (swapped == T.ORDER_B).int().argmax(1)).long()
    assert torch.equal(flipped, 1 - labels)


def test_order_task_token_counts_do_not_predict_the_label():
    tokens, labels = T.order_task(4000, seed=1)
    counts = F.one_hot(tokens, 10).sum(1).double()  # (n, vocab): a bag of words
    mean_gap = (counts[labels == 1].mean(0) - counts[labels == 0].mean(0)).abs().max()
    assert mean_gap < 0.1


def test_order_task_is_seeded_and_checks_arguments():
    a, b, c = T.order_task(20, seed=3), T.order_task(20, seed=3), T.order_task(20, seed=4)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])
    with pytest.raises(ValueError, match=r"length=1"):
        T.order_task(5, length=1)
    with pytest.raises(ValueError, match=r"vocab_size=3"):
        T.order_task(5, vocab_size=3)


# ----------------------------------------------------------------------------- training helpers


def test_make_batches_covers_every_sample_once_in_a_seeded_order():
    x, y = torch.arange(10), torch.arange(10) * 10
    batches = training.make_batches(x, y, batch_size=4, seed=1)
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    seen = torch.cat([b[0] for b in batches])
    assert sorted(seen.tolist()) == list(range(10)) and seen.tolist() != list(range(10))
    for bx, by in batches:
        assert torch.equal(by, bx * 10)  # rows stay paired
    again = training.make_batches(x, y, batch_size=4, seed=1)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(batches, again))
    in_order = training.make_batches(x, batch_size=3, shuffle=False)
    assert torch.cat([b[0] for b in in_order]).tolist() == list(range(10))
    with pytest.raises(ValueError, match=r"same first dimension.*\(10,\), \(9,\)"):
        training.make_batches(x, torch.arange(9), batch_size=2)


def test_set_seed_makes_initialisation_repeatable():
    training.set_seed(7)
    a, r1 = nn.Linear(3, 3).weight.detach().clone(), np.random.rand()
    training.set_seed(7)
    b, r2 = nn.Linear(3, 3).weight.detach().clone(), np.random.rand()
    assert torch.equal(a, b) and r1 == r2


def test_train_returns_one_loss_per_step_and_the_loss_decreases():
    torch.manual_seed(0)
    x = torch.linspace(-1, 1, 64)[:, None]
    y = 3 * x - 0.5
    model = nn.Linear(1, 1)
    batches = training.make_batches(x, y, batch_size=16)

    def loss_fn(m, batch):
        return F.mse_loss(m(batch[0]), batch[1])

    optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
    model.eval()
    history = training.train(model, batches, loss_fn, optimizer, epochs=15, progress=False)
    assert model.training
    assert len(history) == 15 * len(batches) and all(isinstance(h, float) for h in history)
    assert np.mean(history[-4:]) < 0.01 * np.mean(history[:4])
    assert model.weight.item() == pytest.approx(3.0, abs=0.05)


@pytest.mark.parametrize("make", [lambda p: torch.optim.Adam(p, lr=1e-2),
                                  lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.01),
                                  lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)])
def test_train_steps_with_foreach_and_gets_the_same_weights_bit_for_bit(make):
    src, tgt = T.digit_task("reverse", 256, min_len=3, max_len=6, seed=0)
    batches = training.make_batches(src, tgt, batch_size=32, seed=0)
    results = []
    for foreach in (False, None):  # None: train() switches it to True while it trains
        torch.manual_seed(0)
        model = L.Transformer(T.VOCAB_SIZE, T.VOCAB_SIZE, d_model=16, n_heads=2, d_ff=32, n_layers=1,
                              max_len=8, pad_id=T.PAD)
        optimizer = make(model.parameters())
        optimizer.param_groups[0]["foreach"] = foreach
        history = training.train(model, batches, training.teacher_forcing_loss, optimizer, epochs=2,
                                 clip_grad=1.0, progress=False)
        assert optimizer.param_groups[0]["foreach"] is foreach  # restored
        results.append((history, [p.detach().clone() for p in model.parameters()]))
    (h_one, w_one), (h_all, w_all) = results
    assert h_one == h_all and all(torch.equal(a, b) for a, b in zip(w_one, w_all))


def test_train_steps_the_scheduler_once_per_optimizer_step():
    model = nn.Linear(1, 1)
    batches = training.make_batches(torch.ones(10, 1), torch.zeros(10, 1), batch_size=4)  # 3 batches
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)

    def loss_fn(m, batch):
        return F.mse_loss(m(batch[0]), batch[1])

    training.train(model, batches, loss_fn, optimizer, epochs=2, progress=False, scheduler=scheduler)
    assert scheduler.last_epoch == 6
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.5**6)


def test_train_shows_a_progress_bar_and_clips_gradients(capsys):
    model = nn.Linear(2, 1)
    before = [p.detach().clone() for p in model.parameters()]
    batch = (torch.full((4, 2), 100.0), torch.zeros(4, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    history = training.train(model, [batch], lambda m, b: F.mse_loss(m(b[0]), b[1]), optimizer,
                             epochs=1, clip_grad=0.01, desc="clipping")
    step = torch.cat([(p.detach() - b).flatten() for p, b in zip(model.parameters(), before)])
    assert step.norm() <= 0.01 + 1e-6  # lr 1 times a gradient clipped to norm 0.01
    assert len(history) == 1
    assert "clipping" in capsys.readouterr().err


def test_the_progress_bar_redraws_at_its_own_pace_not_at_every_step(capsys):
    """300 quick steps draw the bar a few times (tqdm's mininterval), with the last step's loss at
    the end; in a notebook every redraw is a widget message, and a redraw per step cost the
    notebook front ends more CPU than the training."""
    model = nn.Linear(2, 1)
    batches = [(torch.randn(4, 2), torch.randn(4, 1)) for _ in range(100)]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    history = training.train(model, batches, lambda m, b: F.mse_loss(m(b[0]), b[1]), optimizer,
                             epochs=3, desc="pace")
    drawn = [d for d in capsys.readouterr().err.split("\r") if d.startswith("pace")]
    assert len(history) == 300 and 2 <= len(drawn) < 60, len(drawn)
    assert drawn[-1].rstrip().endswith(f"loss={history[-1]:.4f}]") and "300/300" in drawn[-1]


def test_teacher_forcing_loss_ignores_padding():
    vocab = 6
    tgt = torch.tensor([[T.BOS, 4, 5, T.EOS, T.PAD], [T.BOS, 3, T.EOS, T.PAD, T.PAD]])
    src = torch.zeros(2, 3, dtype=torch.long)
    logits = torch.randn(2, 4, vocab)

    class Fixed(nn.Module):
        def forward(self, s, t):
            assert torch.equal(t, tgt[:, :-1])  # the decoder reads tgt without its last token
            return logits, None

    loss = training.teacher_forcing_loss(Fixed(), (src, tgt))
    targets = tgt[:, 1:]
    keep = targets != T.PAD
    expected = F.cross_entropy(logits[keep], targets[keep])
    torch.testing.assert_close(loss, expected)
    logits[~keep] += 100 * torch.randn(int((~keep).sum()), vocab)  # predictions at padding don't count
    torch.testing.assert_close(training.teacher_forcing_loss(Fixed(), (src, tgt)), expected)


def test_accuracy_with_and_without_ignored_labels():
    logits = torch.eye(4)[[0, 1, 2, 3]]  # predicts 0, 1, 2, 3
    labels = torch.tensor([0, 1, 0, 3])
    assert training.accuracy(logits, labels) == pytest.approx(3 / 4)
    assert training.accuracy(logits, labels, ignore_index=3) == pytest.approx(2 / 3)
    assert training.accuracy(logits, torch.full((4,), 3), ignore_index=3) == 0.0


def test_a_tiny_transformer_learns_to_reverse():
    """End to end: the loss of a small Transformer on the reverse task goes down."""
    training.set_seed(0)
    src, tgt = T.digit_task("reverse", 128, min_len=2, max_len=4, seed=0)
    model = L.Transformer(T.VOCAB_SIZE, T.VOCAB_SIZE, d_model=32, n_heads=2, d_ff=64, n_layers=1,
                          pad_id=T.PAD)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    batches = training.make_batches(src, tgt, batch_size=32)
    history = training.train(model, batches, training.teacher_forcing_loss, optimizer, epochs=12,
                             progress=False)
    assert len(history) == 48
    assert np.mean(history[-4:]) < 0.6 * np.mean(history[:4])


# ----------------------------------------------------------------------------- synthetic sentiment


def test_sentiment_task_layout_vocabulary_and_negation():
    tokens, labels = T.sentiment_task(500, length=12, n_polar=4, n_neutral=10, p_negate=0.3, seed=0)
    assert tokens.shape == (500, 12) and labels.shape == (500,) and tokens.dtype == torch.long
    assert tokens.min() >= T.SENTIMENT_NOT and tokens.max() < T.sentiment_vocab_size(4, 10) == 20
    x = tokens.numpy()
    polar = (x >= T.SENTIMENT_POSITIVE) & (x < T.SENTIMENT_POSITIVE + 8)
    assert set(polar.sum(1)) <= {1, 3, 5}  # an odd count: the rule never ties
    assert not (x[:, -1] == T.SENTIMENT_NOT).any()  # a "not" always has a word after it
    assert not ((x[:, :-1] == T.SENTIMENT_NOT) & (x[:, 1:] == T.SENTIMENT_NOT)).any()
    negated = (x[:, :-1] == T.SENTIMENT_NOT) & polar[:, 1:]
    assert negated.any() and ((x[:, :-1] == T.SENTIMENT_NOT) & ~polar[:, 1:]).any()  # stray "not"s too


def test_sentiment_rule_counts_and_reads_not():
    P, N, W, NOT = T.SENTIMENT_POSITIVE, T.SENTIMENT_POSITIVE + 2, T.SENTIMENT_POSITIVE + 4, T.SENTIMENT_NOT
    x = np.array([[P, W, W, W],          # good            -> 1
                  [NOT, P, W, W],        # not good        -> 0
                  [N, NOT, N, P],        # bad, not bad, good -> 1 (0 by counting)
                  [NOT, W, N, W]])       # stray not, bad  -> 0
    np.testing.assert_array_equal(T.sentiment_rule(x, n_polar=2), [1, 0, 1, 0])
    np.testing.assert_array_equal(T.sentiment_rule(x, n_polar=2, use_order=False), [1, 1, 0, 0])
    with pytest.raises(ValueError, match="n_samples, length"):
        T.sentiment_rule(x[0], n_polar=2)


def test_sentiment_labels_follow_the_rule_up_to_the_label_noise():
    tokens, labels = T.sentiment_task(4000, label_noise=0.1, seed=1)
    agree = (T.sentiment_rule(tokens) == labels.numpy()).mean()
    assert abs(agree - 0.9) < 0.02
    tokens, labels = T.sentiment_task(300, label_noise=0.0, seed=1)
    np.testing.assert_array_equal(T.sentiment_rule(tokens), labels.numpy())
    # with negation, counting alone is wrong on some sentences; without it, never
    by_count = T.sentiment_rule(tokens, use_order=False)
    assert (by_count != labels.numpy()).mean() > 0.02
    tokens, labels = T.sentiment_task(300, label_noise=0.0, p_negate=0.0, seed=1)
    np.testing.assert_array_equal(T.sentiment_rule(tokens, use_order=False), labels.numpy())


def test_sentiment_task_is_seeded_and_checks_arguments():
    a, b, c = T.sentiment_task(30, seed=3), T.sentiment_task(30, seed=3), T.sentiment_task(30, seed=4)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and not torch.equal(a[0], c[0])
    with pytest.raises(ValueError, match="length"):
        T.sentiment_task(5, length=8)
    with pytest.raises(ValueError, match="label_noise"):
        T.sentiment_task(5, label_noise=1.5)
    with pytest.raises(ValueError, match="n_polar"):
        T.sentiment_task(5, n_polar=0)
