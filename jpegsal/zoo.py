"""Saliency stage: the model zoo (registry), the output contract, and orientation handling.

A saliency model maps a PIL image to a float32 ``(H, W)`` array in [0, 1],
aligned to the whole image at full resolution (the *output contract*).
``model=`` accepts a registered name (the shipped ``cam`` and ``msroi``, or
names you register), a path to a custom ``.onnx`` file, a ready instance, or
``None`` (no saliency: plain JPEG).

Where to add a model: ship an ONNX file in ``models/`` with an entry in
``models/manifest.json`` (``python -m jpegsal.train.export`` writes both), or,
for a model of another kind, call :func:`register_model` with a factory.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from PIL import Image

__all__ = [
    "ModelSpec",
    "SaliencyModel",
    "available_models",
    "check_model_spec",
    "check_saliency",
    "compute_saliency",
    "get_model",
    "model_view",
    "models",
    "models_dir",
    "predict_upright",
    "register_model",
    "upright_view",
]


@runtime_checkable
class SaliencyModel(Protocol):
    """Anything that turns an image into a saliency map."""

    name: str

    def __call__(self, image: Image.Image) -> np.ndarray:
        """Return a float32 ``(H, W)`` map in [0, 1] for ``image`` (``H, W`` = its size)."""
        ...


ModelSpec = str | os.PathLike[str] | SaliencyModel | None
Factory = Callable[..., SaliencyModel]  # factory(device=, providers=, threads=)
_REGISTRY: dict[str, Factory] = {}
_SHIPPED: dict[str, dict[str, Any]] = {}
_LOCK = threading.Lock()
_loaded = False


def models_dir() -> Path:
    """The folder holding the shipped ONNX files and ``manifest.json``."""
    try:  # installed wheel: models/ is packaged as jpegsal/_models
        packaged = Path(str(resources.files("jpegsal._models")))
        if (packaged / "manifest.json").is_file():
            return packaged
    except ModuleNotFoundError:
        pass
    checkout = Path(__file__).resolve().parent.parent / "models"
    if (checkout / "manifest.json").is_file():
        return checkout
    raise FileNotFoundError("jpegsal's models folder (manifest.json) is missing; reinstall jpegsal")


def _load_shipped() -> None:
    global _loaded
    with _LOCK:
        if _loaded:
            return
        manifest = json.loads((models_dir() / "manifest.json").read_text())
        entries = manifest.get("models", {})
        for name, entry in entries.items() if isinstance(entries, dict) else []:
            _SHIPPED[name] = entry
            _REGISTRY.setdefault(name, _shipped_factory(name, entry))
        _loaded = True


def _shipped_factory(name: str, entry: dict[str, Any]) -> Factory:
    def factory(
        device: str = "auto", providers: Sequence[str] | None = None, threads: int | None = None
    ) -> SaliencyModel:
        from .onnx_model import OnnxConfig, OnnxSaliencyModel

        norm = entry["normalisation"]
        config = OnnxConfig.from_json(
            {
                "input_size": entry["input_size"],
                "size_multiple": entry["size_multiple"],
                "mean": norm["mean"],
                "std": norm["std"],
                "channels": entry["input"]["channels"],
                "outputs": entry["outputs"],
            },
            source=f"manifest entry {name!r}",
        )
        return OnnxSaliencyModel(
            name,
            models_dir() / entry["file"],
            config,
            sha256=entry["sha256"],
            device=device,
            providers=providers,
            threads=threads,
        )

    return factory


def register_model(name: str, factory: Factory) -> None:
    """Register ``factory(device=, providers=, threads=) -> SaliencyModel`` under ``name``."""
    _load_shipped()
    if name in _REGISTRY:
        raise ValueError(f"a saliency model named {name!r} is already registered")
    _REGISTRY[name] = factory


def available_models() -> list[str]:
    """Names accepted by ``model=``, sorted."""
    _load_shipped()
    return sorted(_REGISTRY)


def models() -> list[dict[str, Any]]:
    """The registered models with their card data (description, file, accuracy, speed)."""
    _load_shipped()
    keys = ("description", "file", "sha256", "input_size", "accuracy", "latency_ms", "licence")
    return [
        {"name": name, **{k: _SHIPPED[name][k] for k in keys if k in _SHIPPED.get(name, {})}}
        if name in _SHIPPED
        else {"name": name, "description": "registered at run time"}
        for name in available_models()
    ]


def _is_path(spec: object) -> bool:
    return isinstance(spec, os.PathLike) or (isinstance(spec, str) and spec.endswith(".onnx"))


def check_model_spec(spec: ModelSpec) -> None:
    """Raise if ``model=`` is not a name, an ``.onnx`` path, a model instance or ``None``.

    Cheap: nothing is loaded, so callers can validate a model they may never run.
    """
    if spec is None or isinstance(spec, SaliencyModel):
        return
    if _is_path(spec):
        if not Path(os.fspath(spec)).is_file():
            raise FileNotFoundError(f"model file not found: {os.fspath(spec)!r}")
        return
    if not isinstance(spec, str):
        raise TypeError(
            f"model must be a name, an .onnx path, a SaliencyModel or None, got {spec!r}"
        )
    if spec not in available_models():
        names = ", ".join(map(repr, available_models())) or "none installed"
        raise ValueError(f"unknown model {spec!r}; available: {names} (or a path to an .onnx file)")


def get_model(
    spec: ModelSpec,
    device: str = "auto",
    *,
    providers: Sequence[str] | None = None,
    threads: int | None = None,
) -> SaliencyModel | None:
    """Resolve ``model=`` (a name, a path, an instance or ``None``) to a model instance."""
    check_model_spec(spec)
    if spec is None or isinstance(spec, SaliencyModel):
        return spec
    if _is_path(spec):
        return _custom_model(Path(os.fspath(spec)), device, providers, threads)
    return _REGISTRY[str(spec)](device=device, providers=providers, threads=threads)


def _custom_model(
    path: Path, device: str, providers: Sequence[str] | None, threads: int | None
) -> SaliencyModel:
    from .onnx_model import OnnxConfig, OnnxSaliencyModel, read_config
    from .session import get_session

    session = get_session(path, device=device, providers=providers, threads=threads)
    data = read_config(path, session.get_modelmeta().custom_metadata_map)
    config = OnnxConfig.from_json(data, source=path.name)
    return OnnxSaliencyModel(
        path.stem, path, config, device=device, providers=providers, threads=threads
    )


def check_saliency(saliency: np.ndarray, size: tuple[int, int], turned: bool = False) -> np.ndarray:
    """Enforce the output contract on a model's result; ``size`` is PIL's (W, H).

    ``turned`` says the model was given the EXIF-upright view, which the error then names:
    a map computed beforehand on the stored pixels does not fit that view.
    """
    expected = (size[1], size[0])
    if saliency.shape != expected:
        hint = (
            "; the model is given the image turned upright by its EXIF orientation, so it must"
            " return the map of the image it is called with"
            if turned
            else ""
        )
        raise ValueError(f"saliency map has shape {saliency.shape}, expected {expected}{hint}")
    sal = np.asarray(saliency, dtype=np.float32)
    # min/max propagate NaN and see inf, so one comparison checks finiteness too.
    lo, hi = float(sal.min()), float(sal.max())
    if not (lo >= 0.0 and hi <= 1.0):
        raise ValueError("saliency map must hold finite values in [0, 1]")
    return sal


# EXIF orientation -> (transpose to the upright view, transpose back to stored order)
_T = Image.Transpose
_ORIENT = {
    2: (_T.FLIP_LEFT_RIGHT, _T.FLIP_LEFT_RIGHT),
    3: (_T.ROTATE_180, _T.ROTATE_180),
    4: (_T.FLIP_TOP_BOTTOM, _T.FLIP_TOP_BOTTOM),
    5: (_T.TRANSPOSE, _T.TRANSPOSE),
    6: (_T.ROTATE_270, _T.ROTATE_90),
    7: (_T.TRANSVERSE, _T.TRANSVERSE),
    8: (_T.ROTATE_90, _T.ROTATE_270),
}


def orientation(exif: bytes | None) -> int:
    """The EXIF orientation tag (1 when absent or unreadable)."""
    if not exif:
        return 1
    try:
        tags = Image.Exif()
        tags.load(exif)
        value = tags.get(0x0112, 1)
    except Exception:  # broken EXIF must not stop encoding; treat as upright
        return 1
    return value if value in _ORIENT else 1


def model_view(image: Image.Image) -> Image.Image:
    """The image as models and methods see it: L and RGB as they are, "1" as L, others RGB."""
    if image.mode in ("L", "RGB"):
        return image
    return image.convert("L" if image.mode == "1" else "RGB")


def upright_view(image: Image.Image, tag: int) -> Image.Image:
    """``image`` turned the way EXIF orientation ``tag`` says a viewer shows it."""
    turn = _ORIENT.get(tag)
    return image if turn is None else image.transpose(turn[0])


def predict_upright(
    model: SaliencyModel, image: Image.Image, exif: bytes | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """(map in stored pixel order, classifier logits or None) from one run of ``model``.

    For models with a ``predict`` method (the ONNX models); one run gives both, so
    ``preserve`` with an active method does not run the network twice.
    """
    turn = _ORIENT.get(orientation(exif))
    upright = image if turn is None else image.transpose(turn[0])
    sal, logits = model.predict(upright)  # type: ignore[attr-defined]
    return _to_stored_order(sal, upright.size, turn), logits


def compute_saliency(model: SaliencyModel, image: Image.Image, exif: bytes | None) -> np.ndarray:
    """Run ``model`` on the upright view of ``image`` and return the map in stored pixel order."""
    turn = _ORIENT.get(orientation(exif))
    upright = image if turn is None else image.transpose(turn[0])
    return _to_stored_order(model(upright), upright.size, turn)


def _to_stored_order(
    sal: np.ndarray, upright_size: tuple[int, int], turn: tuple[_T, _T] | None
) -> np.ndarray:
    """Check the map the model made of the upright view, then undo ``turn`` on it."""
    sal = check_saliency(sal, upright_size, turned=turn is not None)
    if turn is None:
        return sal
    return np.asarray(Image.fromarray(sal, "F").transpose(turn[1]), dtype=np.float32)
