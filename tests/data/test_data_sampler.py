"""TrainingSampler batches and the SYN-ME / SYN-RE benchmarks: layout, determinism, exposure semantics."""
import numpy as np
import pytest
import torch

from vs_fmanet.data import BENCHMARK_NAMES, TrainingSampler, benchmark
from vs_fmanet.data.degrade import DegradationConfig


def test_batch_layout_and_ranges():
    s = TrainingSampler("train", scale=4, frames=3, lr_size=(8, 12), seed=5, layers=(0, 2))
    b = s.sample(2)
    assert b["lr"].shape == (2, 3, 3, 8, 12) and b["lr"].dtype == torch.float32
    assert b["gt"].shape == (2, 3, 3, 32, 48)
    assert b["lr_sharp"].shape == (2, 3, 3, 8, 12)
    assert b["exposure"].shape == (2, 3) and b["exposure"].dtype == torch.float32
    assert b["level"].shape == (2, 3) and b["level"].dtype == torch.int64
    for key in ("flow_fwd", "flow_bwd"):
        assert b[key].shape == (2, 3, 2, 8, 12)
    for key in ("occ_fwd", "occ_bwd"):
        assert b[key].shape == (2, 3, 1, 8, 12) and set(b[key].unique().tolist()) <= {0.0, 1.0}
    for key in ("lr", "gt", "lr_sharp"):
        assert 0.0 <= float(b[key].min()) and float(b[key].max()) <= 1.0
    assert torch.all((b["exposure"] > 0) & (b["exposure"] <= 1))
    fixed = b["level"] > 0
    torch.testing.assert_close(b["exposure"][fixed], b["level"][fixed].float() / 5)
    assert b["index"].tolist() == [0, 1] and len(b["sources"]) == 2
    assert torch.all(b["flow_fwd"][:, -1] == 0) and torch.all(b["flow_bwd"][:, 0] == 0)


def test_same_seed_same_bytes_and_resume():
    a = TrainingSampler("train", frames=2, lr_size=8, seed=21, layers=(1, 2))
    first = a.sample(2)
    second = a.sample(1)
    b = TrainingSampler("train", frames=2, lr_size=8, seed=21, layers=(1, 2))
    again = b.sample(2)
    for key in ("lr", "gt", "lr_sharp", "exposure", "level", "flow_fwd", "occ_bwd"):
        assert first[key].numpy().tobytes() == again[key].numpy().tobytes(), key
    state = a.state_dict()
    c = TrainingSampler("train", frames=2, lr_size=8, seed=21, layers=(1, 2))
    c.load_state_dict({"seed": 21, "next_clip": 2})
    assert torch.equal(c.sample(1)["lr"], second["lr"]) and state["next_clip"] == 3
    other = TrainingSampler("train", frames=2, lr_size=8, seed=22, layers=(1, 2)).sample(2)
    assert not torch.equal(other["gt"], first["gt"])
    with pytest.raises(ValueError, match="seed"):
        c.load_state_dict({"seed": 3, "next_clip": 0})


def test_hr_flow_and_degradations():
    s = TrainingSampler("train", scale=2, frames=2, lr_size=8, seed=3, flow_resolution="hr", layers=(0, 1),
                        degradations=DegradationConfig(noise_probability=1.0, jpeg_probability=1.0,
                                                       h264_probability=0.0))
    b = s.sample(1)
    assert b["flow_fwd"].shape == (1, 2, 2, 16, 16) and b["lr"].shape == (1, 2, 3, 8, 8)
    plan = b["degradations"][0]
    assert "noise" in plan and "jpeg" in plan
    assert not torch.equal(b["lr"], TrainingSampler("train", scale=2, frames=2, lr_size=8, seed=3,
                                                    layers=(0, 1)).sample(1)["lr"])


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="split must be"):
        TrainingSampler("val")
    with pytest.raises(ValueError, match="flow_resolution"):
        TrainingSampler(flow_resolution="mid")
    with pytest.raises(ValueError, match="batch_size"):
        TrainingSampler(frames=2, lr_size=8).sample(0)
    # these used to pass the constructor and fail at sample() with ZeroDivisionError or numpy's own messages
    for kwargs, says in (({"lr_size": 0}, "lr_size must be"), ({"lr_size": 8.5}, "lr_size must be"),
                         ({"seed": -1}, "seed must be an integer >= 0"), ({"layers": (3, 1)}, "layers must be")):
        with pytest.raises(ValueError, match=says):
            TrainingSampler(frames=2, **kwargs)


