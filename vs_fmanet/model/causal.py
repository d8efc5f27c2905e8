"""Causal FMA-Net++: joint super-resolution and deblurring for live video, one frame in, one frame out.

The bidirectional FMA-Net++ (:mod:`.fmanetpp`) restores frame i from frames i-2M .. i+2M, so a live source would
wait 2M frames for the future. This network restores frame i from frames <= i + k (k = the preset's look-ahead,
0 by default) by carrying one recurrent state tensor per HRBP block from frame i-1 (:mod:`.causal_blocks`), with a
dynamic temporal blending gate in [beta, 1] that down-weights stale or occluded history. Everything else is the
main model's: the shallow RRDB extractors, multi-flow warping, MDTA/GDFN multi-attention, degradation-aware cross
attention, ETM exposure modulation from the same :class:`.ete.ExposureCode` (metadata embedding of the duty cycle
r = exposure / frame interval, or the ETE from pixels where r is NaN), the K^D/f^Y heads, the FGDF re-blur used in
training, and the upsampler + bilinear base.

Two ways to run it (they agree to float rounding; the tests check it):

* ``forward(lr [B, T, 3, H, W], exposure [B, T])`` -> ``[B, T, 3, sH, sW]``: a whole clip, frame after frame, the
  look-ahead frames taken from the clip (the last frame repeated past its end). Training uses this, with the
  bidirectional model's losses and stages unchanged.
* ``step(frames [B, 1+k, 3, H, W], code [B, d_u], state)`` -> ``(hr [B, 3, sH, sW], state)``: one frame i given
  frames i..i+k and the state after frame i-1 (None = start of a stream or scene). The engine's streaming mode
  (:mod:`vs_fmanet.engine.causal`) calls this; memory is the state (2M tensors of [B, C, H, W]) plus k frames,
  whatever the length of the stream.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .causal_config import CausalConfig, get_causal_config
from .causal_networks import BlockState, CausalDegradationNet, CausalRestorationNet
from .config import ModelConfig
from .fmanetpp_base import FMANetPPBase


@dataclass(frozen=True)
class CausalState:
    """What frame i leaves for frame i+1: the output of every Net^D and Net^R block, each ``[B, C, H, W]``.

    Immutable: :meth:`CausalFMANetPP.step` returns a new one, so a caller can retry a frame (e.g. in fp32 after a
    NaN in fp16) from the same old state.
    """

    degradation: BlockState
    restoration: BlockState

    def tensors(self) -> list[torch.Tensor]:
        """The state tensors that exist (a fresh state has none)."""
        return [t for t in (*self.degradation, *self.restoration) if t is not None]

    @property
    def nbytes(self) -> int:
        """Bytes held by the state tensors."""
        return sum(t.numel() * t.element_size() for t in self.tensors())


class CausalFMANetPP(FMANetPPBase):
    """Causal FMA-Net++ network; ``forward`` for clips, ``step`` for streams (see the module docstring).

    The exposure code (:meth:`code_for`, per frame, hence causal), the FGDF re-blur of training and
    ``temporal_radius`` (= :attr:`lookahead`: no frame after i + k influences frame i) are the bidirectional
    model's (:class:`.fmanetpp_base.FMANetPPBase`).
    """

    causal = True

    def __init__(self, cfg: CausalConfig, scale: int = 4) -> None:
        super().__init__(cfg, scale)
        self.net_d = CausalDegradationNet(cfg)
        self.net_r = CausalRestorationNet(cfg, scale)

    def _check_config(self, cfg: ModelConfig) -> None:
        if not isinstance(cfg, CausalConfig):
            raise ValueError(f"CausalFMANetPP: needs a CausalConfig (a 'causal-*' preset), got {type(cfg).__name__}")

    @property
    def lookahead(self) -> int:
        """Future frames (i+1 .. i+k) the output of frame i depends on."""
        return self.config.lookahead

    def forward(self, lr: torch.Tensor, exposure: torch.Tensor | None = None, *,
                exposure_weight: torch.Tensor | None = None, code: torch.Tensor | None = None,
                hr_gt: torch.Tensor | None = None, return_aux: bool = False, state: CausalState | None = None,
                return_state: bool = False):
        """Restore a clip causally, as if its frames arrived one by one.

        lr:              [B, T, 3, H, W] blurry LR frames in [0, 1]
        exposure:        [B, T] duty cycle (exposure time / frame interval) in (0, 1]; NaN = unknown -> ETE
        exposure_weight: [B, T] metadata share in [0, 1] where exposure is known (default 1)
        code:            [B, T, d_u] precomputed exposure code
        hr_gt:           [B, T, 3, sH, sW] sharp frames; adds the FGDF re-blur outputs (training)
        return_aux:      return the main model's aux dict (``hr``, ``code``, ``kernels``, ``image_flow``, and with
                         ``hr_gt`` ``recon``, ``hr_warp``, ``hr_warp_mask``) instead of the HR tensor
        state:           state after the frame before ``lr[:, 0]`` (None = the clip starts a stream/scene)
        return_state:    also return the :class:`CausalState` after the last frame: ``(result, state)``

        Returns ``[B, T, 3, s*H, s*W]`` (not clamped), or the aux dict; output t depends on frames <= t + k only.
        """
        code = self._forward_code(lr, exposure, exposure_weight, code)
        degradation, d_state = self.net_d(lr, code, None if state is None else state.degradation, return_state=True)
        hr, r_state = self.net_r(lr, degradation, code, None if state is None else state.restoration,
                                 return_state=True)
        result = self._forward_result(hr, code, degradation, hr_gt, return_aux)
        return (result, CausalState(d_state, r_state)) if return_state else result

    def step(self, frames: torch.Tensor, code: torch.Tensor, state: CausalState | None = None
             ) -> tuple[torch.Tensor, CausalState]:
        """Restore one frame.

        frames: [B, 1+k, 3, H, W]: frame i then its k look-ahead frames (repeat the last one at a stream/scene end)
        code:   [B, d_u] frame i's exposure code (:meth:`code_for`)
        state:  the state returned for frame i-1, or None at the start of a stream or scene

        Returns (hr [B, 3, s*H, s*W] not clamped, the new state). Neither argument is modified.
        """
        k = self.config.lookahead
        if frames.dim() != 5 or frames.shape[1] != k + 1 or frames.shape[2] != 3:
            raise ValueError(f"CausalFMANetPP.step: frames must be [B, {k + 1}, 3, H, W] (frame i and {k} look-ahead "
                             f"frame(s)), got {tuple(frames.shape)}")
        b, _, _, h, w = frames.shape
        code = code.to(frames.dtype)
        feat = self.net_d.extract(frames.reshape(b, 3 * (k + 1), h, w))
        deg, d_state = self.net_d.step(feat, code, None if state is None else state.degradation)
        hr, r_state = self.net_r.step(frames[:, 0], deg, code, None if state is None else state.restoration)
        return hr, CausalState(d_state, r_state)


def build_causal_model(preset: str | CausalConfig = "causal-paper", scale: int = 4, **overrides) -> CausalFMANetPP:
    """Build the causal FMA-Net++ for ``preset`` ("causal-paper", "causal-small", "causal-tiny", each also with a
    look-ahead suffix "-k1"/"-k2", or a CausalConfig) at ``scale`` 4, 2 or 1; ``overrides`` change config fields."""
    return CausalFMANetPP(get_causal_config(preset, **overrides), scale=scale)
