"""Argument checks for the public functions of ``lib`` (shared by every chapter).

The book's rule (README, "Writing a chapter"): a bad argument to a public function raises
``TypeError`` (a wrong kind of value) or ``ValueError`` (the right kind, but not allowed), and the
message names the argument, shows the value and says what is allowed, for example
``ValueError: heads=0 must be an integer >= 1``. Each check returns the value in a plain form
(an ``int``, a ``float``, a floating array) so that a function can write
``d = checks.integer("d", d, at_least=1)``. Internal helpers trust their callers.

This module imports numpy only.
"""
from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

import numpy as np


def _range(above=None, at_least=None, below=None, at_most=None) -> str:
    """The allowed range in words: ' >= 1', ' in (0, 1]', or '' when any number passes."""
    low = f"({above}" if above is not None else f"[{at_least}" if at_least is not None else None
    high = f"{below})" if below is not None else f"{at_most}]" if at_most is not None else None
    if low and high:
        return f" in {low}, {high}"
    if low:
        return f" > {above}" if above is not None else f" >= {at_least}"
    if high:
        return f" < {below}" if below is not None else f" <= {at_most}"
    return ""


def integer(name: str, value: Any, *, at_least: int | None = None, at_most: int | None = None,
            integral_floats: bool = False) -> int:
    """``value`` as an ``int`` if it is an integer in ``[at_least, at_most]`` (either end optional).

    Accepts Python and numpy integers, never ``bool``. With ``integral_floats`` a finite float
    with no fractional part (``512.0``) is accepted too. Wrong type: ``TypeError``; out of range:
    ``ValueError``.
    """
    allowed = "an integer" + _range(at_least=at_least, at_most=at_most)
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}={value!r} must be {allowed}, not a bool")
    if isinstance(value, (int, np.integer)):
        v = int(value)
    elif integral_floats and isinstance(value, (float, np.floating)):
        if not math.isfinite(value) or value != int(value):
            raise TypeError(f"{name}={value!r} must be {allowed}; a fractional or non-finite float is not")
        v = int(value)
    else:
        raise TypeError(f"{name}={value!r} must be {allowed}, not {type(value).__name__}")
    if (at_least is not None and v < at_least) or (at_most is not None and v > at_most):
        raise ValueError(f"{name}={value!r} must be {allowed}")
    return v


def real(name: str, value: Any, *, above: float | None = None, at_least: float | None = None,
         below: float | None = None, at_most: float | None = None, finite: bool = True) -> float:
    """``value`` as a ``float`` if it is a real number in the given range (open or closed ends).

    ``above``/``below`` are open ends, ``at_least``/``at_most`` closed ones; give at most one of
    each pair. Python and numpy ints and floats are accepted, never ``bool``. NaN is always
    refused; ``finite=False`` lets ±inf through (when the range allows it).
    """
    allowed = ("a finite" if finite else "a") + " real number" + _range(above, at_least, below, at_most)
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}={value!r} must be {allowed}, not {type(value).__name__}")
    v = float(value)
    if math.isnan(v):
        raise ValueError(f"{name}={value!r} must be {allowed}, not NaN")
    outside = ((above is not None and not v > above) or (at_least is not None and not v >= at_least)
               or (below is not None and not v < below) or (at_most is not None and not v <= at_most))
    if outside or (finite and math.isinf(v)):
        raise ValueError(f"{name}={value!r} must be {allowed}")
    return v


def boolean(name: str, value: Any) -> bool:
    """``value`` as a ``bool`` if it is a Python or numpy bool (not 0, 1 or a string)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}={value!r} must be a bool (True or False), not {type(value).__name__}")
    return bool(value)


def choice(name: str, value: Any, allowed: Collection) -> Any:
    """``value`` itself if it is one of ``allowed`` (a tuple, set or dict of the options)."""
    try:
        ok = value in allowed
    except TypeError:  # an unhashable value (a list, say) and a set or dict of options
        ok = None
    if not ok:
        options = sorted(allowed, key=str) if isinstance(allowed, (set, frozenset)) else list(allowed)
        message = f"{name}={value!r} must be one of {', '.join(map(repr, options))}"
        raise TypeError(message) if ok is None else ValueError(message)
    return value


def real_array(name: str, value: Any, *, ndim: int | None = None) -> np.ndarray:
    """``value`` as a non-empty, finite floating array with ``ndim`` dimensions (any if None).

    Floating dtypes are kept (float32 stays float32); integers become float64; booleans, complex
    numbers, strings and objects are refused (``TypeError``). A wrong shape, an empty array or a
    NaN/inf entry is a ``ValueError``.
    """
    arr = np.asarray(value)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    if (ndim is not None and arr.ndim != ndim) or arr.size == 0:
        shape = f"{ndim}-D array" if ndim is not None else "array"
        raise ValueError(f"{name} must be a non-empty {shape}, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has NaN or infinite entries; they must all be finite")
    return arr


def generator(name: str, rng: Any, seed: int | None = None) -> np.random.Generator:
    """``rng`` if it is a ``numpy.random.Generator``; a new one from ``seed`` if ``rng`` is None."""
    if rng is None:
        return np.random.default_rng(seed)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{name} must be a numpy.random.Generator (or None), got {type(rng).__name__}")
    return rng
