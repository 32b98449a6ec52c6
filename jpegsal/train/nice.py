"""Train NICE sparse masks against the frozen EfficientNet-Lite0 and ship one as ``model="nice"``.

    python -m jpegsal.train.nice --data ../shared/data/imagenet-sample \\
        --val ../shared/data/imagenet-val-1300 --lam 0.75 1 1.5 2.5 --epochs 8 \\
        --out runs/nice --resume --export 0.75      # the shipped model

For each lambda a mask head is trained (see :mod:`jpegsal.train.nice_model`):

    loss = KL(p(x) || p(mask * x + (1 - mask) * lowres(x))) + lambda * E[L0] / cells

with ``p`` the frozen classifier's softmax, so no labels are needed, and the
mask a hard-concrete sample per 16x16 cell. Each lambda is then validated with
deterministic gates (:mod:`jpegsal.train.nice_eval`) and the sweep table is
written to ``OUT/sweep.json`` and ``OUT/sweep.md``. ``--export LAM`` exports that
lambda's head into ``models/`` and the manifest. ``--resume`` continues from the
per-lambda checkpoints (finished lambdas are not retrained). Runs are
deterministic for a seed: the shuffle and the gate noise of epoch ``e`` come
from generators seeded with ``(seed, e)``, so a resumed run matches an
uninterrupted one.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .lite0 import load_lite0
from .nice_data import Features, extract, kl_to_reference, list_images, normalise
from .nice_model import MaskHead, expected_l0, mix_resolution, sample_gates, upsample_mask


def _generator(seed: int, epoch: int, stream: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch * 101 + stream)


def train_one(
    net: torch.nn.Module,
    data: Features,
    lam: float,
    out: Path,
    *,
    epochs: int,
    batch_size: int = 16,
    lr: float = 2e-3,
    schedule: str = "cosine",
    seed: int = 0,
    resume: bool = False,
    progress: bool = True,
) -> tuple[MaskHead, list[dict[str, float]]]:
    """Train one mask head; checkpoint ``out/checkpoint.pt`` after every epoch.

    ``schedule`` is ``"cosine"`` (the learning rate decays from ``lr`` to 0 over the
    run, so the last epochs settle instead of oscillating) or ``"constant"``.
    """
    if schedule not in ("cosine", "constant"):
        raise ValueError(f"schedule must be 'cosine' or 'constant', got {schedule!r}")
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "checkpoint.pt"
    torch.manual_seed(seed)
    head = MaskHead()
    opt = torch.optim.Adam(head.parameters(), lr=lr)
    history: list[dict[str, float]] = []
    start = 0
    if resume and ckpt_path.is_file():
        ckpt = torch.load(ckpt_path, map_location="cpu")
        if ckpt["lam"] != lam or ckpt["seed"] != seed:
            raise ValueError(
                f"{ckpt_path} was trained with lam={ckpt['lam']}, seed={ckpt['seed']}; "
                f"use another --out to train lam={lam}, seed={seed}"
            )
        # The cosine schedule is laid out over the whole run, so its length is fixed.
        planned = (ckpt.get("schedule"), ckpt.get("epochs") if schedule == "cosine" else None)
        if planned != (schedule, epochs if schedule == "cosine" else None):
            raise ValueError(
                f"{ckpt_path} was trained with schedule={ckpt.get('schedule')!r} over "
                f"{ckpt.get('epochs')} epochs; resume with the same --schedule and --epochs, "
                "or use another --out"
            )
        head.load_state_dict(ckpt["head"])
        opt.load_state_dict(ckpt["optimizer"])
        history, start = ckpt["history"], ckpt["epoch"]
    size = tuple(data.images.shape[-2:])
    for epoch in range(start, epochs):
        head.train()
        order = torch.randperm(len(data), generator=_generator(seed, epoch, 0))
        noise = _generator(seed, epoch, 1)
        sums = {"loss": 0.0, "kl": 0.0, "l0": 0.0}
        t0 = time.perf_counter()
        batches = range(0, len(data), batch_size)
        steps = len(batches)
        bar = tqdm(batches, desc=f"lam={lam:g} epoch {epoch + 1}/{epochs}", disable=not progress)
        for step, i in enumerate(bar):
            if schedule == "cosine":  # a function of the step alone, so resuming is exact
                t = (epoch * steps + step) / (epochs * steps)
                for group in opt.param_groups:
                    group["lr"] = lr * 0.5 * (1.0 + math.cos(math.pi * t))
            idx = order[i : i + batch_size]
            log_alpha = head(data.mid[idx], data.top[idx])
            mask = upsample_mask(sample_gates(log_alpha, noise), size)  # type: ignore[arg-type]
            kl = kl_to_reference(
                net(mix_resolution(normalise(data.images[idx]), mask)), data.log_probs[idx]
            ).mean()
            l0 = expected_l0(log_alpha).mean()  # expected fraction of open gates
            loss = kl + lam * l0
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            for key, value in (("loss", loss), ("kl", kl), ("l0", l0)):
                sums[key] += value.item() * len(idx)
            bar.set_postfix(kl=f"{kl.item():.3f}", l0=f"{l0.item():.3f}")
        row = {k: round(v / len(data), 5) for k, v in sums.items()}
        history.append({"epoch": epoch + 1, **row, "seconds": round(time.perf_counter() - t0, 1)})
        tqdm.write(f"lam={lam:g} {json.dumps(history[-1])}")
        state = {
            "head": head.state_dict(),
            "optimizer": opt.state_dict(),
            "epoch": epoch + 1,
            "history": history,
            "lam": lam,
            "seed": seed,
            "schedule": schedule,
            "epochs": epochs,
            "image_size": size[0],
        }
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save(state, tmp)
        tmp.replace(ckpt_path)  # atomic: a crash mid-save keeps the previous epoch
    return head.eval(), history


def frozen_lite0() -> torch.nn.Module:
    net = load_lite0()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def _positive(text: str) -> float:
    value = float(text)
    if not np.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from .export import MODELS_DIR

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="training images (no labels)")
    parser.add_argument("--val", type=Path, required=True, help="validation images")
    parser.add_argument("--lam", type=_positive, nargs="+", default=[1.0], help="L0 weights")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=_positive, default=2e-3)
    parser.add_argument("--schedule", choices=["cosine", "constant"], default="cosine")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=224, help="training crop (multiple of 32)")
    parser.add_argument("--limit", type=int, help="use at most this many training images")
    parser.add_argument("--val-limit", type=int, help="validate on at most this many images")
    parser.add_argument("--out", type=Path, default=Path("runs/nice"))
    parser.add_argument("--resume", action="store_true", help="continue from checkpoints")
    parser.add_argument("--export", type=_positive, metavar="LAM", help="ship this lambda")
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1:
        parser.error("--epochs and --batch-size must be at least 1")
    if args.size < 32 or args.size % 32:
        parser.error(f"--size must be a multiple of 32, got {args.size}")
    if args.export is not None and args.export not in args.lam:
        parser.error(f"--export {args.export:g} is not one of --lam {args.lam}")
    return args


def main(argv: list[str] | None = None) -> int:
    from .nice_eval import evaluate, sweep_table
    from .nice_export import export_nice

    args = parse_args(argv)
    torch.manual_seed(args.seed)
    net = frozen_lite0()
    show = not args.no_progress
    train = extract(net, list_images(args.data, args.limit), args.size, "train images")
    val = extract(net, list_images(args.val, args.val_limit), args.size, "val images")
    rows, heads = [], {}
    for lam in args.lam:
        out = args.out / f"lam-{lam:g}"
        head, history = train_one(
            net,
            train,
            lam,
            out,
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            schedule=args.schedule,
            seed=args.seed,
            resume=args.resume,
            progress=show,
        )
        cached = out / "eval.json"
        result = json.loads(cached.read_text()) if args.resume and cached.is_file() else None
        if result is None or result.get("after_epoch") != len(history):
            result = {"after_epoch": len(history), **evaluate(net, head, val, seed=args.seed)}
            cached.write_text(json.dumps(result, indent=2) + "\n")
        rows.append({"lam": lam, "history": history, "val": result})
        heads[lam] = head
        print(f"lam={lam:g}: {json.dumps(result)}", flush=True)
    recipe = {
        "train": f"{args.data.name} ({len(train)} images, centre crop {args.size})",
        "val": f"{args.val.name} ({len(val)} images)",
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "schedule": args.schedule,
        "seed": args.seed,
        "optimizer": "Adam",
        "loss": "KL(p(x) || p(mixed)) + lam * E[L0] / cells",
    }
    sweep = {"recipe": recipe, "rows": rows}
    (args.out / "sweep.json").write_text(json.dumps(sweep, indent=2) + "\n")
    table = sweep_table(rows)
    (args.out / "sweep.md").write_text(table + "\n")
    print(table)
    if args.export is not None:
        row = next(r for r in rows if r["lam"] == args.export)
        command = "python -m jpegsal.train.nice " + " ".join(sys.argv[1:] if argv is None else argv)
        training = {
            **recipe,
            "lam": args.export,
            "command": command,
            "val_metrics": row["val"],
            "sweep": [{"lam": r["lam"], "val": r["val"]} for r in rows],
        }
        head = heads[args.export]
        labelled = (args.val / "dataset.txt").is_file()  # then the export's top-1 is measured
        entry = export_nice(head, args.models_dir, training, args.val if labelled else None)
        print(f"wrote {args.models_dir / entry['file']} (sha256 {entry['sha256']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
