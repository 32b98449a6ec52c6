"""``preserve``'s checks on libjpeg's reduced decode of large candidates (jpegsal.checks)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import jpegsal
from jpegsal.checks import (
    REDUCED_MIN_BUDGET,
    PreserveCheck,
    check_scale,
    preserve_check,
    reduced_view,
)
from jpegsal.cli import main
from jpegsal.maps.registry import get_model


@dataclass
class Net:
    """A stand-in classifier that records the size of every image it is shown."""

    input_size: int = 224

    def __post_init__(self) -> None:
        self.config = type("Config", (), {"input_size": self.input_size})()
        self.seen: list[tuple[int, int]] = []
        self.name = "net"

    def classify(self, image: Image.Image) -> np.ndarray:
        self.seen.append(image.size)
        mean = np.asarray(image.convert("RGB"), np.float64).mean(axis=(0, 1))
        return np.array([mean[0], mean[1], mean[2]]) / 8.0


def _jpeg(image: Image.Image, quality: int = 60) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("size", "view", "scale"),
    [
        ((4000, 3000), "reduced", 4),  # shorter side 750 at 1/4: at least 3 x 224
        ((2688, 2688), "reduced", 4),
        ((2687, 2000), "reduced", 2),
        ((1344, 5000), "reduced", 2),
        ((1343, 5000), "reduced", 1),
        ((500, 375), "reduced", 1),
        ((4000, 3000), "full", 1),
    ],
)
def test_check_scale(size: tuple[int, int], view: str, scale: int) -> None:
    assert check_scale(size, Net(), view) == scale


def test_classifiers_of_unknown_input_size_are_checked_in_full() -> None:
    assert check_scale((4000, 3000), object()) == 1


def test_a_reduced_check_decodes_candidates_at_the_scale(rgb: Image.Image) -> None:
    big = rgb.resize((1600, 1200))
    net = Net()
    check = PreserveCheck(net, net.classify(reduced_view(big, 4)), 0.5, "RGB", scale=4)
    assert check(_jpeg(big))
    assert net.seen == [(400, 300), (400, 300)]
    # A candidate libjpeg cannot scale (not a JPEG) is reduced by box means instead.
    png = io.BytesIO()
    big.save(png, "PNG")
    check(png.getvalue())
    assert net.seen[-1] == (400, 300)


def test_preserve_check_takes_the_reference_from_the_same_view(rgb: Image.Image) -> None:
    big = rgb.resize((1400, 1400))
    net = Net()
    check = preserve_check(net, big, 1, 0.1, logits=np.zeros(3))
    # The full view's logits cannot serve a reduced check: one run on the reduced view.
    assert (check.scale, check.runs, net.seen) == (2, 1, [(700, 700)])
    check = preserve_check(net, big, 1, 0.1, logits=np.zeros(3), view_kind="full")
    assert (check.scale, check.runs, check.top1) == (1, 0, 0)  # the given logits, no run
    small = rgb.resize((600, 400))
    check = preserve_check(net, small, 1, 0.1)
    assert (check.scale, check.runs, net.seen[-1]) == (1, 1, (600, 400))


def test_top1_and_small_budgets_are_checked_in_full(rgb: Image.Image) -> None:
    big = rgb.resize((1400, 1400))
    for budget in ("top1", 0.05, REDUCED_MIN_BUDGET / 2):
        assert preserve_check(Net(), big, 1, budget).scale == 1, budget
    assert preserve_check(Net(), big, 1, REDUCED_MIN_BUDGET).scale == 2


def test_encode_checks_large_images_on_reduced_decodes(rgb: Image.Image) -> None:
    cam = get_model("cam", "cpu")
    assert cam is not None
    seen: list[tuple[int, int]] = []

    @dataclass
    class Recording:
        name: str = "recording-cam"
        config: Any = cam.config  # type: ignore[attr-defined]

        def __call__(self, image: Image.Image) -> np.ndarray:
            return cam(image)

        def classify(self, image: Image.Image) -> np.ndarray:
            seen.append(image.size)
            return cam.classify(image)  # type: ignore[attr-defined, no-any-return]

    big = rgb.resize((1800, 1400))
    enc = jpegsal.Encoder(Recording())
    reduced = enc.encode_with_info(big, preserve=0.1)
    assert set(seen) == {(900, 700)}
    assert reduced.check_scale == 2
    assert reduced.network_runs == len(seen) == 1 + reduced.encodes
    seen.clear()
    full = enc.encode_with_info(big, preserve=0.1, preserve_view="full")
    assert set(seen) == {(1800, 1400)}
    assert full.check_scale == 1
    assert jpegsal.Encoder().encode_with_info(big).check_scale is None
    assert full.kl is not None
    assert reduced.kl is not None
    assert reduced.kl <= 0.1
    assert full.kl <= 0.1
    # Small images are checked in full either way: the same bytes.
    small = rgb.resize((320, 240))
    assert enc.encode(small, preserve=0.1) == enc.encode(small, preserve=0.1, preserve_view="full")


def test_preserve_view_errors(rgb: Image.Image) -> None:
    with pytest.raises(ValueError, match="preserve_view must be one of"):
        jpegsal.encode(rgb, model="cam", preserve=0.1, preserve_view="half")
    with pytest.raises(ValueError, match="preserve_view says how preserve works; pass preserve"):
        jpegsal.encode(rgb, model="cam", preserve_view="full")
    with pytest.raises(ValueError, match="preset='machine' predicts the KL without decoding"):
        jpegsal.encode(rgb, preset="machine", preserve=0.1, preserve_view="full")


def test_cli_preserve_view(tmp_path: Path, rgb: Image.Image) -> None:
    src = tmp_path / "in.png"
    big = rgb.resize((1800, 1400))
    big.save(src)
    out = tmp_path / "out.jpg"
    argv = ["encode", str(src), "-q", "--model", "cam", "--preserve", "0.1"]
    assert main([*argv, "-o", str(out), "--preserve-view", "full"]) == 0
    assert out.read_bytes() == jpegsal.encode(big, model="cam", preserve=0.1, preserve_view="full")
    assert main([*argv, "-o", str(tmp_path / "bad.jpg"), "--preserve-view", "half"]) == 2
    assert not (tmp_path / "bad.jpg").exists()
