"""preset="machine": its tables, entropy coding, errors, and every entry point."""

from __future__ import annotations

import io
import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

import jpegsal
from jpegsal.cli import main
from jpegsal.codec.machine import (
    GROUPS,
    MachineTables,
    adjust,
    fisher_at,
    machine_tables,
    step_adjustment,
)
from jpegsal.codec.options import normalize_options
from jpegsal.codec.tables import quant_tables


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    path = Path(jpegsal.__file__).parent / "data" / "kodim23.png"
    return Image.open(path).convert("RGB").resize((384, 256))


def _tables(data: bytes) -> dict[int, list[int]]:
    with Image.open(io.BytesIO(data)) as im:
        return {k: list(v) for k, v in im.quantization.items()}


def test_tables_are_not_the_standard_ones(photo: Image.Image) -> None:
    data = jpegsal.encode(photo, preset="machine", quality=60)
    std = quant_tables(normalize_options({"quality": 60}))
    got = _tables(data)
    assert len(got) == 2
    assert got[0] != std[0].astype(int).ravel().tolist()  # zigzag or not, the values differ
    assert sorted(got[0]) != sorted(std[0].astype(int).ravel().tolist())
    assert sorted(got[1]) != sorted(std[1].astype(int).ravel().tolist())


def test_machine_tables_follow_the_sensitivity() -> None:
    luma, chroma = machine_tables(50, 500, 375)
    # Coarser steps where the classifiers are less sensitive: high frequencies.
    assert luma[7, 7] > 4 * luma[0, 0]
    assert chroma[7, 7] > 4 * chroma[0, 0]
    flat = machine_tables(50, 500, 375, MachineTables(gamma=0.0, blend=1.0, adjust=False))[0]
    assert np.ptp(flat) <= 1  # gamma 0, no prior: no frequency shaping at all
    # blend 0 is the standard shape alone: libjpeg's own tables at quality 50.
    std = quant_tables(normalize_options({"quality": 50}))
    prior = machine_tables(50, 500, 375, MachineTables(blend=0.0, adjust=False))
    np.testing.assert_array_equal(prior[0], std[0])
    np.testing.assert_array_equal(prior[1], std[1])


def test_machine_tables_are_monotone_in_quality() -> None:
    prev = None
    for q in (10, 30, 50, 75, 90, 100):
        luma, _ = machine_tables(q, 227, 227)
        assert luma.min() >= 1
        assert luma.max() <= 255
        if prev is not None:
            assert (luma <= prev).all()
        prev = luma


def test_adjustment_scales_its_group_only() -> None:
    base = machine_tables(50, 227, 227, MachineTables(adjust=False))
    same = adjust(base, np.zeros(len(GROUPS)))
    np.testing.assert_array_equal(same[0], base[0])
    np.testing.assert_array_equal(same[1], base[1])
    delta = np.zeros(len(GROUPS))
    delta[[name for name, _, _ in GROUPS].index("Y0")] = np.log(2)  # the luma DC, doubled
    moved = adjust(base, delta)
    assert moved[0][0, 0] == min(255, round(2 * base[0][0, 0]))
    moved[0][0, 0] = base[0][0, 0]
    np.testing.assert_array_equal(moved[0], base[0])
    np.testing.assert_array_equal(moved[1], base[1])
    huge = adjust(base, np.full(len(GROUPS), 5.0))
    assert huge[0].max() == 255  # baseline tables: clipped to 1..255
    assert adjust(base, np.full(len(GROUPS), -9.0))[1].min() == 1


def test_step_adjustment_interpolates_between_tuned_cells(monkeypatch: pytest.MonkeyPatch) -> None:
    import jpegsal.codec.machine as m

    n = len(GROUPS)
    grid = np.array([[np.zeros(n), np.ones(n)], [np.full(n, 2.0), np.full(n, 4.0)]])
    fake = (np.log([1.0, 2.0]), np.array([25.0, 75.0]), grid)
    monkeypatch.setattr(m, "_steps", lambda path=None: fake)
    np.testing.assert_allclose(step_adjustment(25, 224, 224), 0.0)
    np.testing.assert_allclose(step_adjustment(50, 224, 224), 0.5)  # halfway in quality
    np.testing.assert_allclose(step_adjustment(75, 448, 448), 4.0)
    np.testing.assert_allclose(step_adjustment(10, 100, 100), 0.0)  # held beyond the cells
    np.testing.assert_allclose(step_adjustment(95, 5000, 5000), 4.0)
    np.testing.assert_allclose(step_adjustment(25, 317, 317), 1.0, atol=0.01)  # log-ratio mid


