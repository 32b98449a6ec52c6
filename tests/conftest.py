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
