"""Does a per-block map of where coarse quantisation is harmless transfer between networks?

Issue 16's fifth candidate is saliency trained for the operation it steers: a head that
predicts, per block, where the preset may quantise more coarsely. Before training any head,
this asks the question a trained head could at best answer as well as its teacher: with the
*oracle* map of one tuning classifier (its own gradient on the very image), does quantising
its least important blocks more coarsely save bytes at equal KL for the *other* tuning
classifier? If the map helps only the network that drew it, no head trained from it can help
a judge of another family.

The contender ``oracle:KEY=VALUE,...`` is the preset's tables written by the coefficient-level
writer (:mod:`jpegsal.codec.dct_writer`, 4:2:0, optimised Huffman tables) with the MCUs the
map ranks lowest quantised with another rounding:

* ``map``: ``lite0`` or ``lite1`` (the oracle: squared gradient of the classifier's top-1 loss
  per DCT coefficient times the table's squared step, summed over each MCU's six blocks, the
  first-order loss JPEG's rounding noise adds there), ``random`` (the same share of MCUs, drawn
  from the image's own bytes: the control), or ``energy`` (the MCUs with the least AC energy
  over the step, model-free);
* ``frac``: the share of MCUs steered (0: the plain coefficient writer, the baseline);
* ``off``: their AC levels' rounding offset (0.5 rounds to nearest; 0 floors each
  magnitude) or ``zero`` (their AC levels all zero); DC levels always round to nearest;
* ``grid``: their AC levels on multiples of this integer (2: a step twice the table's,
  written in the table's units), rounded with ``off``.

Only the tuning classifiers draw maps or score; the judges never run here.

    python -m benchmarks.rate_accuracy ../shared/data/imagenet-val-1300 --split report \\
        --stride 2 --methods --evaluators lite0 lite1 --crop-evaluators \\
        --codecs oracle:frac=0 oracle:map=lite0,frac=0.5,off=0 ...
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image

from jpegsal.bench.codecs import Codec
from jpegsal.codec.coefficients import plane_coefficients, sample_planes
from jpegsal.codec.dct_writer import levels_image
from jpegsal.codec.machine import machine_tables
from jpegsal.codec.quantise import dead_zone_quantise

__all__ = ["OracleCodec", "mcu_grid", "mcu_importance", "steered_levels"]

MAPS = ("lite0", "lite1", "random", "energy")
_MAP_QUALITY = 50  # the tables the oracle weighs rounding noise with (only their shape matters)


@lru_cache(maxsize=2)
def _network(name: str) -> Any:
    from jpegsal.train.sensitivity import load_classifier

    return load_classifier(name)


def _per_plane(tables: list[np.ndarray]) -> list[np.ndarray]:
    """The table of each 4:2:0 plane: luma's, then chroma's for Cb and Cr."""
    return [tables[0], tables[1], tables[1]]


def mcu_grid(planes: list[np.ndarray]) -> tuple[int, int]:
    """(MCU rows, MCU cols) of 4:2:0 sample planes: the chroma planes' block grid."""
    return (-(-planes[1].shape[0] // 8), -(-planes[1].shape[1] // 8))


def _mcu_of(
    plane: int, blocks: tuple[int, ...], shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Each block's MCU as (rows, cols) index arrays: luma block (i, j) lies in MCU
    (i // 2, j // 2), chroma block (i, j) is MCU (i, j); clipped to ``shape``."""
    rows, cols = np.indices(blocks[:2])
    if plane == 0:
        rows, cols = rows // 2, cols // 2
    return rows.clip(0, shape[0] - 1), cols.clip(0, shape[1] - 1)


def _mcu_sum(per_block: list[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """Each plane's per-block values summed into their MCUs."""
    out = np.zeros(shape)
    for i, values in enumerate(per_block):
        np.add.at(out, _mcu_of(i, values.shape, shape), values)
    return out


def _oracle(image: Image.Image, name: str, tables: list[np.ndarray]) -> list[np.ndarray]:
    """Per block sum over coefficients of grad^2 * step^2 for classifier ``name``."""
    import torch

    from jpegsal.train.sensitivity import CLASSIFIERS, coefficient_gradients

    with torch.enable_grad():
        grads = coefficient_gradients(_network(name), CLASSIFIERS[name], np.asarray(image))
    pairs = zip(grads, _per_plane(tables), strict=True)
    return [((g.double().numpy() ** 2) * t**2).sum((2, 3)) for g, t in pairs]


def mcu_importance(image: Image.Image, kind: str) -> np.ndarray:
    """(MCU rows, MCU cols) importance of RGB ``image`` under map ``kind`` (higher: keep)."""
    tables = machine_tables(_MAP_QUALITY, image.width, image.height)
    planes = sample_planes(image, (2, 2))
    shape = mcu_grid(planes)
    if kind == "random":
        seed = int.from_bytes(hashlib.sha256(image.tobytes()).digest()[:8], "little")
        return np.random.default_rng(seed).random(shape)
    if kind == "energy":
        pairs = zip(planes, _per_plane(tables), strict=True)
        ac = [(plane_coefficients(p) / t) ** 2 for p, t in pairs]
        return _mcu_sum([a.sum((2, 3)) - a[..., 0, 0] for a in ac], shape)
    per_block = _oracle(image, kind, tables)
    out = _mcu_sum(per_block, shape)
    # MCUs the oracle did not see (the edge past the last multiple of 16) are kept
    seen = (image.height // 16, image.width // 16)
    mask = np.ones(shape, bool)
    mask[: seen[0], : seen[1]] = False
    out[mask] = np.inf
    return out


def steered_levels(
    planes: list[np.ndarray],
    tables: list[np.ndarray],
    steer: np.ndarray,
    offset: float | None,
    grid: int = 1,
) -> list[np.ndarray]:
    """Levels rounded to nearest, except the AC levels of MCUs where ``steer`` is true:
    there with rounding ``offset`` on multiples of ``grid`` or, for ``None``, zeroed."""
    out = []
    for i, (plane, table) in enumerate(zip(planes, _per_plane(tables), strict=True)):
        t = np.asarray(table, np.float32).reshape(8, 8)
        c = plane_coefficients(plane)
        hit = steer[_mcu_of(i, c.shape, steer.shape)]
        off = np.where(hit, 0.5 if offset is None else offset, 0.5)[..., None, None]
        step = np.where(hit, grid, 1)[..., None, None]
        lv = dead_zone_quantise(c, t * step, off) * step  # on multiples of step
        dc = np.rint(c[..., 0, 0] / t[0, 0])  # the DC always to nearest: no shift of a mean
        if offset is None:
            lv[hit] = 0
        lv[..., 0, 0] = dc
        out.append(lv.astype(np.int16))
    return out


@dataclass
class OracleCodec(Codec):
    """The preset's tables with the lowest-ranked MCUs quantised otherwise (module doc)."""

    options: dict[str, str] = field(default_factory=dict)
    name: str = "oracle"

    def __post_init__(self) -> None:
        kind = self.options.get("map", "random")
        if kind not in MAPS:
            raise ValueError(f"{self.name!r}: map= must be one of {MAPS}, not {kind!r}")
        self.kind = kind
        try:
            self.frac = float(self.options.get("frac", "0.5"))
            off = self.options.get("off", "0")
            self.offset = None if off == "zero" else float(off)
            self.grid = int(self.options.get("grid", "1"))
        except ValueError:
            msg = f"{self.name!r}: frac=, off= and grid= take numbers (off= also 'zero')"
            raise ValueError(msg) from None
        if not 0 <= self.frac < 1:
            raise ValueError(f"{self.name!r}: frac= is a share of MCUs in [0, 1)")
        if not 1 <= self.grid <= 8:
            raise ValueError(f"{self.name!r}: grid= is a whole number of steps in 1..8")
        if self.offset is not None and not 0 <= self.offset <= 0.5:
            raise ValueError(f"{self.name!r}: off= is a rounding offset in [0, 0.5] or 'zero'")
        self.share_key = f"oracle-{kind}" if self.frac > 0 else None

    def prepare(self, image: Image.Image) -> np.ndarray | None:
        return mcu_importance(image.convert("RGB"), self.kind) if self.frac > 0 else None

    def encode(self, image: Image.Image, quality: Any, prepared: Any = None) -> bytes:
        image = image.convert("RGB")  # three planes: the map is per 4:2:0 MCU
        tables = machine_tables(int(quality), image.width, image.height)
        planes = sample_planes(image, (2, 2))
        steer = np.zeros(mcu_grid(planes), bool)
        if self.frac > 0:
            imp = prepared if prepared is not None else self.prepare(image)
            steer = imp <= np.quantile(imp[np.isfinite(imp)], self.frac)
        levels = steered_levels(planes, tables, steer, self.offset, self.grid)
        used = [np.asarray(t, np.int64).ravel().tolist() for t in tables]
        buf = io.BytesIO()
        levels_image(levels, tables, image.size, (2, 2)).save(
            buf, "JPEG", qtables=used, subsampling=2, optimize=True
        )
        return buf.getvalue()


def parse(spec: str) -> OracleCodec:
    """``oracle[:map=M,frac=F,off=O,grid=K]`` (module doc)."""
    pairs = [kv.partition("=") for kv in spec.partition(":")[2].split(",") if kv]
    return OracleCodec(options={k: v for k, _, v in pairs}, name=spec)
