"""One codec class per contender (after CompressAI's benchmark ``Codec``): ``run()`` -> metrics.

Every codec takes a PIL RGB image and a point (a quality in 1..100, or a KL budget for
a budgeted codec) and returns the JPEG bytes; ``run()`` adds the decoded pixels and the
metrics (Pillow decodes every contender, so decoding is the same for all). Contenders:

* :class:`PillowCodec`: ``Image.save(..., "JPEG")`` (libjpeg-turbo), the reference;
* :class:`JpegliCodec`: jpegli through ``pyjpegli`` (extra ``bench``);
* :class:`MozjpegCodec`: mozjpeg 4.0.3 through ``jpeglib`` (extra ``bench``);
* :class:`JpegsalCodec`: a ``jpegsal.Encoder`` with a model, a method and a strength,
  optionally with per-image rate control (``preserve``);
* :class:`PresetCodec`: ``jpegsal.Encoder(preset=...)`` (``preset=machine``).

Work shared by every point of one image (a saliency map) is done once by
``codec.prepare(image)``; codecs with the same ``share_key`` can share it, so one map
serves every method of a model. ``benchmarks/contenders.py`` adds the research-only
contenders (ablations of the machine engine, per-image quality by a proxy).
"""

from __future__ import annotations

import io
import os
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import numpy as np
import PIL
from PIL import Image, features

import jpegsal

from .._optional import require

__all__ = [
    "PEERS",
    "Codec",
    "JpegliCodec",
    "JpegsalCodec",
    "MozjpegCodec",
    "PillowCodec",
    "PresetCodec",
    "mozjpeg_bytes",
    "parse_codec",
]


class Codec:
    """A contender: ``encode(image, point, prepared) -> bytes``; ``run`` adds the metrics.

    ``point`` is a quality in 1..100 (or a KL budget for a ``preserve`` codec).
    """

    name = "codec"
    share_key: str | None = None  # codecs with the same key share ``prepare``'s result
    budgeted = False  # True: the points are per-image budgets, not qualities

    @property
    def version(self) -> str:
        """The library (and version) behind this codec, recorded with the results."""
        return f"Pillow {PIL.__version__}, libjpeg-turbo {features.version('libjpeg_turbo')}"

    def prepare(self, image: Image.Image) -> Any:
        """Per-image work shared by every point (None: nothing to share)."""
        return None

    def encode(self, image: Image.Image, quality: Any, prepared: Any = None) -> bytes:
        raise NotImplementedError

    def run(self, image: Image.Image, quality: int, prepared: Any = None) -> dict[str, Any]:
        if image.mode != "RGB":
            raise ValueError(f"{self.name}: image must be RGB, got mode {image.mode!r}")
        if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
            raise ValueError(f"{self.name}: quality must be an int in 1..100, got {quality!r}")
        t0 = time.perf_counter()
        data = self.encode(image, quality, prepared)
        ms = 1000 * (time.perf_counter() - t0)
        with Image.open(io.BytesIO(data)) as im:
            decoded = np.asarray(im.convert("RGB"))
        if decoded.shape[:2] != (image.height, image.width):
            raise RuntimeError(f"{self.name}: decoded size {decoded.shape[:2]} != the input's")
        return {
            "codec": self.name,
            "quality": quality,
            "bytes": len(data),
            "bpp": 8 * len(data) / (image.width * image.height),
            "encode_ms": ms,
            "decoded": decoded,
        }


@dataclass
class PillowCodec(Codec):
    """Pillow's own JPEG save with its defaults (4:2:0, baseline)."""

    name: str = "pillow"

    def encode(self, image: Image.Image, quality: Any, prepared: Any = None) -> bytes:
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=quality)
        return buf.getvalue()


@dataclass
class JpegliCodec(Codec):
    """jpegli (libjxl's JPEG encoder) with its defaults, via ``pyjpegli``."""

    name: str = "jpegli"

    @property
    def version(self) -> str:
        return f"pyjpegli {metadata.version('pyjpegli')}"

    def encode(self, image: Image.Image, quality: Any, prepared: Any = None) -> bytes:
        pyjpegli = require("pyjpegli")

        return bytes(pyjpegli.encode(image.tobytes(), image.width, image.height, quality))


@dataclass
class MozjpegCodec(Codec):
    """mozjpeg 4.0.3 (trellis quantisation, progressive) via ``jpeglib``."""

    name: str = "mozjpeg"
    library: str = "mozjpeg403"

    @property
    def version(self) -> str:
        return f"{self.library} via jpeglib {metadata.version('jpeglib')}"

    def encode(self, image: Image.Image, quality: Any, prepared: Any = None) -> bytes:
        return mozjpeg_bytes(image, quality, self.library)


