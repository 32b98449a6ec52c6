"""The Pillow backend: libjpeg(-turbo) through Pillow's JPEG writer.

Every output is a baseline or progressive JFIF file that any standard decoder reads,
and the plain path is byte-identical to ``Image.save(fp, "JPEG", **same_options)``.
"""

from __future__ import annotations

import io

from PIL import Image

from .options import JpegOptions

__all__ = ["encode_jpeg"]


def encode_jpeg(image: Image.Image, options: JpegOptions) -> bytes:
    """Encode ``image`` (a JPEG-writable mode) with canonical ``options``."""
    buf = io.BytesIO()
    image.save(buf, "JPEG", **options.pillow_kwargs())
    return buf.getvalue()
