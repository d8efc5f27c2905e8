"""Farm parts without Ray: chunk plan, bit-identity of chunked restoration, work folder, join, resources, inputs,
CLI usage errors."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import numpy as np
import pytest

from farmfix import ENGINE, ENGINE_ARGS
from ffmpeg_filter.decode import DecodedFrame
from ffmpeg_filter.errors import InputError, UsageError
from ffmpeg_filter.farm.chunkrun import ChunkError, cached_engine, restore_chunk
from ffmpeg_filter.farm.cli import main
from ffmpeg_filter.farm.inputs import collect_jobs
from ffmpeg_filter.farm.join import JoinError, decode_times, join_chunks, reorder_delay
from ffmpeg_filter.farm.plan import plan_chunks, round_chunk_frames
from ffmpeg_filter.farm.tasks import plan_resources
from ffmpeg_filter.farm.workdir import ChunkRecord, WorkDir, plan_hash, sha256_file
from ffmpeg_filter.sample import make_sample_clip
from vs_fmanet.engine import normalise_scene_starts, plan_windows


# ----------------------------------------------------------------------------------------------- plan
@pytest.mark.parametrize("seed", range(40))
def test_plan_covers_clip_at_piece_boundaries(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(1, 400)
    window = rng.choice([1, 2, 4, 8, 16])
    overlap = rng.choice([0, 1, 2, 4, 8])
    cuts = sorted(rng.sample(range(1, n), k=min(n - 1, rng.randint(0, 6)))) if n > 1 else []
    chunk_frames = rng.randint(1, 120)
    chunks = plan_chunks(n, window=window, overlap=overlap, chunk_frames=chunk_frames, scene_cuts=cuts)
    pieces = plan_windows(n, window, overlap, cuts)
    # chunks tile [0, n) and together run exactly the single pass's pieces, in order
    assert chunks[0].start == 0 and chunks[-1].stop == n
    assert all(a.stop == b.start for a, b in zip(chunks, chunks[1:]))
    assert [p for c in chunks for p in c.pieces] == pieces
    cf = round_chunk_frames(chunk_frames, window)
    for c in chunks:
        assert c.start % window == 0 or c.start in cuts          # fixed grid positions or scene cuts only
        assert c.decode_start == min(p.context_start for p in c.pieces)
        assert c.decode_stop == max(p.context_stop for p in c.pieces)
        assert c.frames <= cf + 3 * window                          # long scenes are split
    # every known scene cut that leaves both sides at least a window long is a chunk boundary
    starts = {c.start for c in chunks}
    for k in normalise_scene_starts(cuts, n):
        prev = max([0] + [x for x in cuts if x < k])
        nxt = min([n] + [x for x in cuts if x > k])
        if k - prev >= min(window, cf) and nxt - k >= min(window, cf):
            assert k in starts, (k, chunks)


def test_plan_example_grid_and_cut() -> None:
    chunks = plan_chunks(100, window=8, overlap=4, chunk_frames=30, scene_cuts=[50])
    # 30 -> 32 frames (whole windows); a cut at 50 (not a multiple of 8) starts a chunk; no context across it
    assert [(c.start, c.stop) for c in chunks] == [(0, 32), (32, 50), (50, 64), (64, 100)]
    by_start = {c.start: c for c in chunks}
    assert by_start[32].decode_start == 28 and by_start[32].decode_stop == 50
    assert by_start[50].decode_start == 50 and by_start[50].decode_stop == 68
    with pytest.raises(ValueError, match="chunk_frames"):
        plan_chunks(10, window=4, overlap=2, chunk_frames=0)


# ----------------------------------------------------------------------------------------------- bit identity
def test_chunked_restoration_is_bit_identical_to_a_single_pass() -> None:
    """Frames before encoding: the chunks' pieces, each fed with its decoded context, give exactly
    Engine.restore's output over the whole clip, with and without scene cuts and with exposure values."""
    engine = cached_engine(ENGINE)
    rng = np.random.default_rng(3)
    frames = rng.random((22, 12, 16, 3), dtype=np.float32)
    exposure = np.where(rng.random(22) < 0.3, np.nan, rng.uniform(0.1, 1.0, 22))
    for cuts in ([], [9, 13]):
        reference = engine.restore(frames, exposure, scene_cuts=cuts)
        chunks = plan_chunks(22, window=engine.window, overlap=engine.overlap, chunk_frames=6, scene_cuts=cuts)
        assert len(chunks) >= 3
        got = np.empty_like(reference)
        for c in chunks:
            decoded = (DecodedFrame(i, i, i / 24, frames[i]) for i in range(c.decode_start, c.decode_stop))
            out = list(restore_chunk(engine, c, decoded, exposure[c.decode_start:c.decode_stop]))
            assert [i for i, _ in out] == list(range(c.start, c.stop))
            for i, f in out:
                got[i] = f
        assert np.array_equal(got, reference), f"scene cuts {cuts}"
    # without the context frames the seams differ: the test can tell
    c = plan_chunks(22, window=engine.window, overlap=engine.overlap, chunk_frames=6)[1]
    bare = type(c)(c.index, c.start, c.stop, c.start, c.stop,
                   tuple(type(p)(p.start, p.stop, max(p.start, c.start), min(p.stop, c.stop)) for p in c.pieces))
    decoded = (DecodedFrame(i, i, 0.0, frames[i]) for i in range(bare.decode_start, bare.decode_stop))
    seams = np.stack([f for _, f in restore_chunk(engine, bare, decoded, exposure[bare.decode_start:bare.decode_stop])])
    assert not np.array_equal(seams, engine.restore(frames, exposure)[c.start:c.stop])


