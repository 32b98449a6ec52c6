"""Re-encode a JPEG without leaving the DCT domain: the stored levels, requantised.

A JPEG stores each coefficient as a level ``L`` of its table entry ``Qo`` (the value is
``L * Qo``). Requantising to a coarser entry ``Qn`` is ``round(L * Qo / Qn)``: no pixel
round trip, so no second colour conversion, chroma resampling, clipping or DCT rounding
on top of the new quantisation, and no full decode. Where a new entry would be finer than
the stored one the stored one is kept (``max(Qn, Qo)``): it cannot add what the file does
not hold, and would only spend bits on rounding noise.

Two compiled routes do the work, then the new tables are written into the output's DQT
segments (same length: 8-bit tables); markers (EXIF, ICC, XMP, comments), the chroma
layout and restart intervals of the input are kept:

* baseline output with optimised Huffman tables (the default where it was built,
  :data:`OPTIMIZED`): libjpeg's coefficient API, the requantisation and the symbol counts
  in one C loop (``_transcode.c``); chroma is coded with luma's DC or AC table where that
  is fewer bytes (a small file's extra tables cost more than the longer codes), and the
  tables of each kind go in one header segment (:func:`.markers.merged_tables`);
* ``optimize=False`` and progressive output: TurboJPEG's lossless transform (the system's
  libturbojpeg, as for :mod:`.turbojpeg`) with a coefficient filter, in C (``_filter.c``,
  :data:`COMPILED`) or numpy (the same bytes). TurboJPEG 2.x writes baseline output with
  its standard Huffman tables, progressive output with optimised ones.

``resample=True`` (libjpeg's route only) writes 4:4:4, 4:2:2 and 4:4:0 files as 4:2:0:
each chroma block of the output is made from the input blocks it covers by the linear map
that equals libjpeg's 2x2 box average of the pixels followed by the DCT (``_resample.c``),
or with ``fit=True`` from the decoded chroma fitted to the decoder's upsampler as the
pixel route fits it (``_fit.c``; :mod:`.chroma`), and quantised once to the new chroma
table; luma is requantised as above.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import turbojpeg as tj
from .chroma import COMPILED as CHROMA_COMPILED
from .markers import ZIGZAG, jpeg_frame, jpeg_tables, merged_tables
from .markers import segments as _segments

__all__ = [
    "BUILD",
    "COMPILED",
    "OPTIMIZED",
    "KeptFit",
    "NotResampled",
    "huffman_optimized",
    "jpeg_frame",
    "jpeg_tables",
    "requantise",
]

try:  # the C filter (_filter.c), built by setup.py where a compiler was found
    from . import _filter as _filter_lib
except ImportError:  # pragma: no cover - depends on the build
    _filter_lib = None  # type: ignore[assignment]


class _Ratios(ctypes.Structure):  # jsal_ratios in _filter.c: what the filter reads
    _fields_ = [("count", ctypes.c_int), ("ratio", (ctypes.c_float * 64) * 4)]


#: Whether the compiled filter is in use: the same bytes as the numpy one, with no Python
#: callback in the transform (27 against 36 ms for a 12 MP transform, back to back).
COMPILED = _filter_lib is not None and _filter_lib.ratios_size() == ctypes.sizeof(_Ratios)

try:  # the libjpeg route (_transcode.c), built where libjpeg's headers were found
    from . import _transcode as _transcode_lib
except ImportError:  # pragma: no cover - depends on the build
    _transcode_lib = None  # type: ignore[assignment]
#: Whether baseline output can get optimised Huffman tables (the libjpeg route): about 7 %
#: fewer bytes than TurboJPEG 2.x's standard tables at 12 MP, for about 2-3 ms more.
OPTIMIZED = _transcode_lib is not None
#: What this install's compiled parts are, for ``jpegsal --version`` and result files: the
#: DCT path's, and the preset's chroma fit (:mod:`.chroma`, same bytes either way).
BUILD = (  # one line: the CLI prints --version unwrapped (RawDescriptionHelpFormatter)
    f"DCT path: {'C' if COMPILED else 'numpy'} filter; "
    f"{'optimised Huffman, 4:4:4 fitted' if OPTIMIZED else 'standard Huffman, 4:2:0 only'}; "
    f"{'C' if CHROMA_COMPILED else 'numpy'} chroma fit"
)


_FILTER = ctypes.CFUNCTYPE(
    ctypes.c_int,
    ctypes.POINTER(ctypes.c_short),
    tj._Region,
    tj._Region,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_void_p,
)


def requantise(
    data: bytes,
    tables: Sequence[np.ndarray],
    *,
    progressive: bool = False,
    strict: bool = True,
    markers: bool = True,
    compiled: bool | None = None,
    optimize: bool = True,
    resample: bool = False,
    fit: bool = False,
    kept: KeptFit | None = None,
) -> bytes:
    """``data`` (a JPEG) with its levels requantised to ``tables`` (luma, chroma; natural
    order, 1..255), where coarser than the stored ones; see the module. ``resample``: the
    chroma made 4:2:0 (:class:`NotResampled` for a file whose layout cannot be; a
    ``RuntimeError`` where libjpeg's route was not built), by the box mean or (``fit``)
    fitted to the decoder's upsampler; ``kept``: that fit, kept for the next tables.

    Raises ``ValueError`` for a file this cannot requantise (arithmetic coding, 12-bit,
    no tables) and ``OSError`` when TurboJPEG is missing or refuses the file.
    ``compiled`` picks the filter (default: the compiled one where it was built, see
    :data:`COMPILED`); both give the same bytes. ``optimize``: baseline output with
    optimised Huffman tables where :data:`OPTIMIZED` (libjpeg's coefficient API); else,
    and with ``optimize=False``, TurboJPEG's standard ones. Progressive output is always
    optimised.
    """
    old, comps = jpeg_tables(data)
    new: dict[int, np.ndarray] = {}
    for c, tid in enumerate(comps):
        if tid not in old:  # found by the fuzz: a frame that names a table it never defines
            raise ValueError(f"component {c} uses quantisation table {tid}, which is missing")
        wanted = np.asarray(tables[min(c, len(tables) - 1)], np.int32).ravel()
        if wanted.size != 64 or wanted.min() < 1 or wanted.max() > 255:
            raise ValueError("requantise needs 8-bit tables of 64 entries in 1..255")
        # A table shared by several components takes the coarsest of their wishes.
        new[tid] = np.maximum(np.maximum(wanted, old[tid]), new.get(tid, wanted))
    # float32 throughout (int16 levels times float32 ratios): the arithmetic both filters do.
    ratio = {c: (old[tid] / new[tid]).astype(np.float32) for c, tid in enumerate(comps)}

    route = not progressive and _transcode_lib is not None and len(ratio) <= 4
    ours = optimize and (resample or route)  # libjpeg's route with tables it optimised
    if resample:
        out = _resampled(
            data, ratio, progressive, strict, markers, optimize, kept if fit else None, fit
        )
    elif ours:
        # 3: tables from its own counts, fused with the requantisation (2 gives the bytes
        # of libjpeg's optimize_coding), chroma on luma's tables where that is smaller.
        out = _transcode_lib.transcode(data, _rows(ratio), False, strict, markers, 3)
    else:
        out = tj.transform(
            data, progressive=progressive, strict=strict, markers=markers,
            **_filter(ratio, compiled=COMPILED if compiled is None else compiled),
        )  # fmt: skip
    out = _write_tables(out, new)
    return merged_tables(out) if ours else out


class NotResampled(ValueError):
    """``requantise(resample=True)`` of a file whose chroma cannot be made 4:2:0 here (not
    three YCbCr components with 4:4:4, 4:2:2 or 4:4:0 chroma)."""


def _resampled(
    data: bytes,
    ratio: dict[int, np.ndarray],
    progressive: bool,
    strict: bool,
    markers: bool,
    optimize: bool,
    kept: KeptFit | None,
    fit: bool,
) -> bytes:
    """The libjpeg route with the chroma resampled to 4:2:0 (tables as read): by the box
    mean, or fitted (``fit``) and kept in ``kept`` where it is given."""
    huffman = 3 if optimize else 0  # progressive output: libjpeg's optimize_coding
    mode = 2 if fit else 1  # _transcode's resample argument
    if kept is not None and kept.size != jpeg_frame(data)[1:3]:
        raise ValueError(f"kept: made for a {kept.size} image, not this one")
    extra = () if kept is None else (kept.values, kept.ready)
    try:
        out = _transcode(data, _rows(ratio), progressive, strict, markers, huffman, 2, mode, *extra)
    except ValueError as e:  # the layout, checked by the C code as libjpeg reads the file
        raise NotResampled(str(e)) from None
    if kept is not None:
        kept.ready = True
    return out


class KeptFit:
    """The fitted chroma of one JPEG file (``requantise(..., fit=True, kept=...)``), kept
    between its requantisations, which differ only in how it is quantised: the first
    fills it, the next ones read it (the preset's per-image search requantises a file two
    or three times). Both chroma planes' unquantised 4:2:0 coefficients, float32."""

    def __init__(self, data: bytes) -> None:
        _, width, height, _ = jpeg_frame(data)
        self.size = (width, height)
        self.ready = False
        self._values: np.ndarray | None = None

    @property
    def values(self) -> np.ndarray:
        """The buffer, made on first use (a 4:2:0 file, which is not resampled, never
        needs it)."""
        if self._values is None:
            width, height = self.size
            blocks = (-(-width // 16)) * (-(-height // 16))  # 4:2:0 chroma blocks per plane
            self._values = np.empty(2 * 64 * blocks, np.float32)
        return self._values


def huffman_optimized(data: bytes, *, strict: bool = True) -> bytes:
    """``data`` (a JPEG) re-coded as baseline with Huffman tables optimised for it, every
    level, table, marker and restart interval kept (the libjpeg route with no
    requantisation; ``jpegtran -optimize -copy all``), chroma coded with luma's tables
    where that is fewer bytes, and one segment for each kind of table. Raises
    ``RuntimeError`` where the route was not built (:data:`OPTIMIZED`), ``OSError`` for
    what libjpeg refuses (and, with ``strict``, for damaged data)."""
    return merged_tables(_transcode(data, b"", False, strict, True, 3))  # no ratios: as stored


def _transcode(*args: Any) -> bytes:
    """The libjpeg route's ``transcode`` (``_transcode.pyi``), or ``RuntimeError`` where it
    was not built."""
    if _transcode_lib is None:
        raise RuntimeError("libjpeg's route was not built (no libjpeg headers at install)")
    return _transcode_lib.transcode(*args)


def _rows(ratio: dict[int, np.ndarray]) -> bytes:
    """The ratios as the libjpeg route reads them: component c's 64 float32 in row c."""
    return np.stack(list(ratio.values())).tobytes()


def _filter(ratio: dict[int, np.ndarray], *, compiled: bool) -> dict[str, Any]:
    """The ``custom_filter`` (and its ``filter_data``) that multiplies component ``c``'s
    levels by ``ratio[c]`` and rounds them (half to even); other components are kept."""
    if compiled and len(ratio) <= 4:
        if _filter_lib is None:
            raise RuntimeError("the compiled filter was not built (no C compiler at install)")
        spec = _Ratios(len(ratio))
        for c, values in ratio.items():
            spec.ratio[c][:] = values.tolist()
        return {"custom_filter": _filter_lib.address(), "filter_data": spec}
    scratch: list[np.ndarray] = [np.empty((0, 64), np.float32)]

    def callback(coeffs: Any, array: tj._Region, plane: tj._Region, c: int, *_: object) -> int:
        if c not in ratio:  # a component the headers did not list: left as stored
            return 0
        blocks = array.w * array.h // 64
        levels = np.ctypeslib.as_array(coeffs, shape=(blocks, 64))
        if len(scratch[0]) < blocks:  # one float buffer, reused by every call (in place)
            scratch[0] = np.empty((blocks, 64), np.float32)
        work = scratch[0][:blocks]
        np.multiply(levels, ratio[c], out=work)
        np.rint(work, out=work)
        levels[...] = work
        return 0

    return {"custom_filter": _FILTER(callback)}


def _write_tables(data: bytes, tables: dict[int, np.ndarray]) -> bytes:
    """``data`` with each 8-bit DQT table replaced by ``tables[id]`` (zigzag order)."""
    out = bytearray(data)
    for marker, start, end in _segments(data):
        if marker != 0xDB:
            continue
        i = start
        while i < end:
            precision, tid = out[i] >> 4, out[i] & 15
            size = 128 if precision else 64
            if precision == 0 and tid in tables:
                out[i + 1 : i + 65] = bytes(tables[tid][ZIGZAG].astype(np.uint8))
            i += 1 + size
    return bytes(out)
