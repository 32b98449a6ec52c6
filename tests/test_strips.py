"""The large-image guided path (strips, gain and offset at 1/sub) against a float64 reference.

``guided_smooth`` on images above ``FAST_ABOVE`` pixels computes the smoothing's gain and
offset at 1/sub resolution, weighted by ``alpha``, and applies them a strip at a time.
The reference does the same algebra on whole planes in float64: block means with
replicated edges, the guided filter's window means with the in-image count, a box blur
for chroma, ``cv2.resize`` of the whole plane, and the change taken back to RGB by the
exact inverse of JFIF's matrix. Like the kernel, it rounds the uint8 block means and the
full image's Y, Cr, Cb to integers; what is left is float32 against float64 (one grey
level at most, on about 6 % of the values).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

cv2 = pytest.importorskip("cv2")

from jpegsal.methods._grid import block_means as grid_means  # noqa: E402
from jpegsal.methods._strips import enlarge_rows  # noqa: E402
from jpegsal.methods.guided import FAST_ABOVE, guided_smooth  # noqa: E402

M = np.array([[0.299, 0.587, 0.114], [0.5, -0.418688, -0.081312], [-0.168736, -0.331264, 0.5]])
OFFSET = np.array([0.0, 128.0, 128.0])


def block_means(values: np.ndarray, sub: int) -> np.ndarray:
    h, w = values.shape[:2]
    gh, gw = -(-h // sub), -(-w // sub)
    pad = [(0, gh * sub - h), (0, gw * sub - w)] + [(0, 0)] * (values.ndim - 2)
    v = np.pad(values.astype(np.float64), pad, mode="edge")
    return v.reshape(gh, sub, gw, sub, *values.shape[2:]).mean(axis=(1, 3))


def window_mean(a: np.ndarray, r: int) -> np.ndarray:
    """Mean over the (2r+1)² window's pixels inside the image (He et al.'s |w|)."""
    k = (2 * r + 1, 2 * r + 1)
    total = cv2.boxFilter(a, -1, k, normalize=False, borderType=cv2.BORDER_CONSTANT)
    count = cv2.boxFilter(np.ones_like(a), -1, k, normalize=False, borderType=cv2.BORDER_CONSTANT)
    return total / count


def reference(px: np.ndarray, sal: np.ndarray, strength: float, r: int, sub: int) -> np.ndarray:
    eps = 0.01 * 255.0**2
    h, w = px.shape[:2]
    ycc = np.rint(block_means(px, sub)) @ M.T + OFFSET  # uint8 means are rounded
    alpha = strength * (1 - block_means(sal, sub))
    y, rs = ycc[:, :, 0], max(1, r // sub)
    var = window_mean(y * y, rs) - window_mean(y, rs) ** 2
    a = var / (var + eps)
    b = window_mean(y, rs) - a * window_mean(y, rs)
    gain = np.stack([window_mean(a, rs) - 1, -np.ones_like(y), -np.ones_like(y)], axis=2)
    blur = cv2.blur(ycc, (2 * rs + 1, 2 * rs + 1))  # chroma: OpenCV's default border
    offset = np.concatenate([window_mean(b, rs)[:, :, None], blur[:, :, 1:]], axis=2)
    size = (ycc.shape[1] * sub, ycc.shape[0] * sub)
    big = [
        cv2.resize(p * alpha[:, :, None], size, interpolation=cv2.INTER_LINEAR)[:h, :w]
        for p in (gain, offset)
    ]
    full = cv2.cvtColor(px, cv2.COLOR_RGB2YCrCb).astype(np.float64)  # as uint8, as the kernel
    change = (big[0] * full + big[1]) @ np.linalg.inv(M).T
    return np.clip(np.rint(px + change), 0, 255).astype(np.uint8)


def _scene(h: int, w: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.where(x > w // 2, 190.0, 50.0) + 0.1 * y
    px = np.clip(base[:, :, None] + rng.normal(0, 18, (h, w, 3)), 0, 255).astype(np.uint8)
    sal = np.clip(np.exp(-((x - w / 3) ** 2 + (y - h / 2) ** 2) / (0.1 * w * w)), 0, 1)
    return px, sal.astype(np.float32)


@pytest.mark.parametrize(("h", "w"), [(450, 800), (601, 1003)])  # sub 2; ragged edges
def test_fast_path_matches_the_whole_plane_reference(h: int, w: int) -> None:
    assert h * w > FAST_ABOVE
    px, sal = _scene(h, w)
    r = max(1, round(6 * np.sqrt(h * w / 1e6)))
    out = guided_smooth(px, sal, 0.8, 6, 0.01)
    ref = reference(px, sal, 0.8, r, max(1, min(8, r // 2)))
    diff = np.abs(out.astype(int) - ref)
    assert diff.max() <= 1
    assert diff.mean() < 0.1
    assert np.abs(out.astype(int) - px).mean() > 1  # and it did smooth


def test_salient_strips_are_copied_exactly() -> None:
    px, _ = _scene(700, 800)
    sal = np.ones((700, 800), np.float32)
    sal[500:] = 0.0
    out = guided_smooth(px, sal, 1.0, 6, 0.01)
    assert np.array_equal(out[:400], px[:400])  # far from the unimportant rows
    assert not np.array_equal(out[600:], px[600:])


@pytest.mark.parametrize("sub", [2, 3, 8])
def test_strips_enlarge_exactly_as_the_whole_plane(sub: int) -> None:
    low = np.random.default_rng(sub).random((23, 17, 3)).astype(np.float32)
    width = 17 * sub - 1
    whole = cv2.resize(low, (17 * sub, 23 * sub), interpolation=cv2.INTER_LINEAR)[:, :width]
    for step in (1, 4, 23):
        strips = [enlarge_rows(low, sub, i, min(23, i + step), width) for i in range(0, 23, step)]
        assert np.array_equal(np.concatenate(strips), whole)


@pytest.mark.parametrize(("shape", "sub"), [((37, 50, 3), 4), ((5, 3), 4), ((64, 64), 8)])
def test_grid_means_are_the_padded_block_mean(shape: tuple[int, ...], sub: int) -> None:
    values = np.random.default_rng(1).integers(0, 256, shape).astype(np.uint8)
    # uint8 means come back rounded (OpenCV's uint8 path); float input is not rounded.
    assert np.abs(grid_means(values, sub, sub) - block_means(values, sub)).max() <= 0.5
    floats = values.astype(np.float32) / 7
    assert np.allclose(grid_means(floats, sub, sub), block_means(floats, sub), atol=1e-4)


def whole_image_downsample(
    px: np.ndarray, sal: np.ndarray, strength: float, factor: int, block: tuple[int, int]
) -> np.ndarray:
    """``mixed_resolution`` as it was before strips: every weight at full resolution."""
    from jpegsal.methods._grid import shrink_cells

    h, w = sal.shape
    low = cv2.resize(shrink_cells(px, factor), (w, h), interpolation=cv2.INTER_LINEAR)
    return _blend_whole(px, sal, strength, block, low)


def _blend_whole(
    px: np.ndarray, sal: np.ndarray, strength: float, block: tuple[int, int], low: np.ndarray
) -> np.ndarray:
    """Kept MCUs from ``px``, the rest from ``low``, the ramp made on whole planes."""
    from jpegsal.methods._grid import block_means, expand_blocks, one_minus

    h, w = sal.shape
    bh, bw = block
    keep = (block_means(sal, bh, bw) >= strength).astype(np.float32)
    mask = expand_blocks(keep, bh, bw, (h, w))
    spread = cv2.blur(mask, (2 * bw + 1, 2 * bh + 1), borderType=cv2.BORDER_REPLICATE)
    alpha = cv2.max(mask, cv2.min(cv2.multiply(spread, 2.0), 1.0))
    return np.asarray(cv2.blendLinear(px, low.reshape(px.shape), alpha, one_minus(alpha)))


@pytest.mark.parametrize(("h", "w", "block"), [(816, 1225, (16, 16)), (601, 1003, (8, 8))])
def test_downsample_strips_give_the_whole_image_result(
    h: int, w: int, block: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from jpegsal.methods import downsample

    px, sal = _scene(h, w, seed=2)
    expected = whole_image_downsample(px, sal, 0.5, 4, block)
    for strip in (1 << 18, 5000, 10**9):  # many strips, one MCU row each, one strip
        monkeypatch.setattr(downsample, "STRIP_PIXELS", strip)
        assert np.array_equal(downsample.mixed_resolution(px, sal, 0.5, 4, block), expected)


# The peak resident memory of the process so far (Linux), for the memory children.
HWM = """
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) * 1024
"""

MEMORY_CHILD = (
    HWM
    + """
