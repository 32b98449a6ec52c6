"""The machine preset's last step: the same pixels with fewer header and Huffman bytes
(one segment per kind of table; chroma on luma's Huffman tables where that is smaller)."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import pillow_jpeg
from PIL import Image

import jpegsal
from jpegsal.codec import compacted
from jpegsal.codec.lossless import RECODE_SHARE
from jpegsal.codec.markers import huffman_share, merged_tables, segments
from jpegsal.codec.options import JpegOptions
from jpegsal.codec.requantise import OPTIMIZED

DQT, SOF0, DHT, SOS = 0xDB, 0xC0, 0xC4, 0xDA


def _kinds(data: bytes) -> list[int]:
    return [marker for marker, _, _ in segments(data)]


def _segments_of_tables(data: bytes) -> tuple[int, int]:
    """(DQT, DHT) segments in the header."""
    return _kinds(data).count(DQT), _kinds(data).count(DHT)


def _pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def _noise(size: tuple[int, int]) -> Image.Image:
    return Image.effect_noise(size, 30).convert("RGB")


def test_merged_tables_keeps_every_table_in_one_segment_per_kind(rgb: Image.Image) -> None:
    data = pillow_jpeg(rgb, quality=60, restart_marker_blocks=2, comment=b"note")
    assert _segments_of_tables(data) == (2, 4)
    out = merged_tables(data)
    assert len(data) - len(out) == 16  # one DQT (4 bytes) and three DHT headers fewer
    assert _segments_of_tables(out) == (1, 1)
    assert np.array_equal(_pixels(out), _pixels(data))
    with Image.open(io.BytesIO(out)) as im:
        assert im.info["comment"] == b"note"
    assert merged_tables(out) == out
    assert merged_tables(data[:20]) == data[:20]  # no scan header: left alone


def test_a_progressive_files_later_tables_are_left(rgb: Image.Image) -> None:
    data = pillow_jpeg(rgb, quality=60, progressive=True, optimize=True)
    out = merged_tables(data)
    scans = data[segments(data)[-1][2] :]  # from the first scan's data on: the later DHTs too
    assert out.endswith(scans)
    assert len(out) < len(data)
    assert _segments_of_tables(out) == (1, 1)
    assert scans.count(b"\xff\xc4") > 0
    assert np.array_equal(_pixels(out), _pixels(data))


@pytest.mark.skipif(not OPTIMIZED, reason="the libjpeg route was not built")
def test_compacted_shares_tables_on_small_files_only() -> None:
    small = pillow_jpeg(_noise((64, 48)), quality=40, optimize=True)
    assert huffman_share(small) >= RECODE_SHARE
    out = compacted(small, JpegOptions(optimize=True))
    assert _kinds(out) == [0xE0, DQT, SOF0, DHT, SOS]
    assert len(out) < len(merged_tables(small)) < len(small)  # the re-code saved more
    assert np.array_equal(_pixels(out), _pixels(small))
    # A large file skips the re-code (a few dozen bytes for 4 ms per MP): merged only.
    large = pillow_jpeg(_noise((1024, 768)), quality=90, optimize=True)
    assert huffman_share(large) < RECODE_SHARE
    assert compacted(large, JpegOptions(optimize=True)) == merged_tables(large)


@pytest.mark.skipif(not OPTIMIZED, reason="the libjpeg route was not built")
def test_a_recode_that_came_out_longer_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    from jpegsal.codec import lossless

    small = pillow_jpeg(_noise((64, 48)), quality=40, optimize=True)
    merged = merged_tables(small)
    longer = merged[:2] + b"\xff\xfe\x00\x03x" + merged[2:]  # a comment more, as a stand-in
    monkeypatch.setattr(lossless, "huffman_optimized", lambda data: longer)
    assert compacted(small, JpegOptions(optimize=True)) == merged


def test_compacted_leaves_what_was_asked_otherwise() -> None:
    small = _noise((64, 48))
    standard = pillow_jpeg(small, quality=40)  # optimize=False: libjpeg's standard tables
    assert compacted(standard, JpegOptions()) == standard
    progressive = pillow_jpeg(small, quality=40, optimize=True, progressive=True)
    out = compacted(progressive, JpegOptions(optimize=True, progressive=True))
    assert out == merged_tables(progressive)  # no baseline re-code
    with Image.open(io.BytesIO(out)) as im:
        assert im.info.get("progressive")


@pytest.mark.skipif(not OPTIMIZED, reason="the libjpeg route was not built")
def test_the_preset_writes_compact_files_every_decoder_reads(tmp_path: Path) -> None:
    image = _noise((96, 80))
    plain = jpegsal.encode(image, preset="machine", quality=50, allocate=False)
    assert _segments_of_tables(plain) == (1, 1)
    # Pillow with the same (fitted) pixels and tables, then the step: the same bytes.
    with Image.open(io.BytesIO(plain)) as im:
        tables = [list(t) for t in im.quantization.values()]
    from jpegsal.codec.chroma import sharp_chroma

    buf = io.BytesIO()
    sharp_chroma(image).save(buf, "JPEG", qtables=tables, optimize=True)
    assert len(plain) < len(buf.getvalue())
    assert np.array_equal(_pixels(plain), _pixels(buf.getvalue()))
    decoded = cv2.imdecode(np.frombuffer(plain, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]
    assert np.abs(decoded.astype(int) - _pixels(plain)).max() <= 1
    if shutil.which("djpeg"):
        (tmp_path / "x.jpg").write_bytes(plain)
        cmd = ["djpeg", "-outfile", str(tmp_path / "x.ppm"), str(tmp_path / "x.jpg")]
        assert subprocess.run(cmd, capture_output=True).returncode == 0
    # JPEG files on the DCT route come out compact too.
    again = jpegsal.encode(buf.getvalue(), preset="machine", quality=30, allocate=False)
    assert _segments_of_tables(again) == (1, 1)
