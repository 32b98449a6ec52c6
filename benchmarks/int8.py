"""What the int8 variants keep: decisions, maps, logits and speed against fp32.

    python -m benchmarks.int8                       # imagenet-val-1300 report split
    python -m benchmarks.int8 --limit 100 --preserve-limit 20

For each shipped model and its ``-int8`` twin (``python -m jpegsal.train.quantize``),
on the images the calibration never saw (index % 5 != 0): agreement of the top-1
class, top-1 against the labels, KL(fp32 || int8) of the softmax, the maps' Pearson
correlation and mean absolute difference, the share of 16x16 MCUs whose ``downsample``
decision (block mean >= 0.5) is the same, and on ``--preserve-limit`` images the
share of ``preserve=0.1`` encodes that pick the same quality. Network latency is the
median of 30 runs at the 1 MP input size (192x288) on ``--threads`` threads.
Deletion/insertion AUCs: ``benchmarks.saliency_quality --maps cam cam-int8 ...``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

import jpegsal
from jpegsal.maps.contract import kl_divergence, softmax
from jpegsal.maps.registry import get_model
from jpegsal.methods._grid import block_means
from jpegsal.train.data import read_labels

from .common import load_rgb, machine, median_ms, write_json

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "imagenet-val-1300"
PAIRS = ("cam", "msroi", "nice")


def latency_ms(model: Any, threads: int) -> float:
    x = np.random.default_rng(0).standard_normal((1, 3, 192, 288)).astype(np.float32)
    for _ in range(2):  # with median_ms's own warm-up: three runs before the timed 30
        model.run(x)
    return median_ms(lambda: model.run(x), 30)


def _corr(a: np.ndarray, b: np.ndarray) -> float | None:
    if a.std() == 0 or b.std() == 0:
        return None  # a constant map has no correlation; the MAD still counts it
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def compare(name: str, pairs: list[tuple[Path, int]], preserve_n: int, threads: int) -> dict:
    fp, q8 = get_model(name, threads=threads), get_model(name + "-int8", threads=threads)
    same = hits_fp = hits_q = 0
    kls, corrs, mads, blocks = [], [], [], []
    for path, label in tqdm(pairs, desc=f"{name} vs {name}-int8", unit="img"):
        image = load_rgb(path)
        (ma, la), (mb, lb) = fp.predict(image), q8.predict(image)
        same += int(la.argmax() == lb.argmax())
        hits_fp += int(la.argmax() == label)
        hits_q += int(lb.argmax() == label)
        kls.append(kl_divergence(softmax(la), softmax(lb)))
        if (c := _corr(ma, mb)) is not None:
            corrs.append(c)
        mads.append(float(np.abs(ma - mb).mean()))
        blocks.append(
            float(((block_means(ma, 16, 16) >= 0.5) == (block_means(mb, 16, 16) >= 0.5)).mean())
        )
    picks, steps, sizes = [], [], []
    encoders = [
        jpegsal.Encoder(m, None, preserve=0.1, threads=threads) for m in (name, name + "-int8")
    ]
    for path, _ in pairs[:preserve_n]:
        image = load_rgb(path)
        ra, rb = (e.encode_with_info(image) for e in encoders)
        picks.append(ra.quality == rb.quality)
        steps.append(abs(ra.quality - rb.quality))
        sizes.append((len(ra.data), len(rb.data)))
    n = len(pairs)
    return {
        "images": n,
        "top1_agreement": round(same / n, 4),
        "top1_fp32": round(hits_fp / n, 4),
        "top1_int8": round(hits_q / n, 4),
        "kl_median": round(float(np.median(kls)), 5),
        "kl_mean": round(float(np.mean(kls)), 5),
        "kl_p95": round(float(np.percentile(kls, 95)), 5),
        "map_corr_mean": round(float(np.mean(corrs)), 4) if corrs else None,
        "map_corr_images": len(corrs),
        "map_mad_mean": round(float(np.mean(mads)), 4),
        "mcu_decisions_same": round(float(np.mean(blocks)), 4),
        "preserve_same_quality": round(float(np.mean(picks)), 4) if picks else None,
        "preserve_quality_mad": round(float(np.mean(steps)), 2) if steps else None,
        "preserve_bytes_int8_over_fp32": (
            round(sum(b for _, b in sizes) / sum(a for a, _ in sizes), 4) if sizes else None
        ),
        "preserve_images": len(picks),
        "latency_ms_fp32": latency_ms(fp, threads),
        "latency_ms_int8": latency_ms(q8, threads),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--limit", type=int, help="at most this many report images")
    parser.add_argument("--preserve-limit", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models", nargs="+", default=list(PAIRS))
    parser.add_argument("--out", type=Path, help="JSON (default: benchmarks/results/...)")
    args = parser.parse_args(argv)
    pairs = [pr for i, pr in enumerate(read_labels(args.dataset)) if i % 5][: args.limit]
    t0 = time.perf_counter()
    rows = {m: compare(m, pairs, args.preserve_limit, args.threads) for m in args.models}
    result = {
        "benchmark": "int8",
        "dataset": args.dataset.name,
        "split": "report (index % 5 != 0)",
        "seconds": round(time.perf_counter() - t0, 1),
        "machine": f"{machine()}, jpegsal {jpegsal.__version__}",
        "models": rows,
    }
    out = args.out or ROOT / "benchmarks" / "results" / args.dataset.name / "int8.json"
    write_json(out, result)
    keys = [
        "top1_agreement",
        "top1_fp32",
        "top1_int8",
        "kl_median",
        "map_corr_mean",
        "map_mad_mean",
        "mcu_decisions_same",
        "preserve_same_quality",
        "preserve_quality_mad",
        "preserve_bytes_int8_over_fp32",
        "latency_ms_fp32",
        "latency_ms_int8",
    ]
    print("| model | " + " | ".join(keys) + " |\n|" + "---|" * (len(keys) + 1))
    for m, r in rows.items():
        print(f"| {m} | " + " | ".join(str(r[k]) for k in keys) + " |")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
