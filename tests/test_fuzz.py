"""Fuzzing inputs and options: jpegsal either writes a JPEG every decoder reads, or raises
TypeError, ValueError, OSError (or Pillow's DecompressionBombError) with a message. Never
another exception, never a crash.

It runs ``JPEGSAL_FUZZ_EXAMPLES`` cases (default 10,000, about a minute here); CI sets a
smaller budget. Where the input and options are ones Pillow accepts, the bytes must be
Pillow's too.
"""

from __future__ import annotations

import io
import os
from typing import Any

import numpy as np
import pytest
from conftest import assert_decodes, pillow_jpeg
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

import jpegsal

EXAMPLES = int(os.environ.get("JPEGSAL_FUZZ_EXAMPLES", "10000"))
MODES = ["1", "L", "P", "RGB", "RGBA", "LA", "CMYK", "YCbCr", "I", "I;16", "F", "RGBX"]
DTYPES = [np.uint8, np.uint16, np.float32, np.float64, np.bool_, np.int16, ">u2"]

sides = st.integers(1, 24)


@st.composite
def pil_images(draw: st.DrawFn) -> Image.Image:
    mode = draw(st.sampled_from(MODES))
    size = (draw(sides), draw(sides))
    grey = Image.fromarray(draw(arrays(np.uint8, (size[1], size[0]))), "L")
    image = grey.convert(mode) if mode not in ("I;16",) else Image.new(mode, size, 300)
    if draw(st.booleans()):  # metadata an encode may carry over
        exif = Image.Exif()
        exif[0x0112] = draw(st.integers(0, 9))
        image.info["exif"] = exif.tobytes()
    return image


@st.composite
def ndarrays(draw: st.DrawFn) -> np.ndarray:
    dtype = draw(st.sampled_from(DTYPES))
    channels = draw(st.sampled_from([0, 1, 2, 3, 4]))
    shape = (draw(sides), draw(sides)) + ((channels,) if channels else ())
    elements = st.floats(-0.5, 1.5, width=32) if np.dtype(dtype).kind == "f" else None
    return draw(arrays(np.dtype(dtype), shape, elements=elements))


@st.composite
def encoded(draw: st.DrawFn) -> bytes:
    image = draw(pil_images()).convert("RGB")
    buf = io.BytesIO()
    image.save(buf, draw(st.sampled_from(["JPEG", "PNG", "GIF", "TIFF"])))
    data = bytearray(buf.getvalue())
    cut = draw(st.sampled_from([None, len(data) // 2, 8]))  # whole, truncated, header only
    if draw(st.booleans()) and len(data) > 64:  # a flipped byte somewhere
        data[draw(st.integers(16, len(data) - 1))] ^= draw(st.integers(1, 255))
    return bytes(data[:cut])


inputs = st.one_of(pil_images(), ndarrays(), encoded(), st.binary(max_size=64))

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 120),
    st.sampled_from(["4:2:0", "4:4:4", "1:1:1", "keep", "web_high", "", "x"]),
    st.floats(-1, 2),
)
options = st.dictionaries(
    st.sampled_from(
        [
            "quality",
            "subsampling",
            "progressive",
            "optimize",
            "comment",
            "dpi",
            "smooth",
            "keep_rgb",
            "restart_marker_rows",
            "streamtype",
            "preset",
            "target_bytes",
            "preserve",
            "min_quality",
            "background",
            "keep_metadata",
            "qualty",
        ]
    ),
    values,
    max_size=4,
)


def _accepted_by_pillow(image: Any, opts: dict[str, Any]) -> bool:
    plain = {"preset", "target_bytes", "preserve", "min_quality", "background", "keep_metadata"}
    return isinstance(image, Image.Image) and not (plain & set(opts))


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore")  # damaged inputs make Pillow warn; that is the point
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(inputs, options)
def test_any_input_and_options_give_a_jpeg_or_a_clear_error(
    image: Any, opts: dict[str, Any]
) -> None:
    if opts.get("preset") is not None:
        opts["preset"] = "machine" if opts["preset"] else opts["preset"]
    refused: Exception | None = None
    try:
        data = jpegsal.encode(image, corrupt="ignore", **opts)
    except (TypeError, ValueError, OSError, Image.DecompressionBombError) as e:
        refused = e  # the bomb error is Pillow's own class, kept so callers' handlers work
    if refused is not None:
        assert str(refused), f"{type(refused).__name__} without a message"
        event(f"refused: {type(refused).__name__}")
        return
    event("written")
    if opts.get("streamtype") in (1, 2):
        return  # a partial stream, by request
    size = image.size if isinstance(image, Image.Image) else Image.open(io.BytesIO(data)).size
    assert_decodes(data, size)
    if _accepted_by_pillow(image, opts) and image.mode in ("1", "L", "RGB", "CMYK", "YCbCr"):
        try:
            expected = pillow_jpeg(image, **opts)
        except (TypeError, ValueError, OSError):
            return  # jpegsal is stricter or looser on this value; the README lists both
        assert data == expected


@st.composite
def damaged_jpegs(draw: st.DrawFn) -> bytes:
    image = draw(pil_images()).convert(draw(st.sampled_from(["RGB", "L", "CMYK"])))
    buf = io.BytesIO()
    layouts = [{}, {"progressive": True}, {"subsampling": 0}, {"subsampling": 1}]
    options = draw(st.sampled_from(layouts))  # 4:4:4 and 4:2:2: chroma resampled
    image.save(buf, "JPEG", quality=draw(st.integers(1, 100)), **options)
    data = bytearray(buf.getvalue())
    for _ in range(draw(st.integers(0, 3))):  # flipped bytes anywhere, headers included
        data[draw(st.integers(2, len(data) - 1))] ^= draw(st.integers(1, 255))
    cut = draw(st.sampled_from([None, len(data) // 2, 40, 4]))
    return bytes(data[:cut])


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore")
@settings(max_examples=max(100, EXAMPLES // 5), deadline=None)
@given(damaged_jpegs(), st.integers(0, 100), st.booleans(), st.sampled_from(["error", "ignore"]))
def test_jpeg_in_functions_never_crash(
    data: bytes, quality: int, progressive: bool, corrupt: str
) -> None:
    # optimize / reencode / encode's DCT route read headers and call libjpeg-turbo
    # through ctypes: damaged files must come back as errors, never as a crash.
    calls = [
        lambda: jpegsal.optimize(data, progressive=progressive, corrupt=corrupt),
        lambda: jpegsal.reencode(data, quality=quality, progressive=progressive, corrupt=corrupt),
        lambda: jpegsal.reencode(data, quality=quality, corrupt=corrupt, tables="standard"),
        lambda: jpegsal.encode(data, preset="machine", quality=quality, progressive=progressive),
    ]
    for call in calls:
        refused: Exception | None = None
        try:
            out = call()
        except (TypeError, ValueError, OSError, ImportError) as e:
            refused = e  # ImportError: jpeglib (extra 'jpeg') absent for baseline optimize
        if refused is not None:
            assert str(refused)
            continue
        if out != data:  # the input itself may come back ("never bigger"), damage and all
            Image.open(io.BytesIO(out)).load()  # anything new decodes
