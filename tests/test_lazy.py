"""Maps kept coarse (jpegsal.maps.lazy) and methods that read and write a strip at a time."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from PIL import Image

from jpegsal.maps.contract import Saliency
from jpegsal.maps.lazy import CoarseMap, enlarge_rows
from jpegsal.methods._grid import block_means

cv2 = pytest.importorskip("cv2")


@pytest.mark.parametrize(
    ("grid", "size"), [((7, 7), (1224, 816)), ((9, 7), (61, 97)), ((1, 3), (5, 2))]
)
def test_enlargement_is_opencvs_bilinear_to_the_last_bits(
    grid: tuple[int, int], size: tuple[int, int]
) -> None:
    coarse = np.random.default_rng(0).random(grid).astype(np.float32)
    ref = np.clip(cv2.resize(coarse, size, interpolation=cv2.INTER_LINEAR), 0, 1)
    ours = enlarge_rows(coarse, size, 0, size[1])
    assert ours.shape == ref.shape
    assert np.abs(ours - ref).max() < 2e-6


def test_rows_are_the_full_map_cut_and_block_means_match() -> None:
    coarse = np.random.default_rng(1).random((8, 11)).astype(np.float32)
    lazy = CoarseMap(coarse, (1003, 517))
    full = lazy.full()
    for y0, y1 in ((0, 1), (100, 333), (500, 517)):
        assert np.array_equal(lazy.rows(y0, y1), full[y0:y1])
    object.__setattr__(lazy, "_rows", 40)  # many strips, one of them a partial block row
    for bh, bw in ((8, 8), (16, 16), (3, 5)):
        assert np.allclose(lazy.block_means(bh, bw), block_means(full, bh, bw), atol=1e-6)


@pytest.mark.parametrize(
    ("grid", "size", "block"),
    [((7, 7), (4000, 3000), (16, 16)), ((14, 14), (1225, 817), (8, 8)), ((1, 1), (9, 5), (16, 8))],
)
def test_block_means_fold_the_enlargement_without_making_it(
    grid: tuple[int, int], size: tuple[int, int], block: tuple[int, int]
) -> None:
    """The matrix form against the slow reference: the enlarged map's own block means."""
    lazy = CoarseMap(np.random.default_rng(2).random(grid).astype(np.float32), size)
    fast = lazy.block_means(*block)
    assert fast.dtype == np.float32
    assert fast.shape == (-(-size[1] // block[0]), -(-size[0] // block[1]))
    np.testing.assert_allclose(fast, block_means(lazy.full(), *block), atol=1e-6)


def test_a_grid_outside_0_1_is_clipped_after_enlargement_as_before() -> None:
    coarse = np.array([[-1.0, 2.0], [0.5, 3.0]], np.float32)  # clipping is not linear
    lazy = CoarseMap(coarse, (64, 48))
    np.testing.assert_allclose(
        lazy.block_means(16, 16), block_means(lazy.full(), 16, 16), atol=1e-6
    )


def test_a_coarse_saliency_enlarges_only_when_read_in_full() -> None:
    lazy = CoarseMap(np.array([[0.0, 1.0], [1.0, 0.5]], np.float32), (40, 30))
    sal = Saliency.from_coarse(lazy, "toy", 1, np.zeros(3))
    assert sal.size == (40, 30)
    assert sal.coarse is lazy
    assert sal._map is None  # nothing enlarged yet
    means = sal.block_means(8, 8)
    assert sal._map is None
    assert np.allclose(means, block_means(lazy.full(), 8, 8))
    assert np.array_equal(sal.rows(3, 5), lazy.full()[3:5])
    full = sal.map
    assert full.shape == (30, 40)
    assert not full.flags.writeable
    assert sal.map is full  # enlarged once
    assert "toy" in repr(sal)
    again = pickle.loads(pickle.dumps(sal))
    assert np.array_equal(again.map, full)
    assert again.logits is not None
    with pytest.raises(AttributeError, match="immutable"):
        sal.model = "other"  # type: ignore[misc]


def test_a_coarse_map_must_be_a_grid() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        CoarseMap(np.zeros((0, 3), np.float32), (10, 10))


def test_large_images_get_a_coarse_map(monkeypatch: pytest.MonkeyPatch) -> None:
    import jpegsal
    import jpegsal.maps.compute as compute

    monkeypatch.setattr(compute, "LAZY_ABOVE", 10_000)
    image = Image.open(jpegsal.__file__.replace("__init__.py", "data/kodim23.png")).convert("RGB")
    image = image.resize((192, 128))
    enc = jpegsal.Encoder("cam", "guided", device="cpu")
    sal = enc.saliency(image)
    assert sal.coarse is not None
    monkeypatch.setattr(compute, "LAZY_ABOVE", 10**9)
    eager = enc.saliency(image)
    assert eager.coarse is None
    assert np.abs(sal.map - eager.map).max() < 2e-6  # the same map, to the last bits
