"""jpegsal's own per-call options: split from Pillow's JPEG keywords and checked.

Everything not named here must be a Pillow JPEG option
(:mod:`jpegsal.codec.options` checks those).
"""

from __future__ import annotations

from typing import Any

from PIL import Image

from ._check import check_bool, check_choice, check_int, check_number, check_optional_int
from .checks import VIEWS, check_preserve
from .codec.machine import CLASSIFIER_SIDE, PRESETS, check_side
from .inputs import Source, background_rgb
from .maps.orientation import orientation
from .methods import Method

__all__ = [
    "CALL_OPTIONS",
    "allocates",
    "carry_metadata",
    "check_call",
    "classifier_side",
    "needs_model",
    "preset_fields",
    "split",
]

_KEPT_METADATA = ("exif", "icc_profile", "xmp")

CALL_OPTIONS = frozenset(
    {
        "background",
        "keep_metadata",
        "max_pixels",
        "corrupt",
        "target_bytes",
        "strength",
        "preserve",
        "preset",
        "min_quality",
        "if_unmet",
        "preserve_search",
        "preserve_view",
        "coefficients",
        "classifier_side",
        "allocate",
        "sharp_chroma",
    }
)
IF_UNMET = ("best", "error")
_CHROMA = "writes chroma (fitted to the decoder's upsampler)"
SEARCHES = ("predict", "bisect")


def split(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split into (Pillow JPEG options, jpegsal's own options), checking the latter."""
    jpeg = {k: v for k, v in options.items() if k not in CALL_OPTIONS}
    call = {k: v for k, v in options.items() if k in CALL_OPTIONS}
    if call.get("background") is not None:
        background_rgb(call["background"])
    if call.get("keep_metadata") != "orientation":
        check_bool("keep_metadata", call.get("keep_metadata", False))
    check_optional_int("target_bytes", call.get("target_bytes"), 1)
    check_bool("coefficients", call.get("coefficients", True))
    check_bool("allocate", call.get("allocate", True))
    check_bool("sharp_chroma", call.get("sharp_chroma", True))
    if call.get("corrupt") is not None:
        check_choice("corrupt", call["corrupt"], ("warn", "error", "ignore"))
    if call.get("min_quality") is not None:
        check_int("min_quality", call["min_quality"], 1, 100)
    if call.get("if_unmet") is not None:
        check_choice("if_unmet", call["if_unmet"], IF_UNMET)
    if call.get("preserve_search") is not None:
        check_choice("preserve_search", call["preserve_search"], SEARCHES)
    if call.get("preserve_view") is not None:
        check_choice("preserve_view", call["preserve_view"], VIEWS)
    if call.get("classifier_side") is not None:
        check_side(call["classifier_side"])
    return jpeg, call


def classifier_side(call: dict[str, Any]) -> int:
    """The (checked) ``classifier_side`` of ``call``, or the default when not given."""
    return int(call.get("classifier_side") or CLASSIFIER_SIDE)


def allocates(call: dict[str, Any]) -> bool:
    """Whether the machine preset chooses each image's quality (``allocate``, on by default)
    rather than ``target_bytes``, ``preserve`` or the asked quality for every image."""
    chosen = call.get("target_bytes") is not None or call.get("preserve") is not None
    return call.get("preset") == "machine" and call.get("allocate", True) and not chosen


def preset_fields(call: dict[str, Any]) -> dict[str, Any]:
    """The :class:`~jpegsal.codec.options.JpegOptions` fields that ``call`` sets."""
    side, preset = classifier_side(call), call.get("preset")
    sharp = preset == "machine" and call.get("sharp_chroma", True)
    return {
        "preset": preset,
        "classifier_side": side,
        "allocate": allocates(call),
        "sharp_chroma": sharp,
    }


def carry_metadata(
    jpeg: dict[str, Any], source: Source, keep: bool | str | None, *, recoloured: bool
) -> None:
    """``keep_metadata``: the source's EXIF, ICC and XMP into ``jpeg`` where not given.

    ``keep="orientation"`` carries only the EXIF orientation tag (in an EXIF block of its
    own), so stripped photos still display upright. ``recoloured``: a method writes CMYK
    input as YCbCr, so a CMYK ICC profile would lie.
    """
    if not keep:
        return
    if keep == "orientation":
        tag = orientation(source.info.get("exif"))
        if tag != 1 and jpeg.get("exif") is None:
            exif = Image.Exif()
            exif[0x0112] = tag
            jpeg["exif"] = exif.tobytes()
        return
    drop_icc = recoloured and source.image.mode == "CMYK"
    for key in _KEPT_METADATA:
        if key in source.info and jpeg.get(key) is None and not (drop_icc and key == "icc_profile"):
            jpeg[key] = source.info[key]


def needs_model(call: dict[str, Any], method: Method | None) -> bool:
    """Whether a call runs the saliency model: for a method, or for ``preserve`` outside
    the machine preset (which predicts its KL without one)."""
    return method is not None or (call.get("preserve") is not None and call.get("preset") is None)


def check_call(call: dict[str, Any], method: Method | None, *, has_model: bool) -> None:
    """Check the combination of per-call options against the encoder's method and model."""
    preserve, preset = call.get("preserve"), call.get("preset")
    if call.get("classifier_side") is not None and preset is None:
        raise ValueError(
            "classifier_side says which classifier the machine tables are made for; "
            "pass preset='machine' (or drop classifier_side)"
        )
    for name, what in (("allocate", "chooses each image's quality"), ("sharp_chroma", _CHROMA)):
        if call.get(name) is not None and preset is None:
            given = f"{name}={call[name]!r}"
            raise ValueError(
                f"{given} says how preset='machine' {what}; pass preset='machine' (or drop {given})"
            )
    if call.get("allocate") and (preserve is not None or call.get("target_bytes") is not None):
        what = "preserve" if preserve is not None else "target_bytes"
        raise ValueError(f"{what} chooses the quality; drop allocate=True or {what}")
    if preset is not None:
        check_choice("preset", preset, PRESETS)
        if method is not None:
            raise ValueError(
                f"preset={preset!r} is its own pre-encode step; drop method= "
                f"({method.name!r}) or preset="
            )
    if preserve is not None:
        check_preserve(preserve)
        if call.get("target_bytes") is not None:
            raise ValueError("pass either target_bytes or preserve, not both")
        if preset is not None and preserve == "top1":
            raise ValueError(
                "preset='machine' runs no classifier, so preserve='top1' cannot be "
                "checked; pass a predicted-KL budget such as preserve=0.02"
            )
        if preset is not None and call.get("preserve_view") is not None:
            raise ValueError(
                "preserve_view says how candidates are decoded for the classifier; "
                "preset='machine' predicts the KL without decoding: drop preserve_view"
            )
        if not has_model and preset is None:
            raise ValueError(
                f"preserve={preserve!r} needs a model with a classifier; pass model='cam' "
                "(or preset='machine', which predicts the KL without a model)"
            )
    searches = preserve is not None or call.get("target_bytes") is not None or allocates(call)
    if call.get("min_quality") is not None and not searches:
        raise ValueError(
            "min_quality is a floor for rate control; pass preserve or target_bytes "
            "(or preset='machine', whose per-image quality it bounds)"
        )
    for name in ("if_unmet", "preserve_search", "preserve_view"):
        if call.get(name) is not None and preserve is None:
            raise ValueError(f"{name} says how preserve works; pass preserve")
    strength = call.get("strength")
    if strength is not None:
        if method is None:
            raise ValueError("strength needs a method; pass method=...")
        check_number("strength", strength, 0, 1)
