"""Option validation: every bad value fails up front with a message naming it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from PIL import Image, JpegPresets

import jpegsal
from jpegsal.codec.options import JPEG_OPTION_NAMES, JpegOptions, normalize_options


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"qualty": 80}, TypeError, "unknown JPEG option(s) 'qualty'"),
        ({"progression": "yes"}, TypeError, "progression must be a bool, got 'yes'"),
        ({"streamtype": 3}, ValueError, "streamtype must be an int in 0..2, got 3"),
        ({"quality": 101}, ValueError, "quality must be an int in -1..100, got 101"),
        ({"quality": -2}, ValueError, "quality must be an int in -1..100, got -2"),
        ({"quality": 7.5}, TypeError, "quality must be an int in -1..100, got 7.5"),
        ({"quality": True}, TypeError, "quality must be an int"),
        ({"quality": "best"}, ValueError, "quality must be an int in 0..100, 'keep' or a preset"),
        ({"subsampling": "4:1:0"}, TypeError, "subsampling must be one of"),
        ({"subsampling": 4}, ValueError, "subsampling must be -1, 0, 1 or 2, got 4"),
        ({"progressive": "yes"}, TypeError, "progressive must be a bool, got 'yes'"),
        ({"optimize": 2}, TypeError, "optimize must be a bool, got 2"),
        ({"keep_rgb": None}, TypeError, "keep_rgb must be a bool"),
        ({"qtables": [[1] * 63]}, ValueError, "qtables[0] must have 64 entries, got 63"),
        ({"qtables": [[1] * 64] * 5}, ValueError, "qtables must hold 1 to 4 tables, got 5"),
        ({"qtables": []}, ValueError, "qtables must hold 1 to 4 tables, got 0"),
        ({"qtables": [[0] * 64]}, ValueError, "qtables[0] entries must be in 1..32767"),
        ({"qtables": [[1] * 63 + [-1]]}, ValueError, "qtables[0] must be 64 ints"),
        ({"qtables": "1 2 x"}, ValueError, "qtables string is not whitespace-separated ints"),
        ({"qtables": 5}, TypeError, "qtables must be a list of tables, got int"),
        ({"exif": "text"}, TypeError, "exif must be bytes, got str"),
        ({"exif": b"x" * 65534}, ValueError, "exif is 65534 bytes; a JPEG marker holds at most"),
        ({"xmp": b"x" * 65505}, ValueError, "xmp is 65505 bytes"),
        ({"comment": b"x" * 65534}, ValueError, "comment is 65534 bytes"),
        ({"icc_profile": 3}, TypeError, "icc_profile must be bytes, got int"),
        ({"dpi": ("a", 1)}, TypeError, "dpi must be a pair of numbers"),
        ({"dpi": 72}, TypeError, "dpi must be a pair of numbers"),
        ({"dpi": (70000, 1)}, ValueError, "dpi values must be in 0..65535"),
        (
            {"restart_marker_blocks": -1},
            ValueError,
            "restart_marker_blocks must be an int in 0..65535",
        ),
        ({"restart_marker_rows": 1.5}, TypeError, "restart_marker_rows must be an int"),
        ({"smooth": 101}, ValueError, "smooth must be an int in 0..100, got 101"),
        (
            {"quality": "keep"},
            ValueError,
            "'keep' needs an input image that was decoded from a JPEG",
        ),
        ({"subsampling": "keep"}, ValueError, "'keep' needs an input image"),
    ],
)
def test_bad_option_raises_naming_it(options: dict[str, Any], error: type, message: str) -> None:
    with pytest.raises(error, match=re.escape(message)):
        normalize_options(options)


def test_public_encode_rejects_bad_options_before_loading(rgb: Image.Image) -> None:
    with pytest.raises(TypeError, match="unknown JPEG option"):
        jpegsal.encode(rgb, colour="red")
    with pytest.raises(TypeError, match="unknown JPEG option"):
        jpegsal.Encoder(colour="red")


def test_defaults_are_pillows() -> None:
    opts = normalize_options({})
    assert opts == JpegOptions()
    assert opts.quality == 75
    # With explicit tables Pillow leaves quality at -1 (tables unscaled).
    assert normalize_options({"qtables": [[2] * 64]}).quality == -1


@pytest.mark.parametrize("preset", sorted(JpegPresets.presets))
def test_presets_normalise_like_pillow(preset: str) -> None:
    opts = normalize_options({"quality": preset})
    ref = JpegPresets.presets[preset]
    assert opts.quality == -1
    assert opts.subsampling == ref["subsampling"]
    assert opts.qtables == tuple(tuple(t) for t in ref["quantization"])


def test_subsampling_names() -> None:
    names = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2, "4:1:1": 2}
    for name, value in names.items():
        assert normalize_options({"subsampling": name}).subsampling == value


def test_qtables_forms_agree() -> None:
    table = list(range(1, 65))
    as_list = normalize_options({"qtables": [table]})
    as_dict = normalize_options({"qtables": {0: table}})
    as_text = normalize_options({"qtables": " ".join(map(str, table)) + "  # comment"})
    assert as_list.qtables == as_dict.qtables == as_text.qtables == (tuple(table),)


def test_metadata_types() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    opts = normalize_options({"exif": exif, "comment": "héllo", "xmp": bytearray(b"<x/>")})
    assert opts.exif == exif.tobytes()
    assert opts.comment == "héllo".encode()
    assert opts.xmp == b"<x/>"


def test_replace_revalidates() -> None:
    opts = normalize_options({"quality": 50})
    assert opts.replace(quality=60).quality == 60
    with pytest.raises(ValueError, match="quality must be an int in"):
        opts.replace(quality=300)


def test_every_option_is_documented() -> None:
    # preset, classifier_side, allocate and sharp_chroma are jpegsal's own (never handed to
    # Pillow), so they have no Pillow description. progression is Pillow's alias of progressive.
    own = {"preset", "classifier_side", "allocate", "sharp_chroma"}
    assert set(JPEG_OPTION_NAMES) - {"progression"} == set(JpegOptions.__dataclass_fields__) - own
    assert "classifier_side" not in JpegOptions(classifier_side=160).pillow_kwargs()
    assert "allocate" not in JpegOptions(allocate=True).pillow_kwargs()
    assert "sharp_chroma" not in JpegOptions(sharp_chroma=True).pillow_kwargs()
