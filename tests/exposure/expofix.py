"""Fixture writers for the exposure tests: every file is generated here, values invented.

Each writer builds the smallest real file of its kind with real tools: PyAV muxes video plus timed
``bin_data`` samples (FFmpeg's mp4 muxer labels them ``gpmd``; :func:`retag_sample_entry` renames the
FourCC in ``stsd`` for rtmd/djmd/camm), the bundled ffmpeg binary muxes SRT into MP4 (mov_text) and MKV
(subrip), Pillow/pillow-heif write EXIF stills and tifffile writes CinemaDNG. These helpers deliberately
share no code with ``vs_fmanet.exposure`` so that a reader bug cannot cancel out in the fixture.
"""

from __future__ import annotations

import struct
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

W, H = 32, 24


# ----------------------------------------------------------------------------------------------- video
def write_video(path: Path, n_frames: int = 30, fps: int = 30, *, fmt: str | None = None,
                frame_pts_ms: list[int] | None = None,
                data_tracks: list[list[tuple[int, int, bytes]]] | None = None,
                metadata: dict[str, str] | None = None, options: dict[str, str] | None = None) -> Path:
    """A tiny mpeg4 video (32x24) with optional timed data tracks [(pts_ms, duration_ms, payload)], container
    tags and VFR presentation times (``frame_pts_ms``)."""
    out = av.open(str(path), "w", format=fmt, options=options or {})
    video = out.add_stream("mpeg4", rate=fps)
    video.width, video.height, video.pix_fmt = W, H, "yuv420p"
    if frame_pts_ms is not None:
        video.codec_context.time_base = Fraction(1, 1000)
        video.time_base = Fraction(1, 1000)
    streams = []
    for _track in data_tracks or []:
        stream = out.add_data_stream("bin_data")
        stream.time_base = Fraction(1, 1000)
        streams.append(stream)
    for key, value in (metadata or {}).items():
        out.metadata[key] = value
    pending = []
    for stream, track in zip(streams, data_tracks or []):
        for pts, dur, payload in track:
            packet = av.Packet(payload)
            packet.pts = packet.dts = pts
            packet.duration = dur
            packet.stream = stream
            packet.time_base = Fraction(1, 1000)
            pending.append((pts / 1000.0, packet))
    pending.sort(key=lambda p: p[0])
    rng = np.random.default_rng(0)
    for i in range(n_frames):
        frame = av.VideoFrame.from_ndarray(rng.integers(0, 255, (H, W, 3), dtype=np.uint8), format="rgb24")
        frame.pts = frame_pts_ms[i] if frame_pts_ms is not None else i
        t = (frame_pts_ms[i] / 1000.0) if frame_pts_ms is not None else i / fps
        while pending and pending[0][0] <= t:
            out.mux(pending.pop(0)[1])
        for packet in video.encode(frame):
            out.mux(packet)
    for _, packet in pending:
        out.mux(packet)
    for packet in video.encode():
        out.mux(packet)
    out.close()
    return path


def retag_sample_entry(path: Path, new: bytes, occurrence: int = 0, old: bytes = b"gpmd") -> None:
    """Rename the ``occurrence``-th ``old`` sample entry in an ``stsd`` box to ``new`` (same size, in place)."""
    data = bytearray(path.read_bytes())
    found = 0
    pos = data.find(b"stsd")
    while pos != -1:
        entry = pos + 4 + 4 + 4 + 4  # 'stsd', version/flags, entry_count, entry size -> fourcc
        if data[entry:entry + 4] == old:
            if found == occurrence:
                data[entry:entry + 4] = new
                path.write_bytes(bytes(data))
                return
            found += 1
        pos = data.find(b"stsd", pos + 4)
    raise AssertionError(f"no {old!r} sample entry #{occurrence} in {path}")


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


# ------------------------------------------------------------------------------ H.264 SEI (AVCHD MDPM)
MDPM_UUID = bytes.fromhex("17ee8c60f84d11d98cd60800200c9a66")


