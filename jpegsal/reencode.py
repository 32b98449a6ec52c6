"""``jpegsal.reencode``: a JPEG file at ``preset="machine"``, in the DCT domain where it can be.

The stored levels are requantised to the machine tables (:mod:`.codec.requantise`): no
full decode, no second colour conversion, a sixth of the time and under half the memory
of decode -> encode at 12 MP 4:2:0 (``benchmarks/reencode.py``). Where that
path cannot give what the pixel path gives, the pixel path runs instead and the result says
why (``Reencoded.reason``):

* chroma the DCT path cannot make 4:2:0 (which the preset writes): 4:4:4, 4:2:2 and 4:4:0
  are, where libjpeg's route was built (fitted to the decoder's upsampler as the pixel
  route's chroma is, or by the box mean with ``sharp_chroma=False`` through
  ``jpegsal.encode``), other layouts are not;
* four components (CMYK / YCCK), arithmetic coding, 12-bit or lossless JPEG;
* no TurboJPEG library on the machine.

``tables="standard"`` requantises to libjpeg's tables of the quality instead (what Pillow's
save writes), keeping any chroma layout; only the other cases above fall back (to Pillow's
save). A result that is not smaller than the input gives the input bytes back (``path="input"``).
Metadata (EXIF with its orientation, ICC, XMP, comments) is kept on every path.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._check import check_bool, check_choice, check_int
from .call_options import allocates, classifier_side
from .codec import turbojpeg
from .codec.lossless import SOI, peek, read_jpeg
from .codec.machine import CLASSIFIER_SIDE, MachineTables, check_side, machine_tables
from .codec.requantise import OPTIMIZED, KeptFit, NotResampled, jpeg_frame, requantise
from .codec.tables import standard_tables
from .ratecontrol import fit_quality
from .rateslope import FLOOR, equal_slope

__all__ = ["TABLES", "Reencoded", "dct_route", "reencode", "reencode_with_info"]

TABLES = ("machine", "standard")  # reencode(tables=): the preset's, or libjpeg's at quality


@dataclass(frozen=True)
class Reencoded:
    """What :func:`reencode_with_info` wrote and which path it took."""

    data: bytes
    path: str  # "dct", "pixels" (the fallback) or "input" (nothing smaller: the input bytes)
    reason: str | None = None  # why the DCT path was not taken (None when it was)


def reencode(
    src: Any,
    *,
    quality: int = 75,
    progressive: bool = False,
    corrupt: str = "error",
    keep_metadata: bool = True,
    classifier_side: int | None = None,
    optimize: bool = True,
    tables: str = "machine",
) -> bytes:
    """The JPEG ``src`` (path, bytes or binary file) at the ``preset="machine"`` tables of
    ``quality``; see the module. ``corrupt``: a damaged file raises ``OSError``
    (``"error"``) or is re-encoded as libjpeg decodes it (``"ignore"``).
    ``keep_metadata=False`` drops EXIF, ICC, XMP and comments (kept by default).
    ``classifier_side``: the input side of the classifier that will read the file, as
    for :func:`jpegsal.encode` (default 224). ``optimize``: optimised Huffman tables for
    baseline output (the default; where libjpeg's headers were found at install,
    ``jpegsal.codec.requantise.OPTIMIZED``); ``False`` writes TurboJPEG's standard tables,
    about 7 % more bytes at 12 MP and a few ms faster. Progressive output is always
    optimised. ``tables="standard"``: libjpeg's tables at ``quality`` instead (what
    ``Image.save(quality=q)`` writes), for people rather than classifiers; the file's
    chroma layout is kept, whatever it is, and the fallback is Pillow's own save."""
    return reencode_with_info(
        src, quality=quality, progressive=progressive, corrupt=corrupt,
        keep_metadata=keep_metadata, classifier_side=classifier_side, optimize=optimize,
        tables=tables,
    ).data  # fmt: skip


