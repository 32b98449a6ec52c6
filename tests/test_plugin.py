"""The Pillow plugin: Image.save(..., "JPEG") through a configured Encoder, and back."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, JpegImagePlugin

import jpegsal


@pytest.fixture
def image() -> Image.Image:
    path = Path(jpegsal.__file__).parent / "data" / "kodim23.png"
    return Image.open(path).convert("RGB").resize((96, 64))


def _pillow_save(image: Image.Image, **kw: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", **kw)
    return buf.getvalue()


def test_saves_go_through_the_encoder_and_back(image: Image.Image, tmp_path: Path) -> None:
    plain = _pillow_save(image, quality=60)
    with jpegsal.register_pillow(preset="machine") as reg:
        assert isinstance(reg.encoder, jpegsal.Encoder)
        routed = _pillow_save(image, quality=60)
        image.save(tmp_path / "x.jpg")  # by file name, the format from the suffix
    assert routed == jpegsal.encode(image, preset="machine", quality=60) != plain
    assert (tmp_path / "x.jpg").read_bytes() == jpegsal.encode(image, preset="machine")
    assert Image.SAVE["JPEG"] is JpegImagePlugin._save  # Pillow's writer is back
    assert _pillow_save(image, quality=60) == plain


def test_plain_encoder_is_byte_identical_to_pillow(image: Image.Image) -> None:
    expected = _pillow_save(image, quality=85, optimize=True, subsampling=0)
    jpegsal.register_pillow()
    try:
        assert _pillow_save(image, quality=85, optimize=True, subsampling=0) == expected
    finally:
        jpegsal.unregister_pillow()
    jpegsal.unregister_pillow()  # a second call does nothing
    assert Image.SAVE["JPEG"] is JpegImagePlugin._save


def test_registering_twice_replaces_the_encoder(image: Image.Image) -> None:
    with jpegsal.register_pillow(quality=30):
        jpegsal.register_pillow(jpegsal.Encoder(quality=90))
        assert _pillow_save(image) == jpegsal.encode(image, quality=90)
    assert Image.SAVE["JPEG"] is JpegImagePlugin._save
    with pytest.raises(TypeError, match="either an Encoder or Encoder options"):
        jpegsal.register_pillow(jpegsal.Encoder(), quality=3)


@pytest.mark.parametrize("mode", ["P", "F", "I"])
def test_modes_pillow_cannot_write_raise_its_oserror(mode: str) -> None:
    # jpegsal.encode converts these on purpose; Image.save through the plugin keeps
    # Pillow's refusal, so _repr_jpeg_ (which catches it) still returns None.
    image = Image.new(mode, (8, 8))
    assert len(jpegsal.encode(image)) > 0
    with jpegsal.register_pillow():
        with pytest.raises(OSError, match=f"cannot write mode {mode} as JPEG"):
            image.save(io.BytesIO(), "JPEG")
        assert image._repr_jpeg_() is None
