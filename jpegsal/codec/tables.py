"""JPEG knowledge beside the writer: libjpeg's tables, its quality scaling, the MCU grid.

What the encoder will do with a given :class:`~jpegsal.codec.options.JpegOptions`,
computed without encoding: methods use it to edit pixels on the encoder's exact grid
and in units of its quantisation steps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # options.py needs machine.py, which needs this module's tables
    from .options import JpegOptions

__all__ = [
    "check_jpeg_size", "chroma_factors", "mcu_shape", "quant_tables", "scale_table",
    "standard_tables",
]  # fmt: skip

_JPEG_MAX_SIDE = 65535  # the SOF marker's 16-bit width and height

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


def check_jpeg_size(width: int, height: int) -> None:
    """``ValueError`` when a JPEG cannot hold an image of this size (65,535 a side)."""
    if max(width, height) > _JPEG_MAX_SIDE:
        raise ValueError(f"image is {width}x{height}; a JPEG holds at most 65,535 pixels per side")


def chroma_factors(options: JpegOptions) -> tuple[int, int]:
    """(vertical, horizontal) chroma subsampling factors libjpeg will use for colour."""
    # -1 is libjpeg's default, 4:2:0; Pillow writes its invalid 3 as that default too.
    return {0: (1, 1), 1: (1, 2), 2: (2, 2), -1: (2, 2), 3: (2, 2)}[options.subsampling]


def mcu_shape(options: JpegOptions, mode: str) -> tuple[int, int]:
    """(height, width) of one MCU: 8x8 for greyscale and 4:4:4, 16x8... for subsampled colour."""
    if mode == "L":
        return (8, 8)
    fy, fx = chroma_factors(options)
    return (8 * fy, 8 * fx)


def quant_tables(options: JpegOptions) -> tuple[np.ndarray, np.ndarray]:
    """The (luma, chroma) 8x8 tables the encoder will use for ``options``."""
    if options.qtables is not None:
        tables = [np.asarray(t, np.float64).reshape(8, 8) for t in options.qtables]
        luma = tables[0]
        chroma = tables[1] if len(tables) > 1 else tables[0]
        if options.quality == -1:
            return luma, chroma
        return scale_table(luma, options.quality), scale_table(chroma, options.quality)
    return standard_tables(75 if options.quality == -1 else options.quality)


def standard_tables(quality: int) -> tuple[np.ndarray, np.ndarray]:
    """libjpeg's (luma, chroma) tables at ``quality``: what ``Image.save(quality=q)`` writes.

    >>> [int(t[0, 0]) for t in standard_tables(50)]
    [16, 17]
    """
    return scale_table(_STD_LUMA, quality), scale_table(_STD_CHROMA, quality)


def scale_table(table: np.ndarray, quality: int) -> np.ndarray:
    """``table`` scaled to ``quality`` as libjpeg scales its tables."""
    # libjpeg's jpeg_quality_scaling + jpeg_add_quant_table (force_baseline=TRUE, as Pillow).
    q = min(max(quality, 1), 100)
    scale = 5000 // q if q < 50 else 200 - 2 * q
    scaled = np.floor((table * scale + 50) / 100)
    out: np.ndarray = np.clip(scaled, 1, 255)
    return out
