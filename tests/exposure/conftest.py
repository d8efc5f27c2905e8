"""Shared set-up for the exposure-metadata tests: make ``expofix`` (fixture writers) importable in any
pytest import mode, and keep the tests single-threaded on the shared 2-core machine."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
