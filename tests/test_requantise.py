"""Re-encoding a JPEG in the DCT domain: the stored levels requantised to new tables."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import assert_decodes, pillow_jpeg
from PIL import Image

import jpegsal
from jpegsal.codec import turbojpeg
from jpegsal.codec.machine import machine_tables
from jpegsal.codec.requantise import COMPILED, OPTIMIZED, jpeg_tables, requantise

pytestmark = pytest.mark.skipif(
    not turbojpeg.available(), reason="no TurboJPEG 2.0+ library (libturbojpeg) on this machine"
)


@pytest.fixture(scope="module")
def photo(odd_photo: Image.Image) -> Image.Image:
    return odd_photo


def _rgb(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.float64)


def test_levels_are_the_stored_ones_requantised(photo: Image.Image) -> None:
    src = pillow_jpeg(photo, quality=95)
    tables = [np.clip(np.rint(t), 1, 255) for t in machine_tables(40, *photo.size)]
    out = requantise(src, tables)
    assert_decodes(out, photo.size)
    old, comps = jpeg_tables(src)
    new, comps_out = jpeg_tables(out)
    assert comps_out == comps == [0, 1, 1]
    for tid, want in ((0, tables[0]), (1, tables[1])):  # coarser of the two, entry by entry
        assert np.array_equal(new[tid], np.maximum(want.ravel().astype(int), old[tid]))
    # The decoded image is what quantising the stored coefficients to the new tables gives:
    # close to the pixel path's (which decodes, converts and quantises again).
    pixel = jpegsal.encode(Image.open(io.BytesIO(src)), preset="machine", quality=40)
    ours = np.abs(_rgb(out) - _rgb(src)).mean()
    theirs = np.abs(_rgb(pixel) - _rgb(src)).mean()
    assert ours < 1.2 * theirs
    assert len(out) < len(src)


def test_finer_tables_change_nothing(photo: Image.Image) -> None:
    src = pillow_jpeg(photo, quality=30)
    out = requantise(src, [np.ones(64), np.ones(64)])  # finer everywhere: stored ones kept
    assert np.array_equal(_rgb(out), _rgb(src))


@pytest.mark.parametrize(
    ("options", "path"),
    [
        ({}, "dct"),
        ({"progressive": True}, "dct"),
        ({"restart_marker_rows": 1}, "dct"),
        # The preset writes 4:2:0: resampled in the DCT domain by the libjpeg route, else
        # by the pixel path (tests/test_resample.py).
        ({"subsampling": 0}, "dct" if OPTIMIZED else "pixels"),
        ({"subsampling": 1}, "dct" if OPTIMIZED else "pixels"),
    ],
)
def test_paths_by_layout(photo: Image.Image, options: dict[str, object], path: str) -> None:
    from jpegsal.reencode import reencode_with_info

    src = pillow_jpeg(photo, quality=90, **options)
    result = reencode_with_info(src, quality=30)
    assert result.path == path
    assert (result.reason is None) == (path == "dct")
    assert_decodes(result.data, photo.size)
    assert len(result.data) < len(src)
    layer = Image.open(io.BytesIO(result.data)).layer
    assert [f[1:3] for f in layer] == [(2, 2), (1, 1), (1, 1)]  # 4:2:0 either way
    if path == "pixels":
        assert result.data == jpegsal.encode(src, preset="machine", quality=30, keep_metadata=True)


def test_cmyk_takes_the_pixel_path(photo: Image.Image) -> None:
    from jpegsal.reencode import reencode_with_info

    result = reencode_with_info(pillow_jpeg(photo.convert("CMYK"), quality=90), quality=30)
    assert (result.path, result.reason) == ("pixels", "four components (CMYK/YCCK)")


def test_greyscale_metadata_and_progressive_output(photo: Image.Image) -> None:
    exif = Image.Exif()
    exif[0x0112] = 8
    src = pillow_jpeg(photo.convert("L"), quality=90, exif=exif.tobytes(), comment=b"c")
    out = Image.open(io.BytesIO(jpegsal.reencode(src, quality=40, progressive=True)))
    assert out.mode == "L"
    assert out.info.get("progressive")
    assert out.getexif()[0x0112] == 8
    assert out.info["comment"] == b"c"


def test_never_bigger_and_bad_inputs(photo: Image.Image) -> None:
    # Finer tables keep the stored levels, and Pillow's tables are optimised already: only
    # the header shrinks (one segment per kind of table). Then nothing is left to gain, and
    # the input comes back.
    src = pillow_jpeg(photo, quality=5, optimize=True)
    once = jpegsal.reencode(src, quality=95)
    assert len(src) - 16 >= len(once) >= len(src) - 128
    assert jpegsal.reencode(once, quality=95) == once
    png = io.BytesIO()
    photo.save(png, "PNG")
    with pytest.raises(ValueError, match="not a JPEG file"):
        jpegsal.reencode(png.getvalue())
    with pytest.raises(ValueError, match=r"quality must be an int in 0\.\.100"):
        jpegsal.reencode(src, quality=101)
    with pytest.raises(ValueError, match="8-bit tables of 64 entries"):
        requantise(src, [np.full(64, 300)])
    # Cut inside the scan: the headers read, libjpeg stops at the premature end.
    with pytest.raises(OSError, match=r"cannot (re-encode|decode image) '<bytes>'"):
        jpegsal.reencode(pillow_jpeg(photo)[:500])


@pytest.mark.skipif(shutil.which("djpeg") is None, reason="djpeg not installed")
def test_djpeg_reads_it(photo: Image.Image, tmp_path: Path) -> None:
    (tmp_path / "x.jpg").write_bytes(jpegsal.reencode(pillow_jpeg(photo, quality=90), quality=30))
    cmd = ["djpeg", "-outfile", str(tmp_path / "x.ppm"), str(tmp_path / "x.jpg")]
    assert subprocess.run(cmd, capture_output=True).returncode == 0


def test_damaged_input_is_refused_unless_ignored(rgb: Image.Image) -> None:
    from test_inputs import _damaged_jpeg

    bad = _damaged_jpeg(rgb)
    with pytest.raises(OSError, match=r"cannot re-encode '<bytes>': .*Corrupt JPEG data"):
        jpegsal.reencode(bad, quality=30)
    assert_decodes(jpegsal.reencode(bad, quality=30, corrupt="ignore"), (192, 128))


def test_encode_routes_jpeg_files_under_the_preset(
    photo: Image.Image, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exif = Image.Exif()
    exif[0x010F] = "maker"
    src = pillow_jpeg(photo, quality=92, exif=exif.tobytes())
    (tmp_path / "a.jpg").write_bytes(src)
    enc = jpegsal.Encoder(preset="machine", quality=40, allocate=False)  # quality 40 as asked
    routed = enc.encode_with_info(tmp_path / "a.jpg", progressive=True)
    assert (routed.path, routed.path_reason, routed.quality) == ("dct", None, 40)
    # The same levels as jpegsal.reencode (which keeps the markers): the same pixels.
    same = jpegsal.reencode(src, quality=40, progressive=True)
    assert np.array_equal(_rgb(routed.data), _rgb(same))
    assert "exif" not in Image.open(io.BytesIO(routed.data)).info  # keep_metadata=False
    kept = enc.encode_with_info(src, progressive=True, keep_metadata=True)
    assert kept.data == jpegsal.reencode(src, quality=40, progressive=True)
    # Baseline output takes it too where libjpeg's route was built (optimised Huffman tables;
    # optimize=False: TurboJPEG's standard ones), and the pixel path, saying why, where not.
    base = enc.encode_with_info(src)
    if OPTIMIZED:
        assert (base.path, base.path_reason) == ("dct", None)
        assert base.data == jpegsal.reencode(src, quality=40, keep_metadata=False)
        standard = enc.encode_with_info(src, optimize=False)
        assert (standard.path, len(standard.data) > len(base.data)) == ("dct", True)
        assert standard.data == jpegsal.reencode(
            src, quality=40, keep_metadata=False, optimize=False
        )
    # (sys.modules: the package's name ``jpegsal.reencode`` is the function.)
    monkeypatch.setattr(sys.modules["jpegsal.reencode"], "OPTIMIZED", False)
    base = enc.encode_with_info(src)
    assert base.path == "pixels"
    assert "TurboJPEG 2.x cannot optimise Huffman tables" in (base.path_reason or "")
    pixels = Image.open(io.BytesIO(src))
    assert base.data == jpegsal.encode(pixels, preset="machine", quality=40, allocate=False)
    monkeypatch.undo()
    # Other options, a PIL image or a non-JPEG: the pixel path, with why.
    sub = enc.encode_with_info(src, progressive=True, subsampling=0)
    assert sub.path_reason == "options only the pixel path honours"
    as_image = enc.encode_with_info(Image.open(io.BytesIO(src)), progressive=True)
    assert (as_image.path, as_image.path_reason) == ("pixels", None)
    plain = jpegsal.Encoder(quality=40).encode_with_info(src, progressive=True)
    assert plain.path == "pixels"
    assert plain.data == pillow_jpeg(Image.open(io.BytesIO(src)), quality=40, progressive=True)


class _OneWay(io.RawIOBase):
    """A binary stream that cannot seek (a pipe, a socket)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        chunk = self._data.read(len(b))
        b[: len(chunk)] = chunk
        return len(chunk)


