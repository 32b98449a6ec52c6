"""The model registry (zoo): names -> saliency models, the shipped ones read from the manifest.

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
from typing import Any

from .contract import SaliencyModel

__all__ = [
    "ModelSpec",
    "available_models",
    "check_model_spec",
    "get_model",
    "models",
    "models_dir",
    "register_model",
    "shipped_entries",
]

ModelSpec = str | os.PathLike[str] | SaliencyModel | None
Factory = Callable[..., SaliencyModel]  # factory(device=, providers=, threads=)
_REGISTRY: dict[str, Factory] = {}
_SHIPPED: dict[str, dict[str, Any]] = {}
_SHIPPED_FACTORIES: dict[str, Factory] = {}
_INSTANCES: dict[tuple[Any, ...], SaliencyModel] = {}
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
            _SHIPPED_FACTORIES[name] = _shipped_factory(name, entry)
            _REGISTRY.setdefault(name, _SHIPPED_FACTORIES[name])
        _loaded = True


def _shipped_factory(name: str, entry: dict[str, Any]) -> Factory:
    def factory(
        device: str = "auto", providers: Sequence[str] | None = None, threads: int | None = None
    ) -> SaliencyModel:
        from .onnx import OnnxConfig, OnnxSaliencyModel

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


def shipped_entries() -> dict[str, dict[str, Any]]:
    """The shipped models' whole ``manifest.json`` entries, by name (read once)."""
    _load_shipped()
    return dict(_SHIPPED)


def models() -> list[dict[str, Any]]:
    """The registered models with their card data (description, file, accuracy, speed)."""
    _load_shipped()
    keys = (
        "description",
        "file",
        "sha256",
        "input_size",
        "accuracy",
        "latency_ms",
        "licence",
        "variant_of",
    )
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
    """Resolve ``model=`` (a name, a path, an instance or ``None``) to a model instance.

    Shipped and ``.onnx`` models are built once per (model, device, providers, threads)
    and shared: they are stateless, and building one checks its file's hash and its
    signature, which a one-shot :func:`jpegsal.encode` should not pay on every call.
    Models of :func:`register_model` factories are built on every call, as registered.
    """
    check_model_spec(spec)
    if spec is None or isinstance(spec, SaliencyModel):
        return spec
    wanted = (tuple(providers) if providers is not None else None, threads)
    if _is_path(spec):
        path = Path(os.fspath(spec)).resolve()
        key: tuple[Any, ...] = ("path", str(path), path.stat().st_mtime_ns, device, *wanted)
        return _cached(key, lambda: _custom_model(path, device, providers, threads))
    factory = _REGISTRY[str(spec)]

    def build() -> SaliencyModel:
        return factory(device=device, providers=providers, threads=threads)

    if factory is not _SHIPPED_FACTORIES.get(str(spec)):
        return build()  # a registered factory: built on every call, as registered
    return _cached(("name", str(spec), device, *wanted), build)


def _cached(key: tuple[Any, ...], build: Callable[[], SaliencyModel]) -> SaliencyModel:
    with _LOCK:
        model = _INSTANCES.get(key)
    if model is None:
        model = build()  # outside the lock: loading a model takes a while
        with _LOCK:
            model = _INSTANCES.setdefault(key, model)
    return model


def _custom_model(
    path: Path, device: str, providers: Sequence[str] | None, threads: int | None
) -> SaliencyModel:
    from .onnx import OnnxConfig, OnnxSaliencyModel, read_config
    from .session import get_session

    session = get_session(path, device=device, providers=providers, threads=threads)
    data = read_config(path, session.get_modelmeta().custom_metadata_map)
    config = OnnxConfig.from_json(data, source=path.name)
    return OnnxSaliencyModel(
        path.stem, path, config, device=device, providers=providers, threads=threads
    )
