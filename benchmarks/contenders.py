"""One codec class per contender (after CompressAI's benchmark ``Codec``): ``run()`` -> metrics.

Every codec takes a PIL RGB image and a quality in 1..100, and ``run()``
returns a dict with the encoded ``bytes``, ``bpp``, the encode time
``encode_ms`` and the ``decoded`` RGB array (Pillow decodes every contender, so
decoding is the same for all). Contenders:

* :class:`PillowCodec`: ``Image.save(..., "JPEG")`` (libjpeg-turbo), the reference;
* :class:`JpegliCodec`: jpegli through ``pyjpegli`` (extra ``bench``);
* :class:`MozjpegCodec`: mozjpeg 4.0.3 through ``jpeglib`` (extra ``bench``);
* :class:`JpegsalCodec`: a ``jpegsal.Encoder`` with a model, a method and a strength,
  optionally with per-image rate control (``preserve``).

Work shared by every quality of one image (a saliency map) is done once by
``codec.prepare(image)``; codecs with the same ``share_key`` can share it, so one map
serves every method of a model.
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
from jpegsal.maps.contract import kl_divergence

__all__ = ["Codec", "JpegliCodec", "JpegsalCodec", "MozjpegCodec", "PillowCodec", "parse_codec"]


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
        import pyjpegli

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
        return _mozjpeg(image, quality, self.library)


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
class MachineCodec(Codec):
    """The ``preset="machine"`` engine at a quality, or one of its ablations.

    ``options``: ``tables`` (``machine`` or ``std``), ``gamma``, ``chroma`` (see
    :class:`jpegsal.codec.machine.MachineTables`), ``optimize`` / ``progressive`` (0/1),
    ``backend`` (``pillow``, ``mozjpeg``: the same tables through mozjpeg's trellis, or
    ``coef``: :mod:`jpegsal.codec.dct_writer` with rounding ``offset``/``coffset``),
    ``saliency`` (``MODEL+METHOD``: that method's pixels, then the machine encode: does
    saliency pay on top of the engine?).
    """

    options: dict[str, str] = field(default_factory=dict)
    name: str = "machine"

    def __post_init__(self) -> None:
        sal = self.options.get("saliency")
        if sal:
            model, _, method = sal.partition("+")
            self.share_key = model
            self._sal = jpegsal.Encoder(model, method, device="cpu")

    def prepare(self, image: Image.Image) -> Any:
        return self._sal.saliency(image) if self.options.get("saliency") else None

    @property
    def version(self) -> str:
        if self.options.get("backend") == "mozjpeg":
            return f"mozjpeg403 via jpeglib {metadata.version('jpeglib')}"
        return super().version

    def encode(self, image: Image.Image, quality: Any, prepared: Any = None) -> bytes:
        from jpegsal.codec.machine import MachineTables, machine_tables

        o = self.options
        if o.get("saliency"):
            from jpegsal.codec.options import normalize_options
            from jpegsal.pipeline import prepare as apply_method

            sal = prepared if prepared is not None else self.prepare(image)
            method = self._sal.method
            assert method is not None
            image = apply_method(image, method, sal, normalize_options({"quality": quality}))
        config = MachineTables(
            float(o.get("gamma", 1.0)), float(o.get("chroma", 1.0)), float(o.get("blend", 0.5))
        )
        if o.get("tables", "machine") == "std":
            tables = None
        else:
            tables = machine_tables(quality, image.width, image.height, config)
        if o.get("backend", "pillow") == "mozjpeg":
            return _mozjpeg(image, quality if tables is None else np.stack(tables))
        if o.get("backend") == "coef":  # one quantisation of the pixels' DCT, a dead zone
            from jpegsal.codec.dct_writer import write_coefficients

            assert tables is not None, "backend=coef writes the machine tables"
            off = float(o.get("offset", "0.5"))
            return write_coefficients(image, tables, (off, float(o.get("coffset", off))))
        buf = io.BytesIO()
        extra: dict[str, Any] = (
            {"quality": quality}
            if tables is None
            else {"qtables": [t.astype(int).ravel().tolist() for t in tables]}
        )
        image.save(
            buf,
            "JPEG",
            optimize=o.get("optimize", "1") == "1",
            progressive=o.get("progressive", "0") == "1",
            subsampling=int(o.get("subsampling", "-1")),
            **extra,
        )
        return buf.getvalue()


@dataclass
class ReencodeCodec(Codec):
    """:func:`jpegsal.reencode` of the *file* the image was read from (its DCT levels
    requantised): needs ``image.info["source_path"]`` (rate_accuracy sets it when it does
    not resize), so it compares with ``preset=machine`` on the decoded pixels."""

    progressive: bool = False
    name: str = "reencode"

    @property
    def version(self) -> str:
        return f"jpegsal {jpegsal.__version__} (TurboJPEG transform)"

    def encode(self, image: Image.Image, quality: Any, prepared: Any = None) -> bytes:
        path = image.info.get("source_path")
        if path is None:
            raise ValueError(f"{self.name} needs the source file; do not resize (--side)")
        with open(path, "rb") as f:
            # No metadata, as every other contender writes none (imagenet-sample files carry
            # ICC profiles of about 3 kB, which would count against this one only).
            data = f.read()
        return jpegsal.reencode(
            data, quality=quality, progressive=self.progressive, keep_metadata=False
        )


@dataclass
class PresetCodec(Codec):
    """``jpegsal.Encoder(preset=...)`` itself at a quality, or with ``preserve`` at a budget."""

    preset: str = "machine"
    preserve: bool = False
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.name or f"preset={self.preset}" + ("+preserve" if self.preserve else "")
        self.budgeted = self.preserve
        self.encoder = jpegsal.Encoder(preset=self.preset)

    @property
    def version(self) -> str:
        return f"jpegsal {jpegsal.__version__} ({super().version})"

    def encode(self, image: Image.Image, quality: Any, prepared: Any = None) -> bytes:
        key = "preserve" if self.preserve else "quality"
        return self.encoder.encode(image, **{key: quality})


def _mozjpeg(image: Image.Image, qt: Any, library: str = "mozjpeg403") -> bytes:
    import jpeglib

    fd, path = tempfile.mkstemp(suffix=".jpg")  # jpeglib writes only to files
    os.close(fd)
    try:
        with jpeglib.version(library):
            jpeglib.from_spatial(np.ascontiguousarray(np.asarray(image))).write_spatial(path, qt=qt)
        with open(path, "rb") as f:
            return f.read()
    finally:
        os.unlink(path)


@dataclass
class PerImageCodec(Codec):
    """``inner`` at, per image, the lowest quality whose output a *tuning* proxy classifier
    sees within a KL budget of the original (AdaCompress-style per-image quality).

    The points are KL budgets in nats. The proxy is Lite0 or Lite1, never a judge. A
    budget that quality 100 does not meet gives the quality-100 output (``unmet``).
    """

    inner: Codec = field(default_factory=lambda: MozjpegCodec())
    proxy: str = "lite0"
    name: str = ""
    unmet: dict[float, int] = field(default_factory=dict)
    budgeted = True

    def __post_init__(self) -> None:
        from .common import Evaluator

        self.name = self.name or f"{self.inner.name}+perimage"
        self.share_key = f"proxy:{self.proxy}"
        self._proxy = Evaluator(self.proxy)

    @property
    def version(self) -> str:
        return f"{self.inner.version}, per-image quality by {self.proxy}"

    def prepare(self, image: Image.Image) -> dict[Any, Any]:
        """The proxy's probabilities on the original, and a memo of (codec, quality) -> KL."""
        return {"p": self._proxy.probs(np.asarray(image)[None])[0]}

    def _kl(self, image: Image.Image, q: int, memo: dict[Any, Any]) -> tuple[float, bytes]:
        key = (self.inner.name, q)
        if key not in memo:
            data = self.inner.encode(image, q)
            with Image.open(io.BytesIO(data)) as im:
                p = self._proxy.probs(np.asarray(im.convert("RGB"))[None])[0]
            memo[key] = (kl_divergence(memo["p"], p), data)
        result: tuple[float, bytes] = memo[key]
        return result

    def encode(self, image: Image.Image, quality: Any, prepared: Any = None) -> bytes:
        memo = prepared if prepared is not None else self.prepare(image)
        lo, hi = 1, 100  # invariant: hi meets the budget (or is 100)
        if self._kl(image, hi, memo)[0] > quality:
            self.unmet[quality] = self.unmet.get(quality, 0) + 1
            return self._kl(image, hi, memo)[1]
        while lo < hi:
            mid = (lo + hi) // 2
            if self._kl(image, mid, memo)[0] <= quality:
                hi = mid
            else:
                lo = mid + 1
        return self._kl(image, hi, memo)[1]


