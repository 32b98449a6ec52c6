"""Labelled image folders used by export checks, training and benchmarks (no torch needed).

One reader for the package: :func:`jpegsal.bench.data.read_labels`.
"""

from __future__ import annotations

from ..bench.data import read_labels

__all__ = ["read_labels"]
