"""The CUDA path on a real GPU: skipped unless onnxruntime-gpu can run a session on CUDA.

CI has no GPU, so these run where one is lent (see docs/benchmarks.md for the device run).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_decodes
from PIL import Image

import jpegsal
from jpegsal.maps.registry import get_model, models_dir
from jpegsal.maps.session import CUDA, get_session, session_provider

ort = pytest.importorskip("onnxruntime")


def _cuda_works() -> bool:
    if CUDA not in ort.get_available_providers():
        return False
    model = sorted(models_dir().glob("*.onnx"))[0]
    try:
        return session_provider(get_session(str(model), device="cuda")) == CUDA
    except RuntimeError:  # the provider is built in but its CUDA libraries did not load
        return False


pytestmark = pytest.mark.skipif(not _cuda_works(), reason="no usable CUDA execution provider")


@pytest.mark.parametrize("model", ["cam", "msroi", "nice"])
def test_cuda_map_matches_cpu(rgb: Image.Image, model: str) -> None:
    on_gpu = jpegsal.saliency(rgb, model, device="cuda")
    on_cpu = jpegsal.saliency(rgb, model, device="cpu")
    assert on_gpu.shape == on_cpu.shape
    assert on_gpu.dtype == np.float32
    # cuDNN may pick TF32 convolutions: close, not bit-identical.
    assert np.abs(on_gpu - on_cpu).max() < 0.05
    assert np.corrcoef(on_gpu.ravel(), on_cpu.ravel())[0, 1] > 0.999


def test_cuda_model_runs_on_cuda() -> None:
    net = get_model("cam", "cuda")
    assert net is not None
    assert session_provider(net.session) == CUDA  # no silent CPU fallback


@pytest.mark.parametrize("method", ["guided", "downsample", "mix", "blocks"])
def test_cuda_encode_decodes(rgb: Image.Image, method: str) -> None:
    data = jpegsal.encode(rgb, model="cam", method=method, device="cuda", quality=75)
    assert_decodes(data, rgb.size)
