"""The three training stages' losses (spec §5): SupCon for the ETE, L_D for Net^D, joint L1 + 0.1 L_D.

Batch tensors follow ``vs_fmanet.data.TrainingSampler``: ``lr`` [B,T,3,h,w], ``gt`` [B,T,3,sh,sw], ``exposure`` [B,T]
(fractions), ``level`` [B,T], ``flow_fwd``/``flow_bwd`` [B,T,2,h,w] in LR pixels (flow_fwd[t] backward-warps frame
t+1 onto t; flow_bwd[t] backward-warps frame t-1 onto t).
"""
from __future__ import annotations

import torch

from vs_fmanet.model import FMANetPP
from vs_fmanet.model.losses import supcon_loss

LAMBDA_WARP = 1e-4   # lambda_1, HR warping term
LAMBDA_FLOW = 1e-4   # lambda_2, flow supervision term
LAMBDA_D = 0.1       # lambda_3, weight of L_D in the joint stage


def ete_loss(model: FMANetPP, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
    """SupCon on per-frame ETE embeddings; frames with level 0 (continuous exposure) are ignored."""
    lr, level = batch["lr"], batch["level"]
    keep = level.reshape(-1) > 0
    frames = lr.reshape(-1, *lr.shape[2:])[keep]
    emb = model.exposure_code.ete(frames)
    loss = supcon_loss(emb, level.reshape(-1)[keep])
    return loss, {"supcon": float(loss.detach())}


def degradation_terms(model: FMANetPP, out: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]
                      ) -> tuple[torch.Tensor, dict[str, float]]:
    """L_D = L1(FGDF re-blur, blurry LR) + l1 * L1(warped HR neighbours, HR) + l2 * L1(image flow, exact flow)."""
    lr, gt = batch["lr"], batch["gt"]
    recon = (out["recon"] - lr).abs().mean()
    mask = out["hr_warp_mask"]
    warp = ((out["hr_warp"] - gt[:, :, None]).abs() * mask).mean()
    fl = out["image_flow"]
    b, t = fl.shape[:2]
    valid = torch.ones(b, t, 2, 1, 1, 1, device=fl.device, dtype=fl.dtype)
    valid[:, -1, 0] = 0   # last frame has no i+1, first frame no i-1
    valid[:, 0, 1] = 0
    target = torch.stack([batch["flow_fwd"], batch["flow_bwd"]], dim=2)           # [B,T,2,2,h,w]
    pred = fl.reshape(b, t, 2, 3, *fl.shape[-2:])[:, :, :, :2]
    flow = ((pred - target).abs() * valid).mean()
    loss = recon + LAMBDA_WARP * warp + LAMBDA_FLOW * flow
    return loss, {"recon": float(recon.detach()), "warp": float(warp.detach()), "flow": float(flow.detach())}


def degradation_loss(model: FMANetPP, batch: dict[str, torch.Tensor], exposure: torch.Tensor | None
                     ) -> tuple[torch.Tensor, dict[str, float]]:
    """Stage 2: Net^D alone (the ETE is frozen by the caller)."""
    code = model.code_for(batch["lr"], exposure)
    deg = model.net_d(batch["lr"], code)
    out = model.reblur(deg["kernels"], deg["image_flow"], batch["gt"])
    out["image_flow"] = deg["image_flow"]
    return degradation_terms(model, out, batch)


def temporal_difference_loss(hr: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """L1 between the output's and the ground truth's frame-to-frame changes, ``hr``/``gt`` [B,T,3,H,W], T >= 2.

    Beyond the paper: a per-frame L1 lets each frame's error wander independently, which shows as flicker (tOF);
    this term penalises exactly the part of the error that changes from frame t-1 to t, and is zero for an output
    whose error is constant in time (so it never pulls against L1 on static content)."""
    if hr.shape[1] < 2:
        raise ValueError(f"temporal_difference_loss: needs at least 2 frames, got T={hr.shape[1]}")
    return ((hr[:, 1:] - hr[:, :-1]) - (gt[:, 1:] - gt[:, :-1])).abs().mean()


def joint_loss(model: FMANetPP, batch: dict[str, torch.Tensor], exposure: torch.Tensor | None,
               temporal_weight: float = 0.0) -> tuple[torch.Tensor, dict[str, float]]:
    """Stage 3: L1(restored, GT) + 0.1 L_D, end to end through Net^D and Net^R, plus ``temporal_weight`` times
    :func:`temporal_difference_loss` (0 by default, i.e. the paper's objective)."""
    out = model(batch["lr"], exposure, hr_gt=batch["gt"], return_aux=True)
    l_d, logs = degradation_terms(model, out, batch)
    rec = (out["hr"] - batch["gt"]).abs().mean()
    logs["l1"] = float(rec.detach())
    loss = rec + LAMBDA_D * l_d
    if temporal_weight:
        temporal = temporal_difference_loss(out["hr"], batch["gt"])
        logs["temporal"] = float(temporal.detach())
        loss = loss + temporal_weight * temporal
    return loss, logs


def metadata_dropout(exposure: torch.Tensor, keep: float, generator: torch.Generator) -> torch.Tensor:
    """Per frame, keep the true exposure with probability ``keep``, else mark it unknown (NaN -> ETE path)."""
    draw = torch.rand(exposure.shape, generator=generator).to(exposure.device)
    return torch.where(draw < keep, exposure, torch.full_like(exposure, float("nan")))
