"""Custom ONNX models (model="path.onnx"): preprocessing from metadata or sidecar, validation."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import jpegsal

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402

CONFIG = {
    "input_size": 64,
    "size_multiple": 16,
    "mean": 0.0,
    "std": 255.0,
    "outputs": {"saliency": "sal"},
}


def _model(
    path: Path,
    *,
    meta: dict[str, Any] | str | None = None,
    in_shape: list[Any] | None = None,
    in_type: int = TensorProto.FLOAT,
    out_name: str = "sal",
    out_rank: int = 3,
) -> Path:
    """A tiny valid graph: saliency = mean over channels of a 16x average pool of the input."""
    in_shape = in_shape or ["n", 3, "h", "w"]
    nodes = [
        helper.make_node("Cast", ["image"], ["x"], to=TensorProto.FLOAT),
        helper.make_node("AveragePool", ["x"], ["pooled"], kernel_shape=[16, 16], strides=[16, 16]),
        helper.make_node("ReduceMean", ["pooled", "axes"], ["m"], keepdims=1),
    ]
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    if out_rank == 3:
        nodes.append(helper.make_node("Squeeze", ["m", "axes"], [out_name]))
        out_shape: list[Any] = ["n", "a", "b"]
    elif out_rank == 4:
        nodes.append(helper.make_node("Identity", ["m"], [out_name]))
        out_shape = ["n", 1, "a", "b"]
    else:
        nodes.append(helper.make_node("ReduceMean", ["m"], [out_name], keepdims=0))
        out_shape = []
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("image", in_type, in_shape)],
        [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, out_shape)],
        initializer=[axes],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    if meta is not None:
        entry = model.metadata_props.add()
        entry.key = "jpegsal"
        entry.value = meta if isinstance(meta, str) else json.dumps(meta)
    onnx.save(model, str(path))
    return path


def test_custom_model_from_metadata(tmp_path: Path, rgb: Image.Image) -> None:
    path = _model(tmp_path / "tiny.onnx", meta=CONFIG)
    sal = jpegsal.saliency(rgb, str(path), device="cpu")
    assert sal.shape == (rgb.height, rgb.width)
    assert sal.dtype == np.float32
    # The tiny model's map is mean brightness, so it follows the picture.
    grey = np.asarray(rgb.convert("L"), np.float32) / 255
    assert np.corrcoef(sal.ravel(), grey.ravel())[0, 1] > 0.5
    data = jpegsal.encode(rgb, model=path)  # path objects are accepted too
    assert data[:2] == b"\xff\xd8"


def test_custom_model_from_sidecar(tmp_path: Path, rgb: Image.Image) -> None:
    path = _model(tmp_path / "side.onnx", out_rank=4)
    path.with_suffix(".json").write_text(json.dumps(CONFIG))
    assert jpegsal.saliency(rgb, str(path), device="cpu").shape == (rgb.height, rgb.width)


@pytest.mark.parametrize(
    ("kwargs", "config", "message"),
    [
        ({}, None, "declares no preprocessing: add a 'jpegsal' JSON entry"),
        ({"meta": "{not json"}, None, "metadata 'jpegsal' is not valid JSON"),
        ({"meta": {"input_size": 64}}, None, 'config needs "outputs": {"saliency": NAME'),
        ({"meta": {**CONFIG, "input_size": 0}}, None, "input_size must be a positive int"),
        ({"meta": {**CONFIG, "std": [1, 0, 1]}}, None, "std must be a number or 3 numbers > 0"),
        ({"meta": {**CONFIG, "channels": "YUV"}}, None, "channels must be 'RGB' or 'BGR'"),
        (
            {"meta": {**CONFIG, "outputs": {"saliency": "heat"}}},
            None,
            "config names saliency output 'heat', but the model's outputs are ['sal']",
        ),
        ({"meta": CONFIG, "in_shape": ["n", "h", "w"]}, None, "cannot load ONNX model"),
        ({"meta": CONFIG, "in_shape": ["n", 4, "h", "w"]}, None, "must be float32 (N, 3, H, W)"),
        ({"meta": CONFIG, "in_type": TensorProto.UINT8}, None, "must be float32 (N, 3, H, W)"),
        ({"meta": CONFIG, "out_rank": 0}, None, "must be (N, h, w) or (N, 1, h, w), got rank 0"),
    ],
)
def test_custom_model_validation(
    tmp_path: Path, kwargs: dict[str, Any], config: Any, message: str
) -> None:
    path = _model(tmp_path / "bad.onnx", **kwargs)
    with pytest.raises(
        ValueError,
        match=re.escape(message),
    ):
        jpegsal.saliency(np.zeros((32, 32, 3), np.uint8), str(path), device="cpu")


def test_missing_custom_model_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="model file not found"):
        jpegsal.saliency(np.zeros((8, 8), np.uint8), str(tmp_path / "none.onnx"))


def test_not_an_onnx_file(tmp_path: Path) -> None:
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"not a model")
    with pytest.raises(ValueError, match=r"cannot load ONNX model .*junk\.onnx"):
        jpegsal.saliency(np.zeros((8, 8), np.uint8), str(path), device="cpu")


def test_preserve_needs_logits(tmp_path: Path, rgb: Image.Image) -> None:
    path = _model(tmp_path / "nologits.onnx", meta=CONFIG)
    with pytest.raises(
        ValueError, match=r"preserve needs a model with a classifier .*'nologits' has none"
    ):
        jpegsal.encode(rgb, model=str(path), preserve="top1")
