"""The Ray side: connecting to a cluster (or starting an embedded one), resources per task, the chunk task.

Ray (optional extra ``farm``) is imported only here and only when a farm job runs. One chunk is one Ray task:
the task gets a :class:`~.chunkrun.ChunkTask` (a few hundred bytes) plus
the source description, which is put into the object store once per file; frames never travel through Ray,
workers read the source and write chunk files themselves, so the object store can stay small. Ray reuses worker
processes, and :func:`~.chunkrun.cached_engine` keeps one loaded model per process.

Tasks run with ``max_retries=0``: the driver (:mod:`.runner`) counts attempts itself, so an exception, a killed
worker process or a lost node all cost one attempt of that chunk only and are retried up to ``--max-tries``.

GPU resources: ``num_gpus`` per task may be fractional (0.5 = two chunks share a GPU, overlapping one's
decode/encode with the other's compute). Ray sets ``CUDA_VISIBLE_DEVICES`` for each task, so the engine's
default device ("cuda") is the GPU Ray assigned. Without GPUs in the cluster tasks fall back to the CPU.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import socket
import threading
from typing import Any

from ..errors import FilterError, UsageError
from ..probe import SourceInfo
from .chunkrun import ChunkTask, run_chunk
from .workdir import ChunkRecord

log = logging.getLogger(__name__)

DEFAULT_OBJECT_STORE_MB = 128
MIN_OBJECT_STORE_MB = 80     # Ray refuses less than 75 MiB


class RayUnavailable(FilterError):
    """Ray is not installed or the cluster cannot be reached."""


def import_ray() -> Any:
    """The ``ray`` module, or :class:`RayUnavailable` with the install command."""
    try:
        import ray
    except ImportError as exc:
        raise RayUnavailable("fmanet-farm needs Ray: install the farm extra with pip install 'vs-fmanet[farm]' "
                             "(or pip install ray)") from exc
    return ray


@dataclasses.dataclass
class ClusterConfig:
    """How to reach Ray. ``address``: None/"" = ``RAY_ADDRESS`` if set, else an embedded local Ray; "local" =
    always embedded; anything else (``auto``, ``HOST:6379``, ``ray://HOST:10001``) = attach to that cluster.
    ``local_cpus``/``local_gpus``: resources the embedded Ray offers (None = detected);
    ``object_store_mb``: its object store size in MiB."""

    address: str | None = None
    local_cpus: int | None = None
    local_gpus: float | None = None
    object_store_mb: int = DEFAULT_OBJECT_STORE_MB


def _ray_log_level() -> int:
    """Ray's own driver messages follow this package's log level (INFO only with -v)."""
    return max(logging.getLogger("ffmpeg_filter").getEffectiveLevel(), logging.INFO)


#: Seconds to wait for a TCP answer from a cluster's address before giving up (Ray itself retries for minutes).
CONNECT_TIMEOUT_S = 5.0


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Raise :class:`RayUnavailable` within ``timeout`` seconds when nothing answers at ``address`` (``host:port``
    or ``ray://host:port``); ``auto`` and addresses without a port are left to Ray."""
    target = address.split("://", 1)[-1]
    host, sep, port = target.rpartition(":")
    if address == "auto" or not sep or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout).close()
    except OSError as exc:
        raise RayUnavailable(f"RaySession: nothing answers at {address} within {timeout:g} s ({exc}); is the head "
                             "node running (`ray start --head`), is the port open, is --ray-address right?") from None


