"""The benchmark building blocks: the BD bytes ratio and the contender codec classes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_decodes, pillow_jpeg
from PIL import Image

import jpegsal
from benchmarks.bd import bd_ratio, monotone_curve, versus_base
from benchmarks.common import MOBILENET
from benchmarks.contenders import (
    JpegliCodec,
    JpegsalCodec,
    MozjpegCodec,
    PillowCodec,
    parse_codec,
)

BASE = [(1000.0, 50.0), (2000.0, 60.0), (4000.0, 70.0), (8000.0, 80.0)]


# --- BD bytes ratio on known curves ------------------------------------------------------


@pytest.mark.parametrize("factor", [0.25, 0.8, 1.0, 1.5])
def test_a_scaled_curve_gives_its_scale(factor: float) -> None:
    test = [(b * factor, s) for b, s in BASE]
    assert bd_ratio(BASE, test) == pytest.approx(factor, rel=1e-9)
    assert bd_ratio(test, BASE) == pytest.approx(1 / factor, rel=1e-9)


def test_known_piecewise_value() -> None:
    # Half the base's bytes at score 50, the same bytes at 60 and 70. In log bytes the gap
    # falls linearly from log 0.5 to 0 over [50, 60] and is 0 over [60, 70]: its mean over
    # [50, 70] is log(0.5) / 4.
    test = [(500.0, 50.0), (2000.0, 60.0), (4000.0, 70.0)]
    assert bd_ratio(BASE, test, samples=20001) == pytest.approx(0.5**0.25, rel=1e-4)
    # The worst point of that range is where the gap is smallest: the same bytes (1.0).
    assert bd_ratio(BASE, test, worst=True) == pytest.approx(1.0)
    above = [(b * 1.5, s) if s == 60.0 else (b, s) for b, s in test]  # crosses above 1
    assert bd_ratio(BASE, above, samples=20001, worst=True) == pytest.approx(1.5)


def test_range_clipping_and_no_overlap() -> None:
    test = [(b * 0.5, s) for b, s in BASE[:2]] + [(b, s) for b, s in BASE[2:]]
    assert bd_ratio(BASE, test, lo=70, hi=80) == pytest.approx(1.0)
    assert bd_ratio(BASE, test, lo=50, hi=60) == pytest.approx(0.5)
    assert bd_ratio(BASE, [(1.0, 10.0), (2.0, 20.0)]) is None  # scores never overlap
    assert bd_ratio(BASE, BASE, lo=90) is None


def test_non_monotone_points_use_the_upper_envelope() -> None:
    noisy = [(1000.0, 50.0), (2000.0, 60.0), (3000.0, 58.0), (4000.0, 70.0)]
    scores, logb = monotone_curve(noisy)
    assert list(scores) == [50.0, 60.0, 70.0]
    assert np.allclose(np.exp(logb), [1000.0, 2000.0, 4000.0])


def test_versus_base_summary() -> None:
    base = [
        {"quality": q, "bytes": b, "top1": s}
        for q, (b, s) in zip((10, 20, 50, 90), BASE, strict=True)
    ]
    half = [(b / 2, s) for b, s in BASE]
    assert versus_base(base, half, "top1") == {
        "ratio_overlap": 0.5,
        "ratio_pillow_q20_q90": 0.5,
        "worst_pillow_q20_q90": 0.5,
    }
    # Pillow's q20-q90 span is 60..80 here; a curve that ends at 55 meets it only in overlap.
    low = [(500.0, 50.0), (1000.0, 55.0)]
    assert versus_base(base, low, "top1")["ratio_pillow_q20_q90"] is None
    assert versus_base(base, low, "top1")["ratio_overlap"] is not None
    outside = [{**p, "quality": 95} for p in base]  # no base point in q20-q90
    assert versus_base(outside, half, "top1")["ratio_pillow_q20_q90"] is None


@pytest.mark.parametrize("bad", [[], [(0.0, 50.0)], [(100.0, float("nan"))], [(-1.0, 1.0)]])
def test_bad_curves_are_refused(bad: list[tuple[float, float]]) -> None:
    with pytest.raises(ValueError, match="rate curve"):
        monotone_curve(bad)


# --- codec classes ------------------------------------------------------------------------


def test_pillow_codec_is_pillows_save(rgb: Image.Image) -> None:
    result = PillowCodec().run(rgb, 70)
    assert result["bytes"] == len(pillow_jpeg(rgb, quality=70))
    assert result["bpp"] == pytest.approx(8 * result["bytes"] / (rgb.width * rgb.height))
    assert result["decoded"].shape == (rgb.height, rgb.width, 3)
    assert result["encode_ms"] > 0


@pytest.mark.parametrize("codec", [JpegliCodec(), MozjpegCodec()], ids=lambda c: c.name)
def test_peer_codecs_decode_and_shrink_with_quality(rgb: Image.Image, codec) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("pyjpegli" if codec.name == "jpegli" else "jpeglib")
    low, high = codec.run(rgb, 30), codec.run(rgb, 90)
    assert low["bytes"] < high["bytes"]
    assert_decodes(codec.encode(rgb, 60), rgb.size)
    # Higher quality is closer to the original.
    ref = np.asarray(rgb, np.float64)
    assert np.abs(high["decoded"] - ref).mean() < np.abs(low["decoded"] - ref).mean()


def test_jpegsal_codec_and_parsing(rgb: Image.Image) -> None:
    codec = parse_codec("cam+guided@0.3")
    assert isinstance(codec, JpegsalCodec)
    assert codec.name == "cam+guided@0.3"
    assert codec.strength == 0.3
    result = codec.run(rgb, 60)
    data = jpegsal_encode(rgb)
    assert result["bytes"] == len(data)
    assert isinstance(parse_codec("pillow"), PillowCodec)
    assert parse_codec("nice+downsample").name == "nice+downsample"
    for spec, message in (("webp", "unknown contender 'webp'"), ("cam+mix@x", "is not a number")):
        with pytest.raises(ValueError, match=message):
            parse_codec(spec)
    with pytest.raises(ValueError, match=r"quality must be an int in 1\.\.100"):
        PillowCodec().run(rgb, 0)
    with pytest.raises(ValueError, match="image must be RGB"):
        PillowCodec().run(rgb.convert("L"), 50)


def jpegsal_encode(image: Image.Image) -> bytes:
    import jpegsal

    return jpegsal.encode(image, model="cam", method="guided", quality=60, strength=0.3)


def test_decoded_arrays_are_what_pillow_decodes(rgb: Image.Image) -> None:
    result = PillowCodec().run(rgb, 50)
    with Image.open(io.BytesIO(pillow_jpeg(rgb, quality=50))) as im:
        np.testing.assert_array_equal(result["decoded"], np.asarray(im.convert("RGB")))


# --- quality metrics ------------------------------------------------------------------------


def test_ssim_matches_scikit_image(rgb: Image.Image) -> None:
    from benchmarks.metrics import luma, ssim

    skimage_metrics = pytest.importorskip("skimage.metrics")
    with Image.open(io.BytesIO(pillow_jpeg(rgb, quality=30))) as im:
        b = np.asarray(im.convert("RGB"))
    a = np.asarray(rgb)
    ref = skimage_metrics.structural_similarity(
        luma(a),
        luma(b),
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
    )
    assert ssim(a, b) == pytest.approx(ref, abs=1e-6)


def test_psnr_and_ms_ssim_known_values(rgb: Image.Image) -> None:
    from benchmarks.metrics import ms_ssim, psnr, ssim

    a = np.asarray(rgb)
    shifted = np.clip(a.astype(np.int16) + 1, 0, 255).astype(np.uint8)
    inside = (a < 255).all(2)  # where +1 did not clip, the luma moved by exactly 1
    assert psnr(a, shifted, inside) == pytest.approx(10 * np.log10(255.0**2), abs=1e-6)
    assert psnr(a, a) == float("inf")
    assert ms_ssim(a, a) == pytest.approx(1.0)
    assert ssim(a, a) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    scores = []
    for sd in (2, 8, 32):
        noisy = np.clip(a + rng.normal(0, sd, a.shape), 0, 255).astype(np.uint8)
        scores.append(ms_ssim(a, noisy))
    assert scores[0] > scores[1] > scores[2] > 0
    mask = np.zeros(a.shape[:2], bool)
    mask[: a.shape[0] // 2] = True
    half = a.copy()
    half[a.shape[0] // 2 :] = 0  # damage only outside the mask
    assert psnr(a, half, mask) == float("inf")
    # Coarse scales see across the boundary of this small image, so only relative.
    assert ms_ssim(a, half, mask) > ms_ssim(a, half) + 0.2
    with pytest.raises(ValueError, match="images differ in shape"):
        psnr(a, a[:-1])
    with pytest.raises(ValueError, match="mask must be a non-empty boolean"):
        ssim(a, a, np.zeros(a.shape[:2], bool))


# --- rate_quality on the bundled test images ----------------------------------------------


def test_rate_quality_refuses_an_empty_folder(tmp_path: Path) -> None:
    from benchmarks import rate_quality

    with pytest.raises(SystemExit, match="no images"):
        rate_quality.run(tmp_path, ["pillow"], [50], None)


def test_rate_quality_run_on_the_test_images() -> None:
    from benchmarks import rate_quality

    data = Path(__file__).parent / "data"
    result = rate_quality.run(data, ["pillow", "cam+guided@0.5"], [40, 80], None)
    assert result["images"] == len(list(data.glob("*.png")))
    low, high = result["curves"]["pillow"]
    assert low["bytes"] < high["bytes"]
    assert low["psnr_whole"] < high["psnr_whole"]
    assert 0 < low["ms_ssim_salient"] < high["ms_ssim_salient"] <= 1
    guided = result["curves"]["cam+guided@0.5"]
    assert all(
        g["bytes"] <= p["bytes"] for g, p in zip(guided, result["curves"]["pillow"], strict=True)
    )
    assert set(result["summary"]["cam+guided@0.5"]) == {
        f"{m}_{r}" for m in ("psnr", "ssim", "ms_ssim") for r in ("whole", "salient")
    }


# --- rate_accuracy, speed and plots in their quick forms ----------------------------------


def test_crop_protocol_ignores_the_border() -> None:
    from benchmarks.common import Evaluator

    ev = Evaluator("lite0")
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (227, 227, 3), np.uint8)
    framed = image.copy()
    framed[:8], framed[-8:], framed[:, :8], framed[:, -8:] = 0, 0, 0, 0
    # The crop keeps the central 224/256 of the image, so an 8-pixel frame is cut away;
    # the whole-image protocol sees it.
    np.testing.assert_allclose(
        ev.probs(image[None], crop=True), ev.probs(framed[None], crop=True), atol=1e-6
    )
    assert np.abs(ev.probs(image[None]) - ev.probs(framed[None])).max() > 1e-4
    top = ev.topk([image], 5)
    assert top.shape == (1, 5)
    assert top[0, 0] == ev.top1([image])[0] == ev.probs(image[None]).argmax()


def _labelled_folder(root: Path) -> Path:
    (root / "images").mkdir(parents=True)
    lines = []
    # The second image is stored on its side with EXIF orientation 6, as camera photos are
    # (one imagenet-sample image is): the benchmark must turn it upright once, for all.
    exif = Image.Exif()
    exif[0x0112] = 6
    for i, src in enumerate(sorted((Path(__file__).parent / "data").glob("*.png"))):
        image = Image.open(src).convert("RGB")
        if i == 1:
            image = image.transpose(Image.Transpose.ROTATE_90)
        image.save(root / "images" / f"{i}.JPEG", quality=95, exif=exif if i == 1 else b"")
        lines.append(f"./data/{i}.JPEG, {i}")
    (root / "dataset.txt").write_text("\n".join(lines) + "\n")
    return root


def test_rate_accuracy_run_scores_both_protocols(tmp_path: Path) -> None:
    from benchmarks import rate_accuracy

    data = _labelled_folder(tmp_path / "set")
    spec = rate_accuracy.RunSpec(
        data,
        ("lite0",),
        (30, 90),
        ("guided",),
        budgets=(1.0, 0.05),  # loose first: bytes rise along the curve
        peers=("mozjpeg",),
        crop_evaluators=("lite0",),
    )
    result = rate_accuracy.run(spec)
    assert result["images"] == 2
    curves = result["curves"]["lite0"]
    assert list(curves) == ["pillow", "mozjpeg", "cam+guided", "cam+none+preserve"]
    for points in curves.values():
        low, high = points
        assert low["bytes"] < high["bytes"]
        for p in points:
            assert 0 <= p["top1"] <= p["top5"] <= 100
            assert 0 <= p["top1_crop"] <= p["top5_crop"] <= 100
    assert set(result["summary"]["lite0"]) == {
        "top1",
        "top5",
        "agree1",
        "top1_crop",
        "top5_crop",
        "agree1_crop",
    }
    assert set(result["summary"]["lite0"]["top1"]) == {"mozjpeg", "cam+guided", "cam+none+preserve"}
    assert set(result["preserve_unmet"]["cam+none+preserve"]) == {"1", "0.05"}
    assert "libjpeg-turbo" in result["codecs"]["pillow"]
    empty = rate_accuracy.RunSpec(_labelled_folder(tmp_path / "e"), ("lite0",), (50,), (), limit=0)
    with pytest.raises(SystemExit, match="no labelled images"):
        rate_accuracy.run(empty)


def test_rate_accuracy_main_quick_writes_json(tmp_path: Path) -> None:
    import json

    from benchmarks import rate_accuracy

    out = tmp_path / "r.json"
    args = [str(_labelled_folder(tmp_path / "set")), "--quick", "--methods", "mix"]
    assert rate_accuracy.main([*args, "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["crop_evaluators"] == ["lite0"]
    assert [p["quality"] for p in result["curves"]["lite0"]["cam+mix"]] == [20, 40, 60, 90]
    assert (result["images"], result["stride"]) == (2, 1)


def test_rate_accuracy_stride_takes_every_kth_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from benchmarks import rate_accuracy

    data, out = _labelled_folder(tmp_path / "set"), tmp_path / "r.json"
    args = [str(data), "--quick", "--methods", "--out", str(out)]
    assert rate_accuracy.main([*args, "--stride", "2"]) == 0
    assert (json.loads(out.read_text())["images"], json.loads(out.read_text())["stride"]) == (1, 2)
    with pytest.raises(SystemExit):
        rate_accuracy.main([*args, "--stride", "0"])
    assert "--stride must be 1 or more, got 0" in capsys.readouterr().err


def test_speed_rows_stages_ratios_and_memory(tmp_path: Path) -> None:
    from benchmarks import speed

    image = Path(__file__).parent / "data" / "kodim23_small.png"
    result = speed.run(
        image,
        [0.05],
        ["cam+guided"],
        repeat=1,
        cores=0,
        threads=1,
        device="cpu",
        memory_mp=0.1,
        progress=False,
    )
    rows = {(r["contender"], r["megapixels"]): r for r in result["rows"]}
    assert set(rows) == {(c, mp) for c in ("pillow", "cam+guided") for mp in (0.05, 0.1)}
    pillow, ours = rows["pillow", 0.05], rows["cam+guided", 0.05]
    assert pillow["x_pillow_save"] == 1.0
    assert pillow["saliency_ms"] is None
    for r in (pillow, ours):
        stages = [r[f"{k}_ms"] or 0 for k in ("load", "saliency", "method", "encode")]
        # Each stage and the total are rounded to 0.01 ms: up to 5 x 0.005 ms of slack
        # on sub-millisecond stages (the bound failed on rounding alone, not on timing).
        assert 0 < sum(stages) <= r["total_ms"] * 1.01 + 0.025
        assert r["peak_rss_mb"] > 0
        assert r["images_per_s"] > 0
    assert ours["saliency_ms"] > 0
    assert ours["method_ms"] > 0
    assert ours["x_pillow_save"] > 1  # a network and a filter cost more than the save alone
    assert rows["cam+guided", 0.1]["memory_only"]
    assert not ours["memory_only"]
    with pytest.raises(RuntimeError, match="webp on"):
        speed.run(
            image, [0.05], ["webp"], repeat=1, cores=0, threads=1, device="cpu", progress=False
        )


def test_plots_from_quick_results(tmp_path: Path) -> None:
    import json

    from benchmarks import plots, rate_quality

    data = Path(__file__).parent / "data"
    result = rate_quality.run(data, ["pillow", "cam+mix"], [40, 80], None)
    (tmp_path / "q.json").write_text(json.dumps(result))
    assert plots.main([str(tmp_path / "q.json"), "--out", str(tmp_path / "img")]) == 0
    with Image.open(tmp_path / "img" / f"{tmp_path.name}_q.png") as im:
        assert im.width > 500
    (tmp_path / "x.json").write_text(json.dumps({"benchmark": "nope"}))
    with pytest.raises(SystemExit):
        plots.main([str(tmp_path / "x.json"), "--out", str(tmp_path)])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--repeat", "0"], "--repeat and --threads must be >= 1 and --cores >= 0"),
        (["--cores", "-1"], "--repeat and --threads must be >= 1 and --cores >= 0"),
        (["--megapixels", "0"], "--megapixels and --memory-mp must be > 0"),
        (["--memory-mp", "-5"], "--megapixels and --memory-mp must be > 0"),
    ],
)
def test_speed_refuses_bad_options(argv: list[str], message: str, capsys) -> None:  # type: ignore[no-untyped-def]
    from benchmarks import speed

    with pytest.raises(SystemExit):
        speed.main(argv)
    assert message in capsys.readouterr().err


def test_plots_error_messages(tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import json

    from benchmarks import plots

    (tmp_path / "x.json").write_text(json.dumps({"benchmark": "nope"}))
    with pytest.raises(SystemExit):
        plots.main([str(tmp_path / "x.json"), "--out", str(tmp_path)])
    assert "benchmark 'nope' has no plot" in capsys.readouterr().err
    monkeypatch.setattr(plots, "PUBLISHED", [tmp_path / "missing.json"])
    with pytest.raises(SystemExit):
        plots.main(["--out", str(tmp_path)])
    assert "none of the published ones exists" in capsys.readouterr().err


def test_machine_and_per_image_contenders_run(tmp_path: Path) -> None:
    from benchmarks import rate_accuracy
    from benchmarks.contenders import PerImageCodec, PresetCodec, parse_codec

    data = _labelled_folder(tmp_path / "set")
    spec = rate_accuracy.RunSpec(
        data,
        ("lite0",),
        (30, 90),
        (),
        budgets=(1.0, 0.01),
        preserve_with=(),
        codecs=(
            "preset=machine",
            "preset=machine+preserve@[0.02,0.0005]",
            "machine:optimize=0",
            "preset=machine:fixed",
        ),
        perimage=("pillow+perimage",),
    )
    result = rate_accuracy.run(spec)
    curves = result["curves"]["lite0"]
    assert list(curves) == [
        "pillow",
        "preset=machine",
        "preset=machine+preserve",
        "machine:optimize=0",
        "preset=machine:fixed",
        "pillow+perimage",
    ]
    assert [p["kl_budget"] for p in curves["preset=machine+preserve"]] == [0.02, 0.0005]
    for name, points in curves.items():
        assert points[0]["bytes"] < points[1]["bytes"], name
    # The ablation switches optimised Huffman coding off: same tables, more bytes.
    fixed = curves["preset=machine:fixed"]
    assert curves["machine:optimize=0"][0]["bytes"] > fixed[0]["bytes"]
    assert set(result["preserve_unmet"]) == {"preset=machine+preserve", "pillow+perimage"}
    assert isinstance(parse_codec("pillow+perimage"), PerImageCodec)
    assert isinstance(parse_codec("preset=machine"), PresetCodec)


def test_mozjpeg_backend_trellis_switch(rgb: Image.Image) -> None:
    """``trellis=0`` really turns mozjpeg's trellis off: the same tables, other levels."""
    pytest.importorskip("jpeglib", reason="mozjpeg comes with jpeglib (extra bench)")
    from benchmarks.contenders import parse_codec

    on = parse_codec("machine:backend=mozjpeg").encode(rgb, 40)
    off = parse_codec("machine:backend=mozjpeg,trellis=0").encode(rgb, 40)
    assert on != off
    for data in (on, off):
        with Image.open(io.BytesIO(data)) as im:
            assert im.size == rgb.size
            assert im.info.get("progressive")
            tables = im.quantization
        with Image.open(io.BytesIO(on)) as im:
            assert tables == im.quantization


