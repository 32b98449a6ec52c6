"""Training data for NICE: images run once through the frozen backbone (no labels needed)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from tqdm import tqdm

from .lite0 import MEAN, STD
from .nice_model import backbone_features

SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


@dataclass
class Features:
    """A dataset run once through the frozen backbone (the head is all that trains)."""

    images: torch.Tensor  # (N, 3, S, S) uint8
    mid: torch.Tensor  # (N, 112, S/16, S/16)
    top: torch.Tensor  # (N, 1280, S/32, S/32)
    log_probs: torch.Tensor  # (N, 1000): the classifier's own output on the original

    def __len__(self) -> int:
        return len(self.images)


def list_images(folder: Path, limit: int | None = None) -> list[Path]:
    """Image files under ``folder`` (recursively), sorted; labels are never read."""
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder not found: {str(folder)!r}")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())
    if not files:
        raise ValueError(f"{folder}: no images ({', '.join(sorted(SUFFIXES))})")
    return files[:limit]


def load_square(path: Path, size: int) -> np.ndarray:
    """Short side to ``size`` (BOX when shrinking, as the runtime), centre crop, uint8 CHW."""
    with Image.open(path) as im:
        rgb = im.convert("RGB")
    scale = size / min(rgb.size)
    w, h = max(size, round(rgb.width * scale)), max(size, round(rgb.height * scale))
    shrink = scale < 1
    rgb = rgb.resize(
        (w, h),
        Image.Resampling.BOX if shrink else Image.Resampling.BILINEAR,
        reducing_gap=3.0 if shrink else None,
    )
    left, top = (w - size) // 2, (h - size) // 2
    rgb = rgb.crop((left, top, left + size, top + size))
    return np.asarray(rgb, np.uint8).transpose(2, 0, 1)


def normalise(images: torch.Tensor) -> torch.Tensor:
    return (images.float() - MEAN) / STD


@torch.no_grad()
def extract(net: torch.nn.Module, files: list[Path], size: int, desc: str) -> Features:
    images = torch.from_numpy(np.stack([load_square(p, size) for p in tqdm(files, desc=desc)]))
    mids, tops, logps = [], [], []
    for i in range(0, len(images), 32):
        mid, top = backbone_features(net, normalise(images[i : i + 32]))
        mids.append(mid)
        tops.append(top)
        logps.append(F.log_softmax(net._fc(top.mean((2, 3))), 1))
    return Features(images, torch.cat(mids), torch.cat(tops), torch.cat(logps))


def kl_to_reference(logits: torch.Tensor, ref_log_probs: torch.Tensor) -> torch.Tensor:
    """KL(reference || prediction) per image, in nats."""
    log_q = F.log_softmax(logits, 1)
    return (ref_log_probs.exp() * (ref_log_probs - log_q)).sum(1)
