"""``classifier_side=``: the machine preset's tables for the downstream classifier's input.

Each entry point (API, Encoder, CLI, the predicted-KL ``preserve``, the DCT path of JPEG
files, ``jpegsal.reencode``) must write the tables of the side it was given: a test here
fails if any of them silently falls back to the default 224.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import jpegsal
from jpegsal.cli import main
from jpegsal.codec import turbojpeg
from jpegsal.codec.coefficients import predicted_kl, sample_blocks
from jpegsal.codec.machine import CLASSIFIER_SIDE, MachineTables, fisher_at, machine_tables
from jpegsal.reencode import reencode_with_info


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    path = Path(jpegsal.__file__).parent / "data" / "kodim23.png"
    return Image.open(path).convert("RGB").resize((384, 256))


@pytest.fixture
def png(tmp_path: Path, photo: Image.Image) -> Path:
    """The photo as a PNG file, a CLI input."""
    path = tmp_path / "in.png"
    photo.save(path)
    return path


def _tables(data: bytes) -> list[np.ndarray]:
    """The file's [luma, chroma] tables in natural order (Pillow's ``quantization``)."""
    with Image.open(io.BytesIO(data)) as im:
        return [np.array(im.quantization[k]).reshape(8, 8) for k in sorted(im.quantization)]


def _expected(quality: int, size: tuple[int, int], side: int) -> list[np.ndarray]:
    return [t.astype(int) for t in machine_tables(quality, *size, MachineTables(side=side))]


def test_the_side_is_the_ratio_of_the_image_to_it() -> None:
    # 320 px for a 160-pixel classifier is 448 px for a 224-pixel one: ratio 2 both.
    for q in (20, 50, 90):
        got = machine_tables(q, 320, 320, MachineTables(side=160))
        np.testing.assert_array_equal(np.stack(got), np.stack(machine_tables(q, 448, 448)))
    np.testing.assert_array_equal(fisher_at(320, 320, 160), fisher_at(448, 448))
    assert MachineTables().side == CLASSIFIER_SIDE == 224


def test_the_api_writes_the_tables_of_the_side(photo: Image.Image) -> None:
    # allocate=False: the tables of quality 50 itself (the per-image choice has its tests).
    small = jpegsal.encode(photo, preset="machine", quality=50, classifier_side=160, allocate=False)
    default = jpegsal.encode(photo, preset="machine", quality=50, allocate=False)
    for got, want in zip(_tables(small), _expected(50, photo.size, 160), strict=True):
        np.testing.assert_array_equal(got, want)
    assert not all(
        np.array_equal(a, b) for a, b in zip(_tables(small), _tables(default), strict=True)
    )
    # The default side is 224 whether given or not.
    again = jpegsal.encode(photo, preset="machine", quality=50, classifier_side=224, allocate=False)
    assert again == default
    encoder = jpegsal.Encoder(preset="machine", classifier_side=160, allocate=False)
    assert encoder.encode(photo, quality=50) == small
    assert encoder.encode(photo, quality=50, classifier_side=224) == default


def test_the_cli_passes_the_side(tmp_path: Path, png: Path, photo: Image.Image) -> None:
    out = tmp_path / "out.jpg"
    argv = ["encode", str(png), "-o", str(out), "--preset", "machine", "--quality", "50"]
    assert main([*argv, "--classifier-side", "160"]) == 0
    assert out.read_bytes() == jpegsal.encode(
        photo, preset="machine", quality=50, classifier_side=160
    )


def test_the_cli_names_a_side_without_the_preset(
    tmp_path: Path, png: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.jpg"
    assert main(["encode", str(png), "-o", str(out), "--classifier-side", "160"]) == 2
    assert "--preset machine" in capsys.readouterr().err
    assert not out.exists()


def test_preserve_predicts_with_the_side(photo: Image.Image) -> None:
    small = jpegsal.Encoder(preset="machine", classifier_side=160)
    got = small.encode_with_info(photo, preserve=0.004)
    default = jpegsal.Encoder(preset="machine").encode_with_info(photo, preserve=0.004)
    w, h = photo.size
    tables = machine_tables(got.quality, w, h, MachineTables(side=160))
    want = predicted_kl(sample_blocks(photo), tables, fisher_at(w, h, 160))
    assert got.kl == pytest.approx(want)
    assert got.kl != default.kl
    for a, b in zip(_tables(got.data), _expected(got.quality, photo.size, 160), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.skipif(not turbojpeg.available(), reason="no TurboJPEG 2.0+ library on this machine")
def test_jpeg_files_take_the_side_on_the_dct_path(photo: Image.Image) -> None:
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=95)  # 4:2:0, the DCT path's input
    src = buf.getvalue()
    got = jpegsal.Encoder(preset="machine", progressive=True).encode_with_info(
        src, quality=50, classifier_side=160
    )
    assert got.path == "dct"
    for a, b in zip(_tables(got.data), _expected(got.quality, photo.size, 160), strict=True):
        np.testing.assert_array_equal(a, b)
    direct = reencode_with_info(src, quality=got.quality, progressive=True, classifier_side=160)
    assert direct.path == "dct"
    assert direct.data == got.data


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"classifier_side": 160}, ValueError, "classifier_side .* pass preset='machine'"),
        ({"preset": "machine", "classifier_side": 8}, ValueError, r"classifier_side .* 16\.\.4096"),
        ({"preset": "machine", "classifier_side": 5000}, ValueError, "classifier_side"),
        ({"preset": "machine", "classifier_side": "160"}, TypeError, "classifier_side"),
        ({"preset": "machine", "classifier_side": 160.0}, TypeError, "classifier_side"),
    ],
)
def test_bad_sides_name_the_option(
    photo: Image.Image, kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        jpegsal.encode(photo, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(error, match=match):
        jpegsal.Encoder(**kwargs)  # type: ignore[arg-type]


def test_reencode_names_a_bad_side() -> None:
    with pytest.raises(ValueError, match=r"classifier_side must be an int in 16\.\.4096, got 0"):
        jpegsal.reencode(b"\xff\xd8", classifier_side=0)
