"""``Workspace``: a workspace folder from Python, over the machinery the CLI uses."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch

from app.index.ensure import ensure_index
from app.index.fitting import IndexParams
from app.services.loaded import LoadedModel
from app.services.training import TrainRequest, train_model
from app.workspace import list_models, model_dir
from latent_explorer.entry import Entry
from models.errors import NotFoundError
from models.registry import load_checkpoint
from models.training import TrainConfig

CPU = torch.device("cpu")


class Workspace:
    """A folder of entries (``latent-explorer train``/``import-*`` write them).

    >>> ws = lx.Workspace("workspace"); ws.list(); entry = ws.load("digits-vae-8")
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"

    def list(self) -> list[str]:
        """The entries' names."""
        return list_models(self.path)

    def _folder(self, name: str) -> Path:
        folder = model_dir(self.path, name)
        if name not in self.list():
            raise NotFoundError(f"{self.path}: no entry {name!r}; entries: {self.list()}")
        return folder

    def load(self, name: str, *, trust_code: bool = False) -> Entry:
        """An entry with its index (built now if missing), on the CPU. ``trust_code``: also
        load models that import Python code (``pytorch-class``), as ``--trust-code``."""
        folder = self._folder(name)
        model, info = load_checkpoint(folder, CPU, trust_code=trust_code)
        index, _ = ensure_index(folder, model, info, IndexParams(), CPU)
        loaded = LoadedModel(name, folder, model, info, index, CPU)
        return Entry(loaded, stored=True, saver=None, why_not="it is stored already")

    def index(self, name: str, *, force: bool = False, trust_code: bool = False) -> dict[str, Any]:
        """(Re)build an entry's index when stale (or ``force``); its quality figures."""
        folder = self._folder(name)
        model, info = load_checkpoint(folder, CPU, trust_code=trust_code)
        index, _ = ensure_index(folder, model, info, IndexParams(), CPU, force=force,
                                check_data=True)  # fmt: skip
        return dict(index.quality)

    def train(
        self,
        dataset: str = "digits",
        architecture: str = "vae",
        *,
        latent_dim: int = 8,
        epochs: int = 30,
        name: str | None = None,
        index: bool = True,
        seed: int = 0,
        **options: Any,
    ) -> str:
        """Train as ``latent-explorer train`` does; returns the entry's name. ``options``
        are TrainRequest's other fields (image_size, size, width, beta...)."""
        request = TrainRequest(
            dataset=dataset, architecture=architecture, latent_dim=latent_dim, name=name,
            train=TrainConfig(epochs=epochs, seed=seed, progress=False), **options,
        )  # fmt: skip
        folder, _ = train_model(request, self.path, CPU, build_index=index)
        return folder.name

    def remove(self, name: str) -> None:
        """Delete an entry's folder."""
        shutil.rmtree(self._folder(name))
