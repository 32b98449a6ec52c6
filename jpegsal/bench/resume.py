"""Resuming an evaluation by contender: one finished contender's scores per JSON file.

A file is used only when its fingerprint (the images with their sizes and times, the
labels, the classifier file, the settings, jpegsal's version) matches the run's; a stale
one is recomputed and replaced, never mixed in. Files are written whole (temporary file,
then rename), so a stopped run leaves only finished contenders behind.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from .classifiers import Classifier
from .codecs import Codec
from .sweep import Sweep, run_sweep

__all__ = ["fingerprint", "run_cached", "slug"]

# The cache file's layout: files of another layout are stale (measured again). 2: the
# scores of each image, not only their sums (confidence intervals resample the images).
_FORMAT = 2


def slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_.@" else "_" for ch in name)


def fingerprint(items: Sequence[Any], clf: Classifier, settings: dict[str, Any]) -> str:
    """What a cached contender was measured on: a changed image, label, classifier or
    setting makes the cache stale (recomputed, never mixed)."""
    h = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    h.update(f"{__version__}|{clf.name}|{getattr(clf, 'path', '')}".encode())
    setup = [getattr(clf, a, None) for a in ("size", "fixed", "offset", "output", "mean", "std")]
    h.update(repr(setup).encode())
    h.update(_stamp(getattr(clf, "path", None)).encode())
    for path, label in items:
        h.update(f"{path}|{label}|{_stamp(path)}".encode())
    return h.hexdigest()[:16]


def _stamp(path: Any) -> str:
    """Size and modification time of a file ("missing" if there is none)."""
    try:
        st = os.stat(path)
    except (OSError, TypeError):  # TypeError: no path (a classifier object without a file)
        return "missing"
    return f"{st.st_size}|{st.st_mtime_ns}"


def run_cached(
    name: str,
    contender: tuple[Codec, tuple[Any, ...]],
    ctx: dict[str, Any],
    cache: Path,
) -> Sweep:
    """One contender's sweep: from its cache file when the fingerprint matches."""
    key = f"{ctx['fingerprint']}|{name}|{contender[1]}|{_FORMAT}"
    if cache.is_file():
        try:
            saved = json.loads(cache.read_text())
        except json.JSONDecodeError:  # not ours, or damaged: measured again
            saved = {}
        if saved.get("fingerprint") == key:
            return _sweep_from(saved)
    progress = ctx["progress"](name) if ctx["progress"] else None
    swept = run_sweep(
        ctx["items"],
        {"judge": ctx["clf"]},
        ctx["scored"],
        {name: contender},
        side=ctx["side"],
        progress=progress,
    )
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_text(json.dumps({"fingerprint": key, **_sweep_to(swept)}))
    os.replace(tmp, cache)  # a stopped run never leaves half a cache file
    return swept


def _sweep_to(s: Sweep) -> dict[str, Any]:
    def rows(arrays: list[np.ndarray]) -> list[Any]:
        return [a.tolist() for a in arrays]

    return {
        "points": s.points,
        "bytes_each": {c: rows(v) for c, v in s.bytes_each.items()},
        "scores_each": {
            f"{e}|{p}": {c: rows(v) for c, v in d.items()} for (e, p), d in s.scores_each.items()
        },
        "encode_s": s.encode_s,
        "n": s.n,
        "labelled": s.labelled,
        "pixels": s.pixels,
        "unreadable": s.unreadable,
        "seconds": s.seconds,
    }


def _sweep_from(d: dict[str, Any]) -> Sweep:
    def arrays(rows: list[Any]) -> list[np.ndarray]:
        return [np.asarray(r, np.float64) for r in rows]

    scores: dict[tuple[str, str], dict[str, list[np.ndarray]]] = {}
    for k, per in d["scores_each"].items():
        judge, _, protocol = k.partition("|")
        scores[judge, protocol] = {c: arrays(v) for c, v in per.items()}
    return Sweep(
        d["points"],
        {c: arrays(v) for c, v in d["bytes_each"].items()},
        scores,
        d["encode_s"],
        d["n"],
        d["labelled"],
        d["pixels"],
        d["unreadable"],
        d["seconds"],
    )
