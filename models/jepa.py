"""A small I-JEPA (Assran et al., 2023): predict, in embedding space, the hidden part of an
image from the visible part.

The patches are the positions of the ConvEncoder's final feature map (4x4 for 8 to 32 px
images). A context encoder sees the image with blocks of patches blanked; a target encoder,
an exponential moving average of the context encoder that gets no gradient, embeds the
whole image; a narrow transformer predictor fills the blanked positions from the context
tokens plus learned position embeddings and is scored against the target embeddings there.

The targets are standardised per position and channel over the batch, where
facebookresearch/ijepa layer-normalises each token. A small conv encoder's tokens say where
they are (zero padding marks the borders) and the predictor is told where the hidden patches
are, so with layer-normalised targets the loss falls without the encoder saying much about
the image (held-out kNN 0.710 at test size, below the untrained encoder's 0.797). Subtracting
the batch mean at each position removes that predictable part: 0.838 after 30 epochs
(docs/objectives.md).

The explorer's latent is the context encoder's feature map on the full image, averaged over
positions, standardised with running statistics and rotated to the latent size by a fixed
random projection: nothing of the latent is trained except through the JEPA loss, so its
spread shows whether the encoder collapsed.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from models.base import LatentModel
from models.conv import ConvConfig, ConvEncoder
from models.errors import ConfigError
from models.objectives.augment import draw_generator


@dataclass
class JEPAConfig(ConvConfig):
    # Per image, this many square target blocks are hidden from the context encoder; two
    # blocks of 2x2 on a 4x4 grid hide a quarter to a half of the image, the range I-JEPA's
    # multi-block masks cover.
    target_blocks: int = 2
    block: int = 2  # side of a target block, in patches
    # Moving-average weight of the target encoder per step. Short runs need a target that
    # moves (I-JEPA's 0.996 suits ~100k steps; here a run is ~1-2k).
    ema: float = 0.99
    predictor_dim: int = 64  # narrower predictor than a ViT's, as I-JEPA's is
    predictor_depth: int = 2  # transformer layers in the predictor

    def validate(self) -> None:
        super().validate()
        if not 1 <= self.target_blocks <= 8:
            raise ConfigError(f"target_blocks {self.target_blocks} is out of range: allowed 1 to 8")
        if not 1 <= self.block <= 3:
            raise ConfigError(f"block {self.block} is out of range: allowed 1 to 3 patches")
        if not 0.0 <= self.ema < 1.0:
            raise ConfigError(f"ema {self.ema} is out of range: allowed from 0 up to 1")
        if not 8 <= self.predictor_dim <= 512 or self.predictor_dim % 4:
            raise ConfigError(
                f"predictor_dim {self.predictor_dim} is out of range: a multiple of 4 from 8 to 512"
            )
        if not 1 <= self.predictor_depth <= 8:
            raise ConfigError(
                f"predictor_depth {self.predictor_depth} is out of range: allowed 1 to 8"
            )


class JEPA(LatentModel):
    """Context encoder, EMA target encoder and predictor over the ConvEncoder's feature map."""

    name = "jepa"
    # Held-out kNN at test size (16 px, latent 16): 0.78 / 0.84 / 0.88 after 15 / 30 / 60
    # epochs; at the CLI's defaults (32 px, latent 8): 0.774 / 0.802 / 0.735 / 0.735 after
    # 20 / 30 / 40 / 60 (untrained 0.721), so not monotonic there: 30 (~14 s on 2 cores). The
    # validation loss is no guide (the targets move with the EMA encoder), so every epoch
    # runs and the last weights stay.
    default_epochs = 30
    early_stopping = False
    description = (
        "JEPA: from the visible part of an image, a predictor predicts the embeddings a "
        "moving-average target encoder gives the hidden blocks. The latent is the context "
        "encoder's features on the whole image, averaged over positions and standardised; "
        "there is no decoder."
    )
    config_class = JEPAConfig
    config: JEPAConfig
    trainable = True
    rotation: torch.Tensor  # (latent_dim, E) buffer

    def __init__(self, config: JEPAConfig) -> None:
        super().__init__(config)
        c, h, w = config.image_shape
        # The shared backbone's convolutional stages; its flattening head is not used.
        self.context = ConvEncoder(config.image_shape, config.width, config.latent_dim).features
        self.target = copy.deepcopy(self.context)
        for weight in self.target.parameters():
            weight.requires_grad_(False)
        with torch.no_grad():
            fmap = self.context(torch.zeros(1, c, h, w))  # (1, E, gh, gw)
        embed, self.grid = fmap.shape[1], (fmap.shape[2], fmap.shape[3])
        if config.block > min(self.grid):
            raise ConfigError(
                f"block {config.block} is larger than the {self.grid[0]}x{self.grid[1]} patch grid"
            )
        tokens = self.grid[0] * self.grid[1]
        p = config.predictor_dim
        self.predictor_in = nn.Linear(embed, p)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, p))
        self.positions = nn.Parameter(torch.randn(1, tokens, p) * 0.02)
        layer = nn.TransformerEncoderLayer(
            p, nhead=4, dim_feedforward=2 * p, dropout=0.0, batch_first=True, norm_first=True
        )
        self.predictor = nn.TransformerEncoder(
            layer, config.predictor_depth, enable_nested_tensor=False
        )
        self.predictor_out = nn.Sequential(nn.LayerNorm(p), nn.Linear(p, embed))
        # The latent: standardised pooled features (statistics tracked during training), then
        # a fixed random rotation to latent_dim (orthonormal rows or columns).
        self.standardise = nn.BatchNorm1d(embed, affine=False, momentum=0.05)
        rotation = torch.empty(config.latent_dim, embed)
        nn.init.orthogonal_(rotation, generator=torch.Generator().manual_seed(0))
        self.register_buffer("rotation", rotation)  # (D, E)

    @property
    def can_decode(self) -> bool:
        return False

    def tokens(self, encoder: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, T, E): the feature map's positions as tokens."""
        return encoder(x).flatten(2).transpose(1, 2)  # (B, E, gh, gw) -> (B, T, E)

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, E): the context encoder's features averaged over positions."""
        return self.context(x).mean(dim=(2, 3))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        z = F.batch_norm(
            self.pooled(x),
            self.standardise.running_mean,
            self.standardise.running_var,
            training=False,
        )  # (B, E), never updates the statistics
        return z @ self.rotation.T  # (B, D)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("model kind 'jepa' is encoder-only: it has no decoder")

    def masks(self, b: int, device: torch.device, g: torch.Generator) -> torch.Tensor:
        """(B, T) bool, True on the target patches: the union of ``target_blocks`` square
        blocks of side ``block`` per image, at random places."""
        gh, gw, s = self.grid[0], self.grid[1], self.config.block
        rows = torch.arange(gh, device=device).view(1, gh, 1)
        cols = torch.arange(gw, device=device).view(1, 1, gw)
        hidden = torch.zeros(b, gh, gw, dtype=torch.bool, device=device)
        for _ in range(self.config.target_blocks):
            top = torch.randint(0, gh - s + 1, (b, 1, 1), generator=g, device=g.device).to(device)
            left = torch.randint(0, gw - s + 1, (b, 1, 1), generator=g, device=g.device).to(device)
            hidden |= (rows >= top) & (rows < top + s) & (cols >= left) & (cols < left + s)
        return hidden.flatten(1)  # (B, T)

    def loss(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        b = x.shape[0]
        hidden = self.masks(b, x.device, draw_generator(x.device))  # (B, T)
        gh, gw = self.grid
        pixel_mask = F.interpolate(
            hidden.view(b, 1, gh, gw).float(), size=x.shape[-2:], mode="nearest"
        )  # (B, 1, H, W), 1 on the hidden patches
        context = self.tokens(self.context, x * (1.0 - pixel_mask))  # (B, T, E)
        with torch.no_grad():
            target = standardise_over_batch(self.tokens(self.target, x))  # (B, T, E)
        queries = torch.where(
            hidden.unsqueeze(-1), self.mask_token, self.predictor_in(context)
        )  # (B, T, P): blanked positions carry only their position
        predicted = self.predictor_out(self.predictor(queries + self.positions))  # (B, T, E)
        loss = (predicted - target).pow(2).mean(-1)[hidden].mean()
        if self.training:  # track the latent's statistics on the full images
            with torch.no_grad():
                self.standardise(self.pooled(x))
        return {"loss": loss, "prediction": loss}

    @torch.no_grad()
    def after_step(self) -> None:
        """Move the target encoder towards the context encoder (no gradient ever reaches it)."""
        m = self.config.ema
        for t, c in zip(self.target.parameters(), self.context.parameters(), strict=True):
            t.mul_(m).add_(c.detach(), alpha=1.0 - m)


def standardise_over_batch(tokens: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """(B, T, E) -> (B, T, E) with zero mean and unit spread over the batch at each position
    and channel: what is the same for every image at a position (the position itself) is
    no longer something to predict. Needs a batch of at least two."""
    if tokens.shape[0] < 2:
        return torch.zeros_like(tokens)  # nothing varies across one image: no target
    return (tokens - tokens.mean(0)) / (tokens.std(0) + eps)
