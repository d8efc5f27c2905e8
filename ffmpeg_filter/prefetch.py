"""Run a producer (decoding and RGB conversion) on a background thread, ahead of its consumer (the engine).

:class:`Prefetcher` turns an iterator into one that a daemon thread fills through a bounded queue, so decoding the
next frames overlaps restoring the current ones (PyAV and swscale release the GIL, and the model runs in torch
kernels that do too), while memory stays bounded: a slow consumer blocks the producer. Items come out in order;
an exception raised by the producer is raised in the consumer at the same place in the sequence; the consumer
never blocks inside the producer, so a Ctrl-C is seen within :data:`POLL_S` seconds; when the consumer stops early
(closes the generator, or :meth:`Prefetcher.close` is called, which owners do in a ``finally``) the producer stops
at its next item. ``queue.Queue`` plus a thread instead of a library:
nothing in the standard library or the dependencies does exactly this (``concurrent.futures`` would either run the
whole producer ahead without bound or need one task per item).
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
POLL_S = 0.2          # how often the waiting threads look at their stop flags (seconds)
DECODE_AHEAD = 4      # decoded frames a file or chunk decoder may hold ready for the engine (bounded memory)
_END = object()       # end-of-input marker


class _Raised:
    """The producer's exception, handed over in sequence."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class Prefetcher:
    """Items of ``source`` produced by a daemon thread (``thread``) up to ``depth`` ahead (``depth`` >= 1), consumed
    by iterating :meth:`items` once. :meth:`close` stops the thread even when the
    consumer was abandoned mid-way by an exception, so a failed run leaves no thread behind (a thread left polling
    in a long-lived process, such as a farm worker, would also make a later ``fork`` there unsafe)."""

    def __init__(self, source: Iterable[T], depth: int, *, name: str = "fmanet-prefetch") -> None:
        if depth < 1:
            raise ValueError(f"Prefetcher: depth={depth} must be at least 1")
        self._source = source
        self._handover: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._consumer_gone = threading.Event()
        self.thread = threading.Thread(target=self._produce, name=name, daemon=True)

    def items(self, stop: threading.Event | None = None) -> Iterator[T]:
        """The items in order. ``stop``: when set, the iteration ends as if the source had ended (the producer is
        left blocked in its current item if it is waiting for input, and ends with the process; used by live
        inputs that may stall)."""
        self.thread.start()
        try:
            while stop is None or not stop.is_set():
                try:
                    item = self._handover.get(timeout=POLL_S)
                except queue.Empty:
                    continue
                if item is _END:
                    return
                if isinstance(item, _Raised):
                    raise item.exc
                yield item
        finally:
            self._consumer_gone.set()

    def close(self) -> None:
        """Stop the producer: it ends at its next item (or at once if it is waiting to hand one over)."""
        self._consumer_gone.set()

    def _put(self, item: Any) -> bool:
        while not self._consumer_gone.is_set():
            try:
                self._handover.put(item, timeout=POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        source = iter(self._source)
        try:
            for item in source:
                if not self._put(item):
                    return
        except BaseException as exc:   # handed to the consumer and raised there
            self._put(_Raised(exc))
            return
        finally:   # a generator source (a decoder) closes its files here, on this thread, even when left early
            close = getattr(source, "close", None)
            if close is not None:
                close()
        self._put(_END)
