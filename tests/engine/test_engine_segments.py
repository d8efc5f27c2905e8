"""Fixed temporal segmentation: positions, context, scene cuts (pure Python, no model)."""
from __future__ import annotations

import pytest

from vs_fmanet.engine import Piece, plan_grid_window, plan_windows
from vs_fmanet.engine.segments import normalise_scene_starts


def test_pieces_tile_the_sequence_at_fixed_positions():
    pieces = plan_windows(23, window=5, overlap=3)
    assert [(p.start, p.stop) for p in pieces] == [(0, 5), (5, 10), (10, 15), (15, 20), (20, 23)]
    assert [(p.context_start, p.context_stop) for p in pieces] == [(0, 8), (2, 13), (7, 18), (12, 23), (17, 23)]
    assert pieces[1].produced == slice(3, 8) and pieces[1].length == 11


def test_scene_cuts_split_windows_and_clamp_context():
    pieces = plan_windows(20, window=8, overlap=3, scene_starts=[6, 11])
    assert pieces == [Piece(0, 6, 0, 6), Piece(6, 8, 6, 11), Piece(8, 11, 6, 11), Piece(11, 16, 11, 19),
                      Piece(16, 20, 13, 20)]
    for p in pieces:   # no piece's context crosses a cut
        for cut in (6, 11):
            assert not (p.context_start < cut < p.context_stop)


def test_grid_window_only_needs_local_cuts():
    full = plan_windows(40, window=6, overlap=2, scene_starts=[3, 17, 33])
    for k in range(7):
        local = [c for c in (3, 17, 33) if k * 6 - 2 <= c <= (k + 1) * 6 + 2]
        assert plan_grid_window(k, 40, 6, 2, local) == [p for p in full if k * 6 <= p.start < (k + 1) * 6]


def test_bad_settings_and_cuts_are_refused():
    with pytest.raises(ValueError, match="window=0"):
        plan_windows(10, window=0, overlap=2)
    with pytest.raises(ValueError, match="overlap=-1"):
        plan_windows(10, window=4, overlap=-1)
    with pytest.raises(ValueError, match="num_frames=0"):
        plan_windows(0, window=4, overlap=2)
    with pytest.raises(ValueError, match="negative"):
        normalise_scene_starts([-3])
    with pytest.raises(ValueError, match="not an integer"):
        normalise_scene_starts([2.5])
    assert normalise_scene_starts([0, 7, 3, 7, 12], num_frames=10) == [3, 7]
