"""The libjpeg route of the DCT re-encode (jpegsal/codec/_transcode.c): optimised Huffman
tables for baseline output, from counts taken while requantising."""

from __future__ import annotations

import ctypes
import io
import shutil
import sysconfig
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_decodes, pillow_jpeg
from PIL import Image

from jpegsal.codec import requantise as rq
from jpegsal.codec.machine import machine_tables
from jpegsal.codec.requantise import OPTIMIZED, jpeg_tables, requantise

needs_route = pytest.mark.skipif(
    not OPTIMIZED, reason="the libjpeg route was not built (no C compiler or libjpeg headers)"
)


def _buildable() -> bool:
    cc = shutil.which((sysconfig.get_config_var("CC") or "cc").split()[0])
    headers = [Path(p) / "jpeglib.h" for p in ("/usr/include", "/usr/local/include")]
    return cc is not None and any(h.exists() for h in headers)


@pytest.mark.skipif(not _buildable(), reason="no C compiler or no libjpeg headers here")
def test_the_route_is_built_where_it_can_be() -> None:
    assert OPTIMIZED  # setup.py's optional extension failed silently if this fails


def _ratios(src: bytes, tables: list[np.ndarray]) -> bytes:
    """requantise's ratios (old step / new step, float32), as _transcode takes them."""
    old, comps = jpeg_tables(src)
    ratios = []
    for c, t in enumerate(comps):
        new = np.maximum(np.asarray(tables[min(c, 1)], np.int32).ravel(), old[t])
        ratios.append((old[t] / new).astype(np.float32))
    return np.stack(ratios).tobytes()


LAYOUTS = [
    {},
    {"subsampling": 0},
    {"subsampling": 1},
    {"restart_marker_rows": 1},
    {"restart_marker_blocks": 3},
    {"progressive": True},
    {"mode": "L"},
    {"mode": "L", "restart_marker_blocks": 5},
]


@needs_route
@pytest.mark.parametrize("size", [(1, 1), (17, 9), (64, 64), (203, 141)])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_own_counts_give_libjpegs_optimised_bytes(
    odd_photo: Image.Image, size: tuple[int, int], layout: dict[str, object]
) -> None:
    """The counts (AC per block, DC in MCU order with the dummy blocks at the edges and the
    restart resets) must be exact: a symbol missing from a table is written as nothing by
    libjpeg-turbo, a corrupt file. So the tables, and the bytes, must be libjpeg's own."""
    from jpegsal.codec import _transcode

    image = odd_photo.resize(size)
    image = image.convert("L") if layout.get("mode") else image
    options = {k: v for k, v in layout.items() if k != "mode"}
    src = pillow_jpeg(image, quality=95, **options)
    ratio = _ratios(src, [np.clip(np.rint(t), 1, 255) for t in machine_tables(40, *size)])
    own = _transcode.transcode(src, ratio, False, True, True, 2)
    assert own == _transcode.transcode(src, ratio, False, True, True, 1)
    standard = _transcode.transcode(src, ratio, False, True, True, 0)
    shared = _transcode.transcode(src, ratio, False, True, True, 3)  # chroma on luma's tables
    for other in (standard, shared):
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(own))), np.asarray(
            Image.open(io.BytesIO(other))))  # fmt: skip
    assert len(shared) <= len(own) <= len(standard)
    if layout.get("mode"):  # one component: nothing to share
        assert shared == own


def _selectors(data: bytes) -> list[tuple[int, int]]:
    """Each scan component's (DC, AC) Huffman table numbers, from the first SOS."""
    marker, start, _ = rq._segments(data)[-1]
    assert marker == 0xDA
    return [
        (data[start + 2 + 2 * i] >> 4, data[start + 2 + 2 * i] & 15) for i in range(data[start])
    ]


