"""What the server holds while it runs: the loaded models and the inference worker.

Each model's own state and caches live on its ``LoadedModel``; the operations are functions in
the modules named after them (decoding, paths, arithmetic, neighbors, uploads, traversal...).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.services.analysis import AnalysisPool
from app.services.inference import InferenceWorker
from app.services.loaded import ModelStore


@dataclass
class Explorer:
    store: ModelStore
    worker: InferenceWorker
    device: str = "cpu"  # where the models run, as torch names it
    # analyses that take seconds (topology), in a process of their own
    analysis: AnalysisPool = field(default_factory=AnalysisPool)

    def prepare(self) -> None:
        """Derive what every model's requests share (its attribute vectors) before serving:
        seconds at a million items, which must not land on the event loop of a first request.
        Synchronous: the lifespan runs it on the inference thread."""
        for m in self.store.models.values():
            m.attributes()
