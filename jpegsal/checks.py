"""``preserve``'s check: does a classifier see a candidate as it saw the original?

:class:`PreserveCheck` decodes each candidate and runs the classifier once. Large images
are checked on libjpeg's reduced decode (:func:`check_scale`: DCT scaling to 1/2 or 1/4,
so a 12 MP candidate costs a fraction of a full decode), against the classifier's output
on the same reduction of the original (:func:`reduced_view`), for KL budgets of at least
:data:`REDUCED_MIN_BUDGET`; docs/jpeg-inputs.md has the measurements that chose the
scales and that floor.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from ._check import check_number
from .maps.compute import classify, draft_side
from .maps.contract import Classifier, kl_divergence, softmax

__all__ = [
    "REDUCED_MIN_BUDGET",
    "VIEWS",
    "PreserveCheck",
    "check_preserve",
    "check_scale",
    "preserve_check",
    "reduced_view",
]


def check_preserve(preserve: object) -> str | float:
    """Validate a ``preserve`` value: ``"top1"`` or a KL budget in nats (a positive number)."""
    if preserve == "top1":
        return "top1"
    try:
        return check_number("preserve", preserve, 0, lo_open=True)
    except (TypeError, ValueError) as e:
        kind = ValueError if isinstance(preserve, str) else type(e)  # a str, just not "top1"
        raise kind(
            f"preserve must be None, 'top1' or a KL budget in nats (a positive number such "
            f"as 0.1), got {preserve!r}"
        ) from None


VIEWS = ("reduced", "full")
# libjpeg's DCT scalings used for checks; 1/8 keeps only each block's DC and changed a
# decision in 2 of 24 photos (docs/jpeg-inputs.md), so it is never used.
_CHECK_SCALES = (4, 2)
# Below this KL budget (and for "top1") candidates are checked in full: there the reduced
# view's KL strays from the full view's by a factor of 0.4-1.6 (5-95 %), and a decision
# near a tie can flip (docs/jpeg-inputs.md, benchmarks/results/kodak/preserve_view*.json).
REDUCED_MIN_BUDGET = 0.1


def check_scale(size: tuple[int, int], classifier: object, view: str = "reduced") -> int:
    """The DCT scale (1, 2 or 4) at which ``preserve`` decodes the candidates of an image
    of ``size`` (W, H): the smallest decode whose shorter side is still three times the
    classifier's input (:func:`~jpegsal.maps.compute.draft_side`; measured in
    docs/jpeg-inputs.md), 1 for ``view="full"`` and classifiers of unknown input size.

    >>> class Net:
    ...     class config:
    ...         input_size = 224
    >>> check_scale((4000, 3000), Net()), check_scale((1000, 750), Net())
    (4, 1)
    """
    side = draft_side(classifier) if view == "reduced" else None  # type: ignore[arg-type]
    if side is None:
        return 1
    return next((s for s in _CHECK_SCALES if min(size) / s >= side), 1)


def reduced_view(image: Image.Image, scale: int) -> Image.Image:
    """The original as a candidate's reduced decode shows it: ``scale``-fold box means
    (what the DCT scaling approximates), the reference of the reduced checks."""
    return image if scale == 1 else image.reduce(scale)


@dataclass
class PreserveCheck:
    """``check(data) -> bool``: does the classifier see the decoded ``data`` as the original?

    ``reference`` is the classifier's logits on the original (on
    :func:`reduced_view` of it when ``scale`` > 1); ``budget`` is ``"top1"`` (same
    decision) or a KL budget in nats. Each call decodes (at 1/``scale`` of the size,
    libjpeg's DCT scaling), turns the candidate upright (``tag``) and runs the classifier
    once; the divergences are recorded.
    """

    classifier: Classifier
    reference: np.ndarray
    budget: str | float
    mode: str
    tag: int = 1
    scale: int = 1
    kl: dict[bytes, float] = field(default_factory=dict, repr=False)
    passed: dict[bytes, bool] = field(default_factory=dict, repr=False)
    runs: int = 0
    seconds: float = 0.0

    def __post_init__(self) -> None:
        self._probs = softmax(np.asarray(self.reference, np.float64).ravel())
        self.top1 = int(np.argmax(self._probs))

    @property
    def probabilities(self) -> np.ndarray:
        """The classifier's probabilities on the original."""
        return self._probs

    def __call__(self, data: bytes) -> bool:
        t = time.perf_counter()
        s = self.scale
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
            if s > 1:
                im.draft(im.mode, (max(1, w // s), max(1, h // s)))
            decoded = im.convert(self.mode)
        if s > 1 and decoded.size != (-(-w // s), -(-h // s)):  # libjpeg did not scale
            decoded = decoded.reduce(s)
        probs = softmax(classify(self.classifier, decoded, self.tag))
        self.runs += 1
        self.seconds += time.perf_counter() - t
        self.kl[data] = kl_divergence(self._probs, probs)
        if self.budget == "top1":
            ok = int(np.argmax(probs)) == self.top1
        else:
            ok = self.kl[data] <= float(self.budget)
        self.passed[data] = ok
        return ok


def preserve_check(
    classifier: Classifier,
    view: Image.Image,
    tag: int,
    budget: str | float,
    logits: np.ndarray | None = None,
    view_kind: str = "reduced",
) -> PreserveCheck:
    """The check for ``preserve=budget`` on ``view``; its ``runs`` count the reference run
    when it made one.

    KL budgets of at least :data:`REDUCED_MIN_BUDGET` on large images get a reduced check
    (:func:`check_scale`); ``"top1"`` and smaller budgets decode every candidate in full.

    ``logits``, the classifier's output on the full view (from the saliency run), serve
    as the reference when candidates are decoded in full; a reduced check runs the
    classifier once on :func:`reduced_view` instead, so that both sides of each KL see
    the image through the same reduction.
    """
    reducible = budget != "top1" and float(budget) >= REDUCED_MIN_BUDGET
    scale = check_scale(view.size, classifier, view_kind) if reducible else 1
    runs = 0
    if scale > 1 or logits is None:
        logits, runs = classify(classifier, reduced_view(view, scale), tag), 1
    return PreserveCheck(classifier, logits, budget, view.mode, tag, scale, runs=runs)
