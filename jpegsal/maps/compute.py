"""Running a model on an image: the one path from pixels to a :class:`Saliency` value.

The model is given the EXIF-upright view (:mod:`.orientation`); its map is checked
against the output contract and turned back to stored order. A model that classifies
as well gives its logits from the same run, so one network run serves the method and
the rate control's reference.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from .contract import Classifier, Predictor, Saliency, SaliencyModel, check_map
from .lazy import LAZY_ABOVE, CoarseMap
from .orientation import to_stored_order, upright

__all__ = [
    "classify",
    "compute",
    "draft_side",
    "fit_to",
    "map_and_logits",
    "maps_of",
    "model_view",
]


def model_view(image: Image.Image) -> Image.Image:
    """The image as models and methods see it: L and RGB as they are, "1" as L, others RGB."""
    if image.mode in ("L", "RGB"):
        return image
    return image.convert("L" if image.mode == "1" else "RGB")


def compute(model: SaliencyModel, view: Image.Image, tag: int = 1) -> Saliency:
    """The saliency of ``view`` (a :func:`model_view`) stored under EXIF orientation ``tag``.

    A model that gives its coarse map (``predict_coarse``, the shipped ones) keeps it
    coarse for images of at least :data:`~jpegsal.maps.lazy.LAZY_ABOVE` pixels: the map is
    enlarged only where a stage reads it (:mod:`.lazy`)."""
    coarse = getattr(model, "predict_coarse", None)
    if coarse is not None and view.width * view.height >= LAZY_ABOVE:
        grid, logits = coarse(upright(view, tag))
        grid = np.asarray(grid, np.float32)
        if grid.ndim != 2 or not np.isfinite(grid).all():
            raise ValueError(f"{model.name}: the coarse map must be a finite (h, w) array")
        lazy = CoarseMap(to_stored_order(grid, tag), view.size)
        return Saliency.from_coarse(lazy, model.name, tag, logits)
    sal, logits = map_and_logits(model, view, tag)
    return Saliency(sal, model.name, tag, logits)


def draft_side(model: SaliencyModel) -> int | None:
    """The shortest side a reduced JPEG decode may have for ``model``: three times its
    network input (1/4 scale at 12 MP; measured in docs/jpeg-inputs.md), or ``None`` (a full
    decode) for models whose preprocessing jpegsal does not know."""
    config = getattr(model, "config", None)
    side = getattr(config, "input_size", None)
    return 3 * int(side) if isinstance(side, int) else None


def fit_to(sal: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """A map of a reduced decode stretched (bilinear) to the stored ``size`` (W, H)."""
    if size is None or (sal.shape[1], sal.shape[0]) == size:
        return sal
    big = Image.fromarray(np.ascontiguousarray(sal, np.float32), "F").resize(
        size, Image.Resampling.BILINEAR
    )
    out: np.ndarray = np.clip(np.asarray(big, np.float32), 0.0, 1.0)
    return out


def map_and_logits(
    model: SaliencyModel, view: Image.Image, tag: int = 1
) -> tuple[np.ndarray, np.ndarray | None]:
    """(map in stored order, logits or None) from one run of ``model`` on the upright view."""
    shown = upright(view, tag)
    logits: np.ndarray | None = None
    if isinstance(model, Predictor):
        sal, logits = model.predict(shown)
    else:
        sal = model(shown)
    sal = check_map(sal, shown.size, turned=shown is not view)
    return to_stored_order(sal, tag), logits


def maps_of(model: SaliencyModel, views: Sequence[Image.Image]) -> list[np.ndarray]:
    """Maps of several upright views; ONNX models batch those of equal network size."""
    batch = getattr(model, "batch", None)  # an optional speed-up, not part of the contract
    if batch is None:
        return [map_and_logits(model, v)[0] for v in views]
    return [check_map(m, v.size) for m, v in zip(batch(list(views)), views, strict=True)]


def classify(model: Classifier, view: Image.Image, tag: int = 1) -> np.ndarray:
    """The classifier's logits on the upright view of ``view``: one run, no map made."""
    return np.asarray(model.classify(upright(view, tag)), np.float64).ravel()
