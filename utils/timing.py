"""Timing small computations inside a chapter, the same way everywhere.

Chapters time code to make a point about cost (masked vs banded attention, one tensor vs a loop
over heads, n² growth). On a shared machine a single run says little, so:

- ``time_ms(f, *args)``     runs ``f(*args)`` once to warm up, then ``repeats`` times, and
  returns the median (or the fastest, ``stat="min"``) in milliseconds;
- ``side_by_side([f, g], *args)`` times several functions on the same arguments in turns
  (f, g, f, g, ...), so that a machine that gets busier slows them alike; it returns their
  medians as an array, in the order given. Compare these as ratios, not as absolute times.

Timings are for reading, not for asserting: a chapter may assert a ratio that has a large
margin, never an absolute time.
"""

from __future__ import annotations

import time
from typing import Callable, Sequence

import numpy as np

__all__ = ["time_ms", "side_by_side"]

_STATS = {"median": np.median, "min": np.min}


def _check(repeats: int, warmup: int, stat: str) -> None:
    if not isinstance(repeats, (int, np.integer)) or repeats < 1:
        raise ValueError(f"repeats must be a whole number >= 1, got {repeats!r}")
    if not isinstance(warmup, (int, np.integer)) or warmup < 0:
        raise ValueError(f"warmup must be a whole number >= 0, got {warmup!r}")
    if stat not in _STATS:
        raise ValueError(f"stat must be one of {sorted(_STATS)}, got {stat!r}")


def time_ms(f: Callable, *args, repeats: int = 9, warmup: int = 1, stat: str = "median") -> float:
    """The median (or fastest) time of ``f(*args)`` over ``repeats`` runs, in milliseconds.

    Taught in chapter 5 (05_masking).
    """
    return float(side_by_side([f], *args, repeats=repeats, warmup=warmup, stat=stat)[0])


def side_by_side(fs: Sequence[Callable], *args, repeats: int = 9, warmup: int = 1,
                 stat: str = "median") -> np.ndarray:
    """Times of several functions on the same arguments, run in turns; (len(fs),) in ms.

    Taught in chapter 9 (09_multi_head).
    """
    _check(repeats, warmup, stat)
    fs = list(fs)
    if not fs or not all(callable(f) for f in fs):
        raise ValueError(f"side_by_side needs a non-empty list of functions, got {fs!r}")
    for _ in range(warmup):
        for f in fs:
            f(*args)
    times = np.empty((repeats, len(fs)))
    for r in range(repeats):
        for k, f in enumerate(fs):
            start = time.perf_counter()
            f(*args)
            times[r, k] = time.perf_counter() - start
    return 1000.0 * _STATS[stat](times, axis=0)