def test_restore_chunk_names_a_missing_frame() -> None:
    engine = cached_engine(ENGINE)
    c = plan_chunks(8, window=4, overlap=2, chunk_frames=4)[1]
    frames = np.zeros((8, 8, 8, 3), np.float32)
    decoded = (DecodedFrame(i, i, 0.0, frames[i]) for i in range(c.decode_start, c.decode_stop) if i != 5)
    with pytest.raises(ChunkError, match="expected frame 5 of chunk 1"):
        list(restore_chunk(engine, c, decoded, [float("nan")] * (c.decode_stop - c.decode_start)))


# ----------------------------------------------------------------------------------------------- work folder
def _record(work: WorkDir, index: int, frames: int, ph: str, payload: bytes) -> None:
    path = work.chunk_path(index)
    path.write_bytes(payload)
    work.write_record(ChunkRecord(index=index, file=path.name, sha256=sha256_file(path), frames=frames,
                                  plan_hash=ph, attempt=1, seconds=0.1, host="h", pid=1, engine={}))


def test_workdir_resume_verifies_checksums_and_plan(tmp_path: Path) -> None:
    plan = {"chunks": [[0, 4], [4, 8], [8, 12], [12, 16]], "input": "x"}
    plan["plan_hash"] = plan_hash(plan)
    work = WorkDir(tmp_path / "job", ".mkv")
    assert work.prepare(plan) is False
    for i in range(4):
        _record(work, i, 4, plan["plan_hash"], b"chunk %d" % i)
    work.chunk_path(1).unlink()                                   # deleted chunk
    work.chunk_path(2).write_bytes(b"chunk 2 damaged")            # changed bytes
    (work.chunks_dir / ".00003.fmanet-1-abc.part.mkv").write_bytes(b"half")  # leftover of a killed attempt
    assert work.prepare(plan) is True                             # same plan: resumed
    assert work.clean_partials() == 1
    done = work.finished({i: 4 for i in range(4)}, plan["plan_hash"])
    assert sorted(done) == [0, 3]
    assert not work.record_path(2).exists() and not work.chunk_path(2).exists()
    assert sorted(work.finished({0: 5, 3: 4}, plan["plan_hash"])) == [3]   # frame count must match the plan
    # a different plan starts over, with the old chunks set aside: a run whose new settings then fail (an encoder
    # option refused, no GPU) used to have deleted them; going back to the old settings brings them back
    other = dict(plan, input="y")
    other["plan_hash"] = plan_hash(other)
    assert work.prepare(other) is False
    assert work.finished({3: 4}, other["plan_hash"]) == {}
    assert not work.chunk_path(3).exists() and (work.previous_dir / "chunks" / work.chunk_path(3).name).exists()
    assert work.prepare(plan) is True
    assert sorted(work.finished({i: 4 for i in range(4)}, plan["plan_hash"])) == [3]   # chunk 0 went above
    assert not work.previous_dir.exists()
    third = dict(plan, input="z")
    third["plan_hash"] = plan_hash(third)
    assert work.prepare(other) is False and work.prepare(third) is False    # other failed at once: nothing finished
    assert work.prepare(plan) is True                                      # so plan's chunks still wait
    assert sorted(work.finished({i: 4 for i in range(4)}, plan["plan_hash"])) == [3]
    assert work.prepare(other) is False
    _record(work, 1, 4, other["plan_hash"], b"other 1")
    assert work.prepare(plan) is True and sorted(work.finished({3: 4}, plan["plan_hash"])) == [3]
    assert work.prepare(other) is True                                     # swapped, not deleted
    assert sorted(work.finished({1: 4}, other["plan_hash"])) == [1]
    (work.root / "previous").rename(work.root / "previous.swap")          # a swap cut short (Ctrl-C, a crash)
    assert work.prepare(plan) is True and sorted(work.finished({3: 4}, plan["plan_hash"])) == [3]
    assert work.prepare(other) is True and work.prepare(other, fresh=True) is False   # --fresh deletes both
    assert not work.previous_dir.exists() and work.finished({3: 4}, plan["plan_hash"]) == {}