def test_the_shipped_adjustment_is_used() -> None:
    base = machine_tables(50, 227, 227, MachineTables(adjust=False))
    tuned = machine_tables(50, 227, 227)
    delta = step_adjustment(50, 227, 227)
    assert np.abs(delta).max() > 0  # the shipped file moves something
    moved = adjust(base, delta)
    for t, m in zip(tuned, moved, strict=True):
        # each step is the adjusted one, or smaller where a lower quality's is smaller
        assert (t <= m).all()
        assert (t == m).mean() > 0.5
    assert not np.array_equal(tuned[0], base[0])


def test_another_fisher_file_extends_the_ratios(tmp_path: Path) -> None:
    pytest.importorskip("torch", reason="jpegsal.train needs torch (extra 'train')")
    from jpegsal.train.sensitivity import shipped

    base = json.loads((Path(jpegsal.__file__).parent / "codec/machine_fisher.json").read_text())
    ratio2 = np.array(base["fisher"]["2"])
    steeper = ratio2 * np.exp(-np.add.outer(np.arange(8), np.arange(8)))  # falls faster
    result = {
        "ratios": [4.0],
        "classifiers": {"lite0": 112, "lite1": 120},
        "images": {"lite0@4": 3, "lite1@4": 0},  # lite1 reached no image: left out
        "fisher": {"lite0@4": steeper.tolist(), "lite1@4": (ratio2 * 0).tolist()},
    }
    merged = shipped(result, base)
    assert sorted(merged["fisher"], key=float) == ["1", "1.4", "2", "4"]
    np.testing.assert_allclose(merged["fisher"]["4"], steeper)
    path = tmp_path / "fisher.json"
    path.write_text(json.dumps(merged))
    config = MachineTables(fisher=str(path))
    # Below ratio 2 nothing changes; at ratio 4 (896 px for 224) the steeper shape shows.
    np.testing.assert_array_equal(
        np.stack(machine_tables(50, 448, 448, config)), np.stack(machine_tables(50, 448, 448))
    )
    np.testing.assert_allclose(fisher_at(896, 896, path=str(path)), steeper)
    np.testing.assert_allclose(fisher_at(896, 896), ratio2)  # the shipped file clamps at 2
    assert not np.array_equal(
        np.stack(machine_tables(50, 896, 896, config)), np.stack(machine_tables(50, 896, 896))
    )
    with pytest.raises(FileNotFoundError, match="fisher: no sensitivity file at"):
        machine_tables(50, 448, 448, MachineTables(fisher=str(tmp_path / "missing.json")))


