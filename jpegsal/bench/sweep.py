"""The rate-accuracy sweep: every image through every contender at every point, judged.

Each image is encoded by each contender at each of its points (qualities, or KL budgets
of a budgeted contender), decoded by Pillow, and shown to every judge under its
protocols (``whole``: the whole image, no crop; ``crop``: the centre crop). Per point,
summed over images: bytes, top-1 and top-5 hits (labelled images), agreement with the
judge's own top-1 on the original image, and KL(original || decoded) of its
probabilities. :func:`curves` turns the sums into means, one row per point, and
:func:`ratios` compares a contender's curve with Pillow's (:mod:`jpegsal.bench.bd`).
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from ..maps.contract import kl_divergence
from .bd import versus_base
from .classifiers import Classifier
from .codecs import Codec

__all__ = ["TAIL", "Sweep", "curves", "load_rgb", "ratios", "run_sweep"]

TAIL = {"whole": "", "crop": "_crop"}  # protocol -> suffix of its score keys
Contenders = dict[str, tuple[Codec, tuple[Any, ...]]]
Scored = list[tuple[str, str]]  # (judge, protocol)
SCORES = ("top1", "top5", "agree1", "kl")  # summed per point, in this order


def load_rgb(path: Path) -> Image.Image:
    """``path`` as RGB and upright (EXIF orientation applied, then dropped), so every
    contender and judge sees the same pixels, and a map computed on them fits the view
    each jpegsal encode gives its model."""
    with Image.open(path) as im:
        image = ImageOps.exif_transpose(im).convert("RGB")
        # Codecs that take the file itself must not get one the transpose turned (2..8;
        # exif_transpose leaves other values, such as 0, as they are).
        image.info["upright_file"] = im.getexif().get(0x0112, 1) not in range(2, 9)
        return image


@dataclass
class Sweep:
    """What one sweep measured, image by image (see the module).

    ``bytes_each[contender]``: one (points,) array of output sizes per image;
    ``scores_each[(judge, protocol)][contender]``: one (points, 4) array per image: top-1
    hit, top-5 hit, agreement, KL. The per-image rows let :mod:`jpegsal.bench.stats`
    resample the images (confidence intervals); :attr:`nbytes` and :attr:`sums` are their
    totals, which the curves are made of.
    """

    points: dict[str, int]
    bytes_each: dict[str, list[np.ndarray]]
    scores_each: dict[tuple[str, str], dict[str, list[np.ndarray]]]
    encode_s: dict[str, float]
    n: int = 0
    labelled: int = 0
    pixels: int = 0
    unreadable: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def nbytes(self) -> dict[str, np.ndarray]:
        """contender -> (points,) bytes summed over the images."""
        return {c: _total(self.bytes_each[c], (p,)) for c, p in self.points.items()}

    @property
    def sums(self) -> dict[tuple[str, str], dict[str, np.ndarray]]:
        """(judge, protocol) -> contender -> (points, 4) scores summed over the images."""
        return {
            k: {c: _total(rows, (self.points[c], 4)) for c, rows in per.items()}
            for k, per in self.scores_each.items()
        }


def _total(rows: list[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    return np.sum(rows, axis=0) if rows else np.zeros(shape)


def _shrink(image: Image.Image, side: int | None) -> Image.Image:
    if side is None or image.width * image.height <= side**2:
        return image
    s = side / (image.width * image.height) ** 0.5
    size = (round(image.width * s), round(image.height * s))
    return image.resize(size, Image.Resampling.BICUBIC, reducing_gap=3.0)


def _judge(
    judges: dict[str, Classifier], scored: Scored, images: Sequence[np.ndarray]
) -> dict[tuple[str, str], np.ndarray]:
    return {(e, pr): judges[e].probs(images, crop=pr == "crop") for e, pr in scored}


def run_sweep(
    items: Sequence[tuple[Path, int | None]],
    judges: dict[str, Classifier],
    scored: Scored,
    contenders: Contenders,
    *,
    side: int | None = None,
    progress: Callable[[Any], Any] | None = None,
) -> Sweep:
    """Run every contender on ``items`` ((path, class index or None)); see the module.

    ``progress`` wraps the item iterator (for example ``tqdm``). An image that cannot be
    read is listed in ``unreadable`` and skipped.
    """
    out = Sweep(
        {c: len(p) for c, (_, p) in contenders.items()},
        {c: [] for c in contenders},
        {k: {c: [] for c in contenders} for k in scored},
        dict.fromkeys(contenders, 0.0),
    )
    t0 = time.perf_counter()
    for path, label in progress(items) if progress else items:
        try:
            image = load_rgb(path)
        except (OSError, ValueError) as e:  # listed and skipped: one bad file must not stop it
            out.unreadable.append(f"{path}: {type(e).__name__}: {e}")
            continue
        shrunk = _shrink(image, side)
        if shrunk is image and image.info.get("upright_file"):
            image.info["source_path"] = str(path)  # for codecs that take the file (reencode)
        _one_image(out, shrunk, label, judges, scored, contenders)
    out.seconds = time.perf_counter() - t0
    return out


def _one_image(
    out: Sweep,
    image: Image.Image,
    label: int | None,
    judges: dict[str, Classifier],
    scored: Scored,
    contenders: Contenders,
) -> None:
    out.n, out.labelled = out.n + 1, out.labelled + (label is not None)
    out.pixels += image.width * image.height
    original = _judge(judges, scored, [np.asarray(image)])
    shared: dict[str, Any] = {}  # one saliency per model, shared by its codecs
    for c, (codec, points) in contenders.items():
        key = codec.share_key
        t = time.perf_counter()
        if key is not None and key not in shared:
            shared[key] = codec.prepare(image)
        prepared = shared.get(key) if key is not None else None
        decoded, sizes = [], np.zeros(len(points))
        for qi, q in enumerate(points):
            data = codec.encode(image, q, prepared)
            sizes[qi] = len(data)
            decoded.append(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
        out.encode_s[c] += time.perf_counter() - t
        out.bytes_each[c].append(sizes)
        for (e, pr), probs in _judge(judges, scored, decoded).items():
            p0 = original[e, pr][0]
            top5 = np.argsort(-probs, axis=1, kind="stable")[:, :5]
            hit = np.zeros((len(points), 4))
            if label is not None:
                hit[:, 0], hit[:, 1] = top5[:, 0] == label, (top5 == label).any(1)
            hit[:, 2] = top5[:, 0] == int(np.argsort(-p0, kind="stable")[0])
            hit[:, 3] = [kl_divergence(p0, p) for p in probs]
            out.scores_each[e, pr][c].append(hit)


def curves(sweep: Sweep, contenders: Contenders, judges: Sequence[str]) -> dict[str, Any]:
    """curves[judge][contender] = one row per point: the point, bytes, bpp and scores
    (top1/top5 only when every image is labelled; ``_crop`` keys for the crop protocol)."""
    n = max(sweep.n, 1)
    nbytes, sums = sweep.nbytes, sweep.sums
    result: dict[str, Any] = {}
    for e in dict.fromkeys(judges):
        result[e] = {}
        for c, (codec, points) in contenders.items():
            rows = []
            for i, q in enumerate(points):
                row = {
                    ("kl_budget" if codec.budgeted else "quality"): q,
                    "bpp": round(8 * nbytes[c][i] / max(sweep.pixels, 1), 4),
                    "bytes": round(nbytes[c][i] / n, 1),
                }
                for protocol, suffix in TAIL.items():
                    if (e, protocol) not in sums:
                        continue
                    top1, top5, agree, kl = sums[e, protocol][c][i] / n
                    if sweep.labelled == sweep.n:
                        row |= {f"top1{suffix}": round(100 * top1, 2)}
                        row |= {f"top5{suffix}": round(100 * top5, 2)}
                    row[f"agree1{suffix}"] = round(100 * agree, 2)
                    row[f"kl{suffix}"] = round(kl, 5)
                rows.append(row)
            result[e][c] = rows
    return result


def ratios(judge_curves: dict[str, Any], contenders: Sequence[str], key: str) -> dict[str, Any]:
    """Each contender's bytes ratio vs ``pillow`` at equal ``key`` (see
    :func:`~jpegsal.bench.bd.versus_base`); for ``kl`` keys, at equal KL (lower is better)."""
    base = judge_curves["pillow"]
    sign = -1.0 if key.startswith("kl") else 1.0
    signed = [{**p, key: sign * p[key]} for p in base]
    return {
        c: versus_base(signed, [(p["bytes"], sign * p[key]) for p in judge_curves[c]], key)
        for c in contenders
        if c != "pillow"
    }