def test_binary_files_take_the_dct_route_as_bytes_do(photo: Image.Image, tmp_path: Path) -> None:
    src = pillow_jpeg(photo, quality=92)
    (tmp_path / "a.jpg").write_bytes(src)
    enc = jpegsal.Encoder(preset="machine", quality=40)
    as_bytes = enc.encode_with_info(src, progressive=True)
    assert as_bytes.path == "dct"
    buf = io.BytesIO()
    buf.write(src)  # left at its end: read from its start, as Pillow reads it, and left there
    routed = enc.encode_with_info(buf, progressive=True)
    assert (routed.path, routed.data, buf.tell()) == ("dct", as_bytes.data, len(src))
    with open(tmp_path / "a.jpg", "rb") as f:
        assert enc.encode_with_info(f, progressive=True).data == as_bytes.data
    # Options the DCT route cannot honour: the pixel path reads the same file.
    sub = enc.encode_with_info(buf, progressive=True, subsampling=0)
    assert sub.path_reason == "options only the pixel path honours"
    assert sub.data == enc.encode(src, progressive=True, subsampling=0)
    # A stream that cannot seek is read once, by the pixel path.
    one_way = enc.encode_with_info(io.BufferedReader(_OneWay(src)), progressive=True)
    assert (one_way.path, one_way.path_reason) == ("pixels", None)
    assert_decodes(one_way.data, photo.size)


