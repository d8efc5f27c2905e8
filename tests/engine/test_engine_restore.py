"""Engine.restore / Engine.stream with the real FMA-Net++ network (tiny preset) on small synthetic clips."""
from __future__ import annotations

import numpy as np
import pytest

import vs_fmanet
from vs_fmanet.engine import Engine

from enginefix import TINY, make_clip


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(**TINY, window=4, overlap=4)


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return make_clip(10, 16, 20)


def test_output_shape_range_and_provenance(engine, clip):
    out = engine.restore(clip)
    assert out.shape == (10, 64, 80, 3) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    info = engine.describe()
    assert info["model"] == "fmanetpp" and info["model_name"] == "random-tiny" and info["weights"] == "random"
    assert (info["scale"], info["window"], info["overlap"], info["temporal_radius"]) == (4, 4, 4, 4)
    assert info["device"] == "cpu" and info["precision"] == "fp32"
    assert engine.scale == 4 and engine.window == 4 and engine.overlap == 4 and engine.model_name == "random-tiny"


def test_defaults_follow_the_model(engine):
    eng = Engine(**TINY)
    assert eng.overlap == eng.temporal_radius == 4 and eng.window == 16


def test_stream_equals_restore_bit_for_bit_with_bounded_buffer(engine, clip):
    exposure = np.linspace(0.2, 1.0, len(clip)).astype(np.float32)
    exposure[3] = np.nan
    ref = engine.restore(clip, exposure, scene_cuts=[6])
    pulled = []

    def source():
        for i, frame in enumerate(clip):
            pulled.append(i)
            yield frame

    outputs = []
    gen = engine.stream(source(), iter(exposure.tolist()), iter([i == 6 for i in range(len(clip))]))
    for out in gen:
        if not outputs:   # first output needs the first window plus its right context, not the whole clip
            assert len(pulled) == engine.window + engine.overlap
        outputs.append(out)
    assert np.array_equal(np.stack(outputs), ref)


def test_output_does_not_depend_on_window_size(clip):
    """With overlap >= the temporal radius no produced frame sees past its context: window size is irrelevant."""
    a = Engine(**TINY, window=3, overlap=4).restore(clip[:7])
    b = Engine(**TINY, window=5, overlap=4).restore(clip[:7])
    np.testing.assert_allclose(a, b, atol=1e-5)
    c = Engine(**TINY, window=3, overlap=1).restore(clip[:7])   # too little context: borders differ
    assert np.abs(a - c).max() > 1e-4


def test_scene_cut_blocks_information_flow(engine):
    clip = make_clip(8, 16, 16)
    changed = clip.copy()
    changed[5:] = 1.0 - changed[5:]
    cut_a, cut_b = engine.restore(clip, scene_cuts=[5]), engine.restore(changed, scene_cuts=[5])
    assert np.array_equal(cut_a[:5], cut_b[:5])
    assert np.abs(cut_a[5:] - cut_b[5:]).max() > 0.1
    # without the cut the change does leak into frames 1..4 (so the check above can fail)
    free_a, free_b = engine.restore(clip), engine.restore(changed)
    assert np.abs(free_a[1:5] - free_b[1:5]).max() > 1e-4


def test_exposure_changes_output(amplified_card, clip):
    eng = Engine(weights=amplified_card, window=5, overlap=0)
    short = eng.restore(clip[:5], np.full(5, 0.1, np.float32))
    long = eng.restore(clip[:5], 0.9)
    assert np.abs(short - long).mean() > 1e-4 and np.abs(short - long).max() > 1e-3
    np.testing.assert_array_equal(eng.restore(clip[:5], None), eng.restore(clip[:5], np.full(5, np.nan)))
    np.testing.assert_array_equal(eng.restore(clip[:5], 1.02), eng.restore(clip[:5], 1.0))   # rounding slack


def test_odd_sizes_and_single_frame(engine):
    out = engine.restore(make_clip(1, 13, 17))
    assert out.shape == (1, 52, 68, 3)