def reencode_with_info(
    src: Any,
    *,
    quality: int = 75,
    progressive: bool = False,
    corrupt: str = "error",
    keep_metadata: bool = True,
    classifier_side: int | None = None,
    optimize: bool = True,
    tables: str = "machine",
) -> Reencoded:
    """:func:`reencode`, with the path taken and the reason for a fallback."""
    check_int("quality", quality, 0, 100)
    check_bool("progressive", progressive)
    check_bool("keep_metadata", keep_metadata)
    check_bool("optimize", optimize)
    check_choice("tables", tables, TABLES)
    if tables == "standard" and classifier_side is not None:
        raise ValueError(
            "classifier_side shapes the machine tables; drop it with tables='standard'"
        )
    side = check_side(CLASSIFIER_SIDE if classifier_side is None else classifier_side)
    data, name = read_jpeg(src, corrupt, "reencode")
    reason = _no_dct_path(data, any_layout=tables == "standard")
    if reason is None:  # a damaged file makes the strict transform raise: no separate check
        try:
            out = _requantise_to(
                data, quality, progressive, strict=corrupt == "error", markers=keep_metadata,
                side=side, optimize=optimize, tables=tables,
            )  # fmt: skip
            path = "dct"
        except NotResampled as e:  # e.g. an RGB (Adobe) JPEG: the pixel path converts it
            reason = str(e)
        except OSError as e:  # libjpeg's words: "Corrupt JPEG data: ...", "Premature end ..."
            if corrupt == "error":
                raise OSError(f"cannot re-encode {name!r}: {e}; nothing was written") from e
            reason = f"libjpeg: {e}"  # corrupt="ignore": the pixels as libjpeg decodes them
    if reason is not None:
        from .api import encode

        # The preset's pixel path, or with the standard tables Pillow's save (method=None).
        machine: dict[str, Any] = {}
        if tables == "machine":
            machine = {"preset": "machine", "classifier_side": side}
        out = encode(
            data, quality=quality, progressive=progressive, keep_metadata=keep_metadata,
            corrupt=corrupt, optimize=optimize, **machine,
        )  # fmt: skip
        path = "pixels"
    if len(out) >= len(data):
        return Reencoded(data, "input", reason)
    return Reencoded(out, path, reason)


def _requantise_to(
    data: bytes,
    quality: int,
    progressive: bool,
    *,
    strict: bool,
    markers: bool,
    side: int,
    optimize: bool = True,
    tables: str = "machine",
    fit: bool = True,
    kept: KeptFit | None = None,
) -> bytes:
    """``data``'s stored levels requantised to the machine tables of ``quality`` for its
    size, seen by a classifier of ``side``-pixel inputs (or to libjpeg's standard ones);
    chroma made 4:2:0 fitted to the decoder's upsampler (``fit``, ``kept`` between the
    qualities of one file) or by the box mean."""
    _, width, height, sampling = jpeg_frame(data)
    if tables == "standard":
        wanted = list(standard_tables(quality))
    else:
        machine = machine_tables(quality, width, height, MachineTables(side=side))
        wanted = [np.clip(np.rint(t), 1, 255) for t in machine]
    # The preset writes 4:2:0: other chroma layouts are resampled in the DCT domain.
    resample = tables == "machine" and len(sampling) == 3 and sampling != _420
    out = requantise(
        data, wanted, progressive=progressive, strict=strict, markers=markers,
        optimize=optimize, resample=resample, fit=fit, kept=kept,
    )  # fmt: skip
    # Damaged data let through (strict=False) can come out cut short, which decoders refuse.
    if not strict and (problem := turbojpeg.corrupt_data(out)) is not None:
        raise OSError(f"the re-coded damaged data does not decode cleanly ({problem})")
    return out


def _no_dct_path(data: bytes, *, any_layout: bool = False) -> str | None:
    """Why the DCT path cannot serve ``data``, or None when it can (``any_layout``: the
    chroma layout is kept, so any will do)."""
    if not turbojpeg.available():
        return "no TurboJPEG 2.0+ library (libturbojpeg) on this machine"
    try:
        precision, _, _, sampling = jpeg_frame(data)
    except ValueError as e:  # arithmetic, lossless, or a damaged header
        return str(e)
    if precision != 8:
        return f"{precision}-bit samples"
    if len(sampling) == 4:
        return "four components (CMYK/YCCK)"
    if not any_layout and len(sampling) == 3 and sampling != _420:
        if sampling not in _TO_420:
            return f"chroma sampling {sampling}: only 4:4:4, 4:2:2 and 4:4:0 become 4:2:0 here"
        if not OPTIMIZED:
            return (
                f"chroma sampling {sampling} is not 4:2:0, which the preset writes, and "
                "jpegsal was installed without libjpeg's headers, which resampling needs"
            )
    return None


_420 = [(2, 2), (1, 1), (1, 1)]  # the preset's chroma layout (sampling factors Y, Cb, Cr)
_TO_420 = ([(1, 1)] * 3, [(2, 1), (1, 1), (1, 1)], [(1, 2), (1, 1), (1, 1)])  # resampled


