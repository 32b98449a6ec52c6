"""Validation of NICE mask heads: density vs agreement, and CAM and random cells at equal density.

Every mask is applied with the training operation (mixed resolution,
:func:`~jpegsal.train.nice_model.mix_resolution`), on deterministic gates:

* ``nice``: the soft deterministic mask, the exported model's output;
* ``nice@0.5``: cells with gate >= 0.5 kept, the rest low-resolution, which is what
  ``method="downsample"`` with ``strength=0.5`` decides;
* ``cam@equal``: per image, the same number of cells as ``nice@0.5``, chosen by the
  top-1 class activation map (the shipped ``cam``) instead. This borrows NICE's
  choice of *how many* cells each image needs;
* ``cam@mean``: the same share of cells in every image, equal to ``nice@0.5``'s mean
  share, chosen by CAM: CAM on its own, at the same overall density;
* ``random@equal``: the same number of cells, chosen at random (seeded).

*Agreement* is the share of images whose top-1 class on the masked image
equals the classifier's top-1 on the original; ``kl`` is the mean KL divergence
from the original's probabilities, in nats.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .nice_data import Features, kl_to_reference, normalise
from .nice_model import MaskHead, deterministic_gates, mix_resolution, upsample_mask

VARIANTS = ("nice", "nice@0.5", "cam@equal", "cam@mean", "random@equal")


def _top_cells(score: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Binary (N, h, w) masks keeping the ``counts[i]`` highest cells of ``score[i]``."""
    n = score.shape[0]
    flat = score.reshape(n, -1)
    ranks = flat.argsort(dim=1, descending=True, stable=True).argsort(dim=1)
    return (ranks < counts[:, None]).float().reshape(score.shape)


@torch.no_grad()
def evaluate(
    net: torch.nn.Module, head: MaskHead, data: Features, *, seed: int = 0, batch: int = 32
) -> dict[str, Any]:
    """Density and agreement of each variant over ``data`` (deterministic)."""
    head.eval()
    rng = torch.Generator().manual_seed(seed)
    size = tuple(data.images.shape[-2:])
    fc = net._fc.weight  # (1000, 1280)
    sums = {v: {"agree": 0.0, "kl": 0.0} for v in VARIANTS}
    all_gates = torch.cat(
        [
            deterministic_gates(head(data.mid[i : i + batch], data.top[i : i + batch]))
            for i in range(0, len(data), batch)
        ]
    )
    cells = all_gates[0].numel()
    mean_count = round(float((all_gates >= 0.5).float().mean()) * cells)
    for i in range(0, len(data), batch):
        sl = slice(i, i + batch)
        x, ref = normalise(data.images[sl]), data.log_probs[sl]
        gates = all_gates[sl]
        binary = (gates >= 0.5).float()
        counts = binary.flatten(1).sum(1).long()
        cam = torch.relu(torch.einsum("nc,nchw->nhw", fc[ref.argmax(1)], data.top[sl]))
        cam = F.interpolate(cam[:, None], size=gates.shape[-2:], mode="bilinear")[:, 0]
        noise = torch.rand(gates.shape, generator=rng)
        masks = {
            "nice": gates,
            "nice@0.5": binary,
            "cam@equal": _top_cells(cam, counts),
            "cam@mean": _top_cells(cam, torch.full_like(counts, mean_count)),
            "random@equal": _top_cells(noise, counts),
        }
        for name, m in masks.items():
            logits = net(mix_resolution(x, upsample_mask(m, size)))  # type: ignore[arg-type]
            sums[name]["agree"] += float((logits.argmax(1) == ref.argmax(1)).sum())
            sums[name]["kl"] += float(kl_to_reference(logits, ref).sum())
    n = len(data)
    return {
        "images": n,
        "density": round(float(all_gates.mean()), 4),
        "kept@0.5": round(float((all_gates >= 0.5).float().mean()), 4),
        **{
            name: {"agreement": round(s["agree"] / n, 4), "kl": round(s["kl"] / n, 4)}
            for name, s in sums.items()
        },
    }


def sweep_table(rows: list[dict[str, Any]]) -> str:
    """Markdown: one line per lambda."""
    lines = [
        "| lambda | density (mean gate) | cells kept (gate >= 0.5) | agreement nice | "
        "agreement nice@0.5 | cam, same cells | cam, same mean | random, same cells | "
        "KL nice@0.5 | KL cam, same cells | KL cam, same mean |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        e = r["val"]
        lines.append(
            f"| {r['lam']:g} | {e['density']:.3f} | {e['kept@0.5']:.3f} | "
            f"{e['nice']['agreement']:.3f} | {e['nice@0.5']['agreement']:.3f} | "
            f"{e['cam@equal']['agreement']:.3f} | {_get(e, 'cam@mean', 'agreement')} | "
            f"{e['random@equal']['agreement']:.3f} | {e['nice@0.5']['kl']:.3f} | "
            f"{e['cam@equal']['kl']:.3f} | {_get(e, 'cam@mean', 'kl')} |"
        )
    return "\n".join(lines)


def _get(result: dict[str, Any], variant: str, key: str) -> str:
    return f"{result[variant][key]:.3f}" if variant in result else "-"
