"""The saliency stage's contract: what a model is, what it returns, and the value passed on.

A saliency model maps a PIL image to a float32 ``(H, W)`` array in [0, 1], aligned to
the whole image at full resolution (the *output contract*, enforced by
:func:`check_map`). A model that also classifies (the shipped ONNX models) is a
:class:`Classifier` too: ``classify`` returns the logits alone, with no map made, which
is all that rate control needs per candidate. The map of one image, computed once, is
a :class:`Saliency` value that every later stage reads and none recomputes.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
from PIL import Image

from .lazy import CoarseMap

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


class Saliency:
    """The saliency of one image: computed once, then read by every stage.

    Attributes
    ----------
    map : (H, W) float32 ndarray, read-only
        In [0, 1], in the image's *stored* pixel order (what the encoder writes). A map
        kept coarse (:meth:`from_coarse`: large images) is enlarged on first access.
    model : str
        The name of the model that made it.
    orientation : int
        The EXIF orientation (1..8) of the view the model was given: the map was
        computed on the image as a viewer shows it, then turned back to stored order.
    logits : 1-D float ndarray or None, read-only
        The model's classifier logits on the original, when the model classifies.

    The value is immutable; equality is identity.

    Examples
    --------
    >>> import numpy as np
    >>> s = Saliency(np.zeros((2, 3), np.float32), "toy")
    >>> s.size, s.logits is None
    ((3, 2), True)
    """

    __slots__ = ("_coarse", "_map", "logits", "model", "orientation")
    _map: np.ndarray | None
    _coarse: CoarseMap | None
    model: str
    orientation: int
    logits: np.ndarray | None

    def __init__(
        self,
        map: np.ndarray,
        model: str,
        orientation: int = 1,
        logits: np.ndarray | None = None,
    ) -> None:
        # A read-only view, not a copy: maps of large images are large. The caller keeps
        # the array it passed in and should not change it afterwards.
        sal = np.asarray(map, dtype=np.float32).view()
        if sal.ndim != 2 or 0 in sal.shape:
            raise ValueError(f"a saliency map is a non-empty (H, W) array, got {sal.shape}")
        sal.setflags(write=False)
        self._init(sal, None, model, orientation, logits)

    @classmethod
    def from_coarse(
        cls, coarse: CoarseMap, model: str, orientation: int = 1, logits: np.ndarray | None = None
    ) -> Saliency:
        """A saliency whose map stays at the network's resolution until read in full."""
        out = cls.__new__(cls)
        out._init(None, coarse, model, orientation, logits)
        return out

    def _init(
        self,
        sal: np.ndarray | None,
        coarse: CoarseMap | None,
        model: str,
        orientation: int,
        logits: np.ndarray | None,
    ) -> None:
        if logits is not None:
            logits = np.array(logits, dtype=np.float64).ravel()  # small: a copy
            logits.setflags(write=False)
        for name, value in (("_map", sal), ("_coarse", coarse), ("model", model)):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "orientation", orientation)
        object.__setattr__(self, "logits", logits)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Saliency is immutable; cannot set {name!r}")

    def __reduce__(self) -> tuple[object, ...]:  # pickling goes through _init, not setattr
        state = (self._map, self._coarse, self.model, self.orientation, self.logits)
        return (_rebuild, state)

    @property
    def map(self) -> np.ndarray:
        """(H, W) float32 in [0, 1], read-only (enlarged now if it was kept coarse)."""
        if self._map is None:
            assert self._coarse is not None
            full = self._coarse.full()
            full.setflags(write=False)
            object.__setattr__(self, "_map", full)
        assert self._map is not None
        return self._map

    @property
    def coarse(self) -> CoarseMap | None:
        """The coarse map this saliency stands for (None: it holds the full map)."""
        return self._coarse

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), as PIL gives an image's size."""
        if self._map is None:
            assert self._coarse is not None
            return self._coarse.size
        return (self._map.shape[1], self._map.shape[0])

    def block_means(self, bh: int, bw: int) -> np.ndarray:
        """Mean of the map over each bh x bw block (edge blocks padded by replication),
        without enlarging a coarse map in full."""
        from ..methods._grid import block_means

        if self._map is None and self._coarse is not None:
            return self._coarse.block_means(bh, bw)
        return block_means(self.map, bh, bw)

    def rows(self, y0: int, y1: int) -> np.ndarray:
        """Rows ``y0..y1`` of the map: (y1 - y0, W) float32."""
        if self._map is None and self._coarse is not None:
            return self._coarse.rows(y0, y1)
        return self.map[y0:y1]

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
        grid = self._coarse.coarse if self._map is None and self._coarse is not None else self.map
        lo, hi = float(grid.min()), float(grid.max())
        tail = "" if self.logits is None else f", logits[{self.logits.size}]"
        return f"Saliency({self.model!r}, {w}x{h}, [{lo:.3f}, {hi:.3f}]{tail})"


def _rebuild(
    sal: np.ndarray | None,
    coarse: CoarseMap | None,
    model: str,
    orientation: int,
    logits: np.ndarray | None,
) -> Saliency:
    out = Saliency.__new__(Saliency)
    out._init(sal, coarse, model, orientation, logits)
    return out


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
