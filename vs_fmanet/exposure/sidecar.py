"""User sidecar reader: per-frame (or per-clip) exposure in CSV or JSON, written by a person or a tool.

CSV: a header row, then one row per frame. Columns (case-insensitive; aliases in brackets):

* ``frame_index`` [frame, index, i] and/or ``pts_s`` [time_s, t, pts, timestamp] -- which frame; rows are
  matched by ``pts_s`` (seconds from the first frame) when every row has one, otherwise by ``frame_index``;
* ``exposure_s`` [exposure, exposure_time, shutter] -- seconds (``0.01``), ``1/x`` or ``NNNdeg``; or
  ``shutter_angle_deg`` [shutter_angle, angle_deg] -- degrees;
* optional ``capture_fps`` (``24000/1001``) -- capture rate, used for angles and as the fraction's
  interval; optional ``source`` (ignored, for the user's notes).

JSON: ``{"version": 1, "capture_fps": "24000/1001", "frames": [{"i": 0, "t": 0.0, "exposure": "1/48"}]}``
with the same keys per frame as the CSV columns, or a clip-level ``{"exposure": "1/50"}`` /
``{"shutter_angle_deg": 180}`` without ``frames``. A top-level list is taken as ``frames``.

Blank exposure cells and ``nan``/``none``/``-`` mean "unknown for this frame". Anything else that does not
parse raises :class:`ExposureInputError` naming the file, line and column. stdlib ``csv``/``json`` only.
"""

from __future__ import annotations

import csv
import json
import math
import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ExposureInputError
from .track import SampleSeries
from .units import angle_to_seconds, parse_exposure_text, parse_frame_rate

__all__ = ["read_sidecar", "SIDECAR_SUFFIXES"]

SIDECAR_SUFFIXES = (".csv", ".json")

_ALIASES = {
    "index": ("frame_index", "frame", "index", "i"),
    "time": ("pts_s", "time_s", "t", "pts", "timestamp"),
    "exposure": ("exposure_s", "exposure", "exposure_time", "shutter"),
    "angle": ("shutter_angle_deg", "shutter_angle", "angle_deg"),
    "capture_fps": ("capture_fps",),
}
_UNKNOWN = {"", "nan", "none", "null", "-", "n/a", "na", "unknown"}


def read_sidecar(path: str | os.PathLike, fps: float | None = None) -> SampleSeries:
    """Read a CSV or JSON exposure sidecar into samples (source ``"sidecar"``).

    ``fps``: nominal frame rate of the video (frames per second), used to convert shutter angles when the
    sidecar states no ``capture_fps``. Raises :class:`ExposureInputError` on a missing file, an unknown
    suffix, malformed content or duplicate frames."""
    path = Path(path)
    if not path.is_file():
        raise ExposureInputError(f"read_sidecar: {str(path)!r} does not exist; pass the CSV/JSON file written for "
                                 "this clip")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows, clip_fps = _csv_rows(path), None
    elif suffix == ".json":
        rows, clip_fps, clip_value = _json_rows(path)
        if clip_value is not None:
            return _clip_series(path, clip_value, clip_fps, fps)
    else:
        raise ExposureInputError(f"read_sidecar: {str(path)!r} has suffix {suffix!r}; sidecars are .csv or .json "
                                 "(DJI .SRT files are read by the srt reader)")
    return _rows_to_series(path, rows, clip_fps, fps)


