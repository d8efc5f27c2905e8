"""Farm mode (``fmanet-farm``): chunked, resumable, distributed restoration on Ray.

One video is cut into chunks at fixed frame positions aligned to the engine's window grid (and at known scene
cuts); each chunk decodes its context frames too, so the joined result is bit-identical to a single pass. Chunks
run as Ray tasks (GPU or CPU), finished chunks persist with checksums in a work folder so reruns resume, chunk
files are joined by packet copy and the source's audio, subtitles, chapters and tags are muxed once at the end.

Modules, one job each: :mod:`.plan` (chunk boundaries), :mod:`.workdir` (plan, records, resume state),
:mod:`.chunkrun` (one chunk on a worker, no Ray), :mod:`.tasks` (Ray session, resources, task submission),
:mod:`.join` (packet-copy join and final mux), :mod:`.inputs` (files and folder mode), :mod:`.progress`,
:mod:`.report`, :mod:`.runner` (the driver) and :mod:`.cli`. Ray is imported only when a run starts.
"""

from .inputs import FileJob, collect_jobs
from .plan import Chunk, plan_chunks
from .runner import FarmOptions, run_farm

__all__ = ["Chunk", "FarmOptions", "FileJob", "collect_jobs", "plan_chunks", "run_farm"]
