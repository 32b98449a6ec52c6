"""``jpegsal demo``: the main job on the bundled sample images.

Each sample is encoded with Pillow (the reference), with ``preset="machine"`` and
with jpegsal for every available model x method (plus ``method=None``, which must
equal Pillow: checked, and shown once, as Pillow). The demo prints a size table
against plain JPEG and writes, per sample, the JPEG files and a picture
(:mod:`.demo_picture`): the original, each model's map, each encoding labelled with
its bytes and ratio to Pillow, and zoomed crops of the most and least salient
windows. It grows as models and methods are registered.
"""

from __future__ import annotations

import io
from importlib import resources
from pathlib import Path

from PIL import Image

from ._check import check_int
from .api import Encoder
from .codec import write_atomic
from .demo_picture import compare_picture
from .maps.registry import available_models
from .maps.registry import models as model_cards
from .methods import available_methods

__all__ = ["run_demo", "sample_images"]


def sample_images() -> list[Path]:
    """Paths of the bundled sample images (Kodak PhotoCD, free to use)."""
    root = resources.files("jpegsal") / "data"
    return sorted(Path(str(p)) for p in root.iterdir() if p.name.endswith(".png"))


def _variants() -> list[tuple[str, Encoder, str | None]]:
    """(label, encoder, model name) for every encoding shown."""
    # Every method with cam, plus Prakash et al.'s pairing of msroi with per-region quality.
    variants: list[tuple[str, Encoder, str | None]] = [("jpegsal method=None", Encoder(), None)]
    variants.append(("preset=machine", Encoder(preset="machine"), None))
    for method in available_methods():
        variants.append((f"cam+{method}", Encoder("cam", method), "cam"))
    if "msroi" in available_models() and "mix" in available_methods():
        variants.append(("msroi+mix", Encoder("msroi", "mix"), "msroi"))
    return variants


def run_demo(out_dir: Path, *, quality: int = 75) -> int:
    """Run the demo, write results under ``out_dir``; return 0 (or 1 on a mismatch)."""
    check_int("quality", quality, 0, 100)  # before anything is printed or written
    out_dir.mkdir(parents=True, exist_ok=True)
    variants = _variants()
    # One map per model; variants (int8 twins) would only repeat their model's map.
    models = [m["name"] for m in model_cards() if "variant_of" not in m]
    print(
        f"saliency models: {', '.join(models)}; pre-encode methods: "
        f"{', '.join(available_methods()) or 'none yet (the JPEG path equals Pillow)'}"
    )
    header = f"{'image':<10} {'encoding':<24} {'bytes':>8} {'bpp':>6} {'vs Pillow':>9}"
    print(header)
    print("-" * len(header))
    status = 0
    for path in sample_images():
        with Image.open(path) as im:
            image = im.convert("RGB")
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=quality)
        reference = buf.getvalue()
        pixels = image.width * image.height
        # Each model runs once per image; every encoding with it reuses its saliency.
        sals = {m: Encoder(m).saliency(image) for m in models}
        rows = [("pillow", reference)]
        for label, encoder, model in variants:
            given = sals[model] if model is not None else None
            rows.append((label, encoder.encode(image, saliency=given, quality=quality)))
        if rows[1][1] != reference:
            print(f"{path.stem}: jpegsal method=None differs from Pillow!")
            status = 1
        for label, data in rows:
            ratio = len(data) / len(reference)
            print(
                f"{path.stem:<10} {label:<24} {len(data):>8} "
                f"{8 * len(data) / pixels:>6.3f} {ratio:>8.3f}x"
            )
            safe = label.replace(" ", "_").replace("=", "-").replace("+", "_")
            write_atomic(data, out_dir / f"{path.stem}_{safe}.jpg")
        maps = [(m, sals[m].map) for m in models]
        shown = [rows[0], *rows[2:]]  # method=None is Pillow's bytes: one tile, not two
        picture = compare_picture(image, maps, shown, len(reference))
        picture.save(out_dir / f"{path.stem}_compare.png")
    print(f"\nwrote JPEGs and side-by-side pictures to {out_dir}/")
    return status
