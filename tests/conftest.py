"""Shared test set-up.

Torch runs on one thread in every test: the test models are tiny, and on a 2-core machine (CI's size) a second
OpenMP thread mostly spins at barriers (measured up to 10x the CPU time for the same tiny-model run), while the
VapourSynth and ffmpeg tests already keep the second core busy.

When a test fails, one line naming it, the error and the machine's state (free disk where the tests write,
available memory, open file descriptors) is written at once, not only in the summary at the end: a CI run that is
later cut off by its time limit still says why its first failures happened. The per-test time limit
(``timeout`` in pyproject.toml, pytest-timeout) turns a hang into a stack dump instead of a silent stall.
"""
import os
import resource
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)

_ROOT = Path(__file__).resolve().parents[1]
# the scripts import their shared helpers (argcheck, report_json) as siblings, which `python scripts/x.py` finds by
# itself; tests that load a script as a module need the folder on the path, whichever test directory runs first
sys.path.insert(0, str(_ROOT / "scripts"))
_IMMEDIATE_REPORTS = 20     # failures reported as they happen (the summary at the end has them all)
_reported = 0
_reporter = None            # pytest's terminal writer: it reaches the real terminal while output is captured


def machine_state() -> str:
    """Free disk in the temporary folder (MiB), available memory (MiB), open descriptors of this process and
    their limit, and any of the checkout's own files that went missing: what a run that fails for reasons
    outside the code under test is usually short of."""
    parts = []
    try:
        parts.append(f"free disk in {tempfile.gettempdir()}: {shutil.disk_usage(tempfile.gettempdir()).free >> 20} MiB")
    except OSError as exc:
        parts.append(f"free disk unknown ({exc})")
    try:
        with open("/proc/meminfo") as fh:
            info = dict(line.split(":", 1) for line in fh)
        parts.append(f"memory available: {int(info['MemAvailable'].split()[0]) >> 10} MiB")
    except (OSError, KeyError, ValueError):
        pass
    try:
        parts.append(f"open fds: {len(os.listdir('/proc/self/fd'))} of {resource.getrlimit(resource.RLIMIT_NOFILE)[0]}")
    except OSError:
        pass
    missing = [name for name in ("pyproject.toml", "tests/fixtures", "models") if not (_ROOT / name).exists()]
    if missing:
        parts.append(f"missing from the checkout: {', '.join(missing)}")
    return ", ".join(parts)


def pytest_sessionstart(session: pytest.Session) -> None:
    global _reporter
    _reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if _reporter is not None:
        _reporter.write_line(f"machine: {os.cpu_count()} CPUs, {machine_state()}")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    global _reported
    if not report.failed or _reporter is None or _reported >= _IMMEDIATE_REPORTS:
        return
    _reported += 1
    crash = getattr(report.longrepr, "reprcrash", None)
    reason = crash.message.splitlines()[0][:300] if crash is not None and crash.message else str(report.longrepr)[-300:]
    _reporter.write("\n")
    _reporter.write_line(f"{report.when} failed: {report.nodeid}: {reason} [{machine_state()}]")
