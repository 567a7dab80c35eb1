"""The controls of an explorer: a slider over fixed values, a checkbox, a drop-down.

Each control lists its values once; the live widget and the static page show the same
positions. Numbers on a control are written as the panels write them (``utils.style.format_number``).

Taught in chapter 1 (01_attention_pooling), 3 (the toggle) and 6 (the drop-down).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from ..style import format_number

__all__ = ["Slider", "Toggle", "Dropdown"]


@dataclass
class Slider:
    """A slider over a fixed list of values (the same positions live and static).

    Taught in chapter 1 (01_attention_pooling).
    """

    name: str
    values: Sequence[Any]
    default: Any = None
    label: Optional[str] = None
    fmt: str = "{:g}"

    def __post_init__(self):
        self.values = [v.item() if isinstance(v, np.generic) else v for v in self.values]
        if not self.values:
            raise ValueError(f"Slider {self.name!r} has no values")
        if self.default is None:
            self.default = self.values[len(self.values) // 2]
        self.index = index_of(self.name, self.values, self.default)

    def labels(self):  # numbers as the panels print them (format_number: a true minus sign)
        return [format_number(self.fmt, v) if isinstance(v, (int, float)) else self.fmt.format(v)
                for v in self.values]


@dataclass
class Toggle:
    """A checkbox: values False, True.

    Taught in chapter 3 (03_queries_keys_values).
    """

    name: str
    default: bool = False
    label: Optional[str] = None

    def __post_init__(self):
        self.values = [False, True]
        self.index = int(bool(self.default))

    def labels(self):
        return ["off", "on"]


@dataclass
class Dropdown:
    """A choice among named options: options is a list of values or {label: value}.

    Taught in chapter 6 (06_score_functions).
    """

    name: str
    options: Any
    default: Any = None
    label: Optional[str] = None
    _labels: list = field(default_factory=list, repr=False)

    def __post_init__(self):
        if isinstance(self.options, dict):
            self._labels, self.values = list(self.options), list(self.options.values())
        else:
            self.values = list(self.options)
            self._labels = [str(v) for v in self.values]
        if self.default is None:
            self.default = self.values[0]
        self.index = index_of(self.name, self.values, self.default)

    def labels(self):
        return list(self._labels)


def index_of(name, values, default):
    """The position of ``default`` among a control's values (floats compared with np.isclose).

    Used by every explorer (from chapter 1, 01_attention_pooling, on); the chapters do not teach it.
    """
    for i, v in enumerate(values):
        if v == default or (isinstance(v, float) and np.isclose(v, default)):
            return i
    raise ValueError(f"control {name!r}: default {default!r} is not one of its values {values!r}")
