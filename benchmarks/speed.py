"""End-to-end speed and memory per stage: every model x method against Pillow, jpegli, mozjpeg.

Each (image size, contender) runs in a fresh Python process pinned to ``--cores``
CPU cores, so its peak RSS is its own. The input is a JPEG file (quality 95) of
the bundled Kodak image resized to each size; one run is load (decode the file)
-> saliency -> method -> encode at quality 75. Times are medians over
``--repeat`` runs after one warm-up; the ratios divide by Pillow's own save
(and by Pillow's load + save) measured in the same run.

    python -m benchmarks.speed                         # 0.3, 1, 3, 12 MP; 2 cores
    python -m benchmarks.speed --quick                 # 0.3 and 1 MP, cam+guided vs peers
    python -m benchmarks.speed --memory-mp 50          # + one 50 MP encode each, peak RSS
    python -m benchmarks.speed --device cuda           # saliency on the GPU
    python -m benchmarks.speed --contenders cam+guided cam-int8+guided   # any subset

The one speed benchmark (it replaced ``method_speed`` and ``saliency_speed``): the
method stage is the method's step with the map given, and for every model the saliency
stage is also split into resize + normalise, inference and upsampling, each timed alone
after the encodes (``preprocess_ms``, ``inference_ms``, ``upsample_ms``).

Memory is reported as peak RSS and as the growth of peak RSS over the process's
baseline (Python, libraries and the loaded model, measured after a warm-up on a
small image), divided by the raw RGB size (width x height x 3 bytes); the
decoded input alone is 1x of that.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import DEFAULT_IMAGE, machine, median_ms, sized_images, write_json

ROOT = Path(__file__).resolve().parents[1]
PEERS = ["pillow", "jpegli", "mozjpeg"]
MODELS = ["cam", "msroi", "nice", "cam-int8", "msroi-int8", "nice-int8"]
METHODS = ["guided", "downsample", "mix", "blocks"]
STAGES = ["load", "saliency", "method", "encode", "total"]
SPLIT = ["preprocess", "inference", "upsample"]  # the saliency stage's parts, timed alone
QUALITY = 75


def _peak_mb() -> float:
    """This process's peak RSS in MiB."""
    # VmHWM starts afresh at exec; ru_maxrss can carry the forking parent's peak over.
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """Time one contender on one file in this process (see the module docstring)."""
    if spec["cores"] and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: spec["cores"]]))
    import cv2
    import numpy as np
    from PIL import Image

    import jpegsal

    from .contenders import parse_codec

    cv2.setNumThreads(spec["threads"])
    name, path = spec["contender"], spec["path"]
    small = Image.fromarray(np.full((64, 64, 3), 128, np.uint8))
    if name in PEERS:
        codec = parse_codec(name)

        def once() -> dict[str, float]:
            t0 = time.perf_counter()
            with Image.open(path) as im:
                image = im.convert("RGB")
            t1 = time.perf_counter()
            codec.encode(image, QUALITY)
            t2 = time.perf_counter()
            return {"load": t1 - t0, "encode": t2 - t1, "total": t2 - t0}

        codec.encode(small, QUALITY)
    else:
        model, _, method = name.partition("+")
        enc = jpegsal.Encoder(
            model, method, device=spec["device"], threads=spec["threads"], quality=QUALITY
        )

        def once() -> dict[str, float]:
            return dict(enc.encode_with_info(path).timings)

        enc.encode(small)  # the session's first run
    baseline = _peak_mb()
    if spec["warm_up"]:
        once()
    runs = [once() for _ in range(spec["repeat"])]
    ms = {k: round(1000 * statistics.median(r[k] for r in runs), 2) for k in runs[0]}
    peak = round(_peak_mb(), 1)  # before the split below adds its own arrays
    if name not in PEERS and spec["repeat"] > 1:
        ms.update(_saliency_split(enc, path, spec["repeat"]))
    return {"stages_ms": ms, "peak_rss_mb": peak, "baseline_rss_mb": baseline}


def _saliency_split(enc: Any, path: str, repeat: int) -> dict[str, float]:
    """The saliency stage's parts (median ms): resize + normalise, inference, upsampling."""
    from PIL import Image

    from jpegsal.maps.onnx import OnnxSaliencyModel, upsample

    model = enc.model
    if not isinstance(model, OnnxSaliencyModel):
        return {}
    with Image.open(path) as im:
        image = im.convert("RGB")
    x = model.preprocess(image)
    coarse = model.run(x)[0][0]
    parts = {
        "preprocess": lambda: model.preprocess(image),
        "inference": lambda: model.run(x),
        "upsample": lambda: upsample(coarse, image.size),
    }
    return {key: median_ms(fn, repeat) for key, fn in parts.items()}


