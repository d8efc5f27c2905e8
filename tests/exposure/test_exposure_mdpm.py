"""AVCHD / H.264 camcorder metadata: MDPM ExposureTime in SEI user data, read from demuxed packets (no decoding)
in M2TS, MP4 and MKV, through B-frame reordering, once per group of pictures, corrupt blocks, blocks without
an exposure entry, and ordinary H.264 without any. FFmpeg's decoder (PyAV frame side data) is the oracle for
which frame each block belongs to."""

from __future__ import annotations

import json

import numpy as np
import pytest

import expofix as fx
from vs_fmanet.exposure import ExposureFormatError, ExposureInputError, probe_exposure
from vs_fmanet.exposure.cli import main as probe_main
from vs_fmanet.exposure.h264_sei import SeiScan, avcc_length_size, nal_units, rbsp, sei_messages
from vs_fmanet.exposure.mdpm import exposure_from_sei_nal, parse_mdpm

N = 12
FPS = 25
DENOMINATORS = [100, 125, 160, 200, 250, 320, 400, 500, 640, 800, 1000, 1250]   # one per presentation frame


@pytest.mark.parametrize("suffix", [".m2ts", ".mp4", ".mkv"])
def test_per_frame_exposure_through_b_frames(tmp_path, suffix):
    blocks = [fx.mdpm_block((1, den)) for den in DENOMINATORS]
    path = fx.write_h264_with_sei(tmp_path / f"00001{suffix}", blocks, FPS)
    assert fx.decoded_sei_user_data(path) == blocks          # the decoder puts each block on its frame
    track = probe_exposure(path)
    assert np.array_equal(track.seconds, [1 / den for den in DENOMINATORS])
    np.testing.assert_allclose(track.fraction, [FPS / den for den in DENOMINATORS], rtol=1e-9)
    assert track.source == ["mdpm"] * N and track.granularity == ["frame"] * N
    assert track.warnings == []
    assert probe_exposure(path, prefer="mdpm").source == ["mdpm"] * N


def test_caller_frame_times_still_get_the_sei(tmp_path):
    """fmanet-ffmpeg passes its own frame times (the scan then keeps no video times of its own)."""
    path = fx.write_h264_with_sei(tmp_path / "c.m2ts", [fx.mdpm_block((1, den)) for den in DENOMINATORS], FPS)
    track = probe_exposure(path, frame_times=np.arange(N) / FPS)
    assert np.array_equal(track.seconds, [1 / den for den in DENOMINATORS])


