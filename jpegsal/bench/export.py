"""A shipped model as a plain ONNX classifier: image in, logits out (extra ``bench``).

    python -m jpegsal.bench.export cam lite0-classifier.onnx

The saliency outputs are cut away (``onnx.utils.Extractor``) and jpegsal's preprocessing
record is kept in the metadata (key ``jpegsal``: mean, std, input size, the logits
output), so ``jpegsal evaluate DATA --classifier lite0-classifier.onnx`` needs no
normalisation options. Any other tool that reads ONNX sees an ordinary classifier.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from .._optional import require

__all__ = ["export_classifier"]


def export_classifier(model: str, out: str | os.PathLike[str]) -> Path:
    """Write shipped model ``model``'s classifier (``cam``, ``msroi``, ``nice``) to ``out``."""
    from ..maps.registry import models_dir, shipped_entries

    onnx = require("onnx")
    entries = shipped_entries()
    if model not in entries:
        raise ValueError(f"unknown model {model!r}; shipped: {', '.join(sorted(entries))}")
    entry = entries[model]
    logits = entry.get("outputs", {}).get("logits")
    if not logits:
        raise ValueError(f"model {model!r} has no classifier output")
    graph = onnx.load(str(models_dir() / entry["file"]))
    meta = {p.key: p.value for p in graph.metadata_props}
    record = json.loads(meta.get("jpegsal", "{}"))
    record["outputs"] = {"logits": logits}
    plain = onnx.utils.Extractor(graph).extract_model([entry["input"]["name"]], [logits])
    del plain.metadata_props[:]
    prop = plain.metadata_props.add()
    prop.key, prop.value = "jpegsal", json.dumps(record, sort_keys=True)
    plain.producer_name = f"jpegsal.bench.export ({model})"
    onnx.checker.check_model(plain)
    target = Path(out)
    tmp = target.with_suffix(target.suffix + ".tmp")
    onnx.save(plain, str(tmp))
    os.replace(tmp, target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a shipped model with a classifier (cam, msroi, nice)")
    parser.add_argument("out", type=Path, help="the .onnx file to write")
    args = parser.parse_args(argv)
    print(f"wrote {export_classifier(args.model, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
