"""The coefficient-level writer: one quantisation of the pixels' DCT, with a dead zone."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_decodes
from PIL import Image

from jpegsal.codec.coefficients import image_coefficients
from jpegsal.codec.machine import machine_tables

jpeglib = pytest.importorskip("jpeglib", reason="jpeglib (extra 'bench') not installed")

from jpegsal.codec.dct_writer import (  # noqa: E402
    dead_zone_quantise,
    energy_quantise,
    write_coefficients,
)


@pytest.fixture(scope="module")
def photo(odd_photo: Image.Image) -> Image.Image:
    return odd_photo


def _psnr(data: bytes, original: Image.Image) -> float:
    a = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.float64)
    err = ((a - np.asarray(original, np.float64)) ** 2).mean()
    return float(10 * np.log10(255**2 / err))


def test_rounding_to_nearest_matches_libjpeg(photo: Image.Image) -> None:
    tables = machine_tables(50, *photo.size)
    buf = io.BytesIO()
    photo.save(buf, "JPEG", qtables=[t.astype(int).ravel().tolist() for t in tables], optimize=True)
    mine = write_coefficients(photo, tables)
    assert_decodes(mine, photo.size)
    assert abs(len(mine) / len(buf.getvalue()) - 1) < 0.03
    assert abs(_psnr(mine, photo) - _psnr(buf.getvalue(), photo)) < 0.4


def test_written_coefficients_are_the_dead_zone_ones(photo: Image.Image, tmp_path: Path) -> None:
    tables = machine_tables(40, *photo.size)
    path = tmp_path / "x.jpg"
    path.write_bytes(write_coefficients(photo, tables, (0.3, 0.25)))
    back = jpeglib.read_dct(str(path))
    luma = image_coefficients(photo)[0].reshape(back.Y.shape)
    expected = dead_zone_quantise(luma, np.asarray(tables[0], np.float32).reshape(8, 8), 0.3)
    assert np.array_equal(back.Y, expected)
    assert np.array_equal(back.qt[0], np.asarray(tables[0]).reshape(8, 8))


def test_a_dead_zone_saves_bytes_and_costs_some_fidelity(photo: Image.Image) -> None:
    tables = machine_tables(60, *photo.size)
    near, dead = (write_coefficients(photo, tables, (o, o)) for o in (0.5, 0.3))
    assert len(dead) < 0.95 * len(near)
    assert _psnr(dead, photo) < _psnr(near, photo)


def test_greyscale(photo: Image.Image) -> None:
    grey = photo.convert("L")
    data = write_coefficients(grey, machine_tables(50, *grey.size)[:1])
    assert Image.open(io.BytesIO(data)).mode == "L"
    assert_decodes(data, grey.size)


@pytest.mark.skipif(shutil.which("djpeg") is None, reason="djpeg not installed")
def test_djpeg_reads_it(photo: Image.Image, tmp_path: Path) -> None:
    path = tmp_path / "x.jpg"
    path.write_bytes(write_coefficients(photo, machine_tables(30, *photo.size), (0.4, 0.4)))
    out = subprocess.run(
        ["djpeg", "-outfile", str(tmp_path / "x.ppm"), str(path)], capture_output=True
    )
    assert out.returncode == 0, out.stderr
    assert Image.open(tmp_path / "x.ppm").size == photo.size


def _ac_energy(levels: np.ndarray, table: np.ndarray) -> np.ndarray:
    e = (levels.reshape(-1, 64).astype(np.float64) * table.reshape(64)) ** 2
    return np.asarray(e[:, 1:].sum(axis=1))


def test_energy_quantise_keeps_ac_energy_and_moves_only_to_a_neighbour() -> None:
    rng = np.random.default_rng(3)
    coefs = rng.laplace(0, 6, (200, 8, 8)) * np.linspace(3, 0.3, 8)[None, :, None]
    table = np.asarray(machine_tables(50, 224, 224)[0], np.float64).reshape(8, 8)
    near = dead_zone_quantise(coefs, table, 0.5).astype(np.int64)
    kept = energy_quantise(coefs, table).astype(np.int64)
    target = (coefs.reshape(-1, 64) ** 2)[:, 1:].sum(axis=1)
    # every block is at least as near its original AC energy as rounding to nearest leaves it
    assert np.all(
        np.abs(_ac_energy(kept, table) - target) <= np.abs(_ac_energy(near, table) - target) + 1e-6
    )
    assert (_ac_energy(kept, table) > _ac_energy(near, table)).mean() > 0.2  # it does act
    assert np.array_equal(kept[:, 0, 0], near[:, 0, 0])  # the DC keeps its nearest level
    assert np.all((kept - near) * np.sign(coefs).astype(np.int64) >= 0)  # only away from 0
    assert np.all(np.abs(kept - near) <= 1)  # to the other neighbour, never further
    assert np.all(np.abs(kept) <= np.ceil(np.abs(coefs) / table))


def test_energy_output_decodes_and_differs(photo: Image.Image) -> None:
    tables = machine_tables(40, photo.width, photo.height)
    plain, kept = write_coefficients(photo, tables), write_coefficients(photo, tables, energy=1.0)
    assert plain != kept
    assert_decodes(kept, photo.size)
