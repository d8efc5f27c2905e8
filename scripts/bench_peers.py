"""Peer networks for ``bench_speed.py``: BasicVSR++ as ``vsbasicvsrpp`` ships it and RVRT as ``vsrvrt`` ships it,
built from the packages' own network classes with random weights (timing needs no trained weights; nothing is
downloaded), and timed on the same input sizes as FMA-Net++.

How each package builds its network (read from the wheels, vsbasicvsrpp 3.0.0 and vsrvrt 1.1.3):

* ``vsbasicvsrpp.basicvsrpp(clip, model=1)`` builds ``BasicVSRPlusPlusNet(mid_channels=64, num_blocks=7,
  is_low_res_input=True, spynet_pretrained=<file>)`` (the Vimeo-90K BI x4 network, 7.3 M parameters), casts the
  weights to fp16 for RGBH clips or keeps fp32 for RGBS, sets ``torch.set_float32_matmul_precision("high")``, feeds
  clips of ``length=15`` frames and replicate-pads frames smaller than 64 pixels. Here: the same class with
  ``spynet_pretrained=None`` (random SPyNet instead of a downloaded one).
* ``vsrvrt.SuperRes(clip, model="reds")`` builds ``RVRT(**config)`` with the config
  ``001_RVRT_videosr_bi_REDS_30frames`` (x4), casts the model to fp16 (``use_fp16=True``, the default) and pads
  the clip to an even number of frames and to multiples of 8 pixels by mirroring. ``import vsrvrt`` refuses to run
  without CUDA, and its guided deformable attention is a prebuilt CUDA extension, so RVRT cannot run on the CPU.
  That extension is compiled against one PyTorch build; where it does not load, the same extension is compiled
  once from the CUDA/C++ sources shipped in the wheel (``torch.utils.cpp_extension.load``, needs nvcc and ninja),
  and the row records ``extension: "jit"`` and the build time.

A peer that cannot be built or run gives a row whose ``error`` says why (package missing, no CUDA, extension that
does not load with this PyTorch, out of memory), never a silent omission.
"""
from __future__ import annotations

import contextlib
import os
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

PEERS = ("basicvsrpp", "rvrt")
PACKAGES = {"basicvsrpp": "vsbasicvsrpp", "rvrt": "vsrvrt"}
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
INSTALL_HINT = "pip install 'vs-fmanet[bench]' (or the wheels listed in scripts/gpu_run.sh)"


class PeerUnavailable(RuntimeError):
    """The peer cannot be built here; the message says why."""


@dataclass
class Peer:
    """A built peer: ``net`` on its device in its dtype; ``pad`` maps [1, T, 3, H, W] to the padded input the
    package would feed and returns the crop back to [1, T, 3, sH, sW]."""

    name: str
    package: str
    version: str
    net: torch.nn.Module
    dtype: torch.dtype
    scale: int
    matmul_precision: str | None     # what the package sets globally (None = leaves PyTorch's default)
    pad: Callable[[torch.Tensor], tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]]
    extension: str | None = None     # RVRT: "prebuilt" or "jit" (its CUDA extension)
    extension_build_s: float | None = None

    @property
    def params(self) -> int:
        return sum(p.numel() for p in self.net.parameters())


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def _pad_basicvsrpp(x: torch.Tensor) -> tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
    """vsbasicvsrpp: replicate-pad on the bottom/right up to 64 pixels (its ``min_res``); crop the output."""
    h, w = x.shape[-2:]
    ph, pw = max(64 - h, 0), max(64 - w, 0)
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph, 0, 0), mode="replicate")
    return x, lambda y: y[..., : 4 * h, : 4 * w]


def _pad_rvrt(clip_size: int, window: int) -> Callable[[torch.Tensor], tuple[torch.Tensor, Callable]]:
    """vsrvrt (_test_clip_no_spatial_tiling): mirror-pad frames to a multiple of ``clip_size`` and H, W to
    multiples of ``window``; crop the output."""
    def pad(x: torch.Tensor) -> tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
        t, h, w = x.shape[1], x.shape[-2], x.shape[-1]
        dt, dh, dw = (-t) % clip_size, (-h) % window, (-w) % window
        if dt:
            x = torch.cat([x, torch.flip(x[:, -dt:], [1])], 1)
        if dh:
            x = torch.cat([x, torch.flip(x[..., -dh:, :], [3])], 3)
        if dw:
            x = torch.cat([x, torch.flip(x[..., -dw:], [4])], 4)
        return x, lambda y: y[:, :t, :, : 4 * h, : 4 * w]
    return pad


