"""The research-only contenders, beside :mod:`jpegsal.bench.codecs` (the shared ones).

* :class:`MachineCodec`: the ``preset="machine"`` engine with ablation options;
* :class:`ReencodeCodec`: :func:`jpegsal.reencode` of the source file;
* :class:`PerImageCodec`: per-image quality picked by a *tuning* proxy classifier.

:func:`parse_codec` reads their specs and defers every other to
:func:`jpegsal.bench.codecs.parse_codec`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import numpy as np
from PIL import Image

import jpegsal
from jpegsal.bench import codecs as shared
from jpegsal.bench.codecs import (
    Codec,
    JpegliCodec,
    JpegsalCodec,
    MozjpegCodec,
    PillowCodec,
    PresetCodec,
    mozjpeg_bytes,
)
from jpegsal.codec.lossless import compacted
from jpegsal.codec.options import JpegOptions
from jpegsal.maps.contract import kl_divergence

__all__ = [
    "Codec",
    "FloorCodec",
    "JpegliCodec",
    "JpegsalCodec",
    "MachineCodec",
    "MozjpegCodec",
    "PerImageCodec",
    "PillowCodec",
    "PresetCodec",
    "ReencodeCodec",
    "parse_codec",
]


@dataclass
class MachineCodec(Codec):
    """The ``preset="machine"`` engine at a quality, or one of its ablations.

    ``options``: ``tables`` (``machine`` or ``std``), ``gamma``, ``chroma``, ``blend``,
    ``adjust`` (0/1), ``steps`` (a steps file of :mod:`jpegsal.train.tables`; see
    :class:`jpegsal.codec.machine.MachineTables`), ``side`` (the classifier's input),
    ``fisher`` (a sensitivity file of :mod:`jpegsal.train.sensitivity` ``--ship``), ``optimize`` /
    ``progressive`` / ``sharp`` (0/1; ``sharp``: the preset's chroma fitted to the decoder's
    upsampler, :mod:`jpegsal.codec.chroma`, Pillow backend only; on by default with the
    machine tables, off with ``tables=std``, which stays Pillow with ``optimize=True``),
    ``backend`` (``pillow``, ``mozjpeg``: the same tables through mozjpeg's trellis
    (``trellis=0``: its progressive scans alone), or
    ``coef``: :mod:`jpegsal.codec.dct_writer` with rounding ``offset``/``coffset``, or
    ``energy=S``: rounding that restores share S of the AC energy rounding removes;
    ``optimize``/``progressive`` apply to it too),
    ``saliency`` (``MODEL+METHOD``: that method's pixels, then the machine encode: does
    saliency pay on top of the engine?), ``compact`` (0/1, Pillow backend: the preset's
    last step, one segment per kind of table and chroma on luma's Huffman tables where
    smaller, :func:`jpegsal.codec.lossless.compacted`; on by default with the machine
    tables).
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
        from jpegsal.codec.machine import CLASSIFIER_SIDE, MachineTables, machine_tables

        o = self.options
        if o.get("saliency"):
            from jpegsal.codec.options import normalize_options
            from jpegsal.pipeline import prepare as apply_method

            sal = prepared if prepared is not None else self.prepare(image)
            method = self._sal.method
            assert method is not None
            image = apply_method(image, method, sal, normalize_options({"quality": quality}))
        config = MachineTables(
            float(o.get("gamma", 1.0)),
            float(o.get("chroma", 1.0)),
            float(o.get("blend", 0.5)),
            o.get("adjust", "1") == "1",
            o.get("steps"),
            int(o.get("side", CLASSIFIER_SIDE)),  # tables for a classifier of N-pixel inputs
            o.get("fisher"),  # another sensitivity file (jpegsal.train.sensitivity --ship)
        )
        if o.get("tables", "machine") == "std":
            tables = None
        else:
            tables = machine_tables(quality, image.width, image.height, config)
        if o.get("backend", "pillow") == "mozjpeg":
            # trellis=0: mozjpeg's progressive scans without its trellis (what trellis adds)
            off = [] if o.get("trellis", "1") == "1" else ["-TRELLIS_QUANT", "-TRELLIS_QUANT_DC"]
            return mozjpeg_bytes(image, quality if tables is None else np.stack(tables), flags=off)
        if o.get("backend") == "coef":  # one quantisation of the pixels' DCT, a dead zone
            from jpegsal.codec.dct_writer import write_coefficients

            assert tables is not None, "backend=coef writes the machine tables"
            off, energy = float(o.get("offset", "0.5")), float(o.get("energy", "0"))
            offsets = (off, float(o.get("coffset", off)))
            return write_coefficients(
                image,
                tables,
                offsets,
                energy=energy,
                optimize=o.get("optimize", "1") == "1",
                progressive=o.get("progressive", "0") == "1",
            )
        subsampling = int(o.get("subsampling", "-1"))
        if o.get("sharp", "0" if tables is None else "1") == "1":  # tables=std: Pillow's own
            from jpegsal.codec.chroma import fitted  # what the preset encodes (sharp_chroma)

            image = fitted(image, subsampling)
        buf = io.BytesIO()
        extra: dict[str, Any] = (
            {"quality": quality}
            if tables is None
            else {"qtables": [t.astype(int).ravel().tolist() for t in tables]}
        )
        optimize, progressive = o.get("optimize", "1") == "1", o.get("progressive", "0") == "1"
        image.save(
            buf,
            "JPEG",
            optimize=optimize,
            progressive=progressive,
            subsampling=subsampling,
            **extra,
        )
        data = buf.getvalue()
        if o.get("compact", "0" if tables is None else "1") == "1":  # the preset's last step
            data = compacted(data, JpegOptions(optimize=optimize, progressive=progressive))
        return data


@dataclass
class ReencodeCodec(Codec):
    """:func:`jpegsal.reencode` of the *file* the image was read from (its DCT levels
    requantised): needs ``image.info["source_path"]`` (the sweep sets it for a file it
    neither resizes nor turns upright; a turned one is encoded from its upright pixels),
    so it compares with ``preset=machine`` on the decoded pixels."""

    progressive: bool = False
    side: int = 224  # classifier_side
    name: str = "reencode"
    allocate: bool = False  # through jpegsal.encode(preset="machine"): per-image quality
    fit: bool = False  # 4:4:4 chroma fitted to the upsampler (benchmarks.fitted_files)

    @property
    def version(self) -> str:
        from jpegsal.codec.requantise import OPTIMIZED

        route = "libjpeg, optimised tables" if OPTIMIZED and not self.progressive else "TurboJPEG"
        return f"jpegsal {jpegsal.__version__} (DCT path: {route})"

    def encode(self, image: Image.Image, quality: Any, prepared: Any = None) -> bytes:
        path = image.info.get("source_path")
        if path is None and image.info.get("upright_file") is False:
            # A file stored turned (EXIF orientation): its levels are not what the judges
            # are shown, so the same engine on the upright pixels (1 of imagenet-sample's).
            return jpegsal.encode(
                image, preset="machine", quality=quality, classifier_side=self.side,
                progressive=self.progressive, allocate=self.allocate,
            )  # fmt: skip
        if path is None:
            raise ValueError(f"{self.name} needs the source file; do not resize (--side)")
        with open(path, "rb") as f:
            # No metadata, as every other contender writes none (imagenet-sample files carry
            # ICC profiles of about 3 kB, which would count against this one only).
            data = f.read()
        if self.fit:
            return _fitted_route(data, quality, self.side, self.allocate)
        if self.allocate:
            return jpegsal.encode(
                data, preset="machine", quality=quality, classifier_side=self.side,
                progressive=self.progressive,
            )  # fmt: skip
        return jpegsal.reencode(
            data, quality=quality, progressive=self.progressive, keep_metadata=False,
            classifier_side=self.side,
        )  # fmt: skip


def _fitted_route(data: bytes, quality: int, side: int, allocate: bool) -> bytes:
    """The DCT route (baseline, no metadata) with :mod:`benchmarks.fitted_files`' chroma,
    at ``quality`` or at the preset's per-image quality around it."""
    from jpegsal.rateslope import equal_slope
    from jpegsal.reencode import _requantise_to

    from .fitted_files import fitted

    def at(q: int) -> bytes:
        out = _requantise_to(data, q, False, strict=True, markers=False, side=side)
        return fitted(data, out)

    return equal_slope(at, quality, side)[1] if allocate else at(quality)


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


@dataclass
class FloorCodec(Codec):
    """``inner`` at the swept quality, raised per image (steps of ``step``, up to 100) while
    a tuning proxy's top-1 on the output differs from its top-1 on the original: a floor
    that only ever spends more bytes, on the images the proxy finds fragile."""

    inner: Codec = field(default_factory=lambda: MachineCodec())
    proxy: str = "lite0"
    step: int = 10
    name: str = ""

    def __post_init__(self) -> None:
        from .common import Evaluator

        self.name = self.name or f"{self.inner.name}+floor"
        self.share_key = f"top1:{self.proxy}"  # its prepare differs from PerImageCodec's
        self._proxy = Evaluator(self.proxy)

    @property
    def version(self) -> str:
        return f"{self.inner.version}, quality raised while {self.proxy}'s top-1 flips"

    def prepare(self, image: Image.Image) -> int:
        return int(self._proxy.probs(np.asarray(image)[None])[0].argmax())

    def encode(self, image: Image.Image, quality: Any, prepared: Any = None) -> bytes:
        top1 = prepared if prepared is not None else self.prepare(image)
        q = int(quality)
        while True:
            data = self.inner.encode(image, q)
            with Image.open(io.BytesIO(data)) as im:
                p = self._proxy.probs(np.asarray(im.convert("RGB"))[None])[0]
            if int(p.argmax()) == top1 or q >= 100:
                return data
            q = min(100, q + self.step)


def parse_codec(spec: str) -> Codec:
    """``machine[:k=v,...]``, ``reencode[+progressive][:side=N,allocate]``, ``SPEC+perimage``,
    ``SPEC+floor``, ``oracle[:k=v,...]`` (:mod:`benchmarks.block_oracle`) or any spec of
    :func:`jpegsal.bench.codecs.parse_codec`."""
    if spec.endswith("+floor"):
        return FloorCodec(inner=parse_codec(spec[: -len("+floor")]), name=spec)
    if spec.endswith("+perimage"):
        inner = parse_codec(spec[: -len("+perimage")])
        return PerImageCodec(inner=inner, name=spec)
    if spec.partition(":")[0] in ("reencode", "reencode+progressive"):
        base, _, opts = spec.partition(":")
        side, flags = 224, set()
        for key, _, value in (kv.partition("=") for kv in opts.split(",") if kv):
            if key in ("allocate", "fit") and not value:
                flags.add(key)
            elif key != "side" or not value.isdigit():
                raise ValueError(f"{spec!r}: reencode's options are side=N (pixels), allocate, fit")
            else:
                side = int(value)
        progressive = base.endswith("progressive")
        return ReencodeCodec(
            progressive=progressive, side=side, name=spec,
            allocate="allocate" in flags, fit="fit" in flags,
        )  # fmt: skip
    if spec == "oracle" or spec.startswith("oracle:"):  # research: does a block map transfer?
        from .block_oracle import parse

        return parse(spec)
    if spec == "machine" or spec.startswith("machine:"):
        pairs = [kv.partition("=") for kv in spec.partition(":")[2].split(",") if kv]
        return MachineCodec(options={k: v for k, _, v in pairs}, name=spec)
    return shared.parse_codec(spec)
