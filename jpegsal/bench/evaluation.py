"""``jpegsal.evaluate``: bytes at equal accuracy for *your* classifier on *your* images.

    result = jpegsal.evaluate("photos/", "my_model.onnx", labels="labels.csv",
                              contenders=["preset=machine", "cam+guided", "mozjpeg"])
    print(result.table())

Pillow's quality sweep is the reference; every contender's curve of bytes against
accuracy is compared with it as ``benchmarks/rate_accuracy.py`` compares them (the same
code: :mod:`jpegsal.bench.sweep`, :mod:`jpegsal.bench.bd`). Results go to ``out``:
``result.json`` (curves, ratios, timings), ``table.md`` and ``rate_accuracy.png``, and
one file per finished contender under ``contenders/``, so a stopped run resumes with
the next contender.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .classifiers import Classifier, load_classifier
from .codecs import Codec, parse_codec
from .data import list_items, resolve_labels
from .resume import fingerprint, run_cached, slug
from .stats import interval, resampled_ratios
from .sweep import TAIL, Sweep, curves, ratios

__all__ = ["QUALITIES", "EvaluateResult", "default_contenders", "evaluate"]

QUALITIES = (10, 15, 20, 30, 40, 50, 60, 70, 80, 90)
BUDGETS = (0.03, 0.1, 0.3, 1.0)  # KL budgets in nats for the budgeted (+preserve) contenders


def default_contenders() -> list[str]:
    """``preset=machine:file`` (what ``jpegsal encode`` writes for each file), ``cam+guided``
    and the peers that are installed."""
    peers = [p for p, m in (("mozjpeg", "jpeglib"), ("jpegli", "pyjpegli")) if _has(m)]
    return ["preset=machine:file", "cam+guided", *peers]


def _cell(ratio: float | None) -> str:
    """A ratio, or "-" where the two curves share no accuracy range."""
    return "-" if ratio is None else f"{ratio}"


def _interval(ci: list[float] | None) -> str:
    """A ratio's 95 % interval over resampled images, as a cell suffix."""
    return "" if ci is None else f" [{ci[0]}, {ci[1]}]"


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


@dataclass(frozen=True)
class EvaluateResult:
    """What :func:`evaluate` measured; ``result`` is the whole JSON written to ``out``."""

    result: dict[str, Any]
    out: Path
    unreadable: list[str] = field(default_factory=list)
    plot: Path | None = None  # None: matplotlib (extra "bench") is not installed

    @property
    def summary(self) -> dict[str, Any]:
        """summary[protocol score][contender] = {ratio_overlap, ratio_pillow_q20_q90, ...}."""
        s: dict[str, Any] = self.result["summary"]
        return s

    def table(self) -> str:
        """Markdown: per contender, bytes ratio vs Pillow at equal accuracy (overlap /
        Pillow's q20-q90 range [its 95 % interval over resampled images]; "-": the curves
        share no accuracy range there), and encode time per image."""
        keys = list(self.summary)
        lines = ["| contender | " + " | ".join(keys) + " | ms per image and point |"]
        lines.append("|---|" + "---|" * (len(keys) + 1))
        for c, ms in self.result["ms_per_encode"].items():
            if c == "pillow":
                cells = ["1 (reference)"] * len(keys)
            else:
                cells = [
                    f"{_cell(self.summary[k][c]['ratio_overlap'])} / "
                    f"{_cell(self.summary[k][c]['ratio_pillow_q20_q90'])}"
                    + _interval(self.summary[k][c].get("ci95_pillow_q20_q90"))
                    for k in keys
                ]
            lines.append(f"| {c} | " + " | ".join(cells) + f" | {ms} |")
        return "\n".join(lines)


def _points(codec: Codec, qualities: Sequence[int], budgets: Sequence[float]) -> tuple[Any, ...]:
    return tuple(budgets) if codec.budgeted else tuple(qualities)


def _contenders(
    specs: Sequence[str], qualities: Sequence[int], budgets: Sequence[float]
) -> dict[str, tuple[Codec, tuple[Any, ...]]]:
    """Pillow first (the reference), then each spec once; a bad spec fails before any work."""
    out: dict[str, tuple[Codec, tuple[Any, ...]]] = {}
    for spec in dict.fromkeys(["pillow", *specs]):
        codec = parse_codec(spec)
        out[spec] = (codec, _points(codec, qualities, budgets))
    return out


def _merge(parts: list[Sweep]) -> Sweep:
    first = parts[0]
    merged = Sweep(
        {}, {}, {k: {} for k in first.scores_each}, {}, first.n, first.labelled, first.pixels
    )
    merged.unreadable = first.unreadable
    for part in parts:
        merged.points |= part.points
        merged.bytes_each |= part.bytes_each
        merged.encode_s |= part.encode_s
        merged.seconds += part.seconds
        for k, per in part.scores_each.items():
            merged.scores_each[k] |= per
    return merged


