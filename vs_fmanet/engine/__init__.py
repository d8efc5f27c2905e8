"""Inference engine: fixed temporal windows with context overlap and scene cuts, blended spatial tiles with an
automatic size and out-of-memory retry, device/precision handling with a NaN guard, and checked weights loading.

Every front end (VapourSynth plugin, ffmpeg wrapper, farm, scripts) restores frames only through this package::

    from vs_fmanet.engine import Engine
    eng = Engine(scale=4)                      # default weights from models/, CUDA if available
    hr = eng.restore(frames, exposure)         # [T, H, W, 3] float32 -> [T, 4H, 4W, 3]
    for hr_frame in eng.stream(frame_iter):    # bounded memory, identical output
        ...
"""
from .engine import Engine, restore
from .segments import Piece, grid_window_count, normalise_scene_starts, plan_grid_window, plan_windows
from .weights import (ModelCard, WeightsError, find_default_card, models_dirs, read_model_card, save_weights,
                      write_model_card)

__all__ = ["Engine", "restore", "Piece", "plan_windows", "plan_grid_window", "grid_window_count",
           "normalise_scene_starts", "ModelCard", "WeightsError", "read_model_card", "write_model_card",
           "save_weights", "find_default_card", "models_dirs"]
