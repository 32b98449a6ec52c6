"""JPEG options: every keyword is validated and normalised once, up front.

The names and meanings are Pillow's (``Image.save(fp, "JPEG", **options)``) so
that jpegsal is a drop-in replacement. Normalisation turns presets, strings and
``"keep"`` into one canonical form, exactly as Pillow's JPEG plugin does
internally, so that :func:`jpegsal.codec.encode_jpeg` hands Pillow options that
produce byte-identical files. jpegsal is stricter than Pillow in two ways, on
purpose: an unknown keyword is a :class:`TypeError` (Pillow ignores it), and
out-of-range values are errors instead of being clamped by libjpeg. ``qtables``
given as a numpy array is used (Pillow silently ignores arrays).
"""

from __future__ import annotations

import array
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from PIL import Image, JpegPresets
from PIL.JpegImagePlugin import get_sampling

from .._check import check_bool, check_int
from .machine import CLASSIFIER_SIDE

__all__ = ["JPEG_OPTION_NAMES", "JpegOptions", "is_keep", "normalize_options"]

# libjpeg refuses marker payloads longer than this (Pillow's MAX_BYTES_IN_MARKER).
_MAX_MARKER = 65533
_XMP_OVERHEAD = 29  # b"http://ns.adobe.com/xap/1.0/\x00"
_SUBSAMPLING = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2, "4:1:1": 2}  # 4:1:1 means 4:2:0 in Pillow

# Pillow keyword -> one-line description (used in error messages and --help).
JPEG_OPTION_NAMES: dict[str, str] = {
    "quality": "0..100 (-1: libjpeg default), a Pillow preset name (e.g. 'web_high') or 'keep'",
    "subsampling": "-1 (libjpeg default), 0/1/2, '4:4:4', '4:2:2', '4:2:0', a preset or 'keep'",
    "progressive": "bool",
    "optimize": "bool (optimise Huffman tables)",
    "qtables": "1 to 4 tables of 64 ints in 1..32767, a preset name, a string, or 'keep'",
    "exif": "bytes or PIL.Image.Exif",
    "icc_profile": "bytes",
    "xmp": "bytes",
    "comment": "bytes or str",
    "dpi": "(x, y) numbers in 0..65535",
    "restart_marker_blocks": "int in 0..65535",
    "restart_marker_rows": "int in 0..65535",
    "smooth": "int in 0..100 (libjpeg smoothing)",
    "keep_rgb": "bool (store RGB without YCbCr conversion)",
    "streamtype": "0 (whole file), 1 (tables only) or 2 (image only, no tables)",
    "progression": "bool (Pillow's old name for progressive)",
}


@dataclass(frozen=True)
class JpegOptions:
    """Canonical JPEG options, ready for Pillow.

    ``quality == -1`` means "let libjpeg choose", as in Pillow; it only occurs
    when a preset or ``"keep"`` supplied explicit quantisation tables.
    """

    quality: int = 75
    subsampling: int = -1
    progressive: bool = False
    optimize: bool = False
    qtables: tuple[tuple[int, ...], ...] | None = None
    exif: bytes = b""
    icc_profile: bytes | None = None
    xmp: bytes | None = None
    comment: bytes | None = None
    dpi: tuple[int, int] | None = None
    restart_marker_blocks: int = 0
    restart_marker_rows: int = 0
    smooth: int = 0
    keep_rgb: bool = False
    streamtype: int = 0
    # jpegsal's own: "machine" makes the tables per image (jpegsal.codec.machine), for a
    # downstream classifier of classifier_side-pixel inputs; allocate: each image's quality
    # chosen at equal slope around quality (jpegsal.rateslope); sharp_chroma: RGB chroma
    # fitted to the decoder's upsampler before subsampling (jpegsal.codec.chroma).
    preset: str | None = None
    classifier_side: int = CLASSIFIER_SIDE
    allocate: bool = False
    sharp_chroma: bool = False

    def pillow_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``Image.save(fp, "JPEG", **kwargs)`` (without jpegsal's own)."""
        kwargs: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or f.name in _OWN or (f.name == "streamtype" and not value):
                continue
            if f.name == "qtables":
                value = [list(t) for t in value]
            kwargs[f.name] = value
        return kwargs

    def with_quality(self, quality: int) -> JpegOptions:
        """A copy at another quality (0..100); nothing else is checked again."""
        return dataclasses.replace(self, quality=check_int("quality", quality, 0, 100))

    def replace(self, **changes: Any) -> JpegOptions:
        """A copy with ``changes`` validated like any other options."""
        merged = {f.name: getattr(self, f.name) for f in fields(self)}
        merged.update(changes)
        own = {name: merged.pop(name) for name in _OWN}
        if merged.get("comment") is None:
            del merged["comment"]  # not given: an explicit None would remove a comment
        return dataclasses.replace(normalize_options(merged), **own)


# JpegOptions fields that are not Pillow's.
_OWN = ("preset", "classifier_side", "allocate", "sharp_chroma")


def is_keep(value: Any) -> bool:
    """True for Pillow's ``"keep"`` (safe for array values, which ``==`` is not)."""
    return isinstance(value, str) and value == "keep"


def _bytes(name: str, value: Any, limit: int) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, Image.Exif):
        value = value.tobytes()
    if isinstance(value, str) and name == "comment":
        value = value.encode("utf-8")
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(f"{name} must be bytes, got {type(value).__name__}")
    data = bytes(value)
    if len(data) > limit:
        raise ValueError(f"{name} is {len(data)} bytes; a JPEG marker holds at most {limit}")
    return data


