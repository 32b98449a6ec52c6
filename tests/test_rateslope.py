"""The machine preset's per-image quality (jpegsal.rateslope): equal slope, not one quality."""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import jpegsal
from jpegsal.cli import main
from jpegsal.codec import turbojpeg
from jpegsal.rateslope import _BPP, FLOOR, LADDER, equal_slope, slope, typical_kl

KODAK = Path(jpegsal.__file__).parent / "data"


@pytest.fixture(scope="module")
def small() -> Image.Image:
    """About a classifier's input: 224 pixels a side."""
    return Image.open(KODAK / "kodim23.png").convert("RGB").resize((224, 224))


@pytest.fixture(scope="module")
def large() -> Image.Image:
    """Kodak 20 at 768x512, eight times the pixels of a 224 input."""
    return Image.open(KODAK / "kodim20.png").convert("RGB").resize((768, 512))


def _costs(
    encode: Callable[[int], bytes], quality: int, side: int, lo: int = FLOOR
) -> dict[int, float]:
    """Every rung's cost, the slow reference the walk is checked against."""
    lam = slope(quality, side)
    rungs = {q for q in LADDER if min(lo, quality) <= q <= 100} | {quality}
    return {q: typical_kl(q) + lam * len(encode(q)) for q in sorted(rungs)}


def test_slopes_fall_with_quality_and_scale_with_the_side() -> None:
    lams = [slope(q, 224) for q in range(0, 101)]
    assert all(b <= a for a, b in itertools.pairwise(lams)), "a higher quality asks less"
    assert min(lams) > 0
    assert slope(60, 112) == pytest.approx(4 * slope(60, 224))
    kl = [typical_kl(q) for q in range(0, 101)]
    assert all(b <= a for a, b in itertools.pairwise(kl))


# A JPEG's fixed part: SOI, a comment segment, an SOS segment (598 bytes), then the scan
# data and EOI; header_size reads 600 of it.
_PAD = 598 - 2 - 4 - 14
_HEAD = b"\xff\xd8\xff\xfe" + (_PAD + 2).to_bytes(2, "big") + bytes(_PAD) + b"\xff\xda\x00\x0c"
_HEAD += bytes(10)


def _synthetic(scale: float, bend: float) -> Callable[[int], bytes]:
    """Bytes that grow with quality as the typical curve does, bent, after a header."""

    def encode(q: int) -> bytes:
        body = int(scale * float(np.interp(q, LADDER, _BPP)) ** bend)
        return _HEAD + bytes(body) + b"\xff\xd9"

    return encode


def _check_search(encode: Callable[[int], bytes], quality: int, side: int) -> float:
    """The search's rules, and its cost over the best rung's (a full search)."""
    tried: list[int] = []
    q, data = equal_slope(lambda r: tried.append(r) or encode(r), quality, side)
    if quality < LADDER[0]:  # below the measured curve: as asked
        assert (q, tried) == (quality, [quality])
        return 1.0
    assert data == encode(q)
    assert tried[0] == quality
    assert 2 <= len(tried) <= 3, tried
    assert len(tried) == len(set(tried)), "no rung is encoded twice"
    assert q >= min(FLOOR, quality)
    costs = _costs(encode, quality, side)
    return costs[q] / min(costs.values())


@settings(max_examples=60, deadline=None)
@given(
    quality=st.integers(0, 100),
    scale=st.floats(200.0, 4e6),
    bend=st.floats(0.6, 1.6),
    side=st.sampled_from([96, 160, 224, 384]),
)
def test_the_prediction_lands_near_the_cheapest_rung_of_a_smooth_curve(
    quality: int, scale: float, bend: float, side: int
) -> None:
    # The first guess (bytes proportional to the typical growth) is off by the bend; the
    # second, fitted to two sizes net of the header, is not. Over a grid of 22,528 such
    # curves the worst was 1.0015x the best rung's cost (docs/experiments.md, section 35).
    assert _check_search(_synthetic(scale, bend), quality, side) <= 1.01