class RaySession:
    """A connection to Ray for one farm run; shuts down only an embedded Ray it started itself.

    If Ray is already initialised in this process (a test fixture, a notebook), that connection is used as is.
    """

    def __init__(self, config: ClusterConfig) -> None:
        self.config = config
        self.ray = import_ray()
        self.started_here = False
        self.address = "existing"

    def __enter__(self) -> RaySession:
        ray = self.ray
        if ray.is_initialized():
            log.info("using the Ray connection already open in this process")
            return self
        cfg = self.config
        address = cfg.address if cfg.address else os.environ.get("RAY_ADDRESS") or None
        # ray.init replaces the driver's SIGTERM handler with one that exits at once; keep the caller's (the CLI
        # turns SIGTERM into a clean stop that keeps finished chunks)
        sigterm = signal.getsignal(signal.SIGTERM) if threading.current_thread() is threading.main_thread() else None
        try:
            if address and address != "local":
                log.info("connecting to the Ray cluster at %s", address)
                check_reachable(address)
                ray.init(address=address, log_to_driver=False, logging_level=_ray_log_level())
                self.address = address
            else:
                store = max(MIN_OBJECT_STORE_MB, int(cfg.object_store_mb))
                log.info("starting an embedded local Ray (%s CPUs, %s GPUs, %d MiB object store)",
                         cfg.local_cpus or "all", "detected" if cfg.local_gpus is None else cfg.local_gpus, store)
                ray.init(address="local", num_cpus=cfg.local_cpus, num_gpus=cfg.local_gpus, include_dashboard=False,
                         object_store_memory=store * 2 ** 20, log_to_driver=False, logging_level=_ray_log_level())
                self.address = "local"
        except RayUnavailable:
            raise
        except (ConnectionError, RuntimeError, ValueError) as exc:
            if address and address != "local":
                raise RayUnavailable(
                    f"RaySession: cannot reach the Ray cluster at {address} ({exc}); check --ray-address / "
                    "RAY_ADDRESS. A cluster with Ray token authentication (the default of `ray start` from Ray 2.59 "
                    "on) also needs RAY_AUTH_MODE=token here and its token (RAY_AUTH_TOKEN or RAY_AUTH_TOKEN_PATH; "
                    "`ray get-auth-token` on the head node prints it); on the head node itself --ray-address auto "
                    "finds it") from exc
            raise RayUnavailable(f"RaySession: cannot start an embedded local Ray ({exc}); leave --ray-address "
                                 "and RAY_ADDRESS unset, or check the Ray installation") from exc
        finally:
            if sigterm is not None:
                signal.signal(signal.SIGTERM, sigterm)
        self.started_here = True
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.started_here:
            self.ray.shutdown()

    def resources(self) -> dict[str, float]:
        """Total resources of the cluster (CPU, GPU, memory...)."""
        return {k: float(v) for k, v in self.ray.cluster_resources().items()}

    def describe(self) -> dict[str, Any]:
        res = self.resources()
        return {"address": self.address, "nodes": sum(1 for n in self.ray.nodes() if n.get("Alive")),
                "cpus": res.get("CPU", 0.0), "gpus": res.get("GPU", 0.0), "ray": self.ray.__version__}


@dataclasses.dataclass
class TaskResources:
    """Resources per chunk task and how many chunks run at once. ``device`` is what workers pass to the
    engine (None = CUDA when Ray gave the task a GPU)."""

    num_cpus: float
    num_gpus: float
    device: str | None
    concurrency: int
    warnings: list[str]


