"""``jpegsal.reencode(tables="standard")``: libjpeg's tables applied to the stored levels."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_decodes, pillow_jpeg
from PIL import Image

import jpegsal
from jpegsal.codec import turbojpeg
from jpegsal.codec.requantise import OPTIMIZED, jpeg_tables
from jpegsal.codec.tables import standard_tables
from jpegsal.reencode import reencode_with_info

pytestmark = pytest.mark.skipif(
    not turbojpeg.available(), reason="no TurboJPEG 2.0+ library (libturbojpeg) on this machine"
)


@pytest.fixture(scope="module")
def photo(odd_photo: Image.Image) -> Image.Image:
    return odd_photo.convert("RGB")


def _rgb(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.float64)


def _mse(data: bytes, reference: np.ndarray) -> float:
    return float(((_rgb(data) - reference) ** 2).mean())


@pytest.mark.parametrize("subsampling", [0, 1, 2])
@pytest.mark.parametrize("progressive", [False, True])
def test_standard_tables_in_the_dct_domain_keep_the_layout(
    photo: Image.Image, subsampling: int, progressive: bool
) -> None:
    src = pillow_jpeg(photo, quality=92, subsampling=subsampling)
    result = reencode_with_info(src, quality=50, tables="standard", progressive=progressive)
    assert (result.path, result.reason) == ("dct", None)  # every layout: it is kept
    assert_decodes(result.data, photo.size)
    got = Image.open(io.BytesIO(result.data))
    assert got.layer == Image.open(io.BytesIO(src)).layer
    assert bool(got.info.get("progressive")) == progressive
    # q50's standard tables are coarser than q92's everywhere: they are the ones written.
    new, _ = jpeg_tables(result.data)
    for tid, want in enumerate(standard_tables(50)):
        assert np.array_equal(new[tid], want.ravel().astype(int))


def test_no_more_loss_than_decoding_and_saving(photo: Image.Image) -> None:
    # The same tables as Pillow's save at that quality, with no second pass through pixels:
    # closer to the input, in fewer bytes (Huffman tables optimised on both sides).
    src = pillow_jpeg(photo, quality=90)
    decoded = _rgb(src)
    for quality in (30, 50, 70):
        ours = jpegsal.reencode(src, quality=quality, tables="standard")
        theirs = pillow_jpeg(Image.open(io.BytesIO(src)), quality=quality, optimize=True)
        assert _mse(ours, decoded) < _mse(theirs, decoded)
        assert len(ours) <= 1.01 * len(theirs)


def test_the_fallback_is_pillows_save(photo: Image.Image) -> None:
    src = pillow_jpeg(photo.convert("CMYK"), quality=90)
    result = reencode_with_info(src, quality=30, tables="standard", keep_metadata=False)
    assert (result.path, result.reason) == ("pixels", "four components (CMYK/YCCK)")
    assert result.data == pillow_jpeg(Image.open(io.BytesIO(src)), quality=30, optimize=True)


def test_the_machine_tables_stay_the_default(photo: Image.Image) -> None:
    src = pillow_jpeg(photo, quality=92)
    machine = jpegsal.reencode(src, quality=50, tables="machine")
    standard = jpegsal.reencode(src, quality=50, tables="standard")
    assert jpegsal.reencode(src, quality=50) == machine != standard
    # 4:4:4: the machine tables write 4:2:0 (resampled), the standard ones keep the layout.
    src = pillow_jpeg(photo, quality=92, subsampling=0)
    layers = [
        Image.open(io.BytesIO(jpegsal.reencode(src, quality=50, tables=t))).layer
        for t in ("machine", "standard")
    ]
    assert [f[1:3] for f in layers[1]] == [(1, 1)] * 3
    if OPTIMIZED:
        assert [f[1:3] for f in layers[0]] == [(2, 2), (1, 1), (1, 1)]


def test_bad_tables_options(photo: Image.Image) -> None:
    src = pillow_jpeg(photo, quality=90)
    with pytest.raises(ValueError, match="tables must be one of 'machine' or 'standard'"):
        jpegsal.reencode(src, tables="pillow")
    with pytest.raises(TypeError, match="tables must be one of"):
        jpegsal.reencode(src, tables=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="classifier_side shapes the machine tables"):
        jpegsal.reencode(src, tables="standard", classifier_side=160)
    with pytest.raises(ValueError, match="classifier_side"):
        jpegsal.reencode(src, classifier_side=8)


@pytest.mark.skipif(shutil.which("djpeg") is None, reason="djpeg not installed")
@pytest.mark.parametrize(
    "options",
    [{"subsampling": 1}, {"subsampling": 0, "restart_marker_blocks": 3}, {"progressive": True}],
)
def test_djpeg_reads_every_layout(
    photo: Image.Image, options: dict[str, object], tmp_path: Path
) -> None:
    src = pillow_jpeg(photo, quality=90, **options)
    out = reencode_with_info(src, quality=40, tables="standard")
    assert out.path == "dct"
    (tmp_path / "x.jpg").write_bytes(out.data)
    cmd = ["djpeg", "-outfile", str(tmp_path / "x.ppm"), str(tmp_path / "x.jpg")]
    done = subprocess.run(cmd, capture_output=True)
    assert (done.returncode, done.stderr) == (0, b"")  # no warning either
    with Image.open(tmp_path / "x.ppm") as im:
        assert im.size == photo.size