def _csv_rows(path: Path) -> list[tuple[str, dict[str, str]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ExposureInputError(f"read_sidecar: cannot read {str(path)!r} as UTF-8 text ({exc})") from None
    reader = csv.DictReader(text.splitlines(), skipinitialspace=True)
    if not reader.fieldnames:
        raise ExposureInputError(f"read_sidecar: {str(path)!r} is empty; it needs a header such as "
                                 "'frame_index,pts_s,exposure_s'")
    columns = _map_columns([f or "" for f in reader.fieldnames], str(path))
    rows = []
    for row in reader:
        line = f"{path.name} line {reader.line_num}"
        if None in row:
            raise ExposureInputError(f"read_sidecar: {line} has more cells than the header; quote values that "
                                     "contain commas")
        if not any((v or "").strip() for v in row.values()):
            continue
        rows.append((line, {key: (row.get(col) or "").strip() for key, col in columns.items()}))
    return rows


def _json_rows(path: Path) -> tuple[list[tuple[str, dict[str, str]]], Any, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExposureInputError(f"read_sidecar: {str(path)!r} is not valid JSON ({exc})") from None
    clip_fps = None
    if isinstance(data, list):
        frames = data
    elif isinstance(data, dict):
        clip_fps = data.get("capture_fps")
        frames = data.get("frames")
        if frames is None:
            for key in ("exposure", "exposure_s", "shutter_angle_deg"):
                if key in data:
                    value = data[key]
                    if value is None:
                        raise ExposureInputError(f"read_sidecar: {str(path)!r} has {key!r}: null; give the clip's "
                                                 'value (e.g. "exposure": "1/100") or remove the file')
                    return [], clip_fps, (f"{value}deg" if key == "shutter_angle_deg" else value)
            raise ExposureInputError(f"read_sidecar: {str(path)!r} has neither 'frames' nor a clip-level 'exposure'; "
                                     'write {"frames": [{"i": 0, "exposure": "1/100"}, ...]}')
    else:
        raise ExposureInputError(f"read_sidecar: {str(path)!r} must hold a JSON object or list, not "
                                 f"{type(data).__name__}")
    if not isinstance(frames, list):
        raise ExposureInputError(f"read_sidecar: {str(path)!r}: 'frames' must be a list")
    if not frames:
        raise ExposureInputError(f"read_sidecar: {str(path)!r} lists no frames; write "
                                 '{"frames": [{"i": 0, "exposure": "1/100"}, ...]} or a clip-level "exposure"')
    rows = []
    for k, frame in enumerate(frames):
        where = f"{path.name} frames[{k}]"
        if not isinstance(frame, dict):
            raise ExposureInputError(f"read_sidecar: {where} must be an object like {{\"i\": 0, \"exposure\": \"1/100\"}}")
        columns = _map_columns(list(frame), where)
        rows.append((where, {key: ("" if frame[col] is None else str(frame[col])).strip()
                             for key, col in columns.items()}))
    return rows, clip_fps, None


def _map_columns(names: list[str], where: str) -> dict[str, str]:
    lowered = {n.strip().lower(): n for n in names}
    columns = {}
    for key, aliases in _ALIASES.items():
        for alias in aliases:
            if alias in lowered:
                columns[key] = lowered[alias]
                break
    if "index" not in columns and "time" not in columns:
        raise ExposureInputError(f"read_sidecar: {where} has no frame_index or pts_s column/key "
                                 f"(found {sorted(lowered)}); add one to say which frame each row is")
    if "exposure" not in columns and "angle" not in columns:
        raise ExposureInputError(f"read_sidecar: {where} has no exposure_s or shutter_angle_deg column/key "
                                 f"(found {sorted(lowered)})")
    return columns


def _rows_to_series(path: Path, rows: list[tuple[str, dict[str, str]]], clip_fps: Any, fps: float | None
                    ) -> SampleSeries:
    if not rows:
        raise ExposureInputError(f"read_sidecar: {str(path)!r} has a header but no rows")
    file_fps = _rate(clip_fps, f"{path.name} capture_fps") if clip_fps not in (None, "") else None
    by_time = all(r.get("time", "") != "" for _, r in rows)
    by_index = all(r.get("index", "") != "" for _, r in rows)
    if not by_time and not by_index:
        raise ExposureInputError(f"read_sidecar: {str(path)!r}: every row needs a pts_s (or every row a "
                                 "frame_index); some rows have neither")
    keys, seconds, capture = [], [], []
    for where, row in rows:
        row_fps = _rate(row["capture_fps"], f"{where} capture_fps") if row.get("capture_fps") else file_fps
        value = _row_seconds(where, row, row_fps, fps)
        if value is None:
            continue
        key: float | int
        if by_time:
            key = _number(row["time"], f"{where} pts_s")
        else:
            key = _integer(row["index"], f"{where} frame_index")
        keys.append(key)
        seconds.append(value)
        capture.append(float(1 / Fraction(row_fps)) if row_fps else math.nan)
    if len(set(keys)) != len(keys):
        dup = sorted({k for k in keys if keys.count(k) > 1})[:3]
        what = "pts_s" if by_time else "frame_index"
        raise ExposureInputError(f"read_sidecar: {str(path)!r} lists {what} {dup} more than once; keep one row per frame")
    label = path.name
    if by_time:
        start = np.asarray(keys, dtype=np.float64)
        return SampleSeries("sidecar", label, np.asarray(seconds), start=start, end=np.full(start.shape, np.nan),
                            capture_interval=np.asarray(capture), instants=True)
    return SampleSeries("sidecar", label, np.asarray(seconds), frame_index=np.asarray(keys, dtype=np.int64),
                        capture_interval=np.asarray(capture))


def _clip_series(path: Path, value: Any, clip_fps: Any, fps: float | None) -> SampleSeries:
    rate = _rate(clip_fps, f"{path.name} capture_fps") if clip_fps not in (None, "") else None
    seconds = float(parse_exposure_text(value if isinstance(value, str) else value, rate or fps,
                                        what=f"read_sidecar: {path.name} exposure"))
    capture = np.array([float(1 / Fraction(rate)) if rate else math.nan])
    return SampleSeries("sidecar", path.name, np.array([seconds]), clip_level=True, capture_interval=capture)


def _row_seconds(where: str, row: dict[str, str], row_fps: Any, fps: float | None) -> float | None:
    text = row.get("exposure", "")
    rate = row_fps or fps
    if text.lower() not in _UNKNOWN:
        return float(parse_exposure_text(text, rate, what=f"read_sidecar: {where} exposure_s"))
    angle = row.get("angle", "")
    if angle.lower() in _UNKNOWN:
        return None
    _number(angle, f"{where} shutter_angle_deg")
    if not rate:
        raise ExposureInputError(f"read_sidecar: {where}: shutter angle {angle} needs a frame rate; add a "
                                 "capture_fps column or pass fps=")
    return float(angle_to_seconds(Fraction(angle.strip()), rate))


def _rate(value: Any, where: str) -> Fraction | float:
    try:
        rate = parse_frame_rate(value)
    except ExposureInputError as exc:
        raise ExposureInputError(f"read_sidecar: {where}: {exc}") from None
    return rate


def _number(text: str, where: str) -> float:
    value = _float(text, where, "a number")
    if not math.isfinite(value):
        raise ExposureInputError(f"read_sidecar: {where} = {text!r} is not finite")
    return value


def _integer(text: str, where: str) -> int:
    value = _float(text, where, "a frame number")
    if not value.is_integer() or value < 0:
        raise ExposureInputError(f"read_sidecar: {where} = {text!r} must be a whole frame number >= 0")
    return int(value)


def _float(text: str, where: str, expected: str) -> float:
    """``float(text)``; a cell that is not a number raises naming ``where`` and what was ``expected``."""
    try:
        return float(text)
    except ValueError:
        raise ExposureInputError(f"read_sidecar: {where} = {text!r} is not {expected}") from None