def plan_resources(cluster: dict[str, float], *, num_gpus: float | None, cpus_per_task: float, device: str | None,
                   workers: int) -> TaskResources:
    """Decide per-task resources from the cluster's totals and the options.

    ``num_gpus``: GPUs per task (fractional allowed), None = 1 when the cluster has GPUs and ``device`` is not
    "cpu", else 0.
    ``workers``: chunks in flight at once, 0 = as many as the resources allow. Asking for GPUs on a cluster
    without any falls back to CPU tasks with a warning, unless ``device`` insists on CUDA.
    """
    warnings: list[str] = []
    gpus = float(cluster.get("GPU", 0.0))
    cpus = float(cluster.get("CPU", 0.0))
    if cpus_per_task <= 0:
        raise UsageError(f"--cpus-per-task {cpus_per_task:g}: must be positive")
    if workers < 0:
        raise UsageError(f"--workers {workers}: must be 0 (automatic) or more")
    wants_cuda = bool(device) and str(device).startswith("cuda")
    if num_gpus is None:
        per_gpu = 1.0 if gpus >= 1 and str(device or "cuda").startswith("cuda") else 0.0
    else:
        per_gpu = float(num_gpus)
        if per_gpu < 0 or (per_gpu > 1 and per_gpu != int(per_gpu)):
            raise UsageError(f"--num-gpus {num_gpus:g}: use a fraction in (0, 1] or a whole number of GPUs per task")
        if per_gpu > 0 and gpus < per_gpu:
            if wants_cuda:
                raise UsageError(f"--device {device}: the Ray cluster has {gpus:g} GPUs, fewer than --num-gpus "
                                 f"{per_gpu:g} per task; attach to a cluster with GPUs or use --device cpu")
            warnings.append(f"the Ray cluster has {gpus:g} GPUs, fewer than the {per_gpu:g} asked per task; "
                            "running the chunks on the CPU")
            per_gpu = 0.0
    if per_gpu == 0 and wants_cuda:
        why = "--num-gpus 0 was given" if num_gpus == 0 else "the Ray cluster has no GPUs"
        raise UsageError(f"--device {device} needs GPU tasks, but {why}; use --device cpu or a cluster with GPUs")
    if cpus < cpus_per_task:
        raise UsageError(f"--cpus-per-task {cpus_per_task:g}: the Ray cluster has only {cpus:g} CPUs")
    by_cpu = int(cpus // cpus_per_task)
    capacity = min(by_cpu, int(gpus // per_gpu)) if per_gpu > 0 else by_cpu
    capacity = max(1, capacity)
    concurrency = capacity if workers == 0 else workers
    if workers > capacity:
        warnings.append(f"--workers {workers}: the cluster's resources allow {capacity} chunks at once; the rest "
                        "wait for a free slot")
    dev = device if device else (None if per_gpu > 0 else "cpu")
    return TaskResources(num_cpus=float(cpus_per_task), num_gpus=per_gpu, device=dev, concurrency=concurrency,
                         warnings=warnings)


def _chunk_task_body(task: ChunkTask, info: SourceInfo) -> ChunkRecord:
    """What runs inside a Ray worker: logging to the worker's stderr (Ray's worker log), then the chunk."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run_chunk(task, info)


class ChunkSubmitter:
    """Submits chunk tasks with fixed resources; :meth:`submit` returns a Ray ObjectRef of a ChunkRecord."""

    def __init__(self, session: RaySession, resources: TaskResources) -> None:
        ray = session.ray
        self.ray = ray
        self._remote = ray.remote(_chunk_task_body).options(num_cpus=resources.num_cpus,
                                                            num_gpus=resources.num_gpus, max_retries=0,
                                                            retry_exceptions=False)

    def put_source(self, info: SourceInfo) -> Any:
        """Store a file's description once in the object store (shared by all its chunk tasks)."""
        return self.ray.put(info)

    def submit(self, task: ChunkTask, info_ref: Any) -> Any:
        return self._remote.remote(task, info_ref)

    def wait(self, refs: list[Any], timeout: float) -> list[Any]:
        """The refs among ``refs`` that finished within ``timeout`` seconds (possibly none)."""
        if not refs:
            return []
        try:
            ready, _ = self.ray.wait(refs, num_returns=1, timeout=timeout)
        except SystemError as exc:
            # a signal handler that raises something other than KeyboardInterrupt (the CLI's SIGTERM ->
            # Terminated) while Ray's Cython code waits surfaces as SystemError with the real exception as cause
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, BaseException) and not isinstance(cause, Exception):
                raise cause from None
            raise
        if ready:  # collect everything else that is already done too
            more, _ = self.ray.wait([r for r in refs if r not in ready], num_returns=len(refs) - len(ready),
                                    timeout=0) if len(refs) > len(ready) else ([], [])
            ready = ready + list(more)
        return ready

    def result(self, ref: Any) -> ChunkRecord:
        """The task's record, or the exception it failed with (Ray wraps it in RayTaskError, a worker or node
        loss is a RayError)."""
        return self.ray.get(ref)

    def cancel(self, refs: list[Any]) -> None:
        for ref in refs:
            try:
                self.ray.cancel(ref, force=True)
            except Exception as exc:  # already finished or lost: nothing to cancel
                log.debug("cancel: %s", exc)
