"""Rendering saliency maps for people: heatmaps and overlays (CLI and demo)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from .._optional import require

__all__ = ["colourise", "render"]


def _levels(saliency: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.rint(np.clip(saliency, 0.0, 1.0) * 255.0).astype(np.uint8)
    return out


def colourise(saliency: np.ndarray) -> np.ndarray:
    """The map's colours, (H, W, 3) uint8 RGB (inferno: black, low, to yellow, high)."""
    cv2 = require("cv2")
    rgb: np.ndarray = cv2.applyColorMap(_levels(saliency), cv2.COLORMAP_INFERNO)[:, :, ::-1]
    return rgb


def render(image: Image.Image, saliency: np.ndarray, *, overlay: bool = False) -> Image.Image:
    """A greyscale heatmap (white = salient), or the map in colour blended over ``image``."""
    if not overlay:
        return Image.fromarray(_levels(saliency), "L")
    colour = colourise(saliency)
    base = np.asarray(image.convert("RGB"), np.float32)
    blend = 0.45 * base + 0.55 * colour.astype(np.float32)
    return Image.fromarray(np.rint(blend).astype(np.uint8), "RGB")
