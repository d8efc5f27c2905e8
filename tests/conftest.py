"""Shared test set-up.

Torch runs on one thread in every test: the test models are tiny, and on a 2-core machine (CI's size) a second
OpenMP thread mostly spins at barriers (measured up to 10x the CPU time for the same tiny-model run), while the
VapourSynth and ffmpeg tests already keep the second core busy.
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

torch.set_num_threads(1)
