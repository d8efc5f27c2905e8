"""The causal HRBP block: refinement of frame i with a recurrent state carried from frame i-1, and its gate.

The bidirectional HRBP block (:mod:`.hrbp`) fuses the step-j features of frames i-1 and i+1. The causal block keeps
the same steps but looks only backwards, at its *own* output for frame i-1 (one state tensor per block, as in
spatio-temporal recurrent online deblurring), so stacking blocks never reaches into the future and the temporal
receptive field extends back to the last scene start. Per block, on ``[N, C, H, W]`` (N = batch x tiles):

1. occlusion-aware multi-flow backward warp of the carried state H_{i-1} onto frame i with the current flows f_i
   (n flow/mask pairs, only the "towards i-1" direction: 3n channels, layout (flow_x, flow_y, mask_logit) x n,
   flows in LR pixels, masks as logits), giving H~_{i-1};
2. dynamic temporal blending (:class:`TemporalBlendGate`): w = beta + (1 - beta) * sigmoid(g([F_i, H~_{i-1}])),
   a per-pixel weight in [beta, 1] on the current features; B_i = w * F_i + (1 - w) * H~_{i-1}, so where the
   warped history disagrees with the frame (occlusion, scene motion the flows missed, stale state) the network
   can fall back to the current frame. This is the dynamic temporal blending of the online video deblurring
   network (Kim et al., ICCV 2017), written with a sigmoid instead of min(1, |tanh| + beta) so that it has a
   gradient everywhere [INF];
3. fusion conv of [F_i, B_i] (2C -> C) -> F~_i;
4. residual flow update f_i <- f_i + Conv(LReLU(Conv([f_i, F~_i]))) (skipped in the last Net^R block);
5. the same multi-attention (:class:`.hrbp.MultiAttention`: self MDTA + GDFN, and in Net^R degradation-aware
   cross MDTA with the query from the block's kernel embedding) and ETM exposure modulation as the main model.

The block's output is also its next state. With no history (first frame of a stream or of a scene) the frame's
own features stand in for H_{i-1} with zero flow, the same convention as the bidirectional model's sequence ends.
"""
from __future__ import annotations

import torch
from torch import nn

from .causal_config import CausalConfig
from .hrbp import RefinementBlock
from .warping import multi_flow_warp


class TemporalBlendGate(nn.Module):
    """forward(current [N, C, H, W], history [N, C, H, W]) -> w [N, 1, H, W] with beta <= w <= 1.

    ``floor`` is beta. w weights the current frame's features; 1 - w (at most 1 - beta) weights the history.
    """

    def __init__(self, channels: int, floor: float) -> None:
        super().__init__()
        hidden = max(channels // 2, 4)
        self.floor = float(floor)
        self.body = nn.Sequential(nn.Conv2d(2 * channels, hidden, 3, padding=1, bias=False),
                                  nn.LeakyReLU(0.2, inplace=True),
                                  nn.Conv2d(hidden, 1, 3, padding=1, bias=True))

    def forward(self, current: torch.Tensor, history: torch.Tensor) -> torch.Tensor:
        logit = self.body(torch.cat([current, history], dim=1))
        return self.floor + (1.0 - self.floor) * torch.sigmoid(logit)


def initial_causal_flows(batch: int, n: int, h: int, w: int, mask_init: float, like: torch.Tensor) -> torch.Tensor:
    """The "zero flow, fully visible" flow state of one frame: [N, 3n, H, W] (towards i-1 only)."""
    f = torch.zeros(batch, n, 3, h, w, device=like.device, dtype=like.dtype)
    f[:, :, 2] = mask_init
    return f.reshape(batch, 3 * n, h, w)


class CausalHRBPBlock(RefinementBlock):
    """forward(F [N,C,H,W], f [N,3n,H,W], code [N,d_u], history [N,C,H,W] | None, kernels [N,3k^2,H,W] | None)
    -> (F' [N,C,H,W], f' [N,3n,H,W]); F' is also the state to pass as ``history`` for the next frame."""

    def __init__(self, cfg: CausalConfig, degradation_aware: bool, update_flows: bool = True) -> None:
        super().__init__()
        self.n = cfg.flows
        self.gate = TemporalBlendGate(cfg.channels, cfg.gate_floor)
        self._add_layers(cfg, degradation_aware, update_flows, fuse_in=2 * cfg.channels, flow_channels=3 * cfg.flows)

    def forward(self, feat: torch.Tensor, f: torch.Tensor, code: torch.Tensor, history: torch.Tensor | None,
                kernels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        nb, c, h, w = feat.shape
        n = self.n
        fl = f.reshape(nb, n, 3, h, w)
        flows, masks = fl[:, :, :2], fl[:, :, 2:]
        if history is None:          # no past: the frame itself with zero flow (as at the bidirectional ends)
            history = feat
            flows = torch.zeros_like(flows)
        elif history.shape != feat.shape:
            raise ValueError(f"CausalHRBPBlock: the carried state has shape {tuple(history.shape)} but this frame's "
                             f"features are {tuple(feat.shape)}; reset the state when the frame size changes")
        warped = multi_flow_warp(history.to(feat.dtype), flows, masks)
        weight = self.gate(feat, warped)
        blended = weight * feat + (1.0 - weight) * warped
        fused = self.fuse(torch.cat([feat, blended], dim=1))
        f_new = self._update_flows(f, fused)
        return self._attend(fused, code, kernels), f_new
