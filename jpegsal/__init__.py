"""jpegsal: saliency-guided JPEG encoding that any standard decoder reads.

>>> import jpegsal
>>> data = jpegsal.encode(image, quality=80)          # doctest: +SKIP
>>> jpegsal.save(image, "out.jpg", quality=80)        # doctest: +SKIP

With ``method=None`` (the default) the output is byte-identical to Pillow's
``Image.save(fp, "JPEG", ...)``. Importing jpegsal loads only numpy and Pillow;
model runtimes are imported when a model is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .api import Encoder, encode, save
from .codec.lossless import optimize
from .codec.options import JpegOptions
from .maps import (
    Classifier,
    Saliency,
    SaliencyModel,
    available_models,
    models,
    register_model,
    saliency,
)
from .methods import (
    Blocks,
    Downsample,
    Guided,
    Method,
    Mix,
    available_methods,
    register_method,
)
from .pipeline import EncodeResult
from .plugin import register_pillow, unregister_pillow
from .reencode import reencode

if TYPE_CHECKING:
    from .bench.evaluation import EvaluateResult, evaluate

__all__ = [
    "Blocks",
    "Classifier",
    "Downsample",
    "EncodeResult",
    "Encoder",
    "EvaluateResult",
    "Guided",
    "JpegOptions",
    "Method",
    "Mix",
    "Saliency",
    "SaliencyModel",
    "__version__",
    "available_methods",
    "available_models",
    "encode",
    "evaluate",
    "models",
    "optimize",
    "reencode",
    "register_method",
    "register_model",
    "register_pillow",
    "saliency",
    "save",
    "unregister_pillow",
]


def __getattr__(name: str) -> Any:
    # jpegsal.evaluate (extra "bench") is imported on first use: it pulls in the codecs
    # and classifiers, which a plain ``import jpegsal`` must not.
    if name in ("evaluate", "EvaluateResult"):
        from .bench import evaluation

        return getattr(evaluation, name)
    raise AttributeError(f"module 'jpegsal' has no attribute {name!r}")
