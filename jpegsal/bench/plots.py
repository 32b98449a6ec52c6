"""The rate-accuracy plot (PNG) of an evaluation or a benchmark result (extra ``bench``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._optional import require

__all__ = ["rate_accuracy", "save", "style"]

LABEL = {"top1": "top-1 %", "agree1": "same top-1 as the original, %"}


def _pyplot() -> tuple[Any, Any]:
    matplotlib = require("matplotlib")
    matplotlib.use("Agg")  # files only: no display needed
    return require("matplotlib.pyplot"), require("matplotlib.ticker")


PEER_STYLE = {"pillow": ("black", "-"), "jpegli": ("tab:gray", "--"), "mozjpeg": ("tab:gray", ":")}
MODEL_COLOUR = {"cam": "tab:blue", "msroi": "tab:green", "nice": "tab:red"}
METHOD_DASH = {"guided": "-", "downsample": "--", "mix": "-.", "blocks": ":", "none": "-"}


def style(contender: str) -> dict[str, Any]:
    """Colour by model (peers in black/grey), line style by method."""
    if contender in PEER_STYLE:
        colour, dash = PEER_STYLE[contender]
        return {
            "color": colour,
            "linestyle": dash,
            "linewidth": 2 if contender == "pillow" else 1.5,
        }
    model, _, rest = contender.partition("+")
    method = rest.split("@")[0].split("+")[0]
    return {
        "color": MODEL_COLOUR.get(model, "tab:purple"),
        "linestyle": METHOD_DASH.get(method, "-"),
        "linewidth": 1.2,
    }


def rate_accuracy(result: dict[str, Any], out: Path) -> Path:
    """Bytes per image (log) against top-1 (or, unlabelled, agreement with the original's
    top-1), one panel per judge and protocol; written to ``out`` (PNG)."""
    plt, ticker = _pyplot()
    first = next(iter(next(iter(result["curves"].values())).values()))[0]
    score = "top1" if "top1" in first else "agree1"
    panels = [
        (e, key)
        for e, curves in result["curves"].items()
        for key in (score, f"{score}_crop")
        if key in next(iter(curves.values()))[0]
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.2), squeeze=False)
    for ax, (e, key) in zip(axes[0], panels, strict=True):
        for c, points in result["curves"][e].items():
            ax.plot([p["bytes"] for p in points], [p[key] for p in points], label=c, **style(c))
        protocol = "centre crop" if key.endswith("_crop") else "whole image"
        ax.set(
            xscale="log", xlabel="bytes per image", ylabel=LABEL[score], title=f"{e}, {protocol}"
        )
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v / 1000:g}k"))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())  # log minor labels collide
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, ncol=2, loc="lower right")
    fig.suptitle(f"{result['dataset']}: {result['images']} images, bytes vs classifier accuracy")
    return save(fig, out)


def save(fig: Any, path: Path) -> Path:
    """Write ``fig`` to ``path`` (PNG, no timestamp metadata) and close it."""
    plt, _ = _pyplot()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=90, metadata={"Software": None})
    plt.close(fig)
    return path
