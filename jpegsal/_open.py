"""Reading encoded inputs (paths, bytes, files): decompression bombs, frames, damage.

Pillow's decompression-bomb check reads a module global and names no file; it is done
here, in words that name the input. A GIF or TIFF with several frames and a JPEG with
damaged data (which Pillow decodes silently) are reported as :class:`InputWarning`.
"""

from __future__ import annotations

import io
import os
import struct
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from PIL import Image, UnidentifiedImageError

__all__ = [
    "PILLOW_DEFAULT",
    "CorruptDataError",
    "CorruptDataWarning",
    "InputWarning",
    "open_encoded",
]

PILLOW_DEFAULT: Any = object()  # max_pixels not given: Pillow's own limits
_LIMIT_LOCK = threading.Lock()


def open_encoded(
    obj: Any, max_pixels: int | None, corrupt: str, draft: int | None = None
) -> tuple[Image.Image, tuple[int, int]]:
    """Open and decode a path, bytes or binary file (the checks above); the image and its
    stored size. ``draft``: a JPEG is decoded at the smallest DCT scale (1/2, 1/4, 1/8)
    whose shorter side is still at least ``draft`` pixels (libjpeg's reduced decode)."""
    if isinstance(obj, (bytes, bytearray, memoryview)):
        obj = io.BytesIO(bytes(obj))
        name = "<bytes>"
    elif isinstance(obj, (str, os.PathLike)):
        name = os.fspath(obj)
        if os.path.isdir(name):
            raise IsADirectoryError(f"image path is a directory: {name!r}")
    else:
        name = getattr(obj, "name", "<file object>")
        if isinstance(obj, io.TextIOBase):
            raise TypeError(f"file object {name!r} is open in text mode; open it with 'rb'")
    start = obj.tell() if hasattr(obj, "seekable") and obj.seekable() else 0
    try:
        with _opened(obj, max_pixels, name) as im:
            frames = getattr(im, "n_frames", 1)
            if frames > 1:
                warnings.warn(
                    f"{name}: {frames} frames; only the first is encoded (a JPEG holds one)",
                    InputWarning,
                    stacklevel=4,
                )
            size = im.size
            if draft is not None and im.format == "JPEG" and min(size) > draft:
                ratio = draft / min(size)
                im.draft(im.mode, (max(1, round(size[0] * ratio)), max(1, round(size[1] * ratio))))
            try:
                im.load()
            except MemoryError:  # a header that claims a vast size (found by the fuzz)
                w, h = im.size
                raise OSError(f"cannot decode image {name!r} ({w}x{h}): out of memory") from None
            if im.format == "JPEG" and corrupt != "ignore":
                _check_corrupt(obj, start, name, corrupt)
            image: Image.Image = im
            return image, size
    except UnidentifiedImageError as e:
        raise UnidentifiedImageError(f"cannot identify image file {name!r}") from e
    except OSError as e:
        if type(e) is not OSError:  # FileNotFoundError, PermissionError, ...: as they are
            raise
        # Pillow reports corrupt and truncated data as a bare OSError.
        raise OSError(f"cannot decode image {name!r}: {e}") from e
    except (SyntaxError, EOFError, struct.error) as e:
        # Some plugins' parsers raise these on broken data (PNG chunks: SyntaxError).
        raise OSError(f"cannot decode image {name!r}: {type(e).__name__}: {e}") from e


class InputWarning(UserWarning):
    """Something about an input that the output cannot keep (e.g. frames after the first)."""


class CorruptDataWarning(InputWarning):
    """libjpeg found damaged data in a JPEG input (decoded anyway, as Pillow does)."""


class CorruptDataError(OSError):
    """libjpeg found damaged data in a JPEG input, and ``corrupt="error"`` was asked."""


def _check_corrupt(obj: Any, start: int, name: str, corrupt: str) -> None:
    from .codec.turbojpeg import corrupt_data

    if isinstance(obj, (str, os.PathLike)):
        with open(obj, "rb") as f:
            data = f.read()
    elif hasattr(obj, "seekable") and obj.seekable():
        end = obj.tell()
        obj.seek(start)
        data = obj.read()
        obj.seek(end)  # where Pillow left it
    else:
        return  # a stream already read: nothing left to check
    problem = corrupt_data(data)
    if problem is None:
        return
    if corrupt == "error":
        raise CorruptDataError(
            f"corrupt JPEG data in {name!r}: {problem}; pass corrupt='warn' to encode it anyway"
        )
    warnings.warn(f"{name}: {problem} (decoded anyway)", CorruptDataWarning, stacklevel=5)


@contextmanager
def _opened(obj: Any, max_pixels: int | None, name: str) -> Iterator[Image.Image]:
    """``Image.open(obj)``, with the decompression-bomb check in jpegsal's words.

    Pillow's check reads a module global and names no file; it is switched off (under a
    lock, for the header read only) and done here: Pillow's limits by default, or
    ``max_pixels``. Above the limit is an error for an explicit ``max_pixels``; by
    default a warning, and an error above twice it, as in Pillow.
    """
    explicit = max_pixels is not None and max_pixels is not PILLOW_DEFAULT
    if explicit and (
        isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels < 1
    ):
        raise ValueError(f"max_pixels must be a positive int or None, got {max_pixels!r}")
    with _LIMIT_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            im = Image.open(obj)
        finally:
            Image.MAX_IMAGE_PIXELS = saved
    with im:
        limit = saved if max_pixels is PILLOW_DEFAULT else max_pixels
        if limit is not None:
            _check_pixels(im, int(limit), name, warn=max_pixels is PILLOW_DEFAULT)
        yield im


def _check_pixels(im: Image.Image, limit: int, name: str, *, warn: bool) -> None:
    pixels = im.width * im.height
    size = f"{name}: {pixels} pixels ({im.width}x{im.height})"
    if warn and limit < pixels <= 2 * limit:
        warnings.warn(
            Image.DecompressionBombWarning(
                f"{size} is over Pillow's limit of {limit}, a possible decompression bomb; "
                "raise max_pixels (CLI: --max-pixels) if you trust the input"
            ),
            stacklevel=5,
        )
    elif pixels > (2 * limit if warn else limit):
        what = f"twice Pillow's limit ({limit})" if warn else f"max_pixels={limit}"
        raise Image.DecompressionBombError(
            f"{size} is over {what}; raise max_pixels if you trust the input"
        )
