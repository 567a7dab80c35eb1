"""Seeded toy data and tasks. Nothing is downloaded; the same seed always gives the same data.

- ``zao_shang_hao()``          the three characters 早, 上, 好 as a small embedding matrix.
- ``nadaraya_watson_data()``   1-D regression data for kernel regression (attention pooling).
- ``digit_task()``             copy, reverse or sort a digit sequence (sequence to sequence).
- ``order_task()``             classify whether marker A comes before marker B (order matters).
- ``sentiment_task()``         synthetic "reviews" whose label is mostly a count of positive and
  negative words, with a little negation ("not good") that only word order reveals.

The first two return NumPy arrays; the sequence tasks return torch tensors (torch is imported
only when they are called, so NumPy chapters stay light).
"""

from __future__ import annotations

import numpy as np

# Token ids shared by the sequence tasks.
PAD, BOS, EOS = 0, 1, 2
DIGIT_OFFSET = 3  # digit k has id k + 3
VOCAB_SIZE = DIGIT_OFFSET + 10  # 13 ids: PAD, BOS, EOS, digits 0..9

# Token ids of the order task.
ORDER_PAD, ORDER_A, ORDER_B = 0, 1, 2
ORDER_FILLER = 3  # filler words are ids ORDER_FILLER .. vocab_size - 1

# Token ids of the synthetic sentiment task: 0 is reserved (padding, never produced), 1 is "not",
# then n_polar positive words, n_polar negative words and n_neutral neutral words.
SENTIMENT_PAD, SENTIMENT_NOT, SENTIMENT_POSITIVE = 0, 1, 2


def zao_shang_hao():
    """The first chapter's example: tokens ["早", "上", "好"] and a fixed (3, 4) embedding X.

    早 and 上 point in similar directions, 好 elsewhere, so in softmax(X Xᵀ) 早 draws about
    0.45 from itself, 0.37 from 上 and 0.18 from 好. Returns (tokens, X).

    Taught in chapter 3 (03_queries_keys_values).
    """
    tokens = ["早", "上", "好"]
    X = np.array([[1.0, 0.5, 0.0, 0.3],  # 早
                  [0.8, 0.7, 0.1, 0.0],  # 上
                  [0.2, 0.1, 0.9, 0.6]])  # 好
    return tokens, X


def nadaraya_watson_target(x):
    """The function to recover: f(x) = 2 sin(x) + x^0.8.

    Taught in chapter 1 (01_attention_pooling).
    """
    return 2 * np.sin(x) + np.asarray(x, dtype=np.float64) ** 0.8


def nadaraya_watson_data(n_train=50, noise=0.5, seed=0):
    """Training and test data for 1-D kernel regression, in the style of d2l.

    x_train: n_train points drawn uniformly from [0, 5] and sorted; y_train = f(x_train) +
    Gaussian noise with standard deviation `noise`; x_test = 0, 0.1, ..., 4.9; y_test = f(x_test)
    without noise. Returns (x_train, y_train, x_test, y_test), all 1-D float64 arrays.

    Taught in chapter 1 (01_attention_pooling).
    """
    rng = np.random.default_rng(seed)
    x_train = np.sort(rng.uniform(0, 5, n_train))
    y_train = nadaraya_watson_target(x_train) + rng.normal(0.0, noise, n_train)
    x_test = np.arange(0, 5, 0.1)
    return x_train, y_train, x_test, nadaraya_watson_target(x_test)


def digit_task(task, n_samples, min_len=3, max_len=8, seed=0):
    """Sequences of digits to copy, reverse or sort.

    task: "copy", "reverse" or "sort". Each sample has a random length in [min_len, max_len]
    and random digits 0..9 (id = digit + DIGIT_OFFSET).
    Returns src (n_samples, max_len + 1) = digits, EOS, then PAD; and tgt (n_samples,
    max_len + 2) = BOS, answer digits, EOS, then PAD; both torch.long. For teacher forcing,
    the decoder reads tgt[:, :-1] and learns to predict tgt[:, 1:].

    Taught in chapter 8 (08_bahdanau).
    """
    import torch

    answers = {"copy": lambda d: d, "reverse": lambda d: d[::-1], "sort": np.sort}
    if task not in answers:
        raise ValueError(f"task must be one of {sorted(answers)}, got {task!r}")
    if not 1 <= min_len <= max_len:
        raise ValueError(f"need 1 <= min_len <= max_len, got min_len={min_len}, max_len={max_len}")
    rng = np.random.default_rng(seed)
    src = np.full((n_samples, max_len + 1), PAD)
    tgt = np.full((n_samples, max_len + 2), PAD)
    for row in range(n_samples):
        n = rng.integers(min_len, max_len + 1)
        digits = rng.integers(0, 10, n)
        src[row, :n], src[row, n] = digits + DIGIT_OFFSET, EOS
        tgt[row, 0], tgt[row, 1 : n + 1], tgt[row, n + 1] = BOS, answers[task](digits) + DIGIT_OFFSET, EOS
    return torch.from_numpy(src), torch.from_numpy(tgt)


def to_digits(ids):
    """A row of token ids → its digits as a string: [1, 5, 3, 2, 0] → "20" (skips BOS, stops at EOS).

    Taught in chapter 8 (08_bahdanau).
    """
    out = []
    for i in np.asarray(ids).tolist():
        if i == EOS:
            break
        if i >= DIGIT_OFFSET:
            out.append(str(i - DIGIT_OFFSET))
    return "".join(out)


