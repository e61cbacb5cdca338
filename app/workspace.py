"""The workspace: a folder of model folders, each a checkpoint plus its cached index.

WORKSPACE/
  digits-vae-8/              one folder per model (name: dataset-architecture-latent)
    config.json              checkpoint config (models/checkpoint.py)
    model.safetensors        weights
    index/                   latent index cache (app/index/store.py)
      manifest.json
      ...
"""

from __future__ import annotations

import re
from pathlib import Path

from models.checkpoint import CONFIG_FILE
from models.errors import ConfigError

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
INDEX_DIR = "index"


def model_name(dataset: str, architecture: str, latent_dim: int) -> str:
    """A default folder name, e.g. ``digits-vae-8``; ``folder:/x/cats`` becomes ``cats``."""
    base = dataset.split(":", 1)[1].rstrip("/").rsplit("/", 1)[-1] if ":" in dataset else dataset
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-.") or "data"
    return check_name(f"{base[:40]}-{architecture}-{latent_dim}")


def check_name(name: str) -> str:
    """Model names become folder names: no slashes, no dots first, at most 64 characters."""
    if not NAME_PATTERN.match(name):
        raise ConfigError(
            f"invalid model name {name!r}: use 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def list_models(workspace: Path) -> list[str]:
    """Names of the model folders in ``workspace``: those with a config.json. Folders are
    written whole under a hidden temporary name and renamed (models/atomic.py), so a
    half-written one never matches; a folder whose other files are missing is listed and
    then reported by name when it fails to load."""
    if not workspace.is_dir():
        return []
    return sorted(
        p.name
        for p in workspace.iterdir()
        if p.is_dir() and NAME_PATTERN.match(p.name) and (p / CONFIG_FILE).is_file()
    )


def model_dir(workspace: Path, name: str) -> Path:
    return workspace / check_name(name)


def index_dir(folder: Path) -> Path:
    return folder / INDEX_DIR
