"""``jpegsal encode --engine ray`` against the local CLI: images/s and overhead per image.

    python -m benchmarks.distributed                       # 200 imagenet-sample photos
    python -m benchmarks.distributed --limit 40 --repeat 1

Each configuration is one whole ``jpegsal encode`` command in a fresh process (Ray's
start-up included; it is also reported alone): the local CLI with ``-j 2``, Ray with one
actor of 2 CPUs, Ray with two actors of 1 CPU each, and Ray with the network in an actor
of its own (``--network-workers 1``, the GPU recipe run on CPUs), all ``cam`` +
``guided``. The
overhead per image is (Ray's time - the local time) / images.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import machine, write_json

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "imagenet-sample"
ENCODE = ["--model", "cam", "--method", "guided", "--no-compare"]
CONFIGS = {
    "local -j 2": ["--jobs", "2"],
    "ray, 1 actor x 2 CPUs": [
        "--engine",
        "ray",
        "--concurrency",
        "1,1",
        "--num-cpus-per-worker",
        "2",
    ],
    "ray, 2 actors x 1 CPU": [
        "--engine",
        "ray",
        "--concurrency",
        "2,2",
        "--num-cpus-per-worker",
        "1",
    ],
    "ray, 1 network actor + 1 CPU actor": [
        "--engine",
        "ray",
        "--network-workers",
        "1",
        "--concurrency",
        "1,1",
    ],
}
RAY_START = (
    "import ray, time; t = time.perf_counter(); ray.init(include_dashboard=False); "
    "print(time.perf_counter() - t)"
)


def _time(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def run(dataset: Path, limit: int, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in"
        src.mkdir()
        for p in sorted(dataset.iterdir())[:limit]:
            shutil.copy(p, src / p.name)
        rows = {}
        for name, flags in CONFIGS.items():
            runs = []
            for i in range(repeat):
                out = Path(tmp) / f"out{len(rows)}_{i}"
                cmd = [sys.executable, "-m", "jpegsal", "encode", str(src), "--out-dir", str(out)]
                runs.append(_time([*cmd, *ENCODE, *flags]))
            seconds = statistics.median(runs)
            rows[name] = {"seconds": round(seconds, 2), "images_per_s": round(limit / seconds, 2)}
        start = subprocess.run([sys.executable, "-c", RAY_START], capture_output=True, text=True)
    local = rows["local -j 2"]["seconds"]
    for r in rows.values():
        r["overhead_ms_per_image"] = round(1000 * (r["seconds"] - local) / limit, 1)
    ray_start = float(start.stdout.strip().splitlines()[-1]) if start.returncode == 0 else None
    return {
        "benchmark": "distributed",
        "dataset": dataset.name,
        "images": limit,
        "repeat": repeat,
        "ray_init_s": round(ray_start, 2) if ray_start else None,
        "machine": machine(),
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    result = run(args.dataset, args.limit, args.repeat)
    out = args.out or ROOT / "benchmarks" / "results" / args.dataset.name / "distributed.json"
    write_json(out, result)
    head = f"{result['images']} images, median of {result['repeat']}"
    print(f"{head}; ray.init {result['ray_init_s']} s")
    print("| configuration | seconds | images/s | overhead ms/image vs local |\n|---|---|---|---|")
    for name, r in result["rows"].items():
        print(f"| {name} | {r['seconds']} | {r['images_per_s']} | {r['overhead_ms_per_image']} |")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
