"""Adam optimizer state <-> safetensors (no pickle): per-parameter moment tensors plus JSON for the rest."""
from __future__ import annotations

import json
import os

import torch
from safetensors.torch import load_file, save_file


def save_optimizer(opt: torch.optim.Optimizer, path: str | os.PathLike) -> None:
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, float]] = {}
    for idx, st in sd["state"].items():
        for key, val in st.items():
            if torch.is_tensor(val) and val.dim() > 0:
                tensors[f"{idx}.{key}"] = val.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(idx), {})[key] = float(val)
    meta = {"param_groups": json.dumps(sd["param_groups"]), "scalars": json.dumps(scalars)}
    tmp = f"{os.fspath(path)}.tmp"          # written whole, then renamed: a kill mid-write leaves the old state
    save_file(tensors, tmp, metadata=meta)
    os.replace(tmp, path)


def load_optimizer(opt: torch.optim.Optimizer, path: str | os.PathLike) -> None:
    from safetensors import safe_open
    with safe_open(str(path), framework="pt") as fh:
        meta = fh.metadata()
    tensors = load_file(str(path))
    state: dict[int, dict] = {}
    for name, val in tensors.items():
        idx, key = name.split(".", 1)
        state.setdefault(int(idx), {})[key] = val
    for idx, vals in json.loads(meta["scalars"]).items():
        for key, v in vals.items():
            state.setdefault(int(idx), {})[key] = torch.tensor(v)
    opt.load_state_dict({"state": state, "param_groups": json.loads(meta["param_groups"])})
