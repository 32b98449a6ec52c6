"""Rate control: choose encoder settings to meet a byte budget.

``fit_quality`` bisects the JPEG quality. libjpeg scales one table family by
quality, so file size rises with quality (up to rare byte-level wobbles); the
search therefore needs at most 7 encodes for 1..100, and whatever it returns
was actually encoded and measured, so the budget is never exceeded.
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = ["check_preserve", "fit_quality", "smallest_passing"]


def check_preserve(preserve: object) -> str | float:
    """Validate a ``preserve`` value: ``"top1"`` or a KL budget in nats (a positive number)."""
    if preserve == "top1":
        return "top1"
    if (
        isinstance(preserve, (int, float))
        and not isinstance(preserve, bool)
        and math.isfinite(preserve)
        and preserve > 0
    ):
        return float(preserve)
    raise ValueError(
        f"preserve must be None, 'top1' or a KL budget in nats (a positive number such "
        f"as 0.1), got {preserve!r}"
    )


def fit_quality(
    encode: Callable[[int], bytes], target_bytes: int, *, lo: int = 1, hi: int = 100
) -> tuple[int, bytes]:
    """Return ``(quality, data)`` for the highest quality found with ``len(data) <= target_bytes``.

    Parameters
    ----------
    encode : callable
        ``encode(quality) -> bytes``.
    target_bytes : int
        The budget, in bytes (positive).
    lo, hi : int
        The quality range searched.

    Raises
    ------
    ValueError
        If even quality ``lo`` gives more than ``target_bytes`` bytes.
    """
    if isinstance(target_bytes, bool) or not isinstance(target_bytes, int) or target_bytes < 1:
        raise ValueError(f"target_bytes must be a positive int, got {target_bytes!r}")
    best: tuple[int, bytes] | None = None
    smallest = 0
    while lo <= hi:
        q = (lo + hi) // 2
        data = encode(q)
        if len(data) <= target_bytes:
            best = (q, data)
            lo = q + 1
        else:
            smallest = len(data)
            hi = q - 1
    if best is None:
        raise ValueError(
            f"target_bytes={target_bytes} is unreachable: the smallest output "
            f"(quality {hi + 1}) is {smallest} bytes"
        )
    return best


def smallest_passing(
    encode: Callable[[int], bytes], passes: Callable[[bytes], bool], *, lo: int = 1, hi: int = 100
) -> tuple[int, bytes]:
    """Return ``(quality, data)`` for the lowest quality found whose output ``passes``.

    Used by ``preserve``: ``passes`` decodes the output and checks the
    classifier's decision or the divergence of its probabilities. Both are
    close to monotone in quality, so this is a bisection (at most 8 encodes and
    checks for 1..100), and it only returns outputs it actually checked.

    Raises
    ------
    ValueError
        If even quality ``hi`` does not pass.
    """
    best: tuple[int, bytes] | None = None
    top = encode(hi)
    if not passes(top):
        raise ValueError(f"the condition fails even at quality {hi}; nothing smaller can keep it")
    best = (hi, top)
    hi -= 1
    while lo <= hi:
        q = (lo + hi) // 2
        data = encode(q)
        if passes(data):
            best = (q, data)
            hi = q - 1
        else:
            lo = q + 1
    return best
