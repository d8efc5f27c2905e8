"""Causal Net^D and Net^R: the main model's networks with causal HRBP blocks and one recurrent state per block.

Each network works in two forms that compute the same thing:

* ``step(...)`` restores one frame: tensors ``[N, ...]`` for frame i plus the per-block state from frame i-1
  (a tuple of ``[N, C, H, W]`` tensors, or None entries for "no history"); returns frame i's outputs and the new
  state. This is what streaming inference calls, one frame at a time.
* ``forward(...)`` runs a whole clip ``[B, T, ...]`` by calling ``step`` for t = 0..T-1 (the per-frame feature
  extractor runs on all frames at once, it has no temporal input); this is what training uses, so the data engine,
  losses and stages of the bidirectional model apply unchanged.

Look-ahead k: the first convolution of Net^D sees frames i..i+k stacked on channels (3(k+1) channels; an early
fusion [INF], cheap and without alignment, which lets the blur estimate of frame i use the next frames). Past the
end of a clip (or of a scene, in the engine) the last frame is repeated. Net^R and the bilinear base see frame i
only. Output heads are the main model's: K^D over (i-1, i, i+1) and the image flow f^Y towards i+1 and i-1, so the
exposure-aware FGDF re-blur (training only, it uses the sharp frames) and every loss are shared; f^Y towards i+1
is extrapolated from the past (plus the look-ahead) rather than measured.
"""
from __future__ import annotations

import torch
from torch import nn

from .causal_blocks import CausalHRBPBlock, initial_causal_flows
from .causal_config import CausalConfig
from .hrbp import conv_pair
from .networks import (_feature_extractor, _per_frame, block_stack, restoration_layers, upscale_bilinear,
                       visible_image_flow)

BlockState = tuple[torch.Tensor | None, ...]


def lookahead_stack(lr: torch.Tensor, lookahead: int) -> torch.Tensor:
    """lr [B, T, 3, H, W] -> [B, T, 3(k+1), H, W]: frame t carries frames t..t+k (the last frame repeated past T-1)."""
    if lookahead == 0:
        return lr
    t = lr.shape[1]
    idx = [min(t - 1, i + d) for i in range(t) for d in range(lookahead + 1)]
    stacked = lr[:, idx]                                                      # [B, T*(k+1), 3, H, W]
    return stacked.reshape(lr.shape[0], t, (lookahead + 1) * lr.shape[2], *lr.shape[3:])


def _run_blocks(blocks: nn.ModuleList, feat: torch.Tensor, f: torch.Tensor, code: torch.Tensor,
                state: BlockState | None, kernels: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, BlockState]:
    """One frame through the causal blocks: feat [N,C,H,W], flows f [N,3n,H,W], code [N,d_u], the state from the
    frame before (None = no history) and, in Net^R, kernels [N,3k^2,H,W] -> (feat, f, new state = every block's
    output)."""
    state = (None,) * len(blocks) if state is None else state
    new_state = []
    for block, history in zip(blocks, state):
        feat, f = block(feat, f, code, history, kernels)
        new_state.append(feat)
    return feat, f, tuple(new_state)


class CausalDegradationNet(nn.Module):
    """Causal Net^D. ``step(feat0, code, state)`` for one frame; ``forward(lr, code, state)`` for a clip.

    Per frame: ``features`` [N,C,H,W]; ``flows`` [N,3n,H,W]; ``kernels`` K^D [N,3k_d^2,H,W] (softmax over the taps;
    source order i-1, i, i+1); ``image_flow`` f^Y [N,6,H,W] (towards i+1, towards i-1: flow_x, flow_y, occlusion
    logit, LR pixels).
    """

    def __init__(self, cfg: CausalConfig) -> None:
        super().__init__()
        self.cfg = cfg
        c, n = cfg.channels, cfg.flows
        self.extractor = _feature_extractor(3 * (cfg.lookahead + 1), cfg)
        self.blocks = block_stack(CausalHRBPBlock, cfg, degradation_aware=False)
        self.flow_head = conv_pair(3 * n + c, 3 * n, 6)
        self.kernel_head = conv_pair(c, c, 3 * cfg.kernel_size ** 2)

    def extract(self, stack: torch.Tensor) -> torch.Tensor:
        """Shallow features of frame i from its look-ahead stack [N, 3(k+1), H, W] -> [N, C, H, W]."""
        return self.extractor(stack)

    def step(self, feat: torch.Tensor, code: torch.Tensor, state: BlockState | None
             ) -> tuple[dict[str, torch.Tensor], BlockState]:
        nb, _, h, w = feat.shape
        f = initial_causal_flows(nb, self.cfg.flows, h, w, self.cfg.mask_init, feat)
        feat, f, new_state = _run_blocks(self.blocks, feat, f, code, state)
        kernels = self.kernel_head(feat).softmax(dim=1)
        image_flow = visible_image_flow(self.flow_head(torch.cat([f, feat], dim=1)), self.cfg.mask_init)
        return {"features": feat, "flows": f, "kernels": kernels, "image_flow": image_flow}, new_state

    def forward(self, lr: torch.Tensor, code: torch.Tensor, state: BlockState | None = None,
                return_state: bool = False):
        """lr [B,T,3,H,W], code [B,T,d_u] -> dict of [B, T, ...] tensors (see the class docstring); with
        ``return_state`` also the state after the last frame."""
        feats = _per_frame(self.extractor, lookahead_stack(lr, self.cfg.lookahead))
        outs: dict[str, list[torch.Tensor]] = {}
        for t in range(lr.shape[1]):
            out, state = self.step(feats[:, t], code[:, t], state)
            for key, value in out.items():
                outs.setdefault(key, []).append(value)
        result = {key: torch.stack(values, dim=1) for key, values in outs.items()}
        return (result, state) if return_state else result


class CausalRestorationNet(nn.Module):
    """Causal Net^R. ``step(lr_i, degradation_i, code_i, state)`` -> (hr_i [N, 3, sH, sW], state) for one frame;
    ``forward(lr, degradation, code, state)`` -> hr [B, T, 3, sH, sW] for a clip."""

    def __init__(self, cfg: CausalConfig, scale: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.scale = scale
        self.extractor, self.blocks, self.upsampler = restoration_layers(cfg, scale, CausalHRBPBlock)

    def step(self, lr: torch.Tensor, degradation: dict[str, torch.Tensor], code: torch.Tensor,
             state: BlockState | None, feat: torch.Tensor | None = None) -> tuple[torch.Tensor, BlockState]:
        """One frame: lr [N,3,H,W]; ``degradation`` holds frame i's Net^D outputs; ``feat`` = precomputed
        extractor output (else computed here)."""
        if feat is None:
            feat = self.extractor(torch.cat([lr, degradation["features"]], dim=1))
        feat, _, new_state = _run_blocks(self.blocks, feat, degradation["flows"], code, state, degradation["kernels"])
        return upscale_bilinear(lr, self.scale) + self.upsampler(feat), new_state

    def forward(self, lr: torch.Tensor, degradation: dict[str, torch.Tensor], code: torch.Tensor,
                state: BlockState | None = None, return_state: bool = False):
        feats = _per_frame(self.extractor, torch.cat([lr, degradation["features"]], dim=2))
        hrs = []
        for t in range(lr.shape[1]):
            deg_t = {k: degradation[k][:, t] for k in ("features", "flows", "kernels")}
            hr, state = self.step(lr[:, t], deg_t, code[:, t], state, feat=feats[:, t])
            hrs.append(hr)
        hr = torch.stack(hrs, dim=1)
        return (hr, state) if return_state else hr
