"""Streaming inference with the causal model: stream == batch-causal, resets at cuts, look-ahead delay, constant
memory over a long stream, tiles, weights cards, and the error messages."""
from __future__ import annotations

import gc

import numpy as np
import pytest
import torch
from enginefix import make_clip

from vs_fmanet.engine import Engine, WeightsError, save_weights

CAUSAL = {"model": "fmanetpp-causal", "weights": "random", "device": "cpu"}


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return make_clip(9, 12, 16, seed=4)


def test_stream_equals_batch_causal_model_and_restore(clip):
    eng = Engine(preset="causal-tiny-k1", **CAUSAL)
    streamed = np.stack(list(eng.stream(iter(clip))))
    restored = eng.restore(clip)
    assert np.array_equal(streamed, restored)
    with torch.no_grad():
        x = torch.from_numpy(clip).permute(0, 3, 1, 2)[None]
        batch = eng._net(x).clamp(0, 1)[0].permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(streamed, batch, rtol=0, atol=2e-5)
    desc = eng.describe()
    assert desc["causal"] is True and desc["lookahead"] == 1 and desc["model"] == "fmanetpp-causal"


def test_scene_cut_resets_the_state_and_stops_the_lookahead(clip):
    eng = Engine(preset="causal-tiny-k1", **CAUSAL)
    cut = 5
    whole = eng.restore(clip, scene_cuts=[cut])
    assert np.array_equal(whole[:cut], eng.restore(clip[:cut]))      # frame 4 never saw frame 5
    assert np.array_equal(whole[cut:], eng.restore(clip[cut:]))      # frame 5 starts from a fresh state
    flags = [i == cut for i in range(len(clip))]
    assert np.array_equal(whole, np.stack(list(eng.stream(iter(clip), scene_starts=iter(flags)))))
    no_cut = eng.restore(clip)
    assert np.abs(no_cut[cut:] - whole[cut:]).max() > 1e-5


def test_push_returns_each_frame_after_its_lookahead(clip):
    eng = Engine(preset="causal-tiny-k1", **CAUSAL)
    stream = eng.open_stream()
    assert stream.lookahead == 1
    got = [[j for j, _ in stream.push(clip[i], 0.5)] for i in range(4)]
    assert got == [[], [0], [1], [2]]
    assert [j for j, _ in stream.push(clip[4], 0.5, scene_start=True)] == [3]    # the cut finishes frame 3 first
    assert [j for j, _ in stream.flush()] == [4]
    eng0 = Engine(preset="causal-tiny", **CAUSAL).open_stream()
    assert [[j for j, _ in eng0.push(clip[i])] for i in range(3)] == [[0], [1], [2]]   # k = 0: no delay
    assert eng0.flush() == []


def _live_tensors() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if issubclass(type(o), torch.Tensor))


def test_memory_is_constant_over_a_long_stream():
    """240 frames: the state, the waiting frames and the number of live tensors do not grow."""
    eng = Engine(preset="causal-tiny-k1", **CAUSAL)
    stream = eng.open_stream()
    frames = make_clip(8, 8, 8, seed=2)
    marks = {}
    for i in range(240):
        out = stream.push(frames[i % 8], float("nan"), scene_start=(i == 120))
        assert len(out) == (0 if i == 0 else 1)       # at the cut (120) frame 119 is finished, 120 waits
        if i in (40, 239):
            marks[i] = (stream.memory(), _live_tensors())
    (mem_a, tensors_a), (mem_b, tensors_b) = marks[40], marks[239]
    assert mem_a == mem_b
    assert mem_a["state_tensors"] == 2 * 2 and mem_a["pending_frames"] == 1
    assert mem_a["state_bytes"] == 4 * 12 * 8 * 8 * 4          # 4 blocks x C=12 x 8 x 8 x fp32
    assert tensors_b <= tensors_a
    assert stream.frames_in == 240 and stream.frames_out == 239
    stream.flush()
    assert stream.memory()["state_tensors"] == 0 and stream.frames_out == 240


def test_tiles_carry_their_own_state():
    frames = make_clip(4, 24, 40, seed=5)
    eng = Engine(preset="causal-tiny", tile=16, tile_overlap=4, **CAUSAL)
    stream = eng.open_stream()
    outs = [y for f in frames for _, y in stream.push(f)]
    assert eng.describe()["tiles_in_use"] == {"40x24": [16, 16]}
    assert stream.memory()["state_tensors"] == 6 * 4                  # 2 x 3 tiles, 4 blocks each
    assert np.array_equal(np.stack(outs), eng.restore(frames))
    assert outs[0].shape == (96, 160, 3) and 0.0 <= outs[0].min() and outs[0].max() <= 1.0