def test_module_level_restore_matches_engine(engine, clip):
    np.testing.assert_array_equal(vs_fmanet.restore(clip[:3], **TINY, window=4, overlap=4), engine.restore(clip[:3]))


@pytest.mark.parametrize("frames, exposure, cuts, message", [
    (np.zeros((0, 8, 8, 3), np.float32), None, None, "no frames"),
    (np.zeros((2, 8, 8), np.float32), None, None, r"expected \[T, H, W, 3\]"),
    (np.zeros((2, 8, 8, 3), np.uint8), None, None, "frame 0 has dtype uint8.*/ 255"),
    (np.concatenate([np.zeros((2, 8, 8, 3)), np.full((1, 8, 8, 3), np.nan)]).astype(np.float32), None, None,
     "frame 2 contains NaN"),
    (np.zeros((3, 8, 8, 3), np.float32), [0.5, 0.5], None, r"exposure has shape \(2,\).*3 frames"),
    (np.zeros((3, 8, 8, 3), np.float32), [0.5, 0.01, 20.0], None, "exposure of frame 2 is 20.0.*seconds \\* fps"),
    (np.zeros((3, 8, 8, 3), np.float32), [0.5, 0.0, 0.5], None, "exposure of frame 1 is 0.0"),
    (np.zeros((3, 8, 8, 3), np.float32), None, [5], "scene cut at frame 5 is beyond the last frame"),
    (np.zeros((3, 8, 8, 3), np.float32), True, None, "exposure of frame 0 is True, a bool"),
    (np.zeros((3, 8, 8, 3), np.float32), [0.5, False, 0.5], None, "exposure of frame 1 is False, a bool"),
    (np.zeros((3, 8, 8, 3), np.float32), None, 2, r"scene_cuts=2 is not a list of frame indices.*\[2\]"),
    (np.zeros((2, 8, 8, 3), np.uint16), None, None, "16-bit input use frame.astype.*/ 65535"),   # it said / 255
    (np.zeros((2, 3, 8, 8), np.float32), None, None, r"planar.*np.moveaxis\(frames, 1, -1\)"),
    (np.zeros((2, 8, 8, 4), np.float32), None, None, r"RGBA.*frames\[..., :3\]"),
    (np.zeros((2, 8, 8, 1), np.float32), None, None, r"grey.*np.repeat"),
    ([np.zeros((8, 8, 3), np.float32), np.zeros((4, 8, 3), np.float32)], None, None, "cannot be read as one array"),
])
def test_bad_inputs_name_the_problem(engine, frames, exposure, cuts, message):
    with pytest.raises(ValueError, match=message):
        engine.restore(frames, exposure, cuts)


def test_bad_stream_inputs(engine):
    with pytest.raises(ValueError, match="stream: the frame iterable was empty"):
        list(engine.stream(iter([])))
    frames = [np.zeros((8, 8, 3), np.float32), np.zeros((8, 9, 3), np.float32)]
    with pytest.raises(ValueError, match="frame 1 is 9x8 but earlier frames are 8x8"):
        list(engine.stream(frames))
    with pytest.raises(ValueError, match="exposure ended before frame 1"):
        list(engine.stream(frames[:1] * 2, exposure=[0.5]))
    same = [np.zeros((8, 8, 3), np.float32)] * 3
    np.testing.assert_array_equal(np.stack(list(engine.stream(same, exposure=0.5))),
                                  engine.restore(np.stack(same), 0.5))      # one number for all, as restore() takes
    with pytest.raises(ValueError, match=r"exposure of frame 0 is '0.5', text"):
        list(engine.stream(same, exposure=["0.5"] * 3))


