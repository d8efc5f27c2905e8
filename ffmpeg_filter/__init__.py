"""``fmanet-ffmpeg``: FMA-Net++ restoration of any file ffmpeg reads, keeping everything but the blur.

Modules, one job each: :mod:`.cli` (options, exit codes, signals), :mod:`.pipeline` (one run), :mod:`.probe`
(PyAV probing), :mod:`.decode` (frame-accurate ranges to float RGB), :mod:`.deinterlace` (bwdif
for interlaced sources), :mod:`.restoring` (the engine),
:mod:`.command` (the ffmpeg argv), :mod:`.encode` (NUT pipe into ffmpeg, mux helpers), :mod:`.colour`
(colour tags, HDR10), :mod:`.subtitles` (cut subtitles for trims), :mod:`.imageseq` (image sequences),
:mod:`.atomic` (temp file + rename), :mod:`.progress` (bar / JSON lines), :mod:`.timespec` (``-ss`` syntax),
:mod:`.binary` (finding ffmpeg), :mod:`.sample` (generated demo clips), :mod:`.inspect` (ffprobe-like
summaries). Farm chunks reuse :func:`.decode.decode_range`, :func:`.encode.encode_frames` and
:func:`.encode.mux_with_source`.
"""