def mdpm_block(exposure: tuple[int, int] | None = (1, 100), *, fnumber: tuple[int, int] = (28, 10),
               tags: list[tuple[int, bytes]] | None = None) -> bytes:
    """An MDPM block: "MDPM", entry count, (tag, 4 bytes) entries in ascending tag order. The default entries
    include a date pair whose zero bytes force emulation prevention in the SEI NAL unit; ``exposure`` None
    leaves out the 0xA0 ExposureTime entry; ``tags`` replaces every entry."""
    if tags is None:
        tags = [(0x18, bytes([0x02, 0x20, 0x26, 0x11])), (0x19, b"\x00\x00\x01\x00")]
        if exposure is not None:
            tags.append((0xA0, struct.pack(">HH", *exposure)))
        tags.append((0xA1, struct.pack(">HH", *fnumber)))
    return b"MDPM" + bytes([len(tags)]) + b"".join(bytes([tag]) + value for tag, value in tags)


def _escape_nal(body: bytes) -> bytes:
    out, zeros = bytearray(), 0
    for byte in body:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def _sei_size(n: int) -> bytes:
    return b"\xff" * (n // 255) + bytes([n % 255])


def sei_nal(user_data: bytes, uuid: bytes = MDPM_UUID) -> bytes:
    """An Annex B SEI NAL unit holding one "user data unregistered" message (type 5) with ``uuid``."""
    payload = uuid + user_data
    return b"\x00\x00\x00\x01" + _escape_nal(b"\x06" + b"\x05" + _sei_size(len(payload)) + payload + b"\x80")


def _before_first_slice(access_unit: bytes, nal: bytes) -> bytes:
    pos = access_unit.find(b"\x00\x00\x01")
    while pos >= 0:
        if access_unit[pos + 3] & 0x1F in (1, 5):
            start = pos - 1 if pos > 0 and access_unit[pos - 1] == 0 else pos
            return access_unit[:start] + nal + access_unit[start:]
        pos = access_unit.find(b"\x00\x00\x01", pos + 3)
    raise AssertionError("no slice NAL unit in the access unit")


def write_h264_with_sei(path: Path, blocks: list[bytes | None], fps: int = 25, *, bframes: int = 2,
                        gop: int = 6, interlaced: bool = False) -> Path:
    """A 64x48 H.264 clip (B-frames reorder decode against presentation order) whose presentation frame i
    carries ``blocks[i]`` as MDPM user data in an SEI NAL unit (None: no SEI on that frame). Encoded with PyAV's
    libx264 into MPEG-TS with the encoder's own timestamps; an ``.mp4``/``.mkv`` path is remuxed from it by the
    ffmpeg binary (``-c copy``: length-prefixed NAL units there). ``interlaced``: MBAFF, top field first, as
    1080i AVCHD camcorders record."""
    ts_path = path if path.suffix.lower() in (".m2ts", ".mts", ".ts") else path.with_suffix(".src.m2ts")
    out = av.open(str(ts_path), "w", format="mpegts")
    stream = out.add_stream("libx264", rate=fps)
    stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
    params = f"bframes={bframes}:keyint={gop}:scenecut=0" + (":interlaced=1:tff=1" if interlaced else "")
    stream.options = {"preset": "ultrafast", "x264-params": params}

    def mux(packets) -> None:
        for packet in packets:
            block = blocks[int(packet.pts)]          # encoder pts = presentation index (time base 1/fps)
            data = bytes(packet) if block is None else _before_first_slice(bytes(packet), sei_nal(block))
            new = av.Packet(data)
            new.pts, new.dts, new.time_base, new.stream = packet.pts, packet.dts, packet.time_base, stream
            new.is_keyframe = packet.is_keyframe
            out.mux(new)

    for i in range(len(blocks)):
        frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), (i * 37) % 256, np.uint8), format="rgb24")
        frame.pts = i
        mux(stream.encode(frame))
    mux(stream.encode(None))
    out.close()
    if ts_path != path:
        subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(ts_path), "-c", "copy", str(path)], check=True,
                       capture_output=True, timeout=60)
        ts_path.unlink()
    return path


