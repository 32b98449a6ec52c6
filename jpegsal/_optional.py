"""Optional dependencies: imported where needed, with an error that names the extra."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["require"]

# module -> (extra that provides it, what it is for)
_EXTRAS: dict[str, tuple[str, str]] = {
    "onnxruntime": ("cpu", "running saliency models (use the 'gpu' extra for CUDA)"),
    "cv2": ("cpu", "the pre-encode methods"),
    "scipy": ("cpu", "the pre-encode methods"),
    "torch": ("train", "training and exporting models"),
    "onnx": ("train", "exporting models"),
    "matplotlib": ("bench", "benchmark plots"),
    "pyjpegli": ("bench", "the jpegli contender"),
    "ai_edge_litert.interpreter": ("bench", "TFLite classifiers (ai-edge-litert)"),
    "jpeglib": ("jpeg", "coefficient-level JPEG work (jpegsal.optimize, the DCT writer)"),
}


def require(module: str) -> ModuleType:
    """Import ``module`` or raise an ``ImportError`` saying which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        extra, purpose = _EXTRAS.get(module, ("", "this feature"))
        hint = f"pip install 'jpegsal[{extra}]'" if extra else f"pip install {module}"
        raise ImportError(f"{module} is needed for {purpose} but is not installed: {hint}") from e
