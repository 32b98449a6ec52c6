"""The images of an evaluation and their labels: every layout ``jpegsal evaluate`` reads.

* a labels file (``--labels``): CSV or TSV rows ``path,label``, paths relative to the
  file (a header row ``path,label`` is skipped);
* ``dataset.txt`` in the folder: rows ``./data/NAME.JPEG, IDX`` with the images under
  ``images/`` (the layout of ``imagenet-val-1300``);
* ImageFolder: one subfolder per class, its name the label;
* files named ``<synset>_<words>.JPEG`` with a ``synset_words.txt`` beside them;
* none of these: unlabelled (every image, label ``None``).

A label is a class index, or a class name when the classifier's names are given
(``class_names``); :func:`resolve_labels` turns names into indices and names the row of a
label the classifier does not have.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

__all__ = ["IMAGE_SUFFIXES", "Item", "list_items", "read_labels", "resolve_labels", "split_of"]

T = TypeVar("T")

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm"}


@dataclass(frozen=True)
class Item:
    """One image of an evaluation: its path, its label (index or name, or None) and where
    the label came from (``file:row`` for a labels file), for error messages."""

    path: Path
    label: int | str | None
    where: str = ""


def read_labels(dataset: Path) -> list[tuple[Path, int]]:
    """Images and integer labels of a ``dataset.txt`` folder or a synset-named folder.

    ``dataset.txt`` has lines ``./data/NAME.JPEG, IDX`` (images under ``images/``); files
    named ``<synset>_<words>.JPEG`` are labelled by the synset's index in
    ``synset_words.txt`` (in the folder or in ``../imagenet-val-1300``), sorted order.
    """
    listing = dataset / "dataset.txt"
    if listing.is_file():
        pairs = []
        for line in listing.read_text().splitlines():
            if line.strip():
                name, idx = line.rsplit(",", 1)
                pairs.append((dataset / "images" / Path(name.strip()).name, int(idx)))
        return pairs
    words = _synset_words(dataset)
    if words is None:
        raise FileNotFoundError(f"{dataset}: no dataset.txt and no synset_words.txt to label it")
    synsets = sorted(line.split()[0] for line in words.read_text().splitlines() if line.strip())
    index = {s: i for i, s in enumerate(synsets)}
    files = sorted(p for p in dataset.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    return [(p, index[p.name.split("_", 1)[0]]) for p in files if p.name.split("_", 1)[0] in index]


def split_of(pairs: Sequence[T], split: str) -> list[T]:
    """``pairs`` of one split: ``"tune"`` every 5th in order (index % 5 == 0, the images
    jpegsal's recipes tune on), ``"report"`` the rest, ``"all"`` all of them.

    >>> split_of(range(7), "tune"), split_of(range(7), "report")
    ([0, 5], [1, 2, 3, 4, 6])
    """
    if split == "all":
        return list(pairs)
    if split not in ("tune", "report"):
        raise ValueError(f"split must be 'all', 'tune' or 'report', got {split!r}")
    return [p for i, p in enumerate(pairs) if (i % 5 == 0) == (split == "tune")]


def _synset_words(dataset: Path) -> Path | None:
    beside = dataset.parent / "imagenet-val-1300" / "synset_words.txt"
    return next((p for p in (dataset / "synset_words.txt", beside) if p.is_file()), None)


def _labels_file(path: Path) -> list[Item]:
    text = path.read_text()
    dialect = "excel-tab" if text and "\t" in text.splitlines()[0] else "excel"
    items = []
    for n, row in enumerate(csv.reader(text.splitlines(), dialect=dialect), start=1):
        if not row or not "".join(row).strip() or row[0].startswith("#"):
            continue
        if n == 1 and [c.strip().lower() for c in row[:2]] == ["path", "label"]:
            continue  # a header
        if len(row) != 2:
            raise ValueError(f"{path}:{n}: expected 'path,label', got {row!r}")
        name, label = row[0].strip(), row[1].strip()
        value: int | str = int(label) if label.lstrip("-").isdigit() else label
        items.append(Item(path.parent / name, value, f"{path.name}:{n}"))
    if not items:
        raise ValueError(f"{path}: no 'path,label' rows")
    return items


def list_items(data: Path, labels: Path | None = None) -> list[Item]:
    """Every image of ``data`` with its label, in a fixed (sorted) order; see the module."""
    if labels is not None:
        if not labels.is_file():
            raise FileNotFoundError(f"--labels {str(labels)!r}: no such file")
        return _labels_file(labels)
    if not data.is_dir():
        raise NotADirectoryError(f"{str(data)!r} is not a folder of images")
    named = read_labels(data) if _synset_words(data) or (data / "dataset.txt").is_file() else []
    if named:
        return [Item(p, k, p.name) for p, k in named]
    subdirs = sorted(p for p in data.iterdir() if p.is_dir())
    if subdirs:  # ImageFolder: the class is the folder
        return [
            Item(p, _class_of(d.name), f"{d.name}/{p.name}")
            for d in subdirs
            for p in sorted(d.rglob("*"))
            if p.suffix.lower() in IMAGE_SUFFIXES
        ]
    files = sorted(p for p in data.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    return [Item(p, None, p.name) for p in files]


def _class_of(name: str) -> int | str:
    return int(name) if name.isdigit() else name


def resolve_labels(
    items: Sequence[Item], classes: int, class_names: Sequence[str] | None, offset: int = 0
) -> list[int | None]:
    """Each item's output index (label + ``offset``), or None when unlabelled.

    Raises ``ValueError`` naming the first row whose label the classifier does not have.
    """
    index = {n: i for i, n in enumerate(class_names or ())}
    out: list[int | None] = []
    for item in items:
        label = item.label
        if label is None:
            out.append(None)
            continue
        if isinstance(label, str):
            if label not in index:
                hint = "pass --class-names FILE" if not index else "not among --class-names"
                raise ValueError(f"{item.where}: label {label!r} is not a class index ({hint})")
            label = index[label]
        k = label + offset
        if not 0 <= k < classes:
            raise ValueError(
                f"{item.where}: label {item.label!r} is outside the classifier's {classes} "
                f"classes" + (f" (with --label-offset {offset})" if offset else "")
            )
        out.append(k)
    return out
