"""The two-stage Ctrl-C of live mode and training: the first sets the event, the second interrupts, background jobs
(SIGINT ignored) are left alone, and the previous handler comes back."""
from __future__ import annotations

import logging
import os
import signal
import time

import pytest

from vs_fmanet.graceful_stop import GracefulStop

log = logging.getLogger("test")


def test_first_ctrl_c_asks_the_second_interrupts_and_the_handler_comes_back():
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with GracefulStop("finishing", log) as stop:
            os.kill(os.getpid(), signal.SIGINT)
            assert stop.event.wait(5)
            with pytest.raises(KeyboardInterrupt):
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(5)                      # the handler raises as soon as the signal arrives
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_background_job_ignoring_ctrl_c_keeps_ignoring_it():
    """A shell starts `cmd &` with SIGINT ignored; training used to install its handler anyway, so a Ctrl-C meant
    for the foreground command stopped the background run."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with GracefulStop("finishing", log) as stop:
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGINT)
            assert not stop.event.wait(0.2)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
