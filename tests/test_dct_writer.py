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

from jpegsal.codec.dct_writer import dead_zone_quantise, write_coefficients  # noqa: E402


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