def test_weights_card_round_trip(tmp_path, clip):
    eng = Engine(preset="causal-tiny", **CAUSAL)
    card = save_weights(eng._net.state_dict(), tmp_path / "causal_tiny_x4.safetensors", preset="causal-tiny",
                        scale=4, model="fmanetpp-causal")
    loaded = Engine(model="fmanetpp-causal", weights=card, device="cpu")
    assert loaded.describe()["preset"] == "causal-tiny" and loaded.causal
    assert np.array_equal(loaded.restore(clip[:3]), eng.restore(clip[:3]))
    with pytest.raises(WeightsError, match="is for model 'fmanetpp-causal', but model='fmanetpp' was asked"):
        Engine(model="fmanetpp", weights=card, device="cpu")


def test_clear_errors(clip):
    with pytest.raises(ValueError, match="window= and overlap= do not apply"):
        Engine(preset="causal-tiny", window=8, **CAUSAL)
    eng = Engine(preset="causal-tiny", **CAUSAL)
    with pytest.raises(ValueError, match="restore_piece: the causal model restores frame by frame"):
        from vs_fmanet.engine import Piece
        eng.restore_piece(clip[:3], np.full(3, np.nan), Piece(0, 3, 0, 3))
    with pytest.raises(ValueError, match="open_stream: model='fmanetpp' is not causal"):
        Engine(model="fmanetpp", preset="tiny", weights="random", device="cpu").open_stream()
    stream = eng.open_stream()
    stream.push(clip[0])
    with pytest.raises(ValueError, match=r"open_stream: exposure of frame 1 is 3\.0; it must be a fraction"):
        stream.push(clip[1], 3.0)
    with pytest.raises(ValueError, match="frame 1 is 8x8 but earlier frames are 16x12"):
        stream.push(clip[1, :8, :8])
    with pytest.raises(ValueError, match="stream: exposure ended before frame 2"):
        list(eng.stream(iter(clip[:4]), exposure=iter([0.5, 0.5])))


def test_the_weights_card_names_the_model(tmp_path, clip):
    """Engine(weights=card) without model=: the card says it is the causal network (no mismatch error)."""
    eng = Engine(preset="causal-tiny", **CAUSAL)
    card = save_weights(eng._net.state_dict(), tmp_path / "live_x4.safetensors", preset="causal-tiny", scale=4,
                        model="fmanetpp-causal")
    by_card = Engine(weights=card, device="cpu")
    assert by_card.causal and by_card.describe()["model"] == "fmanetpp-causal"
    assert np.array_equal(by_card.restore(clip[:3]), eng.restore(clip[:3]))
    with pytest.raises(WeightsError, match="no model card named 'nonexistent_card'"):
        Engine(weights="nonexistent_card", device="cpu")



def test_a_flush_or_a_scene_start_may_change_the_frame_size(clip):
    """flush() documents that the next frames start a new scene with a fresh state; that scene (or one pushed with
    scene_start=True) may have another size and equals a fresh stream of it. Within a scene the size is fixed."""
    eng = Engine(preset="causal-tiny", **CAUSAL)           # look-ahead 0: one output per push
    small = clip[:, :8, :10]
    stream = eng.open_stream()
    for frame in clip[:3]:
        stream.push(frame)
    stream.flush()
    after_flush = [y for f in small[:3] for _, y in stream.push(f)]
    reference = eng.open_stream()
    expected = [y for f in small[:3] for _, y in reference.push(f)]
    np.testing.assert_array_equal(np.stack(after_flush), np.stack(expected))
    cut = eng.open_stream()
    cut.push(clip[0])
    assert [(i, y.shape) for i, y in cut.push(small[0], scene_start=True)] == [(1, (32, 40, 3))]
    with pytest.raises(ValueError, match="frame 2 is 12x10 but earlier frames are 10x8"):
        cut.push(clip[2, :10, :12])


def test_push_checks_its_flag_names_the_size_fix_and_keeps_its_own_copy(clip):
    """scene_start='False' (truthy text) used to end the scene; a size change used to say 'resize first' where the
    fix is a new scene; a caller refilling its frame buffer must not change the frames held for look-ahead."""
    engine = Engine(**CAUSAL, preset="causal-tiny-k1")
    stream = engine.open_stream()
    stream.push(clip[0], 0.5)
    for flag in ("False", None):
        with pytest.raises(ValueError, match=f"scene start flag for frame 1 is {flag!r}; expected True or False"):
            stream.push(clip[1], 0.5, scene_start=flag)
    with pytest.raises(ValueError, match=r"changes size only at a new scene: push\(..., scene_start=True\)"):
        stream.push(clip[1][:6])

    refilled, buffer = engine.open_stream(), clip[0].copy()
    assert refilled.push(buffer) == []   # look-ahead 1: frame 0 waits, holding the pushed pixels
    buffer[:] = 0.0                      # a decoder reusing its buffer for the next frame
    expected = engine.open_stream()
    expected.push(clip[0])
    np.testing.assert_array_equal(refilled.flush()[0][1], expected.flush()[0][1])
