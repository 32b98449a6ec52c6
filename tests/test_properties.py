"""Property tests: random arrays always give a valid, decodable, Pillow-identical JPEG."""

from __future__ import annotations

import numpy as np
from conftest import assert_decodes, pillow_jpeg
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

import jpegsal

shapes = st.tuples(st.integers(1, 40), st.integers(1, 40), st.sampled_from([0, 1, 3]))
options = st.fixed_dictionaries(
    {},
    optional={
        "quality": st.integers(0, 100),
        "subsampling": st.sampled_from([-1, 0, 1, 2]),
        "progressive": st.booleans(),
        "optimize": st.booleans(),
    },
)


@st.composite
def images(draw: st.DrawFn) -> np.ndarray:
    h, w, c = draw(shapes)
    shape = (h, w) if c == 0 else (h, w, c)
    return draw(arrays(np.uint8, shape))


@settings(max_examples=150, deadline=None)
@given(images(), options)
def test_random_arrays(array: np.ndarray, opts: dict[str, object]) -> None:
    data = jpegsal.encode(array, **opts)
    assert_decodes(data, (array.shape[1], array.shape[0]))
    image = Image.fromarray(array[:, :, 0] if array.ndim == 3 and array.shape[2] == 1 else array)
    assert data == pillow_jpeg(image, **opts)


@settings(max_examples=50, deadline=None)
@given(
    arrays(
        np.float32,
        st.tuples(st.integers(1, 24), st.integers(1, 24), st.just(3)),
        elements=st.floats(0, 1, width=32),
    )
)
def test_random_float_arrays(array: np.ndarray) -> None:
    data = jpegsal.encode(array)
    assert_decodes(data, (array.shape[1], array.shape[0]))
