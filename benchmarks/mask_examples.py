"""A contact sheet of saliency maps: image, then each model's map over it, then NICE's downsample.

    python -m benchmarks.mask_examples                     # 6 imagenet-val-1300 images
    python -m benchmarks.mask_examples DIR --count 4 --out docs/img/nice-masks.png

Rows are images (every ``len/count``-th file, sorted, so the pick is fixed);
columns: the image, an overlay per model, and ``method="downsample"`` with the
last model at quality 75 (decoded), so the low-resolution background is visible.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from PIL import Image, ImageDraw

import jpegsal
from jpegsal.maps.heatmap import render
from jpegsal.train.data import read_labels

from .common import load_rgb

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "imagenet-val-1300"


def sheet(paths: list[Path], models: list[str], tile: int = 160) -> Image.Image:
    columns = ["image", *models, f"downsample ({models[-1]})"]
    out = Image.new("RGB", (tile * len(columns), tile * len(paths) + 16), "white")
    draw = ImageDraw.Draw(out)
    for c, title in enumerate(columns):
        draw.text((c * tile + 4, 2), title, fill="black")
    for r, path in enumerate(paths):
        image = load_rgb(path)
        sals = {m: jpegsal.Encoder(m, device="cpu").saliency(image) for m in models}
        tiles = [image]
        tiles += [render(image, sals[m].map, overlay=True) for m in models]
        last = jpegsal.Encoder(models[-1], "downsample", device="cpu")
        data = last.encode(image, saliency=sals[models[-1]], quality=75)
        tiles.append(Image.open(io.BytesIO(data)).convert("RGB"))
        for c, t in enumerate(tiles):
            out.paste(t.resize((tile, tile), Image.Resampling.BICUBIC), (c * tile, 16 + r * tile))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--count", type=int, default=6)
    parser.add_argument("--models", nargs="+", default=["cam", "nice"])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "nice-masks.png")
    args = parser.parse_args(argv)
    files = [p for p, _ in read_labels(args.dataset)]
    step = max(1, len(files) // args.count)
    picked = files[::step][: args.count]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet(picked, args.models).save(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