@pytest.mark.parametrize("kwargs, says", [({"name": "bogus"}, "unknown name"), ({"scale": 0}, "scale=0"),
                                          ({"scale": 2.5}, "scale=2.5"), ({"seed": None}, "seed=None"),
                                          ({"seed": -1}, "seed=-1")])
def test_benchmark_checks_its_arguments_at_the_call(kwargs, says):
    """The checks ran inside the generator, so a bad name failed only at next(), and scale/seed in torch or numpy."""
    with pytest.raises(ValueError, match=says):
        benchmark(**{"name": "syn-re", **kwargs})


def test_benchmarks_are_deterministic_and_share_scenes():
    clips = {name: list(benchmark(name, "small", seed=0)) for name in ("syn-me-1", "syn-me-5", "syn-re")}
    assert set(BENCHMARK_NAMES) == {f"syn-me-{n}" for n in range(1, 6)} | {"syn-re", "syn-re-real"}
    me1, me5 = clips["syn-me-1"], clips["syn-me-5"]
    assert len(me1) == 3
    for c1, c5, cre in zip(me1, me5, clips["syn-re"]):
        assert c1["lr"].shape == (6, 3, 32, 48) and c1["gt"].shape == (6, 3, 128, 192)
        assert torch.all(c1["level"] == 1) and torch.allclose(c1["exposure"], torch.full((6,), 0.2))
        assert torch.all(c5["level"] == 5)
        assert torch.equal(c1["gt"], c5["gt"]) and torch.equal(c1["gt"], cre["gt"])   # same scene, other shutter
        blur1 = float((c1["lr"] - c1["lr_sharp"]).abs().mean())
        blur5 = float((c5["lr"] - c5["lr_sharp"]).abs().mean())
        assert blur5 > blur1
        levels = cre["level"].numpy()
        assert levels.min() >= 1 and levels.max() <= 5 and np.all(np.abs(np.diff(levels)) <= 1)
    again = next(iter(benchmark("syn-me-5", "small", seed=0)))
    assert again["lr"].numpy().tobytes() == me5[0]["lr"].numpy().tobytes()
    other = next(iter(benchmark("syn-me-5", "small", seed=1)))
    assert not torch.equal(other["gt"], me5[0]["gt"])
    with pytest.raises(ValueError, match="unknown name"):
        next(iter(benchmark("syn-me-6")))
    with pytest.raises(ValueError, match="unknown size"):
        next(iter(benchmark("syn-re", "huge")))


def test_syn_re_real_is_syn_re_with_noise_and_h264_on_the_input_only():
    clean = list(benchmark("syn-re", "small", seed=0))
    real = list(benchmark("syn-re-real", "small", seed=0))
    assert len(real) == len(clean) == 3
    for c, r in zip(clean, real):
        # same scene, same exposure walk, same clean targets: only what the camera delivered differs
        assert torch.equal(c["gt"], r["gt"]) and torch.equal(c["lr_sharp"], r["lr_sharp"])
        assert torch.equal(c["exposure"], r["exposure"]) and torch.equal(c["level"], r["level"])
        assert set(r["degradations"]) == {"noise", "h264"} and "degradations" not in c
        assert r["degradations"]["noise"] == pytest.approx((4000.0, 3.0)) and r["degradations"]["h264"] == 23
        assert r["lr"].shape == c["lr"].shape
        err = float((r["lr"] - c["lr"]).pow(2).mean())
        assert 1e-5 < err < 1e-2, err   # visibly degraded (PSNR 20..50 dB against the clean input), not destroyed
        # brightness kept: noise is zero-mean and the codec keeps the DC
        assert abs(float(r["lr"].mean() - c["lr"].mean())) < 0.01
    again = next(iter(benchmark("syn-re-real", "small", seed=0)))
    assert again["lr"].numpy().tobytes() == real[0]["lr"].numpy().tobytes()


def test_batch_feeds_the_model():
    from vs_fmanet.model import build_model

    model = build_model("tiny", scale=4).eval()
    b = TrainingSampler("train", scale=4, frames=5, lr_size=16, seed=2, layers=(0, 1)).sample(1)
    with torch.no_grad():
        out = model(b["lr"], b["exposure"])
    assert out.shape == b["gt"].shape
    assert torch.isfinite((out - b["gt"]).abs().mean())
