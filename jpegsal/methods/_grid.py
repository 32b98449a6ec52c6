"""The encoder's block grid: MCU sizes, per-block statistics, libjpeg's quantisation tables."""

from __future__ import annotations

import numpy as np

from .._optional import require
from ..options import JpegOptions

__all__ = [
    "block_means",
    "check_int",
    "check_positive",
    "expand_blocks",
    "mcu_shape",
    "quant_tables",
    "shrink_cells",
    "validate_strength",
]

# ITU-T T.81 Annex K tables (libjpeg's std_luminance/chrominance_quant_tbl), natural order.
_STD_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
], np.float64).reshape(8, 8)  # fmt: skip
_STD_CHROMA = np.array([
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
], np.float64).reshape(8, 8)  # fmt: skip


def validate_strength(strength: float) -> float:
    if isinstance(strength, bool) or not isinstance(strength, (int, float)):
        raise TypeError(f"strength must be a number in [0, 1], got {strength!r}")
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    return float(strength)


def check_int(name: str, value: object, minimum: int) -> None:
    """A method parameter that must be an int (not a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        what = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise ValueError(f"{name} must be {what}, got {value!r}")


def check_positive(name: str, value: object) -> None:
    """A method parameter that must be a positive number."""
    if not (isinstance(value, (int, float)) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")


def chroma_factors(options: JpegOptions) -> tuple[int, int]:
    """(vertical, horizontal) chroma subsampling factors libjpeg will use for colour."""
    # -1 is libjpeg's default, 4:2:0.
    return {0: (1, 1), 1: (1, 2), 2: (2, 2), -1: (2, 2)}[options.subsampling]


def mcu_shape(options: JpegOptions, mode: str) -> tuple[int, int]:
    """(height, width) of one MCU: 8x8 for greyscale and 4:4:4, 16x8... for subsampled colour."""
    if mode == "L":
        return (8, 8)
    fy, fx = chroma_factors(options)
    return (8 * fy, 8 * fx)


def block_means(values: np.ndarray, bh: int, bw: int) -> np.ndarray:
    """Mean of ``values`` (H, W) over each bh x bw block; partial edge blocks are padded
    by replicating the last row and column, as libjpeg pads them.

    uint8 input gives uint8 means, rounded (libjpeg's downsampled samples are integers
    too); anything else gives float32.
    """
    cv2 = require("cv2")
    h, w = values.shape
    gh, gw = -(-h // bh), -(-w // bw)
    if values.dtype != np.uint8:
        values = np.asarray(values, np.float32)
    padded = cv2.copyMakeBorder(values, 0, gh * bh - h, 0, gw * bw - w, cv2.BORDER_REPLICATE)
    # INTER_AREA at an integer factor is exactly the block mean, and far faster than
    # a numpy reduction over strided axes.
    means: np.ndarray = cv2.resize(padded, (gw, gh), interpolation=cv2.INTER_AREA)
    return means.reshape(gh, gw)


def shrink_cells(values: np.ndarray, factor: int) -> np.ndarray:
    """Area average of ``values`` ((H, W) or (H, W, C)) by ``factor``, over whole cells only.

    The largest top-left region that is a whole number of factor x factor cells is
    averaged: OpenCV's fast exact path. The under-``factor`` edge rows and columns left
    out matter only to callers that enlarge slowly varying results back to (H, W).
    """
    cv2 = require("cv2")
    h, w = values.shape[:2]
    hs, ws = max(1, h // factor), max(1, w // factor)
    crop = values[: min(h, hs * factor), : min(w, ws * factor)]
    return np.asarray(cv2.resize(crop, (ws, hs), interpolation=cv2.INTER_AREA))


def expand_blocks(grid: np.ndarray, bh: int, bw: int, shape: tuple[int, int]) -> np.ndarray:
    """Repeat each block value over its bh x bw pixels and crop to ``shape`` (H, W)."""
    cv2 = require("cv2")
    gh, gw = grid.shape
    # A nearest-neighbour resize by an exact integer factor is a block repeat.
    full = cv2.resize(grid, (gw * bw, gh * bh), interpolation=cv2.INTER_NEAREST)
    return np.ascontiguousarray(full[: shape[0], : shape[1]])


def quant_tables(options: JpegOptions) -> tuple[np.ndarray, np.ndarray]:
    """The (luma, chroma) 8x8 tables the encoder will use for ``options``."""
    if options.qtables is not None:
        tables = [np.asarray(t, np.float64).reshape(8, 8) for t in options.qtables]
        luma = tables[0]
        chroma = tables[1] if len(tables) > 1 else tables[0]
        if options.quality == -1:
            return luma, chroma
        return _scale(luma, options.quality), _scale(chroma, options.quality)
    quality = 75 if options.quality == -1 else options.quality
    return _scale(_STD_LUMA, quality), _scale(_STD_CHROMA, quality)


def _scale(table: np.ndarray, quality: int) -> np.ndarray:
    # libjpeg's jpeg_quality_scaling + jpeg_add_quant_table (force_baseline=TRUE, as Pillow).
    q = min(max(quality, 1), 100)
    scale = 5000 // q if q < 50 else 200 - 2 * q
    scaled = np.floor((table * scale + 50) / 100)
    out: np.ndarray = np.clip(scaled, 1, 255)
    return out
