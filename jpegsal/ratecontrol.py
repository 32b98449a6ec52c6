"""Rate control: choose among encoded, checked candidates.

* no control: the options as given, one encode;
* ``target_bytes``: :func:`fit_quality` bisects the quality for the largest output that
  fits. libjpeg scales one table family by quality, so size rises with quality (up to
  rare byte-level wobbles): at most 7 encodes for 1..100, and what comes back was
  encoded and measured, so the budget is never exceeded;
* ``preserve``: the lowest quality whose decoded output the classifier still sees as it
  saw the original (:class:`~jpegsal.checks.PreserveCheck`), one classifier run per
  checked candidate, no saliency map made; candidates of large images are checked on
  libjpeg's reduced decode (:mod:`jpegsal.checks`). A KL budget is searched by
  :func:`~jpegsal.ratesearch.predicted_passing` (about two checks); ``"top1"`` and
  ``Control(search="bisect")`` bisect (:func:`smallest_passing`, 8 checks);
* ``preserve`` under ``preset="machine"`` (:class:`PredictedBudget`): the lowest
  quality whose *predicted* KL (from the shipped sensitivity, no network) is within the
  budget, found without encoding; then one encode;
* neither, under ``preset="machine"`` (``JpegOptions.allocate``): each image's quality
  at equal slope of its bytes and a typical KL (:func:`~jpegsal.rateslope.equal_slope`,
  two or three encodes).

Where to add a rate controller: a branch of :func:`choose` and a field of :class:`Control`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import Image

from ._check import check_int
from .checks import PreserveCheck
from .codec.machine import CLASSIFIER_SIDE
from .codec.options import JpegOptions
from .ratesearch import predicted_passing
from .rateslope import equal_slope

__all__ = [
    "Control",
    "PredictedBudget",
    "choose",
    "fit_quality",
    "smallest_passing",
]


@dataclass
class PredictedBudget:
    """The machine preset's ``preserve``: a KL budget on the classifiers' *predicted* KL.

    The prediction is :func:`~jpegsal.codec.coefficients.predicted_kl` of the image's own
    coefficients under each quality's machine tables. Qualities below ``floor`` are never
    chosen (a second-order prediction is least reliable for large errors), and a budget
    that quality 100 does not meet gives quality 100, the safest output, without an error.
    ``side``: the downstream classifier's input side (the tables' and the prediction's).
    """

    image: Image.Image
    budget: float
    floor: int
    side: int = CLASSIFIER_SIDE
    predicted: dict[int, float] = field(default_factory=dict)  # quality -> predicted KL

    def quality(self) -> int:
        """The lowest quality in floor..100 whose predicted KL is within the budget."""
        from .codec.coefficients import predicted_kl, sample_blocks
        from .codec.machine import MachineTables, fisher_at, machine_tables

        (w, h), config = self.image.size, MachineTables(side=self.side)
        planes, fisher = sample_blocks(self.image), fisher_at(w, h, self.side)

        def kl(q: int) -> float:
            self.predicted[q] = predicted_kl(planes, machine_tables(q, w, h, config), fisher)
            return self.predicted[q]

        lo, hi = self.floor, 100  # invariant: hi meets the budget, or hi is 100
        while lo < hi:
            mid = (lo + hi) // 2
            if kl(mid) <= self.budget:
                hi = mid
            else:
                lo = mid + 1
        if hi not in self.predicted:
            kl(hi)
        return hi


@dataclass(frozen=True)
class Control:
    """What rate control is asked for: nothing, a byte budget, or a preserve check.

    ``min_quality`` is the lowest quality either search may choose. ``if_unmet`` is what
    ``preserve`` does when even quality 100 fails: ``"best"`` keeps that output (the
    safest there is; :class:`EncodeResult` says ``met=False``), ``"error"`` raises.
    """

    target_bytes: int | None = None
    check: PreserveCheck | None = None
    min_quality: int = 1
    if_unmet: str = "best"
    search: str = "predict"  # "bisect": the exact bisection, 8 checks (KL budgets only)

    @property
    def searches(self) -> bool:
        """True when several candidate qualities are tried."""
        return self.target_bytes is not None or self.check is not None


def choose(
    control: Control, encode: Callable[[JpegOptions], bytes], options: JpegOptions
) -> tuple[int, bytes]:
    """(quality, data) chosen by ``control`` among candidates ``encode(options at q)``."""
    if options.allocate and not control.searches and options.quality >= 0:
        lo, side = control.min_quality, options.classifier_side
        return equal_slope(lambda q: encode(options.with_quality(q)), options.quality, side, lo=lo)
    if not control.searches:
        return options.quality, encode(options)
    if options.quality == -1 or options.qtables is not None:
        what = "preserve" if control.check is not None else "target_bytes"
        raise ValueError(f"{what} chooses the quality; do not pass qtables or a preset")

    def at(q: int) -> bytes:
        return encode(options.with_quality(q))

    if control.target_bytes is not None:
        return fit_quality(at, control.target_bytes, lo=control.min_quality)
    check = control.check
    assert check is not None
    try:
        # "best": quality 100 comes back even if it fails (met=False); nothing is lost.
        strict = control.if_unmet == "error"
        if control.search == "predict" and check.budget != "top1":
            return predicted_passing(
                at,
                check,
                check.kl.__getitem__,
                float(check.budget),
                check.probabilities,
                lo=control.min_quality,
                strict=strict,
            )
        return smallest_passing(at, check, lo=control.min_quality, strict=strict)
    except ValueError:
        raise ValueError(
            f"preserve={check.budget!r} cannot be met: at quality 100 the classifier's "
            f"KL divergence is {min(check.kl.values()):.4g} nats (a method's edits count "
            "too; lower its strength, or pass if_unmet='best' to keep quality 100)"
        ) from None


def fit_quality(
    encode: Callable[[int], bytes], target_bytes: int, *, lo: int = 1, hi: int = 100
) -> tuple[int, bytes]:
    """Return ``(quality, data)`` for the highest quality found with ``len(data) <= target_bytes``.

    Parameters
    ----------
    encode : callable
        ``encode(quality) -> bytes``.
    target_bytes : int
        The budget, in bytes (positive).
    lo, hi : int
        The quality range searched.

    Raises
    ------
    ValueError
        If even quality ``lo`` gives more than ``target_bytes`` bytes.
    """
    check_int("target_bytes", target_bytes, 1)
    best: tuple[int, bytes] | None = None
    smallest = 0
    while lo <= hi:
        q = (lo + hi) // 2
        data = encode(q)
        if len(data) <= target_bytes:
            best = (q, data)
            lo = q + 1
        else:
            smallest = len(data)
            hi = q - 1
    if best is None:
        floor = f" (min_quality={hi + 1})" if hi + 1 > 1 else ""
        raise ValueError(
            f"target_bytes={target_bytes} is unreachable: the smallest output "
            f"(quality {hi + 1}{floor}) is {smallest} bytes"
        )
    return best


def smallest_passing(
    encode: Callable[[int], bytes],
    passes: Callable[[bytes], bool],
    *,
    lo: int = 1,
    hi: int = 100,
    strict: bool = True,
) -> tuple[int, bytes]:
    """Return ``(quality, data)`` for the lowest quality found whose output ``passes``.

    Used by ``preserve``: ``passes`` decodes the output and checks the
    classifier's decision or the divergence of its probabilities. Both are
    close to monotone in quality, so this is a bisection (at most 8 encodes and
    checks for 1..100), and it only returns outputs it actually checked.

    Raises
    ------
    ValueError
        If even quality ``hi`` does not pass (with ``strict=False``: ``(hi, data)`` is
        returned instead, the output closest to passing).
    """
    top = encode(hi)
    if not passes(top):
        if not strict:
            return hi, top
        raise ValueError(f"the condition fails even at quality {hi}; nothing smaller can keep it")
    best = (hi, top)
    hi -= 1
    while lo <= hi:
        q = (lo + hi) // 2
        data = encode(q)
        if passes(data):
            best = (q, data)
            hi = q - 1
        else:
            lo = q + 1
    return best
