"""The int8 variants: really quantised, registered as twins, and keeping the fp32 decisions.

Their bytes are not pinned (tests/golden.py): onnxruntime's int8 kernels differ by CPU.
What must hold everywhere is what ``benchmarks.int8`` measures at scale: the same top-1
class and nearly the same map as the fp32 model.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("onnxruntime")

import jpegsal
from jpegsal.demo import sample_images
from jpegsal.maps.registry import get_model, models_dir

BASE = ("cam", "msroi", "nice")


def test_every_shipped_model_has_an_int8_twin() -> None:
    cards = {c["name"]: c for c in jpegsal.models()}
    manifest = json.loads((models_dir() / "manifest.json").read_text())["models"]
    for name in BASE:
        twin = manifest[f"{name}-int8"]
        assert cards[f"{name}-int8"]["variant_of"] == name
        assert "variant_of" not in cards[name]
        # The same contract as the fp32 model, a different (smaller) file.
        for key in ("input_size", "size_multiple", "normalisation", "outputs", "input"):
            assert twin[key] == manifest[name][key], key
        assert twin["file"] != manifest[name]["file"]
        assert twin["bytes"] < manifest[name]["bytes"] / 2  # int8 convolutions
        assert twin["source"]["quantised_from"] == manifest[name]["file"]


def test_int8_graph_is_quantised() -> None:
    onnx = pytest.importorskip("onnx")
    path = (
        models_dir()
        / json.loads((models_dir() / "manifest.json").read_text())["models"]["cam-int8"]["file"]
    )
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops


@pytest.mark.parametrize("name", BASE)
def test_int8_keeps_the_decision_and_the_map(name: str) -> None:
    fp, q8 = get_model(name, "cpu"), get_model(f"{name}-int8", "cpu")
    for path in sample_images():
        with Image.open(path) as im:
            image = im.convert("RGB")
        (ma, la), (mb, lb) = fp.predict(image), q8.predict(image)  # type: ignore[attr-defined]
        assert la.argmax() == lb.argmax()
        assert np.abs(ma - mb).mean() < 0.05
        assert not np.array_equal(ma, mb)  # a different network did run


def test_int8_encodes_through_the_api() -> None:
    image = Image.open(sample_images()[0]).convert("RGB")
    data = jpegsal.encode(image, model="cam-int8", method="guided")
    assert data[:2] == b"\xff\xd8"
    assert Image.open(io.BytesIO(data)).size == image.size
