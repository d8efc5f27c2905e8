"""Image sequences in and out: numbered PNG/JPEG files, per-frame EXIF exposure, atomic output folders."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from ffmpegfix import NearestRestorer, stream_summary

from ffmpeg_filter import cli
from ffmpeg_filter.imageseq import find_sequence

EXPOSURES = [(1, 100), (1, 100), (1, 50), (1, 50), (1, 200), (1, 200)]


def write_jpeg_sequence(folder: Path, start: int = 1) -> list[Path]:
    """Six 32x24 JPEGs, frame_000001.jpg..., each with EXIF ExposureTime from EXPOSURES."""
    from PIL import ExifTags, Image
    from PIL.TiffImagePlugin import IFDRational

    folder.mkdir()
    files = []
    yy, xx = np.mgrid[0:24, 0:32]
    for k, (num, den) in enumerate(EXPOSURES):
        rgb = np.stack([(xx * 8 + k * 10) % 256, (yy * 10) % 256, np.full_like(xx, 40 * k)], -1).astype(np.uint8)
        exif = Image.Exif()
        exif[ExifTags.Base.Make] = "Synthetic"
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.ExposureTime] = IFDRational(num, den)
        path = folder / f"frame_{start + k:06d}.jpg"
        Image.fromarray(rgb).save(path, exif=exif.tobytes(), quality=95)
        files.append(path)
    return files


def test_jpeg_sequence_to_png_sequence_with_exif_exposure(tmp_path: Path, nearest: NearestRestorer):
    write_jpeg_sequence(tmp_path / "shots", start=7)
    outdir = tmp_path / "out"
    outdir.mkdir()
    code = cli.main(["-i", str(tmp_path / "shots" / "frame_%06d.jpg"), "--fps", "25", "-o",
                     str(outdir / "restored_%04d.png"), "--progress", "none"])
    assert code == 0
    # the EXIF exposure of each frame reached the engine as a fraction of the 1/25 s frame interval
    assert nearest.exposures == pytest.approx([25 * n / d for n, d in EXPOSURES], rel=1e-6)
    names = sorted(p.name for p in outdir.iterdir())
    assert names == [f"restored_{n:04d}.png" for n in range(7, 13)]  # numbering follows the input
    with av.open(str(outdir / "restored_0007.png")) as c:
        f = next(c.decode(video=0))
        assert (f.width, f.height, f.format.name) == (64, 48, "rgb24")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_existing_output_sequence_needs_y(tmp_path: Path, nearest: NearestRestorer, capsys):
    write_jpeg_sequence(tmp_path / "shots")
    outdir = tmp_path / "out"
    outdir.mkdir()
    (outdir / "f_000003.png").write_bytes(b"old")
    args = ["-i", str(tmp_path / "shots"), "-o", str(outdir / "f_%06d.png"), "--progress", "none",
            "--exposure-from", "none"]
    assert cli.main(args) == 1
    assert "already exist (first: f_000003.png); pass -y to overwrite" in capsys.readouterr().err
    assert cli.main([*args, "-y"]) == 0
    assert len(list(outdir.iterdir())) == 6 and (outdir / "f_000003.png").read_bytes() != b"old"


def test_16bit_png_sequence_to_10bit_video(tmp_path: Path, ffmpeg_exe: str, nearest: NearestRestorer):
    import subprocess

    shots = tmp_path / "png16"
    shots.mkdir()
    subprocess.run([ffmpeg_exe, "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=32x24:rate=24:duration=0.25",
                    "-pix_fmt", "rgb48be", str(shots / "img%03d.png")], check=True)
    out = tmp_path / "seq.mkv"
    code = cli.main(["-i", str(shots / "img001.png"), "--fps", "24000/1001", "-o", str(out), "--progress", "none",
                     "--exposure-from", "none", "--", "-preset", "ultrafast"])
    assert code == 0
    s = stream_summary(out)["video"]
    assert (s["codec"], s["pix_fmt"], s["width"], s["height"]) == ("hevc", "yuv420p10le", 64, 48)
    assert (s["colorspace"], s["color_primaries"], s["color_trc"], s["color_range"]) == (1, 1, 13, 1)
    with av.open(str(out)) as c:
        v = c.streams.video[0]
        assert v.average_rate == Fraction(24000, 1001) and v.frames in (0, 6)
        assert sum(1 for _ in c.decode(v)) == 6


def test_sequence_with_a_gap_is_refused(tmp_path: Path, nearest: NearestRestorer, capsys):
    files = write_jpeg_sequence(tmp_path / "shots")
    files[2].unlink()
    code = cli.main(["-i", str(tmp_path / "shots" / "frame_%06d.jpg"), "-o", str(tmp_path / "o.mkv"),
                     "--progress", "none"])
    assert code == 1
    assert "has a gap: frame number 3 is missing" in capsys.readouterr().err


def test_find_sequence_forms(tmp_path: Path):
    files = write_jpeg_sequence(tmp_path / "shots", start=0)
    by_pattern = find_sequence(tmp_path / "shots" / "frame_%06d.jpg")
    by_folder = find_sequence(tmp_path / "shots")
    by_first = find_sequence(files[0])
    for seq in (by_pattern, by_folder, by_first):
        assert seq.start_number == 0 and list(seq.files) == files
        assert seq.pattern == str(tmp_path / "shots" / "frame_%06d.jpg")