@pytest.mark.parametrize("scale", [200.0, 3000.0, 40000.0])
@pytest.mark.parametrize("bend", [0.6, 1.6])
def test_small_images_whose_header_outweighs_their_content(scale: float, bend: float) -> None:
    # Without the header taken out, the fit bends with it: up to 1.6x the best rung's cost.
    for quality in (5, 30, 75, 86, 100):
        for side in (160, 384):
            assert _check_search(_synthetic(scale, bend), quality, side) <= 1.01


def test_a_single_rung_is_encoded_once() -> None:
    calls: list[int] = []
    encode = _synthetic(5000.0, 1.0)
    got = equal_slope(lambda r: calls.append(r) or encode(r), 100, 224, lo=100)
    assert got == (100, encode(100))
    assert calls == [100]


def test_real_images_end_near_the_best(small: Image.Image) -> None:
    for image in (small, small.resize((448, 448)), small.rotate(90).resize((160, 120))):
        for quality in (30, 75, 90):

            def encode(q: int, image: Image.Image = image) -> bytes:
                return jpegsal.encode(image, preset="machine", quality=q, allocate=False)

            assert _check_search(encode, quality, 224) <= 1.02


def test_the_preset_chooses_per_image(small: Image.Image, large: Image.Image) -> None:
    enc = jpegsal.Encoder(preset="machine")
    # A large photo (the classifier shrinks it) gets less than asked, in fewer bytes.
    big = enc.encode_with_info(large, quality=75)
    fixed = enc.encode_with_info(large, quality=75, allocate=False)
    assert FLOOR <= big.quality < 75
    assert len(big.data) < len(fixed.data)
    assert fixed.quality == 75
    assert fixed.encodes == 1
    assert 2 <= big.encodes <= 3
    assert big.data == enc.encode(large, quality=big.quality, allocate=False)
    # An image of the classifier's own size keeps about the asked quality.
    assert abs(enc.encode_with_info(small, quality=75).quality - 75) <= 15
    # The floor: never below 20 unless asked lower; min_quality moves it; quality 10 stays.
    default = enc.encode_with_info(large, quality=30).quality
    assert default >= FLOOR
    assert enc.encode_with_info(large, quality=30, min_quality=5).quality <= default
    assert enc.encode_with_info(large, quality=75, min_quality=70).quality >= 70
    assert enc.encode_with_info(large, quality=10).quality >= 10
    with Image.open(io.BytesIO(big.data)) as im:
        assert im.size == large.size
        im.load()


