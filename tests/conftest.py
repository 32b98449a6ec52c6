"""Shared fixtures: small bundled test images and decode checks."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

DATA = Path(__file__).parent / "data"


def pillow_jpeg(image: Image.Image, **options: Any) -> bytes:
    """The reference: Pillow's own JPEG save."""
    buf = io.BytesIO()
    image.save(buf, "JPEG", **options)
    return buf.getvalue()


def assert_decodes(data: bytes, size: tuple[int, int]) -> Image.Image:
    """Check ``data`` is a JPEG that Pillow and OpenCV decode to ``size`` (W, H)."""
    assert data[:2] == b"\xff\xd8"
    assert data[-2:] == b"\xff\xd9"
    im = Image.open(io.BytesIO(data))
    im.load()
    assert im.format == "JPEG"
    assert im.size == size
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert decoded is not None, "OpenCV failed to decode"
    assert decoded.shape[:2] == (size[1], size[0])
    return im


@pytest.fixture(scope="session")
def rgb() -> Image.Image:
    """A 96x64 natural RGB image (Kodak 23, downscaled)."""
    with Image.open(DATA / "kodim23_small.png") as im:
        return im.convert("RGB")


@pytest.fixture(scope="session")
def portrait() -> Image.Image:
    """A 48x72 natural RGB image in portrait orientation (Kodak 04)."""
    with Image.open(DATA / "kodim04_small.png") as im:
        return im.convert("RGB")


@pytest.fixture(scope="session")
def sample_paths() -> list[Path]:
    return sorted(DATA.glob("*.png"))


@pytest.fixture(scope="session")
def odd_photo() -> Image.Image:
    """Kodak 23 at 203x141: partial blocks and MCUs on both axes."""
    with Image.open(Path(__file__).parents[1] / "jpegsal" / "data" / "kodim23.png") as im:
        return im.convert("RGB").resize((203, 141))


# A 1x1 greyscale JPEG whose scan ends early (found by tests/test_fuzz.py).
TRUNCATED_SCAN = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300ffffffffffffffffffffffffffffff"
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
    "ffffffffffffffffffffc0000b080001000101011100ffc4001f0000010501010101010100000000"
    "000000000102030405060708090a0bffc400b5100002010303020403050504040000017d0102030d"
    "041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a"
    "25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475"
    "767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9ba"
    "c2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda"
    "0008010100003f008ebfffd9"
)
