"""``preserve``'s predicted search: the lowest passing quality in about two checks.

A bisection over 1..100 checks 8 candidates, each a decode and a classifier run. The
classifier's KL divergence against quality has much the same shape for every image,
shifted up or down: this module holds that shape (the median log KL of EfficientNet-Lite0,
the shipped models' classifier, at qualities 5, 10, ..., 100 on imagenet-val-1300's tuning
split, made non-increasing) and predicts the shift from the entropy of the classifier's
prediction on the original (uncertain images are fragile: correlation 0.71 there). Each
check then measures the image's real shift, which gives the next candidate:

* a first candidate from the predicted shift, aimed ``MARGIN`` below the budget (in log
  KL);
* while a candidate fails, the next is the quality its measured shift asks for, aimed
  ``CLIMB`` below the budget (at least one step higher), up to ``hi``;
* when the first candidate passes, one candidate lower is tried only if its measured
  shift asks for ``DESCEND`` or more steps lower; the lowest that passed is returned.

Only checked outputs come back, so a budget is never exceeded. The margins trade a few
quality steps per budget for checks: 2.85 network runs per image (the reference run
included) against 3.29 without them on imagenet-val-1300's report images, with the same
curve of bytes against accuracy on both judges within its 95 % interval
(docs/experiments.md, section 13; replayed first with :mod:`jpegsal.train.preserve_prior`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = ["predicted_passing"]

_QUALITIES = np.arange(5, 101, 5, dtype=np.float64)
_LOG_KL = np.array(
    [
        *(0.74, -0.76, -1.43, -1.86, -2.01, -2.34, -2.55, -2.77, -2.77, -3.01),
        *(-3.14, -3.16, -3.16, -3.43, -3.43, -3.82, -4.39, -4.81, -8.12, -8.12),
    ]
)
_SHIFT = (0.133, 0.889)  # shift = a + b * log(entropy + 1e-3), fitted on the same images
_FLOOR = 1e-9  # a KL of 0 (the same probabilities) as a finite log
# The search's margins (see the module), chosen on Lite0's measured KL curves of
# imagenet-val-1300's tuning split (python -m jpegsal.train.preserve_prior).
MARGIN, CLIMB = 0.5, 0.2  # log KL below the budget: first candidate, climb after a failure
DESCEND = 8  # quality steps: a passing first candidate is kept unless that much is on offer


def curve(q: float) -> float:
    """The typical log KL at quality ``q`` (flat beyond the measured 5..100)."""
    return float(np.interp(q, _QUALITIES, _LOG_KL))


def quality_for(log_budget: float, shift: float) -> float:
    """The lowest quality whose typical log KL plus ``shift`` is within ``log_budget``."""
    target = log_budget - shift
    if target >= _LOG_KL[0]:
        return float(_QUALITIES[0])
    for i in range(1, len(_LOG_KL)):
        if _LOG_KL[i] <= target:
            t = (_LOG_KL[i - 1] - target) / (_LOG_KL[i - 1] - _LOG_KL[i])
            return float(_QUALITIES[i - 1] + t * (_QUALITIES[i] - _QUALITIES[i - 1]))
    return 101.0  # beyond the curve: above any quality


def entropy(probabilities: np.ndarray) -> float:
    """The entropy of a prediction, in nats."""
    p = np.asarray(probabilities, np.float64)
    return float(-(p * np.log(np.maximum(p, 1e-12))).sum())


def prior_shift(probabilities: np.ndarray) -> float:
    """The shift predicted from the entropy of the prediction on the original."""
    return _SHIFT[0] + _SHIFT[1] * math.log(entropy(probabilities) + 1e-3)


def predicted_passing(
    encode: Callable[[int], bytes],
    passes: Callable[[bytes], bool],
    kl_of: Callable[[bytes], float],
    budget: float,
    probabilities: np.ndarray | None,
    *,
    lo: int = 1,
    hi: int = 100,
    strict: bool = True,
    shift: float | None = None,
    margin: float = MARGIN,
    descend: int = DESCEND,
    climb: float = CLIMB,
) -> tuple[int, bytes]:
    """(quality, data): the lowest checked quality in ``lo..hi`` whose output ``passes``.

    ``kl_of(data)`` is the KL the check measured for ``data``. The first candidate comes
    from ``shift`` if given, else from the prior of ``probabilities``; ``margin``,
    ``descend`` and ``climb`` are the rules' margins (0, 1, 0: none). With
    ``strict=False`` an unmet budget gives ``(hi, data at hi)``; with ``strict=True`` it
    raises ValueError.
    """
    if shift is None:
        if probabilities is None:
            raise ValueError("predicted_passing needs probabilities or a shift")
        shift = prior_shift(probabilities)
    log_budget = math.log(budget)

    def clamp(q: float) -> int:
        return min(hi, max(lo, math.ceil(q - 1e-9)))

    def measured_shift(q: int, data: bytes) -> float:
        return math.log(max(kl_of(data), _FLOOR)) - curve(q)

    q = clamp(quality_for(log_budget - margin, shift))
    data = encode(q)
    if passes(data):
        lower = clamp(quality_for(log_budget, measured_shift(q, data)))
        if lower <= q - descend:
            below = encode(lower)
            if passes(below):
                return lower, below
        return q, data
    while q < hi:
        q = max(q + 1, clamp(quality_for(log_budget - climb, measured_shift(q, data))))
        data = encode(q)
        if passes(data):
            return q, data
    if strict:
        raise ValueError(f"the condition fails even at quality {hi}; nothing smaller can keep it")
    return hi, data
