"""``fmanet-convert``: the official FMA-Net checkpoints (``model_D_*.pt`` + ``model_R_*.pt``) -> safetensors + card.

    fmanet-convert model_D_best.pt model_R_best.pt -o fmanet_v1_reds.safetensors [--overwrite]

The official training code pickles, per sub-network, a dict with ``epoch``, ``model_D_state_dict`` (or
``model_R_state_dict``) and its optimizer and MultiStepLR scheduler states. Pickles can run arbitrary code, so they
are read with ``torch.load(weights_only=True)``: PyTorch's restricted unpickler, which builds only tensors and plain
containers, plus the one harmless type those files need (``collections.Counter``, the scheduler's milestones).
Anything else (a pickle that imports ``os.system``, say) is refused before it runs. Only the two network state
dicts are kept; they are prefixed (``degradation_learning_network.`` / ``restoration_network.``), checked key by key
and shape by shape against the packaged manifest of the official network (``model/fmanet_v1_manifest.json``, or
the ``small`` test preset), checked for non-finite values and loaded into our ``FMANetV1Sequence`` as a last check.

Output: ``<out>.safetensors`` and the model card ``<out>.json`` beside it (the engine's card format plus
``channel_order`` "BGR", the licence note and the sha256 of both source files). Both are written to temporary files
and renamed into place; existing files are replaced only with ``--overwrite``/``-y``. Exit codes: 0 done, 1 refused
input or an I/O problem, 2 bad usage. The writing is done here rather than through the engine's ``save_weights``
because the weights file also carries the licence in its safetensors header and both files must be checked for
existence before anything is written.
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import json
import logging
import os
import pickle
import sys
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from . import add_version_option

log = logging.getLogger(__name__)

PROG = "fmanet-convert"
MODEL_NAME = "fmanet"
CHANNEL_ORDER = "BGR"
LICENCE_NOTE = ("FMA-Net checkpoint by its authors (KAIST VIC Lab, FMA-Net_REDS.zip): research and education use "
                "only, per the authors' README. The conversion changes the file format, not these terms.")
PREFIXES = {"D": "degradation_learning_network.", "R": "restoration_network."}
ALLOWED_GLOBALS = [collections.Counter]   # MultiStepLR keeps its milestones in a Counter
PRESET_CHOICES = ("auto", "official", "small")


class ConversionError(Exception):
    """An input is not an FMA-Net checkpoint we accept, or the output cannot be written."""


class UsageError(ConversionError):
    """The command line is wrong (exit code 2)."""


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def manifest_shapes() -> dict[str, tuple[int, ...]]:
    """Keys and shapes of the official FMA-Net state dict, from the packaged manifest."""
    text = resources.files("vs_fmanet.model").joinpath("fmanet_v1_manifest.json").read_text(encoding="utf-8")
    return {k: tuple(v) for k, v in json.loads(text)["state_dict"].items()}


def expected_shapes(preset: str) -> dict[str, tuple[int, ...]]:
    """Keys and shapes the converted state dict must have for ``preset`` ("official" = the manifest)."""
    if preset == "official":
        return manifest_shapes()
    from vs_fmanet.model.registry import expected_shapes as network_shapes

    return network_shapes(MODEL_NAME, preset, 4)


def _load_pickle(path: Path, role: str) -> Any:
    """``torch.load`` with the restricted unpickler; every refusal becomes a ConversionError naming the file."""
    try:
        with torch.serialization.safe_globals(ALLOWED_GLOBALS):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        reason = next((line for line in lines if "GLOBAL" in line or "Unsupported" in line),
                      lines[0] if lines else type(exc).__name__)
        if "GLOBAL" in reason or "global" in reason:
            raise ConversionError(
                f"refusing {path} (model_{role}): it holds Python objects that are not plain weights ({reason}). "
                "Nothing in it was executed. Only the official FMA-Net checkpoints (tensors, numbers and the "
                "scheduler's collections.Counter) are accepted; do not load this file with weights_only=False."
            ) from None
        raise ConversionError(
            f"refusing {path} (model_{role}): it is not a PyTorch checkpoint that the safe loader can read "
            f"({reason}). Nothing in it was executed; pass the model_{role}_*.pt file from FMA-Net_REDS.zip."
        ) from None
    except FileNotFoundError:
        raise ConversionError(f"the model_{role} checkpoint {path} does not exist") from None
    except IsADirectoryError:
        raise ConversionError(f"the model_{role} checkpoint {path} is a folder, not a .pt file") from None
    except (RuntimeError, EOFError, ValueError, OSError, KeyError) as exc:
        raise ConversionError(f"refusing {path} (model_{role}): it is not a PyTorch checkpoint that the safe loader "
                              f"can read ({exc}); pass the model_{role}_*.pt file from FMA-Net_REDS.zip") from None


def _is_state_dict(obj: Any) -> bool:
    return isinstance(obj, dict) and bool(obj) and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())


def extract_state_dict(obj: Any, path: Path, role: str) -> dict[str, torch.Tensor]:
    """The sub-network weights of one loaded checkpoint (``model_<role>_state_dict``, or a bare state dict)."""
    other = "R" if role == "D" else "D"
    if not isinstance(obj, dict):
        raise ConversionError(f"{path} holds a {type(obj).__name__}, not a checkpoint dict; pass the "
                              f"model_{role}_*.pt file of the official FMA-Net checkpoint")
    key = f"model_{role}_state_dict"
    if key in obj:
        state = obj[key]
        if not _is_state_dict(state):
            raise ConversionError(f"{path}: '{key}' is not a state dict of named tensors")
    elif f"model_{other}_state_dict" in obj:
        raise ConversionError(f"{path} is the model_{other} checkpoint but was given as model_{role}; pass the "
                              "Net_D file (model_D_*.pt) first and the Net_R file (model_R_*.pt) second")
    elif _is_state_dict(obj):
        state = obj
    else:
        keys = sorted(str(k) for k in obj)[:8]
        raise ConversionError(f"{path} holds no network weights for model_{role} (found only {keys}: optimizer / "
                              f"scheduler state or something else); pass the checkpoint that contains '{key}'")
    if all(k.startswith("module.") for k in state):      # saved from nn.DataParallel
        state = {k[len("module."):]: v for k, v in state.items()}
    return dict(state)


def read_checkpoint(path: Path, role: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Load one official checkpoint safely; returns (prefixed sub-network state dict, provenance info)."""
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise ConversionError(f"the model_{role} checkpoint {path} {what}")
    obj = _load_pickle(path, role)
    state = extract_state_dict(obj, path, role)
    info: dict[str, Any] = {"file": path.name, "sha256": sha256_file(path)}
    epoch = obj.get("epoch") if isinstance(obj, dict) else None
    if isinstance(epoch, int) and not isinstance(epoch, bool):
        info["epoch"] = epoch
    return {PREFIXES[role] + k: v for k, v in state.items()}, info


