"""TileBlend: the host-side weighted blend shared by the window engine and the causal stream."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from vs_fmanet.engine.tiling import TileBlend, make_tiles


def test_blend_of_tile_outputs_equals_the_weighted_mean():
    h, w, s = 20, 28, 2
    tiles = make_tiles(h, w, (16, 16), 4, s)
    frame = torch.from_numpy(np.random.default_rng(0).random((2, 3, s * h, s * w), dtype=np.float32))
    blend = TileBlend(h, w, s)
    acc = np.zeros((2, 3, s * h, s * w))
    wsum = np.zeros((s * h, s * w))
    for k, tl in enumerate(tiles):
        part = frame[..., s * tl.y0:s * tl.y1, s * tl.x0:s * tl.x1] + k    # each tile sees a different offset
        blend.add(tl, part)
        acc[..., s * tl.y0:s * tl.y1, s * tl.x0:s * tl.x1] += part.numpy() * tl.weight
        wsum[s * tl.y0:s * tl.y1, s * tl.x0:s * tl.x1] += tl.weight
    out = blend.result()
    assert out.shape == (2, 3, s * h, s * w) and out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), acc / wsum, rtol=1e-6, atol=1e-6)


def test_blend_of_one_frame_and_of_nothing():
    tiles = make_tiles(16, 32, (16, 16), 0, 1)
    blend = TileBlend(16, 32, 1)
    for tl in tiles:
        blend.add(tl, torch.ones(3, 16, 16))
    assert torch.allclose(blend.result(), torch.ones(3, 16, 32))
    with pytest.raises(ValueError, match="no tile was added"):
        TileBlend(16, 32, 1).result()
