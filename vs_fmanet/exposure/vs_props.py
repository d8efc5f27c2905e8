"""Attach per-frame exposure to a VapourSynth clip as frame properties.

Properties written on every frame (names are the contract with ``vs_fmanet.fmanet()``):

* ``FMANetExposure`` (float): fraction of the frame interval, NaN = unknown (the model estimates it);
* ``FMANetExposureSeconds`` (float): exposure in seconds, NaN = unknown;
* ``FMANetExposureSource`` (str): ``gpmf``, ``srt``, ``exif``, ``sidecar``, ``override``, ... or ``none``.

A clip with exactly twice the track's frames at twice its rate is taken as a double-rate deinterlace of the
source (QTGMC, ``bwdif`` at field rate: the usual treatment of 1080i camcorder footage): both output frames of
source frame k get its exposure, and the fraction is of the field interval (half the source frame interval).
"""

from __future__ import annotations

import logging
import math
import os

import numpy as np
import vapoursynth as vs

from .errors import ExposureInputError
from .probe import probe_exposure
from .track import ExposureTrack
from .units import DUTY_TOLERANCE

__all__ = ["PROP_FRACTION", "PROP_SECONDS", "PROP_SOURCE", "attach_exposure_props"]

log = logging.getLogger(__name__)

PROP_FRACTION = "FMANetExposure"
PROP_SECONDS = "FMANetExposureSeconds"
PROP_SOURCE = "FMANetExposureSource"


def attach_exposure_props(clip: vs.VideoNode, track_or_path: ExposureTrack | str | os.PathLike, *,
                          override: str | float | None = None, prefer: str = "auto",
                          sidecar: str | os.PathLike | None = None, fps: float | None = None,
                          strict: bool = True) -> vs.VideoNode:
    """Return ``clip`` with exposure frame props on every frame.

    Args:
        clip: the clip whose frames correspond one-to-one to the track's frames.
        track_or_path: an :class:`ExposureTrack`, or a path probed with :func:`probe_exposure` (``override``,
            ``prefer``, ``sidecar``, ``fps`` are passed on; ``fps`` defaults to the clip's rate). A track
            probed without any frame rate (stills without one) gets its fractions from the clip's rate, or on a
            variable-rate clip (fps 0) from each frame's ``_DurationNum/_DurationDen``.
        strict: when the frame counts differ, raise (True) or pad with unknown / drop the surplus and log a
            warning (False).

    Raises:
        ExposureInputError: frame-count mismatch with ``strict=True``, or a bad path / option.
    """
    if not isinstance(clip, vs.VideoNode):
        raise ExposureInputError(f"attach_exposure_props: clip must be a vapoursynth.VideoNode, got {type(clip).__name__}")
    clip_rate = clip.fps_num / clip.fps_den if clip.fps_num and clip.fps_den else None
    if isinstance(track_or_path, ExposureTrack):
        if override is not None or sidecar is not None or prefer != "auto" or fps is not None:
            raise ExposureInputError("attach_exposure_props: override/sidecar/prefer/fps apply only when a path is "
                                     "given; pass them to probe_exposure() instead")
        track = track_or_path
    else:
        track = probe_exposure(track_or_path, fps=fps or clip_rate, override=override, prefer=prefer, sidecar=sidecar)
    n = clip.num_frames
    fraction, seconds, source = track.fraction, track.seconds, list(track.source)
    # a track that knew no frame rate: seconds but no fraction
    rateless = bool(np.any(np.isfinite(track.seconds)) and not np.any(np.isfinite(track.fraction)))
    if len(track) and n == 2 * len(track) and _is_double_rate(clip, track):
        fraction, seconds, source = _per_field(track)
        log.info("attach_exposure_props: %d frames at twice the rate of %r: double-rate deinterlace, each source "
                 "frame's exposure goes to both of its fields", n, track.path)
    elif rateless and clip_rate:
        fraction, source = _at_clip_rate(track, clip_rate)
    per_frame_rate = rateless and clip_rate is None
    if per_frame_rate:
        log.info("attach_exposure_props: %r had no frame rate and the clip has none (variable rate): fractions use "
                 "each frame's _DurationNum/_DurationDen", track.path)
    if len(fraction) != n:
        message = (f"attach_exposure_props: the clip has {n} frames but the exposure track of {track.path!r} has "
                   f"{len(track)}; trim the clip or the track so that they match (a double-rate deinterlaced clip "
                   "must have exactly twice the frames at twice the rate)")
        if strict:
            raise ExposureInputError(message + " (or pass strict=False to pad with unknown exposure)")
        log.warning("%s; padding/dropping because strict=False", message)
        pad = max(0, n - len(track))
        fraction = np.concatenate([fraction[:n], np.full(pad, np.nan)])
        seconds = np.concatenate([seconds[:n], np.full(pad, np.nan)])
        source = (source + ["none"] * pad)[:n]
    fraction_list = [float(v) for v in fraction]
    seconds_list = [float(v) for v in seconds]

    def set_props(n: int, f: vs.VideoFrame) -> vs.VideoFrame:
        out = f.copy()
        fraction_n, source_n = fraction_list[n], source[n]
        if per_frame_rate and math.isnan(fraction_n):
            fraction_n, source_n = _of_frame_duration(seconds_list[n], f.props, source_n)
        out.props[PROP_FRACTION] = fraction_n
        out.props[PROP_SECONDS] = seconds_list[n]
        out.props[PROP_SOURCE] = source_n
        return out

    return clip.std.ModifyFrame(clips=clip, selector=set_props)


