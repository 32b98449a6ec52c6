"""One image through the stages after saliency: the method step, then rate control.

The method is applied once (or once per candidate quality for methods that read the
tables); :func:`jpegsal.ratecontrol.choose` picks among encoded, checked candidates.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from PIL import Image

from .checks import preserve_check
from .codec import compacted, encode_jpeg
from .codec.options import JpegOptions
from .inputs import Source
from .maps.compute import compute, model_view
from .maps.contract import Classifier, Saliency, SaliencyModel
from .maps.orientation import orientation
from .methods import Method, per_quality
from .methods.registry import apply_method as prepare
from .ratecontrol import Control, PredictedBudget, choose
from .rateslope import FLOOR as MACHINE_FLOOR  # the preset's: preserve's and allocate's

__all__ = [
    "EncodeResult",
    "Stopwatch",
    "encode_source",
    "need_model",
    "prepare",
    "run",
    "source_tag",
]


class Stopwatch:
    """Seconds per stage, added up over every time the stage runs."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self._start = time.perf_counter()

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        t = time.perf_counter()
        self.counts[stage] = self.counts.get(stage, 0) + 1
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - t

    def timings(self) -> dict[str, float]:
        """The stages in the documented order, and ``total`` since the stopwatch started."""
        stages = ("load", "saliency", "method", "encode", "check")
        out = {k: self.seconds.get(k, 0.0) for k in stages}
        out["total"] = time.perf_counter() - self._start
        return out


@dataclass(frozen=True, repr=False)
class EncodeResult:
    """What one encode produced, and how.

    Attributes
    ----------
    data : bytes
        The JPEG file.
    quality : int
        The quality used (-1: explicit tables), chosen by rate control or the preset.
    strength : float or None
        The method strength used (None without a method).
    saliency : Saliency or None
        The saliency that guided the method (None when none was needed; ``.map``: (H, W)).
    top1 : int or None
        With ``preserve``: the classifier's decision on the original.
    kl : float or None
        With ``preserve``: the KL divergence, in nats, from the classifier's
        probabilities on the original to those on the decoded output (both reduced when
        ``check_scale`` > 1; under ``preset="machine"``: the predicted KL, no network run).
    encodes : int
        JPEG encodes performed (rate control and the preset's per-image quality try several).
    network_runs : int
        Runs of the saliency network or its classifier for this image (0 when a
        precomputed saliency served them all).
    timings : dict
        Seconds per stage: ``load``, ``saliency``, ``method``, ``encode``, ``check``
        (decoding and classifying candidates for ``preserve``) and ``total``.
    met : bool or None
        With ``preserve``: whether the output meets the budget (``False`` only when
        ``if_unmet="best"`` kept quality 100 for a budget it misses).
    path, path_reason : str, str or None
        ``"dct"`` (a JPEG file requantised, :func:`jpegsal.reencode`) or ``"pixels"``,
        with the reason when a JPEG file under the preset could not take the DCT path.
    check_scale : int or None
        With a classifier's ``preserve``: candidates were decoded at 1/``check_scale``
        (1: in full; ``preserve_view``).
    """

    data: bytes = field(repr=False)
    quality: int
    strength: float | None
    saliency: Saliency | None = field(repr=False)
    top1: int | None
    kl: float | None
    encodes: int
    network_runs: int
    timings: dict[str, float]
    met: bool | None = None
    path: str = "pixels"
    path_reason: str | None = None
    check_scale: int | None = None

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        t = ", ".join(f"{k}={v * 1000:.1f}ms" for k, v in self.timings.items())
        return (
            f"EncodeResult({len(self.data)} bytes, quality={self.quality}, "
            f"strength={self.strength}, top1={self.top1}, kl={self.kl}, "
            f"encodes={self.encodes}, network_runs={self.network_runs}, {t})"
        )


def run(
    source: Source,
    view: Image.Image,
    options: JpegOptions,
    *,
    method: Method | None,
    saliency: Saliency | None,
    control: Control,
    watch: Stopwatch,
) -> tuple[int, bytes]:
    """Encode one loaded image; returns the chosen (quality, data).

    ``view`` is the model view of ``source.image``; with no active method the source
    pixels themselves are encoded, exactly as Pillow would.
    """
    if method is None or method.strength == 0:
        return _choose(source.image, None, options, control, watch)
    if saliency is None:
        raise ValueError(f"method {method.name!r} needs a saliency map; pass model=...")
    again = per_quality(method) and control.searches
    # The source's own pixels may take the result when nothing reads them again: no
    # second full-size image (50 MP: 190 MB) for methods that keep the mode.
    in_place = source.owned and view is source.image and not again
    info = dict(source.image.info)
    with watch("method"):
        fixed = prepare(view, method, saliency, options, in_place=in_place)
    fixed.info = info
    return _choose(fixed, (method, saliency, view) if again else None, options, control, watch)


