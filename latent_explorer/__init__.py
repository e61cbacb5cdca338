"""Latent Explorer from Python: workspaces, live models and embeddings, served to a notebook.

>>> import latent_explorer as lx
>>> entry = lx.from_torch(ae.encode, ae.decode, images=x, labels=y, name="my-ae")
>>> lx.show(entry)                      # the explorer inline, in Jupyter or VS Code
>>> ids, distances = entry.neighbors(0, k=5)

docs/python.md is the guide.
"""

from __future__ import annotations

from latent_explorer._packages import load_own_packages

load_own_packages()  # before anything below imports `app` or `models`

from latent_explorer.entry import Entry  # noqa: E402
from latent_explorer.serving import Server, serve, show  # noqa: E402
from latent_explorer.sources import from_embeddings, from_torch  # noqa: E402
from latent_explorer.workspace import Workspace  # noqa: E402

__all__ = ["Entry", "Server", "Workspace", "from_embeddings", "from_torch", "serve", "show"]
