"""Label-free explanation quality of saliency maps: deletion and insertion AUCs.

For each image the evaluator's own top-1 class on the original is tracked while
the most salient pixels are progressively replaced by a blurred copy
(*deletion*: a good map makes confidence drop fast, so a low AUC is better) or
revealed on top of the blurred copy (*insertion*: a high AUC is better).
Petsiuk et al. 2018 (RISE) defined both. Maps: the shipped ``cam``, ``msroi``
and ``nice``, a centre prior, and a random map (``--maps`` picks).

    python -m benchmarks.saliency_quality                          # imagenet-val-1300, Lite0
    python -m benchmarks.saliency_quality --evaluator lite2 --limit 300
    python -m benchmarks.saliency_quality --quick                  # 40 images, 5 steps
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

import jpegsal
from jpegsal.bench.data import read_labels, split_of

from .common import Evaluator, load_rgb, machine, write_json

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "imagenet-val-1300"
MAPS = ("cam", "msroi", "nice", "centre", "random")  # models, then two reference maps


def centre_prior(h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    g = np.exp(-(((x - (w - 1) / 2) / (0.25 * w)) ** 2 + ((y - (h - 1) / 2) / (0.25 * h)) ** 2) / 2)
    return (g / g.max()).astype(np.float32)


def curves(
    image: np.ndarray,
    sal: np.ndarray,
    ev: Evaluator,
    cls: int,
    steps: int,
    rng: np.random.Generator,
) -> tuple[float, float]:
    """(deletion AUC, insertion AUC) of one map on one image."""
    h, w = sal.shape
    blurred = cv2.GaussianBlur(image, (0, 0), sigmaX=max(h, w) / 20)
    # Tiny noise breaks ties (flat regions) in a seeded, reproducible way.
    order = np.argsort(-(sal.ravel() + rng.random(sal.size) * 1e-6), kind="stable")
    batch = []
    for k in range(steps + 1):
        top = np.zeros(h * w, bool)
        top[order[: round(k / steps * h * w)]] = True
        top = top.reshape(h, w, 1)
        batch.append(np.where(top, blurred, image))  # deletion
        batch.append(np.where(top, image, blurred))  # insertion
    p = ev.probs(np.stack(batch))[:, cls]
    deletion, insertion = p[0::2], p[1::2]
    return float(np.trapezoid(deletion) / steps), float(np.trapezoid(insertion) / steps)


def run(
    dataset: Path,
    evaluator: str,
    limit: int | None,
    steps: int,
    seed: int,
    names: tuple[str, ...] = MAPS,
    split: str = "all",
) -> dict[str, Any]:
    # "report" leaves out the tuning (and int8 calibration) images
    pairs = split_of(read_labels(dataset), split)[:limit]
    ev = Evaluator(evaluator)
    rng = np.random.default_rng(seed)
    scores: dict[str, list[tuple[float, float]]] = {m: [] for m in names}
    t0 = time.perf_counter()
    for path, _label in tqdm(pairs, desc=f"deletion/insertion ({evaluator})", unit="img"):
        image = np.asarray(load_rgb(path))
        cls = int(ev.probs(image[None])[0].argmax())  # label-free: the evaluator's own class
        h, w = image.shape[:2]
        for name in names:
            if name == "centre":
                sal = centre_prior(h, w)
            elif name == "random":
                sal = rng.random((h, w)).astype(np.float32)
            else:
                sal = jpegsal.saliency(image, name, device="cpu")
            scores[name].append(curves(image, sal, ev, cls, steps, rng))
    rows = {}
    for name, values in scores.items():
        a = np.asarray(values)
        sem = a.std(0, ddof=1) / np.sqrt(len(a)) if len(a) > 1 else np.zeros(2)
        rows[name] = {
            "deletion_auc": round(float(a[:, 0].mean()), 4),
            "deletion_sem": round(float(sem[0]), 4),
            "insertion_auc": round(float(a[:, 1].mean()), 4),
            "insertion_sem": round(float(sem[1]), 4),
        }
    return {
        "benchmark": "saliency_quality",
        "dataset": dataset.name,
        "images": len(pairs),
        "split": split,
        "evaluator": f"efficientnet-{evaluator} (whole image, no crop)",
        "steps": steps,
        "seed": seed,
        "seconds": round(time.perf_counter() - t0, 1),
        "machine": f"{machine()}, jpegsal {jpegsal.__version__}",
        "maps": rows,
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        f"{result['dataset']} ({result['images']} images), evaluator {result['evaluator']}, "
        f"{result['steps']} steps",
        "",
        "| map | deletion AUC (lower is better) | insertion AUC (higher is better) |",
        "|---|---|---|",
    ]
    for name, r in result["maps"].items():
        lines.append(
            f"| {name} | {r['deletion_auc']:.3f} ± {r['deletion_sem']:.3f} | "
            f"{r['insertion_auc']:.3f} ± {r['insertion_sem']:.3f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--evaluator", choices=["lite0", "lite2"], default="lite0")
    parser.add_argument("--limit", type=int, help="at most this many images")
    parser.add_argument("--steps", type=int, default=10, help="fractions 0, 1/steps, ..., 1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--maps", nargs="+", default=list(MAPS), help="model names, 'centre' and/or 'random'"
    )
    parser.add_argument("--split", choices=["all", "tune", "report"], default="all")
    parser.add_argument("--quick", action="store_true", help="40 images, 5 steps")
    parser.add_argument("--out", type=Path, help="JSON output (default: benchmarks/results/...)")
    args = parser.parse_args(argv)
    if args.quick:
        args.limit, args.steps = args.limit or 40, 5
    result = run(
        args.dataset,
        args.evaluator,
        args.limit,
        args.steps,
        args.seed,
        tuple(args.maps),
        args.split,
    )
    out = args.out or ROOT / "benchmarks" / "results" / args.dataset.name / (
        f"saliency_quality_{args.evaluator}{'_quick' if args.quick else ''}.json"
    )
    write_json(out, result)
    print(table(result))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
