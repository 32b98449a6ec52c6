"""Batch work for the CLI: expand inputs into jobs, run them on a worker pool, write, report.

Threads, not processes: Pillow's codec and onnxruntime release the GIL, and the
threads share one model session. Every output is written atomically, and a
failing file is recorded on its job and reported; it never stops the batch.
"""

from __future__ import annotations

import argparse
import glob
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path

from PIL import Image

from .codec.files import write_atomic
from .report import Job, Output, cli_words, file_line, summary

__all__ = ["Job", "Output", "plan_jobs", "run_batch", "run_job"]

_GLOB_CHARS = set("*?[")


def run_batch(jobs: list[Job], work: Callable[[Path], Output], args: argparse.Namespace) -> int:
    """Run ``work`` on every planned job with a worker pool; write outputs; report.

    Each file is reported as it finishes (a line, or with ``--json`` one JSON object on
    stdout), then the totals.
    """
    if args.jobs is None:  # the default, resolved here so that --engine ray can tell
        args.jobs = min(4, os.cpu_count() or 1)
    if args.jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {args.jobs}")
    if getattr(args, "skip_existing", False):
        if args.overwrite:
            raise ValueError("pass either --overwrite or --skip-existing, not both")
        for j in jobs:
            j.skipped = j.error is None and j.dst.exists()
    todo = [j for j in jobs if j.error is None and not j.skipped]
    for j in jobs:
        if j.error is not None or j.skipped:  # known before anything runs
            _announce(j, args)
    stop = threading.Event()
    with _first_ctrl_c_sets(stop):
        _run_jobs(todo, work, args, stop)
    for j in todo:
        if j.status == "not run":
            _announce(j, args)
    status = summary(jobs, json_lines=getattr(args, "json", False))
    if stop.is_set():
        print("jpegsal: interrupted; the files above were written", file=sys.stderr)
        return 130
    return status


def _announce(job: Job, args: argparse.Namespace, write: Callable[..., None] = print) -> None:
    """One file's report, as it finishes: JSON, a line on stdout, or a failure on stderr."""
    if getattr(args, "json", False):
        write(job.as_json(), file=sys.stdout)
    elif job.status == "failed":
        write(f"jpegsal: failed: {job.src}: {job.error}", file=sys.stderr)
    elif job.status == "written" and not args.quiet:
        write(file_line(job), file=sys.stdout)


def _run_jobs(
    todo: list[Job], work: Callable[[Path], Output], args: argparse.Namespace, stop: threading.Event
) -> None:
    """Run the jobs, at most two per worker queued at a time, until done or ``stop``.

    Submitting lazily is what lets Ctrl-C stop a batch: only the images in flight finish.
    """
    from tqdm import tqdm

    queue = iter(todo)
    bar = tqdm(total=len(todo), unit="img", disable=True if args.quiet else None, file=sys.stderr)
    with ThreadPoolExecutor(max_workers=args.jobs) as pool, bar:
        pending: dict[Future[None], Job] = {}
        while True:
            while not stop.is_set() and len(pending) < 2 * args.jobs:
                job = next(queue, None)
                if job is None:
                    break
                pending[pool.submit(run_job, work, job, args.overwrite)] = job
            if not pending:
                return
            done, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            for future in done:
                future.result()
                _announce(pending.pop(future), args, bar.write)  # above the progress bar
                bar.update()