def _qtables(value: Any) -> tuple[tuple[int, ...], ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        if value in JpegPresets.presets:
            return _qtables(JpegPresets.presets[value].get("quantization"))
        try:
            nums = [int(n) for line in value.splitlines() for n in line.split("#", 1)[0].split()]
        except ValueError as e:
            raise ValueError(f"qtables string is not whitespace-separated ints: {e}") from e
        value = [nums[i : i + 64] for i in range(0, len(nums), 64)]
    if isinstance(value, Mapping):
        value = [value[k] for k in range(len(value)) if k in value]
    if hasattr(value, "tolist"):  # numpy arrays; Pillow silently ignores them
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"qtables must be a list of tables, got {type(value).__name__}")
    if not 0 < len(value) < 5:
        raise ValueError(f"qtables must hold 1 to 4 tables, got {len(value)}")
    tables = []
    for i, table in enumerate(value):
        try:
            entries = list(array.array("H", table))
        except (TypeError, OverflowError) as e:
            raise ValueError(f"qtables[{i}] must be 64 ints in 1..32767: {e}") from e
        if len(entries) != 64:
            raise ValueError(f"qtables[{i}] must have 64 entries, got {len(entries)}")
        if not all(1 <= q <= 32767 for q in entries):
            raise ValueError(f"qtables[{i}] entries must be in 1..32767")
        tables.append(tuple(entries))
    return tuple(tables)


def _subsampling(value: Any) -> int:
    if isinstance(value, str):
        if value in JpegPresets.presets:
            preset: dict[str, Any] = JpegPresets.presets[value]
            return int(preset.get("subsampling", -1))
        if value in _SUBSAMPLING:
            return _SUBSAMPLING[value]
        # A TypeError, as Pillow's (its encoder refuses a string it does not know).
        raise TypeError(
            f"subsampling must be one of '4:4:4', '4:2:2', '4:2:0', 'keep' or a preset, "
            f"got {value!r}"
        )
    if isinstance(value, bool) or value not in (-1, 0, 1, 2, 3):
        raise ValueError(f"subsampling must be -1, 0, 1 or 2, got {value!r}")
    return int(value)  # 3 is kept: Pillow reads it as libjpeg's default (4:2:0), as -1


def _dpi(value: Any) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        x, y = (round(float(v)) for v in value)
    except (TypeError, ValueError) as e:
        raise TypeError(f"dpi must be a pair of numbers (x, y), got {value!r}") from e
    if not (0 <= x <= 65535 and 0 <= y <= 65535):
        raise ValueError(f"dpi values must be in 0..65535, got {value!r}")
    return (x, y)


