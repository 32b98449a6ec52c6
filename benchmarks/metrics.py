"""Full-reference image quality: PSNR, SSIM and MS-SSIM on luma, optionally inside a mask.

Pinned implementation: this file, on the BT.601 luma (Y of JPEG's YCbCr) in [0, 255].

* PSNR: ``10 log10(255² / MSE)``.
* SSIM: Wang et al. 2004, Gaussian window sigma = 1.5 (truncated at 3.5 sigma, i.e. 11x11),
  K1 = 0.01, K2 = 0.03, population statistics. Identical to
  ``skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=255)`` on the full image (a test checks).
* MS-SSIM: Wang et al. 2003, five scales with weights (0.0448, 0.2856, 0.3001,
  0.2363, 0.1333); contrast-structure at scales 1-4, full SSIM at scale 5;
  2x2 average pooling between scales. Negative values are clipped to 0 before
  the powers. Images under 11·2⁴ px on a side use as many scales as fit.

With ``mask`` (boolean, the image's size), PSNR averages the squared error and
(MS-)SSIM averages the per-pixel map over the masked pixels only; for MS-SSIM the
mask is pooled along with the image (a coarse pixel counts when over half of
its block is masked).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["luma", "ms_ssim", "psnr", "ssim"]

WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
SIGMA, TRUNCATE = 1.5, 3.5
C1, C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2


def luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma of an (H, W, 3) uint8 array, float64."""
    x = np.asarray(rgb, np.float64)
    return 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]


def _check(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None) -> None:
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    if mask is not None and (mask.shape != a.shape[:2] or not mask.any()):
        raise ValueError(f"mask must be a non-empty boolean (H, W) = {a.shape[:2]} array")


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """PSNR in dB of the lumas (inf when identical)."""
    _check(a, b, mask)
    err = (luma(a) - luma(b)) ** 2
    mse = float(err[mask].mean() if mask is not None else err.mean())
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def _maps(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(SSIM map, contrast-structure map) with the Gaussian window."""

    def blur(z: np.ndarray) -> np.ndarray:
        return ndimage.gaussian_filter(z, SIGMA, truncate=TRUNCATE, mode="reflect")

    mx, my = blur(x), blur(y)
    vx, vy = blur(x * x) - mx * mx, blur(y * y) - my * my
    cov = blur(x * y) - mx * my
    cs = (2 * cov + C2) / (vx + vy + C2)
    return (2 * mx * my + C1) / (mx * mx + my * my + C1) * cs, cs


def _crop(m: np.ndarray) -> np.ndarray:
    """Drop the half-window border, as skimage does, so edges do not bias the mean."""
    p = int(TRUNCATE * SIGMA + 0.5)
    return m[p:-p, p:-p] if min(m.shape) > 2 * p else m


def _mean(m: np.ndarray, mask: np.ndarray | None) -> float:
    if mask is None:
        return float(_crop(m).mean())
    cropped = _crop(mask)
    return float(_crop(m)[cropped].mean()) if cropped.any() else float(m[mask].mean())


def _pool(z: np.ndarray) -> np.ndarray:
    """2x2 average pooling (an odd last row or column is dropped)."""
    h, w = (z.shape[0] // 2) * 2, (z.shape[1] // 2) * 2
    return z[:h, :w].reshape(h // 2, 2, w // 2, 2).mean((1, 3))


def ssim(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean SSIM of the lumas (over ``mask`` when given)."""
    _check(a, b, mask)
    return _mean(_maps(luma(a), luma(b))[0], mask)


def ms_ssim(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Multi-scale SSIM of the lumas (over ``mask`` when given)."""
    _check(a, b, mask)
    x, y = luma(a), luma(b)
    m = None if mask is None else mask.astype(np.float64)
    scales = max(1, min(len(WEIGHTS), 1 + int(np.log2(min(x.shape) / 11))))
    weights = np.asarray(WEIGHTS[:scales]) / sum(WEIGHTS[:scales])
    result = 1.0
    for j in range(scales):
        full, cs = _maps(x, y)
        sel = None if m is None else m >= 0.5
        value = _mean(full if j == scales - 1 else cs, sel)
        result *= max(value, 0.0) ** weights[j]
        if j < scales - 1:
            x, y = _pool(x), _pool(y)
            m = None if m is None else _pool(m)
            if m is not None and not (m >= 0.5).any():
                m = np.ones_like(m)  # a tiny region vanishes at coarse scales: use all
    return float(result)
