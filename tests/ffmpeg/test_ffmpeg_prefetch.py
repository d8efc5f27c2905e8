"""Decoding runs ahead of the engine on a background thread (ffmpeg_filter.prefetch): in order, bounded, errors
raised where they happened in the sequence, and nothing left running when the consumer stops early."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from ffmpegfix import FailingRestorer, NearestRestorer

from ffmpeg_filter import pipeline
from ffmpeg_filter.prefetch import POLL_S, Prefetcher


def wait_for(condition, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_items_come_in_order_and_the_producer_runs_at_most_depth_ahead():
    produced: list[int] = []

    def source():
        for i in range(20):
            produced.append(i)
            yield i

    items = Prefetcher(source(), 3).items()
    assert next(items) == 0
    # while the consumer holds item 0 the producer fills the queue (3) and waits with one more item in hand
    assert wait_for(lambda: len(produced) == 5)
    time.sleep(3 * POLL_S)
    assert len(produced) == 5
    assert list(items) == list(range(1, 20))


def test_a_producer_error_is_raised_after_the_items_before_it():
    def source():
        yield from (0, 1, 2)
        raise OSError("decoder failed at frame 3")

    got = []
    with pytest.raises(OSError, match="decoder failed at frame 3"):
        for item in Prefetcher(source(), 2).items():
            got.append(item)
    assert got == [0, 1, 2]


def test_stopping_early_ends_the_thread_and_closes_the_source():
    closed = threading.Event()

    def source():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    prefetcher = Prefetcher(source(), 2, name="test-prefetch")
    items = prefetcher.items()
    assert [next(items) for _ in range(3)] == [0, 1, 2]
    items.close()
    assert closed.wait(5.0)
    prefetcher.thread.join(5.0)
    assert not prefetcher.thread.is_alive()


def test_a_stop_event_ends_the_iteration_while_the_source_stalls():
    stop, release = threading.Event(), threading.Event()

    def stalling():
        yield 0
        release.wait(10.0)          # a live input with no data
        yield 1

    items = Prefetcher(stalling(), 2).items(stop)
    assert next(items) == 0
    threading.Timer(0.1, stop.set).start()
    assert list(items) == []        # ends on the stop flag, within a poll interval
    release.set()


def test_depth_must_be_positive():
    with pytest.raises(ValueError, match="depth=0 must be at least 1"):
        Prefetcher(iter(()), 0)


def test_the_tool_decodes_on_its_own_thread(sdr_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    threads: set[str] = set()
    real = pipeline.decode_range

    def recording(*args, **kwargs):
        for frame in real(*args, **kwargs):
            threads.add(threading.current_thread().name)
            yield frame

    monkeypatch.setattr(pipeline, "decode_range", recording)
    report = pipeline.run(pipeline.RunOptions(input=str(sdr_clip), output=str(tmp_path / "o.mkv"), progress="none",
                                              exposure_from="none", user_args=["-preset", "ultrafast"]),
                          restorer=NearestRestorer(2))
    assert report.frames == 24 and threads == {"fmanet-decode"}


def test_close_stops_the_thread_of_an_abandoned_consumer():
    """A consumer left suspended by an exception (its generator never closed) would keep the thread polling;
    close() ends it."""
    prefetcher = Prefetcher(iter(range(100)), 2)
    items = prefetcher.items()
    assert next(items) == 0
    assert wait_for(lambda: prefetcher._handover.full())
    prefetcher.close()
    prefetcher.thread.join(5.0)
    assert not prefetcher.thread.is_alive()


def test_a_failed_run_leaves_no_decoder_thread(sdr_clip: Path, tmp_path: Path):
    with pytest.raises(RuntimeError, match="engine failed at frame 5") as failure:   # kept: its traceback holds
        pipeline.run(pipeline.RunOptions(input=str(sdr_clip), output=str(tmp_path / "o.mkv"), progress="none",
                                         exposure_from="none", user_args=["-preset", "ultrafast"]),
                     restorer=FailingRestorer(2))
    assert wait_for(lambda: not any(t.name == "fmanet-decode" for t in threading.enumerate()))   # the run's frames
    assert failure.traceback
