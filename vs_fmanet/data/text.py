"""Rendered text on scene textures: sharp glyph edges are scarce in the photo sources (training-data notes).

Fonts come from installed wheels only: matplotlib's bundled DejaVu family when present, else Pillow's built-in
scalable font. Strings are random letter/digit words, drawn with Pillow in a random colour, size and angle.
"""
from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = ["font_files", "draw_text"]

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


@lru_cache(maxsize=1)
def font_files() -> tuple[Path, ...]:
    """TrueType fonts available from installed wheels (matplotlib's DejaVu fonts); may be empty."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return ()
    folder = Path(list(spec.submodule_search_locations)[0]) / "mpl-data" / "fonts" / "ttf"
    return tuple(sorted(folder.glob("DejaVu*.ttf")))


def _font(rng: np.random.Generator, size: int):
    from PIL import ImageFont

    fonts = font_files()
    if fonts:
        return ImageFont.truetype(str(fonts[int(rng.integers(len(fonts)))]), size)
    return ImageFont.load_default(size=size)


def draw_text(pixels: np.ndarray, rng: np.random.Generator, lines: tuple[int, int] = (1, 5)) -> np.ndarray:
    """Return a copy of uint8 RGB ``pixels`` [H, W, 3] with 1..5 lines of random words drawn on it."""
    from PIL import Image, ImageDraw

    h, w = pixels.shape[:2]
    canvas = Image.fromarray(np.ascontiguousarray(pixels[..., :3]))
    layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for _ in range(int(rng.integers(lines[0], lines[1] + 1))):
        size = int(rng.integers(max(8, h // 40), max(9, h // 6)))
        words = ["".join(rng.choice(list(_ALPHABET), size=int(rng.integers(2, 9))))
                 for _ in range(int(rng.integers(1, 5)))]
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3)) + (255,)
        xy = (float(rng.uniform(0, 0.8 * w)), float(rng.uniform(0, 0.9 * h)))
        draw.text(xy, " ".join(words), font=_font(rng, size), fill=colour)
    angle = float(rng.uniform(-20, 20))
    layer = layer.rotate(angle, resample=Image.BICUBIC, center=(w / 2, h / 2))
    canvas.paste(layer, (0, 0), layer)
    return np.asarray(canvas)
