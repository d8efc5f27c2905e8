"""Weights: model cards, sha256 checks, safetensors loading, and one shared model per configuration.

A weights file ``<name>.safetensors`` (fp16 or fp32 state dict) always travels with a model card ``<name>.json``::

    {"name": "fmanetpp_x4_paper", "model": "fmanetpp", "preset": "paper", "scale": 4,
     "file": "fmanetpp_x4_paper.safetensors", "sha256": "<64 hex digits>", "format": "safetensors"}

Where weights are looked up (``weights=None`` = the default for (model, scale); a bare name = that card):

1. every folder in the environment variable ``VS_FMANET_MODELS`` (``os.pathsep``-separated);
2. ``models/`` of the source checkout (next to the ``vs_fmanet`` package, beside ``pyproject.toml``);
3. where ``pip`` puts the weights the wheel ships: ``<prefix>/share/vs_fmanet/models`` (``prefix`` = the
   environment's data path, ``sysconfig.get_path("data")``), the user scheme's ``share/vs_fmanet/models``
   (``pip install --user``, ``~/.local`` or ``$PYTHONUSERBASE``) and ``<DIR>/share/vs_fmanet/models`` beside the
   package (``pip install --target DIR``);
4. ``$XDG_DATA_HOME/vs_fmanet/models`` (default ``~/.local/share/vs_fmanet/models``), for weights copied by hand.

Nothing is ever downloaded and nothing is written into site-packages. Only safetensors are read (no pickle, so a
weights file cannot run code), and the file's sha256 must match its card: the bytes are read once, hashed, and the
same bytes are parsed, so the file cannot change between check and use. ``weights="random"`` builds a seeded
random initialisation; it exists for tests and demos only and needs an explicit ``preset``.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import sysconfig
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import torch
from torch import nn

log = logging.getLogger(__name__)

# FMA-Net++ (ours), FMA-Net (CVPR 2024, converted weights) and the causal FMA-Net++ (vs_fmanet.model.causal)
SUPPORTED_MODELS = ("fmanetpp", "fmanet", "fmanetpp-causal")
CARD_FIELDS = ("name", "model", "preset", "scale", "file", "sha256", "format")
RANDOM = "random"
RANDOM_SEED = 20240607
DEFAULT_SCALE = 4      # the scale of the default weights when neither ``scale`` nor a weights card names one


class WeightsError(ValueError):
    """A weights file or model card is missing, malformed or does not match its checksum."""


@dataclass(frozen=True)
class ModelCard:
    """A parsed model card; ``file`` is absolute, ``extra`` holds the card's other keys."""

    name: str
    model: str
    preset: str
    scale: int
    file: Path
    sha256: str
    format: str
    card_path: Path
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


def models_dirs() -> list[Path]:
    """Folders searched for model cards, in priority order (see the module docstring)."""
    dirs = [Path(p).expanduser() for p in os.environ.get("VS_FMANET_MODELS", "").split(os.pathsep) if p.strip()]
    beside_package = Path(__file__).resolve().parents[2]
    if (beside_package / "pyproject.toml").is_file():        # a source checkout, not site-packages/models
        dirs.append(beside_package / "models")
    installed = Path("share") / "vs_fmanet" / "models"
    dirs.append(Path(sysconfig.get_path("data")) / installed)
    dirs.append(Path(sysconfig.get_path("data", sysconfig.get_preferred_scheme("user"))) / installed)
    dirs.append(beside_package / installed)
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    dirs.append(data_home / "vs_fmanet" / "models")
    return list(dict.fromkeys(dirs))


