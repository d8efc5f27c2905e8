"""Engine-side speed switches: ``torch.compile``, channels-last weights, pinned host memory with a copy stream on
CUDA, and a per-stage clock for benchmarks (issue 10).

None of them changes what the engine computes; each may change rounding only:

* ``compile``: a :func:`torch.compile` mode (``"default"``, ``"reduce-overhead"`` = CUDA graphs, ``"max-autotune"``,
  ``"max-autotune-no-cudagraphs"``) or None for eager PyTorch. Shapes are compiled statically (``dynamic=False``):
  every distinct (frames, height, width, dtype) of a model run is compiled once per process, which suits the
  engine's fixed windows and equal-sized tiles (a clip has about three piece lengths: first, middle, last).
  Compilation is slow (minutes for the ``paper`` preset) and is cached by Inductor on disk, so it is off unless asked
  for. Dynamo's per-function recompile limit (8 by default, shared by every compiled wrapper of the model's
  ``forward``) is raised to :data:`RECOMPILE_LIMIT`, since past it further shapes would silently run eager.
* ``channels_last``: run on a copy of the network whose 4-D weights are in ``torch.channels_last`` layout, so cuDNN
  may pick NHWC kernels (the activations follow the weights' layout where the model does not reshape them).
* ``pinned``: on CUDA, frames go up and results come down through page-locked host memory (PyTorch's caching host
  allocator, so buffers are reused) on a separate copy stream, ordered against the compute stream with events.
  Pinned copies run at full PCIe/NVLink speed and do not block the compute stream; pageable copies are staged by the
  driver. On the CPU it has no meaning and resolves to False.

Defaults (``None``) come from :data:`DEFAULTS` per device type. On the CPU channels-last is on: oneDNN's NHWC
convolutions (depthwise ones above all) made the small x4 model's forward 15-17 % faster (6 frames of 64x64 and
128x128 LR, 1 thread: 4.72 -> 3.99 s and 20.5 -> 17.1 s, medians of 4 alternating runs); the paper preset is
unchanged within noise (4 frames of 36x64: 11.32 -> 11.16 s). The CUDA defaults stay
conservative until the GPU benchmark (``scripts/bench_speed.py``) has shown what pays on real hardware.
"""
from __future__ import annotations

import contextlib
import copy
import logging
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

log = logging.getLogger(__name__)

COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
RECOMPILE_LIMIT = 64
_COMPILE_OFF = ("off", "none", "eager", "false", "no", "")

#: per device type: what ``None`` means for each switch
DEFAULTS: dict[str, dict[str, Any]] = {
    "cpu": {"compile": None, "channels_last": True, "pinned": False},
    "cuda": {"compile": None, "channels_last": False, "pinned": True},
}


@dataclass(frozen=True)
class AccelSettings:
    """Resolved speed switches of one engine: ``compile`` mode (None = eager), ``channels_last``, ``pinned``."""

    compile: str | None = None
    channels_last: bool = False
    pinned: bool = False

    def describe(self) -> dict[str, Any]:
        """JSON-serialisable form (for ``Engine.describe()`` and benchmark reports)."""
        return asdict(self)


def _parse_compile(compile: str | bool | None, default: str | None, func: str) -> str | None:
    if compile is None:
        return default
    if compile is True:
        return "default"
    if compile is False:
        return None
    if isinstance(compile, str):
        mode = compile.strip().lower()
        if mode in _COMPILE_OFF:
            return None
        if mode in COMPILE_MODES:
            return mode
    raise ValueError(f"{func}: compile={compile!r} is not a torch.compile mode; use None or 'off' (eager), True "
                     f"(= 'default') or one of {list(COMPILE_MODES)}")


def _parse_flag(value: bool | None, default: bool, name: str, func: str) -> bool:
    if value is None:
        return default
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ValueError(f"{func}: {name}={value!r} must be True, False or None (device default)")


def resolve_accel(compile: str | bool | None, channels_last: bool | None, pinned: bool | None,
                  device: torch.device, func: str = "Engine") -> AccelSettings:
    """Validate the switches for ``device`` and fill in the device defaults (see :data:`DEFAULTS`).

    Raises ValueError naming ``func``, the bad value and the accepted ones.
    """
    defaults = DEFAULTS["cuda" if device.type == "cuda" else "cpu"]
    mode = _parse_compile(compile, defaults["compile"], func)
    cl = _parse_flag(channels_last, defaults["channels_last"], "channels_last", func)
    pin = _parse_flag(pinned, defaults["pinned"], "pinned", func)
    if pin and device.type != "cuda":
        log.debug("%s: pinned=True has no effect on %s (host and device memory are the same)", func, device)
        pin = False
    return AccelSettings(compile=mode, channels_last=cl, pinned=pin)


# ---------------------------------------------------------------------------------------------------- the network
_PREPARED: weakref.WeakKeyDictionary[nn.Module, dict[tuple[str | None, bool], nn.Module]] = \
    weakref.WeakKeyDictionary()
_PREPARED_LOCK = threading.Lock()


def prepare_network(net: nn.Module, settings: AccelSettings) -> nn.Module:
    """The module the engine calls for ``settings``: ``net`` itself (eager, default layout), or a channels-last copy
    and/or a ``torch.compile`` wrapper of it. One per (network, compile, channels_last) in this process, shared by
    every engine, so a model is compiled once; ``net`` itself is never modified (other engines share it). Like the
    shared networks themselves, the variants live as long as the process.
    """
    key = (settings.compile, settings.channels_last)
    if key == (None, False):
        return net
    with _PREPARED_LOCK:
        variants = _PREPARED.setdefault(net, {})
        module = variants.get(key)
        if module is None:
            module = net
            if settings.channels_last:
                module = to_channels_last_(copy.deepcopy(net).eval())   # net is shared: convert a copy
            if settings.compile is not None:
                _raise_recompile_limit(RECOMPILE_LIMIT)
                log.info("compiling the network with torch.compile(mode=%r); the first run of every new input "
                         "shape is slow (minutes for large presets)", settings.compile)
                module = torch.compile(module, mode=settings.compile, dynamic=False)
            variants[key] = module
        return module


