"""Attach per-frame exposure to a VapourSynth clip as frame properties.

Properties written on every frame (names are the contract with ``vs_fmanet.fmanet()``):

* ``FMANetExposure`` (float): fraction of the frame interval, NaN = unknown (the model estimates it);
* ``FMANetExposureSeconds`` (float): exposure in seconds, NaN = unknown;
* ``FMANetExposureSource`` (str): ``gpmf``, ``srt``, ``exif``, ``sidecar``, ``override``, ... or ``none``.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import vapoursynth as vs

from .errors import ExposureInputError
from .probe import probe_exposure
from .track import ExposureTrack

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
            ``prefer``, ``sidecar``, ``fps`` are passed on; ``fps`` defaults to the clip's rate).
        strict: when the frame counts differ, raise (True) or pad with unknown / drop the surplus and log a
            warning (False).

    Raises:
        ExposureInputError: frame-count mismatch with ``strict=True``, or a bad path / option.
    """
    if not isinstance(clip, vs.VideoNode):
        raise ExposureInputError(f"attach_exposure_props: clip must be a vapoursynth.VideoNode, got {type(clip).__name__}")
    if isinstance(track_or_path, ExposureTrack):
        if override is not None or sidecar is not None or prefer != "auto":
            raise ExposureInputError("attach_exposure_props: override/sidecar/prefer apply only when a path is given; "
                                     "pass them to probe_exposure() instead")
        track = track_or_path
    else:
        clip_fps = clip.fps_num / clip.fps_den if clip.fps_den and clip.fps_num else None
        track = probe_exposure(track_or_path, fps=fps or clip_fps, override=override, prefer=prefer, sidecar=sidecar)
    n = clip.num_frames
    fraction, seconds, source = track.fraction, track.seconds, list(track.source)
    if len(track) != n:
        message = (f"attach_exposure_props: the clip has {n} frames but the exposure track of {track.path!r} has "
                   f"{len(track)}; trim the clip or the track so that they match")
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
        out.props[PROP_FRACTION] = fraction_list[n]
        out.props[PROP_SECONDS] = seconds_list[n]
        out.props[PROP_SOURCE] = source[n]
        return out

    return clip.std.ModifyFrame(clips=clip, selector=set_props)
