"""Fixtures for the causal-mode tests: tiny random-weight causal models, clips made in code (nothing downloaded).

Helpers from tests/engine (``make_clip``) and tests/vs (``clip_from_array``, ``to_array``) are shared.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
_TESTS = Path(__file__).resolve().parents[1]
for _sub in ("engine", "vs"):
    if str(_TESTS / _sub) not in sys.path:
        sys.path.insert(0, str(_TESTS / _sub))
