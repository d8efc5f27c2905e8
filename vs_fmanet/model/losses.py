"""Training losses that belong to the network: supervised-contrastive (SupCon) loss for the ETE."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def supcon_loss(embeddings: torch.Tensor, labels: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """Supervised contrastive loss (Khosla et al.; spec Eq. S1) over a batch.

    embeddings: [N, D] (L2-normalised here); labels: [N] ints (exposure levels). Anchors without any positive are
    skipped. temperature alpha = 0.5 as in the paper.
    """
    z = F.normalize(embeddings.float(), dim=1)
    n = z.shape[0]
    sim = z @ z.t() / temperature
    self_mask = torch.eye(n, dtype=torch.bool, device=z.device)
    sim = sim.masked_fill(self_mask, float("-inf"))
    log_prob = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    pos = (labels[:, None] == labels[None, :]) & ~self_mask
    n_pos = pos.sum(dim=1)
    has_pos = n_pos > 0
    if not bool(has_pos.any()):
        return z.sum() * 0.0
    mean_log_pos = torch.where(pos, log_prob, torch.zeros_like(log_prob)).sum(dim=1)[has_pos] / n_pos[has_pos]
    return -mean_log_pos.mean()