def _in_child(spec: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.speed", "--child", json.dumps(spec)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if out.returncode:
        raise RuntimeError(f"{spec['contender']} on {spec['path']} failed:\n{out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _gpu_name() -> str:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown (nvidia-smi failed)"
    return out.stdout.strip()


def _ort_version() -> str:
    import onnxruntime as ort

    return f"{ort.__version__} {ort.get_available_providers()}"


def _after_load(row: dict[str, Any]) -> float:
    """Median total minus median load: the time after the image is in memory."""
    return float(row["total_ms"] - row["load_ms"])


def run(
    image_path: Path,
    megapixels: list[float],
    contenders: list[str],
    *,
    repeat: int,
    cores: int,
    threads: int,
    device: str,
    memory_mp: float | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Rows of per-stage medians, ratios to Pillow and peak RSS (see the module docstring)."""
    if "pillow" not in contenders:
        contenders = ["pillow", *contenders]  # the reference of every ratio
    rows: list[dict[str, Any]] = []
    sizes = [*megapixels, *([memory_mp] if memory_mp else [])]
    with tempfile.TemporaryDirectory() as tmp:
        for mp, image in zip(sizes, sized_images(image_path, sizes), strict=True):
            path = Path(tmp) / f"{mp:g}mp.jpg"
            image.save(path, quality=95)
            raw_mb = image.width * image.height * 3 / 2**20
            memory_only = mp == memory_mp and mp not in megapixels
            size_rows = []
            for c in contenders:
                if progress:
                    print(f"  {mp:g} MP  {c}", file=sys.stderr, flush=True)
                spec = {
                    "contender": c,
                    "path": str(path),
                    "repeat": 1 if memory_only else repeat,
                    "warm_up": not memory_only,
                    "cores": cores,
                    "threads": threads,
                    "device": device,
                }
                r = _in_child(spec)
                grown = r["peak_rss_mb"] - r["baseline_rss_mb"]
                size_rows.append(
                    {
                        "contender": c,
                        "megapixels": mp,
                        "size": f"{image.width}x{image.height}",
                        **{f"{k}_ms": r["stages_ms"].get(k) for k in STAGES + SPLIT},
                        "images_per_s": round(1000 / r["stages_ms"]["total"], 2),
                        "peak_rss_mb": r["peak_rss_mb"],
                        "rss_growth_mb": round(grown, 1),
                        "rss_growth_x_raw": round(grown / raw_mb, 2),
                        "memory_only": memory_only,
                    }
                )
            ref = next(r for r in size_rows if r["contender"] == "pillow")
            for r in size_rows:
                # Both sides are total - load, so Pillow's own row is exactly 1.
                r["x_pillow_save"] = round(_after_load(r) / _after_load(ref), 2)
                r["x_pillow_load_save"] = round(r["total_ms"] / ref["total_ms"], 2)
            rows += size_rows
    return {
        "benchmark": "speed",
        "image": image_path.name,
        "quality": QUALITY,
        "repeat": repeat,
        "cores": cores,
        "threads": threads,
        "device": device,
        "cpus_seen": os.cpu_count(),
        "machine": machine(),
        **({"gpu": _gpu_name(), "onnxruntime": _ort_version()} if device == "cuda" else {}),
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", type=Path, default=DEFAULT_IMAGE)
    parser.add_argument(
        "--megapixels", type=float, nargs="+", help="image sizes (default: 0.3 1 3 12)"
    )
    parser.add_argument(
        "--contenders",
        nargs="+",
        help="pillow, jpegli, mozjpeg and MODEL+METHOD (default: the peers and every "
        "model x method)",
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cores", type=int, default=2, help="CPU cores per run (0: all)")
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime and OpenCV threads")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--memory-mp", type=float, help="also one encode at this size (peak RSS)")
    parser.add_argument(
        "--quick", action="store_true", help="0.3 and 1 MP, cam+guided and the peers, repeat 2"
    )
    parser.add_argument("--out", type=Path)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    if args.quick:
        args.megapixels, args.repeat = args.megapixels or [0.3, 1], 2
    args.megapixels = args.megapixels or [0.3, 1, 3, 12]
    if args.repeat < 1 or args.cores < 0 or args.threads < 1:
        parser.error("--repeat and --threads must be >= 1 and --cores >= 0")
    if min(args.megapixels) <= 0 or (args.memory_mp is not None and args.memory_mp <= 0):
        parser.error("--megapixels and --memory-mp must be > 0")
    contenders = args.contenders or PEERS + [f"{m}+{x}" for m in MODELS for x in METHODS]
    if args.quick:
        contenders = args.contenders or ["pillow", "jpegli", "mozjpeg", "cam+guided"]
    t0 = time.perf_counter()
    result = run(
        args.image,
        args.megapixels,
        contenders,
        repeat=args.repeat,
        cores=args.cores,
        threads=args.threads,
        device=args.device,
        memory_mp=args.memory_mp,
    )
    result["seconds"] = round(time.perf_counter() - t0, 1)
    name = "speed" + ("_quick" if args.quick else "") + ("_cuda" if args.device == "cuda" else "")
    out = args.out or ROOT / "benchmarks" / "results" / args.image.stem / f"{name}.json"
    write_json(out, result)
    print(f"median of {result['repeat']} runs, {args.cores or 'all'} cores, quality {QUALITY}")
    print(
        "| image | contender | load | saliency | method | encode | total ms | img/s "
        "| x Pillow save | x Pillow load+save | peak RSS MB | RSS growth x raw |"
    )
    print("|---" * 12 + "|")
    for r in result["rows"]:
        cells = [r[f"{k}_ms"] for k in STAGES]
        print(
            f"| {r['size']} | {r['contender']} | "
            + " | ".join("-" if v is None else f"{v:g}" for v in cells)
            + f" | {r['images_per_s']} | {r['x_pillow_save']} | {r['x_pillow_load_save']} "
            f"| {r['peak_rss_mb']} | {r['rss_growth_x_raw']} |"
        )
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