# ----------------------------------------------------------------------------------------------- join
def test_decode_times_for_reordered_packets() -> None:
    pts = [0, 125, 42, 83, 167, 250, 209, 292]
    assert reorder_delay(pts) == 1
    dts = decode_times(pts, [42] * 8, 1)
    assert all(b > a for a, b in zip(dts, dts[1:]))
    assert all(d <= p for d, p in zip(dts, pts))
    pyramid = [0, 4, 2, 1, 3, 8, 6, 5, 7]
    d = decode_times(pyramid, [1] * 9, reorder_delay(pyramid))
    assert reorder_delay(pyramid) == 2
    assert all(b > a for a, b in zip(d, d[1:])) and all(x <= p for x, p in zip(d, pyramid))


def test_join_refuses_chunks_from_different_encodes(tmp_path: Path) -> None:
    a = make_sample_clip(tmp_path / "a.mkv", frames=3, size=(32, 24), audio=False, subtitles=False, chapters=False)
    b = make_sample_clip(tmp_path / "b.mkv", frames=3, size=(48, 32), audio=False, subtitles=False, chapters=False)
    with pytest.raises(JoinError, match="other settings"):
        join_chunks([a, b], tmp_path / "j.mkv", expected_frames=[3, 3])
    with pytest.raises(JoinError, match="holds 3 frames, 4 expected"):
        join_chunks([a], tmp_path / "j.mkv", expected_frames=[4])
    with pytest.raises(JoinError, match="starts before the previous chunks end"):
        join_chunks([a, a], tmp_path / "j.mkv", expected_frames=[3, 3])
    joined = join_chunks([a], tmp_path / "j.mkv", expected_frames=[3])
    assert joined.frames == 3 and joined.codec == "h264" and joined.start_us == 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []   # no temporary file left


