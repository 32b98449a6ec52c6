"""The shipped models through jpegsal.saliency(): the output contract, orientation, batches."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_decodes, pillow_jpeg
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import jpegsal
from jpegsal.maps.onnx import OnnxSaliencyModel, file_sha256, network_size
from jpegsal.maps.registry import get_model, models_dir


def _check_contract(sal: np.ndarray, width: int, height: int) -> None:
    assert sal.shape == (height, width)
    assert sal.dtype == np.float32
    assert np.isfinite(sal).all()
    assert sal.min() >= 0.0
    assert sal.max() <= 1.0


@pytest.mark.parametrize("model", ["cam", "msroi", "nice"])
def test_contract_on_a_photo(rgb: Image.Image, model: str) -> None:
    sal = jpegsal.saliency(rgb, model, device="cpu")
    _check_contract(sal, rgb.width, rgb.height)
    assert sal.max() > 0.9  # cam and msroi reach 1 by scaling, nice's open gates are 1
    assert sal.std() > 0.05  # and are not flat


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 300),
    st.integers(1, 300),
    st.sampled_from(["RGB", "L", "CMYK", "P", "1", "I;16"]),
    st.sampled_from(["cam", "msroi", "nice"]),
)
def test_contract_over_shapes_and_modes(width: int, height: int, mode: str, model: str) -> None:
    rng = np.random.default_rng(width * 1000 + height)
    image = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
    image = (
        image.convert(mode)
        if mode != "I;16"
        else Image.fromarray(rng.integers(0, 65536, (height, width), dtype=np.uint16))
    )
    _check_contract(jpegsal.saliency(image, model, device="cpu"), width, height)


@pytest.mark.parametrize("size", [(1, 1), (10000, 20), (20, 10000), (33, 7)])
def test_extreme_sizes(size: tuple[int, int]) -> None:
    w, h = size
    _check_contract(jpegsal.saliency(np.full((h, w, 3), 128, np.uint8), device="cpu"), w, h)


@pytest.mark.slow
def test_fifty_megapixels() -> None:
    a = np.zeros((6000, 8400, 3), np.uint8)
    a[2000:4000, 3000:5000] = 220
    _check_contract(jpegsal.saliency(a, device="cpu"), 8400, 6000)


def test_network_size_keeps_aspect_and_multiples() -> None:
    assert network_size(224, 224, 224, 32) == (224, 224)
    assert network_size(1224, 816, 224, 32) == (288, 192)
    assert network_size(1, 1, 224, 32) == (224, 224)
    assert network_size(10000, 20, 224, 32) == (1024, 32)  # capped long side
    for w, h in [(640, 480), (480, 640), (3000, 100)]:
        nw, nh = network_size(w, h, 224, 32)
        assert nw % 32 == 0
        assert nh % 32 == 0


@pytest.mark.parametrize("tag", [2, 3, 4, 5, 6, 7, 8])
def test_map_is_computed_upright_and_returned_in_stored_order(
    portrait: Image.Image, tag: int
) -> None:
    # Store the upright picture the way a camera would for this tag.
    to_stored = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_90,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_270,
    }[tag]
    stored = portrait.transpose(to_stored)
    exif = Image.Exif()
    exif[0x0112] = tag
    data = pillow_jpeg(stored, quality=95, exif=exif)
    decoded = Image.open(io.BytesIO(data))
    from PIL import ImageOps

    upright = ImageOps.exif_transpose(decoded)
    assert upright.size == portrait.size
    expected = Image.fromarray(jpegsal.saliency(upright, device="cpu"), "F").transpose(to_stored)
    got = jpegsal.saliency(data, device="cpu")
    assert got.shape == (stored.height, stored.width)
    np.testing.assert_allclose(got, np.asarray(expected), atol=1e-6)
    # Without the tag the network would see a sideways picture and give another map.
    if tag in (5, 6, 7, 8):
        plain = jpegsal.saliency(pillow_jpeg(stored, quality=95), device="cpu")
        assert np.abs(plain - got).max() > 0.05


def test_deterministic_and_batched(rgb: Image.Image, portrait: Image.Image) -> None:
    one = [jpegsal.saliency(im, "msroi", device="cpu") for im in (rgb, portrait, rgb)]
    again = jpegsal.saliency([rgb, portrait, rgb], "msroi", device="cpu")
    assert len(again) == 3
    for a, b in zip(one, again, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
    np.testing.assert_array_equal(one[0], jpegsal.saliency(rgb, "msroi", device="cpu"))


def test_cam_and_msroi_differ(rgb: Image.Image) -> None:
    cam, msroi = (jpegsal.saliency(rgb, m, device="cpu") for m in ("cam", "msroi"))
    assert np.abs(cam - msroi).max() > 0.01


def test_logits_are_exposed(rgb: Image.Image) -> None:
    model = get_model("cam", "cpu")
    assert isinstance(model, OnnxSaliencyModel)
    sal, logits = model.predict(rgb)
    assert logits is not None
    assert logits.shape == (1000,)
    assert sal.shape == (rgb.height, rgb.width)


def test_saliency_argument_errors(rgb: Image.Image) -> None:
    with pytest.raises(ValueError, match="saliency\\(\\) needs a model"):
        jpegsal.saliency(rgb, None)
    with pytest.raises(
        ValueError, match="device must be one of 'auto', 'cpu' or 'cuda', got 'gpu'"
    ):
        jpegsal.saliency(rgb, device="gpu")
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        jpegsal.saliency(rgb, "nope")


# --- manifest and model files -------------------------------------------------------


def test_manifest_integrity() -> None:
    manifest = json.loads((models_dir() / "manifest.json").read_text())
    assert set(manifest["models"]) >= {"cam", "msroi", "nice"}
    for name, entry in manifest["models"].items():
        for key in (
            "file",
            "sha256",
            "source",
            "licence",
            "input_size",
            "normalisation",
            "outputs",
            "description",
        ):
            assert key in entry, (name, key)
        path = models_dir() / entry["file"]
        assert path.is_file()
        assert file_sha256(path) == entry["sha256"]
        assert entry["file"].endswith(f"-{entry['sha256'][:8]}.onnx")  # hash in the name
        acc = entry["accuracy"]
        # fp32 exports match PyTorch; int8 variants may move top-1 by up to a point.
        allowed = 1.0 if "variant_of" in entry else 0.3
        assert abs(acc["top1_pytorch"] - acc["top1_onnxruntime"]) <= allowed


def test_sha256_is_checked() -> None:
    entry = json.loads((models_dir() / "manifest.json").read_text())["models"]["cam"]
    from jpegsal.maps.onnx import OnnxConfig

    config = OnnxConfig(saliency_output="cam")
    with pytest.raises(RuntimeError, match="is corrupt or modified: sha256"):
        OnnxSaliencyModel("cam", models_dir() / entry["file"], config, sha256="0" * 64)


def test_models_listing() -> None:
    cards = {card["name"]: card for card in jpegsal.models()}
    assert cards["cam"]["accuracy"]["top1_onnxruntime"] > 80
    assert "Prakash" in cards["msroi"]["description"]


def test_missing_models_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from jpegsal.maps import registry as zoo

    def no_package(name: str) -> None:
        raise ModuleNotFoundError(name)

    monkeypatch.setattr(zoo.resources, "files", no_package)
    monkeypatch.setattr(zoo, "__file__", str(tmp_path / "jpegsal" / "maps" / "registry.py"))
    with pytest.raises(FileNotFoundError, match=r"models folder \(manifest.json\) is missing"):
        zoo.models_dir()


# --- the NICE model ---------------------------------------------------------------------


def test_nice_with_downsample_from_the_shipped_model(rgb: Image.Image) -> None:
    sal = jpegsal.saliency(rgb, "nice", device="cpu")
    # Hard gates: most of the map is exactly 0 or 1 (bilinear upsampling blends the seams).
    assert float(np.mean((sal == 0.0) | (sal == 1.0))) > 0.5
    assert 0.05 < float(sal.mean()) < 0.95  # neither all kept nor all dropped
    np.testing.assert_array_equal(sal, jpegsal.saliency(rgb, "nice", device="cpu"))
    data = jpegsal.encode(rgb, model="nice", method="downsample", quality=85)
    plain = pillow_jpeg(rgb, quality=85)
    assert len(data) < len(plain)
    assert_decodes(data, rgb.size)
    # The model keeps the classifier's logits, so rate control works with it too.
    assert jpegsal.encode(rgb, model="nice", method="downsample", preserve="top1")


def test_nice_card_records_its_recipe() -> None:
    entry = json.loads((models_dir() / "manifest.json").read_text())["models"]["nice"]
    training = entry["training"]
    assert training["command"].startswith("python -m jpegsal.train.nice ")
    assert f"--export {training['lam']:g}" in training["command"]
    assert entry["outputs"] == {"logits": "logits", "saliency": "nice"}
    lams = [row["lam"] for row in training["sweep"]]
    assert training["lam"] in lams
    assert len(lams) >= 3


def test_jpeg_files_get_a_reduced_decode_for_the_network(tmp_path: Path) -> None:
    # A 2000x1500 JPEG: the network sees ~224 px, so libjpeg decodes it at 1/2 (short side
    # 750 >= 3 x 224); the map still covers the stored image and agrees with a full decode.
    from jpegsal.inputs import load_image

    with Image.open(Path(jpegsal.__file__).parent / "data" / "kodim23.png") as im:
        big = im.convert("RGB").resize((2000, 1500), Image.Resampling.LANCZOS)
    path = tmp_path / "big.jpg"
    big.save(path, quality=92)
    reduced = load_image(path, draft=672)
    assert reduced.image.size == (1000, 750)
    assert reduced.stored_size == (2000, 1500)
    assert load_image(path).stored_size is None  # no draft: a full decode
    fast = jpegsal.saliency(path)
    full = jpegsal.saliency(Image.open(path))  # a PIL image: decoded in full
    assert fast.shape == full.shape == (1500, 2000)
    assert np.corrcoef(fast[::10, ::10].ravel(), full[::10, ::10].ravel())[0, 1] > 0.99
    # Encoder.saliency decodes in full, as encode does: passing it gives encode's own bytes.
    enc = jpegsal.Encoder("cam", "guided")
    sal = enc.saliency(path)
    assert np.array_equal(sal.map, enc.saliency(Image.open(path)).map)
    assert enc.encode(path, saliency=sal) == enc.encode(path)
