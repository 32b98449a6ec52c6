"""The Pillow backend: libjpeg(-turbo) through Pillow's JPEG writer.

Every output is a baseline or progressive JFIF file that any standard decoder reads,
and the plain path is byte-identical to ``Image.save(fp, "JPEG", **same_options)``.
"""

from __future__ import annotations

import io

from PIL import Image

from .machine import MachineTables, machine_tables
from .options import JpegOptions

__all__ = ["encode_jpeg"]


def encode_jpeg(image: Image.Image, options: JpegOptions) -> bytes:
    """Encode ``image`` (a JPEG-writable mode) with canonical ``options``.

    With ``options.preset == "machine"`` the quality picks this image's machine tables
    (:func:`~jpegsal.codec.machine.machine_tables`, for ``options.classifier_side``),
    written as explicit tables.
    """
    kwargs = options.pillow_kwargs()
    if options.preset == "machine":
        quality = 75 if options.quality == -1 else options.quality
        config = MachineTables(side=options.classifier_side)
        tables = machine_tables(quality, image.width, image.height, config)
        del kwargs["quality"]  # explicit tables are used as given
        kwargs["qtables"] = [
            t.astype(int).ravel().tolist() for t in tables[: _planes(image, options)]
        ]
    buf = io.BytesIO()
    image.save(buf, "JPEG", **kwargs)
    return buf.getvalue()


def _planes(image: Image.Image, options: JpegOptions) -> int:
    """Machine tables to write: luma + chroma for YCbCr, else the luma table for every plane.

    Greyscale has one plane; CMYK and ``keep_rgb`` store no chroma, so every plane is
    treated as luma (one table serves all).
    """
    ycbcr = image.mode in ("RGB", "RGBX", "YCbCr") and not options.keep_rgb
    return 2 if ycbcr else 1
