"""Argument types shared by every command: numbers that fit SQLite and make sense, or a usage error.

argparse turns the ``ArgumentTypeError`` these raise into one ``controlroom: error:`` line, exit 2.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

SQLITE_MAX_INT = 2**63 - 1
MAX_DAYS = 36_500.0  # a century of history is more than any window needs
MAX_SECONDS = 86_400.0 * 7  # a week: the longest wait or interval any command accepts


def _parse_int(text: str) -> int:
    try:
        return int(text.strip().replace("_", ""), 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def _parse_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def int_range(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high``."""

    def parse(text: str) -> int:
        value = _parse_int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is out of range ({low} to {high})")
        return value

    parse.__name__ = "whole number"
    return parse


def float_range(low: float, high: float, *, low_open: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number from ``low`` (excluded when ``low_open``) to ``high``."""

    def parse(text: str) -> float:
        value = _parse_float(text)
        if value > high or value < low or (low_open and value == low):
            bound = f"greater than {low:g}" if low_open else f"at least {low:g}"
            raise argparse.ArgumentTypeError(f"{text} is out of range ({bound}, at most {high:g})")
        return value

    parse.__name__ = "number"
    return parse


task_id = int_range(1, SQLITE_MAX_INT)
count = int_range(1, 1_000_000)
positive_count = count
port = int_range(0, 65_535)
days = float_range(0.0, MAX_DAYS, low_open=True)
seconds = float_range(0.0, MAX_SECONDS)
