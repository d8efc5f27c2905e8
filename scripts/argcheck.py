"""Argument checks shared by the scripts: refuse a value that would crash later, naming the flag (argparse's own
``error``: usage line and exit code 2)."""
from __future__ import annotations

import argparse


def require_at_least(parser: argparse.ArgumentParser, args: argparse.Namespace, minimum: int, *flags: str) -> None:
    """``parser.error`` for the first of ``flags`` (attribute names, e.g. ``"lr_size"``) whose value is below
    ``minimum``; unset (None) values are left to their defaults."""
    for flag in flags:
        value = getattr(args, flag)
        if value is not None and value < minimum:
            parser.error(f"--{flag.replace('_', '-')} {value}: must be at least {minimum}")