@dataclass
class JpegsalCodec(Codec):
    """A ``jpegsal.Encoder(model, method)`` at a quality, or with ``preserve`` at a KL budget.

    ``prepare`` computes the image's :class:`jpegsal.Saliency` once (one network run,
    map and logits); every encode of the image reuses it. With ``preserve=True`` the
    point is a KL budget; a budget that even quality 100 cannot meet gives the quality
    100 output and is counted in ``unmet``.
    """

    model: str = "cam"
    method: str | None = "guided"
    strength: float | None = None
    preserve: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    unmet: dict[float, int] = field(default_factory=dict)  # KL budget -> images
    search: str = "predict"  # preserve's search ("bisect": +preserve-bisect)

    def __post_init__(self) -> None:
        self.budgeted = self.preserve
        if not self.name:
            tail = f"@{self.strength:g}" if self.strength is not None else ""
            self.name = f"{self.model}+{self.method or 'none'}{tail}"
            self.name += "+preserve" if self.preserve else ""
            self.name += "-bisect" if self.preserve and self.search == "bisect" else ""
        self.share_key = self.model
        self.encoder = jpegsal.Encoder(self.model, self.method, device="cpu", **self._extra())

    @property
    def version(self) -> str:
        return f"jpegsal {jpegsal.__version__} ({super().version})"

    def _extra(self) -> dict[str, Any]:
        extra = dict(self.options)
        if self.strength is not None:
            extra["strength"] = self.strength
        return extra

    def prepare(self, image: Image.Image) -> jpegsal.Saliency:
        return self.encoder.saliency(image)

    def encode(self, image: Image.Image, quality: Any, prepared: Any = None) -> bytes:
        sal = prepared if prepared is not None else self.prepare(image)
        if not self.preserve:
            return self.encoder.encode(image, saliency=sal, quality=quality)
        try:
            return self.encoder.encode(
                image, saliency=sal, preserve=quality, preserve_search=self.search
            )
        except ValueError:  # a budget below what quality 100 reaches: take quality 100
            self.unmet[quality] = self.unmet.get(quality, 0) + 1
            return self.encoder.encode(image, saliency=sal, quality=100)


@dataclass
class PresetCodec(Codec):
    """``jpegsal.Encoder(preset=...)`` itself at a quality, or with ``preserve`` at a budget
    (``classifier_side``: the preset's option, None for its default; ``fixed``: the asked
    quality for every image, ``allocate=False``; ``from_file``: the source file as
    ``jpegsal encode FILE`` takes it, a JPEG by the DCT route, where the sweep gives it
    in ``info["source_path"]``: neither resized nor turned upright; else the pixels)."""

    preset: str = "machine"
    preserve: bool = False
    name: str = ""
    classifier_side: int | None = None
    fixed: bool = False  # allocate=False: the asked quality for every image
    from_file: bool = False

    def __post_init__(self) -> None:
        self.name = self.name or f"preset={self.preset}" + ("+preserve" if self.preserve else "")
        self.budgeted = self.preserve
        options: dict[str, Any] = {} if not self.fixed else {"allocate": False}
        if self.classifier_side is not None:
            options["classifier_side"] = self.classifier_side
        self.encoder = jpegsal.Encoder(preset=self.preset, **options)

    @property
    def version(self) -> str:
        return f"jpegsal {jpegsal.__version__} ({super().version})"

    def encode(self, image: Image.Image, quality: Any, prepared: Any = None) -> bytes:
        key = "preserve" if self.preserve else "quality"
        path = image.info.get("source_path") if self.from_file else None
        if path is not None:  # no metadata: the other contenders write none
            return self.encoder.encode(path, keep_metadata=False, **{key: quality})
        return self.encoder.encode(image, **{key: quality})


def mozjpeg_bytes(
    image: Image.Image, qt: Any, library: str = "mozjpeg403", flags: list[str] | None = None
) -> bytes:
    """mozjpeg's bytes for ``image`` at quality or tables ``qt``; ``flags``: jpeglib's
    boolean switches (``["-TRELLIS_QUANT", "-TRELLIS_QUANT_DC"]``: no trellis)."""
    jpeglib = require("jpeglib")

    fd, path = tempfile.mkstemp(suffix=".jpg")  # jpeglib writes only to files
    os.close(fd)
    try:
        with jpeglib.version(library):
            jpeglib.from_spatial(np.ascontiguousarray(np.asarray(image))).write_spatial(
                path, qt=qt, flags=flags or []
            )
        with open(path, "rb") as f:
            return f.read()
    finally:
        os.unlink(path)


PEERS: dict[str, type[Codec]] = {
    "pillow": PillowCodec,
    "jpegli": JpegliCodec,
    "mozjpeg": MozjpegCodec,
}


def parse_codec(spec: str) -> Codec:
    """``pillow``, ``jpegli``, ``mozjpeg``, ``preset=machine[:side=N,fixed,file][+preserve]``
    or ``MODEL+METHOD[@STRENGTH][+preserve[-bisect]]``.

    ``METHOD`` may be ``none`` (useful with ``+preserve``: per-image quality alone).
    """
    if spec in PEERS:
        return PEERS[spec]()
    if spec.startswith("preset="):
        preset, _, tail = spec[len("preset=") :].partition("+")
        preset, _, options = preset.partition(":")
        side, flags = None, set()
        for key, _, given in (kv.partition("=") for kv in options.split(",") if kv):
            if key == "side" and given.isdigit():
                side = int(given)
            elif key in ("fixed", "file") and not given:
                flags.add(key)
            else:
                raise ValueError(f"contender {spec!r}: options are side=N (pixels), fixed, file")
        return PresetCodec(
            preset, tail == "preserve", spec, classifier_side=side,
            fixed="fixed" in flags, from_file="file" in flags,
        )  # fmt: skip
    model, plus, rest = spec.partition("+")
    search = "bisect" if rest.endswith("+preserve-bisect") else "predict"
    rest = rest.removesuffix("-bisect") if search == "bisect" else rest
    rest, preserve = (
        (rest[: -len("+preserve")], True) if rest.endswith("+preserve") else (rest, False)
    )
    method, _, strength = rest.partition("@")
    if not plus or not model or not method:
        raise ValueError(
            f"unknown contender {spec!r}: use pillow, jpegli, mozjpeg, preset=machine or "
            "MODEL+METHOD[@STRENGTH][+preserve] (for example cam+guided@0.3)"
        )
    try:
        value = float(strength) if strength else None
    except ValueError:
        raise ValueError(f"codec {spec!r}: strength {strength!r} is not a number") from None
    return JpegsalCodec(
        model=model,
        method=None if method == "none" else method,
        strength=value,
        preserve=preserve,
        search=search,
    )
