"""Confidence intervals of bytes ratios (jpegsal.bench.stats) on sweeps built by hand."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from jpegsal.bench.bd import versus_base
from jpegsal.bench.codecs import PillowCodec
from jpegsal.bench.stats import interval, load_images, paired, resampled_ratios, save_images
from jpegsal.bench.sweep import Sweep, curves

QUALITIES = (10, 20, 50, 90)


def _sweep(contenders: dict[str, tuple[float, float]], n: int = 60, seed: int = 1) -> Sweep:
    """n images; contender -> (bytes factor, accuracy shift in points of hit probability).

    Pillow's hit probability rises with quality; each image's hits are random draws, so a
    resample changes the curves as a new set of images would.
    """
    rng = np.random.default_rng(seed)
    base_bytes = rng.uniform(2000, 9000, n)[:, None] * np.array([1.0, 1.5, 2.4, 4.0])
    base_p = np.array([0.35, 0.55, 0.7, 0.78])
    u = rng.uniform(size=(n, len(QUALITIES)))  # the same draws for every contender: paired
    bytes_each, scores = {}, {}
    for c, (factor, shift) in {"pillow": (1.0, 0.0), **contenders}.items():
        hits = (u < base_p + shift).astype(float)
        rows = np.zeros((n, len(QUALITIES), 4))
        rows[:, :, 0] = rows[:, :, 2] = hits
        bytes_each[c] = list(base_bytes * factor)
        scores[c] = list(rows)
    points = dict.fromkeys(bytes_each, len(QUALITIES))
    return Sweep(points, bytes_each, {("j", "whole"): scores}, dict.fromkeys(points, 0.0), n, n)


def test_same_curve_is_one_in_every_draw() -> None:
    draws = resampled_ratios(
        _sweep({"same": (1.0, 0.0)}), "j", "whole", "top1", ["same"], QUALITIES
    )
    assert np.allclose(draws["same"], 1.0)
    assert interval(draws["same"]) == [1.0, 1.0]


def test_fewer_bytes_for_the_same_hits_is_that_factor() -> None:
    draws = resampled_ratios(
        _sweep({"half": (0.5, 0.0)}), "j", "whole", "agree1", ["half"], QUALITIES, samples=200
    )
    assert np.allclose(draws["half"], 0.5)


def test_interval_holds_the_full_set_ratio_and_widens_with_fewer_images() -> None:
    widths = []
    for n in (40, 400):
        sweep = _sweep({"better": (0.9, 0.05)}, n=n)
        table = {c: (PillowCodec(), QUALITIES) for c in sweep.points}
        full = curves(sweep, table, ["j"])["j"]  # type: ignore[arg-type]
        ratio = versus_base(
            full["pillow"], [(p["bytes"], p["top1"]) for p in full["better"]], "top1"
        )["ratio_pillow_q20_q90"]
        draws = resampled_ratios(sweep, "j", "whole", "top1", ["better"], QUALITIES, samples=400)
        ci = interval(draws["better"])
        assert ci is not None
        assert ci[0] <= ratio <= ci[1]
        widths.append(ci[1] - ci[0])
    assert widths[1] < widths[0]  # ten times the images: a narrower interval


def test_paired_interval_of_two_contenders() -> None:
    sweep = _sweep({"a": (0.6, 0.0), "b": (0.8, 0.0)})
    draws = resampled_ratios(sweep, "j", "whole", "top1", ["a", "b"], QUALITIES, samples=100)
    lo, hi = paired(draws, "a", "b") or (0, 0)
    assert lo == pytest.approx(0.75)
    assert hi == pytest.approx(0.75)


def test_interval_is_none_when_most_draws_do_not_meet() -> None:
    assert interval(np.array([np.nan, np.nan, 0.9])) is None
    assert interval(np.array([0.8, np.nan, 0.9]), level=1.0) == [0.8, 0.9]


def test_resampling_needs_two_images() -> None:
    with pytest.raises(ValueError, match="at least 2 images"):
        resampled_ratios(_sweep({}, n=1), "j", "whole", "top1", [], QUALITIES)


def test_saved_rows_give_the_same_draws(tmp_path: Path) -> None:
    sweep = _sweep({"a": (0.7, 0.02)})
    save_images(sweep, tmp_path / "r.npz")
    again = load_images(tmp_path / "r.npz")
    assert (again.n, again.points) == (sweep.n, sweep.points)
    first = resampled_ratios(sweep, "j", "whole", "top1", ["a"], QUALITIES, samples=50)
    second = resampled_ratios(again, "j", "whole", "top1", ["a"], QUALITIES, samples=50)
    assert np.array_equal(first["a"], second["a"], equal_nan=True)


def test_paired_command_prints_both_and_the_pair(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks.paired import main

    save_images(_sweep({"a": (0.6, 0.0), "b": (0.8, 0.0)}), tmp_path / "r.npz")
    (tmp_path / "r.json").write_text(json.dumps({"qualities": list(QUALITIES)}))
    assert main([str(tmp_path / "r.json"), "a", "b", "--samples", "50"]) == 0
    out = capsys.readouterr().out
    assert "j top1: a [0.6, 0.6], b [0.8, 0.8]; A/B [0.75, 0.75]" in out
    (tmp_path / "r.npz").unlink()
    with pytest.raises(SystemExit):
        main([str(tmp_path / "r.json"), "a", "b"])


def test_paired_command_takes_b_from_another_run_of_the_same_images(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks.paired import main

    save_images(_sweep({"c": (0.6, 0.0)}), tmp_path / "new.npz")
    save_images(_sweep({"c": (0.8, 0.0)}), tmp_path / "old.npz")
    for name in ("new", "old"):
        (tmp_path / f"{name}.json").write_text(json.dumps({"qualities": list(QUALITIES)}))
    args = [str(tmp_path / "new.json"), "c", "c", "--b-from", str(tmp_path / "old.json")]
    assert main([*args, "--samples", "50"]) == 0
    assert "j top1: c [0.6, 0.6], c (old) [0.8, 0.8]; A/B [0.75, 0.75]" in capsys.readouterr().out
    save_images(_sweep({"c": (0.8, 0.0)}, seed=2), tmp_path / "old.npz")  # other images
    with pytest.raises(SystemExit, match="not the same images"):
        main(args)


def test_paired_command_names_an_unknown_score(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks.paired import main

    with pytest.raises(SystemExit):  # the crop protocol is a column, not a score
        main([str(tmp_path / "r.json"), "a", "b", "--scores", "top1_crop"])
    assert "--scores: invalid choice: 'top1_crop'" in capsys.readouterr().err