def parse_codec(spec: str) -> Codec:
    """``pillow``, ``jpegli``, ``mozjpeg`` or ``MODEL+METHOD[@STRENGTH][+preserve[-bisect]]``.

    ``METHOD`` may be ``none`` (useful with ``+preserve``: per-image quality alone).
    """
    peers: dict[str, type[Codec]] = {
        "pillow": PillowCodec,
        "jpegli": JpegliCodec,
        "mozjpeg": MozjpegCodec,
    }
    if spec in peers:
        return peers[spec]()
    if spec.endswith("+perimage"):
        inner = parse_codec(spec[: -len("+perimage")])
        return PerImageCodec(inner=inner, name=spec)
    if spec in ("reencode", "reencode+progressive"):
        return ReencodeCodec(progressive=spec.endswith("progressive"), name=spec)
    if spec.startswith("preset="):
        preset, _, tail = spec[len("preset=") :].partition("+")
        return PresetCodec(preset=preset, preserve=tail == "preserve", name=spec)
    if spec == "machine" or spec.startswith("machine:"):
        pairs = [kv.partition("=") for kv in spec.partition(":")[2].split(",") if kv]
        return MachineCodec(options={k: v for k, _, v in pairs}, name=spec)
    model, plus, rest = spec.partition("+")
    search = "bisect" if rest.endswith("+preserve-bisect") else "predict"
    rest = rest.removesuffix("-bisect") if search == "bisect" else rest
    rest, preserve = (
        (rest[: -len("+preserve")], True) if rest.endswith("+preserve") else (rest, False)
    )
    method, _, strength = rest.partition("@")
    if not plus or not model or not method:
        raise ValueError(
            f"unknown codec {spec!r}: use pillow, jpegli, mozjpeg or "
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
