"""``jpegsal.optimize``: a JPEG re-coded without touching a pixel (like ``jpegtran -optimize``).

The quantised DCT coefficients are read as they are stored and written again: every
decoded pixel stays the same, and so do the quantisation tables, the chroma layout and
every marker (EXIF with its orientation, ICC, XMP, comments). Two ways:

* baseline (default): Huffman tables optimised for this image (chroma on luma's where
  one table costs fewer bytes than two; one header segment per kind of table), written
  by the system's libjpeg through the compiled route of :mod:`.requantise` (restart
  markers kept), or where that was not built, by libjpeg-turbo 2.1 through jpeglib
  (extra ``jpeg``; restart markers go);
* ``progressive=True``: a progressive file (``jpegtran -progressive``: its Huffman tables
  are optimised too) through the system's TurboJPEG library, and, where jpeglib is
  installed, through mozjpeg (scans chosen per image); the smaller is kept. Usually a few
  per cent smaller than baseline, but decoders lose libjpeg's cheap reduced-size decode.

A file that would not get smaller comes back as it was: :func:`optimize` never makes a
file bigger. Photos that were saved with optimised tables already (most of imagenet-sample)
gain a few dozen bytes from baseline re-coding, and per cents only from
``progressive=True``.
"""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass
from typing import Any

from .._check import check_bool
from .._optional import require
from . import turbojpeg
from .markers import huffman_share, merged_tables
from .options import JpegOptions
from .requantise import OPTIMIZED, huffman_optimized

__all__ = ["SOI", "Optimized", "compacted", "optimize", "optimize_with_info", "peek", "read_jpeg"]

_LIBJPEG = "turbo210"
SOI = b"\xff\xd8\xff"  # how every JPEG file starts: start of image, then a marker


@dataclass(frozen=True)
class Optimized:
    """What :func:`optimize` produced: the bytes, and whether they are the input's own."""

    data: bytes
    bytes_in: int
    unchanged: bool  # True: re-coding saved nothing, so the input bytes came back


def read_jpeg(src: Any, corrupt: str, what: str) -> tuple[bytes, str]:
    """(bytes, name) of the JPEG file ``src``; ``corrupt`` checked; not a JPEG: ValueError."""
    if corrupt not in ("error", "ignore"):
        raise ValueError(f"corrupt must be 'error' or 'ignore', got {corrupt!r}")
    data, name = _read(src)
    if data[:3] != SOI:
        raise ValueError(f"{name}: not a JPEG file ({what} works on JPEG files only)")
    return data, name


def _read(src: Any) -> tuple[bytes, str]:
    if isinstance(src, (bytes, bytearray, memoryview)):
        return bytes(src), "<bytes>"
    if isinstance(src, (str, os.PathLike)):
        with open(src, "rb") as f:
            return f.read(), os.fspath(src)
    if hasattr(src, "read"):
        if isinstance(src, io.TextIOBase):
            raise TypeError("the file object is open in text mode; open it with 'rb'")
        data = peek(src)  # from its start, as Image.open and encode's DCT route read it
        return src.read() if data is None else data, getattr(src, "name", "<file object>")
    raise TypeError(f"src must be a path, bytes or a binary file object, got {type(src).__name__}")


def peek(src: Any, n: int = -1) -> bytes | None:
    """The first ``n`` bytes (``-1``: all) of a path, bytes or binary file that can seek,
    read from the file's start as Pillow's ``Image.open`` reads it, and the file left where
    it was; None for other inputs (text, a stream that cannot seek) and for a path that
    cannot be read, whose error the pixel path reports in its own words.

    >>> import io
    >>> f = io.BytesIO(b"\\xff\\xd8\\xff rest")
    >>> _ = f.seek(5)
    >>> peek(f, 3) == SOI, f.tell(), peek(b"GIF89a", 3), peek(io.StringIO("text"))
    (True, 5, b'GIF', None)
    """
    if isinstance(src, (bytes, bytearray, memoryview)):
        return bytes(src[:n] if n >= 0 else src)
    if isinstance(src, (str, os.PathLike)):
        try:
            with open(src, "rb") as f:
                return f.read(n)
        except OSError:
            return None
    seekable = getattr(src, "seekable", None)
    if isinstance(src, io.TextIOBase) or not hasattr(src, "read") or not seekable or not seekable():
        return None
    at = src.tell()
    try:
        src.seek(0)
        data = src.read(n)
    finally:
        src.seek(at)
    return data if isinstance(data, bytes) else None


def optimize(src: Any, *, progressive: bool = False, corrupt: str = "error") -> bytes:
    """The JPEG ``src`` (path, bytes or binary file) re-coded losslessly; see the module.

    >>> import io
    >>> from PIL import Image
    >>> buf = io.BytesIO()
    >>> Image.new("RGB", (64, 48), "teal").save(buf, "JPEG")
    >>> small = optimize(buf.getvalue())  # doctest: +SKIP
    >>> Image.open(io.BytesIO(small)).tobytes() == Image.open(buf).tobytes()  # doctest: +SKIP
    True
    """
    return optimize_with_info(src, progressive=progressive, corrupt=corrupt).data


