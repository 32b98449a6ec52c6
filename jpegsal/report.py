"""What the CLI says about each file and the batch: lines as files finish, or JSON.

The saving that matters is against what the user would otherwise have written: a plain
JPEG at the same quality (Pillow's, with the same options). The input's size says little
(a PNG input is large whatever jpegsal does), so both ratios are shown.
"""

from __future__ import annotations

import json
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Job", "Output", "cli_words", "file_line", "summary", "warnings_as_lines"]


@dataclass(frozen=True)
class Output:
    """What the work on one file produced: the bytes, and how they were chosen."""

    data: bytes
    quality: int | None = None
    plain_bytes: int | None = None  # a plain JPEG at the same quality (None: not compared)
    kl: float | None = None
    met: bool | None = None  # preserve: whether the budget was met
    note: str | None = None  # said on the file's line (e.g. "unchanged")
    path: str | None = None  # encode: "dct" or "pixels" (EncodeResult.path)


@dataclass
class Job:
    """One input file, where its output goes, and what came of it."""

    src: Path
    dst: Path
    error: str | None = None
    bytes_in: int = 0
    bytes_out: int = 0
    skipped: bool = False  # --skip-existing: the output was already there (a resumed batch)
    quality: int | None = None
    plain_bytes: int | None = None
    kl: float | None = None
    met: bool | None = None
    note: str | None = None
    path: str | None = None

    def record(self, out: Output) -> None:
        """Keep what :class:`Output` says, without holding its bytes."""
        self.bytes_in, self.bytes_out = self.src.stat().st_size, len(out.data)
        self.quality, self.plain_bytes, self.kl, self.met, self.note, self.path = (
            out.quality,
            out.plain_bytes,
            out.kl,
            out.met,
            out.note,
            out.path,
        )

    @property
    def status(self) -> str:
        if self.error is not None:
            return "failed"
        if self.skipped:
            return "skipped"
        return "written" if self.bytes_out > 0 else "not run"

    def as_json(self) -> str:
        row: dict[str, Any] = {"input": str(self.src), "output": str(self.dst)}
        row["status"] = self.status
        if self.status == "written":
            row |= {"bytes_in": self.bytes_in, "bytes_out": self.bytes_out}
            optional: dict[str, Any] = {"quality": self.quality, "plain_bytes": self.plain_bytes}
            optional |= {"kl": self.kl, "met": self.met, "note": self.note}
            row |= {k: v for k, v in optional.items() if v is not None}
        if self.error is not None:
            row["error"] = self.error
        return json.dumps(row)


def file_line(job: Job) -> str:
    """``src -> dst  in -> out bytes (0.226x input, 0.88x plain q75) q75``."""
    ratios = f"{job.bytes_out / max(job.bytes_in, 1):.3f}x input"
    if job.plain_bytes:
        ratios += f", {job.bytes_out / job.plain_bytes:.3f}x plain"
    line = f"{job.src} -> {job.dst}  {job.bytes_in} -> {job.bytes_out} bytes ({ratios})"
    if job.quality is not None and job.quality >= 0:
        line += f"  q{job.quality}"
    if job.kl is not None:
        line += f"  kl {job.kl:.4f}"
    if job.met is False:
        line += "  (preserve budget not met: quality 100 kept)"
    if job.note:
        line += f"  ({job.note})"
    return line


def summary(jobs: list[Job], *, json_lines: bool) -> int:
    """Print the failures (unless already streamed as JSON) and the totals; the exit code."""
    failed = [j for j in jobs if j.status == "failed"]
    ok = [j for j in jobs if j.status == "written"]
    skipped = sum(j.status == "skipped" for j in jobs)
    not_run = sum(j.status == "not run" for j in jobs)
    total_in = sum(j.bytes_in for j in ok)
    total_out = sum(j.bytes_out for j in ok)
    ratio = f" ({total_out / total_in:.3f}x input" if total_in else ""
    compared = [j for j in ok if j.plain_bytes]
    if compared and total_in:
        plain = sum(j.plain_bytes or 0 for j in compared)
        mine = sum(j.bytes_out for j in compared)
        ratio += f"; {mine / plain:.3f}x a plain JPEG at the same quality, {plain} bytes"
    ratio += ")" if total_in else ""
    kept = f"{skipped} skipped (output exists), " if skipped else ""
    kept += f"{not_run} not run (interrupted), " if not_run else ""
    unmet = sum(j.met is False for j in ok)
    kept += f"{unmet} written at quality 100 with the preserve budget unmet, " if unmet else ""
    text = f"{len(ok)} written, {kept}{len(failed)} failed; {total_in} -> {total_out} bytes{ratio}"
    # With --json, stdout holds only the per-file objects; the summary goes to stderr.
    print(text, file=sys.stderr if json_lines else sys.stdout)
    return 1 if failed else 0


_API_NAMES = (
    "method",
    "model",
    "preset",
    "classifier_side",
    "preserve",
    "target_bytes",
    "min_quality",
    "if_unmet",
    "preserve_search",
    "preserve_view",
    "strength",
    "quality",
    "subsampling",
    "background",
    "max_pixels",
    "device",
)
_API_WORD = re.compile(rf"\b({'|'.join(_API_NAMES)})=('[^']*'|\S+)?")


def cli_words(message: str) -> str:
    """An API message in the CLI's words: ``pass method=...`` -> ``pass --method ...``."""

    def flag(m: re.Match[str]) -> str:
        value = (m.group(2) or "").strip("'")
        return f"--{m.group(1).replace('_', '-')}" + (f" {value}" if value else "")

    message = message.replace("allocate=False", "--fixed-quality")
    message = message.replace("sharp_chroma=False", "--box-chroma")
    return _API_WORD.sub(flag, message.replace("corrupt='warn'", "--allow-corrupt"))


def warnings_as_lines() -> None:
    """A warning about an input is one line naming the file, every time (not once)."""
    from PIL import Image

    from .inputs import InputWarning

    def show(message: Warning | str, category: type[Warning], *args: object, **kw: object) -> None:
        print(f"jpegsal: warning: {cli_words(str(message))}", file=sys.stderr)

    warnings.showwarning = show
    for category in (InputWarning, Image.DecompressionBombWarning):
        warnings.simplefilter("always", category)
