"""Image sequence in, image sequence out: each restored still carries the camera metadata (EXIF) of its own input
still (camera, orientation, capture time, exposure, GPS), with the restored size and without the vendor MakerNote,
inserted without touching ffmpeg's pixel data; --no-metadata and formats that cannot hold EXIF are respected."""
from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest
from ffmpegfix import NearestRestorer

from ffmpeg_filter import cli
from ffmpeg_filter.still_exif import insert_exif

SHUTTERS = [100, 125, 160, 200, 250, 320]


def write_burst(folder: Path, start: int = 7, offset: str | None = None) -> list[Path]:
    """Six 32x24 JPEGs as a camera writes them: IFD0 camera and orientation, an Exif IFD with a per-frame shutter
    and capture time, the 32x24 pixel size and a MakerNote, a GPS IFD. ``offset`` (e.g. "+02:00") adds the time
    zone (OffsetTimeOriginal) and a sub-second time of 0.25 s."""
    from PIL import ExifTags, Image
    from PIL.TiffImagePlugin import IFDRational

    folder.mkdir()
    yy, xx = np.mgrid[0:24, 0:32]
    files = []
    for k, shutter in enumerate(SHUTTERS):
        rgb = np.stack([(xx * 8 + k * 10) % 256, (yy * 10) % 256, np.full_like(xx, 40 * k)], -1).astype(np.uint8)
        exif = Image.Exif()
        exif[ExifTags.Base.Make] = "Synthetic"
        exif[ExifTags.Base.Model] = "Burst 1"
        exif[ExifTags.Base.Orientation] = 6
        sub = exif.get_ifd(ExifTags.IFD.Exif)
        sub[ExifTags.Base.ExposureTime] = IFDRational(1, shutter)
        sub[ExifTags.Base.DateTimeOriginal] = f"2026:11:23 10:00:{k:02d}"
        if offset is not None:
            sub[ExifTags.Base.OffsetTimeOriginal] = offset
            sub[ExifTags.Base.SubsecTimeOriginal] = "25"
        sub[ExifTags.Base.ExifImageWidth], sub[ExifTags.Base.ExifImageHeight] = 32, 24
        sub[ExifTags.Base.MakerNote] = b"VENDOR\x00\x01\x02\x03 offsets into the original file"
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps[ExifTags.GPS.GPSLatitudeRef] = "N"
        gps[ExifTags.GPS.GPSLatitude] = (IFDRational(52), IFDRational(30), IFDRational(0))
        path = folder / f"shot_{start + k:04d}.jpg"
        Image.fromarray(rgb).save(path, exif=exif.tobytes(), quality=95)
        files.append(path)
    return files


def exif_of(path: Path) -> dict:
    from PIL import ExifTags, Image

    with Image.open(path) as img:
        exif = img.getexif()
        sub, gps = exif.get_ifd(ExifTags.IFD.Exif), exif.get_ifd(ExifTags.IFD.GPSInfo)
        return {"make": exif.get(ExifTags.Base.Make), "model": exif.get(ExifTags.Base.Model),
                "orientation": exif.get(ExifTags.Base.Orientation),
                "shutter": None if ExifTags.Base.ExposureTime not in sub else
                round(1 / float(sub[ExifTags.Base.ExposureTime])),
                "taken": sub.get(ExifTags.Base.DateTimeOriginal),
                "size": (sub.get(ExifTags.Base.ExifImageWidth), sub.get(ExifTags.Base.ExifImageHeight)),
                "maker_note": ExifTags.Base.MakerNote in sub, "lat_ref": gps.get(ExifTags.GPS.GPSLatitudeRef)}


