"""The FMA-Net++ network (pure torch, no I/O): presets, building blocks and ``build_model``."""
from .config import PRESETS, ModelConfig, get_config
from .fmanetpp import SUPPORTED_SCALES, FMANetPP, build_model, count_parameters

__all__ = ["PRESETS", "ModelConfig", "get_config", "FMANetPP", "build_model", "count_parameters", "SUPPORTED_SCALES"]
