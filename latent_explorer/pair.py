"""``TorchPair``: the stored form of ``from_torch``'s encoder and decoder, as one
``pytorch-class`` model (models/external.py), so the same import and trust rule apply.

Its keyword arguments name the user's classes (``"mypkg.nets:Encoder"``), their own keyword
arguments and the methods to call; building it imports those classes the way
``import-model --class`` does (the current folder first).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from models.external import import_class

CLASS_PATH = "latent_explorer.pair:TorchPair"


class TorchPair(nn.Module):
    """An encoder and an optional decoder, each a method of one of the user's modules; when
    both are methods of the same module (``ae.encode``, ``ae.decode``), it is held once."""

    def __init__(
        self,
        encoder: str,
        encoder_method: str = "forward",
        encoder_kwargs: dict[str, Any] | None = None,
        decoder: str | None = None,
        decoder_method: str = "forward",
        decoder_kwargs: dict[str, Any] | None = None,
        shared: bool = False,
    ) -> None:
        super().__init__()
        self.encoder = import_class(encoder)(**(encoder_kwargs or {}))
        self.encoder_method = encoder_method
        self.decoder_method = decoder_method
        self.decoder: nn.Module | None = None
        if decoder is not None and not shared:
            self.decoder = import_class(decoder)(**(decoder_kwargs or {}))
        self.has_decoder = decoder is not None

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = getattr(self.encoder, self.encoder_method)(x)
        return out

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        owner = self.decoder if self.decoder is not None else self.encoder
        out: torch.Tensor = getattr(owner, self.decoder_method)(z)
        return out