def _differences(shapes: dict[str, tuple[int, ...]], want: dict[str, tuple[int, ...]]) -> str:
    missing = sorted(want.keys() - shapes.keys())
    extra = sorted(shapes.keys() - want.keys())
    wrong = sorted(k for k in want.keys() & shapes.keys() if want[k] != shapes[k])
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing key(s), e.g. {missing[:3]}")
    if extra:
        parts.append(f"{len(extra)} unexpected key(s), e.g. {extra[:3]}")
    if wrong:
        parts.append("wrong shapes: " + ", ".join(f"{k} {list(shapes[k])} (expected {list(want[k])})"
                                                  for k in wrong[:3]) + (" ..." if len(wrong) > 3 else ""))
    return "; ".join(parts)


def match_preset(state: dict[str, torch.Tensor], preset: str) -> str:
    """Check keys and shapes against ``preset`` (or find the matching one for "auto"); returns the preset."""
    shapes = {k: tuple(v.shape) for k, v in state.items()}
    candidates = ["official", "small"] if preset == "auto" else [preset]
    for name in candidates:
        if shapes == expected_shapes(name):
            return name
    target = candidates[0]
    raise ConversionError(f"the checkpoints do not match the FMA-Net network (preset {target!r}): "
                          f"{_differences(shapes, expected_shapes(target))}. Are these the FMA-Net (CVPR 2024) "
                          "model_D/model_R files of a stage-2 run with the default experiment.cfg?")


def check_values(state: dict[str, torch.Tensor]) -> None:
    """Every tensor must be floating point and finite."""
    for key, value in state.items():
        if not value.is_floating_point():
            raise ConversionError(f"weight {key} has dtype {value.dtype}; FMA-Net weights are floating point")
        if not bool(torch.isfinite(value).all()):
            raise ConversionError(f"weight {key} contains NaN or infinite values; the checkpoint is damaged")


