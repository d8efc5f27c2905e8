"""Presets of the causal (low-latency) FMA-Net++: the bidirectional presets plus two causal knobs.

A causal preset copies every size knob of its bidirectional namesake (``causal-small`` = ``small``'s channels,
blocks, flows, kernel size, attention and ETE widths) and adds:

* ``lookahead`` k: future frames the output of frame i may see (frames i+1 .. i+k). 0 = strictly causal: frame i
  is restored from frames <= i only, so a live source needs no frame of delay. Preset names carry it as a suffix:
  ``causal-small`` (k = 0), ``causal-small-k1``, ``causal-small-k2``. It changes the weights (the first
  convolution of Net^D sees 3(k+1) channels), so it is part of the preset, not an inference option.
* ``gate_floor`` beta: lower bound of the dynamic temporal blending weight w in [beta, 1] that each block puts on
  the current frame's features against the warped history from frame i-1 (see :mod:`.causal_blocks`). beta = 0.1
  [INF]: the current frame always keeps at least 10 % of the say.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from .config import PRESETS, ModelConfig, resolve_preset

LOOKAHEADS = (0, 1, 2)
MAX_LOOKAHEAD = 8


@dataclass(frozen=True)
class CausalConfig(ModelConfig):
    """ModelConfig of the causal network; ``lookahead`` (frames) and ``gate_floor`` (beta, in [0, 1)) added."""

    lookahead: int = 0
    gate_floor: float = 0.1

    @property
    def temporal_radius(self) -> int:
        """Future frames that can influence an output frame (the look-ahead k). The past reaches back to the last
        scene start through the recurrent state, so it has no fixed radius."""
        return self.lookahead

    def validate(self) -> None:
        super().validate()
        if isinstance(self.lookahead, bool) or not isinstance(self.lookahead, int) \
                or not 0 <= self.lookahead <= MAX_LOOKAHEAD:
            raise ValueError(f"CausalConfig {self.name!r}: lookahead={self.lookahead!r} must be an integer in "
                             f"0..{MAX_LOOKAHEAD} (future frames each output may see)")
        if not 0.0 <= float(self.gate_floor) < 1.0:
            raise ValueError(f"CausalConfig {self.name!r}: gate_floor={self.gate_floor!r} must be in [0, 1)")


def _causal_from(base: ModelConfig, lookahead: int) -> CausalConfig:
    name = f"causal-{base.name}" + (f"-k{lookahead}" if lookahead else "")
    values = {f.name: getattr(base, f.name) for f in fields(ModelConfig)}
    values["name"] = name
    return CausalConfig(**values, lookahead=lookahead)


CAUSAL_PRESETS: dict[str, CausalConfig] = {
    cfg.name: cfg for cfg in (_causal_from(PRESETS[base], k) for base in ("paper", "small", "tiny") for k in LOOKAHEADS)
}


def get_causal_config(preset: str | CausalConfig, **overrides) -> CausalConfig:
    """The causal preset named ``preset`` (e.g. "causal-small", "causal-tiny-k1") or the given config, with
    ``overrides`` applied, validated."""
    def unknown() -> str:
        hint = (f" (the causal variant of {preset!r} is 'causal-{preset}')" if preset in PRESETS else "")
        return f"build_causal_model: unknown causal preset {preset!r}{hint}; choose one of {sorted(CAUSAL_PRESETS)}"
    return resolve_preset(preset, CAUSAL_PRESETS, CausalConfig, overrides, unknown)
