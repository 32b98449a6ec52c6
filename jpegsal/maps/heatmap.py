"""Rendering saliency maps for people: heatmaps and overlays (CLI and demo)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from .._optional import require

__all__ = ["render"]


def render(image: Image.Image, saliency: np.ndarray, *, overlay: bool = False) -> Image.Image:
    """A greyscale heatmap (white = salient), or the map in colour blended over ``image``."""
    levels = np.rint(np.clip(saliency, 0.0, 1.0) * 255.0).astype(np.uint8)
    if not overlay:
        return Image.fromarray(levels, "L")
    cv2 = require("cv2")
    colour = cv2.applyColorMap(levels, cv2.COLORMAP_INFERNO)[:, :, ::-1]  # BGR -> RGB
    base = np.asarray(image.convert("RGB"), np.float32)
    blend = 0.45 * base + 0.55 * colour.astype(np.float32)
    return Image.fromarray(np.rint(blend).astype(np.uint8), "RGB")
