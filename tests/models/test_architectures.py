"""Every registered architecture honours the LatentModel interface at every allowed size."""

from __future__ import annotations

import pytest
import torch

from models.errors import ConfigError
from models.registry import KINDS, architecture, build_model


@pytest.mark.parametrize("name", ["ae", "vae"])
@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32), (3, 50, 40), (1, 64, 64)])
def test_encode_decode_shapes_and_range(name: str, shape: tuple[int, int, int]) -> None:
    torch.manual_seed(0)
    model = build_model(name, {"image_shape": list(shape), "latent_dim": 5, "width": 8}).eval()
    x = torch.rand(3, *shape)
    with torch.inference_mode():
        z = model.encode(x)
        y = model.decode(z)
    assert z.shape == (3, 5)
    assert y.shape == (3, *shape)
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0
    assert model.latent_dim == 5 and model.image_shape == shape
    terms = model.loss(x)
    assert terms["loss"].ndim == 0 and torch.isfinite(terms["loss"])
    terms["loss"].backward()  # the loss is differentiable end to end
    assert all(p.grad is not None for p in model.parameters())


def test_vae_encode_is_the_posterior_mean_and_loss_has_named_terms() -> None:
    torch.manual_seed(0)
    model = build_model("vae", {"image_shape": [1, 16, 16], "latent_dim": 4, "beta": 2.0}).eval()
    x = torch.rand(4, 1, 16, 16)
    with torch.inference_mode():
        mu, logvar = model.posterior(x)
        assert torch.equal(model.encode(x), mu)
        assert torch.equal(model.encode(x), model.encode(x))  # deterministic, no sampling
    with torch.no_grad():
        terms = model.loss(x)
    assert set(terms) == {"loss", "recon", "kl"}
    assert float(terms["kl"]) >= 0.0
    # beta weighs the KL term: loss = recon + beta * kl
    assert float(terms["loss"]) == pytest.approx(
        float(terms["recon"]) + 2.0 * float(terms["kl"]), rel=1e-5
    )
    samples = model.sample(6, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (6, 1, 16, 16)


def test_registry_names_and_unknown_architecture() -> None:
    architecture("vae")
    assert {"ae", "vae", "dae", "simclr", "siamese", "triplet", "jepa"} <= set(KINDS)
    with pytest.raises(
        ConfigError,
        match=r"unknown model architecture 'gan': choose one of ae, dae, jepa, siamese, simclr, "
        r"triplet, vae$",
    ):
        architecture("gan")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"latent_dim": 0}, "latent dimension 0 is out of range: allowed 2 to"),
        (
            {"image_shape": [1, 1000, 1000]},
            "image size 1000x1000 px is out of range: allowed 8 to 64",
        ),
        ({"image_shape": [1, 4, 4]}, "image size 4x4 px is out of range"),
        ({"image_shape": [2, 32, 32]}, "image channels must be 1 .grey. or 3 .colour., got 2"),
        ({"beta": -1.0}, "beta -1.0 is out of range"),
        ({"depth": 3}, r"unknown model arguments \['depth'\]"),
    ],
)
def test_impossible_configs_are_refused_with_a_message(args: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_model("vae", args)