def normalize_options(options: Mapping[str, Any], source: Image.Image | None = None) -> JpegOptions:
    """Validate Pillow-style JPEG keywords and return canonical :class:`JpegOptions`.

    Parameters
    ----------
    options : mapping
        Keyword arguments as accepted by Pillow's JPEG writer.
    source : PIL.Image.Image, optional
        The image being encoded. ``"keep"`` reads its quantisation tables and
        subsampling (it must have been decoded from a JPEG), and a missing
        ``comment`` defaults to ``source.info["comment"]``, as in Pillow.

    Raises
    ------
    TypeError
        An unknown keyword, or a value of the wrong type.
    ValueError
        A value out of range, with the accepted range in the message.
    """
    unknown = sorted(set(options) - set(JPEG_OPTION_NAMES))
    if unknown:
        raise TypeError(
            f"unknown JPEG option(s) {', '.join(map(repr, unknown))}; "
            f"accepted: {', '.join(JPEG_OPTION_NAMES)}"
        )
    # As Pillow: either name turns progressive output on.
    progressive = check_bool("progressive", options.get("progressive", False))
    progressive |= check_bool("progression", options.get("progression", False))
    quality, subsampling, qtables = _quality_subsampling_tables(options, source)
    # As Pillow: a missing comment keeps the source's; comment="" / b"" / None removes it.
    comment = options.get("comment")
    if "comment" not in options and source is not None:
        comment = source.info.get("comment")
    xmp = _bytes("xmp", options.get("xmp"), _MAX_MARKER - _XMP_OVERHEAD)
    return JpegOptions(
        quality=quality,
        subsampling=_subsampling(subsampling),
        progressive=progressive,
        optimize=check_bool("optimize", options.get("optimize", False)),
        qtables=_qtables(qtables),
        exif=_bytes("exif", options.get("exif"), _MAX_MARKER) or b"",
        # Pillow writes ICC profiles over several markers, so any length is fine.
        icc_profile=_bytes("icc_profile", options.get("icc_profile"), 2**31) or None,
        xmp=xmp or None,
        # b"": written as no comment at all, even if the pixels' info carries one.
        comment=_bytes("comment", comment, _MAX_MARKER) or (b"" if "comment" in options else None),
        dpi=_dpi(options.get("dpi")),
        restart_marker_blocks=check_int(
            "restart_marker_blocks", options.get("restart_marker_blocks", 0), 0, 65535
        ),
        restart_marker_rows=check_int(
            "restart_marker_rows", options.get("restart_marker_rows", 0), 0, 65535
        ),
        smooth=check_int("smooth", options.get("smooth", 0), 0, 100),
        keep_rgb=check_bool("keep_rgb", options.get("keep_rgb", False)),
        streamtype=check_int("streamtype", options.get("streamtype", 0), 0, 2),
    )


def _quality_subsampling_tables(
    options: Mapping[str, Any], source: Image.Image | None
) -> tuple[int, Any, Any]:
    """quality, subsampling and qtables with presets and ``"keep"`` resolved, as Pillow does."""
    subsampling: Any = options.get("subsampling", -1)
    qtables: Any = options.get("qtables")
    quality: Any = options.get("quality")
    if quality is None:
        # Pillow's default: libjpeg's 75, but explicit tables are used unscaled.
        quality = 75 if qtables is None else -1
    if any(map(is_keep, (quality, subsampling, qtables))) and (
        source is None or source.format != "JPEG"
    ):
        raise ValueError("'keep' needs an input image that was decoded from a JPEG file")
    if is_keep(quality):
        quality, subsampling, qtables = -1, "keep", "keep"
    elif isinstance(quality, str):
        if quality not in JpegPresets.presets:
            raise ValueError(
                f"quality must be an int in 0..100, 'keep' or a preset "
                f"({', '.join(JpegPresets.presets)}), got {quality!r}"
            )
        preset = JpegPresets.presets[quality]
        quality, subsampling = -1, preset.get("subsampling", -1)
        qtables = preset.get("quantization")
    else:
        # -1 is Pillow's "libjpeg default" (75, or the tables given in qtables).
        quality = check_int("quality", quality, -1, 100)
    if is_keep(subsampling):
        assert source is not None  # checked above
        subsampling = get_sampling(source)
    if is_keep(qtables):
        qtables = getattr(source, "quantization", None)
    return quality, subsampling, qtables