def test_a_larger_side_or_image_never_gets_a_higher_quality(large: Image.Image) -> None:
    enc = jpegsal.Encoder(preset="machine")
    qualities = [
        enc.encode_with_info(large.resize((w, w * 2 // 3)), quality=60).quality
        for w in (192, 384, 768)
    ]
    assert qualities == sorted(qualities, reverse=True)
    assert qualities[0] > qualities[-1]
    wide = enc.encode_with_info(large, quality=60, classifier_side=448).quality
    assert wide >= qualities[-1]


@pytest.mark.skipif(not turbojpeg.available(), reason="no TurboJPEG 2.0+ library on this machine")
def test_jpeg_files_choose_on_the_dct_path(large: Image.Image) -> None:
    buf = io.BytesIO()
    large.save(buf, "JPEG", quality=95)
    src = buf.getvalue()
    got = jpegsal.Encoder(preset="machine").encode_with_info(src, quality=75)
    assert got.path == "dct"
    assert got.quality < 75
    assert got.encodes >= 2
    assert got.data == jpegsal.reencode(src, quality=got.quality, keep_metadata=False)
    kept = jpegsal.Encoder(preset="machine", allocate=False).encode_with_info(src, quality=75)
    assert (kept.path, kept.quality, kept.encodes) == ("dct", 75, 1)


def test_bad_values_name_allocate(small: Image.Image) -> None:
    with pytest.raises(TypeError, match="allocate"):
        jpegsal.encode(small, preset="machine", allocate="yes")
    with pytest.raises(ValueError, match=r"allocate=False says how preset='machine'"):
        jpegsal.encode(small, allocate=False)
    with pytest.raises(ValueError, match="target_bytes chooses the quality; drop allocate"):
        jpegsal.encode(small, preset="machine", allocate=True, target_bytes=3000)
    with pytest.raises(ValueError, match="preserve chooses the quality; drop allocate"):
        jpegsal.encode(small, preset="machine", allocate=True, preserve=0.01)
    with pytest.raises(ValueError, match="min_quality is a floor"):
        jpegsal.encode(small, preset="machine", allocate=False, min_quality=30)
    # Budgets choose the quality themselves: allocate's default steps aside.
    fits = jpegsal.Encoder(preset="machine").encode_with_info(small, target_bytes=3000)
    assert len(fits.data) <= 3000


def test_the_cli_flag(
    tmp_path: Path, small: Image.Image, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.png"
    small.resize((672, 672)).save(src)
    out = tmp_path / "o.jpg"
    args = ["encode", str(src), "-o", str(out), "--quality", "75"]
    assert main([*args, "--preset", "machine", "--fixed-quality"]) == 0
    with Image.open(src) as im:
        fixed = jpegsal.encode(im, preset="machine", quality=75, allocate=False)
        chosen = jpegsal.encode(im, preset="machine", quality=75)
    assert out.read_bytes() == fixed != chosen
    out.unlink()
    assert main([*args, "--preset", "machine"]) == 0
    assert out.read_bytes() == chosen
    out.unlink()
    assert main([*args, "--fixed-quality"]) == 2
    err = capsys.readouterr().err
    assert "--fixed-quality says how --preset machine chooses" in err
    assert not out.exists()


SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="the tuning images' sizes need ../shared")
def test_the_shipped_tables_come_from_the_stored_tuning_runs() -> None:
    from jpegsal.rateslope import _KL
    from jpegsal.train.typical_kl import tables

    results = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
    qualities, kl, bpp = tables(results, SHARED_DATA)
    assert tuple(qualities) == LADDER
    np.testing.assert_allclose(_KL, kl, atol=6e-6)  # as printed: 5 places
    np.testing.assert_allclose(_BPP, bpp, atol=6e-5)


def test_tuning_runs_of_another_split_are_refused(tmp_path: Path) -> None:
    from jpegsal.train.typical_kl import dataset_curves

    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    for i in range(10):  # the tuning split: every 5th, 2 images
        Image.new("RGB", (16, 8)).save(data / "images" / f"{i}.png")
    (data / "dataset.txt").write_text("".join(f"./data/{i}.png, 0\n" for i in range(10)))
    run = tmp_path / "results" / "set"
    run.mkdir(parents=True)
    (run / "typical_kl_tune.json").write_text('{"images": 3, "qualities": [50]}')
    with pytest.raises(SystemExit, match="typical_kl_tune: 3 images, the tuning split has 2"):
        dataset_curves(tmp_path / "results", "set", data)


def test_the_header_is_what_does_not_grow_with_the_content(small: Image.Image) -> None:
    from jpegsal.codec.markers import header_size

    def save(**options: object) -> bytes:
        buf = io.BytesIO()
        small.save(buf, "JPEG", quality=50, **options)
        return buf.getvalue()

    plain, tagged = save(), save(icc_profile=bytes(5000), comment=b"x" * 300)
    assert len(tagged) - len(plain) == header_size(tagged) - header_size(plain) > 5300
    assert plain[header_size(plain) - 2 :] == tagged[header_size(tagged) - 2 :]  # scan + EOI
    assert plain[header_size(plain) - 16 : header_size(plain) - 14] == b"\xff\xda"
    assert header_size(b"") == header_size(plain[:2]) == 0
    with pytest.raises(ValueError, match="malformed or truncated JPEG header"):
        header_size(plain[:30])  # cut inside the tables
