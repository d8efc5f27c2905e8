"""Side-by-side comparison images for people: labelled panels of equally sized [H, W, 3] frames in [0, 1]."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw


def to_u8(frame: np.ndarray) -> np.ndarray:
    """[H, W, 3] float in [0, 1] -> uint8 (clipped, rounded)."""
    return np.round(np.clip(frame, 0, 1) * 255).astype(np.uint8)


def side_by_side(panels: list[tuple[str, np.ndarray]], gap: int = 4, label_height: int = 18) -> Image.Image:
    """Concatenate labelled frames left to right on a white canvas; the label sits above each panel."""
    h, w = panels[0][1].shape[:2]
    if any(p.shape[:2] != (h, w) for _, p in panels):
        raise ValueError(f"side_by_side: panels differ in size: {[p.shape[:2] for _, p in panels]}")
    canvas = Image.new("RGB", (w * len(panels) + gap * (len(panels) - 1), h + label_height), "white")
    draw = ImageDraw.Draw(canvas)
    for i, (label, img) in enumerate(panels):
        x = i * (w + gap)
        canvas.paste(Image.fromarray(to_u8(img)), (x, label_height))
        draw.text((x + 2, 3), label, fill="black")
    return canvas
