"""The guided filter against a slow float64 reference written from He et al. (2010), Algorithm 1.

Tolerance: the kernel runs in float32 on the 0..255 scale. The largest
intermediate is a box sum of I*I over a window: at most (2r+1)^2 * 255^2,
about 5.9e5 for r = 1 and 1.1e7 for r = 6. That sum carries a rounding error
of a few float32 ulps: 2^-4 at 5.9e5, 1 at 1.1e7. Dividing by the window count
((2r+1)^2) brings that to about 0.01 on a mean. The variance subtraction
cancels such errors in absolute terms, not relatively, so var_I and cov_Ip are
off by about 0.02. The coefficient a = cov / (var + eps) then moves by at most
0.02 / eps (here eps >= 25, so under 1e-3), and q = mean_a * I + mean_b moves
by at most 255 * 1e-3 + 0.02, about 0.3. The bound asserted is 0.5 grey levels,
and the observed error is far below it (about 5e-4).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("cv2")

from jpegsal.methods.guided import guided_filter

TOLERANCE = 0.5  # grey levels on 0..255, derived above


def reference(guide: np.ndarray, src: np.ndarray, r: int, eps: float) -> np.ndarray:
    """Algorithm 1 with explicit windows; |w| = pixels of the window inside the image."""
    guide = guide.astype(np.float64)
    src = src.astype(np.float64)
    h, w = guide.shape

    def f_mean(a: np.ndarray) -> np.ndarray:
        out = np.empty_like(a)
        for y in range(h):
            for x in range(w):
                window = a[max(0, y - r) : y + r + 1, max(0, x - r) : x + r + 1]
                out[y, x] = window.mean(axis=(0, 1))
        return out

    g = guide[:, :, None] if src.ndim == 3 else guide
    mean_i, mean_p = f_mean(g), f_mean(src)
    corr_i, corr_ip = f_mean(g * g), f_mean(g * src)
    var_i = corr_i - mean_i * mean_i
    cov_ip = corr_ip - mean_i * mean_p
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return f_mean(a) * g + f_mean(b)


def _images(seed: int, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    # Edges plus texture: a step, a ramp and noise, so every term of the filter matters.
    y, x = np.mgrid[0:h, 0:w]
    base = np.where(x > w // 2, 200.0, 40.0) + 0.5 * y + rng.normal(0, 12, (h, w))
    rgb = np.clip(base[:, :, None] + rng.normal(0, 20, (h, w, 3)), 0, 255)
    return np.clip(base, 0, 255).astype(np.float32), rgb.astype(np.float32)


@pytest.mark.parametrize(("r", "eps"), [(1, 25.0), (2, 100.0), (4, 650.0)])
@pytest.mark.parametrize("colour", [False, True])
def test_matches_reference(r: int, eps: float, colour: bool) -> None:
    guide, rgb = _images(r, 23, 31)
    src = rgb if colour else guide
    fast = guided_filter(guide, src, r, eps)
    slow = reference(guide, src, r, eps)
    assert fast.shape == slow.shape
    assert np.abs(fast - slow).max() < TOLERANCE


def test_self_guided_keeps_edges_and_flattens_texture() -> None:
    guide, _ = _images(7, 40, 40)
    out = guided_filter(guide, guide, 3, 650.0)
    # Horizontal neighbour differences see the noise, not the vertical ramp.
    assert np.diff(out[:, :14], axis=1).std() < np.diff(guide[:, :14], axis=1).std() / 2
    step = out[:, 24:].mean() - out[:, :16].mean()
    assert step > 140  # the 160-level edge survives


def test_fast_variant_approximates_the_full_filter() -> None:
    guide, rgb = _images(3, 96, 128)
    full = guided_filter(guide, rgb, 8, 650.0)
    fast = guided_filter(guide, rgb, 8, 650.0, subsample=4)
    # He and Sun (2015): the subsampled coefficients are smooth, so the result is close.
    assert np.abs(fast - full).mean() < 3.0