def test_sensitivity_names_a_bad_input_side(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch", reason="jpegsal.train needs torch (extra 'train')")
    from jpegsal.train import sensitivity

    for bad in ("lite9=112", "lite0=x", "lite0"):
        with pytest.raises(SystemExit):
            sensitivity.main(["data", "--out", "o.json", "--inputs", bad])
        assert f"--inputs {bad!r}: use NAME=SIDE" in capsys.readouterr().err


def test_another_steps_file_is_read(tmp_path: Path) -> None:
    n = len(GROUPS)
    cells = [{"quality": q, "ratio": r, "delta": [0.0] * n} for r in (1.0, 2.0) for q in (25, 80)]
    zero = tmp_path / "zero.json"
    zero.write_text(json.dumps({"cells": cells}))
    for c in cells:
        c["delta"] = [0.3] * n
    up = tmp_path / "up.json"
    up.write_text(json.dumps({"cells": cells}))
    base = machine_tables(50, 448, 448, MachineTables(adjust=False))
    got = machine_tables(50, 448, 448, MachineTables(steps=str(zero)))
    np.testing.assert_array_equal(np.stack(got), np.stack(base))
    coarser = machine_tables(50, 448, 448, MachineTables(steps=str(up)))
    assert (np.stack(coarser) >= np.stack(base)).all()
    assert (np.stack(coarser) > np.stack(base)).mean() > 0.5
    assert not np.array_equal(np.stack(machine_tables(50, 448, 448)), np.stack(coarser))


@pytest.mark.parametrize(
    ("content", "error", "message"),
    [
        (None, FileNotFoundError, "steps: no steps file at"),
        ("not json", ValueError, "is not a steps file"),
        ('{"cells": [{"quality": 50, "ratio": 1.0}]}', ValueError, "is not a steps file"),
        (  # a ratio x quality cell missing from the grid
            '{"cells": [{"quality": 50, "ratio": 1.0, "delta": [0]},'
            ' {"quality": 80, "ratio": 2.0, "delta": [0]}]}',
            ValueError,
            "is not a steps file",
        ),
        ('{"cells": [{"quality": 50, "ratio": 1.0, "delta": [0, 0]}]}', ValueError, "groups"),
        (
            '{"cells": [{"quality": 50, "ratio": 0, "delta": [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]}]}',
            ValueError,
            "and ratios above 0",
        ),
    ],
)
def test_a_bad_steps_file_is_named(
    tmp_path: Path, content: str | None, error: type[Exception], message: str
) -> None:
    path = tmp_path / "steps.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(error, match=message):
        machine_tables(50, 448, 448, MachineTables(steps=str(path)))


def test_fisher_interpolates_and_clamps() -> None:
    small, big, huge = fisher_at(100, 100), fisher_at(448, 448), fisher_at(8000, 8000)
    np.testing.assert_allclose(small, fisher_at(224, 224))  # below ratio 1: clamped
    np.testing.assert_allclose(huge, big)  # above the largest ratio: clamped
    lo, hi = fisher_at(314, 314), fisher_at(448, 448)  # ratios 1.4 and 2
    mid = np.log(fisher_at(375, 375))  # between them: log-linear in between
    assert (mid >= np.minimum(np.log(lo), np.log(hi)) - 1e-9).all()
    assert (mid <= np.maximum(np.log(lo), np.log(hi)) + 1e-9).all()
    assert not np.allclose(mid, np.log(lo))
    assert fisher_at(224, 224).shape == (3, 8, 8)


@pytest.mark.parametrize("quality", [30, 50])
def test_bytes_below_the_plain_path_at_the_same_quality(photo: Image.Image, quality: int) -> None:
    machine = jpegsal.encode(photo, preset="machine", quality=quality)
    assert len(machine) < len(jpegsal.encode(photo, quality=quality))


def test_optimised_huffman_is_on_and_pays(photo: Image.Image) -> None:
    on = jpegsal.encode(photo, preset="machine", quality=60, allocate=False)
    off = jpegsal.encode(photo, preset="machine", quality=60, optimize=False, allocate=False)
    assert _tables(on) == _tables(off)
    assert len(on) < len(off)


def test_outputs_decode_in_pillow_and_opencv(photo: Image.Image) -> None:
    for mode in ("RGB", "L", "CMYK"):
        data = jpegsal.encode(photo.convert(mode), preset="machine", quality=50)
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            assert im.size == photo.size
            assert im.mode == mode
        if mode != "CMYK":
            arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
            assert arr is not None
            assert arr.shape[:2] == (photo.height, photo.width)
        # Greyscale writes one table; CMYK uses the luma table for every plane.
        assert len(_tables(data)) == (2 if mode == "RGB" else 1)


@pytest.mark.skipif(
    shutil.which("djpeg") is None, reason="djpeg not installed (apt package libjpeg-turbo-progs)"
)
def test_outputs_decode_with_djpeg(tmp_path: Path, photo: Image.Image) -> None:
    path = tmp_path / "x.jpg"
    path.write_bytes(jpegsal.encode(photo, preset="machine", progressive=True))
    out = subprocess.run(
        ["djpeg", "-outfile", str(tmp_path / "x.ppm"), str(path)], capture_output=True
    )
    assert out.returncode == 0, out.stderr
    assert Image.open(tmp_path / "x.ppm").size == photo.size


def test_encoder_and_one_shot_agree(photo: Image.Image) -> None:
    enc = jpegsal.Encoder(preset="machine", quality=40)
    assert enc.encode(photo) == jpegsal.encode(photo, preset="machine", quality=40)
    assert enc.encode(photo, quality=80) != enc.encode(photo)


def test_target_bytes_searches_machine_qualities(photo: Image.Image) -> None:
    info = jpegsal.Encoder(preset="machine").encode_with_info(photo, target_bytes=6000)
    assert len(info.data) <= 6000
    fixed = jpegsal.encode(photo, preset="machine", quality=info.quality, allocate=False)
    assert info.data == fixed


def test_cli_preset(tmp_path: Path, photo: Image.Image) -> None:
    src = tmp_path / "in.png"
    photo.save(src)
    out = tmp_path / "out.jpg"
    assert main(["encode", str(src), "-o", str(out), "--preset", "machine", "--quality", "50"]) == 0
    assert out.read_bytes() == jpegsal.encode(photo, preset="machine", quality=50)
    assert main(["encode", str(src), "-o", str(tmp_path / "b.jpg"), "--preset", "fast"]) == 2


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"preset": "fast"}, ValueError, "preset must be one of 'machine'"),
        ({"preset": 1}, TypeError, "preset must be one of"),
        ({"preset": "machine", "qtables": "web_high"}, ValueError, "qtables= carries tables"),
        ({"preset": "machine", "quality": "web_high"}, ValueError, "quality='web_high' carries"),
        ({"preset": "machine", "model": "cam", "method": "guided"}, ValueError, "drop method="),
    ],
)
def test_bad_values_name_the_option(
    photo: Image.Image, kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        jpegsal.encode(photo, **kwargs)  # type: ignore[arg-type]


# --- preserve under the preset: a predicted-KL budget, no network -----------------------


def test_preserve_picks_lower_quality_for_larger_budgets(photo: Image.Image) -> None:
    enc = jpegsal.Encoder(preset="machine")
    strict, loose = (enc.encode_with_info(photo, preserve=t) for t in (0.001, 0.02))
    assert strict.network_runs == loose.network_runs == 0
    assert strict.encodes == loose.encodes == 1
    assert loose.quality < strict.quality
    assert len(loose) < len(strict)
    assert strict.kl is not None
    assert strict.kl <= 0.001
    assert loose.kl is not None
    assert loose.kl <= 0.02
    fixed = jpegsal.encode(photo, preset="machine", quality=loose.quality, allocate=False)
    assert loose.data == fixed


def test_preserve_floor_and_unreachable_budget(photo: Image.Image) -> None:
    from jpegsal.pipeline import MACHINE_FLOOR

    enc = jpegsal.Encoder(preset="machine")
    assert enc.encode_with_info(photo, preserve=1e6).quality == MACHINE_FLOOR
    safest = enc.encode_with_info(photo, preserve=1e-9)  # unreachable: quality 100, no error
    assert safest.quality == 100
    assert safest.kl is not None
    assert safest.kl > 1e-9
    assert safest.met is False
    assert enc.encode_with_info(photo, preserve=1e6).met is True
    # min_quality replaces the preset's floor; if_unmet="error" refuses the unmet budget.
    assert enc.encode_with_info(photo, preserve=1e6, min_quality=45).quality == 45
    with pytest.raises(ValueError, match=r"preserve=1e-09 cannot be met: .* predicted KL"):
        enc.encode(photo, preserve=1e-9, if_unmet="error")
    # target_bytes under the preset keeps its full range (the floor guards predictions).
    tiny = len(jpegsal.encode(photo, preset="machine", quality=5))
    assert enc.encode_with_info(photo, target_bytes=tiny).quality < MACHINE_FLOOR


def test_predicted_kl_matches_a_slow_reference(photo: Image.Image) -> None:
    from jpegsal.codec.coefficients import image_coefficients, predicted_kl, sample_blocks

    small = photo.resize((64, 48))
    coefs = image_coefficients(small)
    tables = machine_tables(30, *small.size)
    fisher = fisher_at(*small.size)
    ref = 0.0
    for i, plane in enumerate(coefs):
        q = tables[min(i, 1)]
        for block in plane:
            for u in range(8):
                for v in range(8):
                    e = block[u, v] - q[u, v] * round(block[u, v] / q[u, v])
                    ref += 0.5 * fisher[i, u, v] * e * e
    assert predicted_kl(sample_blocks(small), tables, fisher) == pytest.approx(ref, rel=1e-4)
    assert [c.shape for c in coefs] == [(48, 8, 8), (12, 8, 8), (12, 8, 8)]


def test_sampled_blocks_are_the_full_transform_thinned(photo: Image.Image) -> None:
    from jpegsal.codec.coefficients import image_coefficients, sample_blocks

    big = photo.resize((1024, 768))  # 12,288 luma blocks: thinned to every 4th
    full, sampled = image_coefficients(big), sample_blocks(big)
    for plane, (sub, scale) in zip(full, sampled, strict=True):
        stride = -(-len(plane) // 4096)
        np.testing.assert_allclose(sub, plane[::stride], atol=1e-3)
        assert scale == pytest.approx(len(plane) / len(sub))
    assert len(sampled[0][0]) <= 4096 < len(full[0])


def test_preserve_errors_under_the_preset(photo: Image.Image) -> None:
    with pytest.raises(ValueError, match="preserve='top1' cannot be"):
        jpegsal.encode(photo, preset="machine", preserve="top1")
    with pytest.raises(ValueError, match="preserve must be"):
        jpegsal.encode(photo, preset="machine", preserve=-1)
    with pytest.raises(ValueError, match="either target_bytes or preserve"):
        jpegsal.encode(photo, preset="machine", preserve=0.01, target_bytes=5000)


def test_tables_recipe_merges_ratio_one_cells(tmp_path: Path) -> None:
    pytest.importorskip("torch")  # jpegsal.train.tables belongs to the train extra
    from jpegsal.train.steps_file import merge

    zero = [0.0] * len(GROUPS)
    steps = tmp_path / "steps.json"
    cells = [{"quality": q, "ratio": r, "delta": zero} for r in (1.0, 1.9) for q in (25, 50)]
    cells[3]["delta"] = [1.0] * len(GROUPS)  # ratio 1.9, quality 50
    steps.write_text(json.dumps({"cells": cells}))
    tuned = [{"quality": 50, "ratio": 1.013, "delta": [0.3] * len(GROUPS)}]
    merge(steps, "val", 260, tuned)  # type: ignore[arg-type]
    out = {(c["ratio"], c["quality"]): c for c in json.loads(steps.read_text())["cells"]}
    assert len(out) == 5
    assert out[1.0, 50]["delta"] == [0.3] * len(GROUPS)
    # From 1.25 up the file gives what it gave before: 1.25 is 0.347 of the way in log ratio.
    np.testing.assert_allclose(out[1.25, 50]["delta"], math.log(1.25) / math.log(1.9), atol=1e-4)
    assert out[1.0, 50]["source"] == "val tuning split, 260 images"
    assert out[1.0, 25]["delta"] == zero  # the other quality and the other ratio stay
    with pytest.raises(ValueError, match="about the classifier's size"):
        merge(steps, "big", 1, [{"quality": 50, "ratio": 1.9, "delta": zero}])


class _QuadraticCell:
    """A stand-in for jpegsal.train.tables.Cell: log bytes fall and KL rises with every
    group's move; the trade is best at a move of 1.5 for the first group, 0 elsewhere."""

    quality = 50
    side = 448.0

    def measure(self, delta: np.ndarray) -> tuple[float, float]:
        target = np.zeros(len(GROUPS))
        target[0] = 1.5
        log_bytes = -float(delta.sum())
        return log_bytes, float(((delta - target) ** 2).sum() + delta.sum())


def test_tables_recipe_starts_from_a_file_and_respects_the_bound() -> None:
    pytest.importorskip("torch")
    from jpegsal.train.tables import tune_cell

    cell = _QuadraticCell()
    first = tune_cell(cell, lambda s: None)  # type: ignore[arg-type]
    assert first["delta"][0] == pytest.approx(1.2)  # held at the default bound
    start = np.array(first["delta"])
    again = tune_cell(cell, lambda s: None, start=start, bound=2.0)  # type: ignore[arg-type]
    assert again["delta"][0] == pytest.approx(1.5)
    assert "start" in again
    assert "start" not in first
    assert np.abs(np.array(again["delta"][1:])).max() < 0.2


def test_tables_recipe_moves_tied_groups_together() -> None:
    pytest.importorskip("torch")
    from jpegsal.train.tables import COARSE, tune_cell

    cell = _QuadraticCell()  # its best move is 1.5 for Y0 alone, 0 for every other group
    out = tune_cell(cell, lambda s: None, sets=COARSE)  # type: ignore[arg-type]
    delta = np.array(out["delta"])
    names = [name for name, _, _ in GROUPS]
    for group in COARSE:
        moves = delta[[names.index(n) for n in group]]
        assert np.ptp(moves) == 0  # a set moves as one
    assert 0 < delta[0] < 1.5  # Y0 pulled up, held back by Y1 tied to it
    assert np.abs(delta[2:]).max() < 0.2
    assert sorted(n for group in COARSE for n in group) == sorted(names)  # each group once


def test_a_continued_search_keeps_the_other_qualities() -> None:
    pytest.importorskip("torch")
    from jpegsal.train.steps_file import continued

    old = [{"quality": q, "ratio": r, "delta": [0.0]} for r in (1.0, 1.9) for q in (25, 50)]
    new: list[dict[str, object]] = [
        {"quality": 50, "ratio": 1.0, "delta": [0.0]},
        {"quality": 50, "ratio": 1.9, "delta": [0.3]},
        {"quality": 65, "ratio": 1.0, "delta": [0.0]},
        {"quality": 65, "ratio": 1.9, "delta": [0.6]},
    ]
    out = continued(old, new)
    assert [(c["ratio"], c["quality"]) for c in out] == [
        (1.0, 25), (1.0, 50), (1.0, 65), (1.9, 25), (1.9, 50), (1.9, 65)
    ]  # fmt: skip
    assert out[4]["delta"] == [0.3]  # the tuned cell replaced the old one
    assert out[3] is old[2]  # the untuned quality is the file's own


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--bound", "0"], "--bound must be a positive"),
        (["--bound", "nan"], "--bound must be a positive"),
        (["--qualities", "0", "50"], r"--qualities must lie in 1..100, got \[0\]"),
        (["--start", "missing.json"], "--start missing.json is not a file"),
        (["--start", "{bad}"], "--start: steps: .* is not a steps file"),
    ],
)
def test_tables_recipe_names_a_bad_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    pytest.importorskip("torch")
    from jpegsal.train.tables import main as tables_main

    bad = tmp_path / "bad.json"
    bad.write_text('{"cells": [{"quality": 50}]}')  # no ratio, no delta
    extra = [str(bad) if a == "{bad}" else a for a in extra]
    with pytest.raises(SystemExit) as stop:
        tables_main([str(tmp_path), "--out", str(tmp_path / "o.json"), *extra])
    assert stop.value.code == 2
    assert re.search(message, capsys.readouterr().err)


def test_tables_recipe_names_a_dataset_that_is_not_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("torch")
    from jpegsal.train.tables import main as tables_main

    photo = tmp_path / "one.jpg"
    photo.write_bytes(b"")
    with pytest.raises(SystemExit) as stop:
        tables_main([str(photo), "--out", str(tmp_path / "o.json")])
    assert stop.value.code == 2
    assert f"dataset {photo} is not a folder of images" in capsys.readouterr().err
