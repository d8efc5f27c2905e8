"""Starting the command-line tools in a child process the way a terminal user does, for the signal tests.

A test runner started in the background (``cmd &`` in a script) ignores SIGINT, and children inherit that, so
Python installs no Ctrl-C handler in them. The child therefore starts through a one-line wrapper that restores
Python's own Ctrl-C handler and then runs the tool's module. Not ``preexec_fn``: it runs Python code between fork
and exec, which can deadlock when the test process has other threads (FFmpeg's or the engine's), as it did once
in CI.
"""
from __future__ import annotations

import sys

_WRAPPER = ("import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "module = sys.argv.pop(1); sys.argv[0] = module; runpy.run_module(module, run_name='__main__')")


def interactive_command(module: str, *args: str) -> list[str]:
    """argv that runs ``python -m module args...`` with the default Ctrl-C behaviour, whatever this process has."""
    return [sys.executable, "-c", _WRAPPER, module, *args]
