"""The one ONNX session layer: provider choice, fallback detection, and a session cache.

onnxruntime-gpu falls back to the CPU *silently* when the CUDA libraries cannot
be loaded: the session is created, but ``session.get_providers()`` no longer
lists CUDA. This module compares what was asked for with what the session
actually uses. ``device="cuda"`` then raises, and ``device="auto"`` warns once.
Sessions are cached per (model file, providers, threads) and shared between
threads (``InferenceSession.run`` is thread-safe).
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Sequence
from typing import Any

from .._check import DEVICES, check_device, check_optional_int
from .._optional import require

__all__ = ["DEVICES", "clear_cache", "get_session", "resolve_providers", "session_provider"]

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"

_CACHE: dict[tuple[str, tuple[str, ...], int | None], Any] = {}
_LOCK = threading.Lock()
_WARNED: set[str] = set()


def resolve_providers(
    device: str = "auto", providers: Sequence[str] | None = None, *, available: Sequence[str]
) -> list[str]:
    """The execution providers to ask onnxruntime for.

    ``providers`` (explicit) wins over ``device``. ``available`` is
    ``onnxruntime.get_available_providers()``.
    """
    if providers is not None:
        if isinstance(providers, str) or not providers:
            raise ValueError(f"providers must be a non-empty list of names, got {providers!r}")
        missing = [p for p in providers if p not in available]
        if missing:
            raise ValueError(
                f"execution provider(s) {missing} not available in this onnxruntime; "
                f"available: {list(available)}"
            )
        return list(providers)
    check_device(device)
    if device == "cpu":
        return [CPU]
    if device == "cuda" and CUDA not in available:
        raise RuntimeError(
            "device='cuda' but this onnxruntime has no CUDA provider "
            f"(available: {list(available)}); install the 'gpu' extra "
            "(pip install 'jpegsal[gpu]', without onnxruntime) or use device='cpu'"
        )
    return [CUDA, CPU] if CUDA in available else [CPU]


def _threads(threads: int | None) -> int | None:
    if threads is not None:
        return check_optional_int("threads", threads, 1)
    env = os.environ.get("OMP_NUM_THREADS", "")
    return int(env) if env.isdigit() and int(env) > 0 else None


def get_session(
    path: str | os.PathLike[str],
    *,
    device: str = "auto",
    providers: Sequence[str] | None = None,
    threads: int | None = None,
) -> Any:
    """A cached ``onnxruntime.InferenceSession`` for ``path`` on the chosen providers.

    Raises ``RuntimeError`` if ``device="cuda"`` was asked for but the session
    runs on the CPU. With ``device="auto"`` such a fallback warns once per model.
    """
    ort = require("onnxruntime")
    wanted = resolve_providers(device, providers, available=ort.get_available_providers())
    n_threads = _threads(threads)
    key = (os.fspath(path), tuple(wanted), n_threads)
    with _LOCK:
        session = _CACHE.get(key)
        if session is None:
            options = ort.SessionOptions()
            # After a run, onnxruntime's workers spin for a while waiting for more work; the
            # methods and the encoder that follow on the same cores then run at half speed.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            if n_threads is not None:
                options.intra_op_num_threads = n_threads
                options.inter_op_num_threads = 1
            try:
                session = ort.InferenceSession(key[0], options, providers=wanted)
            except Exception as e:  # onnxruntime's own types; say which file and why
                raise ValueError(f"cannot load ONNX model {key[0]!r}: {e}") from e
            _check_fallback(session, wanted, device, providers is not None, key[0])
            _CACHE[key] = session
    return session


def _check_fallback(
    session: Any, wanted: list[str], device: str, explicit: bool, path: str
) -> None:
    used = session.get_providers()
    lost = [p for p in wanted if p != CPU and p not in used]
    if not lost:
        return
    message = (
        f"onnxruntime could not use {lost} for {os.path.basename(path)} and fell back to "
        f"{used}; check that the CUDA and cuDNN libraries onnxruntime-gpu needs are installed"
    )
    if device == "cuda" or explicit:
        raise RuntimeError(message)
    if path not in _WARNED:
        _WARNED.add(path)
        warnings.warn(message, RuntimeWarning, stacklevel=4)


def session_provider(session: Any) -> str:
    """The provider that runs most of the graph (the first one the session uses)."""
    return str(session.get_providers()[0])


def clear_cache() -> None:
    """Drop all cached sessions (frees their memory)."""
    with _LOCK:
        _CACHE.clear()
        _WARNED.clear()
