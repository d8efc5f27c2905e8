"""One entry point for every network the engine can run: ``build_network(name, preset, scale)``.

Names: ``"fmanetpp"`` (FMA-Net++, presets "paper", "small", "tiny"; scales 1, 2, 4), ``"fmanetpp-causal"`` (its causal
low-latency variant, presets "causal-paper", "causal-small", "causal-tiny" and their look-ahead forms "-k1", "-k2";
scales 1, 2, 4; also has ``step()`` and ``causal = True``) and ``"fmanet"`` (FMA-Net,
CVPR 2024, as a sequence model: presets "official" = the published network, "small" = the test fixture's size;
scale 4). Every network built here has the same interface: ``forward(lr [B,T,3,H,W] RGB in [0,1], exposure=None)
-> [B,T,3,sH,sW]``, ``.scale``, ``.config``, ``.temporal_radius``.
"""
from __future__ import annotations

import functools
from collections.abc import Mapping

import torch
from torch import nn

from .causal import build_causal_model
from .causal_config import CAUSAL_PRESETS
from .config import PRESETS
from .fmanet_v1 import FMANET_V1_PRESETS, SUPPORTED_SCALES_V1
from .fmanet_v1_sequence import build_fmanet_v1_sequence
from .fmanetpp import SUPPORTED_SCALES, build_model

NETWORKS: dict[str, dict] = {
    "fmanetpp": {"presets": tuple(PRESETS), "default": "paper", "scales": SUPPORTED_SCALES},
    "fmanet": {"presets": tuple(FMANET_V1_PRESETS), "default": "official", "scales": SUPPORTED_SCALES_V1},
    # causal low-latency FMA-Net++ (vs_fmanet.model.causal): presets "causal-<size>[-k<look-ahead>]"
    "fmanetpp-causal": {"presets": tuple(CAUSAL_PRESETS), "default": "causal-paper", "scales": SUPPORTED_SCALES},
}


def network_presets(name: str) -> tuple[str, ...]:
    """The presets known for network ``name``."""
    return _spec(name, "network_presets")["presets"]


def _spec(name: str, func: str) -> dict:
    try:
        return NETWORKS[name]
    except KeyError:
        raise ValueError(f"{func}: unknown network {name!r}; choose one of {sorted(NETWORKS)}") from None


def build_network(name: str = "fmanetpp", preset: str | None = None, scale: int = 4) -> nn.Module:
    """Build network ``name`` ("fmanetpp", "fmanetpp-causal", "fmanet") with ``preset`` (None = default) at ``scale``.

    Weights are freshly initialised (the engine loads the weights file). Raises ValueError for an unknown name,
    preset or a scale the network does not support.
    """
    spec = _spec(name, "build_network")
    preset = spec["default"] if preset is None else preset
    if preset not in spec["presets"]:
        raise ValueError(f"build_network: network {name!r} has no preset {preset!r}; choose one of "
                         f"{list(spec['presets'])}")
    if scale not in spec["scales"]:
        raise ValueError(f"build_network: network {name!r} does not support scale={scale}; supported: "
                         f"{list(spec['scales'])}")
    if name == "fmanet":
        return build_fmanet_v1_sequence(preset, scale)
    if name == "fmanetpp-causal":
        return build_causal_model(preset, scale)
    return build_model(preset, scale)


def state_dict_shapes(module: nn.Module) -> dict[str, tuple[int, ...]]:
    """``{key: shape}`` of a module's state dict."""
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def expected_shapes(name: str, preset: str | None = None, scale: int = 4) -> dict[str, tuple[int, ...]]:
    """Keys and shapes of ``build_network(name, preset, scale)``'s state dict, built without allocating weights."""
    return dict(_expected_shapes(name, preset, scale))


@functools.lru_cache(maxsize=64)
def _expected_shapes(name: str, preset: str | None, scale: int) -> tuple[tuple[str, tuple[int, ...]], ...]:
    with torch.device("meta"):
        net = build_network(name, preset, scale)
    return tuple(state_dict_shapes(net).items())


def infer_network_from_state_dict(state_dict: Mapping[str, torch.Tensor],
                                  names: tuple[str, ...] | None = None) -> tuple[str, str, int]:
    """Identify which (name, preset, scale) a state dict belongs to: the one whose keys and shapes match exactly.

    ``names`` limits the search (default: every network). Raises ValueError naming the closest candidate and what
    differs when nothing matches.
    """
    shapes = {k: tuple(v.shape) for k, v in state_dict.items()}
    best: tuple[int, str] | None = None
    for name in names or tuple(NETWORKS):
        spec = _spec(name, "infer_network_from_state_dict")
        for preset in spec["presets"]:
            for scale in spec["scales"]:
                want = expected_shapes(name, preset, scale)
                if want == shapes:
                    return name, preset, scale
                missing = want.keys() - shapes.keys()
                extra = shapes.keys() - want.keys()
                wrong = [k for k in want.keys() & shapes.keys() if want[k] != shapes[k]]
                score = len(missing) + len(extra) + len(wrong)
                detail = (f"{name!r} preset {preset!r} x{scale}: {len(missing)} missing key(s) "
                          f"{sorted(missing)[:3]}, {len(extra)} unexpected {sorted(extra)[:3]}, {len(wrong)} with "
                          f"another shape {sorted(wrong)[:3]}")
                if best is None or score < best[0]:
                    best = (score, detail)
    raise ValueError("infer_network_from_state_dict: the weights match no known network; closest: "
                     f"{best[1] if best else 'none'}")
