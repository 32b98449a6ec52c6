"""The Encoder, the pipeline plumbing (with toy model/method instances), rate control."""

from __future__ import annotations

import io
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from conftest import assert_decodes, pillow_jpeg
from PIL import Image

import jpegsal
from jpegsal import methods
from jpegsal.codec.options import JpegOptions
from jpegsal.maps import contract, registry
from jpegsal.ratecontrol import fit_quality


@dataclass
class LeftHalfModel:
    """Toy saliency: the left half of the image matters."""

    name: str = "left-half"
    calls: int = 0

    def __call__(self, image: Image.Image) -> np.ndarray:
        self.calls += 1
        sal = np.zeros((image.height, image.width), np.float32)
        sal[:, : image.width // 2] = 1.0
        return sal


@dataclass(frozen=True)
class FlattenBackground:
    """Toy method: replace unimportant pixels by their mean colour."""

    name: ClassVar[str] = "flatten"
    strength: float = 1.0

    def apply(self, image: Image.Image, sal: np.ndarray, options: JpegOptions) -> Image.Image:
        pixels = np.asarray(image)
        out = pixels.copy()
        mask = sal < 0.5
        out[mask] = pixels[mask].mean(axis=0).astype(np.uint8)
        return Image.fromarray(out, image.mode)


def test_encoder_reuses_model_and_applies_overrides(rgb: Image.Image) -> None:
    model = LeftHalfModel()
    enc = jpegsal.Encoder(model, FlattenBackground(), quality=90)
    first = enc.encode(rgb)
    second = enc.encode(rgb, quality=40)
    assert model.calls == 2
    assert len(second) < len(first)
    assert len(first) < len(pillow_jpeg(rgb, quality=90))  # the flattened half is cheap
    decoded = np.asarray(assert_decodes(first, rgb.size)).astype(int)
    right = decoded[:, rgb.width // 2 + 8 :]
    assert right.std(axis=(0, 1)).max() < 6  # the background really was flattened


def test_method_none_does_not_run_the_model(rgb: Image.Image) -> None:
    model = LeftHalfModel()
    assert jpegsal.encode(rgb, model=model) == pillow_jpeg(rgb)
    assert model.calls == 0


def test_saliency_contract_is_enforced(rgb: Image.Image) -> None:
    class WrongShape(LeftHalfModel):
        def __call__(self, image: Image.Image) -> np.ndarray:
            return np.zeros((image.width, image.height), np.float32)

    class OutOfRange(LeftHalfModel):
        def __call__(self, image: Image.Image) -> np.ndarray:
            return np.full((image.height, image.width), 2.0, np.float32)

    with pytest.raises(ValueError, match=r"saliency map has shape \(96, 64\), expected \(64, 96\)"):
        jpegsal.encode(rgb, model=WrongShape(), method=FlattenBackground())
    with pytest.raises(ValueError, match=r"finite values in \[0, 1\]"):
        jpegsal.encode(rgb, model=OutOfRange(), method=FlattenBackground())


def test_shape_error_names_exif_orientation(rgb: Image.Image) -> None:
    # A map made beforehand on the stored pixels does not fit the upright view the model gets.
    stored = np.zeros((rgb.height, rgb.width), np.float32)

    class Precomputed(LeftHalfModel):
        def __call__(self, image: Image.Image) -> np.ndarray:
            return stored

    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    rgb.save(buf, "JPEG", exif=exif)
    with pytest.raises(ValueError, match=r"expected \(96, 64\); .*EXIF orientation"):
        jpegsal.encode(buf.getvalue(), model=Precomputed(), method=FlattenBackground())
    assert_decodes(jpegsal.encode(rgb, model=Precomputed(), method=FlattenBackground()), rgb.size)


def test_pipeline_handles_non_rgb_modes(rgb: Image.Image) -> None:
    for image in (rgb.convert("L"), rgb.convert("CMYK"), rgb.convert("1")):
        data = jpegsal.encode(image, model=LeftHalfModel(), method=FlattenBackground())
        assert_decodes(data, rgb.size)


def test_model_and_method_errors() -> None:
    listed = "available: 'cam', 'cam-int8', 'msroi', 'msroi-int8', 'nice'"
    with pytest.raises(ValueError, match=f"unknown model 'nope'; {listed}"):
        jpegsal.Encoder("nope", FlattenBackground())
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        jpegsal.encode(np.zeros((4, 4), np.uint8), model="nope")  # checked even when unused
    with pytest.raises(
        ValueError,
        match="unknown method 'nope'; available: 'blocks', 'downsample', 'guided', 'mix'",
    ):
        jpegsal.Encoder(None, "nope")
    with pytest.raises(ValueError, match="method 'flatten' needs a saliency model"):
        jpegsal.Encoder(None, FlattenBackground())
    with pytest.raises(TypeError, match=r"model must be a name, an \.onnx path, a SaliencyModel"):
        jpegsal.Encoder(3, FlattenBackground())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="method must be a name, a method config or None"):
        jpegsal.Encoder(None, 3.0)  # type: ignore[arg-type]
    with pytest.raises(
        ValueError, match="device must be one of 'auto', 'cpu' or 'cuda', got 'tpu'"
    ):
        jpegsal.Encoder(device="tpu")


def test_registries_resolve_names(monkeypatch: pytest.MonkeyPatch, rgb: Image.Image) -> None:
    monkeypatch.setitem(registry._REGISTRY, "left", lambda **kw: LeftHalfModel())
    monkeypatch.setitem(methods.registry._REGISTRY, "flatten", FlattenBackground)
    assert "left" in jpegsal.available_models()
    assert "flatten" in jpegsal.available_methods()
    by_name = jpegsal.encode(rgb, model="left", method="flatten")
    by_instance = jpegsal.encode(rgb, model=LeftHalfModel(), method=FlattenBackground())
    assert by_name == by_instance
    with pytest.raises(ValueError, match="already registered"):
        registry.register_model("left", lambda **kw: LeftHalfModel())
    with pytest.raises(ValueError, match="already registered"):
        methods.register_method(FlattenBackground)


def test_target_bytes_fits_and_is_the_highest_quality(rgb: Image.Image) -> None:
    budget = 2500
    data = jpegsal.encode(rgb, target_bytes=budget)
    assert len(data) <= budget
    quality = next(q for q in range(1, 101) if pillow_jpeg(rgb, quality=q) == data)
    assert len(pillow_jpeg(rgb, quality=quality + 1)) > budget


def test_target_bytes_errors(rgb: Image.Image) -> None:
    with pytest.raises(ValueError, match="target_bytes=10 is unreachable: the smallest output"):
        jpegsal.encode(rgb, target_bytes=10)
    with pytest.raises(ValueError, match="target_bytes must be a positive int or None, got 0"):
        jpegsal.encode(rgb, target_bytes=0)
    with pytest.raises(ValueError, match="do not pass qtables or a preset"):
        jpegsal.encode(rgb, target_bytes=5000, quality="web_low")


def test_own_options_are_checked_up_front(rgb: Image.Image) -> None:
    with pytest.raises(TypeError, match="keep_metadata must be a bool, got 'yes'"):
        jpegsal.Encoder(keep_metadata="yes")
    with pytest.raises(TypeError, match=r"target_bytes must be a positive int or None, got 1\.5"):
        jpegsal.encode(rgb, target_bytes=1.5)
    qtables = np.full((1, 64), 4)  # arrays are fine wherever Pillow takes sequences
    assert jpegsal.Encoder(qtables=qtables).encode(rgb) == pillow_jpeg(rgb, qtables=[[4] * 64])


def test_fit_quality_uses_few_encodes() -> None:
    calls: list[int] = []

    def fake(q: int) -> bytes:
        calls.append(q)
        return b"x" * (q * 10)

    assert fit_quality(fake, 555) == (55, b"x" * 550)
    assert len(calls) <= 7


def test_encoder_save_to_file_object(rgb: Image.Image) -> None:
    buf = io.BytesIO()
    jpegsal.Encoder(quality=55).save(rgb, buf)
    assert buf.getvalue() == pillow_jpeg(rgb, quality=55)
    assert "Encoder(model=None" in repr(jpegsal.Encoder())


def test_import_is_light() -> None:
    code = (
        "import sys, jpegsal; heavy = {'onnxruntime', 'cv2', 'scipy', 'torch', 'tqdm'};"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_missing_backend_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from jpegsal._optional import require

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import now fails
    with pytest.raises(ImportError, match=r"pip install 'jpegsal\[cpu\]'"):
        require("onnxruntime")
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r"training and exporting models .* 'jpegsal\[train\]'"):
        require("torch")
    assert require("json").__name__ == "json"


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, -0.5, 1.5])
def test_contract_rejects_non_finite_and_out_of_range(bad: float) -> None:
    sal = np.zeros((4, 6), np.float32)
    sal[2, 3] = bad
    with pytest.raises(ValueError, match=r"finite values in \[0, 1\]"):
        contract.check_map(sal, (6, 4))


