"""Output bytes are pinned on a fixed grid of models x methods x options (tests/golden.py)."""

from __future__ import annotations

import json

import golden
import pytest

RECORDED = json.loads(golden.GOLDEN.read_text())


def _versions_match() -> bool:
    import cv2
    import numpy
    import onnxruntime
    import PIL

    now = {
        "pillow": PIL.__version__,
        "numpy": numpy.__version__,
        "opencv": cv2.__version__,
        "onnxruntime": onnxruntime.__version__,
    }
    return all(RECORDED["versions"].get(k) == v for k, v in now.items())


@pytest.mark.skipif(
    not _versions_match(),
    reason="golden bytes were recorded with other versions of Pillow/numpy/OpenCV/onnxruntime "
    f"({RECORDED['versions']}); regenerate with python tests/golden.py",
)
def test_grid_bytes_unchanged() -> None:
    images = golden.images()
    changed = []
    for key, model, method, name, options in golden.cases():
        got = golden.run_case(model, method, images[name], options)
        if got != RECORDED["cases"].get(key):
            changed.append(f"{key}: {RECORDED['cases'].get(key)} -> {got}")
    assert not changed, "output bytes changed:\n" + "\n".join(changed)


def test_grid_covers_every_model_and_method() -> None:
    import jpegsal

    keys = list(RECORDED["cases"])
    # The int8 variants are left out: onnxruntime's int8 kernels differ by CPU (VNNI or
    # not), so their bytes are not the same on every machine; tests/test_int8.py checks them.
    cards = jpegsal.models()
    for model in [m["name"] for m in cards if "variant_of" not in m]:
        for method in jpegsal.available_methods():
            assert any(k.startswith(f"{model}+{method}/") for k in keys), (model, method)