@needs_route
def test_chroma_takes_lumas_tables_only_where_that_is_smaller() -> None:
    from jpegsal.codec import _transcode

    rng = np.random.default_rng(0)
    tiny = pillow_jpeg(Image.effect_noise((48, 48), 30).convert("RGB"), quality=30)
    noisy = Image.fromarray((rng.random((256, 256, 3)) * 255).astype(np.uint8))
    busy = pillow_jpeg(noisy, quality=95, optimize=True)
    # A small file: its chroma's two tables cost more than luma's longer codes.
    small, separate = (_transcode.transcode(tiny, b"", False, True, True, h) for h in (3, 2))
    assert _selectors(small) == [(0, 0)] * 3
    assert _selectors(separate) == [(0, 0), (1, 1), (1, 1)]
    assert len(small) < len(separate) - 20
    # Random colours: chroma's AC statistics are its own, worth their table; DC is shared.
    big = _transcode.transcode(busy, b"", False, True, True, 3)
    assert _selectors(big) == [(0, 0), (0, 1), (0, 1)]
    assert len(big) < len(_transcode.transcode(busy, b"", False, True, True, 2))
    with Image.open(io.BytesIO(small)) as a, Image.open(io.BytesIO(separate)) as b:
        assert a.tobytes() == b.tobytes()


@needs_route
def test_the_two_routes_write_the_same_levels(odd_photo: Image.Image) -> None:
    src = pillow_jpeg(odd_photo, quality=95, restart_marker_rows=2)
    tables = [np.clip(np.rint(t), 1, 255) for t in machine_tables(30, *odd_photo.size)]
    optimised = requantise(src, tables)
    standard = requantise(src, tables, optimize=False)  # TurboJPEG's transform
    assert_decodes(optimised, odd_photo.size)
    (qa, ca), (qb, cb) = jpeg_tables(optimised), jpeg_tables(standard)
    assert ca == cb
    assert qa.keys() == qb.keys()
    assert all(np.array_equal(qa[k], qb[k]) for k in qa)
    pixels = [np.asarray(Image.open(io.BytesIO(d))) for d in (optimised, standard)]
    assert np.array_equal(*pixels)
    assert len(optimised) < len(standard)
    assert b"\xff\xdd" in optimised  # the restart interval is kept, as TurboJPEG keeps it
    progressive = requantise(src, tables, progressive=True)  # TurboJPEG, optimised anyway
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(progressive))), pixels[0])


def _segments(data: bytes) -> list[bytes]:
    """The APPn and COM segments of ``data``, JFIF's excepted."""
    keep = [data[s - 4 : e] for m, s, e in rq._segments(data)
            if (0xE0 <= m <= 0xEF or m == 0xFE)]  # fmt: skip
    return [k for k in keep if k[4:9] != b"JFIF\x00"]


@needs_route
def test_markers_are_kept_or_dropped_as_turbojpeg_does(odd_photo: Image.Image) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation
    src = pillow_jpeg(odd_photo, quality=95, exif=exif.tobytes(), icc_profile=b"\x00" * 600,
                      comment=b"kept")  # fmt: skip
    tables = [np.full(64, 20), np.full(64, 30)]
    ours = requantise(src, tables)
    assert _segments(ours) == _segments(src) == _segments(requantise(src, tables, optimize=False))
    assert len(_segments(src)) == 3
    assert _segments(requantise(src, tables, markers=False)) == []


