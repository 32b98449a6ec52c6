"""One codec class per contender (after CompressAI's benchmark ``Codec``): ``run()`` -> metrics.

Every codec takes a PIL RGB image and a quality in 1..100, and ``run()``
returns a dict with the encoded ``bytes``, ``bpp``, the encode time
``encode_ms`` and the ``decoded`` RGB array (Pillow decodes every contender, so
decoding is the same for all). Contenders:

* :class:`PillowCodec`: ``Image.save(..., "JPEG")`` (libjpeg-turbo), the reference;
* :class:`JpegliCodec`: jpegli through ``pyjpegli`` (extra ``bench``);
* :class:`MozjpegCodec`: mozjpeg 4.0.3 through ``jpeglib`` (extra ``bench``);
* :class:`JpegsalCodec`: ``jpegsal.encode`` with a model, a method and a strength.
"""

from __future__ import annotations

import io
import os
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

import jpegsal

__all__ = ["Codec", "JpegliCodec", "JpegsalCodec", "MozjpegCodec", "PillowCodec", "parse_codec"]


class Codec:
    """A contender: ``encode(image, quality) -> bytes``; ``run`` adds the metrics."""

    name = "codec"

    def encode(self, image: Image.Image, quality: int) -> bytes:
        raise NotImplementedError

    def run(self, image: Image.Image, quality: int) -> dict[str, Any]:
        if image.mode != "RGB":
            raise ValueError(f"{self.name}: image must be RGB, got mode {image.mode!r}")
        if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
            raise ValueError(f"{self.name}: quality must be an int in 1..100, got {quality!r}")
        t0 = time.perf_counter()
        data = self.encode(image, quality)
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

    def encode(self, image: Image.Image, quality: int) -> bytes:
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=quality)
        return buf.getvalue()


@dataclass
class JpegliCodec(Codec):
    """jpegli (libjxl's JPEG encoder) with its defaults, via ``pyjpegli``."""

    name: str = "jpegli"

    def encode(self, image: Image.Image, quality: int) -> bytes:
        import pyjpegli

        return bytes(pyjpegli.encode(image.tobytes(), image.width, image.height, quality))


@dataclass
class MozjpegCodec(Codec):
    """mozjpeg 4.0.3 (trellis quantisation, progressive) via ``jpeglib``."""

    name: str = "mozjpeg"
    version: str = "mozjpeg403"

    def encode(self, image: Image.Image, quality: int) -> bytes:
        import jpeglib

        fd, path = tempfile.mkstemp(suffix=".jpg")  # jpeglib writes only to files
        os.close(fd)
        try:
            with jpeglib.version(self.version):
                jpeglib.from_spatial(np.ascontiguousarray(np.asarray(image))).write_spatial(
                    path, qt=quality
                )
            with open(path, "rb") as f:
                return f.read()
        finally:
            os.unlink(path)


@dataclass
class JpegsalCodec(Codec):
    """``jpegsal.encode(image, model=..., method=..., quality=q, strength=...)``."""

    model: str = "cam"
    method: str | None = "guided"
    strength: float | None = None
    options: dict[str, Any] = field(default_factory=dict)
    name: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            tail = f"@{self.strength:g}" if self.strength is not None else ""
            self.name = f"{self.model}+{self.method}{tail}"

    def encode(self, image: Image.Image, quality: int) -> bytes:
        extra = dict(self.options)
        if self.strength is not None:
            extra["strength"] = self.strength
        return jpegsal.encode(
            image, model=self.model, method=self.method, quality=quality, device="cpu", **extra
        )


def parse_codec(spec: str) -> Codec:
    """``pillow``, ``jpegli``, ``mozjpeg`` or ``MODEL+METHOD[@STRENGTH]`` -> a codec."""
    peers: dict[str, type[Codec]] = {
        "pillow": PillowCodec,
        "jpegli": JpegliCodec,
        "mozjpeg": MozjpegCodec,
    }
    if spec in peers:
        return peers[spec]()
    model, plus, rest = spec.partition("+")
    method, _, strength = rest.partition("@")
    if not plus or not model or not method:
        raise ValueError(
            f"unknown codec {spec!r}: use pillow, jpegli, mozjpeg or MODEL+METHOD[@STRENGTH] "
            "(for example cam+guided@0.3)"
        )
    try:
        value = float(strength) if strength else None
    except ValueError:
        raise ValueError(f"codec {spec!r}: strength {strength!r} is not a number") from None
    return JpegsalCodec(model=model, method=method, strength=value)
