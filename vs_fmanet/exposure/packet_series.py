"""The loop shared by the timed-track readers (camm, djmd, rtmd, gpmf, DJI SRT): parse each packet, turn a
corrupt one into a warning instead of failing the track, and collect one exposure sample per packet.

Times are seconds on the video timeline (see :mod:`.container`); exposures are seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import numpy as np

from .container import TimedPacket
from .errors import ExposureFormatError
from .track import SampleSeries

__all__ = ["parsed_packets", "PacketSamples"]

T = TypeVar("T")


def parsed_packets(packets: list[TimedPacket], what: str, parse: Callable[..., T], warnings: list[str],
                   on_error: str) -> Iterator[tuple[int, TimedPacket, T]]:
    """Yield ``(k, packet, parse(packet.payload, where=where))`` for every packet whose parse succeeds.

    ``where`` is ``f"{what} #{k} at t={packet.start:.3f} s"`` (``what`` e.g. ``"camm (label) sample"``). A
    packet whose parse raises :class:`ExposureFormatError` is skipped and ``f"{exc}; {on_error}"`` is
    appended to ``warnings``, so one corrupt sample costs only itself."""
    for k, packet in enumerate(packets):
        where = f"{what} #{k} at t={packet.start:.3f} s"
        try:
            parsed = parse(packet.payload, where=where)
        except ExposureFormatError as exc:
            warnings.append(f"{exc}; {on_error}")
            continue
        yield k, packet, parsed


class PacketSamples:
    """One exposure sample per packet, covering [packet start, packet end) seconds (end NaN when the
    packet's duration is unknown), collected into a :class:`SampleSeries`."""

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.ends: list[float] = []
        self.values: list[float] = []

    def add(self, packet: TimedPacket, seconds: float) -> None:
        """Record ``seconds`` of exposure for ``packet``."""
        self.starts.append(packet.start)
        self.ends.append(packet.start + packet.duration if math.isfinite(packet.duration) else math.nan)
        self.values.append(seconds)

    def series(self, source: str, label: str, warnings: list[str], **extra: Any) -> SampleSeries:
        """The collected samples [S] as a start/end :class:`SampleSeries`; ``extra`` goes to its constructor
        (e.g. ``capture_interval``)."""
        return SampleSeries(source, label, np.asarray(self.values, dtype=np.float64), start=np.asarray(self.starts),
                            end=np.asarray(self.ends), warnings=warnings, **extra)
