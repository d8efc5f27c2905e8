"""Device and precision handling, independent of the input's storage format.

* ``device``: ``"cuda"``, ``"cuda:1"``, ``"cpu"`` (or a :class:`torch.device`); ``None`` = first CUDA device when
  available, else the CPU.
* ``precision``: ``"fp32"``, ``"fp16"`` or ``"bf16"``; ``None`` = fp16 on CUDA, fp32 on the CPU. Reduced precision
  runs through :func:`torch.autocast` with the weights kept in fp32, so the numerically fragile ops (softmax, norms)
  stay in fp32 and a window can be recomputed in fp32 without a second copy of the model (the NaN guard).
  The clip's own format (RGBH or RGBS) has no influence on it.
"""
from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator

import torch

PRECISIONS: dict[str, torch.dtype] = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def resolve_device(device: str | torch.device | None, func: str = "Engine") -> torch.device:
    """Turn a device request into a usable :class:`torch.device`, or raise ValueError naming the fix."""
    if device is None:
        return torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() else torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"{func}: device={device!r} is not a device name; use 'cpu', 'cuda' or 'cuda:N'") from exc
    if dev.type == "cpu":
        return torch.device("cpu")
    if dev.type != "cuda":
        raise ValueError(f"{func}: device={device!r} is not supported; use 'cpu', 'cuda' or 'cuda:N'")
    if not torch.cuda.is_available():
        if torch.version.cuda is None and getattr(torch.version, "hip", None) is None:
            raise ValueError(f"{func}: device={device!r} was requested but this PyTorch is a CPU-only build (torch "
                             f"{torch.__version__}); use device='cpu', or install a CUDA build of PyTorch")
        built_for = torch.version.cuda or torch.version.hip
        raise ValueError(f"{func}: device={device!r} was requested but no CUDA GPU is visible (torch "
                         f"{torch.__version__} is built for CUDA/ROCm {built_for}: no GPU, no driver, or "
                         "CUDA_VISIBLE_DEVICES hides it); use device='cpu' or check nvidia-smi / rocm-smi")
    count = torch.cuda.device_count()
    index = torch.cuda.current_device() if dev.index is None else dev.index
    if index >= count:
        raise ValueError(f"{func}: device={device!r} does not exist; this machine has {count} CUDA device(s): "
                         f"use 'cuda:0'..'cuda:{count - 1}'")
    return torch.device("cuda", index)


def resolve_precision(precision: str | None, device: torch.device, func: str = "Engine") -> str:
    """Return one of ``PRECISIONS`` for ``device``; ``None`` = fp16 on CUDA, fp32 on the CPU."""
    if precision is None:
        return "fp16" if device.type == "cuda" else "fp32"
    if not isinstance(precision, str) or precision.lower() not in PRECISIONS:
        raise ValueError(f"{func}: precision={precision!r} is not supported; use one of {sorted(PRECISIONS)} "
                         "(or None for fp16 on CUDA / fp32 on CPU)")
    precision = precision.lower()
    if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ValueError(f"{func}: precision='bf16' is not supported by {torch.cuda.get_device_name(device)}; "
                         "use precision='fp16' or 'fp32'")
    return precision


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """Context that runs the model at ``precision`` on ``device`` (a no-op for fp32)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=PRECISIONS[precision])


_OOM_TEXT = re.compile(r"out of memory|can't allocate memory|cannot allocate memory|CUBLAS_STATUS_ALLOC_FAILED",
                       re.IGNORECASE)


def is_out_of_memory(exc: BaseException) -> bool:
    """True for a CUDA out-of-memory error or a failed CPU allocation raised by PyTorch."""
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and bool(_OOM_TEXT.search(str(exc)))


def release_cached_memory(device: torch.device) -> None:
    """Give cached blocks back after an out-of-memory error so the retry sees the real free memory."""
    if device.type == "cuda":
        torch.cuda.empty_cache()


def free_memory_bytes(device: torch.device) -> int:
    """Bytes the engine may still allocate on ``device`` (CUDA: free + reusable cache; CPU: MemAvailable)."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        reserved = torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
        return int(free + max(reserved, 0))
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    with contextlib.suppress(ValueError, OSError, AttributeError):
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    return 4 << 30   # unknown platform: assume 4 GiB


@contextlib.contextmanager
def inference(device: torch.device) -> Iterator[None]:
    """``torch.inference_mode`` with the CUDA device made current (so ``cuda:1`` never touches GPU 0)."""
    if device.type == "cuda":
        with torch.cuda.device(device), torch.inference_mode():
            yield
    else:
        with torch.inference_mode():
            yield