def read_model_card(path: str | os.PathLike) -> ModelCard:
    """Parse and validate the model card at ``path`` (a ``.json`` file)."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WeightsError(f"read_model_card: model card {path} does not exist; every weights file needs a card "
                           "next to it (create one with vs_fmanet.engine.write_model_card)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"read_model_card: model card {path} is not readable JSON ({exc})") from exc
    if not isinstance(raw, dict):
        raise WeightsError(f"read_model_card: model card {path} must hold a JSON object, found {type(raw).__name__}")
    missing = [k for k in CARD_FIELDS if k not in raw]
    if missing:
        raise WeightsError(f"read_model_card: model card {path} lacks the field(s) {missing}; required: "
                           f"{list(CARD_FIELDS)}")
    if raw["model"] not in SUPPORTED_MODELS:
        raise WeightsError(f"read_model_card: model card {path} is for model {raw['model']!r}; this engine runs "
                           f"{list(SUPPORTED_MODELS)}")
    if raw["format"] != "safetensors":
        raise WeightsError(f"read_model_card: model card {path} declares format {raw['format']!r}; only "
                           "'safetensors' is loaded (pickled checkpoints can run code and are refused)")
    sha = str(raw["sha256"]).lower()
    if len(sha) != 64 or any(ch not in "0123456789abcdef" for ch in sha):
        raise WeightsError(f"read_model_card: model card {path} has sha256={raw['sha256']!r}, not 64 hex digits")
    if isinstance(raw["scale"], bool) or not isinstance(raw["scale"], int):
        raise WeightsError(f"read_model_card: model card {path} has scale={raw['scale']!r}, expected an integer")
    file = Path(raw["file"])
    if not file.is_absolute():
        file = path.parent / file
    extra = {k: v for k, v in raw.items() if k not in CARD_FIELDS}
    return ModelCard(name=str(raw["name"]), model=raw["model"], preset=str(raw["preset"]), scale=raw["scale"],
                     file=file, sha256=sha, format=raw["format"], card_path=path, extra=extra)


def scan_cards() -> Iterator[tuple[Path, ModelCard | WeightsError]]:
    """Every ``*.json`` in the folders of :func:`models_dirs`, in priority order: its parsed card, or the
    :class:`WeightsError` that makes it unusable."""
    for folder in models_dirs():
        if not folder.is_dir():
            continue
        for card_path in sorted(folder.glob("*.json")):
            try:
                found: ModelCard | WeightsError = read_model_card(card_path)
            except WeightsError as exc:
                found = exc
            yield card_path, found


def default_card_in(folder: str | os.PathLike, model: str, scale: int, *, exclude: str | None = None) -> Path | None:
    """The card in ``folder`` marked ``"default": true`` for (``model``, ``scale``), other than the one named
    ``exclude``; None when there is none (files that are not valid cards are skipped)."""
    for card_path in sorted(Path(folder).glob("*.json")):
        if card_path.name == exclude:
            continue
        try:
            card = read_model_card(card_path)
        except (ValueError, KeyError):   # WeightsError or broken JSON: not a card
            continue
        if card.model == model and card.scale == scale and card.extra.get("default") is True:
            return card_path
    return None


def _all_cards() -> list[ModelCard]:
    cards = []
    for card_path, found in scan_cards():
        if isinstance(found, WeightsError):
            log.warning("ignoring %s: %s", card_path, found)
        else:
            cards.append(found)
    return cards


def find_default_card(model: str, scale: int, preset: str | None = None) -> ModelCard:
    """The shipped weights for (model, scale[, preset]).

    The first folder of :func:`models_dirs` holding a matching card decides (so ``VS_FMANET_MODELS`` overrides the
    checkout's and the installed weights, and a checkout's ``models/`` beats an older installed copy); among several
    cards in that folder, the one with ``"default": true`` wins."""
    cards = [c for c in _all_cards() if c.model == model and c.scale == scale and (preset is None or c.preset == preset)]
    if not cards:
        searched = ", ".join(str(d) for d in models_dirs())
        want = f"model={model!r}, scale={scale}" + (f", preset={preset!r}" if preset else "")
        raise WeightsError(f"Engine: no weights found for {want}; searched {searched}. Put <name>.safetensors and "
                           "its model card <name>.json in one of those folders (or set VS_FMANET_MODELS), pass "
                           "weights='/path/to/card.json', or use weights='random' (tests only, needs preset=)")
    first_dir = [c for c in cards if c.card_path.parent == cards[0].card_path.parent]
    defaults = [c for c in first_dir if c.extra.get("default") is True]
    if len(first_dir) == 1 or len(defaults) == 1:
        return (defaults or first_dir)[0]
    if len(defaults) > 1:
        names = [str(c.card_path) for c in defaults]
        raise WeightsError(f"Engine: several cards are marked \"default\": true for model={model!r}, scale={scale}: "
                           f"{names}; remove the mark from all but one (or pass weights= with the one to use)")
    names = [str(c.card_path) for c in first_dir]
    raise WeightsError(f"Engine: several weights match model={model!r}, scale={scale}: {names}; pass weights= "
                       "with one of them, preset= to narrow the choice, or mark one card with \"default\": true")


def card_for_weights(weights: str | os.PathLike) -> ModelCard:
    """The model card named by a ``weights`` argument: a card ``.json``, a ``.safetensors`` with its card next to it
    (same stem), or a bare card name looked up in :func:`models_dirs`. Its model, preset and scale are not checked."""
    if not isinstance(weights, (str, os.PathLike)):
        raise WeightsError(f"Engine: weights={weights!r} is a {type(weights).__name__}; give a model card (.json), a "
                           ".safetensors file with its card, a card name, None (the shipped weights) or 'random'")
    path = Path(weights).expanduser()
    text = str(weights)
    if path.suffix == ".safetensors":
        if not path.exists():
            raise WeightsError(f"Engine: weights file {path} does not exist")
        card = read_model_card(path.with_suffix(".json"))
        if card.file.resolve() != path.resolve():
            raise WeightsError(f"Engine: model card {card.card_path} describes {card.file}, not {path}")
    elif path.suffix == ".json" and (path.exists() or os.sep in text):
        card = read_model_card(path)
    elif not path.exists() and os.sep not in text:
        # a card name, which may hold dots ('v1.2_x4') or be given as its file name ('fmanetpp_small_x2.json')
        name = text[:-len(".json")] if text.endswith(".json") else text
        matches = [d / f"{name}.json" for d in models_dirs() if (d / f"{name}.json").is_file()]
        if not matches:
            raise WeightsError(f"Engine: no model card named {name!r} ({name}.json) in "
                               f"{', '.join(str(d) for d in models_dirs())}")
        card = read_model_card(matches[0])
    else:
        raise WeightsError(f"Engine: weights={text!r} is neither a model card (.json), a .safetensors "
                           "file with its card, a card name, None nor 'random'")
    return card


def model_for_weights(weights: str | os.PathLike | None, default: str) -> str:
    """The model family (``"fmanetpp"``, ``"fmanetpp-causal"``, ``"fmanet"``) of the card behind ``weights``, or
    ``default`` when ``weights`` is None (shipped weights) or ``"random"``: weights say what network they belong to."""
    if weights is None or (isinstance(weights, str) and weights == RANDOM):
        return default
    return card_for_weights(weights).model


def resolve_card(weights: str | os.PathLike | None, model: str | None, scale: int | None, preset: str | None
                 ) -> ModelCard | None:
    """The card for a ``weights`` argument; None means ``weights="random"``.

    ``weights`` may be None (default for model/scale), a card ``.json``, a ``.safetensors`` with its card next to
    it (same stem), or a bare card name looked up in :func:`models_dirs`. ``model`` None accepts the card's model
    family (``"fmanetpp"`` when the default weights are looked up); ``scale`` None accepts the card's scale
    (:data:`DEFAULT_SCALE` when the default weights are looked up).
    """
    if model is not None and model not in SUPPORTED_MODELS:
        raise ValueError(f"Engine: model={model!r} is not supported; choose one of {list(SUPPORTED_MODELS)}")
    if isinstance(weights, str) and weights == RANDOM:
        if preset is None:
            raise ValueError("Engine: weights='random' needs an explicit preset= ('tiny', 'small' or 'paper'); "
                             "random weights are for tests only and restore nothing")
        return None
    card = (find_default_card(model or "fmanetpp", scale or DEFAULT_SCALE, preset) if weights is None
            else card_for_weights(weights))
    if model is not None and card.model != model:
        raise WeightsError(f"Engine: {card.card_path} is for model {card.model!r}, but model={model!r} was asked")
    if scale is not None and card.scale != scale:
        raise WeightsError(f"Engine: {card.card_path} holds x{card.scale} weights but scale={scale} was asked; "
                           f"pass scale={card.scale} (or leave scale unset) or other weights")
    if preset is not None and card.preset != preset:
        raise WeightsError(f"Engine: {card.card_path} holds preset {card.preset!r} but preset={preset!r} was asked; "
                           "leave preset=None to take it from the card")
    return card


def read_verified(card: ModelCard) -> bytes:
    """The bytes of ``card.file``, read once, after checking their sha256 against the card."""
    try:
        data = card.file.read_bytes()
    except FileNotFoundError:
        raise WeightsError(f"load_weights: weights file {card.file} named by {card.card_path} does not exist") from None
    except OSError as exc:
        raise WeightsError(f"load_weights: cannot read weights file {card.file}: {exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != card.sha256:
        raise WeightsError(f"load_weights: sha256 of {card.file} is {digest}, but {card.card_path} expects "
                           f"{card.sha256}; the file is corrupt or belongs to another card: re-copy it or fix the card")
    return data


def load_state_dict(card: ModelCard, data: bytes | None = None) -> dict[str, torch.Tensor]:
    """Check ``card.file`` (or already verified ``data``) and parse it as safetensors into CPU tensors."""
    from safetensors.torch import load as load_safetensors

    if data is None:
        data = read_verified(card)
    try:
        return load_safetensors(data)
    except Exception as exc:   # safetensors raises its own SafetensorError for malformed headers
        raise WeightsError(f"load_weights: {card.file} is not a valid safetensors file ({exc})") from exc


def _atomic_write(path: Path, data: bytes, overwrite: bool, func: str) -> None:
    if path.exists() and not overwrite:
        raise FileExistsError(f"{func}: {path} already exists; pass overwrite=True to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)          # mkstemp makes 0600; weights and cards are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_model_card(weights_path: str | os.PathLike, *, name: str | None = None, preset: str, scale: int,
                     model: str = "fmanetpp", overwrite: bool = False, **extra: Any) -> Path:
    """Write ``<weights stem>.json`` for an existing safetensors file (sha256 computed here); returns its path."""
    weights_path = Path(weights_path)
    if weights_path.suffix != ".safetensors":
        raise WeightsError(f"write_model_card: {weights_path} must be a .safetensors file")
    digest = hashlib.sha256(weights_path.read_bytes()).hexdigest()
    card = {"name": name or weights_path.stem, "model": model, "preset": preset, "scale": int(scale),
            "file": weights_path.name, "sha256": digest, "format": "safetensors", **extra}
    card_path = weights_path.with_suffix(".json")
    _atomic_write(card_path, (json.dumps(card, indent=2) + "\n").encode("utf-8"), overwrite, "write_model_card")
    return card_path


def save_weights(state_dict: dict[str, torch.Tensor], path: str | os.PathLike, *, preset: str, scale: int,
                 name: str | None = None, dtype: torch.dtype | None = None, overwrite: bool = False,
                 **extra: Any) -> Path:
    """Save a state dict as ``path`` (.safetensors, optionally cast to ``dtype``) plus its model card; returns the card."""
    from safetensors.torch import save as save_safetensors

    path = Path(path)
    if path.suffix != ".safetensors":
        raise WeightsError(f"save_weights: {path} must end in .safetensors")
    if not overwrite:
        for p in (path, path.with_suffix(".json")):
            if p.exists():
                raise FileExistsError(f"save_weights: {p} already exists; pass overwrite=True to replace it")
    tensors = {k: (v.detach().to("cpu", dtype) if dtype is not None and v.is_floating_point() else v.detach().cpu())
               .contiguous() for k, v in state_dict.items()}
    _atomic_write(path, save_safetensors(tensors), overwrite, "save_weights")
    return write_model_card(path, name=name, preset=preset, scale=scale, overwrite=overwrite, **extra)


def build_network(card: ModelCard | None, preset: str | None, scale: int, data: bytes | None = None,
                  model: str = "fmanetpp") -> nn.Module:
    """Build network ``model`` in eval mode on the CPU with the card's weights, or seeded random weights for
    ``card=None``.

    ``data`` = the weights file's bytes when the caller has already verified them (see :func:`read_verified`)."""
    from vs_fmanet.model import build_network as build_family

    if card is None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(RANDOM_SEED)
            net = build_family(model, preset, scale)
        return net.eval()
    net = build_family(card.model, card.preset, card.scale)
    state = load_state_dict(card, data)
    result = net.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise WeightsError(f"load_weights: {card.file} does not fit preset {card.preset!r}: missing "
                           f"{list(result.missing_keys)[:5]}{'...' if len(result.missing_keys) > 5 else ''}, "
                           f"unexpected {list(result.unexpected_keys)[:5]}"
                           f"{'...' if len(result.unexpected_keys) > 5 else ''}; check the card's preset")
    return net.eval()


_CACHE: dict[tuple, nn.Module] = {}
_CACHE_LOCK = threading.Lock()


def shared_network(card: ModelCard | None, preset: str | None, scale: int, device: torch.device,
                   model: str = "fmanetpp") -> nn.Module:
    """One model instance per (weights, preset, scale, device) in this process, shared by every Engine.

    Several ``fmanet()`` calls in one VapourSynth script therefore build the network once. The weights file is
    still read and checked against its card on every call, so a missing or altered file is always reported.
    Inference does not mutate the module, so concurrent windows may share it.
    """
    data = read_verified(card) if card is not None else None
    key = (card.model if card else model, card.sha256 if card else f"{RANDOM}:{RANDOM_SEED}",
           card.preset if card else preset, scale, str(device))
    with _CACHE_LOCK:
        net = _CACHE.get(key)
        if net is None:
            net = build_network(card, preset, scale, data, model).to(device)
            for p in net.parameters():
                p.requires_grad_(False)
            _CACHE[key] = net
            log.debug("loaded %s on %s", card.file if card else f"random {preset}", device)
        return net


def clear_network_cache() -> None:
    """Forget the shared networks (frees their memory once no Engine uses them)."""
    with _CACHE_LOCK:
        _CACHE.clear()
