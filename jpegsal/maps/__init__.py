"""The saliency stage: every model, its sessions, the contract, orientation and heatmaps.

One folder holds what turns pixels into a map (as rembg keeps every model in
``sessions/``):

* :mod:`.contract`: the model protocols, the output contract, the :class:`Saliency` value;
* :mod:`.registry`: names -> models (the shipped zoo from ``models/manifest.json``);
* :mod:`.onnx` and :mod:`.session`: ONNX models and the one session layer;
* :mod:`.orientation`: EXIF orientation, settled once;
* :mod:`.compute`: the one path from an image to a :class:`Saliency`;
* :mod:`.heatmap`: pictures of maps for people.

``jpegsal.saliency()`` (here) gives plain arrays; :meth:`jpegsal.Encoder.saliency`
gives the :class:`Saliency` value that encodes accept.

Where to add a model: ship an ONNX file in ``models/`` with an entry in
``models/manifest.json`` (``python -m jpegsal.train.export`` writes both), or, for a
model of another kind, call :func:`register_model` with a factory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import overload

import numpy as np

from .._check import check_device
from ..inputs import Background, ImageInput, load_image
from .compute import draft_side, fit_to, map_and_logits, maps_of, model_view
from .contract import Classifier, Predictor, Saliency, SaliencyModel
from .orientation import orientation
from .registry import (
    ModelSpec,
    available_models,
    get_model,
    models,
    register_model,
)

__all__ = [
    "Classifier",
    "ModelSpec",
    "Predictor",
    "Saliency",
    "SaliencyModel",
    "available_models",
    "get_model",
    "models",
    "register_model",
    "saliency",
]


@overload
def saliency(
    image: ImageInput,
    model: ModelSpec = ...,
    *,
    device: str = ...,
    providers: Sequence[str] | None = ...,
    threads: int | None = ...,
    background: Background | None = ...,
) -> np.ndarray: ...


@overload
def saliency(
    image: list[ImageInput],
    model: ModelSpec = ...,
    *,
    device: str = ...,
    providers: Sequence[str] | None = ...,
    threads: int | None = ...,
    background: Background | None = ...,
) -> list[np.ndarray]: ...


def saliency(
    image: ImageInput | list[ImageInput],
    model: ModelSpec = "cam",
    *,
    device: str = "auto",
    providers: Sequence[str] | None = None,
    threads: int | None = None,
    background: Background | None = None,
) -> np.ndarray | list[np.ndarray]:
    """Saliency map of ``image``: float32 ``(H, W)`` in [0, 1], aligned to the whole image.

    Parameters
    ----------
    image : image input or list of image inputs
        Anything :func:`jpegsal.encode` accepts. A list returns a list, and ONNX models
        run images of the same network size as one batch.
    model : str, path or SaliencyModel
        ``"cam"`` (default), ``"msroi"``, ``"nice"``, a registered name, or an ``.onnx`` path.
    device : {"auto", "cpu", "cuda"}
        ``"auto"`` uses CUDA when onnxruntime-gpu can and warns once if it falls
        back to the CPU; ``"cuda"`` raises instead of running on the CPU.
    providers : list of str, optional
        Explicit onnxruntime execution providers (overrides ``device``).
    threads : int, optional
        CPU threads; default ``OMP_NUM_THREADS`` or onnxruntime's choice.
    background : int or (r, g, b), optional
        The colour alpha is flattened onto (images with alpha need it).

    Notes
    -----
    The map is computed on the upright view when EXIF orientation says the image is
    stored rotated or mirrored, then mapped back to stored pixel order. For the map
    together with the classifier's logits, as a value an encode accepts, use
    :meth:`jpegsal.Encoder.saliency`.

    Examples
    --------
    >>> import numpy as np, jpegsal
    >>> sal = jpegsal.saliency(np.zeros((48, 64, 3), np.uint8))
    >>> sal.shape, sal.dtype
    ((48, 64), dtype('float32'))
    """
    check_device(device)
    if model is None:
        raise ValueError("saliency() needs a model, e.g. model='cam'")
    net = get_model(model, device, providers=providers, threads=threads)
    assert net is not None
    many = isinstance(image, list)
    inputs: list[ImageInput] = image if isinstance(image, list) else [image]
    draft = draft_side(net)  # a JPEG file: libjpeg's reduced decode, enough for the network
    sources = [load_image(im, background=background, draft=draft) for im in inputs]
    tags = [orientation(s.info.get("exif")) for s in sources]
    views = [model_view(s.image) for s in sources]
    if many and all(t == 1 for t in tags):
        out = maps_of(net, views)
    else:  # rotated images go one by one
        out = [map_and_logits(net, v, t)[0] for v, t in zip(views, tags, strict=True)]
    out = [fit_to(m, s.stored_size) for m, s in zip(out, sources, strict=True)]
    return out if many else out[0]
