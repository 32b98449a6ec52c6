"""The two stages of ``--network-workers`` without Ray: what one stage hands the other.

The network stage runs one batch per input shape; each image's coarse map and logits
must be those of a run on that image alone, and the CPU stage's stand-in model must give
the map and the bytes of the model itself.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from jpegsal import Encoder
from jpegsal.cli import build_parser, main
from jpegsal.demo import sample_images
from jpegsal.distributed_actors import Handed, _Network, _Rest, _unnpy


def _args(*flags: str) -> argparse.Namespace:
    base = ["encode", "--out-dir", "unused", "--engine", "ray", "--network-workers", "1"]
    return build_parser().parse_args([*base, *flags, "--", "x.png"])


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    root = tmp_path_factory.mktemp("split")
    images = [Image.open(p).convert("RGB") for p in sample_images()]
    paths = []
    for i in range(6):  # four of one size (one batch), two of others
        size = (192, 128) if i < 4 else (160 + 40 * i, 120)
        path = root / f"i{i}.png"
        images[i % 3].crop((10 * i, 5 * i, 10 * i + size[0], 5 * i + size[1])).save(path)
        paths.append(str(path))
    (root / "bad.png").write_text("no image")
    return [*paths, str(root / "bad.png")]


def test_batched_network_outputs_equal_single_runs(files: list[str]) -> None:
    stage = _Network(_args("--model", "cam", "--method", "guided"))
    out = stage({"path": np.array(files, dtype=object)})
    assert out["path"] == files
    assert "UnidentifiedImageError" in out["error"][-1]
    assert out["coarse"][-1] == b""
    for i, path in enumerate(files[:-1]):
        alone = stage({"path": np.array([path], dtype=object)})
        assert out["error"][i] == ""
        assert np.array_equal(_unnpy(out["coarse"][i]), _unnpy(alone["coarse"][0]))
        assert np.array_equal(_unnpy(out["logits"][i]), _unnpy(alone["logits"][0]))


def test_the_handed_model_gives_the_model_own_bytes(
    files: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    args = _args("--model", "cam", "--method", "guided", "--quality", "60")
    maps = _Network(args)({"path": np.array(files, dtype=object)})
    targets = {p: str(tmp_path / Path(p).with_suffix(".jpg").name) for p in files}
    rows = _Rest(args, targets)(maps)["row"]
    assert '"error": null' in rows[0]
    assert "UnidentifiedImageError" in rows[-1]  # the CPU stage's own decode says why
    reference = Encoder("cam", "guided", quality=60, threads=1, keep_metadata=True)
    for path in files[:-1]:
        assert Path(targets[path]).read_bytes() == reference.encode(path, corrupt="error")


def test_a_handed_model_without_outputs_names_the_network_failure() -> None:
    handed = Handed("cam")
    handed.error = "OSError: broken"
    with pytest.raises(RuntimeError, match=r"network stage failed.*broken"):
        handed(Image.new("RGB", (8, 8)))


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--engine", "ray", "--network-workers", "1", "--quality", "50"], "needs --model"),
        (
            ["--engine", "ray", "--network-workers", "1", "--model", "cam", "--preserve", "top1"],
            "cannot be used with --preserve",
        ),
        (["--network-workers", "1", "--model", "cam", "--method", "guided"], "needs --engine ray"),
        (["--engine", "ray", "--network-workers", "-1"], "invalid --network-workers"),
    ],
)
def test_a_split_with_nothing_to_split_is_a_usage_error(
    flags: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "a.png"
    Image.new("RGB", (16, 16)).save(src)
    assert main(["encode", str(src), "--out-dir", str(tmp_path / "o"), *flags]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o" / "a.jpg").exists()
