"""NICE's pieces (Li and Ji 2019): hard-concrete gates, the mask head, the mixed-resolution op.

The mask generator is a light head on the frozen EfficientNet-Lite0 that the
shipped ``cam`` explains. It reads two of the backbone's feature maps, block 10
(112 channels, stride 16) and the 1280-channel head (stride 32, upsampled), and
predicts one gate logit ``log_alpha`` per 16x16 cell. Sharing the backbone means
the exported model computes the logits and the mask in one pass, at the cost
of the ``cam`` model.

Gates follow the hard-concrete distribution of Louizos et al. 2018 with NICE's
constants: stretched to ``(gamma, zeta)`` and clipped to [0, 1], so a gate is
exactly 0 or 1 with positive probability and the expected number of non-zero
gates (the L0 norm) has a closed form.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

GAMMA, ZETA, BETA = -0.1, 1.1, 2.0 / 3.0
MASK_STRIDE = 16
LOWRES_FACTOR = 4  # the background scale of method="downsample" (its default factor)
MID_BLOCK = 10  # last stride-16 block of EfficientNet-Lite0 (112 channels)
# log alpha is bounded to (-4, 4) by a tanh. Beyond that a gate's sample is almost
# always clipped to exactly 0 or 1, where the clip passes no task gradient: an
# unbounded head could shut (or open) every gate for good. At +-4 the deterministic
# gate is still exactly 0 or 1, and 1-2 % of samples stay inside (0, 1).
LOG_ALPHA_MAX = 4.0


def expected_l0(log_alpha: torch.Tensor) -> torch.Tensor:
    """P(gate != 0) for each gate: sigmoid(log_alpha - beta * log(-gamma / zeta))."""
    return torch.sigmoid(log_alpha - BETA * math.log(-GAMMA / ZETA))


def sample_gates(log_alpha: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One reparameterised hard-concrete sample per gate, in [0, 1]."""
    u = torch.rand(log_alpha.shape, generator=generator, dtype=log_alpha.dtype)
    u = u.clamp(1e-6, 1 - 1e-6)
    s = torch.sigmoid((torch.log(u) - torch.log1p(-u) + log_alpha) / BETA)
    return (s * (ZETA - GAMMA) + GAMMA).clamp(0.0, 1.0)


def deterministic_gates(log_alpha: torch.Tensor) -> torch.Tensor:
    """The test-time gate of Louizos et al.: the stretched sigmoid, clipped (no noise)."""
    return (torch.sigmoid(log_alpha) * (ZETA - GAMMA) + GAMMA).clamp(0.0, 1.0)


def lowres(x: torch.Tensor, factor: int = LOWRES_FACTOR) -> torch.Tensor:
    """Box-shrink by ``factor`` and bilinear-enlarge back: the background of ``downsample``."""
    small = F.avg_pool2d(x, factor, ceil_mode=True)
    return F.interpolate(small, size=x.shape[-2:], mode="bilinear", align_corners=False)


def upsample_mask(gates: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Cell gates (N, h, w) -> pixel mask (N, 1, H, W), pixel centres aligned (as the runtime)."""
    return F.interpolate(gates[:, None], size=size, mode="bilinear", align_corners=False)


def mix_resolution(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The compression operation NICE trains against: mask * x + (1 - mask) * lowres(x)."""
    return mask * x + (1.0 - mask) * lowres(x)


def backbone_features(net: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(block-10 features at stride 16, 1280-channel head features at stride 32)."""
    h = net._swish(net._bn0(net._conv_stem(x)))
    mid = h
    for i, block in enumerate(net._blocks):
        h = block(h)  # eval mode: drop-connect is off
        if i == MID_BLOCK:
            mid = h
    top = net._swish(net._bn1(net._conv_head(h)))
    return mid, top


class MaskHead(nn.Module):
    """Gate logits per 16x16 cell from the two feature maps (107,713 parameters)."""

    def __init__(self, mid_channels: int = 112, top_channels: int = 1280, width: int = 64) -> None:
        super().__init__()
        self.mid = nn.Conv2d(mid_channels, width, 1)
        self.top = nn.Conv2d(top_channels, width, 1)
        self.mix = nn.Conv2d(width, width // 2, 3, padding=1)
        self.out = nn.Conv2d(width // 2, 1, 1)
        # Start with most gates open (P(open) ~0.93) so the classifier's output is
        # kept from step one and the L0 term closes gates from there.
        nn.init.zeros_(self.out.weight)
        nn.init.constant_(self.out.bias, 1.0)

    def forward(self, mid: torch.Tensor, top: torch.Tensor) -> torch.Tensor:
        up = F.interpolate(self.top(top), size=mid.shape[-2:], mode="bilinear", align_corners=False)
        h = F.relu(self.mid(mid) + up)
        raw = self.out(F.relu(self.mix(h)))[:, 0]  # (N, H/16, W/16)
        return LOG_ALPHA_MAX * torch.tanh(raw / LOG_ALPHA_MAX)


class NiceModel(nn.Module):
    """Frozen Lite0 + mask head; the exported graph returns (logits, mask)."""

    def __init__(self, net: nn.Module, head: MaskHead) -> None:
        super().__init__()
        self.net = net
        self.head = head

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mid, top = backbone_features(self.net, x)
        logits = self.net._fc(top.mean((2, 3)))
        return logits, deterministic_gates(self.head(mid, top))
