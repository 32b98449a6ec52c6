"""Byte parity with Pillow (method=None) over a grid of options, and atomic writes."""

from __future__ import annotations

import io
import itertools
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import assert_decodes, pillow_jpeg
from PIL import Image, JpegPresets

import jpegsal
from jpegsal.codec import write_atomic

GRID = list(
    itertools.product(
        [None, 1, 10, 50, 75, 90, 100],  # quality (None: Pillow's default)
        [None, 0, 1, 2, "4:2:0"],  # subsampling
        [False, True],  # progressive
        [False, True],  # optimize
    )
)


def _opts(quality: Any, subsampling: Any, progressive: bool, optimize: bool) -> dict[str, Any]:
    opts: dict[str, Any] = {"progressive": progressive, "optimize": optimize}
    if quality is not None:
        opts["quality"] = quality
    if subsampling is not None:
        opts["subsampling"] = subsampling
    return opts


@pytest.mark.parametrize(("quality", "subsampling", "progressive", "optimize"), GRID)
def test_parity_grid_rgb(
    rgb: Image.Image, quality: Any, subsampling: Any, progressive: bool, optimize: bool
) -> None:
    opts = _opts(quality, subsampling, progressive, optimize)
    assert jpegsal.encode(rgb, **opts) == pillow_jpeg(rgb, **opts)


@pytest.mark.parametrize("mode", ["L", "1", "CMYK", "RGBX", "YCbCr"])
@pytest.mark.parametrize("quality", [None, 20, 95])
def test_parity_other_writable_modes(rgb: Image.Image, mode: str, quality: Any) -> None:
    image = rgb.convert(mode)
    opts = {} if quality is None else {"quality": quality}
    data = jpegsal.encode(image, **opts)
    assert data == pillow_jpeg(image, **opts)
    assert_decodes(data, image.size)


@pytest.mark.parametrize(
    "extra",
    [
        {"qtables": "web_low"},
        {"qtables": [[3] * 64, [5] * 64]},
        {"qtables": [[3] * 64], "quality": 75},
        {"qtables": {0: list(range(1, 65))}, "quality": 30},
        {"restart_marker_blocks": 4},
        {"restart_marker_rows": 2},
        {"dpi": (300, 150.4)},
        {"comment": b"jpegsal"},
        {"comment": "text comment"},
        {"exif": b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x00"},
        {"icc_profile": bytes(range(256)) * 300},  # spans two APP2 markers
        {"xmp": b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>"},
        {"smooth": 30},
        {"keep_rgb": True, "subsampling": 0},
        {"quality": 50, "subsampling": "4:4:4", "progressive": True, "restart_marker_rows": 1},
    ],
)
def test_parity_metadata_and_rare_options(rgb: Image.Image, extra: dict[str, Any]) -> None:
    assert jpegsal.encode(rgb, **extra) == pillow_jpeg(rgb, **extra)


@pytest.mark.parametrize("preset", ["web_low", "web_high", "maximum", "low", "high"])
def test_parity_presets(rgb: Image.Image, preset: str) -> None:
    assert preset in JpegPresets.presets
    assert jpegsal.encode(rgb, quality=preset) == pillow_jpeg(rgb, quality=preset)


def test_parity_keep_from_jpeg_source(rgb: Image.Image) -> None:
    jpeg = Image.open(io.BytesIO(pillow_jpeg(rgb, quality=33, subsampling=1, comment=b"c")))
    for opts in ({"quality": "keep"}, {"subsampling": "keep"}, {"qtables": "keep"}, {}):
        assert jpegsal.encode(jpeg, **opts) == pillow_jpeg(jpeg, **opts), opts


def test_parity_for_path_bytes_and_file_inputs(tmp_path: Path, rgb: Image.Image) -> None:
    src = tmp_path / "in.png"
    rgb.save(src)
    with Image.open(src) as im:
        expected = pillow_jpeg(im, quality=60)
    assert jpegsal.encode(src, quality=60) == expected
    assert jpegsal.encode(str(src), quality=60) == expected
    assert jpegsal.encode(src.read_bytes(), quality=60) == expected
    with open(src, "rb") as f:
        assert jpegsal.encode(f, quality=60) == expected


def test_save_matches_pillow_save(tmp_path: Path, rgb: Image.Image) -> None:
    ours, theirs = tmp_path / "ours.jpg", tmp_path / "theirs.jpg"
    jpegsal.save(rgb, ours, quality=42, optimize=True)
    rgb.save(theirs, "JPEG", quality=42, optimize=True)
    assert ours.read_bytes() == theirs.read_bytes()
    buf = io.BytesIO()
    jpegsal.save(rgb, buf, quality=42, optimize=True)
    assert buf.getvalue() == theirs.read_bytes()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".jpegsal-")] == []