def build_peer(name: str, device: torch.device, precision: str) -> Peer:
    """Build peer ``name`` ("basicvsrpp" or "rvrt") with random weights on ``device`` in ``precision`` (the
    packages cast their weights, they do not autocast). Raises :class:`PeerUnavailable` with the reason."""
    if name not in PEERS:
        raise ValueError(f"build_peer: unknown peer {name!r}; choose from {PEERS}")
    package = PACKAGES[name]
    if precision not in ("fp32", "fp16"):
        raise PeerUnavailable(f"{package} ships fp32 and fp16 inference only, not {precision}")
    dtype = DTYPES[precision]
    torch.manual_seed(0)
    if name == "basicvsrpp":
        try:
            from vsbasicvsrpp.basicvsr_plusplus_net import BasicVSRPlusPlusNet
        except ImportError as exc:
            raise PeerUnavailable(f"{package} is not importable ({exc}); {INSTALL_HINT}") from exc
        except Exception as exc:  # the package's __init__ imports vapoursynth and mmengine
            raise PeerUnavailable(f"importing {package} failed: {type(exc).__name__}: {exc}") from exc
        if device.type != "cuda" and dtype != torch.float32:
            raise PeerUnavailable(f"{package} runs fp16 on CUDA only")
        net = BasicVSRPlusPlusNet(mid_channels=64, num_blocks=7, is_low_res_input=True, spynet_pretrained=None)
        return Peer(name, package, _version(package), net.eval().to(device, dtype), dtype, 4, "high",
                    _pad_basicvsrpp)
    try:
        from vsrvrt.model_configs import get_config, get_default_task
        from vsrvrt.rvrt_src.models.network_rvrt import RVRT
    except ImportError as exc:
        raise PeerUnavailable(f"{package} is not importable ({exc}); {INSTALL_HINT}") from exc
    except Exception as exc:  # vsrvrt/__init__ raises RuntimeError when PyTorch sees no CUDA device
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise PeerUnavailable(f"{package} refuses to import here ({type(exc).__name__}: {first}); it needs "
                              "CUDA (its deformable attention is a prebuilt CUDA extension)") from exc
    if device.type != "cuda":
        raise PeerUnavailable(f"{package}'s deformable attention is a CUDA extension; RVRT cannot run on {device}")
    extension, build_s = _rvrt_extension(device)
    cfg = get_config(get_default_task("superres"))
    net = RVRT(upscale=cfg.upscale, clip_size=cfg.clip_size, img_size=cfg.img_size, window_size=cfg.window_size,
               num_blocks=cfg.num_blocks, depths=cfg.depths, embed_dims=cfg.embed_dims, num_heads=cfg.num_heads,
               inputconv_groups=cfg.inputconv_groups, deformable_groups=cfg.deformable_groups,
               attention_heads=cfg.attention_heads, attention_window=cfg.attention_window,
               cpu_cache_length=cfg.cpu_cache_length, nonblind_denoising=cfg.nonblind_denoising)
    return Peer(name, package, _version(package), net.eval().to(device, dtype), dtype, cfg.upscale, None,
                _pad_rvrt(cfg.clip_size, cfg.window_size[-1]), extension, build_s)


_RVRT_EXTENSION: tuple[str, float | None] | None = None


def _rvrt_extension(device: torch.device) -> tuple[str, float | None]:
    """Make vsrvrt's deformable-attention extension loadable: its prebuilt binary, else a build from the sources in
    its wheel. Returns ("prebuilt" | "jit", build seconds). Raises PeerUnavailable when neither works."""
    global _RVRT_EXTENSION
    if _RVRT_EXTENSION is not None:
        return _RVRT_EXTENSION
    from vsrvrt.rvrt_src.models.op import deform_attn as ops

    try:
        ops._ensure_extension_loaded()
        _RVRT_EXTENSION = ("prebuilt", None)
        return _RVRT_EXTENSION
    except Exception as exc:
        prebuilt_error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
    from torch.utils.cpp_extension import load

    src = Path(ops.__file__).resolve().parent
    major, minor = torch.cuda.get_device_capability(device)
    os.environ.setdefault("TORCH_CUDA_ARCH_LIST", f"{major}.{minor}")
    t0 = time.perf_counter()
    try:
        ops.deform_attn_ext = load("vsrvrt_deform_attn_jit", sources=[str(src / "deform_attn_ext.cpp"),
                                   str(src / "deform_attn_cuda_pt110.cpp"), str(src / "deform_attn_cuda_kernel.cu")],
                                   verbose=False)
    except Exception as exc:
        raise PeerUnavailable(f"vsrvrt's prebuilt CUDA extension does not load with torch {torch.__version__} "
                              f"({prebuilt_error}) and building it from the wheel's sources failed "
                              f"({type(exc).__name__}: {str(exc).strip()[-300:]})") from exc
    _RVRT_EXTENSION = ("jit", time.perf_counter() - t0)
    return _RVRT_EXTENSION


@contextlib.contextmanager
def matmul_precision(value: str | None) -> Iterator[None]:
    """Set ``torch.set_float32_matmul_precision`` for the duration (None = leave it)."""
    old = torch.get_float32_matmul_precision()
    if value is not None:
        torch.set_float32_matmul_precision(value)
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(old)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_peer(peer: Peer, clip: torch.Tensor, device: torch.device, warmup: int, repeats: int) -> dict[str, Any]:
    """Time the peer on ``clip`` [1, T, 3, H, W] float32 on the host, the way its plugin runs one clip: upload,
    pad, forward, crop, download. Returns seconds per run (median), model-only seconds (forward, synchronised)
    and peak GPU memory."""
    def once() -> tuple[float, float]:
        _sync(device)
        t0 = time.perf_counter()
        x = clip.to(device, peer.dtype)
        x, crop = peer.pad(x.clamp(0.0, 1.0))
        _sync(device)
        t1 = time.perf_counter()
        y = peer.net(x)
        _sync(device)
        t2 = time.perf_counter()
        crop(y).float().cpu()
        _sync(device)
        return time.perf_counter() - t0, t2 - t1

    with torch.inference_mode(), matmul_precision(peer.matmul_precision):
        t_first = once()[0]
        for _ in range(max(warmup - 1, 0)):
            once()
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        runs = [once() for _ in range(repeats)]
    out: dict[str, Any] = {"first_call_s": t_first, "runs_s": [r[0] for r in runs],
                           "s_per_run": statistics.median(r[0] for r in runs),
                           "model_s_per_run": statistics.median(r[1] for r in runs)}
    if device.type == "cuda":
        out["peak_gpu_gb"] = torch.cuda.max_memory_allocated(device) / 1e9
    return out