def optimize_with_info(src: Any, *, progressive: bool = False, corrupt: str = "error") -> Optimized:
    """:func:`optimize`, with the input's size and whether its bytes came back unchanged.

    ``corrupt``: a file whose data libjpeg reports as damaged raises ``OSError``
    (``"error"``, the default: re-coding would make the damage permanent) or is re-coded
    as libjpeg decodes it (``"ignore"``).

    Raises
    ------
    ValueError
        ``src`` is not a JPEG file.
    OSError
        The file cannot be read, or libjpeg cannot decode it, or it is damaged.
    """
    check_bool("progressive", progressive)
    data, name = read_jpeg(src, corrupt, "optimize")
    if progressive:  # the strict transform raises on libjpeg's warnings: no separate check
        try:
            out = turbojpeg.transform(data, progressive=True, strict=corrupt == "error")
        except OSError as e:
            raise OSError(f"cannot re-code {name!r}: {e}") from e
        candidates = [out, _mozjpeg(data, name)]
    else:  # jpeglib decodes damaged data silently, so it is checked first
        problem = turbojpeg.corrupt_data(data) if corrupt == "error" else None
        if problem is not None:
            raise OSError(f"corrupt JPEG data in {name!r}: {problem}; nothing was written")
        candidates = [_baseline(data, name, strict=corrupt == "error")]
    smaller = [c for c in candidates if len(c) < len(data)]
    # A damaged input (corrupt="ignore") can come out cut short: a re-coding that libjpeg
    # does not decode without a warning never replaces the input. (With "error" the input
    # was checked clean above, so its re-codings are too: no second decode per file.)
    clean = smaller
    if corrupt != "error":
        clean = [c for c in smaller if turbojpeg.corrupt_data(c) is None]
    if not clean:
        return Optimized(data, len(data), True)
    return Optimized(min(clean, key=len), len(data), False)


# The re-code costs a decode and an encode of the entropy-coded data (0.25 ms for a 227²
# image, 13 % of the preset's encode) and saves part of the chroma tables' few hundred
# bytes: on imagenet-val-1300's 227² images 1.9 % of the file more than the merged
# segments at quality 10 (1.8 kB), 0.5 % at 20, 0.14 % at 75 (10 kB). Files whose Huffman
# tables are 3 % of them or more (about 6 kB and less there) keep nearly all of it.
RECODE_SHARE = 0.03


def compacted(data: bytes, options: JpegOptions) -> bytes:
    """The machine preset's pixel route, last: ``data`` (just written by libjpeg with
    ``options``) with one header segment for each kind of table and, where its Huffman
    tables are at least :data:`RECODE_SHARE` of it (baseline output), chroma coded on
    luma's tables where that is fewer bytes (:func:`.requantise.huffman_optimized`); the
    same pixels. ``optimize=False`` (libjpeg's standard Huffman tables asked for) and
    partial streams come back as they are."""
    if not options.optimize or options.streamtype:
        return data
    merged = merged_tables(data)
    if not options.progressive and OPTIMIZED and huffman_share(data) >= RECODE_SHARE:
        # The re-code chooses from symbol counts, blind to the zero bytes stuffed after
        # each 0xFF of the scan: on a near tie it can come out a byte or three longer than
        # the merged file (7 of 300 imagenet-val-1300 files at qualities 10, 30, 60).
        return min(merged, huffman_optimized(data), key=len)
    return merged


def _baseline(data: bytes, name: str, *, strict: bool) -> bytes:
    """Baseline with optimised Huffman tables: libjpeg's route where it was built
    (restart markers kept; 2.5 ms per imagenet-sample photo against 13 ms with jpeglib),
    jpeglib otherwise."""
    if not OPTIMIZED:
        return _recode(data, name)
    try:
        return huffman_optimized(data, strict=strict)
    except OSError as e:
        raise OSError(f"cannot re-code {name!r}: {e}") from e


def _mozjpeg(data: bytes, name: str) -> bytes:
    """mozjpeg's progressive re-coding (its scans chosen for this image), or ``data`` when
    jpeglib is not installed. It shrank 40 of the 55 imagenet-sample photos that
    TurboJPEG's fixed progressive script left as they were."""
    try:
        return _recode(data, name, version="mozjpeg403", flags=None)
    except (ImportError, OSError):
        return data  # TurboJPEG's re-coding stands alone


def _recode(
    data: bytes, name: str, *, version: str = _LIBJPEG, flags: list[str] | None = None
) -> bytes:
    flags = ["+OPTIMIZE_CODING"] if version == _LIBJPEG else flags
    try:
        jpeglib = require("jpeglib")
    except ImportError as e:
        raise ImportError(f"{e} (or pass progressive=True, which needs only libturbojpeg)") from e
    with tempfile.TemporaryDirectory(prefix="jpegsal-") as tmp:  # jpeglib reads and writes files
        src, dst = os.path.join(tmp, "in.jpg"), os.path.join(tmp, "out.jpg")
        with open(src, "wb") as f:
            f.write(data)
        try:
            with jpeglib.version(version):
                jpeglib.read_dct(src).write_dct(dst, flags=flags)
        except (OSError, RuntimeError, ValueError) as e:
            raise OSError(f"cannot re-code {name!r}: {e}") from e
        with open(dst, "rb") as f:
            return f.read()
