"""Argument checks: one home, one policy (after scikit-image's ``_shared/utils``).

``TypeError`` for a value of the wrong type, ``ValueError`` for a value of the right
type out of range. Every message names the parameter, the value it got and what it
accepts, so the caller can fix the call without reading the code. ``bool`` is never
accepted where a number is asked for, although Python treats it as an int.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = [
    "DEVICES",
    "check_bool",
    "check_device",
    "check_int",
    "check_number",
    "check_optional_int",
]

DEVICES = ("auto", "cpu", "cuda")


def check_int(name: str, value: object, lo: int | None = None, hi: int | None = None) -> int:
    """``value`` as an int within ``lo..hi`` (either bound may be open).

    >>> check_int("threads", 4, 1)
    4
    >>> check_int("threads", 0, 1)
    Traceback (most recent call last):
    ...
    ValueError: threads must be a positive int, got 0
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be {_int_range(lo, hi)}, got {value!r}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ValueError(f"{name} must be {_int_range(lo, hi)}, got {value!r}")
    return int(value)


def check_optional_int(name: str, value: object, lo: int | None = None) -> int | None:
    """Like :func:`check_int`, with ``None`` allowed (and returned)."""
    if value is None:
        return None
    try:
        return check_int(name, value, lo)
    except (TypeError, ValueError) as e:
        raise type(e)(f"{e.args[0].split(', got')[0]} or None, got {value!r}") from None


def check_number(
    name: str,
    value: object,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
) -> float:
    """``value`` as a finite float within ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``).

    >>> check_number("strength", 0.5, 0, 1)
    0.5
    >>> check_number("eps", 0, 0, lo_open=True)
    Traceback (most recent call last):
    ...
    ValueError: eps must be a number > 0, got 0
    """
    what = _number_range(lo, hi, lo_open)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be {what}, got {value!r}")
    v = float(value)
    low_bad = lo is not None and (v <= lo if lo_open else v < lo)
    if not math.isfinite(v) or low_bad or (hi is not None and v > hi):
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return v


def check_bool(name: str, value: object) -> bool:
    """``value`` as a bool; 0 and 1 are accepted too, as Pillow accepts them."""
    if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
        return bool(value)
    raise TypeError(f"{name} must be a bool, got {value!r}")


def check_choice(name: str, value: object, choices: Sequence[str]) -> str:
    """``value`` as one of ``choices`` (strings)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {_listing(choices)}, got {value!r}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {_listing(choices)}, got {value!r}")
    return value


def check_device(device: object) -> str:
    """``device=``: ``"auto"``, ``"cpu"`` or ``"cuda"`` (the CLI offers the same choices)."""
    return check_choice("device", device, DEVICES)


def _listing(choices: Sequence[str]) -> str:
    names = [repr(c) for c in choices]
    return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]


def _int_range(lo: int | None, hi: int | None) -> str:
    if lo is not None and hi is not None:
        return f"an int in {lo}..{hi}"
    if lo == 1:
        return "a positive int"
    if lo is not None:
        return f"an int >= {lo}"
    return "an int" if hi is None else f"an int <= {hi}"


def _number_range(lo: float | None, hi: float | None, lo_open: bool) -> str:
    if lo is not None and hi is not None:
        return f"a number in {'(' if lo_open else '['}{lo:g}, {hi:g}]"
    if lo is not None:
        return f"a number {'>' if lo_open else '>='} {lo:g}"
    return "a number" if hi is None else f"a number <= {hi:g}"