@pytest.mark.skipif(
    not MOBILENET.is_file(),
    reason="the MobileNet judge lives in ../shared/models",
)
def test_mobilenet_judge_ranks_classes() -> None:
    pytest.importorskip("ai_edge_litert", reason="the judge needs ai-edge-litert (extra bench)")
    from benchmarks.common import Evaluator

    judge = Evaluator("mobilenet")
    image = np.asarray(Image.open(Path(jpegsal.__file__).parent / "data" / "kodim23.png"))
    top = judge.topk([image[..., :3]], 5)
    assert top.shape == (1, 5)
    assert ((top >= 0) & (top < 1000)).all()
    assert judge.probs(image[None, ..., :3], crop=True).shape == (1, 1000)
    with pytest.raises(ValueError, match="unknown evaluator"):
        Evaluator("resnet")


def test_preserve_view_benchmark_compares_both_views(
    tmp_path: Path,
    rgb: Image.Image,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """benchmarks.preserve_view on one stand-in image (../shared's Kodak may be absent)."""
    from benchmarks import preserve_view

    folder = tmp_path / "kodak"
    folder.mkdir()
    rgb.save(folder / "a.png")
    monkeypatch.setattr(preserve_view, "KODAK", folder)
    out = tmp_path / "pv.json"
    argv = ["--budgets", "0.3", "--size", "1400", "1400", "--out", str(out)]
    assert preserve_view.main(argv) == 0
    row = json.loads(out.read_text())["budgets"]["0.3"]
    assert row["runs_reduced"] >= 2
    assert 0 <= row["same_quality"] <= 1
    assert row["median_check_ms_reduced"] > 0
    sweep = tmp_path / "sweep.json"
    assert preserve_view.main(["--sweep", "--size", "1400", "1400", "--out", str(sweep)]) == 0
    q100 = json.loads(sweep.read_text())["q100_kl"]
    assert set(q100) == {"full", "reduced, matched reference", "reduced, full reference"}
    with pytest.raises(SystemExit):
        preserve_view.main(["--budgets", "0", "--out", str(out)])
    assert "KL budgets are positive numbers" in capsys.readouterr().err
    monkeypatch.setattr(preserve_view, "KODAK", tmp_path / "empty")
    with pytest.raises(SystemExit, match="no Kodak images in"):
        preserve_view.main(["--out", str(out)])


def test_bd_psnr_of_a_shifted_curve() -> None:
    from benchmarks.generation_loss import bd_psnr

    base = [(1000.0, 30.0), (2000.0, 33.0), (4000.0, 36.0)]
    assert bd_psnr(base, [(b, p + 1.5) for b, p in base]) == 1.5
    assert bd_psnr(base, [(b * 10, p) for b, p in base]) is None  # no shared bytes


def test_generation_loss_compares_the_six_ways(
    tmp_path: Path,
    rgb: Image.Image,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from benchmarks import generation_loss

    for i, q in enumerate((85, 92)):
        rgb.save(tmp_path / f"n{i}_x.JPEG", quality=q, subsampling=2)
    rgb.save(tmp_path / "n9_x.JPEG", quality=90, subsampling=0)  # 4:4:4: a set of its own
    monkeypatch.setattr(generation_loss, "SAMPLE", tmp_path)
    out = tmp_path / "gl.json"
    argv = ["--kodak", "0", "--photos", "5", "--qualities", "30", "60", "--out", str(out)]
    assert generation_loss.main(argv) == 0
    result = json.loads(out.read_text())
    assert result["imagenet_sample_444"]["files"] == 1
    got = result["imagenet_sample_420"]
    assert got["files"] == 2
    assert set(got["curves"]) == {
        "pillow (decode, save)",
        "pixel path",
        "reencode",
        "reencode progressive",
        "reencode standard tables",
        "reencode standard tables optimize=False",
    }
    assert "reencode progressive vs pixel path" in got["bd_up_to_q60"]
    assert "reencode standard tables vs pillow (decode, save)" in got["bd"]
    with pytest.raises(SystemExit):
        generation_loss.main(["--qualities", "0", "--out", str(out)])
    assert "--qualities are 1..100" in capsys.readouterr().err


def test_floor_contender_raises_quality_only_while_the_proxy_flips(rgb: Image.Image) -> None:
    from benchmarks.contenders import FloorCodec, MachineCodec, parse_codec

    codec = parse_codec("machine+floor")
    assert isinstance(codec, FloorCodec)
    assert isinstance(codec.inner, MachineCodec)

    class Proxy:  # top-1 is class 0 on every image
        def probs(self, batch: np.ndarray) -> np.ndarray:
            return np.array([[0.9, 0.1]])

    codec._proxy = Proxy()  # type: ignore[assignment]
    assert codec.encode(rgb, 30, prepared=0) == codec.inner.encode(rgb, 30)
    # A decision the proxy never reaches again: raised in steps of 10 up to 100.
    assert codec.encode(rgb, 30, prepared=1) == codec.inner.encode(rgb, 100)


def test_evaluator_names_and_the_side_option(rgb: Image.Image) -> None:
    from benchmarks.common import evaluator_name
    from benchmarks.contenders import parse_codec

    assert evaluator_name("lite1@160") == "lite1@160"
    assert evaluator_name("mobilenet") == "mobilenet"
    for bad in ("lite2@160", "lite1@", "lite1@9", "lite1@x", "lite9"):
        with pytest.raises(ValueError, match="unknown evaluator"):
            evaluator_name(bad)
    # side=N: the preset's classifier_side=N, whose tables differ from the default's (at
    # sizes between the measured ratios: smaller images clamp to the ratio-1 tables).
    rgb = rgb.resize((384, 256))
    small = parse_codec("machine:side=160").encode(rgb, 50)
    shipped = jpegsal.encode(rgb, preset="machine", quality=50, classifier_side=160, allocate=False)
    assert small == shipped
    assert parse_codec("preset=machine:side=160,fixed").encode(rgb, 50) == shipped
    allocated = jpegsal.encode(rgb, preset="machine", quality=50, classifier_side=160)
    assert parse_codec("preset=machine:side=160").encode(rgb, 50) == allocated
    with (
        Image.open(io.BytesIO(small)) as a,
        Image.open(io.BytesIO(jpegsal.encode(rgb, preset="machine", quality=50))) as b,
    ):
        assert a.quantization != b.quantization
    for bad in ("preset=machine:side=x", "preset=machine:fixed=1", "preset=machine:q=3"):
        with pytest.raises(ValueError, match="options are side=N"):
            parse_codec(bad)


def test_reencode_contender_takes_the_side(rgb: Image.Image, tmp_path: Path) -> None:
    from benchmarks.contenders import ReencodeCodec, parse_codec

    codec = parse_codec("reencode:side=160")
    assert isinstance(codec, ReencodeCodec)
    assert (codec.side, codec.progressive, codec.name) == (160, False, "reencode:side=160")
    assert parse_codec("reencode+progressive:side=96").progressive
    with pytest.raises(ValueError, match="options are side=N"):
        parse_codec("reencode:quality=3")
    path = tmp_path / "in.jpg"
    rgb.resize((300, 225)).save(path, quality=95)  # ratio 1.0 at 224, 1.4 at 160
    image = Image.open(path)
    image.info["source_path"] = str(path)
    data = path.read_bytes()
    assert codec.encode(image, 40) == jpegsal.reencode(
        data, quality=40, keep_metadata=False, classifier_side=160
    )
    assert codec.encode(image, 40) != parse_codec("reencode").encode(image, 40)
    # allocate: jpegsal.encode's preset on the file (the DCT route, per-image quality).
    allocated = parse_codec("reencode:side=160,allocate")
    assert allocated.allocate
    assert allocated.side == 160
    want = jpegsal.Encoder(preset="machine", classifier_side=160).encode_with_info(data, quality=40)
    assert want.path == "dct"
    assert allocated.encode(image, 40) == want.data
    # A file stored turned is not given (the sweep's upright_file): its upright pixels go
    # through the same engine; a resized one (no file, not turned) is refused.
    turned = image.convert("RGB")
    del turned.info["source_path"]
    turned.info["upright_file"] = False
    pixels = jpegsal.encode(turned, preset="machine", quality=40, classifier_side=160)
    assert allocated.encode(turned, 40) == pixels
    turned.info["upright_file"] = True
    with pytest.raises(ValueError, match="needs the source file; do not resize"):
        allocated.encode(turned, 40)


def test_reencode_benchmark_rows_and_bases(rgb: Image.Image) -> None:
    from benchmarks import reencode

    files = []
    # 4:2:0 (every row's DCT path) and 4:4:4 (resampled to 4:2:0 by the libjpeg route).
    for subsampling in (2, 0):
        buf = io.BytesIO()
        rgb.save(buf, "JPEG", quality=92, subsampling=subsampling)
        files.append(buf.getvalue())
    rows = reencode.run_set(files, 1)
    from jpegsal.codec.requantise import OPTIMIZED

    taken = 2 if OPTIMIZED else 1
    assert rows["reencode"]["paths"] == {"dct": taken, **({} if OPTIMIZED else {"pixels": 1})}
    assert rows["reencode"]["dct_files"]["files"] == taken
    assert "bytes_vs_pixels" in rows["reencode"]
    assert "against" not in rows["reencode"]
    assert rows["reencode progressive"]["against"] == "pixels progressive"
    standard = rows["reencode tables=standard"]
    assert standard["against"] == "pillow keep layout"
    assert standard["paths"] == {"dct": 2}
    assert standard["dct_files"]["files"] == 2
    assert 0.5 < standard["bytes_vs_base"] < 1.0  # fewer bytes than Pillow at the same tables
    assert "bytes_vs_base" in standard["dct_files"]
    assert "base_median_ms" in standard["dct_files"]
    assert "pixels_median_ms" in rows["reencode"]["dct_files"]
    by_layout = standard["dct_files"]["speedup_median_by_layout"]
    assert {k: v["files"] for k, v in by_layout.items()} == {"4:2:0": 1, "4:4:4": 1}
    assert "dct_files" not in rows["pixels"]
    assert "dct_files" not in rows["pillow keep layout"]


def test_ablation_table_reads_one_quality_ablations_against_the_fixed_preset() -> None:
    from benchmarks.machine_preset import ablation_table

    def curve(scale: float) -> list[dict[str, float]]:
        return [
            {"quality": q, "bytes": scale * 1000 * (1 + q / 10), "top1": 40 + q / 2}
            for q in (10, 20, 30, 50, 70, 90)
        ]

    curves = {"pillow": curve(1), "preset=machine": curve(0.5)}
    curves |= {"preset=machine:fixed": curve(0.6), "machine:adjust=0": curve(0.7)}
    table = ablation_table({"curves": {"mobilenet": curves}}, scores=("top1",))
    rows = {line.split("`")[1]: line for line in table.splitlines() if "`" in line}
    assert "0.6 (+0.1" in rows["preset=machine:fixed"]  # against the per-image preset
    assert "0.7 (+0.1" in rows["machine:adjust=0"]  # against the preset at one quality
    assert rows["machine:optimize=0"].endswith("| None |")  # not in this run


def test_photo_speed_times_both_chroma_modes(tmp_path: Path) -> None:
    from benchmarks.machine_preset import photo_speed

    rng = np.random.default_rng(3)
    for i, size in enumerate([(64, 48), (40, 72)]):
        pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(pixels).save(tmp_path / f"{i}.jpg", quality=90)
    (tmp_path / "notes.txt").write_text("not an image")
    Image.fromarray(pixels).save(tmp_path / "2.png")  # not a JPEG file: pixels only
    rows = photo_speed(tmp_path, stride=1, repeat=1)
    assert (rows["images"], rows["files"]) == (3, 2)
    for label in ("preset=machine q75", "sharp_chroma=False"):
        assert rows[label]["median_ms_per_mp"] > 0
        assert rows[label]["mean_encodes"] >= 1
        assert rows[label]["paths"] == {"pixels": 3}
        assert rows[f"files: {label}"]["median_ms_per_mp"] > 0
        assert sum(rows[f"files: {label}"]["paths"].values()) == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SystemExit, match=r"no \.jpg"):
        photo_speed(empty, 1)


def test_allocation_replay_chooses_as_the_preset_does() -> None:
    from benchmarks.allocation_replay import choose
    from jpegsal import rateslope

    qualities = [10, 20, 30, 50, 70, 90]
    rng = np.random.default_rng(5)
    sizes = np.sort(rng.uniform(2e3, 6e4, (40, len(qualities))), axis=1)
    pixels = np.full(40, 227.0 * 227.0)
    chosen = choose(sizes, qualities, rateslope._KL, pixels)
    for a, asked in enumerate(qualities):  # the preset's rule, rung by rung
        lam = rateslope.slope(asked, 224)
        allowed = [j for j, q in enumerate(qualities) if q >= min(rateslope.FLOOR, asked)]
        for i in range(len(sizes)):
            cost = [rateslope.typical_kl(qualities[j]) + lam * sizes[i, j] for j in allowed]
            assert chosen[i, a] == allowed[int(np.argmin(cost))]
    # beta scales lam by (bytes per pixel / the typical image's) ** beta: an image m times
    # as busy as typical at every quality is chosen as with m ** beta times lam.
    typical = np.interp(qualities, rateslope.LADDER, rateslope._BPP) * pixels[0]
    many = np.array([0.25, 0.5, 1.0, 2.0, 4.0, 8.0])
    busy = many[:, None] * typical[None, :]
    got = choose(busy, qualities, rateslope._KL, pixels[: len(many)], beta=0.5)
    for a, asked in enumerate(qualities):
        allowed = [j for j, q in enumerate(qualities) if q >= min(rateslope.FLOOR, asked)]
        for i, m in enumerate(many):
            lam = rateslope.slope(asked, 224) * m**0.5
            cost = [rateslope.typical_kl(qualities[j]) + lam * busy[i, j] for j in allowed]
            assert got[i, a] == allowed[int(np.argmin(cost))]
    assert (got != choose(busy, qualities, rateslope._KL, pixels[: len(many)])).any()


def test_allocation_replay_refuses_rows_of_other_images(tmp_path: Path) -> None:
    from benchmarks.allocation_replay import main

    for i in range(3):
        Image.new("RGB", (16, 16), (i, 0, 0)).save(tmp_path / f"{i}.png")
    result = tmp_path / "run.json"
    result.write_text(json.dumps({"images": 5, "qualities": [20, 50]}))
    with pytest.raises(SystemExit, match="5 images; --split/--stride give 3"):
        main([str(tmp_path), str(result)])