@contextmanager
def _first_ctrl_c_sets(stop: threading.Event) -> Iterator[None]:
    """Within: the first SIGINT or SIGTERM sets ``stop`` (so no write is cut off and no
    temporary file is left behind); a second one acts as usual.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    signals = (signal.SIGINT, signal.SIGTERM)

    def handler(signum: int, frame: object) -> None:
        stop.set()
        for sig, old in previous.items():  # a second signal: KeyboardInterrupt / exit
            signal.signal(sig, old)

    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _check_paths(inputs: Sequence[str], output: Path | None, suffix: str) -> None:
    """Usage errors in the paths themselves, before anything is scanned."""
    if (output is not None and str(output) == "-") or "-" in inputs:
        # Not a file named "-" (what a plain path would give): streams are not supported.
        raise ValueError(
            "'-' (standard input/output) is not supported; name the input and output files"
        )
    if output is not None:
        want = Image.registered_extensions()[suffix]
        fmt = Image.registered_extensions().get(output.suffix.lower())
        if output.is_dir() or str(output).endswith(("/", os.sep)):
            raise ValueError(f"-o {str(output)!r} is a folder; -o names a file, use --out-dir")
        if fmt is not None and fmt != want:
            raise ValueError(
                f"-o {str(output)!r}: this command writes {want}, not {fmt}; "
                f"name the output {suffix}"
            )


def _readable_extensions() -> set[str]:
    # registered_extensions() also lists save-only formats (e.g. .pdf); keep readable ones.
    return {ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN}


def plan_jobs(
    inputs: Sequence[str],
    output: Path | None,
    out_dir: Path | None,
    *,
    recursive: bool = False,
    suffix: str = ".jpg",
    extensions: set[str] | None = None,
) -> list[Job]:
    """Expand inputs into jobs; problems found here become failed jobs, not exceptions."""
    _check_paths(inputs, output, suffix)
    found: list[tuple[Path, Path]] = []  # (source, path relative to the output dir)
    jobs: list[Job] = []
    for text in inputs:
        path = Path(text)
        if text.startswith("@") and not path.exists():
            listed, problem = _listed(Path(text[1:]))
            found += listed
            if problem:
                jobs.append(Job(path, path, error=problem))
        elif path.is_dir():
            files = _folder(path, recursive, extensions or _readable_extensions(), out_dir)
            found += [(p, p.relative_to(path)) for p in files]
            if not files:
                jobs.append(Job(path, path, error="directory holds no image files"))
        elif path.exists():
            found.append((path, Path(path.name)))
        elif _GLOB_CHARS & set(text) and (matches := sorted(glob.glob(text, recursive=recursive))):
            files = [Path(m) for m in matches if Path(m).is_file()]
            found += [(f, Path(f.name)) for f in files]
            if not files:
                jobs.append(Job(path, path, error="the pattern matches only folders"))
        else:
            jobs.append(Job(path, path, error="no such file or directory"))
    if output is not None and len(found) + len(jobs) != 1:
        raise ValueError(
            f"-o/--output takes exactly one input; got {len(found) + len(jobs)}, "
            "use --out-dir for several"
        )
    sources = {p.resolve() for p, _ in found}
    claimed: dict[Path, Path] = {}
    for src, rel in found:
        dst = output if output is not None else (out_dir or Path(".")) / rel.with_suffix(suffix)
        job = Job(src, dst)
        key = dst.resolve()
        if key in sources:
            job.error = f"output {str(dst)!r} is an input; refusing to overwrite an input"
        elif key in claimed:
            job.error = f"output {str(dst)!r} is also the output of {str(claimed[key])!r}"
        else:
            claimed[key] = src
        jobs.append(job)
    return jobs


def _folder(path: Path, recursive: bool, exts: set[str], out_dir: Path | None) -> list[Path]:
    """The image files in ``path`` (and below it when ``recursive``), sorted."""
    # An output folder inside the input tree holds the last run's outputs: not inputs.
    skip = out_dir.resolve() if out_dir is not None else None
    return sorted(
        p
        for p in path.glob("**/*" if recursive else "*")
        if p.is_file()
        and p.suffix.lower() in exts
        and (skip is None or not p.resolve().is_relative_to(skip))
    )


def _listed(listing: Path) -> tuple[list[tuple[Path, Path]], str | None]:
    """``@FILE``: one path per line (blank lines and ``#`` comments skipped; relative to
    the list's folder); outputs keep the paths relative to the files' common folder."""
    try:
        lines = listing.read_text().splitlines()
    except OSError as e:
        return [], f"cannot read the list of paths: {e.strerror or e}"
    files = [listing.parent / t.strip() for t in lines if t.strip() and not t.startswith("#")]
    missing = [str(f) for f in files if not f.is_file()]
    files = [f for f in files if f.is_file()]
    if not files:
        return [], "the list names no existing file"
    root = Path(os.path.commonpath([f.resolve().parent for f in files]))
    found = [(f, f.resolve().relative_to(root)) for f in files]
    return found, (f"{len(missing)} listed files not found: {missing[:3]}" if missing else None)


def run_job(
    work: Callable[[Path], Output], job: Job, overwrite: bool, *, keep_same: bool = False
) -> None:
    """Run ``work`` on one job and write its output atomically; a failure is recorded on
    the job. ``keep_same``: an existing output with exactly the new bytes counts as
    written (a stopped Ray run may have written it without its manifest row)."""
    exists = f"output exists: {str(job.dst)!r} (use --overwrite, or --skip-existing)"
    try:
        if job.dst.exists() and not overwrite and not keep_same:
            raise FileExistsError(exists)
        out = work(job.src)
        if keep_same and not overwrite and job.dst.exists():
            if job.dst.read_bytes() != out.data:  # someone else's file
                raise FileExistsError(exists)
        else:
            job.dst.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(out.data, job.dst, overwrite=overwrite)
        job.record(out)
    except Exception as e:  # one bad file must not stop the batch
        job.error = f"{type(e).__name__}: {cli_words(str(e))}"
