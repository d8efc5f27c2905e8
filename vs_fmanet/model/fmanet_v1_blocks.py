"""Building blocks of FMA-Net (CVPR 2024, "v1") on ``[B, C, T, H, W]`` tensors: per-frame convs, warps, FRMA block.

FMA-Net works on a short window of T frames (T = 3) and restores only its centre frame. Its per-frame 2-D
convolutions are written as Conv3d with a (1, k, k) kernel, so nothing mixes across time; the parameter names here
(``conv_f.0``, ``conv_Fw``, ``rdb_KD``, ``multi_attn_block.i.co_attn`` ...) are those of the official checkpoints,
so they load unchanged. The ideas shared with FMA-Net++ (RDB, MDTA, GDFN, LayerNorm, backward warping) come from
the sibling modules; only the FMA-Net arrangement of them lives here (spec §10.2).

Flow layout (``f``, per frame, 3n channels): n groups of (flow_x, flow_y, occlusion logit); flows in LR pixels,
pointing from the centre frame to frame t, i.e. ``warp(F_t, f_t)`` aligns frame t onto the centre frame.
"""
from __future__ import annotations

import torch
from torch import nn

import torch.nn.functional as F

from .attention import GDFN, MDTA
from .dense import RDB, spatial_conv
from .norm import LayerNorm2d
from .warping import multi_flow_warp


class FrameConv3d(nn.Conv3d):
    """A Conv3d whose kernel is (1, k, k), computed as a Conv2d over the frames folded into the batch.

    Same parameters (``weight`` [O, I, 1, k, k], ``bias``) and the same result as ``nn.Conv3d``; PyTorch's CPU
    3-D convolution has no fast path for such kernels, and the 2-D one is about 3x faster there.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = x.shape
        y = F.conv2d(x.transpose(1, 2).reshape(b * t, c, h, w), self.weight.squeeze(2), self.bias,
                     self.stride[1:], self.padding[1:], self.dilation[1:], self.groups)
        return y.reshape(b, t, y.shape[1], y.shape[2], y.shape[3]).transpose(1, 2)


def fold_frame_convs(module: nn.Module) -> nn.Module:
    """Swap every per-frame ``nn.Conv3d`` (kernel (1, k, k), no temporal stride/padding) inside ``module`` for a
    :class:`FrameConv3d` holding the same Parameter objects; state-dict keys and values are unchanged."""
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if (type(child) is nn.Conv3d and child.kernel_size[0] == 1 and child.stride[0] == 1
                    and child.padding[0] == 0 and child.dilation[0] == 1 and child.padding_mode == "zeros"):
                with torch.device("meta"):
                    fast = FrameConv3d(child.in_channels, child.out_channels, child.kernel_size, child.stride,
                                       child.padding, child.dilation, child.groups, child.bias is not None)
                fast.weight = child.weight
                fast.bias = child.bias
                setattr(parent, name, fast)
    return module


def conv_block(cin: int, mid: int, cout: int) -> nn.Sequential:
    """Per-frame (1x3x3) conv -> LeakyReLU(0.2) -> (1x3x3) conv, no bias (indices 0 and 2 as in the checkpoints)."""
    return nn.Sequential(spatial_conv(cin, mid, 3, 3), nn.LeakyReLU(0.2, inplace=True), spatial_conv(mid, cout, 3, 3))


def flatten_time(x: torch.Tensor) -> torch.Tensor:
    """[B, C, T, H, W] -> [B, C*T, H, W], channel index c*T + t."""
    b, c, t, h, w = x.shape
    return x.reshape(b, c * t, h, w)


def repeat_time(x: torch.Tensor, t: int) -> torch.Tensor:
    """[B, C, H, W] -> [B, C, T, H, W] (the same map at every time step)."""
    return x.unsqueeze(2).expand(-1, -1, t, -1, -1)


def warp_frames(x: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Occlusion-aware multi-flow backward warp of every frame.

    x: [B, C, T, H, W]; flow: [B, 3n, T, H, W] with n groups of (flow_x, flow_y, mask logit), C divisible by n.
    Channel group k of frame t is sampled at p + flow_k(p) and multiplied by sigmoid(mask_k). Returns [B, C, T, H, W].
    """
    b, c, t, h, w = x.shape
    n = flow.shape[1] // 3
    if flow.shape[1] != 3 * n or c % n:
        raise ValueError(f"warp_frames: flow has {flow.shape[1]} channels for {c} feature channels; it needs 3n "
                         f"channels with n dividing {c}")
    feats = x.transpose(1, 2).reshape(b * t, c, h, w)
    f = flow.transpose(1, 2).reshape(b * t, n, 3, h, w)
    out = multi_flow_warp(feats, f[:, :, :2], f[:, :, 2:])
    return out.reshape(b, t, c, h, w).transpose(1, 2)


