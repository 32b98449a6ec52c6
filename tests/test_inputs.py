"""Every input kind and mode, metadata carry-over, and decompression-bomb limits."""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_decodes, pillow_jpeg
from PIL import Image, UnidentifiedImageError

import jpegsal
from jpegsal.inputs import load_image


def _decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


# --- numpy arrays -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "mode"),
    [((12, 20), "L"), ((12, 20, 1), "L"), ((12, 20, 3), "RGB")],
)
def test_uint8_arrays_match_pillow(shape: tuple[int, ...], mode: str) -> None:
    a = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    image = Image.fromarray(a.reshape(a.shape[:2]) if mode == "L" else a, mode)
    data = jpegsal.encode(a, quality=80)
    assert data == pillow_jpeg(image, quality=80)
    assert_decodes(data, (20, 12))


def test_non_contiguous_array(rgb: Image.Image) -> None:
    a = np.asarray(rgb)[:, ::-1]  # a negative-stride view
    assert jpegsal.encode(a) == pillow_jpeg(Image.fromarray(np.ascontiguousarray(a)))


def test_float_array_scale_and_rounding() -> None:
    a = np.array([[0.0, 0.5, 1.0, 0.2]], np.float64)
    expected = Image.fromarray(np.array([[0, 128, 255, 51]], np.uint8), "L")
    assert jpegsal.encode(a) == pillow_jpeg(expected)
    assert jpegsal.encode(a.astype(np.float32)) == pillow_jpeg(expected)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (np.nan, "float image array contains NaN or infinity"),
        (np.inf, "float image array contains NaN or infinity"),
        (1.5, "float image array must be in [0, 1], got values in [0, 1.5]; divide by 255"),
        (-0.1, "float image array must be in [0, 1], got values in [-0.1, 0]"),
    ],
)
def test_bad_float_arrays(value: float, message: str) -> None:
    a = np.zeros((4, 4, 3), np.float32)
    a[1, 1, 1] = value
    with pytest.raises(ValueError, match=re.escape(message)):
        jpegsal.encode(a)


def test_bool_and_uint16_arrays() -> None:
    mask = np.eye(8, dtype=bool)
    assert jpegsal.encode(mask) == pillow_jpeg(Image.fromarray(mask.astype(np.uint8) * 255))
    a16 = np.array([[0, 257, 65535, 128 * 257]], np.uint16)
    assert jpegsal.encode(a16) == pillow_jpeg(
        Image.fromarray(np.array([[0, 1, 255, 128]], np.uint8))
    )
    # Big-endian uint16 (from a file or a network buffer) means the same values.
    assert jpegsal.encode(a16.astype(">u2")) == jpegsal.encode(a16)


@pytest.mark.parametrize(
    ("array", "error", "message"),
    [
        (np.zeros((4, 4, 2), np.uint8), ValueError, "array must have shape (H, W), (H, W, 1)"),
        (np.zeros((4,), np.uint8), ValueError, "got (4,)"),
        (np.zeros((0, 4), np.uint8), ValueError, "image array is empty, shape (0, 4)"),
        (np.zeros((4, 4), np.int32), TypeError, "array dtype must be uint8, uint16, bool or float"),
        (np.zeros((4, 4, 3), np.uint16), ValueError, "uint16 arrays must be greyscale"),
    ],
)
def test_bad_arrays(array: np.ndarray, error: type, message: str) -> None:
    with pytest.raises(error, match=re.escape(message)):
        jpegsal.encode(array)


# --- modes ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["RGBA", "LA", "PA", "RGBa", "La"])
def test_alpha_raises_pillows_error(rgb: Image.Image, mode: str) -> None:
    image = rgb.convert("RGBA").convert(mode) if mode != "PA" else rgb.convert("P").convert("PA")
    with pytest.raises(OSError, match=f"cannot write mode {mode} as JPEG; pass background"):
        jpegsal.encode(image)
    with pytest.raises(OSError, match=f"cannot write mode {mode} as JPEG"):
        pillow_jpeg(image)  # the same exception type as Pillow's


def test_alpha_flattened_onto_background() -> None:
    a = np.zeros((16, 16, 4), np.uint8)
    a[..., 0] = 255  # red ...
    a[:8, :, 3] = 255  # ... opaque in the top half, transparent below
    out = _decode(jpegsal.encode(a, background=(0, 0, 255), quality=95))
    assert np.abs(out[2, 8].astype(int) - (255, 0, 0)).max() < 8
    assert np.abs(out[13, 8].astype(int) - (0, 0, 255)).max() < 8