def order_task(n_samples, length=8, vocab_size=10, seed=0):
    """Does marker A come before marker B? A task that a bag of words cannot solve.

    Every sequence holds ORDER_A exactly once, ORDER_B exactly once, and filler words (ids
    ORDER_FILLER .. vocab_size - 1) elsewhere. label = 1 if A comes before B, else 0.
    The two classes contain the same tokens with the same distribution: swapping A and B
    turns a sequence of one class into an equally likely sequence of the other, so any model
    that only counts tokens scores 50%. Only word order tells them apart. Labels are balanced
    exactly (n_samples // 2 ones) and shuffled.
    Returns tokens (n_samples, length) and labels (n_samples,), both torch.long.

    Taught in chapter 10 (10_positional_encoding).
    """
    import torch

    if length < 2 or vocab_size <= ORDER_FILLER:
        raise ValueError(f"need length >= 2 and vocab_size > {ORDER_FILLER}, got length={length}, "
                         f"vocab_size={vocab_size}")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n_samples) < n_samples // 2).astype(np.int64)
    tokens = rng.integers(ORDER_FILLER, vocab_size, (n_samples, length))
    for row in range(n_samples):
        first, second = np.sort(rng.choice(length, 2, replace=False))
        a, b = (first, second) if labels[row] == 1 else (second, first)
        tokens[row, a], tokens[row, b] = ORDER_A, ORDER_B
    return torch.from_numpy(tokens), torch.from_numpy(labels)


def _sentiment_ids(n_polar, n_neutral):
    if n_polar < 1 or n_neutral < 1:
        raise ValueError(f"need n_polar >= 1 and n_neutral >= 1, got n_polar={n_polar}, "
                         f"n_neutral={n_neutral}")
    negative = SENTIMENT_POSITIVE + n_polar
    neutral = negative + n_polar
    return negative, neutral, neutral + n_neutral  # first negative id, first neutral id, vocab size


def sentiment_vocab_size(n_polar=8, n_neutral=40):
    """Number of token ids of sentiment_task with these word counts: 2 + 2·n_polar + n_neutral.

    Taught in chapter 10 (10_positional_encoding).
    """
    return _sentiment_ids(n_polar, n_neutral)[2]


def sentiment_rule(tokens, n_polar=8, use_order=True):
    """The label that sentiment_task's words decide, before label noise.

    Each positive word counts +1 and each negative word -1; with use_order=True a word right
    after SENTIMENT_NOT counts with the opposite sign ("not good" = -1). label = 1 if the sum
    is positive. use_order=False ignores negation: a bag-of-words count that looks at which
    words occur and not at where they stand.
    tokens: (n_samples, length) integer array or tensor. Returns (n_samples,) int64 NumPy array.

    Taught in chapter 10 (10_positional_encoding).
    """
    tokens = np.asarray(tokens)
    if tokens.ndim != 2:
        raise ValueError(f"tokens must be (n_samples, length), got shape {tokens.shape}")
    negative = SENTIMENT_POSITIVE + n_polar
    polarity = (((tokens >= SENTIMENT_POSITIVE) & (tokens < negative)).astype(np.int64)
                - ((tokens >= negative) & (tokens < negative + n_polar)).astype(np.int64))  # +1, -1, 0
    if use_order:
        negated = np.zeros(tokens.shape, dtype=bool)
        negated[:, 1:] = tokens[:, :-1] == SENTIMENT_NOT
        polarity = np.where(negated, -polarity, polarity)
    return (polarity.sum(axis=1) > 0).astype(np.int64)


def sentiment_task(n_samples, length=12, n_polar=8, n_neutral=40, p_negate=0.05, p_stray_not=0.1,
                   label_noise=0.1, seed=0):
    """Synthetic sentiment "reviews": a bag of words nearly suffices, order adds a little.

    Not real text: every sentence has `length` tokens and holds 1, 3 or 5 sentiment words
    (each positive or negative with equal probability, so the count never ties), each of them
    preceded by SENTIMENT_NOT with probability p_negate; every other position is a neutral
    word, preceded by a stray SENTIMENT_NOT with probability p_stray_not (so the number of
    "not"s alone does not tell which word is negated). The words are arranged in random
    order, a "not" always directly before its word. label = sentiment_rule(tokens) (the
    negation-aware count), then flipped with probability label_noise, like reviews whose
    words and stars disagree. Ids: see SENTIMENT_NOT, SENTIMENT_POSITIVE, sentiment_vocab_size.
    Returns tokens (n_samples, length) and labels (n_samples,), both torch.long.

    Taught in chapter 10 (10_positional_encoding).
    """
    import torch

    negative, neutral, _ = _sentiment_ids(n_polar, n_neutral)
    if length < 10:
        raise ValueError(f"need length >= 10 (room for 5 negated sentiment words), got {length}")
    for name, p in [("p_negate", p_negate), ("p_stray_not", p_stray_not), ("label_noise", label_noise)]:
        if not 0 <= p <= 1:
            raise ValueError(f"{name} must be a probability in [0, 1], got {p}")
    rng = np.random.default_rng(seed)
    tokens = np.empty((n_samples, length), dtype=np.int64)
    for row in range(n_samples):
        units = []  # each unit is [word] or [NOT, word]
        for _ in range(rng.choice([1, 3, 5])):
            word = rng.choice([SENTIMENT_POSITIVE, negative]) + rng.integers(n_polar)
            units.append([SENTIMENT_NOT, word] if rng.random() < p_negate else [word])
        used = sum(len(u) for u in units)
        while used < length:
            word = neutral + rng.integers(n_neutral)
            stray = used + 2 <= length and rng.random() < p_stray_not
            units.append([SENTIMENT_NOT, word] if stray else [word])
            used += len(units[-1])
        tokens[row] = [t for i in rng.permutation(len(units)) for t in units[i]]
    labels = sentiment_rule(tokens, n_polar)
    labels = np.where(rng.random(n_samples) < label_noise, 1 - labels, labels)
    return torch.from_numpy(tokens), torch.from_numpy(labels)
