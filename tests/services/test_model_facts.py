"""A model's description and the server's health, without HTTP."""

from __future__ import annotations

import numpy as np

from app.services.explorer import Explorer
from app.services.inference import InferenceWorker
from app.services.loaded import LoadedModel, ModelStore
from app.services.model_facts import describe_model, describe_models, health


def test_a_model_is_described_from_its_index(m: LoadedModel) -> None:
    facts = describe_model(m)
    assert (facts.name, facts.latent_dim, facts.n_items) == (m.name, 4, 1797)
    assert facts.default_projection == "umap"
    assert set(facts.projections) == {"pca", "umap", "tsne"}
    np.testing.assert_allclose(facts.latent_std, m.index.latents.std(0), rtol=1e-5)
    assert m.latent_std() is m.latent_std()  # computed once, not per request
    assert "data_dir" not in facts.dataset
    assert facts.can_encode and facts.can_decode and facts.has_images


def test_health_is_starting_until_the_models_are_loaded(
    store: ModelStore, worker: InferenceWorker
) -> None:
    assert health(None).status == "starting"
    explorer = Explorer(store, worker, "cpu")
    ready = health(explorer)
    assert (ready.status, ready.device, ready.models) == ("ok", "cpu", list(store.models))
    assert [f.name for f in describe_models(explorer)] == list(store.models)
