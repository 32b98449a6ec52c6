"""EXIF orientation, settled once at the entrance of the saliency stage.

Pixels are stored as the camera read them; the EXIF orientation tag says how a viewer
turns them. Models are given the upright view (what a person, or a classifier fed by
a viewer, sees), and their maps are turned back to stored order, where the encoder
works. This module is the only place that knows the eight orientations.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = ["Turn", "map_upright", "orientation", "to_stored_order", "upright"]

_T = Image.Transpose
Turn = tuple[Image.Transpose, Image.Transpose]  # (to the upright view, back to stored order)
_ORIENT: dict[int, Turn] = {
    2: (_T.FLIP_LEFT_RIGHT, _T.FLIP_LEFT_RIGHT),
    3: (_T.ROTATE_180, _T.ROTATE_180),
    4: (_T.FLIP_TOP_BOTTOM, _T.FLIP_TOP_BOTTOM),
    5: (_T.TRANSPOSE, _T.TRANSPOSE),
    6: (_T.ROTATE_270, _T.ROTATE_90),
    7: (_T.TRANSVERSE, _T.TRANSVERSE),
    8: (_T.ROTATE_90, _T.ROTATE_270),
}


def orientation(exif: bytes | None) -> int:
    """The EXIF orientation tag (1 when absent, unreadable or out of range)."""
    if not exif:
        return 1
    try:
        tags = Image.Exif()
        tags.load(exif)
        value = tags.get(0x0112, 1)
    except Exception:  # broken EXIF must not stop encoding; treat as upright
        return 1
    return value if value in _ORIENT else 1


def upright(image: Image.Image, tag: int) -> Image.Image:
    """``image`` turned the way orientation ``tag`` says a viewer shows it."""
    turn = _ORIENT.get(tag)
    return image if turn is None else image.transpose(turn[0])


def map_upright(sal: np.ndarray, tag: int) -> np.ndarray:
    """A map in stored order, turned upright like its image (for pictures of it)."""
    turn = _ORIENT.get(tag)
    if turn is None:
        return sal
    return np.asarray(Image.fromarray(sal, "F").transpose(turn[0]), dtype=np.float32)


def to_stored_order(sal: np.ndarray, tag: int) -> np.ndarray:
    """A map of the upright view, turned back to the stored pixel order."""
    turn = _ORIENT.get(tag)
    if turn is None:
        return sal
    return np.asarray(Image.fromarray(sal, "F").transpose(turn[1]), dtype=np.float32)