def test_save_rejects_text_file_and_bad_target(tmp_path: Path, rgb: Image.Image) -> None:
    with open(tmp_path / "t.txt", "w") as f, pytest.raises(TypeError, match="text mode"):
        jpegsal.save(rgb, f)
    with pytest.raises(TypeError, match="fp must be a path or a binary file object"):
        jpegsal.save(rgb, 42)  # type: ignore[arg-type]


def test_lower_quality_gives_smaller_file(rgb: Image.Image) -> None:
    sizes = [len(jpegsal.encode(rgb, quality=q)) for q in (10, 30, 50, 70, 90)]
    assert sizes == sorted(sizes)


def test_write_atomic_no_clobber(tmp_path: Path) -> None:
    target = tmp_path / "out.jpg"
    target.write_bytes(b"old")
    with pytest.raises(FileExistsError, match="output exists"):
        write_atomic(b"new", target, overwrite=False)
    assert target.read_bytes() == b"old"
    write_atomic(b"new", target)
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jpg"]


def test_write_atomic_failure_keeps_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.jpg"
    target.write_bytes(b"old")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(b"new", target)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jpg"]


def test_write_atomic_mode_follows_umask(tmp_path: Path) -> None:
    target = tmp_path / "out.jpg"
    write_atomic(b"x", target)
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask


def test_output_decodes_everywhere(rgb: Image.Image) -> None:
    for opts in ({}, {"progressive": True}, {"subsampling": 0, "quality": 95}):
        assert_decodes(jpegsal.encode(rgb, **opts), rgb.size)
    assert_decodes(jpegsal.encode(np.zeros((1, 1), np.uint8)), (1, 1))


def test_write_atomic_errors_name_the_target(tmp_path: Path) -> None:
    folder = tmp_path / "out.jpg"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match="is a directory") as e:
        write_atomic(b"x", folder)
    assert ".jpegsal-" not in str(e.value)
    missing = tmp_path / "no" / "such" / "out.jpg"
    with pytest.raises(FileNotFoundError, match="cannot write") as e2:
        write_atomic(b"x", missing)
    assert str(missing) in str(e2.value)
    assert ".jpegsal-" not in str(e2.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jpg"]


def test_pillow_compat_comment_removal_and_subsampling_3(rgb: Image.Image) -> None:
    # As Pillow: an explicit empty or None comment removes the source's; 3 is the default.
    src = Image.open(io.BytesIO(pillow_jpeg(rgb, comment=b"old")))
    for comment in ("", b"", None):
        out = Image.open(io.BytesIO(jpegsal.encode(src, comment=comment)))
        assert "comment" not in out.info
    kept = Image.open(io.BytesIO(jpegsal.encode(src)))
    assert kept.info["comment"] == b"old"
    assert jpegsal.encode(rgb, subsampling=3) == pillow_jpeg(rgb, subsampling=3)


def test_pillow_compat_progression_alias_and_streamtype(rgb: Image.Image) -> None:
    # Pillow's old alias turns progressive on; streamtype 1/2 are tables-only and
    # image-only streams, byte-identical to Pillow's, which together decode as one file.
    for flag in (0, 1):
        assert jpegsal.encode(rgb, progression=flag) == pillow_jpeg(rgb, progression=flag)
    assert jpegsal.encode(rgb, progression=True) == pillow_jpeg(rgb, progressive=True)
    parts = [jpegsal.encode(rgb, streamtype=t) for t in (1, 2)]
    assert parts == [pillow_jpeg(rgb, streamtype=t) for t in (1, 2)]
    assert b"\xff\xda" not in parts[0]  # tables only: no scan
    assert b"\xff\xdb" not in parts[1]  # image only: no quantisation tables
    with Image.open(io.BytesIO(parts[0] + parts[1])) as joined:
        assert joined.size == rgb.size  # Pillow reads the two streams as one file
    with pytest.raises(ValueError, match="streamtype=1 writes a partial stream"):
        jpegsal.encode(rgb, streamtype=1, target_bytes=2000)
    with pytest.raises(TypeError, match="subsampling must be one of"):
        jpegsal.encode(rgb, subsampling="1:1:1")  # Pillow: TypeError too