def _write_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to a temporary file next to ``path`` and return the temporary path (renamed by the caller)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def convert(model_d: str | os.PathLike, model_r: str | os.PathLike, output: str | os.PathLike, *,
            preset: str = "auto", name: str | None = None, overwrite: bool = False) -> Path:
    """Convert the two official checkpoints into ``output`` (.safetensors) plus its model card; returns the card.

    Raises UsageError for bad arguments and ConversionError for refused inputs or existing outputs.
    """
    from safetensors.torch import save as save_safetensors

    out = Path(output)
    card_path = out.with_suffix(".json")
    d_path, r_path = Path(model_d), Path(model_r)
    if out.suffix != ".safetensors":
        raise UsageError(f"the output {out} must end in .safetensors")
    if preset not in PRESET_CHOICES:
        raise UsageError(f"unknown preset {preset!r}; choose one of {list(PRESET_CHOICES)}")
    if d_path.resolve() == r_path.resolve():
        raise UsageError(f"model_D and model_R are the same file ({d_path}); pass model_D_*.pt and model_R_*.pt")
    if not out.parent.is_dir():
        raise ConversionError(f"the output folder {out.parent} does not exist; create it first")
    if not overwrite:
        for p in (out, card_path):
            if p.exists():
                raise ConversionError(f"{p} already exists; pass --overwrite (-y) to replace it")

    state_d, info_d = read_checkpoint(d_path, "D")
    state_r, info_r = read_checkpoint(r_path, "R")
    state = {**state_d, **state_r}
    preset = match_preset(state, preset)
    check_values(state)
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}

    from vs_fmanet.model.fmanet_v1_sequence import build_fmanet_v1_sequence

    build_fmanet_v1_sequence(preset).load_state_dict(tensors, strict=True)   # the engine's network accepts them

    dtypes = sorted({str(v.dtype).removeprefix("torch.") for v in tensors.values()})
    metadata = {"format": "pt", "model": MODEL_NAME, "preset": preset, "scale": "4", "channel_order": CHANNEL_ORDER,
                "licence": LICENCE_NOTE, "source_model_D_sha256": info_d["sha256"],
                "source_model_R_sha256": info_r["sha256"]}
    data = save_safetensors(tensors, metadata=metadata)
    card = {"name": name or out.stem, "model": MODEL_NAME, "preset": preset, "scale": 4, "file": out.name,
            "sha256": hashlib.sha256(data).hexdigest(), "format": "safetensors", "channel_order": CHANNEL_ORDER,
            "licence": LICENCE_NOTE, "parameters": sum(v.numel() for v in tensors.values()), "dtype": ",".join(dtypes),
            "source": {"model_D": info_d, "model_R": info_r}, "converted_with": PROG}
    tmp_weights = _write_atomic(out, data)
    try:
        tmp_card = _write_atomic(card_path, (json.dumps(card, indent=2) + "\n").encode("utf-8"))
    except BaseException:
        tmp_weights.unlink(missing_ok=True)
        raise
    os.replace(tmp_weights, out)
    os.replace(tmp_card, card_path)
    log.info("wrote %s and %s", out, card_path)
    return card_path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Convert the official FMA-Net (CVPR 2024) checkpoints (model_D_*.pt + model_R_*.pt "
        "from FMA-Net_REDS.zip) into a safetensors weights file and model card for vs-fmanet's model='fmanet'. "
        "The checkpoints are research and education use only (see the authors' README).")
    add_version_option(parser)
    parser.add_argument("model_d", metavar="MODEL_D.pt", help="Net_D checkpoint, e.g. model_D_best.pt")
    parser.add_argument("model_r", metavar="MODEL_R.pt", help="Net_R checkpoint, e.g. model_R_best.pt")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.safetensors",
                        help="weights file to write; the model card OUT.json is written beside it")
    parser.add_argument("-y", "--overwrite", action="store_true", help="replace existing output files")
    parser.add_argument("--preset", default="auto", choices=PRESET_CHOICES,
                        help="network configuration the weights must match (default: auto-detect)")
    parser.add_argument("--name", default=None, help="name in the model card (default: the output file's stem)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code (0 ok, 1 refused input / I/O error, 2 bad usage)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:          # argparse already printed the usage error (code 2) or --help (code 0)
        return int(exc.code or 0)
    try:
        card_path = convert(args.model_d, args.model_r, args.output, preset=args.preset, name=args.name,
                            overwrite=args.overwrite)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except ConversionError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"{PROG}: error: cannot write {args.output}: {exc}", file=sys.stderr)
        return 1
    card = json.loads(card_path.read_text(encoding="utf-8"))
    print(f"{PROG}: wrote {args.output} ({card['parameters']:,} parameters, preset {card['preset']}, sha256 "
          f"{card['sha256']}) and {card_path}. Licence: {LICENCE_NOTE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
