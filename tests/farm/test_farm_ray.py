"""fmanet-farm end to end on a real local Ray (one per module, 2 CPUs): chunked output equals the single-file
tool's, resume, retry after an exception, recovery from a killed worker, folder mode with a corrupt file."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

import farmfix
from farmfix import ENGINE, ENGINE_ARGS, video_facts
from ffmpeg_filter.farm.cli import main, options_from_args, parse_args
from ffmpeg_filter.farm.runner import run_farm
from ffmpeg_filter.pipeline import RunOptions, run

HERE = str(Path(__file__).resolve().parent)


@pytest.fixture(scope="module")
def ray_local():
    """A real local Ray with 2 CPUs, one GPU *resource* (there is no GPU: Ray only does the bookkeeping) and a
    small object store; workers can import farmfix (the chunk hooks)."""
    import ray

    if ray.is_initialized():
        ray.shutdown()
    path = os.pathsep.join(p for p in (HERE, os.environ.get("PYTHONPATH", "")) if p)
    ray.init(num_cpus=2, num_gpus=1, include_dashboard=False, object_store_memory=80 * 2 ** 20, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": path, "OMP_NUM_THREADS": "1"}})
    yield ray
    ray.shutdown()


def _events(stderr: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_farm_output_equals_single_pass(ray_local: Any, vfr_clip: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """4 chunks on 2 workers, lossless FFV1 so decoded frames compare exactly: frames, VFR timestamps, audio,
    subtitles, chapters and tags equal fmanet-ffmpeg's single pass."""
    single = tmp_path / "single.mkv"
    run(RunOptions(input=str(vfr_clip), output=str(single), engine=ENGINE, user_args=["-c:v", "ffv1"],
                   progress="none", exposure_from="none"))
    out = tmp_path / "farm.mkv"
    rc = main(["-i", str(vfr_clip), "-o", str(out), *ENGINE_ARGS, "--chunk-frames", "4", "--workers", "2",
               "--progress", "json", "--report", str(tmp_path / "report.json"), "--", "-c:v", "ffv1"])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    assert cap.out == ""                                          # stdout stays free
    events = _events(cap.err)
    assert sorted(e["chunk"] for e in events if e["event"] == "chunk" and e["state"] == "done") == [0, 1, 2, 3]
    assert [e["state"] for e in events if e["event"] == "file"] == ["planned", "running", "done"]
    assert events[-1]["event"] == "end" and events[-1]["state"] == "done"
    progress = [e for e in events if e["event"] == "progress"]
    assert progress[-1]["frame"] == 16 and progress[-1]["chunks_done"] == 4

    ref, got = video_facts(single), video_facts(out)
    assert len(got["md5"]) == 16 and got["size"] == (64, 48)
    assert got["md5"] == ref["md5"]                               # bit-identical frames
    assert got["pts"] == ref["pts"]                               # identical (VFR) timestamps
    assert got["pts"][9] - got["pts"][8] > 1.5 * (got["pts"][1] - got["pts"][0])
    for key in ("streams", "chapters", "tags", "video_title"):
        assert got[key] == ref[key], key
    assert ("audio", "aac", "eng") in got["streams"] and ("subtitle", "srt", "fra") in got["streams"]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["files"][0]["status"] == "done" and report["files"][0]["chunks_run"] == 4
    assert not (tmp_path / ".fmanet-farm").exists()               # work folder removed after success


def test_interlaced_source_is_deinterlaced_in_chunks_exactly_as_in_one_pass(ray_local: Any, interlaced_clip: Path,
                                                                           tmp_path: Path) -> None:
    """bwdif looks one frame each side: chunks (cut every 4 frames) still give the single pass's frames, and a
    changed --deinterlace is a changed plan (nothing reused)."""
    single = tmp_path / "single.mkv"
    report = run(RunOptions(input=str(interlaced_clip), output=str(single), engine=ENGINE, user_args=["-c:v", "ffv1"],
                            progress="none", exposure_from="none"))
    assert report.deinterlace == "interlaced"
    out = tmp_path / "farm.mkv"
    args = ["-i", str(interlaced_clip), "-o", str(out), *ENGINE_ARGS, "--chunk-frames", "4", "--workers", "2",
            "--progress", "none", "--report", str(tmp_path / "report.json"), "--", "-c:v", "ffv1"]
    assert main(args) == 0
    assert video_facts(out)["md5"] == video_facts(single)["md5"]
    assert main(["-y", *args[:-3], "--deinterlace", "off", *args[-3:]]) == 0
    files = json.loads((tmp_path / "report.json").read_text())["files"]
    assert files[0]["chunks_reused"] == 0
    assert video_facts(out)["md5"] != video_facts(single)["md5"]


