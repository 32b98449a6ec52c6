"""Rate control (target_bytes, preserve='top1'), strength overrides and EncodeResult."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_decodes
from PIL import Image

import jpegsal
from jpegsal.cli import main
from jpegsal.maps.registry import get_model
from jpegsal.methods.blocks import Blocks
from jpegsal.ratecontrol import smallest_passing


def test_encode_with_info(rgb: Image.Image) -> None:
    result = jpegsal.Encoder("cam", "guided", quality=70).encode_with_info(rgb)
    assert result.data == jpegsal.encode(rgb, model="cam", method="guided", quality=70)
    assert len(result) == len(result.data)
    assert result.quality == 70
    assert result.strength == 0.6
    assert result.saliency is not None
    assert result.saliency.map.shape == (rgb.height, rgb.width)
    assert result.saliency.model == "cam"
    assert result.encodes == 1
    assert result.network_runs == 1
    assert set(result.timings) == {"load", "saliency", "method", "encode", "check", "total"}
    assert result.timings["total"] >= result.timings["encode"]
    assert f"{len(result)} bytes, quality=70" in repr(result)
    plain = jpegsal.Encoder().encode_with_info(rgb)
    assert plain.saliency is None
    assert plain.strength is None


def test_strength_override(rgb: Image.Image) -> None:
    enc = jpegsal.Encoder("cam", "blocks")
    assert enc.encode(rgb, strength=0.9) == jpegsal.encode(
        rgb, model="cam", method=Blocks(strength=0.9)
    )
    assert enc.encode(rgb, strength=0.0) == jpegsal.encode(rgb)  # plain JPEG
    with pytest.raises(ValueError, match=r"strength must be a number in \[0, 1\], got 2"):
        enc.encode(rgb, strength=2)
    with pytest.raises(ValueError, match="strength needs a method"):
        jpegsal.encode(rgb, strength=0.5)


def test_preserve_top1_keeps_the_decision(rgb: Image.Image) -> None:
    model = get_model("cam", "cpu")
    assert model is not None
    for method in (None, "mix"):
        result = jpegsal.Encoder("cam", method).encode_with_info(rgb, preserve="top1")
        _, before = model.predict(rgb)  # type: ignore[attr-defined]
        decoded = Image.open(io.BytesIO(result.data)).convert("RGB")
        _, after = model.predict(decoded)  # type: ignore[attr-defined]
        assert result.top1 == int(np.argmax(before)) == int(np.argmax(after))
        assert 1 <= result.quality <= 100
        assert result.encodes <= 8


def test_preserve_kl_budget(rgb: Image.Image) -> None:
    model = get_model("cam", "cpu")
    assert model is not None
    _, before = model.predict(rgb)  # type: ignore[attr-defined]
    p = np.exp(before - before.max())
    p /= p.sum()
    enc = jpegsal.Encoder("cam", "guided")
    results = {t: enc.encode_with_info(rgb, preserve=t) for t in (0.05, 0.3)}
    for t, result in results.items():
        decoded = Image.open(io.BytesIO(result.data)).convert("RGB")
        _, after = model.predict(decoded)  # type: ignore[attr-defined]
        q = np.exp(after - after.max())
        q /= q.sum()
        kl = float(np.sum(p * (np.log(p + 1e-12) - np.log(q + 1e-12))))
        # The reported divergence is the one of the returned bytes, and within budget.
        assert result.kl == pytest.approx(kl, abs=1e-6)
        assert result.kl <= t
        assert result.top1 == int(np.argmax(before))
        assert result.met is True
    # A looser budget never needs a higher quality (bisection over the same encodes).
    assert results[0.3].quality <= results[0.05].quality
    assert len(results[0.3]) <= len(results[0.05])
    # Even quality 100 differs a little from the original. By default that output is
    # kept and flagged (nothing is lost); if_unmet="error" raises instead.
    unmet = enc.encode_with_info(rgb, preserve=0.001)
    assert (unmet.quality, unmet.met) == (100, False)
    assert unmet.kl is not None
    assert unmet.kl > 0.001
    # The predicted search climbs to 100 in a few checks; the bisection checks 100 first.
    assert unmet.encodes <= 4
    exact = enc.encode_with_info(rgb, preserve=0.001, preserve_search="bisect")
    assert (exact.quality, exact.met, exact.encodes) == (100, False, 1)
    with pytest.raises(ValueError, match=r"preserve=0.001 cannot be met: at quality 100 .* lower"):
        enc.encode(rgb, preserve=0.001, if_unmet="error")


def test_min_quality_floors_both_searches(rgb: Image.Image) -> None:
    enc = jpegsal.Encoder("cam")
    low = enc.encode_with_info(rgb, preserve=5.0)  # a loose budget goes very low ...
    floored = enc.encode_with_info(rgb, preserve=5.0, min_quality=60)
    assert low.quality < 60 <= floored.quality  # ... unless floored
    assert floored.met is True
    small = len(jpegsal.encode(rgb, quality=10))
    assert jpegsal.Encoder().encode_with_info(rgb, target_bytes=small).quality >= 10
    with pytest.raises(ValueError, match=r"unreachable: .*\(quality 60 \(min_quality=60\)\)"):
        jpegsal.encode(rgb, target_bytes=small, min_quality=60)
    with pytest.raises(ValueError, match="min_quality is a floor for rate control"):
        jpegsal.encode(rgb, min_quality=50)
    with pytest.raises(ValueError, match="if_unmet says how preserve works"):
        jpegsal.encode(rgb, if_unmet="error")
    with pytest.raises(ValueError, match=r"min_quality must be an int in 1\.\.100"):
        enc.encode(rgb, preserve=0.1, min_quality=0)
    with pytest.raises(ValueError, match="if_unmet must be one of"):
        enc.encode(rgb, preserve=0.1, if_unmet="skip")


def test_preserve_errors(rgb: Image.Image) -> None:
    @dataclass
    class NoClassifier:
        name: str = "flat"

        def __call__(self, image: Image.Image) -> np.ndarray:
            return np.ones((image.height, image.width), np.float32)

    with pytest.raises(ValueError, match="preserve='top1' needs a model with a classifier"):
        jpegsal.encode(rgb, preserve="top1")
    with pytest.raises(ValueError, match="needs a model with a classifier"):
        jpegsal.encode(rgb, model=NoClassifier(), preserve="top1")
    for bad in ("top5", 0, -0.1, float("nan"), float("inf"), "0.1"):
        with pytest.raises(ValueError, match="preserve must be None, 'top1' or a KL budget"):
            jpegsal.encode(rgb, model="cam", preserve=bad)
    for wrong_type in (True, [0.1]):
        with pytest.raises(TypeError, match="preserve must be None, 'top1' or a KL budget"):
            jpegsal.encode(rgb, model="cam", preserve=wrong_type)
    with pytest.raises(ValueError, match="either target_bytes or preserve, not both"):
        jpegsal.encode(rgb, model="cam", preserve="top1", target_bytes=1000)
    with pytest.raises(ValueError, match="preserve chooses the quality"):
        jpegsal.encode(rgb, model="cam", preserve="top1", quality="web_low")


def test_target_bytes_with_a_method(rgb: Image.Image) -> None:
    enc = jpegsal.Encoder("cam", "downsample")
    result = enc.encode_with_info(rgb, target_bytes=2600)
    assert len(result) <= 2600
    assert result.strength == 0.5
    # A budget that quality alone cannot reach at this strength, but strength 1 can: the
    # strength is the caller's choice, so it is an error that says so, not a silent change.
    floor_default = len(enc.encode(rgb, quality=1))
    floor_full = len(enc.encode(rgb, quality=1, strength=1.0))
    assert floor_full < floor_default
    with pytest.raises(ValueError, match=f"target_bytes={floor_full} is unreachable"):
        enc.encode_with_info(rgb, target_bytes=floor_full)
    squeezed = enc.encode_with_info(rgb, target_bytes=floor_full, strength=1.0)
    assert squeezed.strength == 1.0
    assert len(squeezed) <= floor_full
    assert_decodes(squeezed.data, rgb.size)


def test_rate_control_applies_table_methods_per_quality(rgb: Image.Image) -> None:
    # mix requantises with multiples of the final table, so the candidate at quality q
    # must be prepared with q's tables: the result equals a plain encode at that quality.
    enc = jpegsal.Encoder("cam", "mix")
    result = enc.encode_with_info(rgb, target_bytes=2500)
    assert result.data == enc.encode(rgb, quality=result.quality)
    kept = enc.encode_with_info(rgb, preserve=0.1)
    assert kept.data == enc.encode(rgb, quality=kept.quality)


def test_smallest_passing() -> None:
    calls: list[int] = []

    def enc(q: int) -> bytes:
        calls.append(q)
        return bytes([q])

    assert smallest_passing(enc, lambda d: d[0] >= 37) == (37, bytes([37]))
    assert len(calls) <= 8
    with pytest.raises(ValueError, match="fails even at quality 100"):
        smallest_passing(enc, lambda d: False)


def test_cli_method_options(tmp_path: Path, rgb: Image.Image) -> None:
    src = tmp_path / "in.png"
    rgb.save(src)
    out = tmp_path / "o.jpg"
    args = [
        "encode",
        str(src),
        "-o",
        str(out),
        "-q",
        "--model",
        "cam",
        "--method",
        "mix",
        "--strength",
        "0.8",
        "--quality",
        "60",
    ]
    assert main(args) == 0
    assert out.read_bytes() == jpegsal.encode(
        rgb, model="cam", method="mix", strength=0.8, quality=60
    )
    assert (
        main(
            [
                "encode",
                str(src),
                "-o",
                str(tmp_path / "p.jpg"),
                "-q",
                "--model",
                "cam",
                "--method",
                "guided",
                "--preserve",
                "top1",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "encode",
                str(src),
                "-o",
                str(tmp_path / "t.jpg"),
                "-q",
                "--model",
                "cam",
                "--method",
                "blocks",
                "--target-bytes",
                "3000",
            ]
        )
        == 0
    )
    assert (tmp_path / "t.jpg").stat().st_size <= 3000
    assert main(["encode", str(src), "-o", str(tmp_path / "x.jpg"), "--strength", "0.5"]) == 2


def test_pipeline_refuses_a_method_without_saliency(rgb: Image.Image) -> None:
    from jpegsal import pipeline
    from jpegsal.codec.options import normalize_options
    from jpegsal.inputs import load_image
    from jpegsal.methods.guided import Guided
    from jpegsal.ratecontrol import Control

    with pytest.raises(ValueError, match="method 'guided' needs a saliency"):
        pipeline.run(
            load_image(rgb),
            rgb,
            normalize_options({}),
            method=Guided(),
            saliency=None,
            control=Control(),
            watch=pipeline.Stopwatch(),
        )


def test_cli_preserve_kl(
    tmp_path: Path, rgb: Image.Image, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.png"
    rgb.save(src)
    out = tmp_path / "k.jpg"
    base = ["encode", str(src), "-q", "--model", "cam", "--method", "guided"]
    assert main([*base, "-o", str(out), "--preserve", "0.1"]) == 0
    assert out.read_bytes() == jpegsal.encode(rgb, model="cam", method="guided", preserve=0.1)
    capsys.readouterr()
    assert main([*base, "-o", str(tmp_path / "bad.jpg"), "--preserve", "-1"]) == 2
    assert "invalid value '-1': use top1 or a KL budget" in capsys.readouterr().err
    assert not (tmp_path / "bad.jpg").exists()


def test_preserve_with_a_method_runs_the_network_once_per_check(rgb: Image.Image) -> None:
    cam = get_model("cam", "cpu")
    assert cam is not None
    calls: list[tuple[int, int]] = []
    maps: list[tuple[int, int]] = []

    @dataclass
    class Counting:
        name: str = "counting-cam"

        def __call__(self, image: Image.Image) -> np.ndarray:
            return self.predict(image)[0]

        def predict(self, image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
            calls.append(image.size)
            maps.append(image.size)
            return cam.predict(image)  # type: ignore[attr-defined, no-any-return]

        def classify(self, image: Image.Image) -> np.ndarray:
            calls.append(image.size)
            return cam.classify(image)  # type: ignore[attr-defined, no-any-return]

    result = jpegsal.Encoder(Counting(), "guided").encode_with_info(rgb, preserve="top1")
    # One run on the original gives both the map and the reference decision; each
    # checked candidate costs one classifier run, and no map is made for it.
    assert len(calls) == 1 + result.encodes == result.network_runs
    assert len(maps) == 1
    plain = jpegsal.Encoder(Counting()).encode_with_info(rgb, preserve=0.1)
    assert len(maps) == 1  # preserve without a method never makes a map
    assert plain.network_runs == 1 + plain.encodes
    assert result.saliency is not None


def test_predicted_search_checks_few_candidates(rgb: Image.Image) -> None:
    enc = jpegsal.Encoder("cam")
    for t in (0.03, 0.1, 0.3):
        fast = enc.encode_with_info(rgb, preserve=t)
        exact = enc.encode_with_info(rgb, preserve=t, preserve_search="bisect")
        for r in (fast, exact):
            assert r.met is True
            assert r.kl is not None
            assert r.kl <= t
        assert fast.network_runs == 1 + fast.encodes  # the reference, then one per check
        assert fast.encodes <= 3 < exact.encodes
    with pytest.raises(ValueError, match=r"preserve_search must be one of .*'bisect'"):
        enc.encode(rgb, preserve=0.1, preserve_search="fast")
    with pytest.raises(ValueError, match="preserve_search says how preserve works"):
        enc.encode(rgb, preserve_search="bisect")


def test_predicted_passing_follows_a_shifted_curve() -> None:
    from jpegsal.ratesearch import curve, predicted_passing

    probs = np.full(1000, 1e-3)  # the most uncertain prediction: a large prior shift
    for shift in (-2.0, 0.0, 1.5):
        calls: list[int] = []

        def kl(q: int, shift: float = shift) -> float:
            return float(np.exp(curve(q) + shift))

        def encode(q: int, calls: list[int] = calls) -> bytes:
            calls.append(q)
            return q.to_bytes(1, "big")

        def kl_of(data: bytes) -> float:
            return kl(data[0])

        q, data = predicted_passing(encode, lambda d: kl_of(d) <= 0.1, kl_of, 0.1, probs)
        assert kl(q) <= 0.1
        assert q == 1 or kl(q - 1) > 0.1 or len(calls) == 1  # the lowest passing, or close
        assert len(calls) <= 3
        assert data == q.to_bytes(1, "big")
    # Unmet: strict raises, otherwise quality 100 comes back.
    never = predicted_passing(
        lambda q: bytes([q]), lambda d: False, lambda d: 1.0, 0.1, probs, strict=False
    )
    assert never[0] == 100
    with pytest.raises(ValueError, match="fails even at quality 100"):
        predicted_passing(lambda q: bytes([q]), lambda d: False, lambda d: 1.0, 0.1, probs)


def test_predicted_passing_margins_trade_checks_for_quality() -> None:
    """A margin aims the first candidate below the budget, so on an exact curve it passes
    at once; a large ``descend`` keeps it. Without margins the search may go one lower."""
    from jpegsal.ratesearch import curve, predicted_passing

    def kl(q: int) -> float:
        return float(np.exp(curve(q) + 0.7))

    def run(**margins: float) -> tuple[int, int]:
        calls: list[int] = []

        def encode(q: int) -> bytes:
            calls.append(q)
            return q.to_bytes(1, "big")

        q, _ = predicted_passing(
            encode,
            lambda d: kl(d[0]) <= 0.1,
            lambda d: kl(d[0]),
            0.1,
            None,
            shift=0.0,
            **margins,  # type: ignore[arg-type]
        )
        assert kl(q) <= 0.1
        return q, len(calls)

    plain_q, _ = run(margin=0.0, climb=0.0, descend=1)
    safe_q, safe_calls = run(margin=1.0, climb=0.0, descend=100)
    assert safe_calls == 1
    assert safe_q >= plain_q
    with pytest.raises(ValueError, match="probabilities or a shift"):
        predicted_passing(lambda q: b"", lambda d: True, lambda d: 0.0, 0.1, None)