def test_check_policy_type_and_value_errors() -> None:
    from jpegsal._check import check_bool, check_int, check_number, check_optional_int

    with pytest.raises(TypeError, match="threads must be a positive int, got True"):
        check_int("threads", True, 1)
    with pytest.raises(TypeError, match="threads must be a positive int or None, got '2'"):
        check_optional_int("threads", "2", 1)
    with pytest.raises(ValueError, match=r"levels must be an int >= 2, got 1"):
        check_int("levels", 1, 2)
    with pytest.raises(ValueError, match=r"strength must be a number in \[0, 1\], got nan"):
        check_number("strength", float("nan"), 0, 1)
    with pytest.raises(TypeError, match="keep_metadata must be a bool, got 'yes'"):
        check_bool("keep_metadata", "yes")
    assert check_optional_int("threads", None, 1) is None


def test_saliency_value_round_trip(rgb: Image.Image) -> None:
    enc = jpegsal.Encoder("cam", "guided", quality=60)
    sal = enc.saliency(rgb)
    assert isinstance(sal, jpegsal.Saliency)
    assert sal.size == rgb.size
    assert sal.model == "cam"
    assert sal.orientation == 1
    assert sal.logits is not None
    assert sal.probabilities is not None
    assert not sal.map.flags.writeable
    given = enc.encode_with_info(rgb, saliency=sal)
    assert given.data == enc.encode(rgb)  # the same bytes as computing it again
    assert given.network_runs == 0
    with pytest.raises(ValueError, match="the map is 96x64 but the image is 48x72"):
        enc.encode(Image.new("RGB", (48, 72)), saliency=sal)
    assert "Saliency('cam', 96x64" in repr(sal)


