"""Build the int8 variants of the shipped models (static quantisation, calibrated).

    python -m jpegsal.train.quantize ../shared/data/imagenet-val-1300

Each shipped ONNX file gets an int8 twin (QDQ format: int8 weights per output channel,
uint8 activations with MinMax ranges; the tail after the last convolution stays
float32), registered as ``<name>-int8`` in the manifest with the same preprocessing and
outputs. The calibration images are the first
``--count`` images of the tuning split (index % 5 == 0, the split the machine tables
were tuned on), so the figures reported on the other images are held out; no judge
takes part. ``benchmarks.int8`` measures what the variants keep.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .export import MODELS_DIR, read_manifest, sha256, write_manifest
from .sensitivity import tune_split

SUFFIX = "-int8"


class _Reader:
    """onnxruntime's CalibrationDataReader protocol over preprocessed images."""

    def __init__(self, batches: list[np.ndarray], input_name: str) -> None:
        self._items: Iterator[np.ndarray] = iter(batches)
        self._input = input_name

    def get_next(self) -> dict[str, np.ndarray] | None:
        x = next(self._items, None)
        return None if x is None else {self._input: x}


def calibration_batches(model_name: str, dataset: Path, count: int) -> list[np.ndarray]:
    """The network inputs of the first ``count`` tuning images, as the runtime feeds them."""
    from ..maps.onnx import OnnxSaliencyModel
    from ..maps.registry import get_model

    model = get_model(model_name, device="cpu")
    assert isinstance(model, OnnxSaliencyModel)  # every shipped model is one
    preprocess = model.preprocess
    batches = []
    for path in tune_split(dataset)[:count]:
        with Image.open(path) as im:
            batches.append(preprocess(im.convert("RGB")))
    return batches


def quantize_file(src: Path, dst: Path, batches: list[np.ndarray]) -> None:
    """Static int8 quantisation of ``src`` into ``dst``, calibrated on ``batches``."""
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    pre = dst.with_suffix(".pre.onnx")
    try:
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        quantize_static(
            str(pre),
            str(dst),
            _Reader(batches, "image"),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            # The tail after the last convolution (pooling, classifier, the maps'
            # rectify-and-normalise) stays float32: quantised, a map whose maximum rounded
            # to 0 divided 0 by 0. Quantising only the convolutions instead was slower than
            # fp32 (Q/DQ pairs around every activation) and kept top-1 on 90 % of images.
            nodes_to_exclude=_tail_nodes(pre),
        )
    finally:
        pre.unlink(missing_ok=True)


def _tail_nodes(path: Path) -> list[str]:
    """Names of the graph's nodes after its last convolution."""
    import onnx

    nodes = onnx.load(str(path)).graph.node
    last = max(i for i, n in enumerate(nodes) if n.op_type == "Conv")
    return [n.name for n in nodes[last + 1 :]]


def int8_entry(
    name: str, entry: dict[str, Any], file_name: str, digest: str, size: int, count: int
) -> dict[str, Any]:
    """The manifest entry of ``name``'s int8 twin: the fp32 entry's contract, its own file."""
    out = {k: v for k, v in entry.items() if k not in ("accuracy", "training", "latency_ms")}
    out.update(file=file_name, sha256=digest, bytes=size, variant_of=name)
    out["source"] = {
        **entry["source"],
        "quantised_from": entry["file"],
        "quantiser": f"onnxruntime=={metadata.version('onnxruntime')} quantize_static, QDQ, "
        "per-channel int8 weights, uint8 MinMax activations",
        "calibration": f"first {count} images of imagenet-val-1300's tuning split (index % 5 == 0)",
    }
    out["description"] = f"int8 variant: {entry['description']}"
    return out


def write_int8(out_dir: Path, dataset: Path, count: int) -> dict[str, Any]:
    """Quantise every shipped fp32 file once and register its ``-int8`` entries."""
    manifest = read_manifest(out_dir)
    models = manifest["models"]
    by_file: dict[str, list[str]] = {}
    for name, entry in models.items():
        if not name.endswith(SUFFIX):
            by_file.setdefault(entry["file"], []).append(name)
    for file_name, names in by_file.items():
        stem = file_name.rsplit("-", 1)[0]  # drop the fp32 file's hash
        tmp = out_dir / f"{stem}{SUFFIX}.onnx.tmp"
        quantize_file(out_dir / file_name, tmp, calibration_batches(names[0], dataset, count))
        digest = sha256(tmp)
        final = out_dir / f"{stem}{SUFFIX}-{digest[:8]}.onnx"
        for old in out_dir.glob(f"{stem}{SUFFIX}-*.onnx"):
            if old != final:
                old.unlink()
        tmp.replace(final)
        for name in names:
            models[name + SUFFIX] = int8_entry(
                name, models[name], final.name, digest, final.stat().st_size, count
            )
    write_manifest(out_dir, manifest)
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path, help="imagenet-val-1300 (its tuning split)")
    parser.add_argument("--count", type=int, default=64, help="calibration images")
    parser.add_argument("--out-dir", type=Path, default=MODELS_DIR)
    args = parser.parse_args(argv)
    manifest = write_int8(args.out_dir, args.dataset, args.count)
    from .verify import verify_accuracy

    measured: dict[str, dict[str, Any]] = {}
    for name, entry in manifest["models"].items():
        if name.endswith(SUFFIX):
            # The classifier's top-1 through the int8 graph against PyTorch's fp32 one
            # (the calibration images are 64 of these 1,300).
            if entry["file"] not in measured:
                measured[entry["file"]] = verify_accuracy(
                    args.out_dir / entry["file"], args.dataset
                )
            entry["accuracy"] = measured[entry["file"]]
            print(f"{name}: {entry['file']} ({entry['bytes']} bytes), {entry['accuracy']}")
    write_manifest(args.out_dir, manifest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
