"""Shared test set-up: keep torch to the 2 cores CI has and make runs reproducible."""
import os

os.environ.setdefault("OMP_NUM_THREADS", "2")

import torch  # noqa: E402

torch.set_num_threads(2)
