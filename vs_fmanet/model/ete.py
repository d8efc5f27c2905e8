"""Exposure Time-aware feature Extractor (ETE): a ResNet-18-style encoder from one blurry LR frame to a code u.

Topology: 3x3 stride-1 stem (LR input, no max-pool), four stages of BasicBlocks (stride 1, 2, 2, 2), global average
pooling -> d_u = last stage width [INF, spec §4.2/§12]. Trained with a supervised-contrastive loss on exposure levels
(``vs_fmanet.model.losses.supcon_loss``) and then frozen; it estimates each frame's exposure code from pixels alone.
"""
from __future__ import annotations

import torch
from torch import nn


class BasicBlock(nn.Module):
    """ResNet basic block: two 3x3 conv+BN, identity (or 1x1 strided projection) shortcut."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + self.shortcut(x))


class ExposureEstimator(nn.Module):
    """forward(frames [N, 3, H, W] in [0, 1]) -> code [N, d_u] (un-normalised pooled features)."""

    def __init__(self, widths: tuple[int, ...], depths: tuple[int, ...]) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 3, padding=1, bias=False), nn.BatchNorm2d(widths[0]),
                                  nn.ReLU(inplace=True))
        stages = []
        cin = widths[0]
        for i, (w, d) in enumerate(zip(widths, depths)):
            blocks = [BasicBlock(cin if j == 0 else w, w, (1 if i == 0 else 2) if j == 0 else 1) for j in range(d)]
            stages.append(nn.Sequential(*blocks))
            cin = w
        self.stages = nn.Sequential(*stages)
        self.out_dim = widths[-1]

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.stem(frames - 0.5))
        return x.mean(dim=(2, 3))


class ExposureEmbedding(nn.Module):
    """Known exposure r (fraction of the frame interval, (0, 1]) -> code [N, d_u], the metadata path.

    Features [r, log r, sqrt r, sin(k pi r), cos(k pi r) for k = 1..3] feed a 2-layer MLP.
    """

    n_features = 9

    def __init__(self, code_dim: int, hidden: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(self.n_features, hidden), nn.LeakyReLU(0.2, inplace=True),
                                 nn.Linear(hidden, hidden), nn.LeakyReLU(0.2, inplace=True),
                                 nn.Linear(hidden, code_dim))

    @staticmethod
    def features(r: torch.Tensor) -> torch.Tensor:
        r = r.clamp(1e-3, 1.0)
        k = torch.arange(1, 4, device=r.device, dtype=r.dtype)
        ang = torch.pi * r[:, None] * k[None]
        return torch.cat([r[:, None], torch.log(r)[:, None], torch.sqrt(r)[:, None], torch.sin(ang), torch.cos(ang)],
                         dim=1)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.features(r))


class ExposureCode(nn.Module):
    """Per-frame exposure code u from metadata, from the ETE, or a per-frame blend of both.

    forward(lr [B, T, 3, H, W], exposure [B, T] | None (fractions, NaN = unknown), weight [B, T] | None) -> [B, T, d_u]

    ``weight`` in [0, 1] is the share of the metadata code where the exposure is known (default 1: trust metadata);
    frames with unknown exposure always use the ETE alone. The ETE runs only if some frame needs it.
    """

    def __init__(self, widths: tuple[int, ...], depths: tuple[int, ...], hidden: int) -> None:
        super().__init__()
        self.ete = ExposureEstimator(widths, depths)
        self.embed = ExposureEmbedding(widths[-1], hidden)

    def forward(self, lr: torch.Tensor, exposure: torch.Tensor | None = None,
                weight: torch.Tensor | None = None) -> torch.Tensor:
        b, t = lr.shape[:2]
        if exposure is None:
            exposure = torch.full((b, t), float("nan"), device=lr.device, dtype=torch.float32)
        exposure = exposure.to(device=lr.device, dtype=torch.float32)
        known = torch.isfinite(exposure) & (exposure > 0)
        w = torch.ones_like(exposure) if weight is None else weight.to(exposure).clamp(0.0, 1.0)
        w = torch.where(known, w, torch.zeros_like(w))
        codes = None
        if bool((w < 1).any()):
            codes = self.ete(lr.reshape(b * t, *lr.shape[2:])).reshape(b, t, -1)
        if bool(known.any()):
            r = torch.where(known, exposure, torch.ones_like(exposure))
            meta = self.embed(r.reshape(-1).to(lr.dtype)).reshape(b, t, -1)
            wk = w[..., None].to(meta.dtype)
            codes = meta if codes is None else wk * meta + (1 - wk) * codes
        return codes
