"""Saliency from libjpeg's reduced decode: how small may the decode be before the map and
the classifier's decision change?

    python -m benchmarks.reduced_decode            # the 24 Kodak images as 12 MP JPEGs

Each Kodak image is resized to 4000x3000 and saved by Pillow at quality 92; the ``cam``
model then runs on the full decode and on DCT-scaled decodes (1/2, 1/4, 1/8). Reported per
scale: median ms for decode + network, the map's correlation with the full decode's (at
64x48), top-1 agreement of the classifier, and the KL of its probabilities.
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

import numpy as np
from PIL import Image

from jpegsal.maps.contract import kl_divergence, softmax
from jpegsal.maps.registry import get_model

from .common import machine, write_json
from .reencode import KODAK

SCALES = (1, 2, 4, 8)


def _small(sal: np.ndarray) -> np.ndarray:
    im = Image.fromarray(sal.astype(np.float32), "F").resize((64, 48), Image.Resampling.BILINEAR)
    return np.asarray(im)


def run(limit: int | None) -> dict[str, object]:
    model = get_model("cam", "cpu")
    rows: dict[int, dict[str, list[float]]] = {s: {} for s in SCALES}
    for path in sorted(KODAK.glob("*.png"))[:limit]:
        with Image.open(path) as im:
            big = im.convert("RGB").resize((4000, 3000), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        big.save(buf, "JPEG", quality=92)
        reference: tuple[np.ndarray, np.ndarray] | None = None
        for s in SCALES:
            t = time.perf_counter()
            im = Image.open(io.BytesIO(buf.getvalue()))
            if s > 1:
                im.draft("RGB", (4000 // s, 3000 // s))
            sal, logits = model.predict(im.convert("RGB"))  # type: ignore[attr-defined]
            ms = 1000 * (time.perf_counter() - t)
            probs = softmax(np.asarray(logits, np.float64))
            small = _small(sal)
            reference = reference or (small, probs)
            row = rows[s]
            row.setdefault("ms", []).append(ms)
            row.setdefault("corr", []).append(
                float(np.corrcoef(small.ravel(), reference[0].ravel())[0, 1])
            )
            row.setdefault("agree", []).append(float(probs.argmax() == reference[1].argmax()))
            row.setdefault("kl", []).append(kl_divergence(reference[1], probs))
    return {
        "benchmark": "reduced_decode",
        "images": len(rows[1]["ms"]),
        "scales": {
            f"1/{s}": {
                "median_ms": round(float(np.median(r["ms"])), 1),
                "map_corr_mean": round(float(np.mean(r["corr"])), 4),
                "map_corr_min": round(float(np.min(r["corr"])), 4),
                "top1_agreement": round(float(np.mean(r["agree"])), 3),
                "kl_mean": round(float(np.mean(r["kl"])), 4),
                "kl_max": round(float(np.max(r["kl"])), 4),
            }
            for s, r in rows.items()
        },
        "machine": machine(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    result = run(args.limit)
    for scale, row in result["scales"].items():  # type: ignore[attr-defined]
        print(scale, row)
    out = args.out or Path(__file__).parent / "results" / "kodak" / "reduced_decode.json"
    write_json(out, result)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
