"""The codec stage: JPEG options, JPEG knowledge, the encoder backends and file writing.

* :mod:`.options`: Pillow's JPEG keywords, validated once into :class:`JpegOptions`;
* :mod:`.tables`: what libjpeg will do with them (tables, quality scaling, MCU grid);
* :mod:`.markers`: JPEG headers read (tables, frame, where the scan data starts);
* :mod:`.pillow`: the backend, Pillow's libjpeg-turbo (the only place that encodes);
* :mod:`.lossless`: the same pixels in fewer bytes (``jpegsal.optimize``; ``compacted``,
  the machine preset's last step);
* :mod:`.files`: atomic writes.

Where to add a codec backend: a module here with an ``encode_*(image, options) -> bytes``
function, chosen in :mod:`jpegsal.pipeline`.
"""

from __future__ import annotations

from .files import write_atomic, write_to
from .lossless import compacted
from .options import JPEG_OPTION_NAMES, JpegOptions, is_keep, normalize_options
from .pillow import encode_jpeg
from .tables import chroma_factors, mcu_shape, quant_tables

__all__ = [
    "JPEG_OPTION_NAMES",
    "JpegOptions",
    "chroma_factors",
    "compacted",
    "encode_jpeg",
    "is_keep",
    "mcu_shape",
    "normalize_options",
    "quant_tables",
    "write_atomic",
    "write_to",
]