# ----------------------------------------------------------------------------------------------- resources
def test_plan_resources_gpu_cpu_fallback_and_fractions() -> None:
    r = plan_resources({"CPU": 16, "GPU": 2}, num_gpus=None, cpus_per_task=2, device=None, workers=0)
    assert (r.num_gpus, r.concurrency, r.device) == (1.0, 2, None)
    r = plan_resources({"CPU": 16, "GPU": 2}, num_gpus=0.5, cpus_per_task=2, device=None, workers=0)
    assert (r.num_gpus, r.concurrency) == (0.5, 4)
    r = plan_resources({"CPU": 2}, num_gpus=1, cpus_per_task=1, device=None, workers=0)
    assert (r.num_gpus, r.device, r.concurrency) == (0.0, "cpu", 2) and "running the chunks on the CPU" in r.warnings[0]
    r = plan_resources({"CPU": 2}, num_gpus=None, cpus_per_task=1, device=None, workers=1)
    assert r.concurrency == 1
    with pytest.raises(UsageError, match="--device cuda"):
        plan_resources({"CPU": 4}, num_gpus=None, cpus_per_task=1, device="cuda", workers=0)
    with pytest.raises(UsageError, match="--num-gpus 1.5"):
        plan_resources({"CPU": 4, "GPU": 4}, num_gpus=1.5, cpus_per_task=1, device=None, workers=0)


# ----------------------------------------------------------------------------------------------- inputs and CLI
def test_collect_jobs_mirrors_folders_and_lists(tmp_path: Path) -> None:
    src = tmp_path / "in"
    (src / "day1").mkdir(parents=True)
    for name in ("a.mp4", "day1/b.mkv", "notes.txt", ".hidden.mkv"):
        (src / name).write_bytes(b"x")
    jobs, folder = collect_jobs(str(src), str(tmp_path / "out"), ext="mkv")
    assert folder
    assert [(Path(j.output).relative_to(tmp_path / "out").as_posix(), j.label) for j in jobs] == \
        [("a.mkv", "a.mp4"), ("day1/b.mkv", "day1/b.mkv")]
    lst = tmp_path / "todo.txt"
    lst.write_text("# two files\nin/a.mp4\n\nin/day1/b.mkv\n")
    jobs, folder = collect_jobs(None, str(tmp_path / "out2"), list_file=str(lst))
    assert folder and [Path(j.output).relative_to(tmp_path / "out2").as_posix() for j in jobs] == \
        ["a.mp4", "day1/b.mkv"]
    with pytest.raises(UsageError, match="exactly one"):
        collect_jobs(str(src), "o", list_file=str(lst))
    with pytest.raises(InputError, match="does not exist"):
        collect_jobs(str(tmp_path / "missing.mkv"), str(tmp_path / "o.mkv"))
    with pytest.raises(UsageError, match="is a folder"):
        collect_jobs(str(src / "a.mp4"), str(tmp_path))


def test_cli_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clip = tmp_path / "c.mkv"
    clip.write_bytes(b"x")
    assert main(["-i", str(clip)]) == 2
    assert "-o" in capsys.readouterr().err
    assert main(["-i", str(clip), "-o", str(tmp_path / "o.mkv"), "--max-tries", "0", *ENGINE_ARGS]) == 2
    err = capsys.readouterr().err
    assert "--max-tries 0: must be at least 1" in err
    assert main(["-i", str(clip), "-o", str(tmp_path / "o.mkv"), "--min-chunk-frames", "0", *ENGINE_ARGS]) == 2
    assert "--min-chunk-frames 0: must be at least 1" in capsys.readouterr().err
    cuts = tmp_path / "cuts.json"
    cuts.write_text(json.dumps(["x"]))
    assert main(["-i", str(clip), "-o", str(tmp_path / "o.mkv"), "--scene-cuts", str(cuts), *ENGINE_ARGS]) == 2
    assert "frame indices" in capsys.readouterr().err
    assert main(["-i", str(clip), "-o", str(tmp_path / "o.mkv"), "--model", "fmanetpp-causal"]) == 2
    assert "every farm chunk would reset" in capsys.readouterr().err


