"""Exceptions raised by the exposure-metadata readers.

Every message names the function or reader, the file (and frame or sample where known), what was wrong and
how to fix it, so that a user who only sees the message can act on it.
"""

from __future__ import annotations

__all__ = ["ExposureError", "ExposureFormatError", "ExposureInputError"]


class ExposureError(ValueError):
    """Base class of every error raised by :mod:`vs_fmanet.exposure`."""


class ExposureInputError(ExposureError):
    """The caller's input is unusable: a missing file, a bad override, an unknown ``prefer`` value, a
    malformed user sidecar. Fix the argument or the file named in the message."""


class ExposureFormatError(ExposureError):
    """A metadata payload is corrupt or truncated (a GPMF item longer than its payload, an rtmd local set
    running past the sample, a protobuf varint cut short). Readers catch this per sample and turn it into a
    warning plus per-frame ``none``; it only escapes when a whole file cannot be read."""
