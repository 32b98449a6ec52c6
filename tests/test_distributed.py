"""``jpegsal encode --engine ray`` on a local Ray runtime (extra ``ray``).

32 inputs (30 images in two folders, a truncated JPEG, a file that is no image): the
bytes equal a local run's with the same onnxruntime thread count, the manifest has a
row per input, a second run skips what is done, an existing output is never
overwritten, and a run stopped by Ctrl-C resumes where it stopped.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

ray = pytest.importorskip("ray", reason="the ray extra is not installed")

from jpegsal.cli import main  # noqa: E402
from jpegsal.demo import sample_images  # noqa: E402
from jpegsal.distributed import MANIFEST  # noqa: E402

pytestmark = pytest.mark.slow
ENCODE = ["--model", "cam", "--method", "guided", "--quality", "70"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    (root / "b").mkdir()
    images = [Image.open(p).convert("RGB") for p in sample_images()]
    for i in range(30):
        im = images[i % 3].crop((8 * i, 4 * i, 8 * i + 192, 4 * i + 128))
        folder = root / ("b" if i % 2 else "")
        im.save(folder / f"img{i:02d}.{'jpg' if i % 3 else 'png'}", quality=90)
    data = (root / "img02.jpg").read_bytes()
    (root / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (root / "notes.jpg").write_text("not an image")
    return root


@pytest.fixture(scope="module")
def big_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 photos of 2 MP: slow enough (about 0.1 s each) that Ctrl-C lands mid-run."""
    root = tmp_path_factory.mktemp("big")
    images = [Image.open(p).convert("RGB") for p in sample_images()]
    for i in range(30):
        im = images[i % 3].crop((4 * i, 2 * i, 4 * i + 600, 2 * i + 400)).resize((1800, 1200))
        im.save(root / f"big{i:02d}.jpg", quality=90)
    return root


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> object:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _rows(out: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (out / MANIFEST).read_text().splitlines()]


def _jpegs(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.jpg"))}


def test_same_bytes_as_a_local_run_and_a_row_per_input(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the actors' threads: one CPU each
    assert main(["encode", str(corpus), "--out-dir", str(tmp_path / "local"), "-r", *ENCODE]) == 1
    ray_out = tmp_path / "ray"
    code = main(["encode", str(corpus), "--out-dir", str(ray_out), "--engine", "ray", *ENCODE])
    assert code == 1  # two inputs fail; the others are written
    assert _jpegs(ray_out) == _jpegs(tmp_path / "local")
    assert len(_jpegs(ray_out)) == 30
    rows = {Path(str(r["input"])).name: r for r in _rows(ray_out)}
    assert len(rows) == 32
    assert "truncated" in str(rows["truncated.jpg"]["error"])
    assert "UnidentifiedImageError" in str(rows["notes.jpg"]["error"])
    good = rows["img04.jpg"]
    assert good["error"] is None
    assert good["quality"] == 70
    assert good["output_bytes"] == (ray_out / "img04.jpg").stat().st_size
    assert good["input_bytes"] == (corpus / "img04.jpg").stat().st_size
    # A second run skips what is done: no new row except the two failures, retried.
    assert main(["encode", str(corpus), "--out-dir", str(ray_out), "--engine", "ray", *ENCODE]) == 1
    assert len(_rows(ray_out)) == 34


def test_existing_outputs_are_never_overwritten(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "img00.jpg").write_bytes(b"mine")
    main(["encode", str(corpus), "--out-dir", str(out), "--engine", "ray", *ENCODE])
    assert (out / "img00.jpg").read_bytes() == b"mine"
    row = next(r for r in _rows(out) if str(r["input"]).endswith("img00.png"))
    assert "output exists" in str(row["error"])
    assert "--overwrite" in str(row["error"])


def test_a_stopped_run_resumes(big_corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    argv = ["encode", str(big_corpus), "--out-dir", str(out), "--engine", "ray", *ENCODE]
    # One actor, so that 30 2-MP photos take seconds on any machine and Ctrl-C lands mid-run.
    child_argv = [*argv, "--concurrency", "1,1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen(
        [sys.executable, "-m", "jpegsal", *child_argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        # A job started in the background inherits SIGINT ignored; the child must hear it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and child.poll() is None:
        manifest = out / MANIFEST
        if manifest.exists() and len(manifest.read_text().splitlines()) >= 3:
            break
        time.sleep(0.02)
    child.send_signal(signal.SIGINT)  # Ctrl-C
    _, err = child.communicate(timeout=120)
    assert child.returncode == 130, err.decode()[-2000:]
    assert b"to resume" in err, err.decode()[-1500:]
    first = _rows(out)
    assert 3 <= len(first) < 30
    assert main(argv) == 0
    rows = _rows(out)
    written = [r for r in rows if r["error"] is None]
    assert len({r["input"] for r in written}) == 30  # each image written exactly once
    assert len(written) == 30
    assert len(_jpegs(out)) == 30


def test_the_python_api(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jpegsal.distributed import encode_dataset

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    local = tmp_path / "local"
    assert main(["encode", str(corpus), "--out-dir", str(local), "-r", "--quality", "60"]) == 1
    out = tmp_path / "api"
    result = encode_dataset(corpus, out, quality=60, progress=False)
    assert (result.total, result.failed, result.skipped) == (32, 2, 0)
    assert result.manifest == out / MANIFEST
    assert _jpegs(out) == _jpegs(local)
    again = encode_dataset([str(corpus)], out, quality=60, progress=False)
    assert (again.total, again.skipped, again.failed) == (32, 30, 2)
    with pytest.raises(ValueError, match="quality"):
        encode_dataset(corpus, out, quality=101)


def test_jpeg_inputs_take_the_dct_path_as_locally(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The workers encode the file by its path, as the local CLI does: a JPEG input under
    # the machine preset is requantised in the DCT domain on both engines.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    preset = ["--preset", "machine", "--progressive", "--quality", "50"]
    local, out = tmp_path / "local", tmp_path / "ray"
    main(["encode", str(corpus), "--out-dir", str(local), "-r", *preset])
    main(["encode", str(corpus), "--out-dir", str(out), "--engine", "ray", *preset])
    assert _jpegs(out) == _jpegs(local)
    paths = {Path(str(r["input"])).name: r.get("path") for r in _rows(out)}
    assert paths["img04.jpg"] == "dct"
    assert paths["img00.png"] == "pixels"


def test_the_network_in_its_own_actors_gives_the_same_bytes(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # --network-workers: network actors pass the coarse map and logits to CPU actors,
    # which upsample and encode; the files are those of a local run at one thread.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert main(["encode", str(corpus), "--out-dir", str(tmp_path / "local"), "-r", *ENCODE]) == 1
    out = tmp_path / "split"
    split = ["--engine", "ray", "--network-workers", "1", "--concurrency", "1,1"]
    assert main(["encode", str(corpus), "--out-dir", str(out), *split, *ENCODE]) == 1
    assert _jpegs(out) == _jpegs(tmp_path / "local")
    rows = {Path(str(r["input"])).name: r for r in _rows(out)}
    assert len(rows) == 32
    assert "truncated" in str(rows["truncated.jpg"]["error"])  # the local run's reason
    assert "UnidentifiedImageError" in str(rows["notes.jpg"]["error"])
