"""Synthetic multi-exposure training data and the SYN-ME / SYN-RE benchmarks (issue 4).

Sharp photos from package registries (``sources``; fixed train/test ``split``) are turned into clips with
smooth random camera motion and moving foreground layers (``motion``, ``scene``), rendered as sub-frames and
integrated over each frame's exposure window in linear light (``renderer``, ``colour``), with per-frame duty
cycles (``exposure_schedule``), optional sensor noise / compression (``degrade``), anti-aliased bicubic
downsampling (``resize``) and exact ground-truth flow and occlusion (``flow``). ``clip.render_clip`` ties one
clip together; ``TrainingSampler`` batches them for the trainer; ``benchmark`` yields the fixed benchmarks.

Exposure is always a duty cycle r in (0, 1] (fraction of the frame interval). The front ends never import this
package (architecture.md).
"""
from .benchmarks import BENCHMARK_NAMES, BENCHMARK_SIZES, BenchmarkConfig, benchmark
from .clip import render_clip
from .degrade import DegradationConfig
from .exposure_schedule import ExposureSchedule, continuous, fixed_level, random_walk, sample_schedule
from .flow import ground_truth_flow, warp_backward
from .sampler import TrainingSampler
from .scene import SceneSpec, sample_scene
from .sources import SOURCES, SourceImage, catalogue, source_root

__all__ = ["TrainingSampler", "benchmark", "BENCHMARK_NAMES", "BENCHMARK_SIZES", "BenchmarkConfig", "render_clip",
           "DegradationConfig", "ExposureSchedule", "fixed_level", "continuous", "random_walk", "sample_schedule",
           "ground_truth_flow", "warp_backward", "SceneSpec", "sample_scene", "SOURCES", "SourceImage", "catalogue",
           "source_root"]
