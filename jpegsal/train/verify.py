"""Check that an exported model reproduces PyTorch's ImageNet accuracy.

Protocol (the one EfficientNet-Lite was evaluated with): bicubic resize of the
short side to 224 / 0.875 = 256, centre crop 224, ``(x - 127) / 128``. Both
PyTorch and onnxruntime see the same tensors; top-1 is reported for both, and
the largest logit difference.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from .data import read_labels
from .lite0 import MEAN, STD, SaliencyHead, load_lite0


def centre_crop_tensor(path: Path, size: int = 224, crop: float = 0.875) -> np.ndarray:
    with Image.open(path) as im:
        im = im.convert("RGB")
        short = round(size / crop)
        w, h = im.size
        scale = short / min(w, h)
        im = im.resize(
            (max(size, round(w * scale)), max(size, round(h * scale))), Image.Resampling.BICUBIC
        )
        left, top = (im.width - size) // 2, (im.height - size) // 2
        im = im.crop((left, top, left + size, top + size))
    x = (np.asarray(im, np.float32) - MEAN) / STD
    return x.transpose(2, 0, 1)[None]


def verify_accuracy(onnx_path: Path, dataset: Path, *, limit: int | None = None) -> dict[str, Any]:
    import onnxruntime as ort

    pairs = read_labels(dataset)[:limit]
    head = SaliencyHead(load_lite0()).eval()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    right_torch = right_onnx = 0
    max_diff = 0.0
    for path, label in tqdm(pairs, desc="verify", unit="img"):
        x = centre_crop_tensor(path)
        with torch.no_grad():
            ref = head(torch.from_numpy(x))[0].numpy()
        out = session.run(["logits"], {"image": x})[0]
        right_torch += int(ref.argmax() == label)
        right_onnx += int(out.argmax() == label)
        max_diff = max(max_diff, float(np.abs(out - ref).max()))
    n = len(pairs)
    return {
        "dataset": f"{dataset.name} ({n} images)",
        "protocol": "bicubic short side 256, centre crop 224, (x-127)/128",
        "top1_pytorch": round(100 * right_torch / n, 2),
        "top1_onnxruntime": round(100 * right_onnx / n, 2),
        "max_abs_logit_diff": float(f"{max_diff:.3g}"),
    }
