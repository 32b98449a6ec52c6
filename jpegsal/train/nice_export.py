"""Export a trained NICE mask head as ``models/lite0-nice-<sha8>.onnx`` + its manifest entry.

The graph is EfficientNet-Lite0 plus the head (:class:`~jpegsal.train.nice_model.NiceModel`):
input ``image`` (float32 NCHW RGB, ``(x - 127) / 128``, sides multiples of 32),
outputs ``logits`` (N, 1000) and ``nice`` (N, H/16, W/16), the deterministic
hard-concrete gates in [0, 1]: the same contract as ``cam``, so the runtime
needs nothing new. Identical head weights give identical bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .export import (
    RUNTIME_CONFIG,
    common_entry,
    publish_onnx,
    read_manifest,
    write_manifest,
)
from .lite0 import load_lite0
from .nice_model import NiceModel

PREFIX = "lite0-nice-"
NICE_CONFIG = {**RUNTIME_CONFIG, "outputs": {"logits": "logits", "saliency": "nice"}}


def export_nice(
    head: Any, out_dir: Path, training: dict[str, Any], verify_on: Path | None = None
) -> dict[str, Any]:
    """Write the ONNX file into ``out_dir``, update ``manifest.json``; return the entry.

    With ``verify_on`` (a labelled folder, see :func:`~jpegsal.train.data.read_labels`),
    the classifier's top-1 in PyTorch and in onnxruntime is measured and recorded.
    """
    model = NiceModel(load_lite0(), head.eval())
    final, digest = publish_onnx(out_dir, PREFIX, model, ("logits", "nice"), NICE_CONFIG)
    entry = {
        **common_entry(final.name, digest, final.stat().st_size),
        "outputs": {"logits": "logits", "saliency": "nice"},
        "description": "NICE sparse mask (Li and Ji 2019): hard-concrete L0 gates per 16x16 "
        "cell, trained so the mixed-resolution image keeps Lite0's prediction",
        "training": training,
    }
    if verify_on is not None:
        from .verify import verify_accuracy

        entry["accuracy"] = verify_accuracy(final, verify_on)
    manifest = read_manifest(out_dir)
    manifest["models"]["nice"] = entry
    write_manifest(out_dir, manifest)
    return entry
