"""Side-by-side comparison images for people: labelled panels of equally sized [H, W, 3] frames in [0, 1]."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw


def to_u8(frame: np.ndarray) -> np.ndarray:
    """[H, W, 3] float in [0, 1] -> uint8 (clipped, rounded)."""
    return np.round(np.clip(frame, 0, 1) * 255).astype(np.uint8)


def wrap_label(label: str, width: int, draw: ImageDraw.ImageDraw) -> list[str]:
    """Split ``label`` into lines no wider than ``width`` pixels: at spaces, and inside a word that is too long
    on its own (a card name such as ``fmanetpp_small_x4_real``)."""
    lines: list[str] = []
    for word in label.split(" "):
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and draw.textlength(candidate) <= width:
            lines[-1] = candidate
            continue
        while draw.textlength(word) > width and len(word) > 1:
            fits = [k for k in range(1, len(word)) if draw.textlength(word[:k]) <= width]
            cut = fits[-1] if fits else 1
            lines.append(word[:cut])
            word = word[cut:]
        lines.append(word)
    return lines


def side_by_side(panels: list[tuple[str, np.ndarray]], gap: int = 4, line_height: int = 12) -> Image.Image:
    """Concatenate labelled frames left to right on a white canvas; the label sits above each panel, wrapped to
    the panel's width."""
    h, w = panels[0][1].shape[:2]
    if any(p.shape[:2] != (h, w) for _, p in panels):
        raise ValueError(f"side_by_side: panels differ in size: {[p.shape[:2] for _, p in panels]}")
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    labels = [wrap_label(label, w - 4, measure) for label, _ in panels]
    label_height = 6 + line_height * max(len(lines) for lines in labels)
    canvas = Image.new("RGB", (w * len(panels) + gap * (len(panels) - 1), h + label_height), "white")
    draw = ImageDraw.Draw(canvas)
    for i, ((_, img), lines) in enumerate(zip(panels, labels)):
        x = i * (w + gap)
        canvas.paste(Image.fromarray(to_u8(img)), (x, label_height))
        for j, line in enumerate(lines):
            draw.text((x + 2, 3 + j * line_height), line, fill="black")
    return canvas
