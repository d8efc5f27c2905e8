"""Side-by-side images: labels stay inside their own panel (long card names wrap), panels of unequal size are
refused."""
import numpy as np
import pytest
from PIL import Image, ImageDraw

from vs_fmanet.evaluation.visual import side_by_side, wrap_label


def test_long_labels_wrap_to_the_panel_width():
    draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    assert wrap_label("bicubic 23.65 dB", 188, draw) == ["bicubic 23.65 dB"]
    lines = wrap_label("fmanetpp_small_x4_real 24.86 dB", 60, draw)
    assert len(lines) > 2 and "".join(lines).replace(" ", "") == "fmanetpp_small_x4_real24.86dB"
    assert all(draw.textlength(line) <= 60 for line in lines)


def test_the_canvas_grows_for_wrapped_labels_and_keeps_pixels():
    red, blue = np.zeros((20, 48, 3)), np.zeros((20, 48, 3))
    red[..., 0], blue[..., 2] = 1.0, 1.0
    short = side_by_side([("a", red), ("b", blue)])
    tall = side_by_side([("a", red), ("a_very_long_card_name 24.86 dB", blue)])
    assert short.width == tall.width == 100 and tall.height > short.height
    px = np.asarray(tall)
    assert tuple(px[-1, 0]) == (255, 0, 0) and tuple(px[-1, -1]) == (0, 0, 255)
    with pytest.raises(ValueError, match="differ in size"):
        side_by_side([("a", red), ("b", np.zeros((10, 48, 3)))])
