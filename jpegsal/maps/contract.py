"""The saliency stage's contract: what a model is, what it returns, and the value passed on.

A saliency model maps a PIL image to a float32 ``(H, W)`` array in [0, 1], aligned to
the whole image at full resolution (the *output contract*, enforced by
:func:`check_map`). A model that also classifies (the shipped ONNX models) is a
:class:`Classifier` too: ``classify`` returns the logits alone, with no map made, which
is all that rate control needs per candidate. The map of one image, computed once, is
a :class:`Saliency` value that every later stage reads and none recomputes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
from PIL import Image

__all__ = [
    "Classifier",
    "Predictor",
    "Saliency",
    "SaliencyModel",
    "check_map",
    "kl_divergence",
    "softmax",
]


@runtime_checkable
class SaliencyModel(Protocol):
    """Anything that turns an image into a saliency map."""

    name: str

    def __call__(self, image: Image.Image) -> np.ndarray:
        """Return a float32 ``(H, W)`` map in [0, 1] for ``image`` (``H, W`` = its size)."""
        ...


@runtime_checkable
class Classifier(Protocol):
    """A model with an image classifier: the logits of one image, no map."""

    name: str

    def classify(self, image: Image.Image) -> np.ndarray:
        """1-D logits of the classifier on ``image``."""
        ...


@runtime_checkable
class Predictor(Protocol):
    """A saliency model and classifier in one network: both outputs from one run."""

    name: str

    def predict(self, image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
        """(the full-resolution map, the logits or None) of ``image``."""
        ...


@dataclass(frozen=True, eq=False, repr=False)
class Saliency:
    """The saliency of one image: computed once, then read by every stage.

    Attributes
    ----------
    map : (H, W) float32 ndarray, read-only
        In [0, 1], in the image's *stored* pixel order (what the encoder writes).
    model : str
        The name of the model that made it.
    orientation : int
        The EXIF orientation (1..8) of the view the model was given: the map was
        computed on the image as a viewer shows it, then turned back to stored order.
    logits : 1-D float ndarray or None, read-only
        The model's classifier logits on the original, when the model classifies.

    Examples
    --------
    >>> import numpy as np
    >>> s = Saliency(np.zeros((2, 3), np.float32), "toy")
    >>> s.size, s.logits is None
    ((3, 2), True)
    """

    map: np.ndarray
    model: str
    orientation: int = 1
    logits: np.ndarray | None = field(default=None)

    def __post_init__(self) -> None:
        # A read-only view, not a copy: maps of large images are large. The caller keeps
        # the array it passed in and should not change it afterwards.
        sal = np.asarray(self.map, dtype=np.float32).view()
        if sal.ndim != 2 or 0 in sal.shape:
            raise ValueError(f"a saliency map is a non-empty (H, W) array, got {sal.shape}")
        sal.setflags(write=False)
        object.__setattr__(self, "map", sal)
        if self.logits is not None:
            logits = np.array(self.logits, dtype=np.float64).ravel()  # small: a copy
            logits.setflags(write=False)
            object.__setattr__(self, "logits", logits)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), as PIL gives an image's size."""
        return (self.map.shape[1], self.map.shape[0])

    @property
    def probabilities(self) -> np.ndarray | None:
        """Softmax of :attr:`logits` (None without a classifier)."""
        return None if self.logits is None else softmax(self.logits)

    def check_fits(self, size: tuple[int, int]) -> None:
        """Raise ``ValueError`` unless the map fits an image of PIL ``size`` (W, H)."""
        if self.size != size:
            raise ValueError(
                f"saliency: the map is {self.size[0]}x{self.size[1]} but the image is "
                f"{size[0]}x{size[1]}; compute it with Encoder.saliency(image) on this image"
            )

    def __repr__(self) -> str:
        w, h = self.size
        lo, hi = float(self.map.min()), float(self.map.max())
        tail = "" if self.logits is None else f", logits[{self.logits.size}]"
        return f"Saliency({self.model!r}, {w}x{h}, [{lo:.3f}, {hi:.3f}]{tail})"


def check_map(saliency: np.ndarray, size: tuple[int, int], turned: bool = False) -> np.ndarray:
    """Enforce the output contract on a model's result; ``size`` is PIL's (W, H).

    ``turned`` says the model was given the EXIF-upright view, which the error then names:
    a map computed beforehand on the stored pixels does not fit that view.
    """
    expected = (size[1], size[0])
    if saliency.shape != expected:
        hint = (
            "; the model is given the image turned upright by its EXIF orientation, so it must"
            " return the map of the image it is called with"
            if turned
            else ""
        )
        raise ValueError(f"saliency map has shape {saliency.shape}, expected {expected}{hint}")
    sal = np.asarray(saliency, dtype=np.float32)
    # min/max propagate NaN and see inf, so one comparison checks finiteness too.
    lo, hi = float(sal.min()), float(sal.max())
    if not (lo >= 0.0 and hi <= 1.0):
        raise ValueError("saliency map must hold finite values in [0, 1]")
    return sal


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities from logits along the last axis, in float64.

    >>> softmax(np.array([0.0, 0.0])).tolist()
    [0.5, 0.5]
    """
    z = np.asarray(logits, np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    out: np.ndarray = e / e.sum(axis=-1, keepdims=True)
    return out


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p || q) in nats; the floor keeps it finite where q underflows.

    >>> kl_divergence(np.array([0.5, 0.5]), np.array([0.5, 0.5]))
    0.0
    """
    tiny = 1e-12
    return float(np.sum(p * (np.log(p + tiny) - np.log(q + tiny))))