def test_restore_piece_checks_what_it_is_given(engine, clip):
    """restore_piece (the VapourSynth plugin's and the benchmark's entry) used to take uint8 frames as 0..255 (a
    white picture), blame the weights for NaN pixels, accept an exposure of 5 and fail in a matrix product on a
    short exposure array."""
    from vs_fmanet.engine import Piece

    piece, frames = Piece(0, 4, 0, 4), clip[:4]
    with pytest.raises(ValueError, match="restore_piece: frames have dtype uint8.*/ 255"):
        engine.restore_piece((frames * 255).astype(np.uint8), None, piece)
    with pytest.raises(ValueError, match="restore_piece: frame 2 contains NaN"):
        engine.restore_piece(np.where(np.arange(4)[:, None, None, None] == 2, np.nan, frames), None, piece)
    with pytest.raises(ValueError, match="restore_piece: exposure of frame 0 is 5.0"):
        engine.restore_piece(frames, np.full(4, 5.0), piece)
    with pytest.raises(ValueError, match=r"restore_piece: exposure has shape \(2,\) but there are 4 frames"):
        engine.restore_piece(frames, np.full(2, 0.5), piece)
    np.testing.assert_array_equal(engine.restore_piece(list(frames), 0.5, piece)[0], engine.restore(frames, 0.5))


def test_torch_and_numpy_scalar_inputs(engine, clip):
    """bfloat16 tensors, tensors that require grad, 0-d exposures and numpy integer settings used to fail with raw
    library errors."""
    import torch

    frames = clip[:3]
    expected = engine.restore(frames, 0.5)
    tensor = torch.from_numpy(frames.copy()).requires_grad_()
    np.testing.assert_array_equal(engine.restore(tensor, torch.tensor(0.5)), expected)
    np.testing.assert_array_equal(engine.restore(frames, torch.full((3,), 0.5, requires_grad=True)), expected)
    np.testing.assert_array_equal(engine.restore(frames, torch.full((3,), 0.5, dtype=torch.bfloat16)), expected)
    assert np.abs(engine.restore(tensor.bfloat16(), 0.5) - expected).max() < 0.05
    for single in (np.array(0.5), torch.tensor(0.5)):
        np.testing.assert_array_equal(np.stack(list(engine.stream(iter(frames), single))), expected)
    with pytest.raises(ValueError, match="exposure of frame 0 is '0.5', text"):
        list(engine.stream(iter(frames), "0.5"))       # it was read one character at a time
    numpy_settings = Engine(**TINY, window=np.int64(4), overlap=np.int64(1), ensemble=np.int64(2))
    assert numpy_settings.describe()["window"] == 4
    with pytest.raises(ValueError, match="weights=123 is a int"):
        Engine(weights=123)
    assert Engine(weights="fmanetpp_small_x2.json", device="cpu").scale == 2    # a shipped card's file name


@pytest.mark.parametrize("kwargs, message", [
    ({"preset": "tiny", "weights": "random", "device": "tpu"}, "device='tpu'"),
    ({"preset": "tiny", "weights": "random", "precision": "fp8"}, "precision='fp8'"),
    ({"preset": "tiny", "weights": "random", "window": 0}, "window=0"),
    ({"preset": "tiny", "weights": "random", "tile": 8}, "tile=8 is too small"),
    ({"preset": "tiny", "weights": "random", "tile": 32, "tile_overlap": 20}, "more than half"),
    ({"preset": "tiny", "weights": "random", "model": "rvrt"}, "model='rvrt' is not supported"),
    ({"weights": "random"}, "weights='random' needs an explicit preset"),
])
def test_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Engine(**kwargs)


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the message on machines without CUDA")
def test_cuda_request_without_gpu_is_explained():
    with pytest.raises(ValueError, match="(no CUDA GPU is visible|CPU-only build).*device='cpu'"):
        Engine(**TINY, device="cuda:1")


def test_small_tiles_get_an_overlap_they_can_hold(clip):
    """tile=16..31 (16 is the documented minimum) was always refused: the default overlap of 16 is more than half
    of such a tile, and the message named an overlap the user never gave."""
    small = Engine(**TINY, tile=20)
    assert small.describe()["tile_overlap"] == 10 and Engine(**TINY, tile=64).describe()["tile_overlap"] == 16
    assert small.restore(clip[:3]).shape == (3, clip.shape[1] * 4, clip.shape[2] * 4, 3)
