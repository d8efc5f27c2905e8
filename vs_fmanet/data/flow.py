"""Exact ground-truth optical flow and occlusion between consecutive sharp frames, from the scene geometry.

Every surface moves by a known homography, so the flow of a pixel is where the surface point it shows goes.
For a query point x at frame t (HR pixel coordinates):

1. the visible surface is the top-most layer whose alpha at x is >= 0.5, else the background;
2. its texture point u = H_j(t) x lands at x' = H_j(t')^-1 u in frame t' (t' = t + 1 forward, t - 1 backward);
3. flow = x' - x;
4. the point is *occluded* (mask 1) when x' leaves the frame, when a layer above it covers x' at t'
   (alpha > 0.02), or when x itself lies on a soft layer edge (a layer at or above it has 0.02 < alpha < 0.98,
   where one flow vector cannot describe the mixed pixel).

Convention (the one the trainer relies on): flow_fwd[t] maps frame t to frame t+1 and is the *backward-warping*
flow, i.e. ``frame_{t+1}(x + flow_fwd[t](x)) ~= frame_t(x)`` wherever occ_fwd[t] == 0; flow_bwd[t] likewise maps
t to t-1: ``frame_{t-1}(x + flow_bwd[t](x)) ~= frame_t(x)``. Channel 0 is x (right), channel 1 is y (down).
At the sequence ends the missing neighbour is the edge frame itself (the model's replicate convention), so
flow_fwd[T-1] = flow_bwd[0] = 0 with occlusion 0.

Flows can be queried on any regular grid: ``step`` = s gives the grid of an s-times downsampled frame, whose
pixel p has its centre at HR coordinate s*p + (s-1)/2 (the convention of ``resize.downsample``); the flow is then
returned in that grid's pixels (HR displacement / s). step = 1 is HR.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .renderer import Scene, Surface

__all__ = ["ground_truth_flow", "warp_backward"]

OPAQUE_ALPHA = 0.5
EDGE_ALPHA = (0.02, 0.98)


def _query_points(size: tuple[int, int], step: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    h, w = size
    if h % step or w % step:
        raise ValueError(f"ground_truth_flow: HR size {h}x{w} is not a multiple of the flow grid step {step}")
    xs = torch.arange(w // step, dtype=torch.float64, device=device) * step + (step - 1) / 2.0
    ys = torch.arange(h // step, dtype=torch.float64, device=device) * step + (step - 1) / 2.0
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return gx, gy


def _apply(m: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply homographies m [..., 3, 3] to point grids x, y [..., h, w] (broadcast)."""
    m = m[..., None, None, :, :]
    den = m[..., 2, 0] * x + m[..., 2, 1] * y + m[..., 2, 2]
    return ((m[..., 0, 0] * x + m[..., 0, 1] * y + m[..., 0, 2]) / den,
            (m[..., 1, 0] * x + m[..., 1, 1] * y + m[..., 1, 2]) / den)


def _alpha_at(layer: Surface, tex_x: torch.Tensor, tex_y: torch.Tensor) -> torch.Tensor:
    """Bilinear alpha of ``layer`` at texture coordinates [N, h, w] -> [N, h, w] (0 outside the texture)."""
    th, tw = layer.texture_size
    grid = torch.stack([(2 * tex_x + 1) / tw - 1, (2 * tex_y + 1) / th - 1], dim=-1).to(torch.float32)
    alpha = layer.texture[3:4].unsqueeze(0).expand(grid.shape[0], -1, -1, -1)
    return F.grid_sample(alpha, grid, mode="bilinear", padding_mode="zeros", align_corners=False)[:, 0]


def _surface_matrices(scene: Scene, times: np.ndarray, device: torch.device) -> torch.Tensor:
    """Screen -> texture homographies [J, S, 3, 3] (J = 1 + layers, background first), float64."""
    mats = [scene.background.trajectory.matrices(times)] + [l.trajectory.matrices(times) for l in scene.layers]
    return torch.as_tensor(np.stack(mats), dtype=torch.float64, device=device)