@needs_route
def test_damaged_data_raises_unless_ignored(odd_photo: Image.Image) -> None:
    src = bytearray(pillow_jpeg(odd_photo, quality=95))
    src[len(src) // 2 : len(src) // 2 + 40] = b"\x00" * 40
    tables = [np.full(64, 20), np.full(64, 30)]
    with pytest.raises(OSError, match="libjpeg: Corrupt JPEG data"):
        requantise(bytes(src), tables)
    assert_decodes(requantise(bytes(src), tables, strict=False), odd_photo.size)
    with pytest.raises(OSError, match="libjpeg: "):
        requantise(bytes(src[: len(src) // 3]) + b"\xff\xd9", tables)


def test_without_the_route_baseline_gets_the_standard_tables(
    odd_photo: Image.Image, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = pillow_jpeg(odd_photo, quality=95)
    tables = [np.full(64, 20), np.full(64, 30)]
    monkeypatch.setattr(rq, "_transcode_lib", None)
    assert requantise(src, tables) == requantise(src, tables, optimize=False)


# --- the counts against a slow reference, on levels chosen to reach every edge ---------------

ZZ = rq.ZIGZAG  # ZZ[k]: natural index of the k-th coefficient in zigzag order
# Zigzag positions of the nonzero AC levels in some blocks: runs of 15, 16, 17, 31, 32 and 47
# zeros (ZRL), a last value at 62 or 63 (no EOB), and a lone first or last value.
PATTERNS = [(1, 17), (1, 18), (1, 19), (33,), (34,), (48,), (62,), (63,), (1,), (5, 62, 63)]


def _reference_counts(levels: list[np.ndarray], factors: list[tuple[int, int]],
                      size: tuple[int, int]) -> np.ndarray:  # fmt: skip
    """[dc, ac] x 4 tables x 257: JPEG's baseline symbols, counted from the standard's own
    description (F.1.2): DC differences in MCU order with dummy blocks, AC run/size."""
    counts = np.zeros((2, 4, 257), np.int64)
    table = [0] + [1] * (len(levels) - 1)  # libjpeg's default: luma 0, chroma 1
    for lv, t in zip(levels, table, strict=True):
        for block in lv.reshape(-1, 64):
            run = 0
            for k in range(1, 64):
                v = int(block[ZZ[k]])
                if v == 0:
                    run += 1
                    continue
                while run > 15:
                    counts[1, t, 0xF0] += 1
                    run -= 16
                counts[1, t, (run << 4) + abs(v).bit_length()] += 1
                run = 0
            if run:
                counts[1, t, 0] += 1
    pred = [0] * len(levels)
    if len(levels) == 1:
        for v in levels[0][..., 0, 0].ravel():
            counts[0, 0, abs(int(v) - pred[0]).bit_length()] += 1
            pred[0] = int(v)
        return counts
    hmax, vmax = max(f[0] for f in factors), max(f[1] for f in factors)  # (h, v) each
    cols, rows = -(-size[0] // (8 * hmax)), -(-size[1] // (8 * vmax))
    for my in range(rows):
        for mx in range(cols):
            for c, (lv, t) in enumerate(zip(levels, table, strict=True)):
                h_, v_ = factors[c]
                for yy in range(v_):
                    for xx in range(h_):
                        r, b = my * v_ + yy, mx * h_ + xx
                        if r >= lv.shape[0] or b >= lv.shape[1]:  # a dummy block
                            counts[0, t, 0] += 1
                            counts[1, t, 0] += 1
                            continue
                        v = int(lv[r, b, 0, 0])
                        counts[0, t, abs(v - pred[c]).bit_length()] += 1
                        pred[c] = v
    return counts


@needs_route
@pytest.mark.slow
def test_counts_match_the_reference(tmp_path: Path) -> None:
    jpeglib = pytest.importorskip("jpeglib", reason="jpeglib writes the chosen levels")
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from jpegsal.codec import _transcode

    @settings(max_examples=60, deadline=None)
    @given(
        w=st.integers(1, 60), h=st.integers(1, 60), layout=st.sampled_from(["420", "444", "L"]),
        density=st.sampled_from([0.0, 0.03, 0.2, 0.9]), seed=st.integers(0, 2**32 - 1),
    )  # fmt: skip
    def check(w: int, h: int, layout: str, density: float, seed: int) -> None:
        rng = np.random.default_rng(seed)
        shape = (-(-h // 8), -(-w // 8))
        chroma = (-(-h // 16), -(-w // 16)) if layout == "420" else shape
        planes = [shape] if layout == "L" else [shape, chroma, chroma]
        levels = []
        for bh, bw in planes:
            lv = rng.integers(-40, 41, (bh, bw, 64)) * (rng.random((bh, bw, 64)) < density)
            lv[..., 0] = rng.integers(-1000, 1001, (bh, bw))  # DC differences up to 11 bits
            for i in np.flatnonzero(rng.random(bh * bw) < 0.3):  # the edge patterns
                block = lv.reshape(-1, 64)[i]
                block[1:] = 0
                for k in PATTERNS[rng.integers(len(PATTERNS))]:
                    block[ZZ[k]] = rng.choice([-700, -1, 1, 3, 511])
            levels.append(lv.reshape(bh, bw, 8, 8).astype(np.int16))
        qt = np.ones((1 if layout == "L" else 2, 8, 8), np.uint16)
        image = jpeglib.from_dct(*levels, qt=qt)
        image.width, image.height = w, h
        path = tmp_path / "levels.jpg"
        image.write_dct(str(path))
        data = path.read_bytes()
        back = jpeglib.read_dct(str(path))
        stored = [back.Y] if layout == "L" else [back.Y, back.Cb, back.Cr]
        factors = rq.jpeg_frame(data)[3]
        ones = np.ones((len(stored), 64), np.float32).tobytes()  # levels kept as they are
        raw = _transcode.symbol_counts(data, ones, False, True, True, 2)
        ours = np.frombuffer(raw, dtype=f"i{ctypes.sizeof(ctypes.c_long)}").reshape(2, 4, 257)
        assert np.array_equal(ours, _reference_counts(stored, factors, (w, h)))

    check()


@needs_route
def test_reencode_optimises_unless_asked_not_to(odd_photo: Image.Image) -> None:
    import jpegsal
    from jpegsal.reencode import reencode_with_info

    src = pillow_jpeg(odd_photo.resize((640, 480)), quality=95)
    default = reencode_with_info(src, quality=40, keep_metadata=False)
    standard = reencode_with_info(src, quality=40, keep_metadata=False, optimize=False)
    assert default.path == standard.path == "dct"
    assert len(default.data) < len(standard.data)
    pixels = [np.asarray(Image.open(io.BytesIO(r.data))) for r in (default, standard)]
    assert np.array_equal(*pixels)
    with pytest.raises(TypeError, match="optimize"):
        jpegsal.reencode(src, optimize="yes")  # type: ignore[arg-type]


@needs_route
@pytest.mark.parametrize("layout", [{}, {"restart_marker_rows": 2}, {"mode": "L"}])
def test_two_threads_write_the_same_bytes(
    odd_photo: Image.Image, layout: dict[str, object]
) -> None:
    """Images of at least 16,384 blocks are split between two threads (by block rows, each
    with its own counts): the bytes must be those of one thread."""
    from jpegsal.codec import _transcode

    image = odd_photo.resize((1283, 967))  # 25,000 blocks at 4:2:0, partial MCUs
    image = image.convert("L") if layout.get("mode") else image
    options = {k: v for k, v in layout.items() if k != "mode"}
    src = pillow_jpeg(image, quality=95, **options)
    ratio = _ratios(src, [np.clip(np.rint(t), 1, 255) for t in machine_tables(40, *image.size)])
    one = _transcode.transcode(src, ratio, False, True, True, 2, 1)
    assert one == _transcode.transcode(src, ratio, False, True, True, 2, 2)
    assert one == _transcode.transcode(src, ratio, False, True, True, 1, 2)  # libjpeg's own


@needs_route
def test_the_routes_own_errors_are_named(
    odd_photo: Image.Image, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jpegsal.codec import _transcode

    src = pillow_jpeg(odd_photo, quality=90)
    with pytest.raises(ValueError, match="ratio: 64 float32 values per component"):
        _transcode.transcode(src, b"\x00" * 10, False, True, True, 2)
    with pytest.raises(ValueError, match="huffman: 0, 1, 2 or 3"):
        _transcode.transcode(src, b"", False, True, True, 4)
    monkeypatch.setattr(rq, "_transcode_lib", None)
    with pytest.raises(RuntimeError, match="libjpeg's route was not built"):
        rq.huffman_optimized(src)


def test_a_bad_optimize_is_refused_on_the_dct_route(odd_photo: Image.Image) -> None:
    import jpegsal

    src = pillow_jpeg(odd_photo, quality=90)  # 4:2:0: the DCT route would take it
    with pytest.raises(TypeError, match="optimize must be a bool, got 'yes'"):
        jpegsal.encode(src, preset="machine", optimize="yes")
