"""Bjøntegaard-style comparison of two rate curves: the bytes ratio at equal quality.

A curve is a list of ``(bytes, score)`` points: one per quality setting of an
encoder, with ``score`` the accuracy, PSNR, SSIM or another higher-is-better measure.
``bd_ratio`` gives ``exp(mean(log bytes_test - log bytes_base))`` over the
score range both curves cover (optionally clipped): 0.8 means the test encoder needs
80 % of the base's bytes for the same score.

Unlike the original Bjøntegaard fit (a cubic in log rate), each curve is made monotone
(score as a running maximum over increasing bytes) and interpolated piecewise
linearly. Accuracy curves are noisy and often flat at the top, where a cubic fit
overshoots; the piecewise form is exact on the measured points and never
extrapolates.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["bd_ratio", "monotone_curve", "versus_base"]

Point = tuple[float, float]


def monotone_curve(points: list[Point]) -> tuple[np.ndarray, np.ndarray]:
    """(scores, log bytes), scores strictly increasing: the curve's upper envelope."""
    if not points:
        raise ValueError("a rate curve needs at least one (bytes, score) point")
    if any(not (b > 0 and np.isfinite(b) and np.isfinite(s)) for b, s in points):
        raise ValueError(f"rate curve points must be (bytes > 0, finite score), got {points!r}")
    pts = sorted(points)
    logb = np.log([p[0] for p in pts])
    score = np.maximum.accumulate([p[1] for p in pts])
    # The first point reaching each score: more bytes for no gain are not on the curve.
    score, idx = np.unique(score, return_index=True)
    return score, logb[idx]


def bd_ratio(
    base: list[Point],
    test: list[Point],
    lo: float | None = None,
    hi: float | None = None,
    samples: int = 200,
    *,
    worst: bool = False,
) -> float | None:
    """Bytes ratio test/base at equal score, averaged in log bytes over the shared range.

    ``lo`` and ``hi`` clip the range (for instance to what the base spans between two of
    its quality settings). Returns None when the curves share no score range. With
    ``worst=True``: the largest ratio anywhere in that range instead of the mean (above
    1: somewhere the test needs more bytes than the base).
    """
    s0, l0 = monotone_curve(base)
    s1, l1 = monotone_curve(test)
    low, high = max(s0[0], s1[0]), min(s0[-1], s1[-1])
    if lo is not None:
        low = max(low, lo)
    if hi is not None:
        high = min(high, hi)
    if high <= low:
        return None
    grid = np.linspace(low, high, samples)
    diff = np.interp(grid, s1, l1) - np.interp(grid, s0, l0)
    return float(np.exp(diff.max() if worst else diff.mean()))


def versus_base(base: list[dict[str, Any]], test: list[Point], key: str) -> dict[str, Any]:
    """The two summary ratios of ``test`` against a base quality sweep, rounded to 3 places.

    ``base`` holds dicts with ``quality``, ``bytes`` and ``key``: ``ratio_overlap`` is over
    the shared range, ``ratio_pillow_q20_q90`` over what the base spans between its
    qualities 20 and 90 (None where that is empty or the curves do not meet), and
    ``worst_pillow_q20_q90`` the largest ratio at any score of that range.
    """
    points = [(p["bytes"], p[key]) for p in base]
    span = [p[key] for p in base if 20 <= p["quality"] <= 90]
    within = bd_ratio(points, test, min(span), max(span)) if span else None
    worst = bd_ratio(points, test, min(span), max(span), worst=True) if span else None
    return {
        "ratio_overlap": _round(bd_ratio(points, test)),
        "ratio_pillow_q20_q90": _round(within),
        "worst_pillow_q20_q90": _round(worst),
    }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 3)
