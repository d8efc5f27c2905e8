"""The FMA-Net++ network (pure torch, no I/O): presets, building blocks and ``build_model``."""
from .config import PRESETS, ModelConfig, get_config
from .fmanetpp import SUPPORTED_SCALES, FMANetPP, build_model, count_parameters
from .fmanet_v1 import FMANET_V1_PRESETS, FMANetV1, FMANetV1Config
from .fmanet_v1_sequence import FMANetV1Sequence
from .registry import NETWORKS, build_network, infer_network_from_state_dict

__all__ = ["PRESETS", "ModelConfig", "get_config", "FMANetPP", "build_model", "count_parameters", "SUPPORTED_SCALES",
           "FMANetV1", "FMANetV1Config", "FMANetV1Sequence", "FMANET_V1_PRESETS", "NETWORKS", "build_network",
           "infer_network_from_state_dict"]
