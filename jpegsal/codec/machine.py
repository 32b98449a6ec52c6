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
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from .._check import check_choice
from .tables import _STD_CHROMA, _STD_LUMA, scale_table

__all__ = [
    "CLASSIFIER_SIDE",
    "PRESETS",
    "MachineTables",
    "apply_preset",
    "fisher_at",
    "machine_tables",
]

PRESETS = ("machine",)
# Options the preset sets unless the caller did (measured in docs/experiments.md).
_PRESET_DEFAULTS = {"machine": {"optimize": True}}

# The input side the tables assume a downstream classifier resizes to (224 is the usual).
CLASSIFIER_SIDE = 224
_DATA = Path(__file__).with_name("machine_fisher.json")


@dataclass(frozen=True)
class MachineTables:
    """How the machine tables are built from the sensitivity (the ablations vary these).

    ``gamma`` tempers the allocation (Q ~ F^(-gamma/2); 1 is the equal-slope rule, 0
    flat tables); ``chroma`` multiplies the chroma sensitivity before the allocation;
    ``blend`` is the weight of that measured shape against the standard tables' shape
    (geometric: 1 is the measured shape alone, 0 the standard tables).
    """

    gamma: float = 1.0
    chroma: float = 1.0
    blend: float = 0.5  # tuned on Lite0/Lite1 (docs/experiments.md, section 3)


@cache
def _fisher() -> tuple[np.ndarray, np.ndarray]:
    """(log ratios (R,), log Fisher (R, 3, 8, 8)) from the shipped file."""
    data = json.loads(_DATA.read_text())
    ratios = sorted(data["fisher"], key=float)
    logf = np.log(np.array([data["fisher"][r] for r in ratios], np.float64))
    return np.log(np.array(ratios, np.float64)), logf


def fisher_at(width: int, height: int) -> np.ndarray:
    """(3, 8, 8) Fisher diagonal (Y, Cb, Cr) for an image of this size.

    Interpolated linearly in log-log between the measured ratios, clamped at both ends
    (an image much larger than the largest ratio keeps that ratio's, finer, tables).
    """
    log_r, logf = _fisher()
    x = math.log(max(1.0, math.sqrt(width * height)) / CLASSIFIER_SIDE)
    x = min(max(x, log_r[0]), log_r[-1])
    i = int(np.searchsorted(log_r, x, side="right")) - 1
    i = min(max(i, 0), len(log_r) - 2)
    t = (x - log_r[i]) / (log_r[i + 1] - log_r[i])
    out: np.ndarray = np.exp((1 - t) * logf[i] + t * logf[i + 1])
    return out


def machine_tables(
    quality: int, width: int, height: int, config: MachineTables = MachineTables()
) -> list[np.ndarray]:
    """[luma, chroma] 8x8 integer tables (natural order) for ``quality`` and this size.

    At every quality the geometric mean of the steps, weighted 2:1 luma:chroma as 4:2:0
    counts coefficients, equals that of libjpeg's standard tables at the same quality, so
    ``quality`` keeps its usual rough meaning; the shape across frequencies and between
    luma and chroma comes from the sensitivity.
    """
    f = fisher_at(width, height)
    luma = f[0]
    chroma = config.chroma * np.sqrt(f[1] * f[2])  # one table serves Cb and Cr
    base = [
        np.power(x, -config.gamma / 2 * config.blend) * np.power(std, 1 - config.blend)
        for x, std in ((luma, _STD_LUMA), (chroma, _STD_CHROMA))
    ]

    def level(tables: list[np.ndarray]) -> float:
        return float((2 * np.log(tables[0]).mean() + np.log(tables[1]).mean()) / 3)

    norm = math.exp(level([_STD_LUMA, _STD_CHROMA]) - level(base))
    return [scale_table(np.round(b * norm * 100) / 100, quality) for b in base]


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
        raise ValueError(
            f"preset={preset!r} makes its own quantisation tables; drop qtables= and "
            f"string qualities (got quality={quality!r}), or drop preset="
        )
    return {**_PRESET_DEFAULTS[preset], **jpeg}
