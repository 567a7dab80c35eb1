"""utils.timing: what is run, how often, in which order, and what comes back.

No test here asserts how fast anything is. A sleep gives a lower bound that holds on any
machine, and fake clocks check the arithmetic exactly.
"""

import time

import numpy as np
import pytest

from utils import timing


def test_runs_warmup_then_repeats_with_the_arguments():
    calls = []
    timing.time_ms(lambda *a: calls.append(a), 1, "x", repeats=4, warmup=2)
    assert calls == [(1, "x")] * 6


def test_side_by_side_takes_turns_after_warming_each_up():
    calls = []
    timing.side_by_side([lambda: calls.append("f"), lambda: calls.append("g")], repeats=3)
    assert "".join(calls) == "fg" + "fg" * 3


def test_a_sleep_takes_at_least_its_length():
    assert timing.time_ms(time.sleep, 0.004, repeats=3) >= 4.0


def fake_clock(monkeypatch, durations):
    """perf_counter returning start/stop pairs so that run k lasts durations[k] seconds."""
    ticks, now = [], 0.0
    for d in durations:
        ticks += [now, now + d]
        now += d + 1.0
    it = iter(ticks)
    monkeypatch.setattr(timing.time, "perf_counter", lambda: next(it))


def test_median_and_min_in_milliseconds(monkeypatch):
    fake_clock(monkeypatch, [0.003, 0.001, 0.010])
    assert timing.time_ms(lambda: None, repeats=3, warmup=0) == pytest.approx(3.0)
    fake_clock(monkeypatch, [0.003, 0.001, 0.010])
    assert timing.time_ms(lambda: None, repeats=3, warmup=0, stat="min") == pytest.approx(1.0)


def test_side_by_side_keeps_each_functions_times_apart(monkeypatch):
    fake_clock(monkeypatch, [0.001, 0.020, 0.002, 0.030, 0.003, 0.040])  # f, g, f, g, f, g
    f_ms, g_ms = timing.side_by_side([lambda: None, lambda: None], repeats=3, warmup=0)
    assert (f_ms, g_ms) == (pytest.approx(2.0), pytest.approx(30.0))


@pytest.mark.parametrize("kwargs, message", [
    ({"repeats": 0}, "repeats"), ({"repeats": 2.5}, "repeats"), ({"warmup": -1}, "warmup"),
    ({"stat": "mean"}, "stat")])
def test_bad_settings_are_refused_with_a_clear_message(kwargs, message):
    with pytest.raises(ValueError, match=message):
        timing.time_ms(lambda: None, **kwargs)


def test_side_by_side_needs_functions():
    with pytest.raises(ValueError, match="functions"):
        timing.side_by_side([])
    with pytest.raises(ValueError, match="functions"):
        timing.side_by_side([np.zeros(3)])