class _Counting(io.BytesIO):
    """A binary file that records the size of every read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        out = super().read(size)
        self.reads.append(len(out))
        return out


def test_the_dct_route_reads_three_bytes_of_an_image_that_is_no_jpeg(photo: Image.Image) -> None:
    from jpegsal.reencode import dct_route

    png = io.BytesIO()
    photo.save(png, "PNG")
    f = _Counting(png.getvalue())
    assert dct_route(f, {}, {"preset": "machine"}) is None
    assert f.reads == [3]
    assert f.tell() == 0  # left where it was, for the pixel path
    f = _Counting(pillow_jpeg(photo))  # a JPEG whose options keep it off the route: 3 too
    assert dct_route(f, {"subsampling": 0}, {"preset": "machine"}) is not None
    assert f.reads == [3]


def test_a_file_without_scan_data_is_an_error(photo: Image.Image) -> None:
    # Found by tests/test_fuzz.py: with corrupt="ignore", TurboJPEG "transformed" a file
    # cut before its scan into zero bytes, which came back as the smaller output.
    src = pillow_jpeg(photo)
    headers = src[: src.index(b"\xff\xda")]
    # corrupt="ignore" falls back to the pixels as libjpeg decodes them: there are none.
    with pytest.raises(OSError, match="cannot decode image '<bytes>'"):
        jpegsal.reencode(headers, quality=30, corrupt="ignore")
    with pytest.raises(OSError, match="cannot re-code '<bytes>'"):
        jpegsal.optimize(headers, progressive=True, corrupt="ignore")


def test_reencode_can_drop_the_metadata(photo: Image.Image) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    src = pillow_jpeg(photo, quality=90, exif=exif.tobytes(), icc_profile=b"i" * 3000)
    kept = Image.open(io.BytesIO(jpegsal.reencode(src, quality=40)))
    dropped = jpegsal.reencode(src, quality=40, keep_metadata=False)
    assert kept.info["icc_profile"] == b"i" * 3000
    assert "icc_profile" not in Image.open(io.BytesIO(dropped)).info
    assert "exif" not in Image.open(io.BytesIO(dropped)).info
    assert np.array_equal(_rgb(dropped), np.asarray(kept.convert("RGB"), np.float64))


def test_damaged_data_never_comes_out_undecodable() -> None:
    # Found by tests/test_fuzz.py: a one-pixel file whose scan ends early. With
    # corrupt="ignore" TurboJPEG's transform wrote a file that Pillow refuses as truncated;
    # optimize now returns the input, reencode takes the pixel path.
    from conftest import TRUNCATED_SCAN

    out = jpegsal.optimize(TRUNCATED_SCAN, progressive=True, corrupt="ignore")
    assert out == TRUNCATED_SCAN
    from jpegsal.reencode import reencode_with_info

    result = reencode_with_info(TRUNCATED_SCAN, quality=0, progressive=True, corrupt="ignore")
    if result.data != TRUNCATED_SCAN:
        Image.open(io.BytesIO(result.data)).load()
        assert result.path == "pixels"
        assert result.reason is not None
        assert result.reason.startswith("libjpeg: ")
        assert "the re-coded damaged data does not decode cleanly" in result.reason


def _compiler() -> str | None:
    import sysconfig

    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(cc)


@pytest.mark.skipif(_compiler() is None, reason="no C compiler: the numpy filter is the one built")
def test_the_compiled_filter_is_built_where_a_compiler_is() -> None:
    assert COMPILED  # setup.py's optional extension failed silently if this fails


@pytest.mark.skipif(
    not COMPILED,
    reason="the compiled filter was not built (no C compiler at install)",
)
@pytest.mark.parametrize("layout", [{}, {"subsampling": 0}, {"progressive": True}, {"mode": "L"}])
def test_compiled_and_numpy_filters_write_the_same_bytes(
    photo: Image.Image, layout: dict[str, object]
) -> None:
    options = {k: v for k, v in layout.items() if k != "mode"}
    image = photo.convert("L") if "mode" in layout else photo
    src = pillow_jpeg(image, quality=97, **options)
    rng = np.random.default_rng(7)
    # Random steps make ties (a level times old/new landing on .5) and every ratio; the
    # machine tables are what reencode uses.
    cases = [[rng.integers(1, 80, 64), rng.integers(1, 80, 64)] for _ in range(4)]
    cases.append([np.clip(np.rint(t), 1, 255) for t in machine_tables(30, *photo.size)])
    cases.append([np.full(64, 2), np.full(64, 6)])  # 2*level/... exact halves everywhere
    for tables in cases:
        # optimize=False: the TurboJPEG route, the one with a filter to choose.
        fast = requantise(src, tables, compiled=True, optimize=False)
        slow = requantise(src, tables, compiled=False, optimize=False)
        assert fast == slow
        assert fast != requantise(src, [np.ones(64), np.ones(64)], optimize=False)


def test_asking_for_a_filter_that_was_not_built(
    photo: Image.Image, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jpegsal.codec import requantise as rq

    monkeypatch.setattr(rq, "_filter_lib", None)
    src = pillow_jpeg(photo, quality=90)
    with pytest.raises(RuntimeError, match="compiled filter was not built"):
        requantise(src, [np.full(64, 9)], compiled=True, optimize=False)
    assert requantise(src, [np.full(64, 9)], compiled=False, optimize=False)


@pytest.mark.parametrize("progressive", [True, False])
def test_target_bytes_searches_the_dct_path(
    photo: Image.Image, tmp_path: Path, progressive: bool
) -> None:
    if not progressive and not OPTIMIZED:
        pytest.skip("baseline output takes the DCT path only with libjpeg's route")
    from jpegsal.reencode import reencode

    big = photo.resize((640, 448))
    src = pillow_jpeg(big, quality=95)
    (tmp_path / "a.jpg").write_bytes(src)
    enc = jpegsal.Encoder(preset="machine")
    target = len(reencode(src, quality=50, progressive=progressive, keep_metadata=False)) + 50
    got = enc.encode_with_info(tmp_path / "a.jpg", target_bytes=target, progressive=progressive)
    assert (got.path, got.path_reason) == ("dct", None)
    assert len(got.data) <= target
    assert 2 <= got.encodes <= 7  # bisection over 1..100
    # The highest quality that fits: the same bytes as reencode there, one step up too big.
    at = reencode(src, quality=got.quality, progressive=progressive, keep_metadata=False)
    assert got.data == at
    above = reencode(src, quality=got.quality + 1, progressive=progressive, keep_metadata=False)
    assert len(above) > target
    assert got.quality >= 50
    floor = enc.encode_with_info(
        src, target_bytes=target, min_quality=got.quality, progressive=progressive
    )
    assert (floor.path, floor.quality, floor.data) == ("dct", got.quality, got.data)
    with pytest.raises(ValueError, match=r"target_bytes=100 is unreachable"):
        enc.encode_with_info(src, target_bytes=100, progressive=progressive)


def test_target_bytes_floor_is_kept(photo: Image.Image) -> None:
    src = pillow_jpeg(photo.resize((640, 448)), quality=95)
    enc = jpegsal.Encoder(preset="machine", progressive=True)
    tight = len(jpegsal.reencode(src, quality=30, progressive=True, keep_metadata=False))
    with pytest.raises(ValueError, match=r"unreachable.*min_quality=60"):
        enc.encode_with_info(src, target_bytes=tight, min_quality=60)


def test_reencode_and_optimize_read_a_file_from_its_start(photo: Image.Image) -> None:
    src = pillow_jpeg(photo, quality=90)
    buf = io.BytesIO()
    buf.write(src)  # left at its end, as after a save: Image.open reads it from the start
    assert jpegsal.reencode(buf, quality=30) == jpegsal.reencode(src, quality=30)
    assert jpegsal.optimize(buf) == jpegsal.optimize(src)
