"""Starting the command-line tools in a child process the way a terminal user does, for the signal tests, and
signalling them once they report being at the point under test.

A test runner started in the background (``cmd &`` in a script) ignores SIGINT, and children inherit that, so
Python installs no Ctrl-C handler in them. The child therefore starts through a one-line wrapper that restores
Python's own Ctrl-C handler and then runs the tool's module. Not ``preexec_fn``: it runs Python code between fork
and exec, which can deadlock when the test process has other threads (FFmpeg's or the engine's), as it did once
in CI.
"""
from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

_WRAPPER = ("import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "module = sys.argv.pop(1); sys.argv[0] = module; runpy.run_module(module, run_name='__main__')")


_SCRIPT_WRAPPER = ("import os, runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
                   "sys.argv.pop(0); sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0])); "
                   "runpy.run_path(sys.argv[0], run_name='__main__')")


def interactive_command(module: str, *args: str) -> list[str]:
    """argv that runs ``python -m module args...`` with the default Ctrl-C behaviour, whatever this process has."""
    return [sys.executable, "-c", _WRAPPER, module, *args]


def interactive_script(path: str, *args: str) -> list[str]:
    """argv that runs ``python path args...`` (a script) with the default Ctrl-C behaviour."""
    return [sys.executable, "-c", _SCRIPT_WRAPPER, path, *args]


def signal_when_ready(proc: subprocess.Popen, ready: Callable[[str], bool], sig: int, *, ready_s: float = 90,
                      exit_s: float = 60, settle_s: float = 0.0,
                      feed: Callable[[], None] | None = None) -> tuple[int, str]:
    """Watch ``proc``'s stderr (a pipe, text or bytes) line by line until ``ready(line)``, wait ``settle_s``, send
    ``sig`` and wait for the exit; returns (exit code, all stderr so far). ``feed`` runs once the watcher reads
    (e.g. writing the child's stdin, which must not block on a full stderr pipe). The child is killed whatever
    fails, and each failure message carries its stderr."""
    import threading
    import time

    lines: list[str] = []
    seen = threading.Event()

    def watch() -> None:
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
            lines.append(line)
            if ready(line):
                seen.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        if feed is not None:
            feed()
        assert seen.wait(ready_s), "".join(lines)
        time.sleep(settle_s)
        assert proc.poll() is None, "".join(lines)
        proc.send_signal(sig)
        code = proc.wait(timeout=exit_s)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdin is not None:
            proc.stdin.close()
    watcher.join(timeout=10)
    return code, "".join(lines)
