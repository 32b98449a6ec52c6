"""libjpeg's corrupt-data warnings, which Pillow's decoder swallows, through TurboJPEG.

Pillow decodes a JPEG whose scan data is damaged ("Corrupt JPEG data: 94 extraneous
bytes before marker 0xd9", "bad Huffman code", "premature end of data segment") without
a word: libjpeg fills in what it lost and carries on. libjpeg reports these as
*warnings*, and only the TurboJPEG API hands them to its caller (``tjGetErrorCode`` is
``TJERR_WARNING``). The library is the system's ``libturbojpeg`` (libjpeg-turbo's own,
found with ``ctypes.util.find_library``); where it is missing, :func:`available` is
False and :func:`corrupt_data` finds nothing.

The check decodes at 1/8 scale: every coefficient is still entropy-decoded (where the
damage shows), but the inverse DCT and colour conversion are nearly free.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from functools import cache
from typing import Any

__all__ = ["available", "corrupt_data", "transform"]

_TJERR_WARNING = 0
_TJPF_RGB, _TJPF_CMYK = 0, 11
_TJCS_CMYK, _TJCS_YCCK = 3, 4
_TJXOP_NONE, _TJXOPT_PROGRESSIVE, _TJXOPT_COPYNONE = 0, 32, 64
_LOCK = threading.Lock()


class _Region(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int), ("w", ctypes.c_int), ("h", ctypes.c_int)]


class _Transform(ctypes.Structure):  # tjtransform, with no custom filter
    _fields_ = [
        ("r", _Region),
        ("op", ctypes.c_int),
        ("options", ctypes.c_int),
        ("data", ctypes.c_void_p),
        ("customFilter", ctypes.c_void_p),
    ]


@cache
def _library() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("turbojpeg")
    if name is None:
        return None
    try:
        lib = ctypes.CDLL(name)
        lib.tjGetErrorCode  # noqa: B018 - TurboJPEG 2.0+, the first to tell warnings apart
    except (OSError, AttributeError):
        return None
    vp, ul, ip = ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_int)
    lib.tjInitDecompress.restype = vp
    lib.tjDecompressHeader3.argtypes = [vp, ctypes.c_char_p, ul, ip, ip, ip, ip]
    i = ctypes.c_int
    lib.tjDecompress2.argtypes = [vp, ctypes.c_char_p, ul, ctypes.c_char_p, i, i, i, i, i]
    lib.tjGetErrorCode.argtypes = [vp]
    lib.tjGetErrorStr2.argtypes = [vp]
    lib.tjGetErrorStr2.restype = ctypes.c_char_p
    lib.tjDestroy.argtypes = [vp]
    lib.tjInitTransform.restype = vp
    bufs, sizes = ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ul)
    lib.tjTransform.argtypes = [vp, ctypes.c_char_p, ul, i, bufs, sizes, ctypes.c_void_p, i]
    lib.tjFree.argtypes = [vp]
    return lib


def available() -> bool:
    """Whether the corrupt-data check can run here (a TurboJPEG 2.0+ library is found)."""
    with _LOCK:
        return _library() is not None


def transform(
    data: bytes,
    *,
    progressive: bool = False,
    custom_filter: Any = None,
    filter_data: Any = None,
    strict: bool = True,
    markers: bool = True,
) -> bytes:
    """TurboJPEG's lossless transform of ``data`` with no geometric change: markers kept,
    optionally progressive, the coefficients passed through ``custom_filter`` (a ctypes
    callback or a C function's address, TurboJPEG's ``customFilter``; ``filter_data``, a
    ctypes object, is what it finds in ``transform->data``) on the way.
    Raises ``OSError`` when TurboJPEG is missing or refuses the file, and for libjpeg's
    warnings (damaged or truncated data) too unless ``strict=False``.
    ``markers=False`` drops the APPn and COM markers (EXIF, ICC, XMP, comments)."""
    with _LOCK:
        lib = _library()
    if lib is None:
        raise OSError("this needs the TurboJPEG 2.0+ library (libturbojpeg), not found")
    handle = lib.tjInitTransform()
    if not handle:
        raise OSError("TurboJPEG could not start a transform")
    out, size = ctypes.c_void_p(), ctypes.c_ulong(0)
    options = (_TJXOPT_PROGRESSIVE if progressive else 0) | (0 if markers else _TJXOPT_COPYNONE)
    filt = ctypes.cast(custom_filter, ctypes.c_void_p) if custom_filter is not None else None
    where = None if filter_data is None else ctypes.cast(ctypes.byref(filter_data), ctypes.c_void_p)
    spec = _Transform(_Region(0, 0, 0, 0), _TJXOP_NONE, options, where, filt)
    try:
        status = lib.tjTransform(
            handle, data, len(data), 1, ctypes.byref(out), ctypes.byref(size),
            ctypes.byref(spec), 0,
        )  # fmt: skip
        if status != 0 and (strict or lib.tjGetErrorCode(handle) != _TJERR_WARNING):
            raise OSError(f"TurboJPEG: {lib.tjGetErrorStr2(handle).decode('utf-8', 'replace')}")
        result = ctypes.string_at(out, size.value) if out else b""
        if not result.startswith(b"\xff\xd8") or b"\xff\xda" not in result:
            # A file with no image data (found by the fuzz): no output rather than an empty one.
            raise OSError("TurboJPEG wrote no image (the input has no scan data)")
        return result
    finally:
        if out:
            lib.tjFree(out)
        lib.tjDestroy(handle)


def corrupt_data(data: bytes) -> str | None:
    """libjpeg's warning about ``data`` (a JPEG file), or ``None`` if it decodes cleanly.

    ``None`` also when the check is unavailable (:func:`available`) or libjpeg-turbo
    cannot decode the file at all (arithmetic coding in old builds, ...): this reports
    damage that a decoder hides, not files a decoder refuses (those fail when loaded).

    >>> import io
    >>> from PIL import Image
    >>> buf = io.BytesIO()
    >>> Image.new("RGB", (64, 64), "teal").save(buf, "JPEG")
    >>> corrupt_data(buf.getvalue()) is None
    True
    """
    with _LOCK:
        lib = _library()
    if lib is None:
        return None
    handle = lib.tjInitDecompress()
    if not handle:
        return None
    try:
        w, h, sub, cs = (ctypes.c_int() for _ in range(4))
        refs = (ctypes.byref(v) for v in (w, h, sub, cs))
        if lib.tjDecompressHeader3(handle, data, len(data), *refs) != 0:
            return None
        width, height = (w.value + 7) // 8, (h.value + 7) // 8  # the 1/8 scale
        fmt = _TJPF_CMYK if cs.value in (_TJCS_CMYK, _TJCS_YCCK) else _TJPF_RGB
        out = ctypes.create_string_buffer(width * height * 4)
        if lib.tjDecompress2(handle, data, len(data), out, width, 0, height, fmt, 0) == 0:
            return None
        if lib.tjGetErrorCode(handle) != _TJERR_WARNING:
            return None
        message: bytes = lib.tjGetErrorStr2(handle) or b"libjpeg warning"
        return message.decode("utf-8", "replace")
    finally:
        lib.tjDestroy(handle)