def _flow_between(scene: Scene, h_src: torch.Tensor, h_dst: torch.Tensor, gx: torch.Tensor, gy: torch.Tensor,
                  step: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Flow and occlusion from instants with homographies h_src to h_dst ([J, N, 3, 3] each).

    Returns flow [N, 2, h, w] float32 (grid pixels) and occlusion [N, 1, h, w] float32 (1 = occluded).
    """
    n = h_src.shape[1]
    hh, ww = scene.size
    label = torch.zeros((n,) + gx.shape, dtype=torch.long, device=gx.device)
    alphas_src = []
    for j, layer in enumerate(scene.layers, start=1):
        tx, ty = _apply(h_src[j], gx, gy)
        a = _alpha_at(layer, tx, ty)
        alphas_src.append(a)
        label = torch.where(a >= OPAQUE_ALPHA, torch.full_like(label, j), label)
    # where each surface's point goes: x' = H_dst^-1 H_src x, for every surface, then pick the visible one
    moved_x, moved_y = _apply(torch.linalg.inv(h_dst) @ h_src, gx, gy)        # [J, N, h, w]
    idx = label.unsqueeze(0)
    dest_x = moved_x.gather(0, idx)[0]
    dest_y = moved_y.gather(0, idx)[0]
    occluded = (dest_x < -0.5) | (dest_x > ww - 0.5) | (dest_y < -0.5) | (dest_y > hh - 0.5)
    for j, layer in enumerate(scene.layers, start=1):
        a_src = alphas_src[j - 1]
        soft = (a_src > EDGE_ALPHA[0]) & (a_src < EDGE_ALPHA[1]) & (label <= j)
        tx, ty = _apply(h_dst[j], dest_x, dest_y)
        covers = (_alpha_at(layer, tx, ty) > EDGE_ALPHA[0]) & (label < j)
        occluded |= soft | covers
    flow = torch.stack([dest_x - gx, dest_y - gy], dim=1) / step
    return flow.to(torch.float32), occluded.unsqueeze(1).to(torch.float32)


def ground_truth_flow(scene: Scene, times: np.ndarray, step: int = 1) -> dict[str, torch.Tensor]:
    """Forward/backward flow and occlusion between consecutive instants ``times`` [T] (the sharp GT frames).

    step: flow grid = HR downsampled by ``step`` (1 = HR, s = the LR grid of scale s); flows in that grid's px.
    Returns flow_fwd, flow_bwd [T, 2, H/step, W/step] float32 and occ_fwd, occ_bwd [T, 1, H/step, W/step]
    float32 with 1 = occluded / out of view (see the module docstring for the exact convention).
    """
    times = np.asarray(times, dtype=np.float64)
    device = scene.device
    gx, gy = _query_points(scene.size, step, device)
    mats = _surface_matrices(scene, times, device)
    t = times.size
    shape = (t, 2) + tuple(gx.shape)
    flow_fwd = torch.zeros(shape, dtype=torch.float32, device=device)
    flow_bwd = torch.zeros(shape, dtype=torch.float32, device=device)
    occ_fwd = torch.zeros((t, 1) + tuple(gx.shape), dtype=torch.float32, device=device)
    occ_bwd = torch.zeros_like(occ_fwd)
    if t > 1:
        flow_fwd[:-1], occ_fwd[:-1] = _flow_between(scene, mats[:, :-1], mats[:, 1:], gx, gy, step)
        flow_bwd[1:], occ_bwd[1:] = _flow_between(scene, mats[:, 1:], mats[:, :-1], gx, gy, step)
    return {"flow_fwd": flow_fwd, "flow_bwd": flow_bwd, "occ_fwd": occ_fwd, "occ_bwd": occ_bwd}


def warp_backward(frames: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sample ``frames`` [N, C, h, w] at x + flow(x) (flow [N, 2, h, w] in pixels; bilinear, border padding).

    ``warp_backward(frame_{t+1}, flow_fwd[t])`` reconstructs frame t where it is not occluded.
    """
    n, _, h, w = frames.shape
    ys, xs = torch.meshgrid(torch.arange(h, device=frames.device, dtype=frames.dtype),
                            torch.arange(w, device=frames.device, dtype=frames.dtype), indexing="ij")
    gx = (2 * (xs + flow[:, 0]) + 1) / w - 1
    gy = (2 * (ys + flow[:, 1]) + 1) / h - 1
    return F.grid_sample(frames, torch.stack([gx, gy], dim=-1), mode="bilinear", padding_mode="border",
                         align_corners=False)