def _is_double_rate(clip: vs.VideoNode, track: ExposureTrack) -> bool:
    """True when the clip's frame rate is twice the track's (within 1 %)."""
    if not (clip.fps_num and clip.fps_den):
        return False
    intervals = track.interval[np.isfinite(track.interval)]
    if intervals.size == 0:
        return False
    track_fps = 1.0 / float(np.median(intervals))
    return abs(clip.fps_num / clip.fps_den - 2.0 * track_fps) <= 0.01 * 2.0 * track_fps


def _per_field(track: ExposureTrack) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """[2N] fraction of the field interval, [2N] seconds and sources: each source frame's values twice. A
    fraction above 1 (beyond :data:`~.units.DUTY_TOLERANCE`: an exposure longer than a field, impossible for
    interlaced capture) becomes unknown."""
    seconds = np.repeat(track.seconds, 2)
    fraction = seconds / np.repeat(track.interval / 2.0, 2)
    source = [s for s in track.source for _ in range(2)]
    too_long = fraction > 1.0 + DUTY_TOLERANCE
    if np.any(too_long):
        first = int(np.flatnonzero(too_long)[0])
        log.warning("attach_exposure_props: %d field(s) would be exposed longer than a field interval (first: "
                    "output frame %d, %.6g s); not interlaced capture? Their exposure is left to the model",
                    int(too_long.sum()), first, seconds[first])
        source = ["none" if bad else s for s, bad in zip(source, too_long)]
    fraction = np.where(too_long, np.nan, np.minimum(fraction, 1.0))
    return fraction, seconds, source


def _at_clip_rate(track: ExposureTrack, fps: float) -> tuple[np.ndarray, list[str]]:
    """[N] fraction of the clip's frame interval (1 / ``fps`` s) and sources, for a track that knew no frame rate;
    an exposure longer than the interval (beyond :data:`~.units.DUTY_TOLERANCE`) becomes unknown."""
    fraction = track.seconds * fps
    too_long = fraction > 1.0 + DUTY_TOLERANCE
    source = ["none" if bad else s for s, bad in zip(track.source, too_long)]
    if np.any(too_long):
        first = int(np.flatnonzero(too_long)[0])
        log.warning("attach_exposure_props: %d frame(s) of %r would be exposed longer than the clip's frame interval "
                    "(first: frame %d, %.6g s at %.6g fps); their exposure is left to the model",
                    int(too_long.sum()), track.path, first, track.seconds[first], fps)
    log.info("attach_exposure_props: %r had no frame rate; fractions use the clip's %.6g fps", track.path, fps)
    return np.where(too_long, np.nan, np.minimum(fraction, 1.0)), source


def _of_frame_duration(seconds: float, props: vs.FrameProps, source: str) -> tuple[float, str]:
    """(fraction, source) of one frame of a variable-rate clip: ``seconds`` over the frame's own duration
    (``_DurationNum / _DurationDen`` seconds); unknown ("none") without a duration or beyond
    :data:`~.units.DUTY_TOLERANCE` of it."""
    num, den = props.get("_DurationNum", 0), props.get("_DurationDen", 0)
    if not (math.isfinite(seconds) and num > 0 and den > 0):
        return math.nan, "none" if math.isfinite(seconds) else source
    fraction = seconds * den / num
    if fraction > 1.0 + DUTY_TOLERANCE:
        log.warning("attach_exposure_props: %.6g s is longer than its frame's duration %d/%d s; that frame's exposure "
                    "is left to the model", seconds, num, den)
        return math.nan, "none"
    return min(fraction, 1.0), source
