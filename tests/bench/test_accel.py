"""Engine speed switches (vs_fmanet.engine.accel): validation, defaults, channels-last and compiled forward passes
with unchanged output, the shared network left untouched, host transfers and the stage clock."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from vs_fmanet.engine import Engine
from vs_fmanet.engine import accel
from vs_fmanet.engine.accel import AccelSettings, HostTransfer, StageClock, prepare_network, resolve_accel
from vs_fmanet.model import build_model

from enginefix import make_clip

CPU = torch.device("cpu")


def test_resolve_accel_defaults_and_spellings() -> None:
    # channels-last is the CPU default (oneDNN convolutions ~15 % faster on the small model, see accel.DEFAULTS)
    assert resolve_accel(None, None, None, CPU) == AccelSettings(compile=None, channels_last=True, pinned=False)
    assert resolve_accel(True, True, True, CPU) == AccelSettings("default", True, False)   # no pinning on the CPU
    assert resolve_accel("OFF", False, None, CPU).compile is None
    assert resolve_accel("max-autotune", None, None, CPU).compile == "max-autotune"
    assert resolve_accel(None, None, None, torch.device("cuda", 0)).pinned is True       # resolving needs no GPU


@pytest.mark.parametrize("kwargs, match", [({"compile": "fast"}, r"compile='fast'.*reduce-overhead"),
                                           ({"channels_last": "yes"}, r"channels_last='yes'"),
                                           ({"pinned": 1}, r"pinned=1")])
def test_bad_switches_are_refused_by_the_engine(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        Engine(preset="tiny", weights="random", device="cpu", **kwargs)


def test_channels_last_engine_matches_default_and_leaves_shared_network_alone() -> None:
    clip = make_clip(5, 20, 28, seed=3)
    plain = Engine(preset="tiny", weights="random", device="cpu", window=5, overlap=2, tile=0, channels_last=False)
    fast = Engine(preset="tiny", weights="random", device="cpu", window=5, overlap=2, tile=0)   # CPU default
    a, b = plain.restore(clip), fast.restore(clip)
    assert np.abs(a - b).max() < 1e-5
    assert fast.describe()["channels_last"] is True and plain.describe()["channels_last"] is False
    assert {"compile", "channels_last", "pinned"} <= set(plain.describe())
    # the network shared by every engine keeps its default layout; the copy is channels-last
    shared = plain._net
    assert fast._net is shared and fast._runner is not shared
    conv = next(m for m in shared.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3))
    assert conv.weight.is_contiguous()
    conv_cl = next(m for m in fast._runner.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3))
    assert conv_cl.weight.is_contiguous(memory_format=torch.channels_last) and not conv_cl.weight.is_contiguous()


def test_prepare_network_is_cached_per_setting() -> None:
    net = build_model("tiny").eval()
    assert prepare_network(net, AccelSettings()) is net
    cl = AccelSettings(channels_last=True)
    assert prepare_network(net, cl) is prepare_network(net, cl)


def test_compiled_engine_runs_through_torch_compile_without_graph_breaks(monkeypatch) -> None:
    """compile='reduce-overhead' reaches torch.compile with that mode; here the real torch.compile traces the whole
    forward with fullgraph=True (no graph breaks allowed) on dynamo's eager backend, which skips Inductor's
    minutes of code generation on the CPU."""
    calls = []
    real_compile = torch.compile

    def spy(module, **kwargs):
        calls.append(kwargs)
        return real_compile(module, backend="eager", fullgraph=True, dynamic=kwargs.get("dynamic"))

    monkeypatch.setattr(accel.torch, "compile", spy)
    monkeypatch.setattr(accel, "_PREPARED", accel.weakref.WeakKeyDictionary())
    clip = make_clip(3, 12, 16, seed=4)
    eng = Engine(preset="tiny", weights="random", device="cpu", window=3, overlap=0, tile=0, compile="reduce-overhead")
    out = eng.restore(clip)
    ref = Engine(preset="tiny", weights="random", device="cpu", window=3, overlap=0, tile=0).restore(clip)
    assert calls == [{"mode": "reduce-overhead", "dynamic": False}]
    assert np.abs(out - ref).max() < 1e-5
    assert eng.describe()["compile"] == "reduce-overhead"
    import torch._dynamo.config as dynamo_config
    assert getattr(dynamo_config, "recompile_limit", dynamo_config.cache_size_limit) >= accel.RECOMPILE_LIMIT


def test_host_transfer_layouts_on_cpu() -> None:
    frames = np.random.default_rng(0).random((3, 5, 7, 3), dtype=np.float32)
    t = HostTransfer(CPU, pinned=True)
    assert t.pinned is False
    x = t.upload(frames[:, :, :, :])
    assert x.shape == (1, 3, 3, 5, 7) and x.is_contiguous()
    assert torch.equal(x[0, 1, 2], torch.from_numpy(frames[1, :, :, 2]))
    back = t.download(x[0])
    assert back.shape == (3, 5, 7, 3) and np.array_equal(back, frames)
    assert torch.equal(t.to_host(x), x)


def test_stage_clock_records_only_when_enabled() -> None:
    eng = Engine(preset="tiny", weights="random", device="cpu", window=2, overlap=0, tile=(16, 16), tile_overlap=4)
    clip = make_clip(2, 20, 24, seed=5)
    eng.restore(clip)
    assert eng.stage_clock.totals() == {}
    eng.stage_clock.enabled = True
    eng.restore(clip)
    totals, calls = eng.stage_clock.totals(), eng.stage_clock.calls()
    assert {"upload", "code", "model", "download", "blend"} <= set(totals)
    assert calls["model"] == calls["download"] == 4                # 2x2 tiles, one model run each
    assert all(v >= 0 for v in totals.values()) and totals["model"] > 0
    eng.stage_clock.reset()
    assert eng.stage_clock.totals() == {}
    clock = StageClock(CPU)
    with clock("x"):
        pass
    assert clock.totals() == {}
