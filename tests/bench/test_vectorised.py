"""The vectorised model paths (issue 10) against the straightforward per-direction loops they replaced: both
directions of the HRBP multi-flow warp in one grid_sample, and the re-blur's HR warps in one grid_sample."""
from __future__ import annotations

import torch

from vs_fmanet.model import build_model
from vs_fmanet.model.fgdf import fgdf_downsample
from vs_fmanet.model.hrbp import edge_validity, neighbour_pairs, neighbours, split_flows
from vs_fmanet.model.warping import backward_warp, multi_flow_warp, upsample_flow


def _model(preset: str, scale: int = 4, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    m = build_model(preset, scale=scale).eval()
    g = torch.Generator().manual_seed(seed + 1)
    for name, mod in m.named_modules():      # non-identity exposure modulation, as after training
        if name.endswith("etm"):
            mod.mlp[2].weight.data = 0.2 * torch.randn(mod.mlp[2].weight.shape, generator=g)
    return m


def test_neighbour_pairs_equal_neighbours() -> None:
    x = torch.rand(2, 5, 3, 4, 6)
    nxt, prv = neighbours(x)
    pairs = neighbour_pairs(x)
    assert pairs.shape == (2, 5, 2, 3, 4, 6)
    assert torch.equal(pairs[:, :, 0], nxt) and torch.equal(pairs[:, :, 1], prv)
    one = torch.rand(1, 1, 3, 2, 2)
    assert torch.equal(neighbour_pairs(one)[:, :, 0], one) and torch.equal(neighbour_pairs(one)[:, :, 1], one)


def _block_reference(block, feat, f, code, kernels=None):
    """HRBPBlock.forward as first written: one multi-flow warp per direction."""
    b, t, c, h, w = feat.shape
    n, nb = block.n, b * t
    flows, masks = split_flows(f.reshape(nb, 6 * n, h, w), n)
    flows = flows * edge_validity(b, t, feat.device, flows.dtype).reshape(nb, 2, 1, 1, 1, 1)
    f_next, f_prev = neighbours(feat)
    warped_next = multi_flow_warp(f_next.reshape(nb, c, h, w), flows[:, 0], masks[:, 0])
    warped_prev = multi_flow_warp(f_prev.reshape(nb, c, h, w), flows[:, 1], masks[:, 1])
    fused = block.fuse(torch.cat([feat.reshape(nb, c, h, w), warped_prev, warped_next], dim=1))
    f_flat = f.reshape(nb, 6 * n, h, w)
    f_new = f_flat if block.flow_update is None else f_flat + block.flow_update(torch.cat([f_flat, fused], 1))
    query = None if block.kernel_embed is None else block.kernel_embed(kernels.reshape(nb, -1, h, w))
    out = block.etm(block.attention(fused, query), code.reshape(nb, -1))
    return out.reshape(b, t, c, h, w), f_new.reshape(b, t, 6 * n, h, w)


def test_hrbp_blocks_match_the_per_direction_loop() -> None:
    m = _model("small")
    cfg = m.config
    b, t, h, w = 2, 4, 7, 9
    g = torch.Generator().manual_seed(3)
    feat = torch.randn(b, t, cfg.channels, h, w, generator=g)
    f = 2.0 * torch.randn(b, t, 6 * cfg.flows, h, w, generator=g)       # flows of a few pixels, mixed masks
    code = torch.randn(b, t, cfg.code_dim, generator=g)
    kernels = torch.rand(b, t, 3 * cfg.kernel_size ** 2, h, w, generator=g)
    with torch.no_grad():
        for block, k in ((m.net_d.blocks[0], None), (m.net_r.blocks[0], kernels), (m.net_r.blocks[-1], kernels)):
            out, f_out = block(feat, f, code, k)
            ref_out, ref_f = _block_reference(block, feat, f, code, k)
            assert (out - ref_out).abs().max() < 1e-5 and (f_out - ref_f).abs().max() < 1e-5


def _reblur_reference(model, kernels, image_flow, hr):
    """FMANetPP.reblur as first written: one backward warp per direction and one for the all-ones image."""
    b, t, c, sh, sw = hr.shape
    s, k = model.scale, model.config.kernel_size
    h, w = image_flow.shape[-2:]
    nb = b * t
    fl = image_flow.reshape(nb, 2, 3, h, w)
    valid = torch.ones(b, t, 2)
    valid[:, -1, 0] = 0
    valid[:, 0, 1] = 0
    flows = fl[:, :, :2] * valid.reshape(nb, 2, 1, 1, 1)
    y_next, y_prev = neighbours(hr)
    ones = torch.ones(nb, 1, sh, sw)
    warped, vis = [], []
    for d, src in ((0, y_next), (1, y_prev)):
        flow_hr = upsample_flow(flows[:, d], s)
        occ = torch.sigmoid(upsample_flow(fl[:, d, 2:3], s) / s if s > 1 else fl[:, d, 2:3])
        warped.append(backward_warp(src.reshape(nb, c, sh, sw), flow_hr))
        vis.append(backward_warp(ones, flow_hr) * occ)
    frames = torch.stack([warped[1], hr.reshape(nb, c, sh, sw), warped[0]], dim=1)
    visibility = torch.stack([vis[1], ones, vis[0]], dim=1)
    recon = fgdf_downsample(kernels.reshape(nb, 3, k * k, h, w), frames, visibility, k, s)
    return recon.reshape(b, t, c, h, w), torch.stack(warped, 1).reshape(b, t, 2, c, sh, sw), \
        torch.stack(vis, 1).reshape(b, t, 2, 1, sh, sw)


def test_reblur_matches_the_per_direction_loop() -> None:
    for preset, scale in (("tiny", 4), ("small", 2), ("tiny", 1)):
        m = _model(preset, scale)
        g = torch.Generator().manual_seed(7)
        lr = torch.rand(1, 4, 3, 6, 5, generator=g)
        hr = torch.rand(1, 4, 3, 6 * scale, 5 * scale, generator=g)
        with torch.no_grad():
            aux = m(lr, return_aux=True)
            flow = aux["image_flow"] + 1.5 * torch.randn(aux["image_flow"].shape, generator=g)   # real motion
            got = m.reblur(aux["kernels"], flow, hr)
            recon, hr_warp, mask = _reblur_reference(m, aux["kernels"], flow, hr)
        assert (got["recon"] - recon).abs().max() < 1e-5
        assert (got["hr_warp"] - hr_warp).abs().max() < 1e-5
        assert (got["hr_warp_mask"] - mask).abs().max() < 1e-5
