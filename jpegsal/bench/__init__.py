"""Bytes against classifier accuracy, for any classifier: ``jpegsal evaluate`` (extra ``bench``).

* :func:`evaluate` / ``jpegsal evaluate DATA --classifier MODEL``: the one-command answer
  to "how many bytes do I save, and what does my classifier lose?";
* :mod:`~jpegsal.bench.data` (image folders and labels), :mod:`~jpegsal.bench.classifiers`
  (ONNX, TFLite, shipped models), :mod:`~jpegsal.bench.codecs` (the contenders),
  :mod:`~jpegsal.bench.sweep` (the rate-accuracy sweep) and :mod:`~jpegsal.bench.bd`
  (bytes ratios at equal accuracy): the machinery ``benchmarks/`` drives too.
"""

from __future__ import annotations

from typing import Any

__all__ = ["EvaluateResult", "evaluate"]


def __getattr__(name: str) -> Any:
    # Lazy: ``import jpegsal.bench.bd`` must not pull in onnxruntime or matplotlib.
    if name in __all__:
        from . import evaluation as module

        return getattr(module, name)
    raise AttributeError(f"module 'jpegsal.bench' has no attribute {name!r}")
