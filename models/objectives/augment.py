"""Random views of a batch of images, for contrastive learning and for the alignment measure.

``Augment`` holds named, documented ranges; calling it with a seeded ``torch.Generator`` gives
the same views for the same seed. Every image of a batch gets its own random draw.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F

from models.errors import ConfigError


@dataclass(frozen=True)
class Augment:
    """Random affine warp, then Gaussian noise, then random erasing, each per image.

    Defaults suit 16 to 32 px digits: strong enough that two views of a digit differ as two
    hand-drawn copies do, mild enough that a 6 does not become a 9.
    """

    rotation: float = 15.0  # degrees, uniform in [-rotation, rotation]
    scale: tuple[float, float] = (0.85, 1.15)  # zoom factor, uniform in the range
    translate: float = 0.12  # fraction of the side, uniform in [-translate, translate] per axis
    noise: float = 0.05  # std of additive Gaussian pixel noise (pixels in [0, 1])
    erase: float = 0.25  # probability of blanking one random rectangle
    erase_area: tuple[float, float] = (0.04, 0.15)  # that rectangle's share of the image

    def __post_init__(self) -> None:
        checks = [
            (0.0 <= self.rotation <= 180.0, "rotation must be from 0 to 180 degrees"),
            (
                0.0 < self.scale[0] <= self.scale[1] <= 4.0,
                "scale must be (low, high), 0 < low <= high <= 4",
            ),
            (0.0 <= self.translate <= 0.5, "translate must be from 0 to 0.5"),
            (0.0 <= self.noise <= 1.0, "noise must be from 0 to 1"),
            (0.0 <= self.erase <= 1.0, "erase must be a probability from 0 to 1"),
            (
                0.0 < self.erase_area[0] <= self.erase_area[1] <= 1.0,
                "erase_area must be (low, high), 0 < low <= high <= 1",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"augmentation: {message}; got {self}")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Augment:
        allowed = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ConfigError(f"unknown augmentation settings {unknown}: allowed {sorted(allowed)}")
        args: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**args)

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] -> a random view of each image, same shape, in [0, 1]."""
        b = x.shape[0]
        dev = x.device

        def uniform(low: float, high: float) -> torch.Tensor:
            u = torch.rand(b, generator=generator, device=generator.device).to(dev)
            return low + (high - low) * u  # (B,)

        angle = uniform(-self.rotation, self.rotation) * (math.pi / 180.0)
        zoom = uniform(*self.scale)
        tx, ty = uniform(-self.translate, self.translate), uniform(-self.translate, self.translate)
        # affine_grid maps output to input coordinates: the inverse of the warp we want.
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        theta = torch.stack(
            [torch.stack([cos, -sin, 2 * tx], 1), torch.stack([sin, cos, 2 * ty], 1)], 1
        )  # (B, 2, 3)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        out = F.grid_sample(x, grid, padding_mode="zeros", align_corners=False)
        if self.noise > 0:
            noise = torch.randn(x.shape, generator=generator, device=generator.device).to(dev)
            out = out + self.noise * noise
        if self.erase > 0:
            out = out * (1.0 - self._erase_masks(x.shape, generator).to(dev))
        return out.clamp_(0.0, 1.0)

    def _erase_masks(self, shape: torch.Size, generator: torch.Generator) -> torch.Tensor:
        """(B, 1, H, W) masks, 1 inside the rectangle to blank (none for images not drawn)."""
        b, _, h, w = shape
        g = generator.device

        def draw(*size: int) -> torch.Tensor:
            return torch.rand(*size, generator=generator, device=g)

        area = self.erase_area[0] + (self.erase_area[1] - self.erase_area[0]) * draw(b)
        aspect = torch.exp((draw(b) - 0.5) * math.log(3.0))  # between 1/sqrt(3) and sqrt(3)
        eh = (torch.sqrt(area * aspect) * h).clamp(1, h)
        ew = (torch.sqrt(area / aspect) * w).clamp(1, w)
        top = draw(b) * (h - eh)
        left = draw(b) * (w - ew)
        rows = torch.arange(h, device=g).view(1, h, 1)
        cols = torch.arange(w, device=g).view(1, 1, w)
        inside = (
            (rows >= top.view(b, 1, 1))
            & (rows < (top + eh).view(b, 1, 1))
            & (cols >= left.view(b, 1, 1))
            & (cols < (left + ew).view(b, 1, 1))
        )  # (B, H, W)
        chosen = draw(b) < self.erase  # (B,)
        return (inside & chosen.view(b, 1, 1)).unsqueeze(1).float()


def draw_generator(device: torch.device) -> torch.Generator:
    """A generator on ``device`` seeded from torch's global one: a loss that augments, corrupts
    or masks draws its randomness here, so seeding torch (as training does) repeats a run."""
    seed = int(torch.randint(0, 2**62, (1,)).item())
    return torch.Generator(device=device).manual_seed(seed)
