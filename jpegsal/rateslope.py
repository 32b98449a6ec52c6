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

The search predicts instead of walking. It encodes the asked quality and predicts each
rung's bytes as that file's header (:func:`~jpegsal.codec.markers.header_size`) plus a
multiple of the typical bytes per pixel; encodes the cheapest other rung under that
prediction; fits ``header + a * bpp(q) ** b`` to the two sizes; and encodes the cheapest
rung under the fit if it is new. At most three encodes (2.2-2.3 on real images), and it
keeps the cheapest of what it encoded. On bytes that follow the model it lands within
1 % of the best rung's cost (tests); on the tuning images 0.02 % / 0.7 % above it on
average (227² images / real-size photos), where the walk it replaced, with twice the
encodes, was 0.00 % / 0.05 % (docs/experiments.md, sections 34-35).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .codec.markers import header_size

__all__ = ["FLOOR", "LADDER", "equal_slope", "slope", "typical_kl"]

LADDER = tuple(range(5, 101, 5))
# Mean KL (nats) of Lite0 and Lite1 on the preset's output at each rung: imagenet-sample's
# tuning split (200 photos) and imagenet-val-1300's (260 at 227 px), averaged.
_KL = np.array(
    [
        *(1.95436, 0.81539, 0.45557, 0.30416, 0.23296, 0.18119, 0.1514, 0.13046, 0.1113),
        *(0.09103, 0.08097, 0.07164, 0.06139, 0.05107, 0.0402, 0.02476, 0.01451, 0.00841),
        *(0.00197, 0.00098),
    ]
)
# The preset's mean bytes per pixel at each rung on imagenet-val-1300's tuning split (about
# the classifier's input size): the typical image of the slope.
_BPP = np.array(
    [
        *(0.0212, 0.0346, 0.0486, 0.0618, 0.0744, 0.0874, 0.0993, 0.1096, 0.1203, 0.13),
        *(0.1408, 0.1529, 0.1699, 0.1882, 0.2111, 0.2516, 0.2964, 0.3844, 0.505, 0.8154),
    ]
)
_LOG_KL = np.log(_KL)  # interpolated in log: the curve falls three decades
# The preset's lowest quality unless asked lower: here, and for preserve's predicted KL
# (jpegsal.pipeline). Both curves were measured on images up to about 2x a 224 input.
FLOOR = 20


def typical_kl(quality: float) -> float:
    """The typical KL at ``quality``, log-interpolated between rungs (flat beyond them).

    >>> round(typical_kl(50), 5), round(typical_kl(100), 5)
    (0.09103, 0.00098)
    """
    return float(np.exp(np.interp(quality, LADDER, _LOG_KL)))


def _hull_slopes(kl: np.ndarray = _KL) -> np.ndarray:
    """-dKL/d(bytes per pixel) at each rung, on the lower convex hull of the typical
    curve ``kl`` (on :data:`LADDER`): non-increasing in quality, so a higher quality never
    asks for a steeper slope."""
    hull = [0]
    for i in range(1, len(LADDER)):
        while len(hull) > 1:
            a, b = hull[-2], hull[-1]
            # Keep b while it lies below the chord from a to i; else it is not a vertex.
            db, dk = _BPP[b] - _BPP[a], kl[b] - kl[a]
            if db * (kl[i] - kl[a]) - dk * (_BPP[i] - _BPP[a]) > 0:
                break
            hull.pop()
        hull.append(i)
    seg = -np.diff(kl[hull]) / np.diff(_BPP[hull])  # each hull segment's slope
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
    ``typical_kl(q) + slope(quality, side) * len(encode(q))``, predicted (see the module).

    ``lo`` above ``quality`` is lowered to it: the floor never raises an asked quality.
    A quality below the ladder (under 5, where the typical curve was not measured) is
    encoded as asked.
    """
    if quality < LADDER[0]:
        return quality, encode(quality)
    lo = min(lo, quality)
    rungs = sorted({q for q in LADDER if lo <= q <= hi} | {quality})
    lam, tried = slope(quality, side), {quality: encode(quality)}
    # The header (tables, markers) does not grow with quality: left in, it would bend
    # a small image's bytes away from any power law of the typical growth.
    header = header_size(tried[quality])
    for _ in range(2):  # predict from one size, then from two
        here = _predicted_best(rungs, tried, lam, header)
        if here is None:
            break
        tried[here] = encode(here)
    q = min(tried, key=lambda r: typical_kl(r) + lam * len(tried[r]))
    return q, tried[q]


def _predicted_best(
    rungs: list[int], tried: dict[int, bytes], lam: float, header: int
) -> int | None:
    """The rung to encode next, under bytes ``header + a * bpp(q) ** b`` fitted to
    ``tried``: from one size (``b = 1``), the cheapest rung not yet encoded; from more, the
    cheapest rung, or None when it was encoded already."""
    typical = np.log(np.interp(list(tried), LADDER, _BPP))
    sizes = np.log([max(len(d) - header, 1) for d in tried.values()])
    if len(tried) > 1 and np.ptp(typical) > 0:
        b, log_a = np.polyfit(typical, sizes, 1)
    else:
        b, log_a = 1.0, float(np.mean(sizes - typical))
    bpp = np.interp(rungs, LADDER, _BPP)
    predicted = header + np.exp(log_a + b * np.log(bpp))
    guess = [typical_kl(q) + lam * size for q, size in zip(rungs, predicted, strict=True)]
    order = [rungs[i] for i in np.argsort(guess, kind="stable")]
    if len(tried) == 1:  # one size says little about the growth: always measure a second
        return next((q for q in order if q not in tried), None)
    return None if order[0] in tried else order[0]
