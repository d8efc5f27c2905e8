"""The HRBP (a.k.a. HRBA) block: one step of hierarchical refinement with bidirectional propagation.

All T frames are updated in parallel; frame i only sees the step-j state of i-1 and i+1, so stacking M blocks widens
the temporal receptive field by M frames each way. Per block (spec §4.3):

1. occlusion-aware multi-flow backward warp of F_{i+1} and F_{i-1} onto i with the *current* flows f_i;
2. fusion conv of [F_i, F_{i-1->i}, F_{i+1->i}] -> F~_i (3C -> C);
3. residual flow update f_i <- f_i + Conv(LReLU(Conv([f_i, F~_i])));
4. multi-attention: ``attn_repeats`` x (self-MDTA + GDFN), then in Net^R ``attn_repeats`` x (DA cross-MDTA with the
   query from the block's kernel embedding k_i^j = conv1x1(K^D_i) + GDFN); pre-norm residuals;
5. ETM: F_i <- (1 + alpha(u_i)) * F_i + beta(u_i).

Sequence ends [INF]: the missing neighbour of the first/last frame is the frame itself with zero flow.

Flow/mask layout of ``f`` per frame: 6n channels = 2 directions (0: towards i+1, 1: towards i-1) x n pairs x
(flow_x, flow_y, mask_logit); flows in LR pixels, masks as logits (sigmoid when warping).
"""
from __future__ import annotations

import torch
from torch import nn

from .attention import GDFN, MDTA
from .config import ModelConfig
from .etm import ETM
from .norm import LayerNorm2d
from .warping import multi_flow_warp