def test_final_mux_applies_the_stream_policy(vfr_clip: Path, tmp_path: Path) -> None:
    import av

    from ffmpeg_filter.binary import find_ffmpeg
    from ffmpeg_filter.command import StreamPolicy
    from ffmpeg_filter.farm.join import mux_final
    from ffmpeg_filter.probe import probe_source

    info = probe_source(vfr_clip)
    video = make_sample_clip(tmp_path / "v.mkv", frames=4, size=(32, 24), audio=False, subtitles=False,
                             chapters=False, tags=False)
    joined = join_chunks([video], tmp_path / "joined.mkv", expected_frames=[4])
    cases = {"all.mkv": StreamPolicy(), "bare.mkv": StreamPolicy(audio=False, subtitles=False, metadata=False),
             "all.mp4": StreamPolicy()}
    seen = {}
    for name, policy in cases.items():
        mux_final(joined, info, tmp_path / name, ffmpeg=find_ffmpeg(), policy=policy)
        with av.open(str(tmp_path / name)) as f:
            seen[name] = ({(s.type, s.codec_context.name if s.codec_context else None) for s in f.streams},
                          len(f.chapters()), f.metadata.get("title"))
    assert seen["all.mkv"] == ({("video", "h264"), ("audio", "aac"), ("subtitle", "srt")}, 2, "FMA-Net++ sample clip")
    assert seen["bare.mkv"] == ({("video", "h264")}, 0, None)
    assert ("subtitle", "mov_text") in seen["all.mp4"][0]           # text subtitles converted for MP4


def test_scene_cuts_file_maps_to_inputs(tmp_path: Path) -> None:
    from ffmpeg_filter.farm.cli import read_scene_cuts
    from ffmpeg_filter.farm.inputs import FileJob

    jobs = [FileJob(str(tmp_path / "in" / "a.mkv"), "o/a.mkv", "a.mkv"),
            FileJob(str(tmp_path / "in" / "d" / "b.mkv"), "o/d/b.mkv", "d/b.mkv")]
    f = tmp_path / "cuts.json"
    f.write_text(json.dumps({"a.mkv": [10, 20], str((tmp_path / "in" / "d" / "b.mkv").resolve()): [5]}))
    assert read_scene_cuts(str(f), jobs) == {jobs[0].input: [10, 20], jobs[1].input: [5]}
    f.write_text("[3, 7]")
    with pytest.raises(UsageError, match="one input"):
        read_scene_cuts(str(f), jobs)
    assert read_scene_cuts(str(f), jobs[:1]) == {jobs[0].input: [3, 7]}


def test_collect_jobs_refuses_outputs_the_farm_cannot_write_and_skips_its_own_output_folder(tmp_path: Path) -> None:
    """-o without an extension or -o - used to fail only after every chunk was restored; an output folder inside
    the input folder used to be scanned as input on the next run (results restored again, one level deeper)."""
    clip = tmp_path / "a.mkv"
    clip.write_bytes(b"x")
    with pytest.raises(UsageError, match=r"has no extension.*-o .*noext\.mkv"):
        collect_jobs(str(clip), str(tmp_path / "noext"))
    with pytest.raises(UsageError, match="cannot write to stdout"):
        collect_jobs(str(clip), "-")
    (tmp_path / "restored" / "sub").mkdir(parents=True)
    (tmp_path / "restored" / "a.mkv").write_bytes(b"x")          # a result of an earlier run
    (tmp_path / "restored" / "sub" / "b.mkv").write_bytes(b"x")
    jobs, _ = collect_jobs(str(tmp_path), str(tmp_path / "restored"))
    assert [j.label for j in jobs] == ["a.mkv"]
    listed = tmp_path / "list.txt"
    listed.write_text(f"{clip}\n{clip}\n")
    with pytest.raises(UsageError, match="is listed twice"):
        collect_jobs(None, str(tmp_path / "out"), list_file=str(listed))


