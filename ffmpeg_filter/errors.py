"""Exit codes and the exception types that map onto them.

Every failure the tool can diagnose is raised as a :class:`FilterError` subclass whose message names the
function or file, what was wrong and how to fix it; :func:`ffmpeg_filter.cli.main` turns it into a one-line
message on stderr and the documented exit code:

====  =====================================================================================
code  meaning
====  =====================================================================================
0     success
1     processing failure (bad or missing input, unsupported codec, encoder failure, output
      already exists without ``-y``, output not writable)
2     bad usage (unknown option, malformed time or exposure value, conflicting options)
130   interrupted by SIGINT (Ctrl-C); no output file is left behind
143   terminated by SIGTERM; no output file is left behind
====  =====================================================================================
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class FilterError(Exception):
    """A diagnosed failure of ``fmanet-ffmpeg``; ``exit_code`` is what the command returns."""

    exit_code: int = EXIT_FAILURE


class UsageError(FilterError):
    """The command line itself is wrong (exit code 2)."""

    exit_code = EXIT_USAGE


class InputError(FilterError):
    """The input is missing, unreadable, has no video stream or uses a codec PyAV cannot decode."""


class OutputError(FilterError):
    """The output exists (and ``-y`` was not given), or its folder is missing or not writable."""


class EncoderError(FilterError):
    """The ffmpeg encoder process failed; the message carries the tail of its stderr."""


class Terminated(BaseException):
    """Raised from the SIGTERM handler so that ``finally`` blocks clean up like for Ctrl-C.

    Derives from BaseException (like KeyboardInterrupt) so ordinary ``except Exception`` blocks in
    library code do not swallow it.
    """

    exit_code = EXIT_TERMINATED
