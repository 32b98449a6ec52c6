"""Provider selection, CUDA fallback detection, threads and the session cache."""

from __future__ import annotations

import warnings
from types import SimpleNamespace
from typing import Any

import pytest

from jpegsal.maps import session
from jpegsal.maps.session import CPU, CUDA, get_session, resolve_providers

GPU_BUILD = [CUDA, CPU]
CPU_BUILD = [CPU]


def test_resolve_providers() -> None:
    assert resolve_providers("cpu", available=GPU_BUILD) == [CPU]
    assert resolve_providers("auto", available=GPU_BUILD) == [CUDA, CPU]
    assert resolve_providers("auto", available=CPU_BUILD) == [CPU]
    assert resolve_providers("cuda", available=GPU_BUILD) == [CUDA, CPU]
    assert resolve_providers("cpu", [CUDA], available=GPU_BUILD) == [CUDA]  # explicit wins


@pytest.mark.parametrize(
    ("device", "providers", "available", "error", "message"),
    [
        ("cuda", None, CPU_BUILD, RuntimeError, "device='cuda' but this onnxruntime has no CUDA"),
        ("tpu", None, CPU_BUILD, ValueError, "device must be one of"),
        ("auto", [CUDA], CPU_BUILD, ValueError, "not available in this onnxruntime"),
        ("auto", "CPUExecutionProvider", CPU_BUILD, ValueError, "must be a non-empty list"),
        ("auto", [], CPU_BUILD, ValueError, "must be a non-empty list"),
    ],
)
def test_resolve_providers_errors(
    device: str, providers: Any, available: list[str], error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        resolve_providers(device, providers, available=available)


class FakeSession:
    """An InferenceSession whose CUDA provider silently failed to load."""

    created = 0

    def __init__(self, path: str, options: Any, providers: list[str]) -> None:
        FakeSession.created += 1
        self.options = options
        self.asked = providers

    def get_providers(self) -> list[str]:
        return [CPU]  # what onnxruntime-gpu reports when CUDA libraries are missing


class _FakeOptions:
    def __init__(self) -> None:
        self.intra_op_num_threads = self.inter_op_num_threads = 0
        self.config: dict[str, str] = {}

    def add_session_config_entry(self, key: str, value: str) -> None:
        self.config[key] = value


@pytest.fixture
def fake_gpu_runtime(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    fake = SimpleNamespace(
        get_available_providers=lambda: GPU_BUILD,
        InferenceSession=FakeSession,
        SessionOptions=_FakeOptions,
    )
    monkeypatch.setattr(session, "require", lambda name: fake)
    session.clear_cache()
    yield fake
    session.clear_cache()


def test_silent_cpu_fallback_raises_for_cuda(fake_gpu_runtime: SimpleNamespace) -> None:
    with pytest.raises(RuntimeError, match=r"could not use \['CUDAExecutionProvider'\]"):
        get_session("m.onnx", device="cuda")
    with pytest.raises(RuntimeError, match="fell back to"):
        get_session("m.onnx", providers=[CUDA, CPU])  # explicit providers are a demand too


def test_silent_cpu_fallback_warns_once_for_auto(fake_gpu_runtime: SimpleNamespace) -> None:
    with pytest.warns(RuntimeWarning, match="fell back to"):
        first = get_session("m.onnx", device="auto")
    assert session.session_provider(first) == CPU  # the provider in use is reported
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        get_session("m.onnx", device="auto", threads=3)  # new session, same model: no repeat


def test_cache_and_threads(
    fake_gpu_runtime: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    FakeSession.created = 0
    a = get_session("m.onnx", device="cpu", threads=2)
    b = get_session("m.onnx", device="cpu", threads=2)
    assert a is b
    assert FakeSession.created == 1
    assert a.options.intra_op_num_threads == 2
    # Workers must not spin after a run: the methods that follow need those cores.
    assert a.options.config == {"session.intra_op.allow_spinning": "0"}
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    c = get_session("m.onnx", device="cpu")
    assert c.options.intra_op_num_threads == 3
    assert c.asked == [CPU]
    with pytest.raises(ValueError, match="threads must be a positive int or None, got 0"):
        get_session("m.onnx", device="cpu", threads=0)


def test_real_cpu_session_reports_its_provider() -> None:
    import jpegsal
    from jpegsal.maps.registry import get_model

    model = get_model("cam", "cpu")
    assert model is not None
    assert getattr(model, "provider", None) == CPU
    assert "provider='CPUExecutionProvider'" in repr(model)
    assert jpegsal.available_models() == [
        "cam",
        "cam-int8",
        "msroi",
        "msroi-int8",
        "nice",
        "nice-int8",
    ]
