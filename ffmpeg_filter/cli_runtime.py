"""What every command-line tool here does around its real work: stderr logging, SIGTERM, exit codes.

``run_cli(prog, argv, parse, body, ...)`` parses the arguments (a ``UsageError`` -> exit 2 with one line on stderr),
attaches the log handlers (stderr, and ``--log-file`` when given), turns SIGTERM into :class:`Terminated`, runs
``body(ns, passthrough) -> exit code`` and maps failures to the documented exit codes: a ``FilterError`` to its own
code, Ctrl-C to 130, SIGTERM to 143, anything else to 1 with a clean one-line message. Handlers and the previous
SIGTERM handler are restored afterwards, so the tools can be called from Python repeatedly.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from .errors import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_USAGE, FilterError, Terminated, UsageError

log = logging.getLogger(__name__)


class UsageErrorParser(argparse.ArgumentParser):
    """ArgumentParser that raises UsageError instead of exiting, so :func:`run_cli` controls the exit code."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


class _PrefixFormatter(logging.Formatter):
    def __init__(self, prog: str) -> None:
        super().__init__()
        self.prog = prog

    def format(self, record: logging.LogRecord) -> str:
        return f"{self.prog}: {record.levelname.lower()}: {record.getMessage()}"


def _level(ns: argparse.Namespace | None) -> int:
    if ns is None:
        return logging.WARNING
    if getattr(ns, "log_level", None):
        return getattr(logging, ns.log_level.upper())
    if getattr(ns, "verbose", False):
        return logging.INFO
    if getattr(ns, "quiet", False):
        return logging.ERROR
    return logging.WARNING


def attach_logging(prog: str, ns: argparse.Namespace | None, loggers: Sequence[str]
                   ) -> list[tuple[logging.Logger, logging.Handler, int]]:
    """Attach a ``prog: level: message`` stderr handler (and a ``--log-file`` handler) to ``loggers``.

    Returns (logger, handler, the logger's previous level) triples for :func:`detach_logging`."""
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(_PrefixFormatter(prog))
    console.setLevel(_level(ns))
    handlers: list[logging.Handler] = [console]
    if ns is not None and getattr(ns, "log_file", None):
        fh = logging.FileHandler(ns.log_file, encoding="utf-8")
        fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        fh.setLevel(logging.DEBUG)
        handlers.append(fh)
    attached = []
    for name in loggers:
        logger = logging.getLogger(name)
        previous = logger.level
        for h in handlers:
            logger.addHandler(h)
            attached.append((logger, h, previous))
        logger.setLevel(min(h.level for h in handlers))
    return attached


def detach_logging(attached: list[tuple[logging.Logger, logging.Handler, int]]) -> None:
    """Undo :func:`attach_logging`: remove and close the handlers, give each logger its previous level back."""
    closed = set()
    for logger, h, previous in attached:
        logger.removeHandler(h)
        logger.setLevel(previous)
        if id(h) not in closed:
            h.close()
            closed.add(id(h))


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated()


def run_cli(prog: str, argv: Sequence[str] | None,
            parse: Callable[[list[str]], tuple[argparse.Namespace, list[str]]],
            body: Callable[[argparse.Namespace, list[str]], int], *,
            loggers: Sequence[str] = ("",), interrupted: str | Callable[[argparse.Namespace], str] = "interrupted",
            terminated: str | Callable[[argparse.Namespace], str] = "terminated") -> int:
    """Run one command-line invocation; returns its exit code (see the module docstring). ``interrupted`` and
    ``terminated`` are the messages logged on Ctrl-C and SIGTERM, or functions of the parsed arguments giving them
    (what happened to the output depends on the options)."""
    args = list(sys.argv[1:] if argv is None else argv)
    attached: list[tuple[logging.Logger, logging.Handler, int]] = []
    previous_term = None
    ns: argparse.Namespace | None = None
    try:
        try:
            ns, passthrough = parse(args)
        except UsageError as exc:
            sys.stderr.write(f"{prog}: error: {exc}\n")
            return EXIT_USAGE
        attached = attach_logging(prog, ns, loggers)
        try:
            previous_term = signal.signal(signal.SIGTERM, _raise_terminated)
        except ValueError:  # not the main thread (e.g. called from a worker thread): keep the default
            previous_term = None
        return body(ns, passthrough)
    except FilterError as exc:
        log.error("%s", exc)
        return exc.exit_code
    except KeyboardInterrupt:
        log.error("%s", _message(interrupted, ns, "interrupted"))
        return EXIT_INTERRUPTED
    except Terminated:
        log.error("%s", _message(terminated, ns, "terminated"))
        return EXIT_TERMINATED
    except Exception as exc:  # an undiagnosed failure: still a clean message and exit code 1
        log.error("unexpected error (%s): %s", type(exc).__name__, exc)
        log.debug("traceback", exc_info=True)
        return EXIT_FAILURE
    finally:
        if previous_term is not None:
            signal.signal(signal.SIGTERM, previous_term)
        detach_logging(attached)


def _message(message: str | Callable[[argparse.Namespace], str], ns: argparse.Namespace | None,
             fallback: str) -> str:
    """The Ctrl-C/SIGTERM message of this invocation (``fallback`` when the arguments were not parsed yet)."""
    if isinstance(message, str):
        return message
    return fallback if ns is None else message(ns)
