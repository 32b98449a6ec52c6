"""How sure is a bytes ratio? Confidence intervals by resampling the images.

A ratio at equal top-1 over a thousand images moves by several per cent when other images
of the same kind are drawn: near the top of Pillow's range the accuracy curve is flat
within a few images, so one image more or less decides where a curve crosses it. The
bootstrap draws the images again with replacement, ``samples`` times; each draw gives
every contender's curve and Pillow's, and the ratio is computed exactly as for the full
set (:func:`jpegsal.bench.bd.versus_base`, Pillow's q20-q90 range moving with the draw).

One draw serves every contender (the comparison is *paired*): :func:`paired` gives the
interval of one contender's ratio over another's, which says whether a difference
between two contenders is more than the choice of images.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from .bd import bd_ratio
from .sweep import Sweep

__all__ = [
    "SCORE_INDEX",
    "interval",
    "load_images",
    "paired",
    "resampled_ratios",
    "save_images",
]

SCORE_INDEX = {"top1": 0, "top5": 1, "agree1": 2, "kl": 3}  # columns of Sweep.scores_each


def resampled_ratios(
    sweep: Sweep,
    judge: str,
    protocol: str,
    key: str,
    contenders: Sequence[str],
    qualities: Sequence[float],
    *,
    samples: int = 1000,
    seed: int = 0,
    worst: bool = False,
) -> dict[str, np.ndarray]:
    """Each contender's ratio against ``pillow`` over Pillow's q20-q90 range, per draw.

    ``key``: ``top1``, ``top5``, ``agree1`` or ``kl`` (at equal KL, lower is better);
    ``qualities``: Pillow's points; ``worst``: the largest ratio anywhere in the range
    instead of the mean. Returns contender -> (samples,) ratios (NaN where a draw's curves
    do not meet in that range).
    """
    if sweep.n < 2:
        raise ValueError(f"resampling needs at least 2 images, the sweep has {sweep.n}")
    col = SCORE_INDEX[key]
    sign = -1.0 if key == "kl" else 1.0
    scale = 1.0 if key == "kl" else 100.0
    draws = np.random.default_rng(seed).multinomial(sweep.n, np.full(sweep.n, 1 / sweep.n), samples)
    per = sweep.scores_each[judge, protocol]

    def means(c: str) -> tuple[np.ndarray, np.ndarray]:
        nbytes = draws @ np.stack(sweep.bytes_each[c]) / sweep.n
        scores = draws @ np.stack(per[c])[:, :, col] / sweep.n
        return nbytes, sign * scale * scores

    base_bytes, base_scores = means("pillow")
    span = [i for i, q in enumerate(qualities) if 20 <= q <= 90]
    out: dict[str, np.ndarray] = {}
    for c in contenders:
        if c == "pillow":
            continue
        nbytes, scores = means(c)
        ratios = np.full(samples, np.nan)
        for s in range(samples):
            base = list(zip(base_bytes[s], base_scores[s], strict=True))
            lo, hi = base_scores[s, span].min(), base_scores[s, span].max()
            r = bd_ratio(base, list(zip(nbytes[s], scores[s], strict=True)), lo, hi, worst=worst)
            ratios[s] = np.nan if r is None else r
        out[c] = ratios
    return out


def interval(values: np.ndarray, level: float = 0.95) -> list[float] | None:
    """The central ``level`` interval of ``values`` (NaN draws left out), rounded to 3
    places; None when fewer than half the draws gave a value."""
    finite = values[np.isfinite(values)]
    if len(finite) < len(values) / 2:
        return None
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(finite, [tail, 100 - tail])
    return [round(float(lo), 3), round(float(hi), 3)]


def paired(draws: dict[str, np.ndarray], a: str, b: str, level: float = 0.95) -> list[float] | None:
    """Interval of ``a``'s ratio over ``b``'s, draw by draw (below 1: ``a`` needs fewer
    bytes at equal accuracy; an interval that holds 1 is within the images' noise).

    >>> d = {"a": np.array([0.8, 0.9, 1.0]), "b": np.array([1.0, 1.0, 1.0])}
    >>> paired(d, "a", "b", level=1.0)
    [0.8, 1.0]
    """
    return interval(draws[a] / draws[b], level)


def save_images(sweep: Sweep, path: str | os.PathLike[str]) -> None:
    """Each image's rows of ``sweep`` as a compressed ``.npz`` (``load_images`` reads it):
    what a later paired comparison of two contenders needs."""
    arrays: dict[str, Any] = {f"bytes|{c}": np.stack(v) for c, v in sweep.bytes_each.items() if v}
    for (judge, protocol), per in sweep.scores_each.items():
        arrays |= {f"scores|{judge}|{protocol}|{c}": np.stack(v) for c, v in per.items() if v}
    np.savez_compressed(path, **arrays)


def load_images(path: str | os.PathLike[str]) -> Sweep:
    """A :class:`Sweep` of the per-image rows :func:`save_images` wrote (no timings)."""
    points: dict[str, int] = {}
    bytes_each: dict[str, list[np.ndarray]] = {}
    scores: dict[tuple[str, str], dict[str, list[np.ndarray]]] = {}
    with np.load(path) as data:
        for name in data.files:
            kind, _, rest = name.partition("|")
            rows = list(data[name])
            if kind == "bytes":
                bytes_each[rest], points[rest] = rows, rows[0].shape[0]
            else:
                judge, protocol, c = rest.split("|", 2)
                scores.setdefault((judge, protocol), {})[c] = rows
    n = len(next(iter(bytes_each.values()), []))
    return Sweep(points, bytes_each, scores, dict.fromkeys(points, 0.0), n, n)
