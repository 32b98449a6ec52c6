"""The coefficient-level writer: levels chosen from the pixels' DCT, written by libjpeg."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_decodes
from PIL import Image

from jpegsal.codec.coefficients import sample_planes
from jpegsal.codec.dct_writer import choose_levels, write_coefficients
from jpegsal.codec.machine import machine_tables


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
    mine = write_coefficients(photo, tables, optimize=True)
    assert_decodes(mine, photo.size)
    assert abs(len(mine) / len(buf.getvalue()) - 1) < 0.03
    assert abs(_psnr(mine, photo) - _psnr(buf.getvalue(), photo)) < 0.4


@pytest.mark.parametrize(("subsampling", "factors"), [(2, (2, 2)), (1, (1, 2)), (0, (1, 1))])
def test_the_file_holds_the_chosen_levels(
    photo: Image.Image, tmp_path: Path, subsampling: int, factors: tuple[int, int]
) -> None:
    jpeglib = pytest.importorskip("jpeglib", reason="jpeglib (extra 'bench') reads DCT levels")
    tables = machine_tables(40, *photo.size)
    path = tmp_path / "x.jpg"
    path.write_bytes(write_coefficients(photo, tables, energy=0.5, subsampling=subsampling))
    back = jpeglib.read_dct(str(path))
    chosen = choose_levels(sample_planes(photo, factors), tables, energy=0.5)
    for got, want in zip((back.Y, back.Cb, back.Cr), chosen, strict=True):
        got = got[: want.shape[0], : want.shape[1]]
        # libjpeg's own DCT of the samples lands on the chosen levels, except where a
        # sample was clipped or an edge block was padded from the image's last samples
        assert (got == want).mean() > 0.99
        assert np.abs(got.astype(int) - want).max() <= 2
    assert np.array_equal(back.qt[0], np.asarray(tables[0]).reshape(8, 8))


def test_a_dead_zone_saves_bytes_and_costs_some_fidelity(photo: Image.Image) -> None:
    tables = machine_tables(60, *photo.size)
    near, dead = (write_coefficients(photo, tables, (o, o), optimize=True) for o in (0.5, 0.3))
    assert len(dead) < 0.95 * len(near)
    assert _psnr(dead, photo) < _psnr(near, photo)


def test_energy_keeps_more_texture_for_more_bytes(photo: Image.Image) -> None:
    tables = machine_tables(40, *photo.size)
    plain, kept = write_coefficients(photo, tables), write_coefficients(photo, tables, energy=1.0)
    assert len(kept) > len(plain)
    assert_decodes(kept, photo.size)

    def detail(data: bytes) -> float:  # mean absolute Laplacian of the decoded luma
        y = np.asarray(Image.open(io.BytesIO(data)).convert("L"), np.float64)
        return float(
            np.abs(
                4 * y[1:-1, 1:-1] - y[:-2, 1:-1] - y[2:, 1:-1] - y[1:-1, :-2] - y[1:-1, 2:]
            ).mean()
        )

    assert detail(kept) > detail(plain)


def test_greyscale(photo: Image.Image) -> None:
    grey = photo.convert("L")
    data = write_coefficients(grey, machine_tables(50, *grey.size)[:1], energy=0.5)
    assert Image.open(io.BytesIO(data)).mode == "L"
    assert_decodes(data, grey.size)


def test_pillow_options_pass_through(photo: Image.Image) -> None:
    tables = machine_tables(50, *photo.size)
    data = write_coefficients(
        photo, tables, energy=0.5, progressive=True, optimize=True, comment=b"hi", dpi=(72, 72)
    )
    with Image.open(io.BytesIO(data)) as im:
        assert im.info.get("progressive") == 1
        assert im.info["comment"] == b"hi"
        assert im.info["dpi"] == (72, 72)
    assert_decodes(data, photo.size)


@pytest.mark.skipif(shutil.which("djpeg") is None, reason="djpeg not installed")
def test_djpeg_reads_it(photo: Image.Image, tmp_path: Path) -> None:
    path = tmp_path / "x.jpg"
    path.write_bytes(write_coefficients(photo, machine_tables(30, *photo.size), energy=0.5))
    out = subprocess.run(
        ["djpeg", "-outfile", str(tmp_path / "x.ppm"), str(path)], capture_output=True
    )
    assert out.returncode == 0, out.stderr
    assert Image.open(tmp_path / "x.ppm").size == photo.size
