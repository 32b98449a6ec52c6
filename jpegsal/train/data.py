"""Labelled image folders used by export checks, training and benchmarks (no torch needed)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["read_labels"]


def read_labels(dataset: Path) -> list[tuple[Path, int]]:
    """Images and labels of a dataset folder.

    Two layouts are understood: ``dataset.txt`` with lines ``./data/NAME.JPEG, IDX``
    (images under ``images/``), or files named ``<synset>_<words>.JPEG`` whose
    label is the synset's index in ``synset_words.txt`` (next to the folder or in
    it) in sorted order.
    """
    listing = dataset / "dataset.txt"
    if listing.is_file():
        pairs = []
        for line in listing.read_text().splitlines():
            if line.strip():
                name, idx = line.rsplit(",", 1)
                pairs.append((dataset / "images" / Path(name.strip()).name, int(idx)))
        return pairs
    words = next(
        (
            p
            for p in (
                dataset / "synset_words.txt",
                dataset.parent / "imagenet-val-1300" / "synset_words.txt",
            )
            if p.is_file()
        ),
        None,
    )
    if words is None:
        raise FileNotFoundError(f"{dataset}: no dataset.txt and no synset_words.txt to label it")
    synsets = sorted(line.split()[0] for line in words.read_text().splitlines() if line.strip())
    index = {s: i for i, s in enumerate(synsets)}
    files = sorted(p for p in dataset.iterdir() if p.suffix.lower() in {".jpeg", ".jpg", ".png"})
    return [(p, index[p.name.split("_", 1)[0]]) for p in files if p.name.split("_", 1)[0] in index]