def test_la_on_grey_background_stays_greyscale() -> None:
    image = Image.new("LA", (8, 8), (200, 0))
    out = Image.open(io.BytesIO(jpegsal.encode(image, background=30)))
    assert out.mode == "L"
    assert abs(int(np.asarray(out).mean()) - 30) <= 1
    coloured = Image.open(io.BytesIO(jpegsal.encode(image, background=(30, 60, 90))))
    assert coloured.mode == "RGB"


def test_palette_with_transparency(rgb: Image.Image) -> None:
    image = rgb.convert("P")
    image.info["transparency"] = 0
    with pytest.raises(OSError, match="cannot write mode RGBA as JPEG"):
        jpegsal.encode(image)
    assert_decodes(jpegsal.encode(image, background=(255, 255, 255)), image.size)


def test_palette_without_alpha_is_expanded(rgb: Image.Image) -> None:
    image = rgb.convert("P")
    assert jpegsal.encode(image) == pillow_jpeg(image.convert("RGB"))


@pytest.mark.parametrize(
    ("background", "error", "message"),
    [
        ((1, 2), TypeError, "background must be an int or an (r, g, b) tuple"),
        ("white", TypeError, "background must be an int or an (r, g, b) tuple"),
        ((0, 0, 256), ValueError, "background values must be ints in 0..255"),
        (True, TypeError, "background must be an int"),
    ],
)
def test_bad_background(background: object, error: type, message: str) -> None:
    with pytest.raises(error, match=re.escape(message)):
        jpegsal.encode(Image.new("RGBA", (4, 4)), background=background)
    with pytest.raises(error, match=re.escape(message)):  # checked even when there is no alpha
        jpegsal.encode(Image.new("RGB", (4, 4)), background=background)
    with pytest.raises(error, match=re.escape(message)):
        jpegsal.Encoder(background=background)


def test_sixteen_bit_modes() -> None:
    a = np.array([[0, 257, 65535, 1000]], np.uint16)
    expected = pillow_jpeg(Image.fromarray(np.array([[0, 1, 255, 4]], np.uint8)))
    sixteen = Image.fromarray(a)
    assert sixteen.mode == "I;16"
    assert jpegsal.encode(sixteen) == expected
    assert jpegsal.encode(Image.fromarray(a.astype(np.int32), "I")) == expected
    # Mode I holding 8-bit values (L converted to I) stays as bright as the L image.
    grey = Image.fromarray(np.array([[0, 60, 200, 255]], np.uint8))
    assert jpegsal.encode(grey.convert("I")) == pillow_jpeg(grey)
    with pytest.raises(ValueError, match=re.escape("mode I image has values in [-5, 0]")):
        jpegsal.encode(Image.fromarray(np.array([[-5, 0]], np.int32), "I"))


def test_float_mode() -> None:
    f = Image.fromarray(np.array([[0.0, 127.6, 255.0]], np.float32), "F")
    assert jpegsal.encode(f) == pillow_jpeg(Image.fromarray(np.array([[0, 128, 255]], np.uint8)))
    bad = Image.fromarray(np.array([[0.0, 300.0]], np.float32), "F")
    with pytest.raises(ValueError, match=r"mode F image must hold finite values in 0\.\.255"):
        jpegsal.encode(bad)


def test_unwritable_mode_is_named() -> None:
    with pytest.raises(OSError, match="cannot write mode HSV as JPEG; convert it to RGB"):
        jpegsal.encode(Image.new("HSV", (4, 4)))


# --- encoded inputs and errors ----------------------------------------------------


def test_input_errors(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="image must be a PIL image, numpy array, path"):
        jpegsal.encode(42)  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError):
        jpegsal.encode(tmp_path / "missing.png")
    with pytest.raises(IsADirectoryError, match="image path is a directory"):
        jpegsal.encode(tmp_path)
    with pytest.raises(UnidentifiedImageError, match="cannot identify image file '<bytes>'"):
        jpegsal.encode(b"not an image")
    (tmp_path / "t.txt").write_text("hello")
    with open(tmp_path / "t.txt") as f, pytest.raises(TypeError, match="open it with 'rb'"):
        jpegsal.encode(f)  # type: ignore[arg-type]


