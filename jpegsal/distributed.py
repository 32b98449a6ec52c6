"""Bulk encoding on Ray Data: one folder (or glob, or list of paths) to another, resumable.

    jpegsal encode photos/ --out-dir small/ --engine ray [--address ADDR] \\
        [--num-cpus-per-worker N] [--num-gpus-per-worker G] [--concurrency MIN,MAX]

The inputs are planned as the local CLI plans them (:func:`jpegsal.batch.plan_jobs`,
folders recursively) and encoded by a pool of long-lived actors (``map_batches`` with a
class), each holding one :class:`Encoder` built once in the actor, with onnxruntime's
threads set to the actor's CPUs (:mod:`jpegsal.distributed_actors`). Only paths and JSON
rows travel between stages; each actor reads its own files. Each actor runs exactly the
work of a local ``jpegsal encode`` (:func:`jpegsal.commands.encode_work`), so the bytes
are the same, and writes its outputs atomically, never over an existing file unless ``--overwrite``.

Every input gets one row in ``<out-dir>/jpegsal-manifest.jsonl``, written by the driver
as results stream in: the input, output, sizes, quality, KL, the path taken and the
error of a failed file. Running the same command again skips the inputs whose output
and row both exist, so a killed job loses at most the files in flight; an output that a
killed run wrote without its row is recognised by its bytes (the same encode gives the
same bytes) and kept.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .batch import plan_jobs
from .distributed_actors import Worker, check_split, split_rows
from .report import Job

__all__ = [
    "MANIFEST",
    "DatasetResult",
    "add_ray_options",
    "check_engine",
    "encode_dataset",
    "ray_encode",
]

MANIFEST = "jpegsal-manifest.jsonl"


def check_engine(args: argparse.Namespace) -> None:
    """The Ray flags need ``--engine ray``: a usage error instead of silently ignoring them."""
    ray_only = {
        "--address": args.address is not None,
        "--num-cpus-per-worker": args.num_cpus_per_worker != 1.0,
        "--num-gpus-per-worker": args.num_gpus_per_worker != 0.0,
        "--concurrency": args.concurrency is not None,
        "--network-workers": args.network_workers != 0,
    }
    for flag, given in ray_only.items():
        if given and args.engine != "ray":
            raise ValueError(f"{flag} needs --engine ray")


def add_ray_options(p: argparse.ArgumentParser) -> None:
    """The ``--engine ray`` flags of ``jpegsal encode``."""
    p.add_argument("--engine", choices=("local", "ray"), default="local", help="local or ray")
    p.add_argument("--address", help="Ray cluster address (default: start a local runtime)")
    p.add_argument("--num-cpus-per-worker", type=float, default=1.0, metavar="N")
    p.add_argument("--num-gpus-per-worker", type=float, default=0.0, metavar="G")
    p.add_argument("--concurrency", type=_concurrency, metavar="MIN,MAX", help="actor pool size")
    p.add_argument(
        "--network-workers",
        type=_count,
        default=0,
        metavar="N",
        help="run the network in N actors of its own (the GPUs), the rest on CPU actors",
    )


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"invalid --network-workers {text!r}: use 0 or more")
    return int(text)


def _concurrency(text: str) -> tuple[int, int]:
    lo, _, hi = text.partition(",")
    try:
        pair = (int(lo), int(hi or lo))
    except ValueError:
        pair = (0, 0)
    if not 1 <= pair[0] <= pair[1]:
        raise argparse.ArgumentTypeError(f"invalid --concurrency {text!r}: use MIN,MAX, 1 <= MIN")
    return pair


def _done(manifest: Path) -> set[str]:
    """Inputs whose row says written and whose output is still there."""
    done: set[str] = set()
    if manifest.exists():
        for line in manifest.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:  # a line cut by a kill: that file is redone
                continue
            if row.get("error") is None and os.path.exists(row.get("output", "")):
                done.add(row["input"])
    return done


def _plan(args: argparse.Namespace, manifest: Path) -> tuple[list[Job], list[Job], int]:
    """(jobs to run, jobs already failed by planning, skipped count)."""
    jobs = plan_jobs(args.inputs, None, args.out_dir, recursive=True)
    done = _done(manifest)
    todo = [j for j in jobs if j.error is None and str(j.src.resolve()) not in done]
    failed = [j for j in jobs if j.error is not None]
    return todo, failed, len(jobs) - len(todo) - len(failed)


def _start_ray(args: argparse.Namespace) -> Any:
    import ray

    if not ray.is_initialized():
        ray.init(
            address=args.address,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.ERROR,
        )
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False  # one progress line of our own instead
    ctx.print_on_execution_start = False
    return ray


def _rows(args: argparse.Namespace, todo: list[Job]) -> Iterator[dict[str, Any]]:
    ray = _start_ray(args)
    paths = [str(j.src.resolve()) for j in todo]
    targets = {p: str(j.dst.resolve()) for p, j in zip(paths, todo, strict=True)}
    cpus = float(ray.cluster_resources().get("CPU", 1))
    lo, hi = args.concurrency or (1, max(1, int(cpus // max(args.num_cpus_per_worker, 1e-9))))
    # Paths travel and each actor reads its files: read_binary_files' many small read
    # tasks fed the actors at 8 images/s on 2 cores (docs/distributed.md).
    # About one block per 4 files (bounded): rows stream back as files finish.
    blocks = max(1, min(-(-len(paths) // 4), 256 * hi))
    items = ray.data.from_items([{"path": p} for p in paths], override_num_blocks=blocks)
    if args.network_workers:
        yield from (json.loads(line) for line in split_rows(ray, args, items, targets))
        return
    ds = items.map_batches(
        Worker,
        fn_constructor_kwargs={"args": args, "targets": targets},
        batch_size=4,
        batch_format="numpy",
        num_cpus=args.num_cpus_per_worker,
        num_gpus=args.num_gpus_per_worker or None,
        compute=ray.data.ActorPoolStrategy(min_size=lo, max_size=hi),
    )
    for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
        for line in batch["row"]:
            yield json.loads(str(line))


@dataclass(frozen=True)
class DatasetResult:
    """What :func:`encode_dataset` did: counts, bytes and where the manifest is."""

    total: int
    skipped: int  # already done by an earlier run (resumed)
    failed: int
    saved_bytes: int  # input bytes minus output bytes of the files written now
    manifest: Path
    interrupted: bool = False


def encode_dataset(
    src: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    dst: str | os.PathLike[str],
    *,
    model: str | None = None,
    method: str | None = None,
    device: str = "auto",
    overwrite: bool = False,
    address: str | None = None,
    num_cpus_per_worker: float = 1.0,
    num_gpus_per_worker: float = 0.0,
    concurrency: tuple[int, int] | None = None,
    network_workers: int = 0,
    progress: bool = True,
    **options: Any,
) -> DatasetResult:
    """Encode a folder, glob, ``@FILE`` list (or several) into ``dst`` on Ray.

    ``model``, ``method``, ``device`` and ``**options`` are :class:`jpegsal.Encoder`'s;
    the rest are the CLI's ``--engine ray`` flags. Resumable: a second call skips what
    the manifest (``dst/jpegsal-manifest.jsonl``) says is done.
    """
    from .cli import build_parser
    from .commands import encoder_from_args

    inputs = [os.fspath(src)] if isinstance(src, str | os.PathLike) else list(src)
    # The CLI's own defaults for every flag, then these arguments: one source of defaults.
    argv = ["encode", "--out-dir", os.fspath(dst), "--engine", "ray", "--no-compare", "--"]
    args = build_parser().parse_args([*argv, *(str(os.fspath(x)) for x in inputs)])
    args.model, args.method, args.device, args.overwrite = model, method, device, overwrite
    args.address, args.concurrency, args.quiet = address, concurrency, not progress
    args.num_cpus_per_worker, args.num_gpus_per_worker = num_cpus_per_worker, num_gpus_per_worker
    args.network_workers, args.extra_options = network_workers, options
    check_split(args)
    encoder_from_args(args)  # bad options fail here, before Ray starts
    return run_dataset(args)


def ray_encode(args: argparse.Namespace) -> int:
    """``jpegsal encode --engine ray``: 0 when every file was written, 1 when any failed."""
    if args.out_dir is None:
        raise ValueError("--engine ray writes a folder: pass --out-dir, not -o")
    local_only = {"--jobs": args.jobs is not None, "--json": args.json}
    local_only["--skip-existing"] = args.skip_existing  # resuming is what ray always does
    for flag, given in local_only.items():
        if given:
            raise ValueError(f"{flag} is the local engine's; --engine ray takes --concurrency")
    check_split(args)
    result = run_dataset(args)
    return 130 if result.interrupted else (1 if result.failed else 0)


def run_dataset(args: argparse.Namespace) -> DatasetResult:
    """Plan, skip what is done, run the rest on Ray and record a row per input."""
    args.out_dir.mkdir(parents=True, exist_ok=True)
    manifest = args.out_dir / MANIFEST
    todo, failed, skipped = _plan(args, manifest)
    total, start, saved = len(todo) + len(failed) + skipped, time.perf_counter(), 0
    say = (lambda *a, **k: None) if getattr(args, "quiet", False) else print
    with manifest.open("a") as log:

        def record(row: dict[str, Any]) -> None:
            log.write(json.dumps(row) + "\n")
            log.flush()  # a killed job keeps every finished row

        for job in failed:
            record({"input": str(job.src), "output": str(job.dst), "error": job.error})
        failures, done = len(failed), skipped + len(failed)
        try:
            for row in _rows(args, todo) if todo else iter(()):
                record(row)
                done, failures = done + 1, failures + (row["error"] is not None)
                size = row.get("input_bytes", 0)
                saved += size - row.get("output_bytes", size)
                line = f"{done}/{total} files, {failures} failed, {saved / 2**20:.1f} MiB saved"
                say(f"\r{line}", end="", file=sys.stderr, flush=True)
        except KeyboardInterrupt:
            print(f"\njpegsal: interrupted; rerun to resume ({manifest})", file=sys.stderr)
            return DatasetResult(total, skipped, failures, saved, manifest, interrupted=True)
    say(
        f"\n{total} files: {skipped} already done, {failures} failed, "
        f"{saved / 2**20:.1f} MiB saved in {time.perf_counter() - start:.1f} s; "
        f"manifest {manifest}",
        file=sys.stderr,
    )
    return DatasetResult(total, skipped, failures, saved, manifest)
