"""The encoding pipeline for one image: saliency -> method -> codec, with rate control.

:class:`jpegsal.Encoder` validates options and loads things once. This module
runs the stages for one loaded image, times them, and returns an
:class:`EncodeResult`.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from .codec import encode_jpeg
from .inputs import Source
from .methods import Method, with_strength
from .options import JpegOptions
from .ratecontrol import fit_quality, smallest_passing
from .zoo import SaliencyModel, compute_saliency, model_view, predict_upright

__all__ = ["EncodeResult", "run"]


@dataclass(frozen=True, repr=False)
class EncodeResult:
    """What one encode produced, and how.

    Attributes
    ----------
    data : bytes
        The JPEG file.
    quality : int
        The quality used (-1: explicit tables or a preset).
    strength : float or None
        The method strength used (None without a method).
    saliency : (H, W) float32 ndarray or None
        The map that guided the method (None when no model ran).
    top1 : int or None
        The classifier's decision on the original (with ``preserve="top1"``,
        the decoded output keeps it). Set only with ``preserve``.
    kl : float or None
        With ``preserve``: the KL divergence, in nats, from the classifier's
        probabilities on the original to those on the decoded output.
    encodes : int
        JPEG encodes performed (rate control may try several).
    timings : dict
        Seconds per stage: ``load``, ``saliency``, ``method``, ``encode``, ``total``.
    """

    data: bytes = field(repr=False)
    quality: int
    strength: float | None
    saliency: np.ndarray | None = field(repr=False)
    top1: int | None
    kl: float | None
    encodes: int
    timings: dict[str, float]

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        t = ", ".join(f"{k}={v * 1000:.1f}ms" for k, v in self.timings.items())
        return (
            f"EncodeResult({len(self.data)} bytes, quality={self.quality}, "
            f"strength={self.strength}, top1={self.top1}, kl={self.kl}, "
            f"encodes={self.encodes}, {t})"
        )


def run(
    source: Source,
    options: JpegOptions,
    *,
    get_model: Callable[[], SaliencyModel | None],
    method: Method | None,
    target_bytes: int | None = None,
    preserve: str | float | None = None,
    started: float,
    loaded: float,
) -> EncodeResult:
    """Encode one loaded image (``started``/``loaded``: perf_counter stamps for timings)."""
    timings = {"load": loaded - started}
    view = model_view(source.image)
    exif = source.info.get("exif")
    active = method is not None and method.strength > 0
    sal: np.ndarray | None = None
    reference: np.ndarray | None = None  # the classifier's probabilities on the original
    t = time.perf_counter()
    if active or preserve is not None:
        model = get_model()
        if model is None:
            raise ValueError("this needs a saliency model; pass model=...")
        if preserve is not None:
            sal, logits = predict_upright(_classifier(model), view, exif)
            if logits is None:
                raise ValueError(f"preserve: model {model.name!r} has no logits output")
            reference = _softmax(logits)
            sal = sal if active else None
        else:
            sal = compute_saliency(model, view, exif)
    timings["saliency"] = time.perf_counter() - t

    def prepare(strength: float | None) -> Image.Image:
        if method is None or not strength or sal is None:
            return source.image  # exactly the plain JPEG path
        m = with_strength(method, strength)
        out = m.apply(view, sal, options)
        if out.size != view.size:
            raise ValueError(f"method {m.name!r} changed the image size")
        out.info = dict(source.image.info)
        return out

    t = time.perf_counter()
    strength = method.strength if method is not None else None
    pixels = prepare(strength)
    timings["method"] = time.perf_counter() - t

    t = time.perf_counter()
    count = 0

    def encode_at(image: Image.Image) -> Callable[[int], bytes]:
        def enc(q: int) -> bytes:
            nonlocal count
            count += 1
            return encode_jpeg(image, options.replace(quality=q))

        return enc

    quality = options.quality
    top1: int | None = None
    kl: float | None = None
    if preserve is not None:
        _no_tables(options, "preserve")
        assert reference is not None
        model = get_model()
        assert model is not None
        top1 = int(np.argmax(reference))
        seen: dict[bytes, float] = {}

        def passes(data: bytes) -> bool:
            _, logits = predict_upright(model, _decode(data, view.mode), exif)
            assert logits is not None
            probs = _softmax(logits)
            seen[data] = _kl(reference, probs)
            if preserve == "top1":
                return int(np.argmax(probs)) == top1
            return seen[data] <= float(preserve)

        try:
            quality, data = smallest_passing(encode_at(pixels), passes)
        except ValueError:
            raise ValueError(
                f"preserve={preserve!r} cannot be met: at quality 100 the classifier's "
                f"KL divergence is {min(seen.values()):.4g} nats"
                + (" (the method's edits count too; lower its strength)" if sal is not None else "")
            ) from None
        kl = seen[data]
    elif target_bytes is not None:
        _no_tables(options, "target_bytes")
        try:
            quality, data = fit_quality(encode_at(pixels), target_bytes)
        except ValueError:
            if method is None or strength == 1.0 or sal is None:
                raise
            # Strength helps where quality alone cannot reach the budget.
            strength = 1.0
            quality, data = fit_quality(encode_at(prepare(1.0)), target_bytes)
    else:
        data = encode_jpeg(pixels, options)
        count = 1
    timings["encode"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - started
    return EncodeResult(data, quality, strength, sal, top1, kl, count, timings)


def _no_tables(options: JpegOptions, what: str) -> None:
    if options.quality == -1 or options.qtables is not None:
        raise ValueError(f"{what} chooses the quality; do not pass qtables or a preset")


def _decode(data: bytes, mode: str) -> Image.Image:
    with Image.open(io.BytesIO(data)) as im:
        out: Image.Image = im.convert(mode)
        return out


def _classifier(model: SaliencyModel) -> SaliencyModel:
    if getattr(model, "predict", None) is None:
        raise ValueError(
            f"preserve needs a model with a classifier (cam, msroi, or an ONNX model "
            f"with a logits output); {getattr(model, 'name', model)!r} has none"
        )
    return model


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, np.float64).ravel()
    e = np.exp(z - z.max())
    out: np.ndarray = e / e.sum()
    return out


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p || q) in nats; the floor keeps it finite where q underflows."""
    tiny = 1e-12
    return float(np.sum(p * (np.log(p + tiny) - np.log(q + tiny))))
