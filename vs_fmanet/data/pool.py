"""A pool of decoded source images of one split/kind, with a byte-bounded LRU cache of decoded pixels."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from .sources import SourceImage, load_image

__all__ = ["ImagePool"]


class ImagePool:
    """Images to draw scene content from; ``image(i)`` decodes lazily and caches up to ``cache_bytes``."""

    def __init__(self, images: Sequence[SourceImage], cache_bytes: int = 1 << 30) -> None:
        self.images = list(images)
        self.cache_bytes = int(cache_bytes)
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._held = 0

    def __len__(self) -> int:
        return len(self.images)

    def __bool__(self) -> bool:
        return bool(self.images)

    def ids(self) -> list[str]:
        return [i.id for i in self.images]

    def image(self, index: int) -> np.ndarray:
        """Decoded uint8 [H, W, 3|4] pixels of image ``index`` (see sources.load_image)."""
        if index in self._cache:
            self._cache.move_to_end(index)
            return self._cache[index]
        pixels = load_image(self.images[index])
        pixels.setflags(write=False)
        self._cache[index] = pixels
        self._held += pixels.nbytes
        while self._held > self.cache_bytes and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._held -= old.nbytes
        return pixels

    def pick(self, rng: np.random.Generator, exclude: int | None = None) -> int:
        """A uniformly random index (each image equally likely, whatever its size), avoiding ``exclude``."""
        if not self.images:
            raise ValueError("ImagePool.pick: the pool is empty; install the image sources "
                             "(pip install 'vs-fmanet[data]', fmanet-fetch-sources)")
        if exclude is None or len(self.images) == 1:
            return int(rng.integers(len(self.images)))
        i = int(rng.integers(len(self.images) - 1))
        return i + 1 if i >= exclude else i