def test_truncated_file_fails_clearly(rgb: Image.Image) -> None:
    data = pillow_jpeg(rgb)
    with pytest.raises(OSError, match=r"cannot decode image '<bytes>': (?i:.*truncated)"):
        jpegsal.encode(data[: len(data) // 2])


# --- metadata ---------------------------------------------------------------------


def _jpeg_with_metadata(image: Image.Image, orientation: int = 6) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return pillow_jpeg(
        image, exif=exif, icc_profile=b"\x00icc" * 40, xmp=b"<xmp/>", comment=b"note"
    )


def test_metadata_dropped_by_default_like_pillow(portrait: Image.Image) -> None:
    src = _jpeg_with_metadata(portrait)
    out = Image.open(io.BytesIO(jpegsal.encode(src)))
    ref = Image.open(io.BytesIO(pillow_jpeg(Image.open(io.BytesIO(src)))))
    for key in ("exif", "icc_profile", "xmp"):
        assert key not in out.info
        assert key not in ref.info
    assert out.info["comment"] == ref.info["comment"] == b"note"  # Pillow carries comments


def test_keep_metadata_carries_exif_icc_xmp_without_rotating(portrait: Image.Image) -> None:
    src = _jpeg_with_metadata(portrait, orientation=6)
    out = Image.open(io.BytesIO(jpegsal.encode(src, keep_metadata=True)))
    assert out.size == portrait.size  # pixels stay in stored order
    assert out.getexif()[0x0112] == 6
    assert out.info["icc_profile"] == b"\x00icc" * 40
    assert out.info["xmp"] == b"<xmp/>"


def test_explicit_metadata_wins_over_kept(portrait: Image.Image) -> None:
    src = _jpeg_with_metadata(portrait)
    exif = Image.Exif()
    exif[0x0112] = 1
    out = Image.open(io.BytesIO(jpegsal.encode(src, keep_metadata=True, exif=exif)))
    assert out.getexif()[0x0112] == 1


def test_png_metadata_is_kept(tmp_path: Path, rgb: Image.Image) -> None:
    path = tmp_path / "m.png"
    exif = Image.Exif()
    exif[0x0112] = 3
    rgb.save(path, exif=exif, icc_profile=b"profile")
    out = Image.open(io.BytesIO(jpegsal.encode(path, keep_metadata=True)))
    assert out.getexif()[0x0112] == 3
    assert out.info["icc_profile"] == b"profile"


# --- decompression bombs ----------------------------------------------------------


def test_max_pixels_limit(rgb: Image.Image) -> None:
    data = pillow_jpeg(rgb)  # 96 x 64 = 6144 pixels
    with pytest.raises(Image.DecompressionBombError, match="over max_pixels=6000"):
        jpegsal.encode(data, max_pixels=6000)
    assert jpegsal.encode(data, max_pixels=6144) == jpegsal.encode(data)
    with pytest.raises(ValueError, match="max_pixels must be a positive int or None"):
        jpegsal.encode(data, max_pixels=0)


def test_default_limit_is_pillows_and_none_disables(
    rgb: Image.Image, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = pillow_jpeg(rgb)
    expected = jpegsal.encode(data)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(Image.DecompressionBombError, match=r"<bytes>: 6144 pixels .*twice"):
        jpegsal.encode(data)  # over twice Pillow's limit: Pillow's error class
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 4000)
    # Between the limit and twice it: Pillow's warning class, naming the input and the fix.
    with pytest.warns(Image.DecompressionBombWarning, match=r"<bytes>: 6144 pixels \(96x64\)"):
        jpegsal.encode(data)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert jpegsal.encode(data, max_pixels=None) == expected
    assert Image.MAX_IMAGE_PIXELS == 1000  # the global is restored


def test_load_image_reports_original_mode(rgb: Image.Image) -> None:
    src = load_image(rgb.convert("P"))
    assert src.original_mode == "P"
    assert src.image.mode == "RGB"


def test_zero_size_pil_image() -> None:
    with pytest.raises(ValueError, match=re.escape("cannot write empty image (0x5)")):
        jpegsal.encode(Image.new("RGB", (0, 5)))


def test_several_frames_warn_that_only_the_first_is_encoded(
    rgb: Image.Image, tmp_path: Path
) -> None:
    from jpegsal.inputs import InputWarning

    frames = [rgb.convert("P"), rgb.rotate(90).convert("P"), rgb.rotate(180).convert("P")]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    with pytest.warns(InputWarning, match=r"a\.gif: 3 frames; only the first is encoded"):
        data = jpegsal.encode(tmp_path / "a.gif")
    assert data == jpegsal.encode(frames[0])
    frames[0].save(tmp_path / "one.gif")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one frame: no warning
        jpegsal.encode(tmp_path / "one.gif")


# --- damaged JPEG data --------------------------------------------------------------


def _damaged_jpeg(rgb: Image.Image) -> bytes:
    """A JPEG whose scan data is hit: Pillow decodes it without a word, libjpeg warns."""
    data = bytearray(pillow_jpeg(rgb.resize((192, 128)), quality=90))
    sos = data.find(b"\xff\xda")
    for i in range(sos + 40, len(data) - 40, 97):
        if data[i - 1] != 0xFF and data[i] != 0xFF:
            data[i] ^= 0x5A
    Image.open(io.BytesIO(bytes(data))).load()  # Pillow: no error
    return bytes(data)


needs_turbojpeg = pytest.mark.skipif(
    not __import__("jpegsal.codec.turbojpeg").codec.turbojpeg.available(),
    reason="no TurboJPEG 2.0+ library (libturbojpeg) on this machine",
)


@needs_turbojpeg
def test_damaged_jpeg_data_warns_raises_or_is_ignored(rgb: Image.Image, tmp_path: Path) -> None:
    from jpegsal.codec.turbojpeg import corrupt_data
    from jpegsal.inputs import CorruptDataWarning

    bad = _damaged_jpeg(rgb)
    assert corrupt_data(bad) is not None
    assert corrupt_data(pillow_jpeg(rgb)) is None
    (tmp_path / "bad.jpg").write_bytes(bad)
    with pytest.warns(CorruptDataWarning, match=r"bad\.jpg: Corrupt JPEG data"):
        warned = jpegsal.encode(tmp_path / "bad.jpg")
    with pytest.raises(OSError, match=r"corrupt JPEG data in '.*bad\.jpg': Corrupt JPEG data"):
        jpegsal.encode(tmp_path / "bad.jpg", corrupt="error")
    with pytest.raises(OSError, match="corrupt JPEG data in '<bytes>'"):
        jpegsal.encode(bad, corrupt="error")
    # A file object is checked from where it was when handed over.
    with open(tmp_path / "bad.jpg", "rb") as f, pytest.raises(OSError, match="corrupt JPEG"):
        jpegsal.encode(f, corrupt="error")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert jpegsal.encode(bad, corrupt="ignore") == warned  # same pixels as Pillow's
        jpegsal.encode(pillow_jpeg(rgb), corrupt="error")  # a clean JPEG passes
    with pytest.raises(ValueError, match="corrupt must be one of"):
        jpegsal.encode(bad, corrupt="maybe")


def test_broken_png_chunks_are_an_oserror() -> None:
    # Found by tests/test_fuzz.py: a wrong chunk length makes Pillow's PNG parser raise
    # SyntaxError ("broken PNG file"), which is no OSError.
    buf = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buf, "PNG")
    length = buf.getvalue().index(b"IDAT") - 4
    data = bytearray(buf.getvalue())
    data[length + 3] = 4  # IDAT's length byte: the chunk now ends inside its data
    with pytest.raises(OSError, match="cannot decode image '<bytes>': SyntaxError"):
        jpegsal.encode(bytes(data))


def test_a_header_claiming_a_vast_size_is_an_oserror() -> None:
    # Found by tests/test_fuzz.py: a 1-row TIFF 100,663,297 pixels wide (under twice the
    # bomb limit) made Pillow's decoder raise MemoryError.
    data = (
        b"II*\x00\x08\x00\x00\x00\n\x00\x00\x01\x04\x00\x01\x00\x00\x00\x01\x00\x00\x06"
        b"\x01\x01\x04\x00\x01\x00\x00\x00\x01\x00\x00\x00\x02\x01\x03\x00\x03\x00\x00\x00"
        b"\x86\x00\x00\x00\x03\x01\x03\x00\x01\x00\x00\x00\x01\x00\x00\x00\x06\x01\x03\x00"
        b"\x01\x00\x00\x00\x02\x00\x00\x00\x11\x01\x04\x00\x01\x00\x00\x00\x8c\x00\x00\x00"
        b"\x15\x01\x03\x00\x01\x00\x00\x00\x03\x00\x00\x00\x16\x01\x04\x00\x01\x00\x00\x00"
        b"\x01\x00\x00\x00\x17\x01\x04\x00\x01\x00\x00\x00\x03\x00\x00\x00\x1c\x01\x03\x00"
        b"\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x08\x00\x08\x00\x08\x00\x00\x00\x00"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with pytest.raises(OSError, match=r"cannot decode image '<bytes>' \(100663297x1\)"):
            jpegsal.encode(data)