class MultiAttentionBlock(nn.Module):
    """Pre-norm residual attention on the aggregated centre feature F_w [B, C, H, W].

    F_w += CO-Attn(LN(F_w), query = F_c^0); F_w += GDFN(LN(F_w)); in Net_R additionally
    F_w += DA-Attn(LN(F_w), query = kernel feature k); F_w += GDFN(LN(F_w)).
    """

    def __init__(self, channels: int, heads: int, ffn_expansion: float, degradation_aware: bool) -> None:
        super().__init__()
        self.norm1 = LayerNorm2d(channels)
        self.co_attn = MDTA(channels, heads)
        self.norm2 = LayerNorm2d(channels)
        self.ffn1 = GDFN(channels, ffn_expansion)
        self.degradation_aware = degradation_aware
        if degradation_aware:
            self.norm3 = LayerNorm2d(channels)
            self.da_attn = MDTA(channels, heads)
            self.norm4 = LayerNorm2d(channels)
            self.ffn2 = GDFN(channels, ffn_expansion)

    def forward(self, fused: torch.Tensor, centre: torch.Tensor,
                kernel_query: torch.Tensor | None = None) -> torch.Tensor:
        fused = fused + self.co_attn(self.norm1(fused), query=centre)
        fused = fused + self.ffn1(self.norm2(fused))
        if self.degradation_aware:
            if kernel_query is None:
                raise ValueError("MultiAttentionBlock: the Net_R block needs the kernel query (DA attention)")
            fused = fused + self.da_attn(self.norm3(fused), query=kernel_query)
            fused = fused + self.ffn2(self.norm4(fused))
        return fused


class FRMABlock(nn.Module):
    """Flow-guided Recurrent Multi-Attention block (one of M; spec §10.2).

    ``forward(feat [B,C,T,H,W], centre [B,C,H,W], flow [B,3n,T,H,W] | None, fused [B,C,H,W] | None,
    kernel_feat [B,C,T,H,W] | None) -> (feat, flow, fused)``:

    1. feat <- RDB(feat) (per frame, unwarped);
    2. flow <- ConvBlock([F_c^0, feat]) if no flow comes in (first Net_D block), else
       flow <- flow + ConvBlock([F_c^0, flow, warp(feat, flow)]);
    3. fused <- 1x1 conv([fused, flatten_T(warp(feat, flow))]) (without ``fused`` in the first block);
    4. Net_R only: kernel query k = 1x1 conv(flatten_T(RDB(kernel_feat)));
    5. ``attn_repeats`` x MultiAttentionBlock on ``fused``.
    """

    def __init__(self, channels: int, frames: int, flows: int, rdb_layers: int, growth: int, heads: int,
                 ffn_expansion: float, attn_repeats: int, *, first: bool, flow_in: bool,
                 degradation_aware: bool) -> None:
        super().__init__()
        c, t, f = channels, frames, 3 * flows
        self.rdb = RDB(c, rdb_layers, growth, spatial_dims=3)
        if degradation_aware:
            self.rdb_KD = RDB(c, rdb_layers, growth, spatial_dims=3)
            self.conv_KD = nn.Conv2d(c * t, c, 1, bias=False)
        self.conv_Fw = nn.Conv2d(c * t if first else c * (t + 1), c, 1, bias=False)
        self.conv_f = conv_block(2 * c + f if flow_in else 2 * c, f, f)
        self.multi_attn_block = nn.ModuleList(
            [MultiAttentionBlock(c, heads, ffn_expansion, degradation_aware) for _ in range(attn_repeats)])
        self.first = first
        self.flow_in = flow_in
        self.degradation_aware = degradation_aware

    def forward(self, feat: torch.Tensor, centre: torch.Tensor, flow: torch.Tensor | None,
                fused: torch.Tensor | None, kernel_feat: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        t = feat.shape[2]
        feat = self.rdb(feat)
        centre_t = repeat_time(centre, t)
        if self.flow_in:
            if flow is None:
                raise ValueError("FRMABlock: this block refines an incoming flow, but none was given")
            flow = flow + self.conv_f(torch.cat([centre_t, flow, warp_frames(feat, flow)], dim=1))
        else:
            flow = self.conv_f(torch.cat([centre_t, feat], dim=1))
        aligned = flatten_time(warp_frames(feat, flow))
        if self.first:
            fused = self.conv_Fw(aligned)
        else:
            if fused is None:
                raise ValueError("FRMABlock: a later block needs the previous block's aggregated feature F_w")
            fused = self.conv_Fw(torch.cat([fused, aligned], dim=1))
        query = None
        if self.degradation_aware:
            if kernel_feat is None:
                raise ValueError("FRMABlock: Net_R blocks need the kernel embedding of K^D")
            query = self.conv_KD(flatten_time(self.rdb_KD(kernel_feat)))
        for block in self.multi_attn_block:
            fused = block(fused, centre, query)
        return feat, flow, fused