_DCT_JPEG = {"quality", "progressive", "optimize"}  # options the DCT route can honour
_DCT_CALL = {"preset", "keep_metadata", "corrupt", "coefficients", "classifier_side", "allocate"}
_DCT_CALL |= {"target_bytes", "min_quality", "sharp_chroma"}  # 4:2:0 files keep their chroma


def dct_route(image: Any, jpeg: dict[str, Any], call: dict[str, Any]) -> Any:
    """``Encoder.encode_with_info``'s DCT route under ``preset="machine"``: an
    :class:`~jpegsal.EncodeResult` when the JPEG input took it; the reason it did not when
    the input is a JPEG file (path, bytes, or binary file that can seek); else ``None``."""
    from .pipeline import EncodeResult

    if not call.get("coefficients", True):
        return None  # asked for the pixel path
    quality = 75 if jpeg.get("quality") is None else jpeg["quality"]  # None: the default
    # Paths, bytes and files that can seek (peek leaves a file where it was, for the pixel
    # path). Three bytes say whether it is a JPEG: any other image is not read twice whole,
    # and a JPEG only when the options allow the DCT path.
    if peek(image, 3) != SOI:
        return None
    reason = _options_reason(jpeg, call, quality)
    if reason is not None:
        return reason
    data = peek(image)
    if data is None or data[:3] != SOI:  # changed between the two reads
        return None
    reason = _no_dct_path(data)
    if reason is not None:
        return reason
    t = time.perf_counter()
    try:
        quality, out, encodes = _requantise_call(data, jpeg, call, quality)
    except OSError as e:  # damaged data: the pixel path decodes it and warns or raises
        return f"libjpeg: {e}"
    except NotResampled as e:  # e.g. an RGB (Adobe) JPEG: the pixel path converts it
        return str(e)
    seconds = time.perf_counter() - t
    return EncodeResult(
        data=out,
        quality=quality,
        strength=None,
        saliency=None,
        top1=None,
        kl=None,
        encodes=encodes,
        network_runs=0,
        timings={"encode": seconds, "total": seconds},
        path="dct",
    )


def _requantise_call(
    data: bytes, jpeg: dict[str, Any], call: dict[str, Any], quality: int
) -> tuple[int, bytes, int]:
    """(quality, bytes, encodes) of the DCT route for this call, whose quality is chosen as
    on the pixel path: per image (:mod:`.rateslope`), as asked (``allocate=False``) or by
    ``target_bytes`` (bisected from ``min_quality`` up; ``ValueError`` when none fits)."""
    keep = bool(call.get("keep_metadata", False))
    strict, side = call.get("corrupt") != "ignore", classifier_side(call)
    progressive, optimize = bool(jpeg.get("progressive")), jpeg.get("optimize") is not False
    encodes, fit = 0, call.get("sharp_chroma", True)
    kept = KeptFit(data) if fit else None  # the fit once, for every quality tried

    def at(q: int) -> bytes:
        nonlocal encodes
        encodes += 1
        return _requantise_to(
            data, q, progressive, strict=strict, markers=keep, side=side, optimize=optimize,
            fit=fit, kept=kept,
        )  # fmt: skip

    target = call.get("target_bytes")
    if allocates(call):  # the preset's per-image quality (jpegsal.rateslope)
        quality, out = equal_slope(at, quality, side, lo=call.get("min_quality") or FLOOR)
        return quality, out, encodes
    if target is None:
        return quality, at(quality), encodes
    quality, out = fit_quality(at, target, lo=call.get("min_quality") or 1)
    return quality, out, encodes


def _options_reason(jpeg: dict[str, Any], call: dict[str, Any], quality: Any) -> str | None:
    """Why these options keep a JPEG file off the DCT route, or None."""
    if (
        set(jpeg) - _DCT_JPEG
        or set(call) - _DCT_CALL
        or call.get("keep_metadata") not in (None, True, False)
    ):
        return "options only the pixel path honours"
    if not isinstance(quality, int) or isinstance(quality, bool) or not 0 <= quality <= 100:
        return "quality is not an int in 0..100"
    if not jpeg.get("progressive", False) and not OPTIMIZED:
        return (
            "baseline: jpegsal was installed without libjpeg's headers, and TurboJPEG 2.x "
            "cannot optimise Huffman tables (progressive=True can)"
        )
    if jpeg.get("optimize") not in (None, True, False):
        return "optimize is not a bool"
    return None
