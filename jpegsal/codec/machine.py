"""``preset="machine"``: quantisation tables made for classifiers, not for eyes.

The tables come from the per-frequency sensitivity of two tuning classifiers
(EfficientNet-Lite0 and -Lite1) to each DCT coefficient, measured through JPEG's own
colour transform, subsampling and DCT (:mod:`jpegsal.train.sensitivity`; shipped as
``machine_fisher.json``). A coefficient with Fisher value F quantised with step Q costs
the classifier about F Q^2 / 12 of loss, so equal rate-distortion slope gives
Q ~ F^(-1/2). That shape alone lost to libjpeg's tables where the classifier sees every
frequency (a second-order model says nothing about large, blocky errors), so the shipped
tables are a geometric blend of the two shapes (``MachineTables.blend``). The sensitivity
depends on how much a classifier shrinks the image, so it is stored at several ratios of
the image's size to a 224-pixel input and interpolated.

The judges of ``docs/experiments.md`` (EfficientNet-Lite2, MobileNet v1) never entered
these tables or any constant here.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .._check import check_choice, check_int
from .tables import _STD_CHROMA, _STD_LUMA, scale_table

__all__ = [
    "CLASSIFIER_SIDE",
    "GROUPS",
    "PRESETS",
    "MachineTables",
    "adjust",
    "apply_preset",
    "check_side",
    "fisher_at",
    "machine_tables",
    "step_adjustment",
]

PRESETS = ("machine",)
# Options the preset sets unless the caller did (measured in docs/experiments.md).
_PRESET_DEFAULTS = {"machine": {"optimize": True}}

# The input side the tables assume a downstream classifier resizes to (224 is the usual).
CLASSIFIER_SIDE = 224
_SIDES = (16, 4096)  # classifier_side= accepted (the tables are measured at ratios 1..2)
_DATA = Path(__file__).with_name("machine_fisher.json")
_STEPS = Path(__file__).with_name("machine_steps.json")

# Groups of steps moved together by the measured adjustment (jpegsal.train.tables):
# (name, table: 0 luma / 1 chroma, (lowest, highest) u + v of the frequencies in it).
GROUPS: tuple[tuple[str, int, tuple[int, int]], ...] = (
    ("Y0", 0, (0, 0)),
    ("Y1", 0, (1, 1)),
    ("Y2", 0, (2, 2)),
    ("Y3-4", 0, (3, 4)),
    ("Y5-6", 0, (5, 6)),
    ("Y7-9", 0, (7, 9)),
    ("Y10-14", 0, (10, 14)),
    ("C0", 1, (0, 0)),
    ("C1-2", 1, (1, 2)),
    ("C3-5", 1, (3, 5)),
    ("C6-14", 1, (6, 14)),
)
_MASKS = [
    np.isin(np.add.outer(np.arange(8), np.arange(8)), range(lo, hi + 1))
    for _, _, (lo, hi) in GROUPS
]
# (groups, 2, 8, 8): 1 where a step of the [luma, chroma] tables is in the group.
_GROUP_OF = np.stack(
    [np.stack([m & (t == 0), m & (t == 1)]) for (_, t, _), m in zip(GROUPS, _MASKS, strict=True)]
).astype(np.float64)


@dataclass(frozen=True)
class MachineTables:
    """How the machine tables are built from the sensitivity (the ablations vary these).

    ``gamma`` tempers the allocation (Q ~ F^(-gamma/2); 1 is the equal-slope rule, 0
    flat tables); ``chroma`` multiplies the chroma sensitivity before the allocation;
    ``blend`` is the weight of that measured shape against the standard tables' shape
    (geometric: 1 is the measured shape alone, 0 the standard tables); ``steps`` a steps
    file of :mod:`jpegsal.train.tables` other than the shipped one (for experiments);
    ``side`` the input side, in pixels, that the downstream classifier resizes images to
    (an image's tables are those measured at its size over ``side``).
    """

    gamma: float = 1.0
    chroma: float = 1.0
    blend: float = 0.5  # tuned on Lite0/Lite1 (docs/experiments.md, section 3)
    adjust: bool = True  # the measured equal-slope adjustment (docs/experiments.md, section 12)
    steps: str | None = None  # None: the shipped machine_steps.json
    side: int = CLASSIFIER_SIDE  # the downstream classifier's input (docs/experiments.md, 19)
    fisher: str | None = None  # None: the shipped machine_fisher.json (else for experiments)


@cache
def _fisher(path: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(log ratios (R,), log Fisher (R, 3, 8, 8)) from the shipped file (or the file of
    :mod:`jpegsal.train.sensitivity`'s ``--ship`` at ``path``)."""
    source = _DATA if path is None else Path(path)
    if not source.is_file():  # named like a missing steps file (research option)
        raise FileNotFoundError(f"fisher: no sensitivity file at {str(source)!r}")
    data = json.loads(source.read_text())
    ratios = sorted(data["fisher"], key=float)
    logf = np.log(np.array([data["fisher"][r] for r in ratios], np.float64))
    return np.log(np.array(ratios, np.float64)), logf


def fisher_at(
    width: int, height: int, side: int = CLASSIFIER_SIDE, path: str | None = None
) -> np.ndarray:
    """(3, 8, 8) Fisher diagonal (Y, Cb, Cr) for an image of this size, seen by a
    classifier of ``side``-pixel inputs.

    Interpolated linearly in log-log between the measured ratios, clamped at both ends
    (an image much larger than the largest ratio keeps that ratio's, finer, tables).
    """
    log_r, logf = _fisher(path)
    out: np.ndarray = np.exp(_between(_log_ratio(width, height, side), log_r, logf))
    return out


def _log_ratio(width: int, height: int, side: int = CLASSIFIER_SIDE) -> float:
    """log of the image's side (square root of its pixels) over the classifier's input.

    >>> round(_log_ratio(448, 448), 4), round(_log_ratio(320, 320, side=160), 4)
    (0.6931, 0.6931)
    """
    return math.log(max(1.0, math.sqrt(width * height)) / side)


def _between(x: float, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """``ys`` (one entry per point of the increasing ``xs``) interpolated linearly at
    ``x``, held constant beyond the first and last points.

    >>> _between(1.5, np.array([1.0, 2.0]), np.array([[0.0, 2.0], [2.0, 4.0]])).tolist()
    [1.0, 3.0]
    >>> _between(9.0, np.array([1.0, 2.0]), np.array([[0.0], [2.0]])).tolist()
    [2.0]
    """
    if len(xs) == 1:
        return np.asarray(ys[0], np.float64)
    i = int(np.clip(np.searchsorted(xs, x, side="right") - 1, 0, len(xs) - 2))
    t = float(np.clip((x - xs[i]) / (xs[i + 1] - xs[i]), 0.0, 1.0))
    out: np.ndarray = (1 - t) * ys[i] + t * ys[i + 1]
    return out


def machine_tables(
    quality: int, width: int, height: int, config: MachineTables = MachineTables()
) -> list[np.ndarray]:
    """[luma, chroma] 8x8 integer tables (natural order) for ``quality`` and this size.

    At every quality the geometric mean of the unadjusted steps, weighted 2:1
    luma:chroma as 4:2:0 counts coefficients, equals that of libjpeg's standard tables at
    the same quality, so ``quality`` keeps its usual rough meaning; the shape across
    frequencies and between luma and chroma comes from the sensitivity, then the measured
    adjustment (``config.adjust``). No step grows with quality: where the adjustments of
    two tuned qualities pull apart, each step is the smallest it is at this quality or
    any lower one.
    """
    stack = _all_qualities(width, height, config)
    q = min(max(quality, 1), 100)
    return [stack[q - 1, 0].astype(np.float64), stack[q - 1, 1].astype(np.float64)]


@lru_cache(maxsize=256)
def _all_qualities(width: int, height: int, config: MachineTables) -> np.ndarray:
    """(100, 2, 8, 8) uint8: the tables at qualities 1..100 (see :func:`machine_tables`)."""
    f = fisher_at(width, height, config.side, config.fisher)
    luma = f[0]
    chroma = config.chroma * np.sqrt(f[1] * f[2])  # one table serves Cb and Cr
    base = [
        np.power(x, -config.gamma / 2 * config.blend) * np.power(std, 1 - config.blend)
        for x, std in ((luma, _STD_LUMA), (chroma, _STD_CHROMA))
    ]

    def level(tables: list[np.ndarray]) -> float:
        return float((2 * np.log(tables[0]).mean() + np.log(tables[1]).mean()) / 3)

    norm = math.exp(level([_STD_LUMA, _STD_CHROMA]) - level(base))
    shape = np.stack([np.round(b * norm * 100) / 100 for b in base])  # (2, 8, 8)
    stack = np.stack([scale_table(shape, q) for q in range(1, 101)])
    if config.adjust:
        moved = np.clip(
            np.round(stack * _factor(_adjustments(width, height, config.steps, config.side))),
            1,
            255,
        )
        stack = np.minimum.accumulate(moved, axis=0)
    out: np.ndarray = stack.astype(np.uint8)
    out.setflags(write=False)
    return out


def adjust(tables: list[np.ndarray], delta: np.ndarray) -> list[np.ndarray]:
    """[luma, chroma] with each group of :data:`GROUPS` scaled by ``exp(delta[g])``,
    rounded and kept in 1..255 (baseline tables)."""
    moved = np.clip(np.round(np.stack(tables) * _factor(np.asarray(delta))), 1, 255)
    return [moved[0], moved[1]]


def _factor(delta: np.ndarray) -> np.ndarray:
    """``(..., 2, 8, 8)``: the factor of every step for group adjustments ``(..., groups)``."""
    out: np.ndarray = np.exp(delta @ _GROUP_OF.reshape(len(GROUPS), -1))
    return out.reshape(*delta.shape[:-1], 2, 8, 8)


@cache
def _steps(path: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(log ratios (R,), qualities (Q,), adjustments (R, Q, groups)) from the shipped file
    (or the steps file at ``path``)."""
    source = _STEPS if path is None else Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"steps: no steps file at {str(source)!r}")
    try:
        cells = {
            (float(c["ratio"]), int(c["quality"])): c["delta"]
            for c in json.loads(source.read_text())["cells"]
        }
        ratios = sorted({r for r, _ in cells})
        qualities = sorted({q for _, q in cells})
        grid = np.array([[cells[r, q] for q in qualities] for r in ratios], np.float64)
    except (ValueError, KeyError, TypeError) as e:  # JSON errors are ValueErrors
        raise ValueError(
            f"steps: {str(source)!r} is not a steps file of jpegsal.train.tables "
            f"(cells of quality, ratio and delta at every ratio x quality): {e!r}"
        ) from None
    if grid.ndim != 3 or grid.shape[2] != len(GROUPS) or min(ratios) <= 0:
        raise ValueError(
            f"steps: {str(source)!r} needs a delta of {len(GROUPS)} groups per cell "
            "and ratios above 0"
        )
    return np.log(ratios), np.array(qualities, np.float64), grid


def step_adjustment(quality: int, width: int, height: int) -> np.ndarray:
    """The measured log adjustment of each group for this quality and image size:
    interpolated linearly in quality and in log ratio between the tuned cells, held
    constant beyond the outermost ones."""
    row: np.ndarray = _adjustments(width, height)[min(max(quality, 1), 100) - 1]
    return row


def _adjustments(
    width: int, height: int, path: str | None = None, side: int = CLASSIFIER_SIDE
) -> np.ndarray:
    """(100, groups): :func:`step_adjustment` at qualities 1..100 (from the steps file at
    ``path``; None: the shipped one) for a classifier of ``side``-pixel inputs."""
    log_r, qualities, grid = _steps(path)
    q = np.arange(1, 101)
    per_ratio = np.stack([np.stack([np.interp(q, qualities, g) for g in row.T]) for row in grid])
    out: np.ndarray = _between(_log_ratio(width, height, side), log_r, per_ratio).T
    return out


def check_side(value: object) -> int:
    """``classifier_side``: an int in 16..4096, else ``TypeError``/``ValueError`` naming it.

    >>> check_side(160)
    160
    """
    return check_int("classifier_side", value, *_SIDES)


def apply_preset(preset: str | None, jpeg: dict[str, Any]) -> dict[str, Any]:
    """Pillow keywords ``jpeg`` with the preset's defaults; the preset's conflicts raise.

    The machine preset makes its own tables, so ``qtables``, ``"keep"`` and Pillow's
    quality presets (which carry tables) cannot be combined with it.
    """
    if preset is None:
        return jpeg
    check_choice("preset", preset, PRESETS)
    quality = jpeg.get("quality")
    if jpeg.get("qtables") is not None or isinstance(quality, str):
        given = "qtables=" if jpeg.get("qtables") is not None else f"quality={quality!r}"
        raise ValueError(
            f"preset={preset!r} makes its own quantisation tables, and {given} carries "
            "tables too; drop it (use an int quality), or drop preset="
        )
    return {**_PRESET_DEFAULTS[preset], **jpeg}
