"""Ctrl-C that finishes what is in flight: the first SIGINT sets an event the work loop polls (it ends cleanly: a
live recording is finalised, a training run writes its checkpoint); the second raises KeyboardInterrupt as usual.

Installed only on the main thread and only when SIGINT is not ignored: a shell starts background jobs (``cmd &``)
with SIGINT ignored, so a Ctrl-C meant for the foreground must not stop them. The previous handler is restored on
exit. (Python's ``signal`` module is all this needs; no library offers the two-stage behaviour.)
"""
from __future__ import annotations

import logging
import signal
import threading
from typing import Any


class GracefulStop:
    """Context manager; ``event`` is set by the first Ctrl-C, after logging ``message`` (what happens now) to
    ``logger``."""

    def __init__(self, message: str, logger: logging.Logger) -> None:
        self.event = threading.Event()
        self._message = message
        self._log = logger
        self._previous: Any = None
        self._installed = False

    def _handler(self, signum: int, frame: Any) -> None:
        if self.event.is_set():
            raise KeyboardInterrupt
        self.event.set()
        self._log.warning("Ctrl-C: %s (press Ctrl-C again to abort)", self._message)

    def __enter__(self) -> GracefulStop:
        current = signal.getsignal(signal.SIGINT) if threading.current_thread() is threading.main_thread() else None
        # None: a handler installed outside Python, which could not be put back; SIG_IGN: a background job
        if current is not None and current is not signal.SIG_IGN:
            self._previous = signal.signal(signal.SIGINT, self._handler)
            self._installed = True
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False
