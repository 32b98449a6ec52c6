"""Pre-encode methods: interchangeable strategies applied before the codec.

A method is a small frozen configuration object (a dataclass with a readable
``repr``) whose ``apply`` calls a pure function on the pixels: it takes the
image (mode L or RGB), the saliency map (float32 ``(H, W)`` in [0, 1]) and the
normalised JPEG options (for the block grid and quantisation tables), and
returns the image to encode. Every method has ``strength`` in [0, 1]:
strength 0 returns the image untouched, so the output is the plain JPEG.

Where to add a method: one module in this package with the function and its
config class, and one :func:`register_method` call.
"""

from __future__ import annotations

from .blocks import Blocks
from .downsample import Downsample
from .guided import Guided
from .mix import Mix

# The registry first; each method module registers its config class on import.
from .registry import (
    Method,
    MethodSpec,
    available_methods,
    get_method,
    per_quality,
    register_method,
    with_strength,
)

__all__ = [
    "Blocks",
    "Downsample",
    "Guided",
    "Method",
    "MethodSpec",
    "Mix",
    "available_methods",
    "get_method",
    "per_quality",
    "register_method",
    "with_strength",
]