def neighbours(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For x [B, T, ...] return (next, prev): x[i+1] and x[i-1] with the edge frame replicated at the ends."""
    nxt = torch.cat([x[:, 1:], x[:, -1:]], dim=1)
    prv = torch.cat([x[:, :1], x[:, :-1]], dim=1)
    return nxt, prv


def neighbour_pairs(x: torch.Tensor) -> torch.Tensor:
    """For x [B, T, ...] return [B, T, 2, ...]: index 0 = x[i+1], index 1 = x[i-1], edge frame replicated at the ends.

    The same values as :func:`neighbours`, gathered with one ``index_select`` (one copy instead of two ``cat`` and
    a ``stack``), in the direction layout of the flows, so both directions can be warped in one ``grid_sample``.
    """
    t = x.shape[1]
    i = torch.arange(t, device=x.device)
    index = torch.stack([(i + 1).clamp(max=t - 1), (i - 1).clamp(min=0)], dim=1).reshape(-1)   # [T*2]
    return x.index_select(1, index).reshape(x.shape[0], t, 2, *x.shape[2:])


def edge_validity(b: int, t: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """[B, T, 2] with 1 where frame i has a real neighbour towards i+1 (index 0) / i-1 (index 1), else 0."""
    v = torch.ones(b, t, 2, device=device, dtype=dtype)
    v[:, -1, 0] = 0
    v[:, 0, 1] = 0
    return v


def conv_pair(cin: int, hidden: int, cout: int) -> nn.Sequential:
    """conv3x3 cin -> hidden, LeakyReLU(0.2), conv3x3 hidden -> cout, no bias (flow updates and Net^D heads)."""
    return nn.Sequential(nn.Conv2d(cin, hidden, 3, padding=1, bias=False), nn.LeakyReLU(0.2, inplace=True),
                         nn.Conv2d(hidden, cout, 3, padding=1, bias=False))


def split_flows(f: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """f [N, 6n, H, W] -> (flows [N, 2, n, 2, H, W], mask_logits [N, 2, n, 1, H, W])."""
    nb, _, h, w = f.shape
    f = f.reshape(nb, 2, n, 3, h, w)
    return f[:, :, :, :2], f[:, :, :, 2:]


def initial_flows(b: int, t: int, n: int, h: int, w: int, mask_init: float, like: torch.Tensor) -> torch.Tensor:
    """The "zero flow, fully visible" state f^{D,0}: [B, T, 6n, H, W]."""
    f = torch.zeros(b, t, 2, n, 3, h, w, device=like.device, dtype=like.dtype)
    f[:, :, :, :, 2] = mask_init
    return f.reshape(b, t, 6 * n, h, w)


class MultiAttention(nn.Module):
    """(self-MDTA + GDFN) x repeats, then optionally (DA cross-MDTA + GDFN) x repeats; pre-norm residuals."""

    def __init__(self, cfg: ModelConfig, degradation_aware: bool) -> None:
        super().__init__()
        c = cfg.channels
        self.self_norms = nn.ModuleList([LayerNorm2d(c) for _ in range(2 * cfg.attn_repeats)])
        self.self_attn = nn.ModuleList([MDTA(c, cfg.heads) for _ in range(cfg.attn_repeats)])
        self.self_ffn = nn.ModuleList([GDFN(c, cfg.ffn_expansion) for _ in range(cfg.attn_repeats)])
        self.degradation_aware = degradation_aware
        if degradation_aware:
            self.da_norms = nn.ModuleList([LayerNorm2d(c) for _ in range(2 * cfg.attn_repeats)])
            self.da_attn = nn.ModuleList([MDTA(c, cfg.heads) for _ in range(cfg.attn_repeats)])
            self.da_ffn = nn.ModuleList([GDFN(c, cfg.ffn_expansion) for _ in range(cfg.attn_repeats)])

    def forward(self, x: torch.Tensor, kernel_query: torch.Tensor | None = None) -> torch.Tensor:
        for i, (attn, ffn) in enumerate(zip(self.self_attn, self.self_ffn)):
            x = x + attn(self.self_norms[2 * i](x))
            x = x + ffn(self.self_norms[2 * i + 1](x))
        if self.degradation_aware:
            if kernel_query is None:
                raise ValueError("MultiAttention: degradation-aware attention needs the kernel embedding query")
            for i, (attn, ffn) in enumerate(zip(self.da_attn, self.da_ffn)):
                x = x + attn(self.da_norms[2 * i](x), query=kernel_query)
                x = x + ffn(self.da_norms[2 * i + 1](x))
        return x


class RefinementBlock(nn.Module):
    """What the bidirectional and the causal HRBP block share after their temporal alignment: the fusion conv
    (``fuse``), the residual flow update (``flow_update``), multi-attention (``attention``) with the kernel
    embedding query in Net^R (``kernel_embed``) and ETM exposure modulation (``etm``).

    A subclass calls :meth:`_add_layers` in ``__init__`` and :meth:`_update_flows` / :meth:`_attend` in ``forward``.
    """

    def _add_layers(self, cfg: ModelConfig, degradation_aware: bool, update_flows: bool, fuse_in: int,
                    flow_channels: int) -> None:
        """Create the shared layers, in this order: fuse (``fuse_in`` -> C channels), flow update (on
        ``flow_channels`` flow channels + C), attention, kernel embedding (Net^R only), ETM."""
        c = cfg.channels
        self.fuse = nn.Conv2d(fuse_in, c, cfg.fusion_kernel, padding=cfg.fusion_kernel // 2, bias=False)
        # the last Net^R block's flows are never used, so it has no flow update
        self.flow_update = conv_pair(c + flow_channels, flow_channels, flow_channels) if update_flows else None
        self.attention = MultiAttention(cfg, degradation_aware)
        self.kernel_embed = nn.Conv2d(3 * cfg.kernel_size ** 2, c, 1, bias=False) if degradation_aware else None
        self.etm = ETM(cfg.code_dim, c)

    def _update_flows(self, f: torch.Tensor, fused: torch.Tensor) -> torch.Tensor:
        """f [N, F, H, W] plus the residual update from [f, fused [N, C, H, W]]; f itself without a flow update."""
        return f if self.flow_update is None else f + self.flow_update(torch.cat([f, fused], dim=1))

    def _attend(self, fused: torch.Tensor, code: torch.Tensor, kernels: torch.Tensor | None) -> torch.Tensor:
        """Multi-attention then ETM: fused [N, C, H, W], code [N, d_u], kernels K^D [N, 3k^2, H, W] (Net^R only)
        -> [N, C, H, W]."""
        query = None
        if self.kernel_embed is not None:
            if kernels is None:
                raise ValueError(f"{type(self).__name__}: Net^R blocks need the degradation kernels K^D")
            query = self.kernel_embed(kernels)
        return self.etm(self.attention(fused, query), code)


class HRBPBlock(RefinementBlock):
    """forward(F [B,T,C,H,W], f [B,T,6n,H,W], u [B,T,d_u], kernels [B,T,3k^2,H,W] | None) -> (F', f').

    ``update_flows=False`` drops the flow update (used for the last Net^R block, whose flows nothing reads).
    """

    def __init__(self, cfg: ModelConfig, degradation_aware: bool, update_flows: bool = True) -> None:
        super().__init__()
        self.n = cfg.flows
        self._add_layers(cfg, degradation_aware, update_flows, fuse_in=3 * cfg.channels, flow_channels=6 * cfg.flows)

    def forward(self, feat: torch.Tensor, f: torch.Tensor, code: torch.Tensor,
                kernels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        b, t, c, h, w = feat.shape
        n = self.n
        nb = b * t
        flows, masks = split_flows(f.reshape(nb, 6 * n, h, w), n)
        valid = edge_validity(b, t, feat.device, flows.dtype).reshape(nb, 2, 1, 1, 1, 1)
        flows = flows * valid  # the replicated edge neighbour is used with zero flow
        # both directions (and all n flow groups) in one grid_sample: directions folded into the batch
        pairs = neighbour_pairs(feat).reshape(nb * 2, c, h, w)                  # (i, 0: i+1), (i, 1: i-1)
        warped = multi_flow_warp(pairs, flows.reshape(nb * 2, n, 2, h, w),
                                 masks.reshape(nb * 2, n, 1, h, w)).reshape(nb, 2, c, h, w)
        x = feat.reshape(nb, c, h, w)
        fused = self.fuse(torch.cat([x, warped[:, 1], warped[:, 0]], dim=1))    # [F_i, F_{i-1->i}, F_{i+1->i}]
        f_new = self._update_flows(f.reshape(nb, 6 * n, h, w), fused)
        out = self._attend(fused, code.reshape(nb, -1), None if kernels is None else kernels.reshape(nb, -1, h, w))
        return out.reshape(b, t, c, h, w), f_new.reshape(b, t, 6 * n, h, w)