def test_resume_redoes_only_the_deleted_chunk(ray_local: Any, cfr_clip: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out, work = tmp_path / "out.mkv", tmp_path / "work"
    args = ["-i", str(cfr_clip), "-o", str(out), *ENGINE_ARGS, "--chunk-frames", "4", "--work-dir", str(work),
            "--keep", "--progress", "json"]
    assert main(args) == 0
    first = video_facts(out)
    (job,) = list(work.iterdir())
    records = {i: (job / "chunks" / f"{i:05d}.json").read_text() for i in range(3)}
    (job / "chunks" / "00001.mkv").unlink()
    capsys.readouterr()

    assert main(args) == 1                                        # output exists, no -y: refused before any work
    assert "pass -y" in capsys.readouterr().err
    assert main([*args, "-y", "--report", str(tmp_path / "r.json")]) == 0
    events = _events(capsys.readouterr().err)
    chunk_states = {(e["chunk"], e["state"]) for e in events if e["event"] == "chunk"}
    assert chunk_states == {(0, "reused"), (2, "reused"), (1, "done")}
    rep = json.loads((tmp_path / "r.json").read_text())["files"][0]
    assert (rep["chunks_reused"], rep["chunks_run"]) == (2, 1)
    assert (job / "chunks" / "00000.json").read_text() == records[0]    # untouched
    assert (job / "chunks" / "00002.json").read_text() == records[2]
    assert (job / "chunks" / "00001.json").read_text() != records[1]    # redone
    again = video_facts(out)
    assert again["md5"] == first["md5"] and again["pts"] == first["pts"]


def _farm_options(clip: Path, out: Path, work: Path, hook: Any) -> Any:
    ns, extra = parse_args(["-i", str(clip), "-o", str(out), *ENGINE_ARGS, "--chunk-frames", "8", "--work-dir",
                            str(work), "--keep", "--progress", "none", "--max-tries", "2"])
    return dataclasses.replace(options_from_args(ns, extra), chunk_hook=hook)


def test_a_chunk_that_raises_on_its_first_try_succeeds_on_retry(ray_local: Any, vfr_clip: Path,
                                                                tmp_path: Path) -> None:
    out = tmp_path / "out.mkv"
    report = run_farm(_farm_options(vfr_clip, out, tmp_path / "work", farmfix.fail_first_attempt_of_chunk_1))
    (f,) = report.files
    assert report.exit_code == 0 and f.status == "done" and f.failed_attempts == 1 and f.chunks_run == 2
    state = json.loads((Path(f.work_dir) / "state.json").read_text())
    assert "injected failure" in state["errors"]["1"][0]["error"] and state["attempts"]["1"] == 2
    assert len(video_facts(out)["md5"]) == 16


def test_a_worker_killed_mid_chunk_is_recovered(ray_local: Any, vfr_clip: Path, tmp_path: Path) -> None:
    """The worker SIGKILLs itself after restoring the first piece of chunk 1 (its encoder is running); the
    chunk is redone by another worker process and the file completes."""
    out = tmp_path / "out.mkv"
    report = run_farm(_farm_options(vfr_clip, out, tmp_path / "work", farmfix.kill_worker_in_chunk_1))
    (f,) = report.files
    assert report.exit_code == 0 and f.status == "done" and f.failed_attempts == 1
    work = Path(f.work_dir)
    killed = int((work / "killed-worker.pid").read_text())
    record = json.loads((work / "chunks" / "00001.json").read_text())
    assert record["attempt"] == 2 and record["pid"] != killed
    with pytest.raises(ProcessLookupError):
        os.kill(killed, 0)                                        # that worker process is really gone
    state = json.loads((work / "state.json").read_text())
    assert "WorkerCrashedError" in state["errors"]["1"][0]["error"]
    assert not [p for p in (work / "chunks").iterdir() if p.name.startswith(".")]   # partial files cleaned
    assert len(video_facts(out)["md5"]) == 16


def test_folder_with_a_corrupt_file_finishes_the_others(ray_local: Any, vfr_clip: Path, cfr_clip: Path,
                                                        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src, dst = tmp_path / "in", tmp_path / "out"
    (src / "day2").mkdir(parents=True)
    shutil.copy(cfr_clip, src / "a.mkv")
    shutil.copy(vfr_clip, src / "day2" / "b.mkv")
    (src / "bad.mkv").write_bytes(os.urandom(4096))
    (src / "notes.txt").write_text("not a video")
    args = ["-i", str(src), "-o", str(dst), *ENGINE_ARGS, "--chunk-frames", "8", "--workers", "2",
            "--progress", "json"]
    assert main(args) == 1
    events = _events(capsys.readouterr().err)
    report = json.loads((dst / "fmanet-farm-report.json").read_text())
    status = {f["label"]: f for f in report["files"]}
    assert sorted(status) == ["a.mkv", "bad.mkv", "day2/b.mkv"]
    assert status["a.mkv"]["status"] == "done" and status["day2/b.mkv"]["status"] == "done"
    assert status["bad.mkv"]["status"] == "failed"
    assert "bad.mkv" in status["bad.mkv"]["error"] and "not a media file" in status["bad.mkv"]["error"]
    assert report["counts"] == {"done": 2, "failed": 1} and report["exit_code"] == 1
    assert len(video_facts(dst / "a.mkv")["md5"]) == 12 and len(video_facts(dst / "day2" / "b.mkv")["md5"]) == 16
    assert not (dst / "bad.mkv").exists()
    assert {(e["file"], e["state"]) for e in events if e["event"] == "file" and e["state"] != "planned"} >= \
        {("a.mkv", "done"), ("day2/b.mkv", "done"), ("bad.mkv", "failed")}

    # rerun without -y: finished outputs are skipped, the corrupt file is reported again
    assert main(args) == 1
    capsys.readouterr()
    again = {f["label"]: f["status"] for f in json.loads((dst / "fmanet-farm-report.json").read_text())["files"]}
    assert again == {"a.mkv": "skipped", "day2/b.mkv": "skipped", "bad.mkv": "failed"}


def test_fractional_gpu_tasks_share_the_gpu(ray_local: Any, cfr_clip: Path, tmp_path: Path) -> None:
    """--num-gpus 0.5: two chunk tasks fit on the cluster's one GPU at once, each told which GPU by Ray
    (CUDA_VISIBLE_DEVICES); without CUDA in this process the engine falls back to the CPU."""
    args = [a for a in ENGINE_ARGS if a not in ("--device", "cpu")]
    ns, extra = parse_args(["-i", str(cfr_clip), "-o", str(tmp_path / "out.mkv"), *args, "--chunk-frames", "4",
                            "--num-gpus", "0.5", "--work-dir", str(tmp_path / "work"), "--keep", "--progress", "none"])
    report = run_farm(dataclasses.replace(options_from_args(ns, extra), chunk_hook=farmfix.record_gpu_assignment))
    assert report.exit_code == 0, report.files[0].error
    res = report.settings["resources"]
    assert (res["num_gpus"], res["concurrency"], res["device"]) == (0.5, 2, None)
    (work,) = [Path(f.work_dir) for f in report.files]
    seen = [json.loads((work / f"gpu-{i}.json").read_text()) for i in range(3)]
    assert all(s["cuda_visible_devices"] == "0" and s["gpu_ids"] == [0] for s in seen), seen
    assert all(s["resources"].get("GPU") == 0.5 for s in seen), seen
    assert report.files[0].engine["device"] == "cpu"


def test_camcorder_mts_and_avi_outputs_match_the_single_pass(ray_local: Any, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """An AVCHD-style .MTS (H.264 with B-frames, 90 kHz clock) restored to .MTS in 3 chunks: the MPEG-TS muxer used
    to shift only the first chunk by the encoder delay, so the join refused the chunks after all the work. The
    chunks are now NUT (timestamps untouched) and only the final mux writes MPEG-TS: same timestamps as the single
    pass. An AVI output keeps the source's frame rate."""
    sys_path = str(Path(__file__).resolve().parents[1] / "exposure")
    import sys

    if sys_path not in sys.path:
        sys.path.insert(0, sys_path)
    from expofix import mdpm_block, write_h264_with_sei

    cam = write_h264_with_sei(tmp_path / "00001.MTS", [mdpm_block((1, 50 + 10 * i)) for i in range(24)], 25)
    single = tmp_path / "single.MTS"
    run(RunOptions(input=str(cam), output=str(single), engine=ENGINE, progress="none", exposure_from="none"))
    out = tmp_path / "farm.MTS"
    rc = main(["-i", str(cam), "-o", str(out), *ENGINE_ARGS, "--chunk-frames", "8", "--workers", "2",
               "--progress", "none"])
    assert rc == 0, capsys.readouterr().err
    ref, got = video_facts(single), video_facts(out)
    assert len(got["md5"]) == 24 and got["pts"] == ref["pts"]
    avi = tmp_path / "farm.avi"
    assert main(["-i", str(cam), "-o", str(avi), *ENGINE_ARGS, "--chunk-frames", "8", "--progress", "none"]) == 0
    import av

    with av.open(str(avi)) as f:
        assert f.streams.video[0].average_rate == 25 and sum(1 for _ in f.decode(video=0)) == 24


def test_folder_output_inside_the_input_folder_is_not_restored_again(ray_local: Any, cfr_clip: Path,
                                                                     tmp_path: Path) -> None:
    src = tmp_path / "card"
    src.mkdir()
    shutil.copy(cfr_clip, src / "a.mkv")
    args = ["-i", str(src), "-o", str(src / "restored"), *ENGINE_ARGS, "--chunk-frames", "8", "--progress", "none"]
    assert main(args) == 0
    first = (src / "restored" / "a.mkv").read_bytes()
    assert main(args) == 0                                     # the rerun skips a.mkv and finds nothing else
    assert (src / "restored" / "a.mkv").read_bytes() == first
    assert not (src / "restored" / "restored").exists()


def test_exposure_is_checked_against_each_files_own_rate(ray_local: Any, farm_clips: Path, tmp_path: Path) -> None:
    """1/20 s is longer than a 25 fps frame but fits 15 fps: the farm used to refuse it against a fixed 25 fps."""
    from ffmpeg_filter.sample import make_sample_clip

    clip = make_sample_clip(farm_clips / "c15.mkv", frames=6, size=(32, 24), fps="15", audio=False,
                            subtitles=False, chapters=False)
    out = tmp_path / "c15.mkv"
    report = tmp_path / "r.json"
    assert main(["-i", str(clip), "-o", str(out), *ENGINE_ARGS[:-2], "--exposure", "1/20", "--progress", "none",
                 "--report", str(report)]) == 0
    assert json.loads(report.read_text())["files"][0]["status"] == "done"


def test_relative_inputs_work_when_the_workers_run_elsewhere(ray_local: Any, vfr_clip: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """On a cluster every chunk failed with "input 'clips/a.mkv' does not exist": the driver probed the relative
    path and the workers decoded it from their own folder."""
    (tmp_path / "clips").mkdir()
    shutil.copy(vfr_clip, tmp_path / "clips" / "a.mkv")
    monkeypatch.chdir(tmp_path)
    options = _farm_options(Path("clips/a.mkv"), Path("a_x4.mkv"), tmp_path / "work", farmfix.work_in_another_folder)
    report = run_farm(options)
    assert report.exit_code == 0, report.files[0].error
    assert len(video_facts(tmp_path / "a_x4.mkv")["md5"]) == 16
