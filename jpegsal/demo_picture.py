"""The demo's picture: every encoding side by side, with crops where the bytes went.

Row 1 shows the whole image: the original, each model's map over it, then each
encoding, labelled with its bytes and its ratio to Pillow's. Rows 2 and 3 zoom (2x) into
the most and the least salient windows of the ``cam`` map: jpegsal spends its bytes in
the first and saves them in the second, so that is where the encodings differ. A colour
bar says what the map colours mean.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from .maps.heatmap import colourise, render

__all__ = ["Tile", "compare_picture", "salient_windows"]

Tile = tuple[str, Image.Image]  # (label, picture at the image's size)
_W = 256  # tile width
_LABEL = 14  # label strip height


def salient_windows(
    saliency: np.ndarray, frac: float = 0.25
) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]]:
    """The (left, top, right, bottom) windows of ``frac`` of each side with the highest and
    the lowest mean saliency (a summed-area table; every position is tried)."""
    h, w = saliency.shape
    wh, ww = max(1, round(h * frac)), max(1, round(w * frac))
    sat = np.pad(np.cumsum(np.cumsum(saliency, 0), 1), ((1, 0), (1, 0)))
    sums = sat[wh:, ww:] - sat[:-wh, ww:] - sat[wh:, :-ww] + sat[:-wh, :-ww]
    boxes = []
    for index in (np.argmax(sums), np.argmin(sums)):
        top, left = np.unravel_index(index, sums.shape)
        boxes.append((int(left), int(top), int(left) + ww, int(top) + wh))
    return boxes[0], boxes[1]


def compare_picture(
    original: Image.Image,
    maps: list[tuple[str, np.ndarray]],
    encodings: list[tuple[str, bytes]],
    reference: int,
) -> Image.Image:
    """The demo picture; ``encodings`` are (label, JPEG bytes), ``reference`` Pillow's size."""
    tiles: list[Tile] = [("original", original)]
    tiles += [(f"map: {name}", render(original, m, overlay=True)) for name, m in maps]
    for label, data in encodings:
        decoded = Image.open(io.BytesIO(data)).convert("RGB")
        tiles.append((f"{label}: {len(data):,} B ({len(data) / reference:.2f}x)", decoded))
    focus = maps[0][1] if maps else np.ones(original.size[::-1], np.float32)
    most, least = salient_windows(focus)
    scale = _W / original.width
    h = max(1, round(original.height * scale))
    crop_h = max(1, round((most[3] - most[1]) * _W / (most[2] - most[0])))
    rows = [
        ("", [t.resize((_W, h), Image.Resampling.LANCZOS) for _, t in tiles], h),
        ("most salient, 2x", [_zoom(t, most, crop_h) for _, t in tiles], crop_h),
        ("least salient, 2x", [_zoom(t, least, crop_h) for _, t in tiles], crop_h),
    ]
    legend_h = 24
    height = sum(rh + _LABEL for _, _, rh in rows) + legend_h
    canvas = Image.new("RGB", (_W * len(tiles), height), "white")
    draw = ImageDraw.Draw(canvas)
    y = 0
    for title, pictures, rh in rows:
        for i, picture in enumerate(pictures):
            label = tiles[i][0] if not title else (title if i == 0 else "")
            draw.text((i * _W + 3, y + 1), label, fill="black")
            canvas.paste(picture, (i * _W, y + _LABEL))
        y += rh + _LABEL
    _legend(canvas, draw, y + 4)
    for box in (most, least):  # where the crops come from, on the original's tile
        x0, y0, x1, y1 = (round(v * scale) for v in box)
        draw.rectangle((x0, _LABEL + y0, x1, _LABEL + y1), outline="white")
    return canvas


def _zoom(tile: Image.Image, box: tuple[int, int, int, int], height: int) -> Image.Image:
    # Nearest neighbour: the 8x8 blocks and ringing are what the crop is there to show.
    return tile.crop(box).resize((_W, height), Image.Resampling.NEAREST)


def _legend(canvas: Image.Image, draw: ImageDraw.ImageDraw, y: int) -> None:
    ramp = np.tile(np.linspace(0.0, 1.0, _W, dtype=np.float32), (10, 1))
    canvas.paste(Image.fromarray(np.ascontiguousarray(colourise(ramp)), "RGB"), (60, y))
    draw.text((3, y), "saliency", fill="black")
    draw.text((64 + _W, y), "low -> high (map tiles; crops: white boxes)", fill="black")
