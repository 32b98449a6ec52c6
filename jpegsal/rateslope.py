"""The machine preset's per-image quality: equal slope between bytes and a typical KL.

One quality for every image spends bytes where they buy least: an image whose bytes grow
fast with quality (a large one, which the classifier shrinks anyway, or a busy one) pays
more for the same step than a small or plain one. Each image gets the quality ``q`` that
minimises

    KL(q) + lam * bytes(q)

over the ladder 5, 10, ..., 100 (and the asked quality), where ``bytes(q)`` is the image's
own output size and ``KL(q)`` the *typical* KL divergence that the preset's tables at ``q``
cost a classifier: one curve for every image, the mean of EfficientNet-Lite0 and -Lite1
over the tuning splits of imagenet-sample and imagenet-val-1300 (no network runs at encode
time; the judges never entered it; docs/experiments.md, section 29). ``lam`` is the slope
of that curve against the bytes of a typical image of the classifier's input size
(``side`` squared pixels at the tuning images' bytes per pixel), so such an image keeps
about the asked quality, and ``quality`` keeps its meaning.

The search encodes the asked quality, predicts the best rung from that size and the
typical growth of bytes with quality, walks to the nearest rung whose neighbours cost
more, and predicts once more from the bytes the walk measured: about four encodes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["FLOOR", "LADDER", "equal_slope", "slope", "typical_kl"]

LADDER = tuple(range(5, 101, 5))
# Mean KL (nats) of Lite0 and Lite1 on the preset's output at each rung: imagenet-sample's
# tuning split (200 photos) and imagenet-val-1300's (260 at 227 px), averaged.
_KL = np.array(
    [
        *(1.95987, 0.81542, 0.46194, 0.3076, 0.24103, 0.18811, 0.15551, 0.13656, 0.11415),
        *(0.09524, 0.08501, 0.07636, 0.06738, 0.05516, 0.04443, 0.03138, 0.01898, 0.00982),
        *(0.00351, 0.00191),
    ]
)
# The preset's mean bytes per pixel at each rung on imagenet-val-1300's tuning split (about
# the classifier's input size): the typical image of the slope.
_BPP = np.array(
    [
        *(0.0212, 0.0345, 0.0484, 0.0615, 0.0739, 0.0868, 0.0985, 0.1086, 0.1192, 0.1287),
        *(0.1393, 0.151, 0.1674, 0.1859, 0.2083, 0.2442, 0.2866, 0.3764, 0.4989, 0.7899),
    ]
)
_LOG_KL = np.log(_KL)  # interpolated in log: the curve falls three decades
# The preset's lowest quality unless asked lower: here, and for preserve's predicted KL
# (jpegsal.pipeline). Both curves were measured on images up to about 2x a 224 input.
FLOOR = 20


def typical_kl(quality: float) -> float:
    """The typical KL at ``quality``, log-interpolated between rungs (flat beyond them).

    >>> round(typical_kl(50), 5), round(typical_kl(100), 5)
    (0.09524, 0.00191)
    """
    return float(np.exp(np.interp(quality, LADDER, _LOG_KL)))


def _hull_slopes() -> np.ndarray:
    """-dKL/d(bytes per pixel) at each rung, on the lower convex hull of the typical
    curve: non-increasing in quality, so a higher quality never asks for a steeper slope."""
    hull = [0]
    for i in range(1, len(LADDER)):
        while len(hull) > 1:
            a, b = hull[-2], hull[-1]
            # Keep b while it lies below the chord from a to i; else it is not a vertex.
            db, dk = _BPP[b] - _BPP[a], _KL[b] - _KL[a]
            if db * (_KL[i] - _KL[a]) - dk * (_BPP[i] - _BPP[a]) > 0:
                break
            hull.pop()
        hull.append(i)
    seg = -np.diff(_KL[hull]) / np.diff(_BPP[hull])  # each hull segment's slope
    # A vertex takes the geometric mean of its two segments; a rung inside a segment, its.
    at_vertex = np.sqrt(np.concatenate([seg[:1], seg]) * np.concatenate([seg, seg[-1:]]))
    out = np.empty(len(LADDER))
    for k in range(len(LADDER)):
        j = int(np.searchsorted(hull, k))
        out[k] = at_vertex[j] if hull[j] == k else seg[j - 1]
    return out


_LOG_SLOPES = np.log(_hull_slopes())


def slope(quality: float, side: int) -> float:
    """``lam`` for ``quality``: the typical curve's slope in nats per byte for an image
    of ``side`` squared pixels (log-interpolated between rungs).

    >>> slope(75, 224) > slope(90, 224) > 0, slope(75, 448) == slope(75, 224) / 4
    (True, True)
    """
    per_pixel = float(np.exp(np.interp(quality, LADDER, _LOG_SLOPES)))
    return per_pixel / float(side * side)


def equal_slope(
    encode: Callable[[int], bytes], quality: int, side: int, *, lo: int = FLOOR, hi: int = 100
) -> tuple[int, bytes]:
    """``(q, encode(q))`` for the rung (or ``quality``) in ``lo..hi`` that minimises
    ``typical_kl(q) + slope(quality, side) * len(encode(q))``, found by a walk.

    ``lo`` above ``quality`` is lowered to it: the floor never raises an asked quality.
    A quality below the ladder (under 5, where the typical curve was not measured) is
    encoded as asked.
    """
    if quality < LADDER[0]:
        return quality, encode(quality)
    lo = min(lo, quality)
    rungs = sorted({q for q in LADDER if lo <= q <= hi} | {quality})
    lam, tried = slope(quality, side), {}

    def cost(i: int) -> float:
        if rungs[i] not in tried:
            tried[rungs[i]] = encode(rungs[i])
        return typical_kl(rungs[i]) + lam * len(tried[rungs[i]])

    cost(rungs.index(quality))
    # Where to start: the rung that the image's bytes, predicted from those measured so far,
    # make cheapest; walk from there; predict again from what the walk measured (a busy or
    # plain image's bytes bend away from the typical growth), at most twice.
    for _ in range(2):
        here = _predicted_best(rungs, tried, lam)
        if here is None:
            break
        while True:  # downhill to a rung both of whose neighbours cost more
            near = [i for i in (here - 1, here, here + 1) if 0 <= i < len(rungs)]
            best = min(near, key=cost)
            if best == here:
                break
            here = best
    q = min(tried, key=lambda r: typical_kl(r) + lam * len(tried[r]))
    return q, tried[q]


def _predicted_best(rungs: list[int], tried: dict[int, bytes], lam: float) -> int | None:
    """The index of the cheapest rung under bytes ``a * bpp(q) ** b`` fitted to ``tried``
    (``b = 1`` from one point), or None when that rung was tried already."""
    typical = np.log(np.interp(list(tried), LADDER, _BPP))
    sizes = np.log([max(len(d), 1) for d in tried.values()])
    if len(tried) > 1 and np.ptp(typical) > 0:
        b, log_a = np.polyfit(typical, sizes, 1)
    else:
        b, log_a = 1.0, float(np.mean(sizes - typical))
    bpp = np.interp(rungs, LADDER, _BPP)
    sizes = np.exp(log_a + b * np.log(bpp))
    guess = [typical_kl(q) + lam * size for q, size in zip(rungs, sizes, strict=True)]
    best = int(np.argmin(guess))
    return None if rungs[best] in tried and len(tried) > 1 else best