def pixels(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        return next(c.decode(video=0)).to_ndarray(format="rgb24")


def run(shots: Path, out_pattern: Path, *extra: str) -> dict:
    out_pattern.parent.mkdir(exist_ok=True)
    report = out_pattern.parent.parent / f"{out_pattern.parent.name}.json"
    code = cli.main(["-i", str(shots), "--fps", "10", "-o", str(out_pattern), "--progress", "none",
                     "--report", str(report), *extra])
    assert code == 0
    return json.loads(report.read_text())


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_each_output_still_carries_its_own_input_exif(tmp_path: Path, nearest: NearestRestorer, suffix: str):
    shots = write_burst(tmp_path / "shots")
    assert exif_of(shots[0])["maker_note"] and exif_of(shots[0])["size"] == (32, 24)
    # unpadded numbering (r_7 .. r_12) so that name order is not frame order
    report = run(tmp_path / "shots", tmp_path / "out" / f"r_%d{suffix}")
    bare = run(tmp_path / "shots", tmp_path / "bare" / f"r_%d{suffix}", "--no-metadata")
    assert report["exif_copied"] == 6 and bare["exif_copied"] is None
    for k, shutter in enumerate(SHUTTERS):
        out = tmp_path / "out" / f"r_{7 + k}{suffix}"
        assert exif_of(out) == {"make": "Synthetic", "model": "Burst 1", "orientation": 6, "shutter": shutter,
                                "taken": f"2026:11:23 10:00:{k:02d}", "size": (64, 48), "maker_note": False,
                                "lat_ref": "N"}
        plain = tmp_path / "bare" / out.name
        assert exif_of(plain)["make"] is None                              # --no-metadata: none
        np.testing.assert_array_equal(pixels(out), pixels(plain))          # the pixels are ffmpeg's, untouched


def test_a_cut_maps_outputs_to_the_right_inputs(tmp_path: Path, nearest: NearestRestorer):
    write_burst(tmp_path / "shots")
    run(tmp_path / "shots", tmp_path / "out" / "r_%04d.png", "-ss", "0.2", "-t", "0.3")   # frames 2, 3, 4
    outs = sorted((tmp_path / "out").iterdir())
    assert [p.name for p in outs] == ["r_0009.png", "r_0010.png", "r_0011.png"]
    assert [exif_of(p)["shutter"] for p in outs] == SHUTTERS[2:5]


def test_formats_without_exif_support_warn_once(tmp_path: Path, nearest: NearestRestorer):
    write_burst(tmp_path / "shots")
    report = run(tmp_path / "shots", tmp_path / "out" / "r_%04d.tif")
    assert report["exif_copied"] == 0 and len(list((tmp_path / "out").iterdir())) == 6
    assert [w for w in report["warnings"] if "EXIF" in w] == [
        "the camera metadata (EXIF) of the input images is not carried to .tif output images; write .png or .jpg "
        "to keep it"]


def test_insert_replaces_old_exif_and_refuses_damaged_files(tmp_path: Path):
    from PIL import Image

    for suffix, marker in ((".jpg", b"Exif\x00\x00"), (".png", b"eXIf")):
        path = tmp_path / f"x{suffix}"
        Image.fromarray(np.full((8, 8, 3), 90, np.uint8)).save(path)
        for make in (b"First", b"Second"):
            exif = Image.Exif()
            exif[0x010F] = make.decode()
            insert_exif(path, exif.tobytes())
        data = path.read_bytes()
        assert data.count(marker) == 1 and b"Second" in data and b"First" not in data
        assert exif_of(path)["make"] == "Second" and pixels(path).shape == (8, 8, 3)
        path.write_bytes(data[: len(data) // 3])                            # cut short: damaged
        with pytest.raises(ValueError, match="is a damaged"):
            insert_exif(path, exif.tobytes())


def test_metadata_that_cannot_be_written_costs_a_warning_not_the_images(tmp_path: Path, nearest: NearestRestorer,
                                                                        monkeypatch: pytest.MonkeyPatch):
    from ffmpeg_filter import still_exif

    write_burst(tmp_path / "shots")

    def broken(source: Path, width: int, height: int) -> bytes:
        raise TypeError("unsupported EXIF value")

    monkeypatch.setattr(still_exif, "exif_for_output", broken)
    report = run(tmp_path / "shots", tmp_path / "out" / "r_%04d.png")
    assert report["exif_copied"] == 0 and sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        f"r_{n:04d}.png" for n in range(7, 13)]
    assert sum("not carried" in w and "unsupported EXIF value" in w for w in report["warnings"]) == 6


def test_a_filter_that_drops_frames_leaves_the_exif_out(tmp_path: Path, nearest: NearestRestorer):
    write_burst(tmp_path / "shots")
    report = run(tmp_path / "shots", tmp_path / "out" / "r_%04d.png", "--", "-vf", "select=not(mod(n\\,2))",
                 "-fps_mode", "passthrough")
    written = sorted((tmp_path / "out").iterdir())
    assert len(written) == 3 and report["exif_copied"] == 0
    assert exif_of(written[0])["make"] is None
    assert any("3 images were written for 6 inputs" in w for w in report["warnings"])


def test_a_video_made_from_stills_keeps_when_they_were_shot(tmp_path: Path, nearest: NearestRestorer):
    write_burst(tmp_path / "shots", offset="+02:00")

    def creation_time(path: Path) -> str | None:
        with av.open(str(path)) as c:
            return c.metadata.get("creation_time")

    run(tmp_path / "shots", tmp_path / "mkv" / "r.mkv")
    # 10:00:00.25 at UTC+2 is 08:00:00.25 UTC (Matroska keeps the fraction)
    assert creation_time(tmp_path / "mkv" / "r.mkv") == "2026-11-23T08:00:00.250000Z"
    run(tmp_path / "shots", tmp_path / "mp4" / "r.mp4", "-ss", "0.2")   # starts at the third still
    assert creation_time(tmp_path / "mp4" / "r.mp4") == "2026-11-23T08:00:02.000000Z"   # MP4 keeps whole seconds
    run(tmp_path / "shots", tmp_path / "bare" / "r.mkv", "--no-metadata")
    assert creation_time(tmp_path / "bare" / "r.mkv") is None
    # a still without a capture time gives no creation time rather than a made-up one
    from PIL import Image
    for shot in sorted((tmp_path / "shots").iterdir()):
        with Image.open(shot) as img:
            img.convert("RGB").save(shot, quality=95)   # saved without EXIF
    run(tmp_path / "shots", tmp_path / "none" / "r.mkv")
    assert creation_time(tmp_path / "none" / "r.mkv") is None
