"""The preset's fitted chroma under a decoder that replicates chroma instead of
interpolating it (libjpeg's ``do_fancy_upsampling`` off: ``djpeg -nosmooth``, and some
hardware decoders), against libjpeg's box mean, scored by the *tuning* classifiers.

    python -m benchmarks.chroma_decoders ../shared/data/imagenet-val-1300
    python -m benchmarks.chroma_decoders ../shared/data/imagenet-sample

``sharp_chroma`` fits the chroma samples to the triangle upsampler that libjpeg-turbo,
Pillow, OpenCV and browsers apply by default; for a replicating decoder the least-squares
samples are the box mean itself. Each image of the tuning split is written by the preset
at one quality (``allocate=False``) with and without the fit, decoded by djpeg with and
without ``-nosmooth``, and scored: bytes, chroma MSE against the original (libjpeg's
Cb/Cr, unrounded) and the KL of Lite0's and Lite1's probabilities. The judges never run.
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

import jpegsal
from jpegsal.bench.data import read_labels, split_of
from jpegsal.maps.contract import kl_divergence
from jpegsal.methods._strips import to_ycc

from .common import Evaluator, machine, write_json
from .rate_accuracy import ROOT

PROXIES = ("lite0", "lite1")
COLUMNS = ("bytes", "chroma_mse", *(f"kl_{p}" for p in PROXIES))


def _djpeg(data: bytes, smooth: bool) -> np.ndarray:
    args = ["djpeg", "-ppm"] + ([] if smooth else ["-nosmooth"])
    out = subprocess.run(args, input=data, capture_output=True, check=True).stdout
    return np.asarray(Image.open(io.BytesIO(out)).convert("RGB"))


def _chroma(rgb: np.ndarray) -> np.ndarray:
    """Cr and Cb, unrounded (the methods' own conversion, JFIF)."""
    return to_ycc(rgb.astype(np.float32))[..., 1:]


def _ratio(fit: np.ndarray, box: np.ndarray, seed: int = 0) -> list[float]:
    """mean(fit) / mean(box) over images, with a paired bootstrap 95 % interval."""
    rng, n = np.random.default_rng(seed), len(fit)
    boots = [fit[ix].mean() / box[ix].mean() for ix in (rng.integers(0, n, n) for _ in range(2000))]
    return [
        round(float(fit.mean() / box.mean()), 4),
        *np.round(np.percentile(boots, [2.5, 97.5]), 4).tolist(),
    ]


def run(dataset: Path, quality: int) -> dict[str, Any]:
    proxies = {p: Evaluator(p) for p in PROXIES}
    rows: dict[tuple[str, str], list[list[float]]] = {}
    items = split_of(read_labels(dataset), "tune")
    for path, _ in items:
        with Image.open(path) as im:
            image = im.convert("RGB")
        ref = np.asarray(image)
        base = {p: e.probs([ref])[0] for p, e in proxies.items()}
        for chroma, sharp in (("fit", True), ("box", False)):
            data = jpegsal.encode(
                image, preset="machine", quality=quality, allocate=False, sharp_chroma=sharp
            )
            for decoder, smooth in (("fancy", True), ("nosmooth", False)):
                out = _djpeg(data, smooth)
                mse = float(np.mean((_chroma(out) - _chroma(ref)) ** 2))
                kls = [kl_divergence(base[p], proxies[p].probs([out])[0]) for p in PROXIES]
                rows.setdefault((chroma, decoder), []).append([len(data), mse, *kls])
    result: dict[str, Any] = {"dataset": dataset.name, "images": len(items), "quality": quality}
    for decoder in ("fancy", "nosmooth"):
        fit, box = (np.array(rows[c, decoder]) for c in ("fit", "box"))
        means = {c: np.round(a.mean(0), 5).tolist() for c, a in (("fit", fit), ("box", box))}
        result[decoder] = {
            "mean": {c: dict(zip(COLUMNS, m, strict=True)) for c, m in means.items()},
            "fit_over_box": {k: _ratio(fit[:, i], box[:, i]) for i, k in enumerate(COLUMNS)},
        }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--quality", type=int, default=60)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if shutil.which("djpeg") is None:
        raise SystemExit("djpeg is needed (libjpeg-turbo-progs)")
    result = {"benchmark": "chroma_decoders", "machine": machine()} | run(
        args.dataset, args.quality
    )
    out = args.out or ROOT / "benchmarks" / "results" / args.dataset.name / "chroma_decoders.json"
    write_json(out, result)
    for decoder in ("fancy", "nosmooth"):
        print(decoder, "fit / box [95 %]:", result[decoder]["fit_over_box"])
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
