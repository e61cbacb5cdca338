"""Training on normal classes only (``TrainConfig.normal_classes``): the anomalous classes and
the held-out items never reach the model, and the held-out split is the usual one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import models.training as training
from models.errors import ConfigError
from models.registry import build_model
from models.training import TrainConfig, holdout_split, normal_only, train


def test_normal_only_keeps_the_normal_items_in_order() -> None:
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2] * 2)
    ids = np.array([5, 3, 0, 11, 8, 2, 1, 4, 6, 7, 9, 10, 13, 12, 14, 15, 16, 17])
    kept = normal_only(ids, labels, [0, 1])
    assert kept.tolist() == [i for i in ids.tolist() if labels[i] != 2]
    assert normal_only(ids, labels, None) is ids
    with pytest.raises(ConfigError, match="labelled dataset"):
        normal_only(ids, None, [0])
    with pytest.raises(ConfigError, match="need at least 10"):
        normal_only(ids, labels, [0])  # 6 items of class 0 among ids


def test_the_anomalous_class_and_held_out_items_are_never_trained_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    n = 120
    labels = np.arange(n) % 3
    # every image is filled with its own item id: what the model sees says which items it saw
    images = np.broadcast_to(np.arange(n, dtype=np.uint8)[:, None, None, None], (n, 1, 8, 8))
    images = np.ascontiguousarray(images)
    seen: set[int] = set()
    real_as_float = training.as_float

    def recording(batch: np.ndarray, device: torch.device) -> torch.Tensor:
        seen.update(int(v) for v in np.unique(batch))
        return real_as_float(batch, device)

    monkeypatch.setattr(training, "as_float", recording)
    torch.manual_seed(0)
    model = build_model("ae", {"image_shape": [1, 8, 8], "latent_dim": 2, "width": 4})
    config = TrainConfig(epochs=2, batch_size=16, normal_classes=[0, 1], progress=False)
    result = train(model, images, config, "cpu", labels=labels)
    held = holdout_split(n, 0.2, 0)[1]
    assert result.holdout_ids == held.tolist()  # the usual split, drawn over every item
    expected = set(np.setdiff1d(np.flatnonzero(labels != 2), held).tolist())
    assert seen == expected
