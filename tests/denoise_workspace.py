"""A workspace for the denoising demo's API and browser tests: a tiny dae and a tiny plain ae
on the same 400 digits (16 px, a seeded subset), trained for seconds. Tiny models denoise
badly; the tests check the answer's numbers against the returned images, not the quality of
the denoising."""

from __future__ import annotations

from pathlib import Path

DAE = "digits-dae-4"
AE = "digits-ae-4"
N_ITEMS = 400


def build_denoise_workspace(root: Path) -> Path:
    """Fill ``root`` with ``DAE`` and ``AE``, each with its index; returns ``root``."""
    from app.services.training import TrainRequest, train_model
    from models.device import configure_torch, resolve_device
    from models.training import TrainConfig

    configure_torch(2)
    for kind, epochs in (("dae", 3), ("ae", 2)):
        request = TrainRequest(
            dataset="digits",
            architecture=kind,
            latent_dim=4,
            image_size=16,
            width=8,
            size=N_ITEMS,
            train=TrainConfig(epochs=epochs, seed=0, progress=False),
        )
        train_model(request, root, resolve_device("cpu"))
    return root
