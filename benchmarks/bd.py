"""``python -m benchmarks.bd RESULT.json``: the mean / worst ratios of a result as a table.

The curve comparison itself is :mod:`jpegsal.bench.bd` (one implementation for the
benchmarks and ``jpegsal evaluate``).
"""

from __future__ import annotations

from typing import Any

from jpegsal.bench.bd import bd_ratio, monotone_curve, versus_base

__all__ = ["bd_ratio", "monotone_curve", "table", "versus_base"]


def table(result: dict[str, Any], scores: tuple[str, ...] = ("top1", "top1_crop")) -> str:
    """Markdown table of a rate/accuracy result: per contender, for each (evaluator, score),
    the mean / worst bytes ratio against Pillow over Pillow's q20-q90 range.
    """
    curves = result["curves"]
    cols = [(e, k) for e in curves for k in scores if k in curves[e]["pillow"][0]]
    lines = [
        "| contender | " + " | ".join(f"{e} {k}" for e, k in cols) + " |",
        "|---|" + "---|" * len(cols),
    ]
    for c in list(curves[cols[0][0]])[1:]:
        cells = []
        for e, k in cols:
            r = versus_base(curves[e]["pillow"], [(p["bytes"], p[k]) for p in curves[e][c]], k)
            cells.append(f"{r['ratio_pillow_q20_q90']} / {r['worst_pillow_q20_q90']}")
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.bd RESULT.json [--scores top1 agree1 ...]``: print :func:`table`."""
    import argparse
    import json
    from pathlib import Path

    parser = argparse.ArgumentParser(description="mean / worst bytes ratios of a result JSON")
    parser.add_argument("results", type=Path, nargs="+")
    parser.add_argument("--scores", nargs="+", default=["top1", "top1_crop"])
    args = parser.parse_args(argv)
    for path in args.results:
        result = json.loads(path.read_text())
        print(f"\n{path} ({result['images']} images; each cell: mean / worst ratio)\n")
        print(table(result, tuple(args.scores)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
