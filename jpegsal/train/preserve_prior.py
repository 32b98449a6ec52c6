"""What ``preserve``'s predicted search knows before its first check (jpegsal.ratesearch).

For every tuning image, the KL divergence of the shipped classifier (EfficientNet-Lite0,
as ``preserve`` runs it) between the original and its JPEG at every quality 1..100. From
those curves:

* the typical curve: the median log KL at qualities 5, 10, ..., 100, made non-increasing;
* each image's shift: its mean log KL above that curve;
* the prior: the shift predicted, before any check, by least squares on features of the
  original: the entropy of the classifier's prediction, and the KL that JPEG's
  quantisation is predicted to cost from the image's own DCT coefficients at quality 50
  (:func:`jpegsal.codec.coefficients.predicted_kl`, no network).

Then the search is replayed on the measured curves (every quality was measured, so the
replay asks for no encode) with each prior, and the network runs per image and the
qualities chosen are printed, so a prior is chosen by what it saves.

    python -m jpegsal.train.preserve_prior ../shared/data/imagenet-val-1300 --out prior.json
"""

from __future__ import annotations

import argparse
import io
import json
import math
from pathlib import Path

import numpy as np
from PIL import Image

from ..bench.sweep import load_rgb
from ..codec.coefficients import predicted_kl, sample_blocks
from ..codec.machine import fisher_at
from ..codec.options import normalize_options
from ..codec.tables import quant_tables
from ..maps.compute import classify
from ..maps.contract import kl_divergence, softmax
from ..maps.registry import get_model
from ..ratesearch import entropy, predicted_passing
from .sensitivity import tune_split

BUDGETS = (0.03, 0.1, 0.3, 1.0)
_FLOOR = 1e-9


def curves(paths: list[Path]) -> dict[str, list]:
    """Per image: the KL at qualities 1..100, the prediction's entropy, the predicted KL."""
    from tqdm import tqdm

    model = get_model("cam")
    out: dict[str, list] = {"kl": [], "entropy": [], "predicted": []}
    tables = list(quant_tables(normalize_options({"quality": 50})))
    for path in tqdm(paths, desc="KL curves", unit="img"):
        image = load_rgb(path)
        p0 = softmax(classify(model, image))
        row = []
        for q in range(1, 101):
            buf = io.BytesIO()
            image.save(buf, "JPEG", quality=q)
            with Image.open(buf) as im:
                row.append(kl_divergence(p0, softmax(classify(model, im.convert("RGB")))))
        out["kl"].append(row)
        out["entropy"].append(entropy(p0))
        out["predicted"].append(predicted_kl(sample_blocks(image), tables, fisher_at(*image.size)))
    return out


def fit(data: dict[str, list]) -> dict[str, object]:
    """The typical curve, each image's shift, and least-squares priors of the shift."""
    log_kl = np.log(np.maximum(np.array(data["kl"]), _FLOOR))  # (images, 100)
    qualities = np.arange(5, 101, 5)
    curve = np.minimum.accumulate(np.median(log_kl[:, qualities - 1], axis=0))
    shift = (log_kl[:, qualities - 1] - curve).mean(axis=1)
    features = {
        "entropy": np.log(np.array(data["entropy"]) + 1e-3),
        "predicted": np.log(np.maximum(np.array(data["predicted"]), _FLOOR)),
    }
    priors: dict[str, list[float]] = {}
    for names in (("entropy",), ("entropy", "predicted")):
        x = np.stack([np.ones(len(shift)), *(features[n] for n in names)], axis=1)
        coef, *_ = np.linalg.lstsq(x, shift, rcond=None)
        corr = float(np.corrcoef(x @ coef, shift)[0, 1])
        priors["+".join(names)] = [*(round(float(c), 4) for c in coef), round(corr, 3)]
    return {"curve": [round(float(c), 3) for c in curve], "shift": shift.tolist(), "priors": priors}


def _search(row: list[float], budget: float, shift: float) -> tuple[int, int]:
    """(network runs with the reference, quality) of the search on one measured curve."""
    calls = [0]

    def encode(q: int) -> bytes:
        calls[0] += 1
        return q.to_bytes(1, "big")

    def kl_of(data: bytes) -> float:
        return row[data[0] - 1]

    q, _ = predicted_passing(
        encode,
        lambda d: kl_of(d) <= budget,
        kl_of,
        budget,
        None,
        shift=shift,
        strict=False,
    )
    return 1 + calls[0], q


def replay(data: dict[str, list], fitted: dict[str, object], prior: str) -> dict[str, float]:
    """The search on the measured curves with ``prior``: mean network runs per image (the
    reference run included) and mean quality, per budget."""
    import jpegsal.ratesearch as rs

    if prior == "shipped":  # the constants jpegsal.ratesearch holds now
        coef, names, curve = list(rs._SHIFT), ["entropy"], rs._LOG_KL.copy()
    else:
        coef = fitted["priors"][prior][:-1]  # type: ignore[index]
        names, curve = prior.split("+"), fitted["curve"]
    features = {
        "entropy": [math.log(h + 1e-3) for h in data["entropy"]],
        "predicted": [math.log(max(p, _FLOOR)) for p in data["predicted"]],
    }
    shifts = [
        coef[0] + sum(c * features[n][i] for c, n in zip(coef[1:], names, strict=True))
        for i in range(len(data["kl"]))
    ]
    out: dict[str, float] = {}
    saved = rs._LOG_KL.copy()
    rs._LOG_KL[:] = curve
    try:
        for budget in BUDGETS:
            done = [_search(row, budget, s) for row, s in zip(data["kl"], shifts, strict=True)]
            out[f"runs@{budget:g}"] = round(float(np.mean([r for r, _ in done])), 3)
            out[f"quality@{budget:g}"] = round(float(np.mean([q for _, q in done])), 2)
    finally:
        rs._LOG_KL[:] = saved
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    cache = args.out.with_suffix(".curves.json")
    if cache.is_file():
        data = json.loads(cache.read_text())
    else:
        data = curves(tune_split(args.dataset)[: args.limit])
        cache.write_text(json.dumps(data))
    fitted = fit(data)
    priors = ["shipped", *fitted["priors"]]  # type: ignore[misc]
    fitted["replay"] = {p: replay(data, fitted, p) for p in priors}
    args.out.write_text(json.dumps({k: v for k, v in fitted.items() if k != "shift"}, indent=1))
    print(json.dumps({k: v for k, v in fitted.items() if k != "shift"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
