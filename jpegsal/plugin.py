"""A Pillow plugin: route ``Image.save(..., "JPEG")`` through a configured :class:`Encoder`.

Existing code keeps calling ``im.save("x.jpg")`` or ``im.save(f, "JPEG", quality=80)``;
after :func:`register_pillow` those saves go through jpegsal (the save's keywords are the
per-call options, the encoder's are the defaults), and :func:`unregister_pillow`, or the
end of a ``with register_pillow(...):`` block, puts Pillow's own JPEG writer back.

>>> import io
>>> from PIL import Image, JpegImagePlugin
>>> image = Image.new("RGB", (16, 16), "teal")
>>> with register_pillow(preset="machine"):
...     buf = io.BytesIO()
...     image.save(buf, "JPEG", quality=60)
>>> from jpegsal import encode
>>> buf.getvalue() == encode(image, preset="machine", quality=60)
True
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import IO, Any

from PIL import Image, JpegImagePlugin

from .api import Encoder

__all__ = ["PillowRegistration", "register_pillow", "unregister_pillow"]

_LOCK = threading.Lock()
_PILLOW_SAVE: Callable[..., None] | None = None  # Pillow's own writer while we are registered
# Set while jpegsal itself encodes: its backend's own Image.save must reach Pillow's writer.
_INSIDE = threading.local()


class PillowRegistration:
    """What :func:`register_pillow` returns: the encoder in use, and a context manager."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder

    def __enter__(self) -> PillowRegistration:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        unregister_pillow()


def register_pillow(encoder: Encoder | None = None, **options: Any) -> PillowRegistration:
    """Make Pillow's JPEG saves go through ``encoder`` (or ``Encoder(**options)``).

    Registering again replaces the encoder; Pillow's own writer is remembered once.
    """
    if encoder is not None and options:
        raise TypeError("pass either an Encoder or Encoder options, not both")
    enc = encoder if encoder is not None else Encoder(**options)

    global _PILLOW_SAVE
    with _LOCK:
        Image.preinit()  # load Pillow's JPEG plugin first, so it cannot overwrite ours later
        if _PILLOW_SAVE is None:
            _PILLOW_SAVE = Image.SAVE["JPEG"]
        pillow = _PILLOW_SAVE

        def save(im: Image.Image, fp: IO[bytes], filename: str | bytes) -> None:
            if getattr(_INSIDE, "active", False):  # jpegsal's backend writing: Pillow's own
                pillow(im, fp, filename)
                return
            if im.mode not in JpegImagePlugin.RAWMODE:
                # Pillow's refusal, word for word: through the plugin, Image.save keeps
                # Pillow's behaviour (jpegsal.encode converts P, I and F on purpose).
                raise OSError(f"cannot write mode {im.mode} as JPEG")
            # The backend saves this same image again; Pillow would merge this save's
            # keywords into that one, so they are taken off the image meanwhile.
            options, im.encoderinfo = dict(im.encoderinfo), {}
            _INSIDE.active = True
            try:
                data = enc.encode(im, **options)
            finally:
                _INSIDE.active, im.encoderinfo = False, options
            fp.write(data)

        Image.register_save("JPEG", save)
    return PillowRegistration(enc)


def unregister_pillow() -> None:
    """Put Pillow's own JPEG writer back (nothing happens if jpegsal is not registered)."""
    global _PILLOW_SAVE
    with _LOCK:
        if _PILLOW_SAVE is not None:
            Image.register_save("JPEG", _PILLOW_SAVE)
            _PILLOW_SAVE = None