import json, sys, numpy as np
from jpegsal.methods.guided import guided_smooth
from jpegsal.methods.downsample import mixed_resolution
h, w = 3650, 5480  # 20 MP
px = np.ascontiguousarray(np.broadcast_to(np.arange(w, dtype=np.uint8)[None, :, None], (h, w, 3)))
sal = np.tile(np.linspace(0, 1, w, dtype=np.float32), (h, 1))
run = {
    "guided": lambda p, s: guided_smooth(p, s, 0.6, 6, 0.01),
    "downsample": lambda p, s: mixed_resolution(p, s, 0.5, 4, (16, 16)),
}[sys.argv[1]]
run(px[:600, :600], sal[:600, :600])  # libraries loaded
base = hwm()
run(px, sal)
print(json.dumps((hwm() - base) / (h * w * 3)))
"""
)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
@pytest.mark.parametrize("method", ["guided", "downsample"])
def test_memory_grows_with_the_output_not_the_image(method: str) -> None:
    # 20 MP: the uint8 output is 1x the raw image; before the strips the float32 working
    # copies grew the peak by about 8x (guided) and 7x (downsample). The bound is the
    # output plus 1x for strips and the low-resolution planes.
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_CHILD, method], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) < 2.0


def _method(name: str) -> Any:
    from jpegsal.methods import get_method

    return get_method(name)


@pytest.mark.parametrize("name", ["guided", "downsample", "mix", "blocks"])
@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_in_place_gives_the_same_pixels(
    name: str, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jpegsal.codec.options import normalize_options
    from jpegsal.maps.contract import Saliency
    from jpegsal.methods import downsample

    monkeypatch.setattr(downsample, "LAZY_ABOVE", 100_000)  # the strip path at this size
    px, sal = _scene(700, 903, seed=3)  # large enough for guided to go in strips too
    image = Image.fromarray(px).convert(mode)
    options = normalize_options({"quality": 60})
    method, value = _method(name), Saliency(sal, "test")
    fresh = method.apply_saliency(image, value, options)
    assert np.asarray(image).tolist() == np.asarray(Image.fromarray(px).convert(mode)).tolist()
    mine = image.copy()
    done = method.apply_saliency(mine, value, options, in_place=True)
    assert done.mode == fresh.mode
    assert np.array_equal(np.asarray(done), np.asarray(fresh))
    if done.mode == mine.mode:
        assert done is mine  # written into the image it was given
    else:
        with pytest.raises(ValueError, match="closed"):
            mine.load()  # released before the result was made


def whole_image_downsample_exact(
    px: np.ndarray, sal: np.ndarray, strength: float, factor: int, block: tuple[int, int]
) -> np.ndarray:
    """The strip version's definition on whole planes: every cell averaged (edges padded
    by replication), enlarged by exactly ``factor``."""
    from jpegsal.methods._grid import block_means

    h, w = sal.shape
    small = block_means(px, factor, factor)
    size = (small.shape[1] * factor, small.shape[0] * factor)
    low = cv2.resize(small, size, interpolation=cv2.INTER_LINEAR)[:h, :w]
    return _blend_whole(px, sal, strength, block, low)


@pytest.mark.parametrize(("h", "w", "block"), [(816, 1225, (16, 16)), (601, 1003, (8, 8))])
def test_downsample_strips_of_a_large_image(
    h: int, w: int, block: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from jpegsal.methods import _strips, downsample

    px, sal = _scene(h, w, seed=4)
    keep = _grid_keep(sal, block)
    expected = whole_image_downsample_exact(px, sal, 0.5, 4, block)
    for strip in (1 << 18, 5000, 10**9):
        monkeypatch.setattr(downsample, "STRIP_PIXELS", strip)
        monkeypatch.setattr(_strips, "STRIP_PIXELS", strip)
        out = downsample.mixed_resolution_strips(Image.fromarray(px), keep, 4, block, False)
        assert np.array_equal(np.asarray(out), expected)
    # Against the whole-image method (whole cells, stretched over the edge): the same
    # away from the right and bottom edges.
    old = whole_image_downsample(px, sal, 0.5, 4, block)
    assert np.abs(np.asarray(out, int)[: h - 64, : w - 64] - old[: h - 64, : w - 64]).mean() < 1


def _grid_keep(sal: np.ndarray, block: tuple[int, int]) -> np.ndarray:
    from jpegsal.methods._grid import block_means

    keep: np.ndarray = block_means(sal, *block) >= 0.5
    return keep


ENCODE_CHILD = (
    HWM
    + """