@pytest.mark.parametrize("suffix, chunk", [(".mkv", ".mkv"), (".mp4", ".mp4"), (".MTS", ".nut"), (".ts", ".nut"),
                                           (".avi", ".nut"), ("", ".mkv")])
def test_chunks_use_a_container_that_keeps_timestamps(suffix: str, chunk: str) -> None:
    from ffmpeg_filter.farm.workdir import chunk_suffix_for

    assert chunk_suffix_for(suffix) == chunk


def test_final_mux_converts_mp4_timed_text_for_matroska_and_keeps_the_avi_rate(tmp_path: Path) -> None:
    """mov_text cannot be copied into Matroska (ffmpeg: "Function not implemented" after all chunks were done);
    it is converted to SRT, as the single-file tool does. AVI gets the source's frame rate, not 600 fps."""
    import av

    from ffmpeg_filter.binary import find_ffmpeg
    from ffmpeg_filter.command import StreamPolicy
    from ffmpeg_filter.farm.join import mux_final
    from ffmpeg_filter.probe import probe_source

    mp4 = make_sample_clip(tmp_path / "phone.mp4", frames=6, size=(32, 24))
    info = probe_source(mp4)
    video = make_sample_clip(tmp_path / "v.mkv", frames=6, size=(32, 24), audio=False, subtitles=False,
                             chapters=False, tags=False)
    joined = join_chunks([video], tmp_path / "joined.mkv", expected_frames=[6])
    mux_final(joined, info, tmp_path / "out.mkv", ffmpeg=find_ffmpeg(), policy=StreamPolicy())
    with av.open(str(tmp_path / "out.mkv")) as f:
        kinds = [(s.type, s.codec_context.name if s.codec_context else None) for s in f.streams]
    assert ("subtitle", "subrip") in kinds or ("subtitle", "srt") in kinds
    mux_final(joined, info, tmp_path / "out.avi", ffmpeg=find_ffmpeg(), policy=StreamPolicy())
    with av.open(str(tmp_path / "out.avi")) as f:
        assert f.streams.video[0].average_rate == info.frame_rate


def test_an_unreachable_cluster_fails_in_seconds(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Ray retried a dead --ray-address for more than 7 minutes (Ctrl-C acted only after half a minute more);
    --min-chunk-frames 0 crashed as an unexpected error instead of a usage error."""
    import socket
    import time

    from ffmpeg_filter.farm.tasks import RayUnavailable, check_reachable

    with socket.socket() as sock:              # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    t0 = time.monotonic()
    with pytest.raises(RayUnavailable, match=f"nothing answers at 127.0.0.1:{port}"):
        check_reachable(f"127.0.0.1:{port}")
    assert time.monotonic() - t0 < 10
    check_reachable("auto")                    # left to Ray
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        check_reachable(f"ray://127.0.0.1:{server.getsockname()[1]}")


def test_final_mux_keeps_the_video_disposition_and_names_telemetry_like_one_pass(vfr_clip: Path) -> None:
    """The single-file tool sets the video's own disposition and warns about telemetry tracks; the farm's final mux
    did neither, so the two outputs differed."""
    from ffmpeg_filter.command import StreamPolicy
    from ffmpeg_filter.farm.join import final_mux_args
    from ffmpeg_filter.probe import probe_source

    info = dataclasses.replace(probe_source(str(vfr_clip)), video_disposition="default",
                               telemetry_streams=["GoPro MET"])
    args, warnings = final_mux_args(info, Path("out.mkv"), StreamPolicy(), bitexact=False)
    assert args[args.index("-disposition:v:0") + 1] == "default"
    assert any("'GoPro MET' (telemetry) are not copied" in w for w in warnings)
    args, _ = final_mux_args(info, Path("out.mkv"), StreamPolicy(metadata=False), bitexact=False)
    assert "-disposition:v:0" not in args