def decoded_sei_user_data(path: Path, uuid: bytes = MDPM_UUID) -> list[bytes | None]:
    """Oracle: the user data after ``uuid`` that FFmpeg's decoder attaches to each decoded frame (presentation
    order), via PyAV's frame side data; independent of the reader under test."""
    found: list[bytes | None] = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            data = None
            for kind in frame.side_data:
                raw = bytes(frame.side_data[kind])
                if raw[:16] == uuid:
                    data = raw[16:]
            found.append(data)
    return found


def mux_subtitle(video: Path, srt_file: Path, out: Path, codec: str) -> Path:
    """Mux ``srt_file`` as a subtitle track next to ``video``'s stream (``mov_text`` for MP4, ``srt`` for MKV)."""
    cmd = [ffmpeg_exe(), "-v", "error", "-y", "-i", str(video), "-i", str(srt_file), "-map", "0:v", "-map", "1:0",
           "-c:v", "copy", "-c:s", codec, "-metadata:s:s:0", "handler_name=DJI.Subtitle", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    return out


# ------------------------------------------------------------------------------------------------ GPMF
def klv(key: str, type_char: str, size: int, repeat: int, data: bytes) -> bytes:
    body = data + b"\0" * ((-len(data)) % 4)
    return key.encode() + struct.pack(">cBH", type_char.encode() if type_char != "\0" else b"\0", size, repeat) + body


def nest(key: str, *children: bytes) -> bytes:
    data = b"".join(children)
    return key.encode() + struct.pack(">BBH", 0, 4, len(data) // 4) + data


def gpmf_payload(shut: list[float], stmp_us: int = 0, tsmp: int = 0) -> bytes:
    """DEVC{DVID, DVNM, STRM{STMP, TSMP, STNM, SIUN, SHUT f x n}} as a GoPro camera writes it."""
    name = b"Exposure time (shutter speed)"
    strm = nest("STRM",
                klv("STMP", "J", 8, 1, struct.pack(">Q", stmp_us)),
                klv("TSMP", "L", 4, 1, struct.pack(">I", tsmp)),
                klv("STNM", "c", 1, len(name), name),
                klv("SIUN", "c", 1, 1, b"s"),
                klv("SHUT", "f", 4, len(shut), struct.pack(f">{len(shut)}f", *shut)))
    return nest("DEVC", klv("DVID", "L", 4, 1, struct.pack(">I", 1)), klv("DVNM", "c", 1, 6, b"Camera"), strm)


# ------------------------------------------------------------------------------------------------ rtmd
def rtmd_sample(num: int, den: int, fps: tuple[int, int] = (30, 1), iso: int = 100) -> bytes:
    header = struct.pack(">H", 0x1C) + b"\0" * (0x1C - 2)
    inner = (struct.pack(">HH", 0x8106, 8) + struct.pack(">II", *fps)
             + struct.pack(">HH", 0x8109, 8) + struct.pack(">II", num, den)
             + struct.pack(">HH", 0x810B, 2) + struct.pack(">H", iso))
    return header + struct.pack(">HH", 0x8300, len(inner)) + inner


# ------------------------------------------------------------------------------------------------ CAMM
def camm_exposure(ns: int, skew_ns: int = 12_000_000) -> bytes:
    return struct.pack("<HHii", 0, 1, ns, skew_ns)


def camm_gyro(x: float, y: float, z: float) -> bytes:
    return struct.pack("<HHfff", 0, 2, x, y, z)


# ------------------------------------------------------------------------------------------------ djmd
def pb_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def pb_len(field: int, data: bytes) -> bytes:
    return pb_varint(field << 3 | 2) + pb_varint(len(data)) + data


def pb_f32(field: int, value: float) -> bytes:
    return pb_varint(field << 3 | 5) + struct.pack("<f", value)


def djmd_sample(model: str, num: int, den: int, iso: float = 100.0) -> bytes:
    """1{1{1{1:"dvtm_<model>.proto", 10:"SyntheticDrone"}}}, 3{2{2{1:ISO}, <shutter field>{1:LEN(num, den)}}}."""
    shutter_field = {"wm265e": 3, "ac203": 4, "Air3": 10}.get(model, 3)
    header = pb_len(1, pb_len(1, pb_len(1, f"dvtm_{model}.proto".encode()) + pb_len(10, b"SyntheticDrone")))
    shutter = pb_len(shutter_field, pb_len(1, pb_varint(num) + pb_varint(den)))
    body = pb_len(3, pb_len(2, pb_len(2, pb_f32(1, iso)) + shutter))
    return header + body


# ------------------------------------------------------------------------------------------------ SRT
def srt_time(ms: int) -> str:
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def write_srt(path: Path, cues: list[tuple[int, int, str]], *, bom: bool = True) -> Path:
    """Write [(start_ms, end_ms, text)] as CRLF SRT (DJI style), optionally with a UTF-8 BOM."""
    blocks = [f"{i + 1}\r\n{srt_time(s)} --> {srt_time(e)}\r\n{text.replace(chr(10), chr(13) + chr(10))}\r\n"
              for i, (s, e, text) in enumerate(cues)]
    data = "\r\n".join(blocks).encode()
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def dji_cue(dialect: str, counter: int, shutter: str, ms: int) -> str:
    """Cue text of one DJI dialect; ``shutter`` is written verbatim in the dialect's own syntax."""
    if dialect == "mavic3":
        return (f'<font size="28">FrameCnt: {counter}, DiffTime: 33ms\n2021-12-25 12:27:52.{ms % 1000:03d}\n'
                f"[iso: 220] [shutter: {shutter}] [fnum: 3.2] [ev: 0] [color_md: default] [focal_len: 24.00] "
                "[latitude: 0.000000] [longitude: 0.000000] [rel_alt: 1.000 abs_alt: 100.000] [ct: 5500] </font>")
    if dialect == "air2":
        return (f'<font size="36">SrtCnt : {counter}, DiffTime : 33ms\n2022-08-07 13:40:40,{ms % 1000:03d},808\n'
                f"[iso : 100] [shutter : {shutter}] [fnum : 280] [ev : 0] [ct : 5744] [color_md : default] "
                "[focal_len : 240] [latitude : 0.000000] [longtitude : 0.000000] [altitude: 1.000000] </font>")
    if dialect == "phantom":
        return (f"HOME(0.0000,0.0000) 2017.08.05 14:11:{counter % 60:02d}\nGPS(0.0000,0.0000,12) BAROMETER:1.2\n"
                f"ISO:100 Shutter:{shutter} EV: Fnum:2.2")
    if dialect == "tv":
        return f"HOME(0.0000,0.0000) 2016.05.01 10:00:{counter % 60:02d}\nISO:100 TV:{shutter} EV:0 Fnum:2.8"
    if dialect == "p4p":
        return f"F/5.6, SS {shutter}, ISO 100, EV 0, GPS (0.0000, 0.0000, 12), D 1.0m, H 2.0m, H.S 0.00m/s"
    raise ValueError(dialect)


# ----------------------------------------------------------------------------------------------- stills
def write_exif_still(path: Path, exposure: tuple[int, int] | None, *, subsec_ms: int | None = None,
                     shutter_apex: tuple[int, int] | None = None, second: int = 0) -> Path:
    """8x8 RGB still with ExposureTime (and/or APEX ShutterSpeedValue) in the Exif sub-IFD, any format
    Pillow/pillow-heif writes (by suffix)."""
    from PIL import ExifTags, Image
    from PIL.TiffImagePlugin import IFDRational

    if path.suffix.lower() in (".heic", ".heif"):
        import pillow_heif

        pillow_heif.register_heif_opener()
    image = Image.fromarray(np.full((8, 8, 3), 128, np.uint8))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Synthetic"
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    if exposure is not None:
        sub[ExifTags.Base.ExposureTime] = IFDRational(*exposure)
    if shutter_apex is not None:
        sub[ExifTags.Base.ShutterSpeedValue] = IFDRational(*shutter_apex)
    sub[ExifTags.Base.DateTimeOriginal] = f"2024:01:01 12:00:{second:02d}"
    if subsec_ms is not None:
        sub[ExifTags.Base.SubsecTimeOriginal] = f"{subsec_ms:03d}"
    kwargs = {"quality": 90} if path.suffix.lower() in (".jpg", ".jpeg", ".webp", ".heic") else {}
    image.save(path, exif=exif.tobytes(), **kwargs)
    return path


def xmp_packet(exposure: str | None = None, *, captured: str | None = None, shutter_apex: str | None = None,
               as_elements: bool = False) -> bytes:
    """An XMP packet (x:xmpmeta / rdf:RDF / rdf:Description) with exif:ExposureTime, exif:ShutterSpeedValue and
    exif:DateTimeOriginal as attributes (darktable's style) or child elements (``as_elements``)."""
    props = {"ExposureTime": exposure, "ShutterSpeedValue": shutter_apex, "DateTimeOriginal": captured}
    props = {k: v for k, v in props.items() if v is not None}
    namespaces = ('xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
                  'xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"')
    if as_elements:
        body = "".join(f"<exif:{k}>{v}</exif:{k}>" for k, v in props.items())
        description = f'<rdf:Description rdf:about="" xmp:CreatorTool="Synthetic">{body}</rdf:Description>'
    else:
        attrs = " ".join(f'exif:{k}="{v}"' for k, v in props.items())
        description = f'<rdf:Description rdf:about="" xmp:CreatorTool="Synthetic" {attrs}/>'
    return (f'<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
            f'<rdf:RDF {namespaces}>{description}</rdf:RDF></x:xmpmeta><?xpacket end="w"?>').encode("utf-8")


def write_plain_still(path: Path, *, xmp: bytes | None = None) -> Path:
    """8x8 RGB still without EXIF; ``xmp`` embedded (PNG iTXt, JPEG APP1, WebP chunk, TIFF tag 700) when given."""
    from PIL import Image, PngImagePlugin

    image = Image.fromarray(np.full((8, 8, 3), 100, np.uint8))
    if xmp is not None and path.suffix.lower() == ".png":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8"))
        image.save(path, pnginfo=info)
    elif xmp is not None and path.suffix.lower() in (".tif", ".tiff"):
        image.save(path, tiffinfo={700: xmp})          # TIFF tag 700, XMLPacket
    else:
        image.save(path, **({"xmp": xmp} if xmp is not None else {}))
    return path


def timecode_bytes(h: int, m: int, s: int, f: int) -> bytes:
    bcd = lambda v: ((v // 10) << 4) | (v % 10)  # noqa: E731
    return bytes([bcd(f), bcd(s), bcd(m), bcd(h), 0, 0, 0, 0])


def write_cinemadng(path: Path, exposure: tuple[int, int], frame_rate: tuple[int, int] | None = (24000, 1001),
                    timecode: bytes | None = None) -> Path:
    """Minimal CFA DNG (tifffile) with ExposureTime, CinemaDNG FrameRate and TimeCodes in IFD0."""
    import tifffile

    tags = [(50706, "B", 4, (1, 4, 0, 0), True), (33421, "H", 2, (2, 2), True), (33422, "B", 4, (0, 1, 1, 2), True),
            (33434, "2I", 1, exposure, True)]
    if frame_rate is not None:
        tags.append((51044, "2i", 1, frame_rate, True))
    if timecode is not None:
        tags.append((51043, "B", 8, timecode, True))
    tifffile.imwrite(path, np.zeros((8, 8), np.uint16), photometric=32803, extratags=tags)
    return path