import io, json, sys
import numpy as np
from PIL import Image
import jpegsal
h, w = 3650, 5480  # 20 MP
y, x = np.mgrid[0:h, 0:w]
px = np.stack([(x // 7) % 256, (y // 5) % 256, ((x + y) // 11) % 256], 2).astype(np.uint8)
Image.fromarray(px).save(sys.argv[2], quality=95)
del px, x, y
enc = jpegsal.Encoder("cam", sys.argv[1], device="cpu")
small = sys.argv[2] + ".small.jpg"
Image.new("RGB", (64, 64), (90, 120, 30)).save(small)
enc.encode(small)  # libraries and the session loaded
base = hwm()
enc.encode(sys.argv[2], quality=75)
print(json.dumps((hwm() - base) / (h * w * 3)))
"""
)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
@pytest.mark.parametrize("method", ["guided", "mix"])
def test_a_20_mp_encode_stays_within_2_5x_the_raw_image(method: str, tmp_path: Path) -> None:
    # From a file: the decoded image is jpegsal's own, so guided writes its result into it
    # and mix (RGB in, YCbCr out) releases it before its result is made. Measured at
    # 50 MP: guided 1.7x, mix 2.4x; before the strips: 6.1x and 6.2x.
    out = subprocess.run(
        [sys.executable, "-c", ENCODE_CHILD, method, str(tmp_path / "big.jpg")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) < 2.5