def _choose(
    pixels: Image.Image,
    redo: tuple[Method, Saliency, Image.Image] | None,
    options: JpegOptions,
    control: Control,
    watch: Stopwatch,
) -> tuple[int, bytes]:
    """Rate control over candidates made from ``pixels`` (or remade per quality by ``redo``)."""

    def candidate(opts: JpegOptions) -> bytes:
        image = pixels
        if redo is not None and opts != options:  # the method reads the tables: apply again
            method, saliency, view = redo
            with watch("method"):
                image = prepare(view, method, saliency, opts)
            image.info = pixels.info
        with watch("encode"):
            return encode_jpeg(image, opts)

    return choose(control, candidate, options)


def encode_source(
    source: Source,
    options: JpegOptions,
    *,
    model: SaliencyModel | None,
    method: Method | None,
    given: Saliency | None,
    target_bytes: int | None,
    preserve: str | float | None,
    watch: Stopwatch,
    min_quality: int | None = None,
    if_unmet: str = "best",
    search: str = "predict",
    preserve_view: str = "reduced",
) -> EncodeResult:
    """Saliency (computed once, or given), then the method and rate control (Control's)."""
    active, tag = method is not None and method.strength > 0, source_tag(source)
    if given is not None:
        given.check_fits(source.image.size)
    _check_stream(options, target_bytes is not None or preserve is not None)
    if options.preset == "machine":
        # The floor guards the predicted or typical KL, least reliable far from q100.
        floor = min_quality or (MACHINE_FLOOR if preserve is not None or options.allocate else 1)
        control = Control(target_bytes, None, floor, if_unmet)
        return _machine(source, options, control, preserve, watch)
    # The plain path converts nothing: Pillow gets the source pixels as they are.
    view = model_view(source.image) if active or preserve is not None else source.image
    sal, runs, check = given, 0, None
    with watch("saliency"):
        if active and sal is None:
            sal, runs = compute(need_model(model), view, tag), 1
        if preserve is not None:
            logits = sal.logits if sal is not None else None
            classifier = _classifier(need_model(model))
            check = preserve_check(classifier, view, tag, preserve, logits, preserve_view)
    quality, data = run(
        source,
        view,
        options,
        method=method,
        saliency=sal,
        control=Control(target_bytes, check, min_quality or 1, if_unmet, search),
        watch=watch,
    )
    if check is not None:
        watch.seconds["check"] = check.seconds
    return EncodeResult(
        data,
        quality,
        method.strength if method is not None else None,
        sal if active else None,
        check.top1 if check is not None else None,
        check.kl.get(data) if check is not None else None,
        watch.counts.get("encode", 0),
        runs + (check.runs if check is not None else 0),
        watch.timings(),
        check.passed.get(data) if check is not None else None,
        check_scale=check.scale if check is not None else None,
    )


def _check_stream(options: JpegOptions, searches: bool) -> None:
    if options.streamtype and searches:
        raise ValueError(
            f"streamtype={options.streamtype} writes a partial stream that rate control "
            "cannot decode; drop target_bytes/preserve or use streamtype=0"
        )


def _machine(
    source: Source,
    options: JpegOptions,
    control: Control,
    preserve: str | float | None,
    watch: Stopwatch,
) -> EncodeResult:
    """The machine preset: no model; ``preserve`` is a predicted-KL budget (or None)."""
    predicted, met = None, None
    if preserve is not None:
        side = options.classifier_side
        predicted = PredictedBudget(source.image, float(preserve), control.min_quality, side)
        with watch("check"):  # the prediction is the preset's check: no decode, no network
            options = options.with_quality(predicted.quality())
        met = predicted.predicted[options.quality] <= float(preserve)
        if not met and control.if_unmet == "error":
            raise ValueError(
                f"preserve={preserve!r} cannot be met: at quality 100 the predicted KL is "
                f"{predicted.predicted[100]:.4g} nats (pass if_unmet='best' to keep quality 100)"
            )
    pixels = source.image
    if options.sharp_chroma:
        from .codec.chroma import fitted  # cv2: not at import

        with watch("method"):  # once, before the candidates: each encode gets YCbCr
            pixels = fitted(pixels, options.subsampling, keep_rgb=options.keep_rgb)
    quality, data = _choose(pixels, None, options, control, watch)
    data = compacted(data, options)  # the same pixels, fewer header and Huffman bytes
    kl, encodes = predicted.predicted[quality] if predicted else None, watch.counts.get("encode", 0)
    return EncodeResult(data, quality, None, None, None, kl, encodes, 0, watch.timings(), met)


def source_tag(source: Source) -> int:
    """The EXIF orientation of a loaded source (1: upright)."""
    return orientation(source.info.get("exif"))


def need_model(model: SaliencyModel | None) -> SaliencyModel:
    """``model``, or the error that says an operation needs one."""
    if model is None:
        raise ValueError("this needs a saliency model; pass model=...")
    return model


def _classifier(model: SaliencyModel) -> Classifier:
    if not isinstance(model, Classifier) or not getattr(model, "has_classifier", True):
        raise ValueError(
            f"preserve needs a model with a classifier (cam, msroi, nice, or an ONNX model "
            f"with a logits output); {model.name!r} has none"
        )
    return model
