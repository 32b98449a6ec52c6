"""The Ray actors of ``jpegsal encode --engine ray`` (:mod:`jpegsal.distributed`).

:class:`Worker` runs the local CLI's work on each file. ``--network-workers N`` puts the
saliency network in actors of its own (the GPUs) and the rest on CPU actors:

    jpegsal encode photos/ --out-dir small/ --engine ray --model cam --method guided \\
        --device cuda --network-workers 1 --num-gpus-per-worker 1 --concurrency 4,15

Two actor pools in one Ray Data pipeline:

1. **network actors** (``N`` of them, ``--num-gpus-per-worker`` GPUs and one CPU each):
   read a batch of files, decode each as an encode does, run the network once per group
   of equal input shapes, and pass on the *coarse* map and the logits (a few KB as
   ``.npy`` bytes; never the full-resolution map, which is 4 bytes per pixel);
2. **CPU actors** (``--concurrency``, ``--num-cpus-per-worker``): decode again, upsample
   the coarse map as the model itself would, and run the local CLI's work with that
   map (:class:`Handed` stands in for the model), so the bytes are a one-pool run's.

``preserve`` is refused: it runs the classifier on every candidate, so the network is in
the CPU stage's loop and one pool is the right shape.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .batch import run_job
from .report import Job

__all__ = ["Handed", "Worker", "check_split", "manifest_row", "split_rows"]


def check_split(args: argparse.Namespace) -> None:
    """``--network-workers``: refuse a split with nothing to split, or one that would run
    the network on both sides (``preserve``)."""
    if not args.network_workers:
        return
    if args.preserve is not None:
        raise ValueError(
            "--network-workers cannot be used with --preserve: preserve runs the classifier "
            "on every candidate, so the network belongs with the encoder (drop --network-workers)"
        )
    if args.method is None or args.model is None:
        raise ValueError("--network-workers needs --model and --method: otherwise no network runs")


class Worker:
    """One Ray actor: an Encoder built once, then the local CLI's work on each file.

    ``model``: a model instance in place of ``args.model`` (the CPU stage of
    ``--network-workers`` passes the stand-in that holds the network's outputs).
    """

    def __init__(
        self, args: argparse.Namespace, targets: dict[str, str], model: Any = None
    ) -> None:
        from .commands import encode_work, encoder_from_args

        built = args
        if model is not None:
            built = copy.copy(args)
            built.model = model
        threads = max(1, int(args.num_cpus_per_worker))
        self.work = encode_work(encoder_from_args(built, threads=threads), args)
        self.overwrite = bool(args.overwrite)
        self.targets = targets

    def row(self, path: str) -> str:
        """Encode one file as the local CLI does; its manifest row as JSON."""
        job = Job(Path(path), Path(self.targets[path]))
        run_job(self.work, job, self.overwrite, keep_same=True)
        return json.dumps(manifest_row(job))

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[str]]:
        return {"row": [self.row(str(path)) for path in batch["path"]]}


def manifest_row(job: Job) -> dict[str, Any]:
    """The manifest row of a job the worker ran."""
    row: dict[str, Any] = {"input": str(job.src), "output": str(job.dst), "error": job.error}
    if job.error is None:
        row.update(input_bytes=job.bytes_in, output_bytes=job.bytes_out, quality=job.quality)
        row.update(kl=job.kl, met=job.met, path=job.path, note=job.note)
    return row


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


def _unnpy(b: bytes) -> np.ndarray:
    out: np.ndarray = np.load(io.BytesIO(b), allow_pickle=False)
    return out


class _Network:
    """A network actor: files in, (coarse map, logits) as ``.npy`` bytes out."""

    def __init__(self, args: argparse.Namespace) -> None:
        from .commands import encoder_from_args
        from .maps.onnx import OnnxSaliencyModel

        encoder = encoder_from_args(args, threads=1)
        net = encoder.model
        if not isinstance(net, OnnxSaliencyModel):
            raise ValueError(f"--network-workers needs an ONNX model; {args.model!r} is not one")
        self.net = net
        d = encoder.defaults
        self.load = {k: d[k] for k in ("background", "max_pixels", "corrupt") if k in d}

    def _input(self, path: str) -> np.ndarray:
        from .inputs import load_image
        from .maps.compute import model_view
        from .maps.orientation import upright
        from .pipeline import source_tag

        source = load_image(path, **self.load)  # the full decode an encode makes
        return self.net.preprocess(upright(model_view(source.image), source_tag(source)))

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        paths = [str(p) for p in batch["path"]]
        inputs: dict[int, np.ndarray] = {}
        errors = [""] * len(paths)
        for i, path in enumerate(paths):
            try:
                inputs[i] = self._input(path)
            except Exception as e:  # the CPU stage's own decode reports it as locally
                errors[i] = f"{type(e).__name__}: {e}"
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, x in inputs.items():
            groups.setdefault(x.shape, []).append(i)
        coarse, logits = [b""] * len(paths), [b""] * len(paths)
        for idx in groups.values():  # one run per input shape: a GPU wants batches
            maps, outs = self.net.run(np.concatenate([inputs[i] for i in idx]))
            for j, i in enumerate(idx):
                coarse[i] = _npy(maps[j])
                logits[i] = b"" if outs is None else _npy(outs[j])
        return {"path": paths, "coarse": coarse, "logits": logits, "error": errors}


class Handed:
    """A model whose network ran elsewhere: the outputs handed over for the next image.

    ``predict`` upsamples the coarse map exactly as :class:`OnnxSaliencyModel` does, so
    an encode with it gives the bytes of an encode with the model itself.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.outputs: tuple[np.ndarray, np.ndarray | None] | None = None
        self.error = ""

    def predict(self, image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
        from .maps.onnx import upsample

        coarse, logits = self.predict_coarse(image)
        return upsample(coarse, image.size), logits

    def predict_coarse(self, image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
        if self.outputs is None:
            raise RuntimeError(f"the network stage failed on this file: {self.error}")
        return self.outputs

    def __call__(self, image: Image.Image) -> np.ndarray:
        return self.predict(image)[0]


class _Rest(Worker):
    """A CPU actor: the local CLI's work on each file, with the network's outputs handed in."""

    def __init__(self, args: argparse.Namespace, targets: dict[str, str]) -> None:
        self.handed = Handed(str(args.model))
        super().__init__(args, targets, model=self.handed)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[str]]:
        rows = []
        for path, coarse, logits, error in zip(
            batch["path"], batch["coarse"], batch["logits"], batch["error"], strict=True
        ):
            self.handed.error = str(error)
            self.handed.outputs = None
            if not error:
                self.handed.outputs = (_unnpy(coarse), _unnpy(logits) if logits else None)
            rows.append(self.row(str(path)))
        return {"row": rows}


def split_rows(
    ray: Any, args: argparse.Namespace, items: Any, targets: dict[str, str]
) -> Iterator[str]:
    """The two-pool pipeline over ``items`` (a dataset of paths): manifest rows as JSON."""
    cpus = float(ray.cluster_resources().get("CPU", 1))
    left = max(1.0, cpus - args.network_workers)  # each network actor holds one CPU
    lo, hi = args.concurrency or (1, max(1, int(left // max(args.num_cpus_per_worker, 1e-9))))
    maps = items.map_batches(
        _Network,
        fn_constructor_kwargs={"args": args},
        batch_size=16,
        batch_format="numpy",
        num_cpus=1,
        num_gpus=args.num_gpus_per_worker or None,
        compute=ray.data.ActorPoolStrategy(size=args.network_workers),
    )
    ds = maps.map_batches(
        _Rest,
        fn_constructor_kwargs={"args": args, "targets": targets},
        batch_size=4,
        batch_format="numpy",
        num_cpus=args.num_cpus_per_worker,
        compute=ray.data.ActorPoolStrategy(min_size=lo, max_size=hi),
    )
    for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
        yield from (str(line) for line in batch["row"])
