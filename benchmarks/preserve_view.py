"""``preserve`` checked on reduced decodes against full decodes: the same choices, cheaper?

    python -m benchmarks.preserve_view          # the 24 Kodak images at 4000x3000, cam
    python -m benchmarks.preserve_view --sweep  # KL of both views at qualities 5..100

Each Kodak image is resized to 4000x3000 and encoded with ``model="cam", preserve=t``
twice: candidates checked on libjpeg's 1/4 decode against the original reduced alike
(``preserve_view="reduced"``, the default) and on full decodes (``"full"``). Reported per
budget: how often both choose the same quality, the mean difference, how often the
reduced choice also keeps the *full-view* KL within the budget, the bytes of the reduced
choices over the full ones, and the median time of the checks and of the whole encode.
``--sweep`` instead encodes qualities 5, 10, ..., 100 with Pillow and gives, by the full
view's KL, the spread of the reduced view's KL over it (the reference matched or not).
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

import jpegsal
from jpegsal.checks import VIEWS, reduced_view
from jpegsal.maps.compute import classify
from jpegsal.maps.contract import kl_divergence, softmax
from jpegsal.maps.registry import get_model

from .common import machine, write_json
from .reencode import KODAK

BUDGETS = (0.03, 0.1, 0.3, 1.0)


def _images(limit: int | None, size: tuple[int, int]) -> list[tuple[str, Image.Image]]:
    paths = sorted(KODAK.glob("*.png"))[:limit]
    if not paths:
        raise SystemExit(f"no Kodak images in {KODAK} (../shared/data/kodak)")
    out = []
    for path in paths:
        with Image.open(path) as im:
            out.append((path.name, im.convert("RGB").resize(size, Image.Resampling.LANCZOS)))
    return out


def run(limit: int | None, budgets: tuple[float, ...], size: tuple[int, int]) -> dict[str, Any]:
    model = get_model("cam", "cpu")
    enc = jpegsal.Encoder(model)
    rows: dict[float, dict[str, list[float]]] = {b: {} for b in budgets}
    for _, big in _images(limit, size):
        reference = softmax(classify(model, big))  # type: ignore[arg-type]
        for b in budgets:
            got = {v: enc.encode_with_info(big, preserve=b, preserve_view=v) for v in VIEWS}
            with Image.open(io.BytesIO(got["reduced"].data)) as im:
                full_kl = kl_divergence(reference, softmax(classify(model, im.convert("RGB"))))  # type: ignore[arg-type]
            row = rows[b]
            for key, value in (
                ("q_reduced", got["reduced"].quality),
                ("q_full", got["full"].quality),
                ("bytes", len(got["reduced"].data) / len(got["full"].data)),
                ("full_kl_within", float(full_kl <= b)),
                ("full_kl_over_budget", full_kl / b),
                *((f"check_ms_{v}", 1000 * got[v].timings["check"]) for v in VIEWS),
                *((f"total_ms_{v}", 1000 * got[v].timings["total"]) for v in VIEWS),
                *((f"runs_{v}", got[v].network_runs) for v in VIEWS),
            ):
                row.setdefault(key, []).append(float(value))
    return {
        "benchmark": "preserve_view",
        "size": list(size),
        "model": "cam",
        "images": len(rows[budgets[0]]["bytes"]),
        "budgets": {str(b): _summary(r) for b, r in rows.items()},
        "machine": machine(),
    }


def sweep(limit: int | None, size: tuple[int, int], scale: int = 4) -> dict[str, Any]:
    model = get_model("cam", "cpu")
    rows = []
    for _, big in _images(limit, size):
        full_ref = softmax(classify(model, big))  # type: ignore[arg-type]
        reduced_ref = softmax(classify(model, reduced_view(big, scale)))  # type: ignore[arg-type]
        for q in range(5, 101, 5):
            buf = io.BytesIO()
            big.save(buf, "JPEG", quality=q)
            with Image.open(io.BytesIO(buf.getvalue())) as im:
                full = softmax(classify(model, im.convert("RGB")))  # type: ignore[arg-type]
            with Image.open(io.BytesIO(buf.getvalue())) as im:
                im.draft("RGB", (size[0] // scale, size[1] // scale))
                small = softmax(classify(model, im.convert("RGB")))  # type: ignore[arg-type]
            kls = (kl_divergence(full_ref, full), kl_divergence(reduced_ref, small))
            rows.append((q, *kls, kl_divergence(full_ref, small)))
    r = np.array(rows)
    bands = {}
    for lo, hi in ((0.01, 0.03), (0.03, 0.1), (0.1, 0.3), (0.3, 1.0)):
        m = (r[:, 1] >= lo) & (r[:, 1] < hi)
        pct = np.percentile(r[m, 2] / r[m, 1], [5, 25, 50, 75, 95]) if m.any() else []
        bands[f"{lo}-{hi}"] = {"candidates": int(m.sum()), "ratio_pct": np.round(pct, 2).tolist()}
    top = r[r[:, 0] == 100]
    return {
        "benchmark": "preserve_view --sweep",
        "size": list(size),
        "scale": scale,
        "reduced_over_full_kl_by_full_kl": bands,
        "q100_kl": {
            name: [round(float(top[:, i].mean()), 4), round(float(top[:, i].max()), 4)]
            for i, name in (
                (1, "full"),
                (2, "reduced, matched reference"),
                (3, "reduced, full reference"),
            )
        },
        "machine": machine(),
    }


def _summary(r: dict[str, list[float]]) -> dict[str, float]:
    diff = np.array(r["q_reduced"]) - np.array(r["q_full"])
    med = {k: round(float(np.median(v)), 1) for k, v in r.items() if "_ms_" in k}
    return {
        "same_quality": round(float(np.mean(diff == 0)), 3),
        "mean_quality_difference": round(float(diff.mean()), 2),
        "full_kl_within_budget": round(float(np.mean(r["full_kl_within"])), 3),
        "full_kl_over_budget_max": round(float(np.max(r["full_kl_over_budget"])), 2),
        "bytes_reduced_over_full": round(float(np.sum(r["bytes"]) / len(r["bytes"])), 4),
        "runs_reduced": round(float(np.mean(r["runs_reduced"])), 2),
        "runs_full": round(float(np.mean(r["runs_full"])), 2),
        **{f"median_{k}": v for k, v in med.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int)
    parser.add_argument("--budgets", type=float, nargs="+", default=BUDGETS)
    parser.add_argument("--size", type=int, nargs=2, default=(4000, 3000), metavar=("W", "H"))
    parser.add_argument("--sweep", action="store_true", help="the KL of both views, q5..q100")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if min(args.budgets) <= 0:
        parser.error("--budgets: KL budgets are positive numbers of nats")
    name = "preserve_view_sweep.json" if args.sweep else "preserve_view.json"
    if args.sweep:
        result = sweep(args.limit, tuple(args.size))
        print(result["reduced_over_full_kl_by_full_kl"], result["q100_kl"])
    else:
        result = run(args.limit, tuple(args.budgets), tuple(args.size))
        for budget, row in result["budgets"].items():
            print(budget, row)
    out = args.out or Path(__file__).parent / "results" / "kodak" / name
    write_json(out, result)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
