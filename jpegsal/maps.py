"""``jpegsal.saliency()``: saliency maps for any image input, one or many."""

from __future__ import annotations

from collections.abc import Sequence
from typing import overload

import numpy as np

from .inputs import ImageInput, Source, load_image
from .session import DEVICES
from .zoo import (
    ModelSpec,
    SaliencyModel,
    check_saliency,
    compute_saliency,
    get_model,
    model_view,
    orientation,
)

__all__ = ["saliency"]


@overload
def saliency(
    image: ImageInput,
    model: ModelSpec = ...,
    *,
    device: str = ...,
    providers: Sequence[str] | None = ...,
    threads: int | None = ...,
) -> np.ndarray: ...


@overload
def saliency(
    image: list[ImageInput],
    model: ModelSpec = ...,
    *,
    device: str = ...,
    providers: Sequence[str] | None = ...,
    threads: int | None = ...,
) -> list[np.ndarray]: ...


def saliency(
    image: ImageInput | list[ImageInput],
    model: ModelSpec = "cam",
    *,
    device: str = "auto",
    providers: Sequence[str] | None = None,
    threads: int | None = None,
) -> np.ndarray | list[np.ndarray]:
    """Saliency map of ``image``: float32 ``(H, W)`` in [0, 1], aligned to the whole image.

    Parameters
    ----------
    image : image input or list of image inputs
        Anything :func:`encode` accepts. A list returns a list, and ONNX models
        run images of the same network size as one batch.
    model : str, path or SaliencyModel
        ``"cam"`` (default), ``"msroi"``, a registered name, or an ``.onnx`` path.
    device : {"auto", "cpu", "cuda"}
        ``"auto"`` uses CUDA when onnxruntime-gpu can and warns once if it falls
        back to the CPU; ``"cuda"`` raises instead of running on the CPU.
    providers : list of str, optional
        Explicit onnxruntime execution providers (overrides ``device``).
    threads : int, optional
        CPU threads; default ``OMP_NUM_THREADS`` or onnxruntime's choice.

    Notes
    -----
    The map is computed on the upright view when EXIF orientation says the
    image is stored rotated or mirrored, then mapped back to stored pixel order.

    Examples
    --------
    >>> import numpy as np, jpegsal
    >>> sal = jpegsal.saliency(np.zeros((48, 64, 3), np.uint8))
    >>> sal.shape, sal.dtype
    ((48, 64), dtype('float32'))
    """
    if device not in DEVICES:
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    if model is None:
        raise ValueError("saliency() needs a model, e.g. model='cam'")
    net = get_model(model, device, providers=providers, threads=threads)
    assert net is not None
    if not isinstance(image, list):
        return _one_map(net, load_image(image))
    sources = [load_image(im) for im in image]
    batch = getattr(net, "batch", None)
    if batch is None or any(orientation(s.info.get("exif")) != 1 for s in sources):
        return [_one_map(net, s) for s in sources]  # rotated images go one by one
    views = [model_view(s.image) for s in sources]
    return [check_saliency(m, im.size) for m, im in zip(batch(views), views, strict=True)]


def _one_map(net: SaliencyModel, source: Source) -> np.ndarray:
    return compute_saliency(net, model_view(source.image), source.info.get("exif"))
