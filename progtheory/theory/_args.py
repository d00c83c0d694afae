"""Argument checks shared by the public theory functions (numpy only).

Each raises ValueError naming the argument, the value received and the range it must lie in,
so a NaN, an infinity, a string or a boolean never flows into a formula silently.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np


def number(name: str, value, low: float = -math.inf, high: float = math.inf, *,
           low_open: bool = False, high_open: bool = False) -> float:
    """`value` as a float; ValueError unless it is a finite real number in the stated range."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise ValueError(f"{name}={value!r} must be a number, not {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name}={value!r} must be a finite number")
    if v < low or v > high or (low_open and v == low) or (high_open and v == high):
        lo, hi = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(f"{name}={value!r} must lie in {lo}{low:g}, {high:g}{hi}")
    return v


def integer(name: str, value, low: int | None = None, high: int | None = None) -> int:
    """`value` as an int; ValueError unless it is a whole number (an int, or a float such as
    2000.0 read from a table; never a bool) in [low, high]."""
    whole = isinstance(value, Integral) or (isinstance(value, Real) and math.isfinite(value)
                                            and float(value).is_integer())
    if isinstance(value, (bool, np.bool_)) or not whole:
        raise ValueError(f"{name}={value!r} must be a whole number, not {type(value).__name__}")
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        raise ValueError(f"{name}={value!r} must be an integer in [{low if low is not None else '-inf'}, "
                         f"{high if high is not None else 'inf'}]")
    return v


def finite_array(name: str, values) -> np.ndarray:
    """`values` as a float array; ValueError when it holds a non-number, NaN or infinity."""
    try:
        a = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must hold numbers only, got {values!r}") from None
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must hold finite numbers only; it holds NaN or infinity")
    return a
