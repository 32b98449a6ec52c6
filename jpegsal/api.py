"""Public API: ``encode``, ``save`` and the reusable ``Encoder``.

The data flows one way: load (:mod:`.inputs`) -> saliency, computed once as a
:class:`~jpegsal.Saliency` value (:mod:`.maps`) -> pre-encode method (:mod:`.methods`)
-> encoder backend (:mod:`.codec`), with rate control choosing among checked candidates
(:mod:`.ratecontrol`). With ``method=None`` and no ``preserve`` no model runs, no pixel is
converted, and the output is byte-identical to Pillow's ``Image.save(fp, "JPEG", ...)``.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Sequence
from typing import Any, BinaryIO

from . import pipeline
from ._check import check_device, check_optional_int
from .call_options import carry_metadata, check_call, needs_model, preset_fields
from .call_options import split as _split
from .codec.files import check_not_input, write_to
from .codec.machine import apply_preset
from .codec.options import is_keep, normalize_options
from .codec.tables import check_jpeg_size
from .inputs import PILLOW_DEFAULT, ImageInput, Source, load_image
from .maps.compute import compute, model_view
from .maps.contract import Saliency, SaliencyModel
from .maps.registry import ModelSpec, check_model_spec, get_model
from .methods import Method, MethodSpec, get_method, with_strength
from .pipeline import EncodeResult, Stopwatch
from .reencode import dct_route

__all__ = ["Encoder", "encode", "save"]


class Encoder:
    """A reusable encoder: model and method are set up once, then applied to many images.

    Parameters
    ----------
    model : str, SaliencyModel or None
        Saliency model name (see :func:`jpegsal.available_models`) or instance.
        ``None``: no saliency.
    method : str, Method or None
        Pre-encode method name (see ``jpegsal.methods.available_methods()``) or a
        configured instance. ``None``: plain JPEG, identical to Pillow.
    device : {"auto", "cpu", "cuda"}
        Where the saliency model runs (see :func:`saliency`).
    providers : list of str, optional
        Explicit onnxruntime execution providers (overrides ``device``).
    threads : int, optional
        CPU threads for the model; default ``OMP_NUM_THREADS`` or onnxruntime's choice.
    background : int or (r, g, b), optional
        Composite alpha onto this colour; without it, alpha inputs raise ``OSError``.
    keep_metadata : bool or "orientation"
        Carry EXIF (orientation included), ICC profile and XMP over from the input
        when the caller did not pass them. Default ``False``, as Pillow.
        ``"orientation"``: only the EXIF orientation tag (what ``--strip-metadata`` keeps).
    max_pixels : int or None
        Decompression-bomb limit for encoded inputs; default: Pillow's.
    corrupt : {"warn", "error", "ignore"}
        A damaged JPEG input (Pillow decodes it silently): warn (default), raise, ignore.
    target_bytes : int, optional
        The highest quality whose output fits in this many bytes (else ``ValueError``).
    strength : float in [0, 1], optional
        Override the method's strength for this call.
    preserve : None, "top1" or float
        The lowest quality at which the model's own classifier still sees the decoded
        image as it saw the original: ``"top1"`` keeps its top-1 decision; ``t > 0`` keeps
        the KL divergence of its probabilities at most ``t`` nats (0.1 is a good start).
        This holds for the explained classifier (EfficientNet-Lite0 for ``cam``/``msroi``)
        only; others may disagree, less often with a small ``t`` (``docs/methods.md``).
        Under ``preset="machine"``, ``t`` bounds a *predicted* KL (no network runs).
    min_quality : int in 1..100, optional
        The lowest quality ``preserve``, ``target_bytes`` or ``allocate`` may choose
        (default 1; 20 under ``preset="machine"``).
    if_unmet : {"best", "error"}
        ``preserve`` missed even at quality 100: write quality 100 and report
        ``met=False`` (``"best"``, the default) or raise ``ValueError``.
    preserve_search : {"predict", "bisect"}
        A KL budget's search: ``"predict"`` (default), about 2 checked candidates from the
        typical KL curve; ``"bisect"``, 8, the exact lowest passing quality.
    preserve_view : {"reduced", "full"}
        ``"reduced"`` (default): KL budgets >= 0.1 on images >= 1,344 pixels a side check
        candidates on libjpeg's 1/2 or 1/4 decode, against the original reduced alike (2.3x
        faster at 12 MP; docs/jpeg-inputs.md). ``"full"``: every candidate in full.
    preset : None or "machine"
        ``"machine"``: JPEG for classifiers you have never seen, no model: tables from two
        ImageNet classifiers' per-frequency sensitivity, at equal slope as they measure it
        (per image size), optimised Huffman tables, ``allocate``, ``sharp_chroma``. A JPEG
        *file* is requantised in the DCT domain (chroma made 4:2:0 there) unless options need
        pixels (``.path``; ``coefficients=False``). Not with method, qtables, string qualities.
    classifier_side : int in 16..4096, optional
        With ``preset="machine"``: the input side of the classifier reading the files (224).
    allocate : bool
        With ``preset="machine"`` (default True, unless a budget chooses): each image's
        quality near ``quality`` at equal slope of bytes and a typical KL, lower for larger
        or busier images (``.quality``; :mod:`jpegsal.rateslope`). False: ``quality`` each.
    sharp_chroma : bool
        With ``preset="machine"`` (default True): chroma fitted to the decoder's upsampler
        (:mod:`jpegsal.codec.chroma`) instead of libjpeg's box mean.
    **defaults
        Pillow JPEG options (``quality``, ``subsampling``, ``progressive``, ...).

    Examples
    --------
    >>> import numpy as np
    >>> enc = Encoder(quality=80)
    >>> data = enc.encode(np.zeros((16, 16, 3), np.uint8))
    >>> data[:2] == b"\\xff\\xd8"
    True
    """

    def __init__(
        self,
        model: ModelSpec = None,
        method: MethodSpec = None,
        *,
        device: str = "auto",
        providers: Sequence[str] | None = None,
        threads: int | None = None,
        **defaults: Any,
    ) -> None:
        self.device = check_device(device)
        self.method: Method | None = get_method(method)
        if self.method is not None and model is None:
            raise ValueError(f"method {self.method.name!r} needs a saliency model; pass model=...")
        check_model_spec(model)  # a bad name fails now, even if the model is never run
        self._model_spec = model
        self._providers, self._threads = providers, check_optional_int("threads", threads, 1)
        self._model: SaliencyModel | None = None
        self._lock = threading.Lock()
        jpeg, call = _split(defaults)
        # Fail now, not on the first image ("keep" needs the image, so it waits).
        jpeg = apply_preset(call.get("preset"), jpeg)
        normalize_options({k: v for k, v in jpeg.items() if not is_keep(v)})
        self._check_call(call)
        self.defaults = defaults
        if needs_model(call, self.method):
            self.model  # noqa: B018 - load now: the first image should not pay for it

    @property
    def model(self) -> SaliencyModel | None:
        """The saliency model, loaded on first use (thread-safe)."""
        if self._model is None and self._model_spec is not None:
            with self._lock:
                if self._model is None:
                    self._model = get_model(
                        self._model_spec,
                        self.device,
                        providers=self._providers,
                        threads=self._threads,
                    )
        return self._model

    def __getstate__(self) -> dict[str, Any]:
        # Picklable (multiprocessing, distributed workers): session and lock stay behind.
        return {**self.__dict__, "_model": None, "_lock": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _lock=threading.Lock())

    def __repr__(self) -> str:
        model = getattr(self._model_spec, "name", self._model_spec)
        return f"Encoder(model={model!r}, method={self.method!r}, defaults={self.defaults!r})"

    def _check_call(self, call: dict[str, Any]) -> None:
        check_call(call, self.method, has_model=self._model_spec is not None)

    def _load(self, image: ImageInput, call: dict[str, Any]) -> Source:
        return load_image(
            image,
            background=call.get("background"),
            max_pixels=call.get("max_pixels", PILLOW_DEFAULT),
            corrupt=call.get("corrupt", "warn"),
        )

    def saliency(self, image: ImageInput, **load_options: Any) -> Saliency:
        """The :class:`Saliency` of ``image`` under this encoder's model: one network run.

        ``load_options``: ``background``, ``max_pixels``, ``corrupt``, as for :meth:`encode`.
        Pass the result to :meth:`encode` (``saliency=``) to encode the image again (other
        qualities, strengths, budgets) without running the model again.
        """
        _, call = _split(load_options)
        # A full decode, as encode's own: a saliency passed to encode gives the same bytes.
        source = self._load(image, call)
        model = pipeline.need_model(self.model)
        return compute(model, model_view(source.image), pipeline.source_tag(source))

    def encode(
        self, image: ImageInput, *, saliency: Saliency | None = None, **overrides: Any
    ) -> bytes:
        """Encode ``image`` to JPEG bytes; ``overrides`` replace the defaults for this call."""
        return self.encode_with_info(image, saliency=saliency, **overrides).data

    def encode_with_info(
        self, image: ImageInput, *, saliency: Saliency | None = None, **overrides: Any
    ) -> EncodeResult:
        """Encode ``image`` and return an :class:`EncodeResult` (bytes, choices, map, timings).

        ``saliency``: a value from :meth:`saliency` for this image (the same bytes).
        """
        watch = Stopwatch()
        jpeg, call = _split({**self.defaults, **overrides})
        self._check_call(call)
        routed = None  # a JPEG file under the preset: its DCT levels requantised, if it can
        if call.get("preset") == "machine" and saliency is None and self.method is None:
            routed = dct_route(image, apply_preset("machine", jpeg), call)
            if isinstance(routed, EncodeResult):
                return routed
        with watch("load"):
            source = self._load(image, call)
        check_jpeg_size(*source.image.size)  # fail before any network runs
        carry_metadata(jpeg, source, call.get("keep_metadata"), recoloured=bool(self.method))
        options = normalize_options(apply_preset(call.get("preset"), jpeg), source.image)
        options = dataclasses.replace(options, **preset_fields(call))
        method = self.method
        if method is not None and call.get("strength") is not None:
            method = with_strength(method, float(call["strength"]))
        model = self.model if needs_model(call, method) else None
        result = pipeline.encode_source(
            source,
            options,
            model=model,
            method=method,
            given=saliency,
            target_bytes=call.get("target_bytes"),
            preserve=call.get("preserve"),
            min_quality=call.get("min_quality"),
            if_unmet=call.get("if_unmet") or "best",
            search=call.get("preserve_search") or "predict",
            preserve_view=call.get("preserve_view") or "reduced",
            watch=watch,
        )
        return dataclasses.replace(result, path_reason=routed) if routed else result

    def save(
        self,
        image: ImageInput,
        fp: str | os.PathLike[str] | BinaryIO,
        *,
        saliency: Saliency | None = None,
        replace_input: bool = False,
        **overrides: Any,
    ) -> None:
        """Encode ``image`` and write it to a path (atomically) or a binary file object.

        A path that is the input file itself is refused (``ValueError``) unless
        ``replace_input=True``: re-encoding a ``.jpg`` onto its own name loses the original.
        """
        check_not_input(image, fp, replace_input)
        write_to(self.encode(image, saliency=saliency, **overrides), fp)


def encode(
    image: ImageInput,
    *,
    model: ModelSpec = None,
    method: MethodSpec = None,
    quality: int | str | None = None,
    device: str = "auto",
    **options: Any,
) -> bytes:
    """Encode ``image`` as JPEG and return the bytes.

    A drop-in for ``im.save(buf, "JPEG", quality=..., **options)``: with ``method=None``
    the bytes are Pillow's (``quality=None``: 75, or ``qtables`` as given). ``options``:
    Pillow's JPEG options and jpegsal's own (``target_bytes``, ``preserve``, ...; see
    :class:`Encoder`).

    Raises ``TypeError`` for an unknown keyword (Pillow ignores it) or input type,
    ``ValueError`` for a value out of range or an input that cannot be interpreted,
    ``OSError`` for an unreadable file or an alpha/unsupported mode without ``background``.
    """
    if quality is not None:
        options["quality"] = quality
    return Encoder(model, method, device=device).encode(image, **options)


def save(
    image: ImageInput,
    fp: str | os.PathLike[str] | BinaryIO,
    *,
    model: ModelSpec = None,
    method: MethodSpec = None,
    quality: int | str | None = None,
    device: str = "auto",
    **options: Any,
) -> None:
    """Encode ``image`` and write it to ``fp``: the drop-in for ``im.save(fp, "JPEG", ...)``.

    A path is written atomically (temporary file, then rename); the input file itself is
    refused unless ``replace_input=True`` (see :meth:`Encoder.save`). Parameters and
    errors as :func:`encode`.
    """
    check_not_input(image, fp, bool(options.pop("replace_input", False)))
    data = encode(image, model=model, method=method, quality=quality, device=device, **options)
    write_to(data, fp)
