"""jpegsal: saliency-guided JPEG encoding that any standard decoder reads.

>>> import jpegsal
>>> data = jpegsal.encode(image, quality=80)          # doctest: +SKIP
>>> jpegsal.save(image, "out.jpg", quality=80)        # doctest: +SKIP

With ``method=None`` (the default) the output is byte-identical to Pillow's
``Image.save(fp, "JPEG", ...)``. Importing jpegsal loads only numpy and Pillow;
model runtimes are imported when a model is first used.
"""

from __future__ import annotations

from ._version import __version__
from .api import Encoder, encode, save
from .maps import saliency
from .methods import available_methods
from .options import JpegOptions, normalize_options
from .pipeline import EncodeResult
from .zoo import available_models, models

__all__ = [
    "EncodeResult",
    "Encoder",
    "JpegOptions",
    "__version__",
    "available_methods",
    "available_models",
    "encode",
    "models",
    "normalize_options",
    "saliency",
    "save",
]