def test_once_per_group_of_pictures_is_held(tmp_path):
    blocks = [fx.mdpm_block((1, 50 * (i // 6 + 1))) if i % 6 == 0 else None for i in range(N)]
    track = probe_exposure(fx.write_h264_with_sei(tmp_path / "gop.mts", blocks, FPS, gop=6))
    assert np.array_equal(track.seconds, [1 / 50] * 6 + [1 / 100] * 6)
    assert track.granularity == ["held"] * N            # each block spans its group of six frames


def test_a_corrupt_block_costs_only_its_own_value(tmp_path):
    """The frame keeps the camera state of the block before it (a block holds until the next one)."""
    blocks = [fx.mdpm_block((1, den)) for den in DENOMINATORS]
    blocks[4] = fx.mdpm_block(tags=[(0xA0, b"\x00\x01\x00\x64"), (0x18, b"\x00\x00\x00\x00")])   # out of order
    blocks[7] = fx.mdpm_block((1, 500))[:12]                                                # count > entries
    track = probe_exposure(fx.write_h264_with_sei(tmp_path / "bad.m2ts", blocks, FPS))
    expected = [1 / DENOMINATORS[i - 1 if i in (4, 7) else i] for i in range(N)]
    assert np.array_equal(track.seconds, expected)
    assert [i for i, g in enumerate(track.granularity) if g != "frame"] == [3, 4, 6, 7]   # held over two frames
    assert any("tags ascend" in w for w in track.warnings)
    assert any("truncated" in w and "t=0.280 s" in w for w in track.warnings)


def test_blocks_without_exposure_time_say_so(tmp_path):
    path = fx.write_h264_with_sei(tmp_path / "canon.m2ts", [fx.mdpm_block(None)] * N, FPS)
    track = probe_exposure(path)
    assert track.source == ["none"] * N and np.isnan(track.seconds).all()
    assert any("no ExposureTime (0xA0)" in w for w in track.warnings)


def test_plain_h264_has_no_mdpm(tmp_path):
    path = fx.write_h264_with_sei(tmp_path / "plain.mp4", [None] * N, FPS)
    track = probe_exposure(path)
    assert track.source == ["none"] * N and track.warnings == []
    with pytest.raises(ExposureInputError, match="has no mdpm exposure"):
        probe_exposure(path, prefer="mdpm")


def test_probe_command_reports_mdpm(tmp_path, capsys):
    path = fx.write_h264_with_sei(tmp_path / "00002.MTS", [fx.mdpm_block((1, 60))] * N, FPS)
    assert probe_main([str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {f["source"] for f in data["frames"]} == {"mdpm"} and data["summary"]["coverage"] == 1.0
    assert data["frames"][0]["seconds"] == pytest.approx(1 / 60)


# ------------------------------------------------------------------------------------------- the parsers
def test_nal_units_annex_b_and_length_prefixed():
    units = [b"\x09\xf0", b"\x06\x05\x01\x00\x80", b"\x65\x88\x00\x00\x00"]
    annex_b = b"".join(b"\x00\x00\x00\x01" + u for u in units[:2]) + b"\x00\x00\x01" + units[2] + b"\x00\x00"
    assert list(nal_units(annex_b, None)) == units[:2] + [b"\x65\x88"]   # trailing zeros are not the unit's
    avcc = b"".join(len(u).to_bytes(4, "big") + u for u in units)
    assert list(nal_units(avcc, 4)) == units
    with pytest.raises(ExposureFormatError, match="truncated"):
        list(nal_units(avcc[:-1], 4))
    assert avcc_length_size(b"\x01\x64\x00\x1f\xfd") == 2 and avcc_length_size(b"\x00\x00\x00\x01\x67") is None


def test_sei_walk_unescapes_and_reads_long_sizes():
    long_payload = fx.MDPM_UUID + fx.mdpm_block((1, 30), tags=[(t, b"\x00\x00\x00\x00") for t in range(60)])
    assert len(long_payload) > 255
    nal = fx.sei_nal(long_payload[16:])[4:]
    assert b"\x00\x00\x03" in nal                          # the writer had to escape the zero runs
    messages = list(sei_messages(rbsp(nal[1:])))
    assert messages == [(5, long_payload)]
    with pytest.raises(ExposureFormatError, match="truncated"):
        list(sei_messages(rbsp(nal[1:-40])))


def test_mdpm_entries_and_exposure():
    block = fx.mdpm_block((10, 2000))
    assert parse_mdpm(block)[0xA0] == b"\x00\x0a\x07\xd0"
    assert exposure_from_sei_nal(fx.sei_nal(block)[4:]) == 0.005
    assert exposure_from_sei_nal(fx.sei_nal(block, uuid=bytes(16))[4:]) is None     # other user data
    with pytest.raises(ExposureFormatError, match="zero denominator"):
        exposure_from_sei_nal(fx.sei_nal(fx.mdpm_block((1, 0)))[4:])


def test_scan_gives_up_on_streams_without_the_uuid():
    scan = SeiScan(fx.MDPM_UUID, None, give_up_after=5)
    for pts in range(5):
        assert scan.looking
        scan.feed(pts, b"\x00\x00\x01\x65\x88")
    assert not scan.looking and scan.found == []
    found = SeiScan(fx.MDPM_UUID, None, give_up_after=5)
    found.feed(0, fx.sei_nal(fx.mdpm_block())[1:] + b"\x00\x00\x01\x65\x88")
    assert [pts for pts, _unit in found.found] == [0]
    for pts in range(1, 10):
        found.feed(pts, b"\x00\x00\x01\x65\x88")
    assert found.looking                                    # once found, every access unit is looked at


def test_a_plain_file_is_not_read_to_the_end_for_mdpm(tmp_path, monkeypatch):
    """With the frame times given and no metadata streams, only the first access units are read (a long
    H.264 file from a phone costs no full pass)."""
    import av

    from vs_fmanet.exposure import container, h264_sei

    path = fx.write_h264_with_sei(tmp_path / "long.mp4", [None] * 40, FPS)
    real_open, demuxed = av.open, []

    class CountingContainer:
        def __init__(self, inner):
            self.inner = inner

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def __enter__(self):
            self.inner.__enter__()
            return self

        def __exit__(self, *exc):
            return self.inner.__exit__(*exc)

        def demux(self, *streams):
            for packet in self.inner.demux(*streams):
                demuxed.append(packet.stream.type)
                yield packet

    monkeypatch.setattr(h264_sei, "GIVE_UP_AFTER", 5)
    monkeypatch.setattr(container.av, "open", lambda *a, **k: CountingContainer(real_open(*a, **k)))
    scan = container.scan_container(path, read_frame_times=False)
    assert scan.mdpm == [] and scan.frame_times is None
    assert demuxed == ["video"] * 6                         # five looked at, one more to see the search ended
    demuxed.clear()
    assert container.scan_container(path).frame_times.shape == (40,) and len(demuxed) >= 40


def test_probe_command_takes_a_card_of_clips(tmp_path, capsys):
    """``fmanet-probe *.MTS``: one summary per clip, an unreadable one reported without stopping the rest."""
    first = fx.write_h264_with_sei(tmp_path / "00001.MTS", [fx.mdpm_block((1, 50))] * N, FPS)
    second = fx.write_h264_with_sei(tmp_path / "00002.MTS", [None] * N, FPS)
    missing = tmp_path / "00003.MTS"
    assert probe_main([str(first), str(missing), str(second), "--summary-only"]) == 2
    out, err = capsys.readouterr()
    assert out.count("coverage") == 2 and "00001.MTS" in out and "00002.MTS" in out
    assert "coverage 100.0%" in out and "coverage 0.0%" in out
    assert "00003.MTS" in err and "does not exist" in err
    assert probe_main([str(first), str(second), "--json", "--summary-only"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["summary"]["coverage"] for d in data] == [1.0, 0.0]
    assert probe_main([str(first), str(missing), str(second), "--json", "--summary-only"]) == 2
    data = json.loads(capsys.readouterr().out)             # positions match the inputs; the bad one says why
    assert data[1]["path"] == str(missing) and "does not exist" in data[1]["error"]
    assert [data[0]["summary"]["coverage"], data[2]["summary"]["coverage"]] == [1.0, 0.0]
    with pytest.raises(SystemExit):
        probe_main([str(first), str(second), "--sidecar", str(tmp_path / "x.csv")])
    assert "--sidecar names one file" in capsys.readouterr().err
