"""``guided``: smooth unimportant pixels with a guided filter (Mei et al. 2020).

The guided filter (He, Sun and Tang, "Guided Image Filtering", ECCV 2010 / TPAMI
2013, Algorithm 1) is edge-preserving: it flattens texture whose variance is
below ``eps`` while keeping edges, and texture is what costs JPEG bits. Each
pixel is blended between the original and the filtered image by
``alpha = strength * (1 - saliency)``: salient pixels stay untouched, and the
rest are smoothed in proportion to how unimportant they are.

The kernel is the O(N) box-filter form. Window means are box sums divided by the
number of pixels inside the image (the paper's ``|w|`` at the borders). For
large images the fast guided filter (He and Sun 2015) computes the linear
coefficients on a subsampled copy and upsamples them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from PIL import Image

from .._check import check_int, check_number
from .._optional import require
from ..codec.options import JpegOptions
from ..maps.contract import Saliency
from ._grid import block_means, one_minus, shrink_cells
from ._strips import Target, add_change, image_block_means, to_ycc
from .registry import SaliencyMethod, register_method

__all__ = ["Guided", "guided_filter"]

FAST_ABOVE = 250_000  # pixels; larger images use the subsampled (fast) filter


@register_method
@dataclass(frozen=True)
class Guided(SaliencyMethod):
    """Guided-filter smoothing of unimportant pixels.

    Parameters
    ----------
    strength : float in [0, 1]
        0 leaves the image untouched (plain JPEG bytes); 1 fully replaces the
        least salient pixels by their filtered value.
    radius : int
        Window radius r in pixels (window (2r+1)²) at 1 MP; scaled with image size.
    eps : float
        Regularisation on the 0..1 intensity scale; texture with variance well
        below ``eps`` is flattened.
    """

    strength: float = 0.6
    radius: int = 6
    eps: float = 0.01
    name: ClassVar[str] = "guided"
    per_quality: ClassVar[bool] = False

    def __post_init__(self) -> None:
        check_number("strength", self.strength, 0, 1)
        check_int("radius", self.radius, 1)
        check_number("eps", self.eps, 0, lo_open=True)

    def _apply(
        self, image: Image.Image, saliency: Saliency, options: JpegOptions, in_place: bool
    ) -> Image.Image:
        """:meth:`apply` with the saliency value: a large image is read and written a
        strip at a time (into ``image`` itself when ``in_place``), and a coarse map is
        never enlarged in full."""
        r, sub = _window(image.width, image.height, self.radius)
        if sub == 1:
            out = _smooth_full(
                np.asarray(image), saliency.map, self.strength, r, self.eps * 255.0**2
            )
            return Image.fromarray(out, image.mode)
        low, sal = image_block_means(image, sub, sub), saliency.block_means(sub, sub)
        gain, offset = _changes(low, sal, self.strength, r, sub, self.eps)
        target = Target(image, in_place)
        add_change(image, gain, offset, sub, target)
        return target.finish()


def guided_smooth(
    pixels: np.ndarray, saliency: np.ndarray, strength: float, radius: int, eps: float
) -> np.ndarray:
    """Blend ``pixels`` (uint8, (H, W) or (H, W, 3)) towards a guided-filtered version.

    Colour images are filtered where JPEG spends its bits: luma (Y of YCrCb) with the
    self-guided filter, chroma with a box filter of the same window. Small images are
    filtered at full resolution and blended per pixel against the original, so pixels
    with ``alpha == 0`` come out exactly as they went in. Larger ones use the fast guided
    filter: the smoothing is linear in the pixel at a fixed window (``smooth - x = gain *
    x + offset``), so only ``gain`` and ``offset``, weighted by ``alpha``, are computed at
    1/``sub`` resolution, and the one full-resolution pass runs over strips
    (:mod:`._strips`): memory grows with a strip, and strips with no change are copied.
    """
    h, w = saliency.shape
    r, sub = _window(w, h, radius)
    if sub == 1:
        return _smooth_full(pixels, saliency, strength, r, eps * 255.0**2)
    low, sal = block_means(pixels, sub, sub), block_means(saliency, sub, sub)
    out = add_change(pixels, *_changes(low, sal, strength, r, sub, eps), sub)
    assert out is not None  # an array in, an array out
    return out


def _window(width: int, height: int, radius: int) -> tuple[int, int]:
    """(radius in pixels, subsampling) at this size: the window scales with the image so
    the same setting smooths alike at any size."""
    r = max(1, round(radius * np.sqrt(height * width / 1e6)))
    return r, _subsample(height * width, r)


def _changes(
    low: np.ndarray, sal: np.ndarray, strength: float, r: int, sub: int, eps: float
) -> tuple[np.ndarray, np.ndarray]:
    """(gain, offset) at 1/``sub`` from the block means of the pixels and of the map,
    weighted by ``alpha = strength * (1 - saliency)``, which varies slowly too."""
    gain, offset = _linear_smooth(low.astype(np.float32), max(1, r // sub), eps * 255.0**2)
    alpha = np.float32(strength) * (np.float32(1.0) - sal)
    if gain.ndim == 3:
        alpha = alpha[:, :, None]
    gain *= alpha
    offset *= alpha
    return gain, offset


def _smooth_full(
    pixels: np.ndarray, saliency: np.ndarray, strength: float, r: int, eps255: float
) -> np.ndarray:
    """The full-resolution filter and per-pixel blend (images up to FAST_ABOVE pixels)."""
    cv2 = require("cv2")
    if pixels.ndim == 2:
        y = pixels.astype(np.float32)
        smooth = cv2.convertScaleAbs(guided_filter(y, y, r, eps255))
    else:
        ycc = cv2.cvtColor(pixels, cv2.COLOR_RGB2YCrCb)
        y = cv2.extractChannel(ycc, 0).astype(np.float32)
        luma = cv2.convertScaleAbs(guided_filter(y, y, r, eps255))
        # Chroma: a box blur of the same window. All three planes are blurred and luma
        # then overwritten: cheaper than splitting chroma out.
        smooth = cv2.blur(ycc, (2 * r + 1, 2 * r + 1))
        cv2.insertChannel(luma, smooth, 0)
        smooth = cv2.cvtColor(smooth, cv2.COLOR_YCrCb2RGB)
    # alpha = strength * (1 - saliency), computed by OpenCV in one float32 pass.
    sal32 = saliency.astype(np.float32, copy=False)
    alpha = cv2.addWeighted(sal32, -strength, sal32, 0, strength)
    # blendLinear is a multi-threaded per-pixel blend that rounds and saturates uint8.
    out = cv2.blendLinear(smooth, pixels, alpha, one_minus(alpha))
    return np.asarray(out, np.uint8).reshape(pixels.shape)


def _linear_smooth(low: np.ndarray, r: int, eps255: float) -> tuple[np.ndarray, np.ndarray]:
    """(gain - 1, offset) of the smoothing of ``low`` (float32, grey or RGB) per pixel and
    plane (Y, Cr, Cb for colour): ``smooth - x = gain * x + offset`` in those planes."""
    cv2 = require("cv2")
    if low.ndim == 2:
        a, b = _coefficients(low, low, r, eps255)
        return a - np.float32(1.0), b
    ycc = to_ycc(low)
    y = np.ascontiguousarray(ycc[:, :, 0])
    a, b = _coefficients(y, y, r, eps255)
    # Chroma: a box blur of the same window (gain 0, so the change is blur - x).
    blur = cv2.blur(ycc, (2 * r + 1, 2 * r + 1))
    gain = np.full(ycc.shape, -1.0, np.float32)
    gain[:, :, 0] = a - np.float32(1.0)
    blur[:, :, 0] = b
    return gain, np.asarray(blur, np.float32)


def _subsample(pixels: int, radius: int) -> int:
    if pixels <= FAST_ABOVE:
        return 1
    # He and Sun (2015) use s = r / 4 and larger; r // 2 keeps a window of at least 2.
    return max(1, min(8, radius // 2))


def guided_filter(
    guide: np.ndarray, src: np.ndarray, radius: int, eps: float, *, subsample: int = 1
) -> np.ndarray:
    """Guided filter of ``src`` ((H, W) or (H, W, C), float32) with the grey ``guide`` (H, W).

    ``subsample`` > 1 is the fast guided filter: the coefficients ``a, b`` are
    computed at 1/subsample resolution with radius ``radius // subsample`` and
    upsampled bilinearly before ``q = a * I + b`` at full resolution.
    """
    cv2 = require("cv2")
    h, w = guide.shape
    small_guide, small_src, r = guide, src, radius
    if subsample > 1:
        # Whole cells only (see shrink_cells): the edge left out shifts the enlarged
        # coefficients by under one pixel; they vary slowly, so it is harmless.
        small_guide = shrink_cells(guide, subsample)
        small_src = small_guide if src is guide else shrink_cells(src, subsample)
        r = max(1, radius // subsample)
    mean_a, mean_b = _coefficients(small_guide, small_src, r, eps)
    if subsample > 1:
        mean_a, mean_b = (
            cv2.resize(m, (w, h), interpolation=cv2.INTER_LINEAR) for m in (mean_a, mean_b)
        )
    if src.ndim == 3:
        mean_a = mean_a.reshape(h, w, -1)
        mean_b = mean_b.reshape(h, w, -1)
        g = cv2.merge([guide] * src.shape[2])
    else:
        g = guide
    # q = a * I + b, in place in a (this function's own array): no new full-size buffers.
    out: np.ndarray = np.ascontiguousarray(mean_a, np.float32)
    cv2.multiply(out, g, dst=out)
    cv2.add(out, mean_b, dst=out)
    return out


def _coefficients(
    guide: np.ndarray, src: np.ndarray, r: int, eps: float
) -> tuple[np.ndarray, np.ndarray]:
    """Window means of the linear coefficients (Algorithm 1, steps 1-4)."""
    cv2 = require("cv2")
    ksize = (2 * r + 1, 2 * r + 1)

    def mean(a: np.ndarray) -> np.ndarray:
        # Box sums with zero padding divided by the in-image pixel count: the paper's |w|.
        total = cv2.boxFilter(a, -1, ksize, normalize=False, borderType=cv2.BORDER_CONSTANT)
        means: np.ndarray = np.asarray(total, np.float32) / count
        return means

    count = np.ones_like(guide)
    count = np.asarray(
        cv2.boxFilter(count, -1, ksize, normalize=False, borderType=cv2.BORDER_CONSTANT),
        np.float32,
    )
    if src.ndim == 3:
        count = count[:, :, None]
        g = np.repeat(guide[:, :, None], src.shape[2], axis=2)
    else:
        g = guide
    mean_i, mean_p = mean(g), mean(src)
    var_i = mean(g * g) - mean_i * mean_i
    cov_ip = mean(g * src) - mean_i * mean_p
    a = cov_ip / (var_i + np.float32(eps))
    b = mean_p - a * mean_i
    return mean(a), mean(b)
