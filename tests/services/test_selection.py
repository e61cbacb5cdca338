"""The selection service without HTTP: concurrent first requests share the whole-set figures
the model keeps, and give the answers a lone request gives."""

from __future__ import annotations

import asyncio

import numpy as np

from app.services.inference import InferenceWorker
from app.services.loaded import LoadedModel
from app.services.selection import SelectionStats, describe_selection, selection_stats
from tests.services.conftest import run


def test_concurrent_requests_agree_with_lone_ones(m: LoadedModel, worker: InferenceWorker) -> None:
    rng = np.random.default_rng(5)
    selections = [
        rng.choice(len(m.index), size, replace=False).tolist() for size in range(1, 300, 25)
    ]
    m.selection_cache.clear()

    async def all_at_once() -> list[SelectionStats]:
        jobs = [describe_selection(worker, m, ids, "pca") for ids in selections]
        return await asyncio.gather(*jobs)

    together = run(all_at_once())
    assert set(m.selection_cache) == {"labels", "errors", "faith:pca", "mean:digit"}
    for ids, found in zip(selections, together, strict=True):
        alone = selection_stats(m, np.unique(ids), "pca")
        assert found.count == len(ids) and found.medoid == alone.medoid
        assert found.labels == alone.labels and found.metadata == alone.metadata
        assert found.reconstruction_error == alone.reconstruction_error
        assert found.faithfulness == alone.faithfulness
        np.testing.assert_array_equal(found.mean_latent, alone.mean_latent)
        assert found.average_member is not None and found.average_member.shape == (1, 16, 16)