def to_channels_last_(module: nn.Module) -> nn.Module:
    """Put ``module``'s 4-D parameters (2-D convolution weights) in channels-last layout, in place, and return it;
    3-D convolutions (the FMA-Net model's) and everything else keep their layout (``Module.to(memory_format=...)``
    refuses rank-5 weights). Values, names and gradients' meaning are unchanged; training on the CPU uses it too."""
    with torch.no_grad():
        for param in module.parameters():
            if param.dim() == 4:
                param.data = param.data.contiguous(memory_format=torch.channels_last)
    return module


def _raise_recompile_limit(limit: int) -> None:
    """Let dynamo keep ``limit`` specialisations per function (``recompile_limit``, formerly ``cache_size_limit``)."""
    import torch._dynamo.config as dynamo_config

    for name in ("recompile_limit", "cache_size_limit"):
        if hasattr(dynamo_config, name) and getattr(dynamo_config, name) < limit:
            setattr(dynamo_config, name, limit)


# ---------------------------------------------------------------------------------------------------- transfers
class HostTransfer:
    """Frames between NumPy and the engine's device.

    ``upload(frames [t, H, W, 3] float32) -> [1, t, 3, H, W] float32`` on the device; ``download(y [p, 3, sH, sW])
    -> [p, sH, sW, 3] float32`` NumPy (values as given; the caller clamps). With ``pinned`` (CUDA only) both go
    through page-locked buffers on a dedicated copy stream; the compute stream waits for an upload with an event,
    and a download waits for the compute stream, so no copy races a kernel. Safe to call from several threads.
    """

    def __init__(self, device: torch.device, pinned: bool) -> None:
        self.device = device
        self.pinned = bool(pinned and device.type == "cuda")
        self._stream: torch.cuda.Stream | None = None
        self._stream_lock = threading.Lock()

    def _copy_stream(self) -> torch.cuda.Stream:
        with self._stream_lock:
            if self._stream is None:
                self._stream = torch.cuda.Stream(self.device)
            return self._stream

    def upload(self, frames: np.ndarray) -> torch.Tensor:
        """[t, H, W, 3] float RGB -> [1, t, 3, H, W] float32 on the device (contiguous)."""
        if not self.pinned:
            x = torch.from_numpy(np.ascontiguousarray(frames, dtype=np.float32)).to(self.device)
            return x.permute(0, 3, 1, 2).unsqueeze(0).contiguous()
        host = torch.empty(frames.shape, dtype=torch.float32, pin_memory=True)
        host.numpy()[...] = frames                       # one host copy (any dtype/strides) into page-locked memory
        stream = self._copy_stream()
        compute = torch.cuda.current_stream(self.device)
        with torch.cuda.stream(stream):
            dev = host.to(self.device, non_blocking=True)
        compute.wait_stream(stream)
        dev.record_stream(compute)                        # allocated on the copy stream, used on the compute stream
        return dev.permute(0, 3, 1, 2).unsqueeze(0).contiguous()

    def download(self, y: torch.Tensor) -> np.ndarray:
        """[p, 3, sH, sW] on the device -> [p, sH, sW, 3] float32 NumPy (on CUDA reordered on the GPU, so the host
        gets one contiguous block)."""
        return self.to_host(y.permute(0, 2, 3, 1)).numpy()

    def to_host(self, y: torch.Tensor) -> torch.Tensor:
        """A device tensor as a CPU float32 tensor (same shape; contiguous when it comes from CUDA), e.g. one tile
        for blending on the host."""
        if self.device.type != "cuda":
            return y.float().cpu()
        y = y.float().contiguous()
        if not self.pinned:
            return y.cpu()
        # the copy stream waits for the kernels that produce y, copies into page-locked memory, and we wait for it
        host = torch.empty(y.shape, dtype=torch.float32, pin_memory=True)
        stream = self._copy_stream()
        stream.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(stream):
            host.copy_(y, non_blocking=True)
            y.record_stream(stream)
            done = torch.cuda.Event()
            done.record(stream)
        done.synchronize()
        return host


# ---------------------------------------------------------------------------------------------------- stage clock
class StageClock:
    """Seconds spent per engine stage ("upload", "code", "model", "download", "blend"), for benchmarks.

    Off by default (then ``with clock("model"):`` costs nothing). When enabled it synchronises the device at the
    start and end of every stage, so asynchronous GPU work is charged to the stage that queued it; that removes any
    overlap between stages, so measure throughput with the clock off and the split with it on.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.enabled = False
        self._lock = threading.Lock()
        self._seconds: dict[str, float] = {}
        self._calls: dict[str, int] = {}

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        self._sync()
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self._sync()
            dt = time.perf_counter() - t0
            with self._lock:
                self._seconds[stage] = self._seconds.get(stage, 0.0) + dt
                self._calls[stage] = self._calls.get(stage, 0) + 1

    def reset(self) -> None:
        """Forget the totals."""
        with self._lock:
            self._seconds.clear()
            self._calls.clear()

    def totals(self) -> dict[str, float]:
        """Seconds per stage since the last :meth:`reset`."""
        with self._lock:
            return dict(self._seconds)

    def calls(self) -> dict[str, int]:
        """Number of timed sections per stage since the last :meth:`reset`."""
        with self._lock:
            return dict(self._calls)
