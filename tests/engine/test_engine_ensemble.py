"""Self-ensemble (Engine(ensemble=n)): the mean of the model over flipped/transposed views, mapped back; it helps
with the shipped weights; bad values and the causal model get clear errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from vs_fmanet.engine import Engine
from vs_fmanet.engine.ensemble import VIEWS, views

from enginefix import TINY, make_clip


def test_every_view_inverts_and_the_eight_are_distinct():
    x = torch.arange(2 * 3 * 5 * 7, dtype=torch.float32).reshape(1, 2, 3, 5, 7)
    seen = set()
    for view in VIEWS:
        y = view.apply(x)
        assert y.shape[-2:] == ((7, 5) if view.transpose else (5, 7))
        assert torch.equal(view.invert(y), x)                      # spatial only: frame order untouched
        seen.add(y.flatten().tolist().__repr__())
    assert len(seen) == 8 and views(1) == (VIEWS[0],) and VIEWS[0] == (False, False, False)


NUMPY_VIEW = {  # the same views written on [T, H, W, 3] arrays, independently of the engine's torch code
    (False, False, False): lambda a: a, (True, False, False): lambda a: a[:, :, ::-1],
    (False, True, False): lambda a: a[:, ::-1], (True, True, False): lambda a: a[:, ::-1, ::-1]}


@pytest.mark.parametrize("n", [2, 4, 8])
def test_output_is_the_mean_over_the_views(n: int):
    """Where no view's output is clipped to [0, 1], the ensemble equals the mean of the plain engine run on each
    flipped/transposed clip and mapped back (exposure given, so the per-frame code is the same for every view)."""
    frames = make_clip(5, 12, 14)
    exposure = np.linspace(0.2, 1.0, 5)
    plain = Engine(**TINY, tile=0, window=4, overlap=2)
    outs = []
    for view in VIEWS[:n]:
        def forward(a, view=view):
            a = a.swapaxes(1, 2) if view.transpose else a
            return NUMPY_VIEW[(view.hflip, view.vflip, False)](a)

        def back(a, view=view):
            a = NUMPY_VIEW[(view.hflip, view.vflip, False)](a)
            return a.swapaxes(1, 2) if view.transpose else a
        outs.append(back(plain.restore(np.ascontiguousarray(forward(frames)), exposure)))
    outs = np.stack(outs)
    got = Engine(**TINY, tile=0, window=4, overlap=2, ensemble=n).restore(frames, exposure)
    inside = ((outs > 0) & (outs < 1)).all(axis=0)
    assert inside.mean() > 0.5
    np.testing.assert_allclose(got[inside], outs.mean(axis=0)[inside], atol=2e-5)
    assert np.abs(got - outs[0]).max() > 1e-3                         # and it is not just the identity view
    assert Engine(**TINY, ensemble=n).describe()["ensemble"] == n


def test_ensemble_with_tiles_stays_close_to_untiled():
    frames = make_clip(4, 24, 28)
    whole = Engine(**TINY, tile=0, window=4, overlap=2, ensemble=4).restore(frames)
    tiled = Engine(**TINY, tile=16, tile_overlap=6, window=4, overlap=2, ensemble=4).restore(frames)
    assert tiled.shape == whole.shape and float(np.abs(tiled - whole).mean()) < 0.02


def test_ensemble_improves_the_shipped_weights_on_a_benchmark_clip():
    """What a user turns it on for: with the shipped x4 weights, four views beat one on a SYN-RE clip."""
    from vs_fmanet.data import benchmark
    from vs_fmanet.evaluation import psnr

    clip = next(iter(benchmark("syn-re", size="small", seed=0, scale=4)))
    lr = clip["lr"].permute(0, 2, 3, 1).numpy().astype(np.float32)
    gt = clip["gt"].permute(0, 2, 3, 1).numpy().astype(np.float32)
    exposure = clip["exposure"].double().numpy()
    one = psnr(Engine(device="cpu", precision="fp32").restore(lr, exposure), gt, 4)
    four = psnr(Engine(device="cpu", precision="fp32", ensemble=4).restore(lr, exposure), gt, 4)
    assert four > one + 0.02, (one, four)


@pytest.mark.parametrize("value", [3, 0, 16, True, 2.0, "4"])
def test_bad_ensemble_values_are_refused(value):
    with pytest.raises(ValueError, match=r"Engine: ensemble=.* must be one of 1, 2, 4, 8"):
        Engine(**TINY, ensemble=value)


def test_the_causal_model_refuses_an_ensemble():
    with pytest.raises(ValueError, match="ensemble=2 does not apply to model='fmanetpp-causal'"):
        Engine(model="fmanetpp-causal", preset="causal-tiny", weights="random", ensemble=2)
    Engine(model="fmanetpp-causal", preset="causal-tiny", weights="random", ensemble=1)
