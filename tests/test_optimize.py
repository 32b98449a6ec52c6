"""jpegsal.optimize: JPEG in, JPEG out, the same pixels, fewer bytes (or the same bytes)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_decodes, pillow_jpeg
from PIL import Image

import jpegsal
from jpegsal.cli import main

pytest.importorskip("jpeglib", reason="jpeglib (extra 'jpeg') not installed")


@pytest.fixture(scope="module")
def photo(odd_photo: Image.Image) -> Image.Image:
    return odd_photo


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"subsampling": 0},
        {"subsampling": 1},
        {"progressive": True},
        {"restart_marker_blocks": 3},
        {"quality": 95, "subsampling": 2},
    ],
)
def test_pixels_identical_and_smaller(photo: Image.Image, options: dict[str, object]) -> None:
    data = pillow_jpeg(photo, **options)
    out = jpegsal.optimize(data)
    assert len(out) < len(data)
    assert np.array_equal(_pixels(out), _pixels(data))
    assert_decodes(out, photo.size)
    assert Image.open(io.BytesIO(out)).quantization == Image.open(io.BytesIO(data)).quantization


@pytest.mark.parametrize("mode", ["L", "CMYK"])
def test_greyscale_and_cmyk(photo: Image.Image, mode: str) -> None:
    data = pillow_jpeg(photo.convert(mode))
    out = jpegsal.optimize(data)
    assert np.array_equal(_pixels(out), _pixels(data))
    assert Image.open(io.BytesIO(out)).mode == mode


def test_metadata_kept(photo: Image.Image, tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    data = pillow_jpeg(photo, exif=exif.tobytes(), icc_profile=b"icc" * 50, comment=b"note")
    (tmp_path / "x.jpg").write_bytes(data)
    for src in (tmp_path / "x.jpg", str(tmp_path / "x.jpg"), data, io.BytesIO(data)):
        out = Image.open(io.BytesIO(jpegsal.optimize(src)))
        assert out.getexif()[0x0112] == 6
        assert out.info["icc_profile"] == b"icc" * 50
        assert out.info["comment"] == b"note"


def test_progressive(photo: Image.Image) -> None:
    from jpegsal.codec import turbojpeg

    if not turbojpeg.available():
        pytest.skip("no TurboJPEG 2.0+ library (libturbojpeg) on this machine")
    exif = Image.Exif()
    exif[0x0112] = 3
    with Image.open(Path(jpegsal.__file__).parent / "data" / "kodim23.png") as im:
        big = im.convert("RGB")  # progressive pays off above a few kB, not on thumbnails
    data = pillow_jpeg(big, quality=90, exif=exif.tobytes(), icc_profile=b"p" * 300, optimize=True)
    out = jpegsal.optimize(data, progressive=True)
    im = Image.open(io.BytesIO(out))
    assert im.info.get("progressive")
    assert len(out) < len(data)  # already optimised tables: progressive still gains
    assert np.array_equal(_pixels(out), _pixels(data))
    assert im.getexif()[0x0112] == 3
    assert im.info["icc_profile"] == b"p" * 300
    base = jpegsal.optimize(data)  # Pillow's tables are optimised: only the header shrinks
    assert len(data) > len(base) >= len(data) - 128
    assert jpegsal.optimize(base) == base  # then nothing is left to gain: unchanged
    with pytest.raises(TypeError, match="progressive must be a bool"):
        jpegsal.optimize(data, progressive="yes")


def test_never_bigger(photo: Image.Image) -> None:
    from jpegsal.codec.lossless import optimize_with_info

    once = optimize_with_info(pillow_jpeg(photo))
    twice = optimize_with_info(once.data)  # already optimal: nothing to gain
    assert not once.unchanged
    assert twice.data == once.data
    assert twice.unchanged


def test_bad_inputs(photo: Image.Image) -> None:
    buf = io.BytesIO()
    photo.save(buf, "PNG")
    with pytest.raises(ValueError, match="not a JPEG file"):
        jpegsal.optimize(buf.getvalue())
    with pytest.raises(TypeError, match="src must be a path, bytes"):
        jpegsal.optimize(3)
    with pytest.raises(ValueError, match="corrupt must be 'error' or 'ignore'"):
        jpegsal.optimize(pillow_jpeg(photo), corrupt="warn")
    truncated = pillow_jpeg(photo)[:400]
    with pytest.raises(OSError, match="<bytes>"):
        jpegsal.optimize(truncated)


def test_damaged_input_is_refused_and_nothing_is_lost(
    rgb: Image.Image, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from test_inputs import _damaged_jpeg, needs_turbojpeg

    if needs_turbojpeg.args[0]:
        pytest.skip(needs_turbojpeg.kwargs["reason"])
    bad = _damaged_jpeg(rgb)
    with pytest.raises(OSError, match="corrupt JPEG data in '<bytes>'"):
        jpegsal.optimize(bad)
    with pytest.raises(OSError, match=r"cannot re-code '<bytes>': TurboJPEG: Corrupt JPEG data"):
        jpegsal.optimize(bad, progressive=True)  # the transform itself refuses the damage
    (tmp_path / "bad.jpg").write_bytes(bad)
    assert main(["optimize", str(tmp_path / "bad.jpg"), "-o", str(tmp_path / "o.jpg")]) == 1
    assert "corrupt JPEG data" in capsys.readouterr().err
    assert not (tmp_path / "o.jpg").exists()
    assert (tmp_path / "bad.jpg").read_bytes() == bad


def test_cli_batch(photo: Image.Image, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    (src / "a.jpg").write_bytes(pillow_jpeg(photo))
    (src / "sub" / "b.jpeg").write_bytes(pillow_jpeg(photo, quality=50))
    photo.save(src / "c.png")  # not a JPEG: not scanned
    out = tmp_path / "out"
    assert main(["optimize", str(src), "--out-dir", str(out), "-r", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(Path(r["output"]).relative_to(out).as_posix() for r in rows) == [
        "a.jpg",
        "sub/b.jpg",
    ]
    for r in rows:
        assert r["bytes_out"] < r["bytes_in"]
        assert r["note"] == "pixels unchanged"
        assert np.array_equal(
            _pixels(Path(r["output"]).read_bytes()), _pixels(Path(r["input"]).read_bytes())
        )


@pytest.mark.skipif(shutil.which("djpeg") is None, reason="djpeg not installed")
def test_djpeg_reads_it(photo: Image.Image, tmp_path: Path) -> None:
    (tmp_path / "x.jpg").write_bytes(jpegsal.optimize(pillow_jpeg(photo)))
    cmd = ["djpeg", "-outfile", str(tmp_path / "x.ppm"), str(tmp_path / "x.jpg")]
    assert subprocess.run(cmd, capture_output=True).returncode == 0


def test_without_jpeglib_the_error_names_both_ways_out(
    photo: Image.Image, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jpegsal.codec.lossless as lossless

    def missing(module: str) -> None:
        raise ImportError(f"{module} is needed ... pip install 'jpegsal[jpeg]'")

    monkeypatch.setattr(lossless, "require", missing)
    monkeypatch.setattr(lossless, "OPTIMIZED", False)  # as where libjpeg's route is not built
    with pytest.raises(ImportError, match=r"jpegsal\[jpeg\].*progressive=True"):
        jpegsal.optimize(pillow_jpeg(photo))


def test_progressive_keeps_the_smaller_of_turbojpeg_and_mozjpeg(photo: Image.Image) -> None:
    from jpegsal.codec import turbojpeg
    from jpegsal.codec.lossless import _mozjpeg

    if not turbojpeg.available():
        pytest.skip("no libturbojpeg")
    exif = Image.Exif()
    exif[0x0112] = 6
    data = pillow_jpeg(photo, quality=80, exif=exif.tobytes(), icc_profile=b"q" * 200)
    moz = _mozjpeg(data, "photo")
    turbo = turbojpeg.transform(data, progressive=True, strict=True)
    assert moz != data  # mozjpeg did run
    for candidate in (moz, turbo):
        assert np.array_equal(_pixels(candidate), _pixels(data))
    kept = Image.open(io.BytesIO(moz))
    assert kept.info.get("icc_profile") == b"q" * 200
    assert kept.getexif()[0x0112] == 6
    assert kept.info.get("progressive")
    out = jpegsal.optimize(data, progressive=True)
    assert len(out) == min(len(moz), len(turbo), len(data))


def test_baseline_routes_same_pixels_restart_markers_kept_by_libjpegs(
    photo: Image.Image, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jpegsal.codec.lossless as lossless
    from jpegsal.codec.requantise import OPTIMIZED

    data = pillow_jpeg(photo, restart_marker_blocks=3, comment=b"kept")
    if OPTIMIZED:  # the compiled route: restart interval and markers as they were
        out = jpegsal.optimize(data)
        assert b"\xff\xdd\x00\x04\x00\x03" in out  # DRI, 3 MCUs
        assert np.array_equal(_pixels(out), _pixels(data))
        assert Image.open(io.BytesIO(out)).info["comment"] == b"kept"
    monkeypatch.setattr(lossless, "OPTIMIZED", False)  # jpeglib's: restart markers go
    out = jpegsal.optimize(data)
    assert b"\xff\xdd" not in out
    assert np.array_equal(_pixels(out), _pixels(data))