def test_one_shot_encode_reuses_the_loaded_model(rgb: Image.Image) -> None:
    from jpegsal.maps.registry import get_model

    assert get_model("cam", "cpu") is get_model("cam", "cpu")
    first = jpegsal.encode(rgb, model="cam", method="guided", device="cpu")
    assert first == jpegsal.Encoder("cam", "guided", device="cpu").encode(rgb)


def test_a_side_over_65535_fails_before_any_model_runs() -> None:
    import jpegsal

    wide = Image.new("L", (65536, 1))
    with pytest.raises(ValueError, match="at most 65,535 pixels per side"):
        jpegsal.encode(wide, model="cam", method="guided")


def test_cmyk_through_a_method_drops_the_cmyk_profile() -> None:
    import io

    import jpegsal

    cmyk = Image.new("CMYK", (64, 48), (10, 80, 160, 20))
    cmyk.info["icc_profile"] = b"a CMYK profile" * 8
    plain = Image.open(io.BytesIO(jpegsal.encode(cmyk, keep_metadata=True)))
    assert plain.mode == "CMYK"
    assert plain.info.get("icc_profile") == cmyk.info["icc_profile"]
    data = jpegsal.encode(cmyk, model="cam", method="guided", keep_metadata=True)
    out = Image.open(io.BytesIO(data))
    assert out.mode == "RGB"
    assert out.info.get("icc_profile") is None  # the CMYK profile would mis-colour RGB


def test_save_refuses_to_replace_its_own_input(tmp_path: Path) -> None:
    import jpegsal

    path = tmp_path / "photo.jpg"
    Image.new("RGB", (32, 24), (200, 30, 30)).save(path, quality=95)
    original = path.read_bytes()
    for save in (jpegsal.save, jpegsal.Encoder(quality=40).save):
        with pytest.raises(ValueError, match="is the input file"):
            save(path, path)
        with pytest.raises(ValueError, match="is the input file"):
            save(str(path), tmp_path / "." / "photo.jpg")
        assert path.read_bytes() == original
    jpegsal.Encoder(quality=40).save(path, path, replace_input=True)
    assert path.read_bytes() != original
    jpegsal.save(path, tmp_path / "copy.jpg")  # another file is fine


def test_encoder_pickles_and_encodes_the_same() -> None:
    import pickle

    import numpy as np

    import jpegsal

    enc = jpegsal.Encoder("cam", "guided", quality=60)
    image = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    first = enc.encode(image)  # the model is loaded now; the copy must not carry it
    copy = pickle.loads(pickle.dumps(enc))
    assert copy.encode(image) == first
    assert copy.defaults == enc.defaults
