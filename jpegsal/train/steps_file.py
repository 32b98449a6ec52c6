"""The steps file of :mod:`jpegsal.train.tables`: ratio-1 cells merged in (``--into``) and a
search continued from a file (``--start``)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..codec.machine import _between

ANCHOR_RATIO = 1.0  # the first cell of the grid (zero until --into fills it)
SNAP = 1.1  # a cell tuned below this ratio stands for ratio 1
HOLD = 1.25  # from this ratio up, --into leaves the tables as they were


def merge(path: Path, dataset: str, images: int, tuned: list[dict[str, object]]) -> None:
    """Put cells tuned near ratio 1 (below :data:`SNAP`) into the steps file ``path`` as its
    ratio-1 cells, replacing those of the same quality. A row at :data:`HOLD` keeps what
    the file gave there before, so images from that ratio up keep their tables."""
    data = json.loads(path.read_text())
    for cell in tuned:
        if float(cell["ratio"]) >= SNAP:  # type: ignore[arg-type]
            raise ValueError(f"--into takes images about the classifier's size, got {cell}")
        cell.update(ratio=ANCHOR_RATIO, source=f"{dataset} tuning split, {images} images")
    qualities = {c["quality"] for c in tuned}
    hold = [
        {"quality": q, "ratio": HOLD, "delta": _at(data["cells"], q, HOLD), "hold": True}
        for q in sorted(qualities)  # type: ignore[type-var]
    ]
    keep = [
        c
        for c in data["cells"]
        if not (c["ratio"] in (ANCHOR_RATIO, HOLD) and c["quality"] in qualities)
    ]
    data["cells"] = sorted(keep + tuned + hold, key=lambda c: (c["ratio"], c["quality"]))
    path.write_text(json.dumps(data, indent=1) + "\n")


def continued(old: list[dict[str, Any]], new: list[dict[str, object]]) -> list[dict[str, Any]]:
    """The cells of a search continued from a file (``--start``): ``new`` (a tuned cell per
    size and quality, and their ratio-1 anchors), and ``old``'s cells at every quality
    ``new`` did not tune, sorted as the shipped file is.

    >>> old = [{"quality": 25, "ratio": 1.0}, {"quality": 50, "ratio": 1.0}]
    >>> [c["quality"] for c in continued(old, [{"quality": 50, "ratio": 1.0, "new": 1}])]
    [25, 50]
    """
    tuned = {c["quality"] for c in new}
    keep = [c for c in old if c["quality"] not in tuned]
    return sorted(keep + new, key=lambda c: (c["ratio"], c["quality"]))


def _at(cells: list[dict[str, Any]], quality: object, ratio: float) -> list[float]:
    """The file's moves at ``ratio`` for ``quality``, as jpegsal.codec.machine reads them."""
    row = sorted((c["ratio"], c["delta"]) for c in cells if c["quality"] == quality)
    xs = np.log([r for r, _ in row])
    at = _between(math.log(ratio), xs, np.array([d for _, d in row], np.float64))
    return [round(float(v), 4) for v in at]