def evaluate(
    data: str | os.PathLike[str],
    classifier: str | os.PathLike[str] | Classifier,
    *,
    labels: str | os.PathLike[str] | None = None,
    class_names: str | os.PathLike[str] | None = None,
    label_offset: int = 0,
    contenders: Sequence[str] | None = None,
    qualities: Sequence[int] = QUALITIES,
    budgets: Sequence[float] = BUDGETS,
    limit: int | None = None,
    crop: bool = False,
    side: int | None = None,
    out: str | os.PathLike[str] = "jpegsal-evaluate",
    progress: bool = True,
    **classifier_options: Any,
) -> EvaluateResult:
    """Measure bytes against ``classifier``'s accuracy on the images of ``data``.

    ``data``: a folder (labels from ``labels``, ``dataset.txt``, class subfolders, or
    none: then agreement with the classifier's decision on the original, and KL, are
    the measures; see :mod:`jpegsal.bench.data`). ``classifier``: an ``.onnx`` or
    ``.tflite`` file or a shipped model name (:func:`~jpegsal.bench.classifiers.load_classifier`;
    ``classifier_options``: ``mean``, ``std``, ``input_size``, ``output``).
    ``contenders``: specs of :func:`~jpegsal.bench.codecs.parse_codec` (default
    :func:`default_contenders`); Pillow's sweep over ``qualities`` is always the
    reference. ``crop``: also score the centre-crop protocol. ``side``: first downsize
    each image to about side² pixels. ``limit``: the first N images.
    """
    _check_options(classifier_options)
    items = list_items(Path(data), None if labels is None else Path(labels))[:limit]
    if not items:
        raise ValueError(f"{os.fspath(data)!r}: no images found")
    if isinstance(classifier, Classifier):
        clf = classifier
    else:
        clf = load_classifier(classifier, label_offset=label_offset, **classifier_options)
    names = None
    if class_names is not None:
        names = [x.strip() for x in Path(class_names).read_text().splitlines() if x.strip()]
    indices = resolve_labels(items, clf.classes, names)
    pairs = [(item.path, k) for item, k in zip(items, indices, strict=True)]
    specs = default_contenders() if contenders is None else list(contenders)
    table = _contenders(specs, qualities, budgets)
    scored = [("judge", "whole")] + ([("judge", "crop")] if crop else [])
    settings = {"qualities": list(qualities), "budgets": list(budgets), "crop": crop, "side": side}
    ctx: dict[str, Any] = {"items": pairs, "clf": clf, "scored": scored, "side": side}
    ctx["fingerprint"] = fingerprint(pairs, clf, settings)
    ctx["progress"] = _bar if progress else None
    folder = Path(out)
    parts = [
        run_cached(name, c, ctx, folder / "contenders" / f"{slug(name)}.json")
        for name, c in table.items()
    ]
    swept = _merge(parts)
    if swept.n == 0:
        raise ValueError(
            f"{os.fspath(data)!r}: no image could be read:\n" + "\n".join(swept.unreadable)
        )
    return _write(folder, _result(Path(data), clf, table, swept, settings), swept.unreadable)


def _check_options(options: dict[str, Any]) -> None:
    unknown = set(options) - {"mean", "std", "input_size", "output", "threads"}
    if unknown:
        raise TypeError(
            f"evaluate() got unknown option(s) {sorted(unknown)}; the classifier's are "
            "mean, std, input_size, output, threads"
        )


def _bar(name: str) -> Any:
    from tqdm import tqdm

    return lambda it: tqdm(it, desc=name, unit="img")


def _result(
    data: Path,
    clf: Classifier,
    table: dict[str, tuple[Codec, tuple[Any, ...]]],
    swept: Sweep,
    settings: dict[str, Any],
) -> dict[str, Any]:
    labelled = swept.labelled == swept.n
    judged = curves(swept, table, ["judge"])["judge"]
    summary = {}
    for protocol in [p for _, p in swept.scores_each]:
        for key in ("top1", "agree1") if labelled else ("agree1", "kl"):
            name = f"{key}{TAIL[protocol]}"
            summary[name] = ratios(judged, list(table), name)
            if swept.n > 1:
                qualities = table["pillow"][1]
                for worst in (False, True):
                    draws = resampled_ratios(
                        swept, "judge", protocol, key, list(table), qualities, worst=worst
                    )
                    field = "ci95_worst_pillow_q20_q90" if worst else "ci95_pillow_q20_q90"
                    for c, values in draws.items():
                        summary[name][c][field] = interval(values)
    ms = {
        c: round(1000 * swept.encode_s[c] / max(swept.n * len(points), 1), 2)
        for c, (_, points) in table.items()
    }
    return {
        "benchmark": "rate_accuracy",
        "command": "evaluate",
        "dataset": data.name,
        "images": swept.n,
        "labelled": labelled,
        "classifier": {
            "name": clf.name,
            "path": str(getattr(clf, "path", "")),
            "classes": clf.classes,
        },
        **settings,
        "codecs": {c: codec.version for c, (codec, _) in table.items()},
        "curves": {clf.name: judged},
        "summary": summary,
        "ms_per_encode": ms,
        "seconds": round(swept.seconds, 1),
        "unreadable": swept.unreadable,
    }


def _write(folder: Path, result: dict[str, Any], unreadable: list[str]) -> EvaluateResult:
    folder.mkdir(parents=True, exist_ok=True)
    plot = None
    if _has("matplotlib"):
        from .plots import rate_accuracy

        plot = rate_accuracy(result, folder / "rate_accuracy.png")
    done = EvaluateResult(result, folder, unreadable, plot)
    (folder / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    (folder / "table.md").write_text(done.table() + "\n")
    return done
