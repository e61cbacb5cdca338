"""``latent-explorer fit-decoder``: give a model without a decoder one, fitted to its frozen
encoder's latents (or its imported vectors) and its own items' images.

The latents and images come from the model's index (built first when missing or stale): they
are the encoder's output on exactly the items it maps, in the order training recorded its
held-out items in. The decoder is written beside the model (models/fitted_decoder.py), then
the index is rebuilt so the map's reconstruction errors and quality include it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from app.index.ensure import ensure_index
from app.index.fitting import IndexParams
from app.index.store import LatentIndex
from app.workspace import list_models, model_dir
from models.checkpoint import CONFIG_FILE
from models.decoder_fit import FitDecoderConfig, fit_decoder
from models.errors import ConfigError, ConflictError, NotFoundError
from models.fitted_decoder import write_fitted_decoder
from models.registry import load_checkpoint

log = logging.getLogger(__name__)


@dataclass
class FitDecoderReport:
    folder: Path
    section: dict[str, Any]  # the fitted_decoder section written to config.json
    index: LatentIndex  # the rebuilt index


def fit_model_decoder(
    workspace: Path,
    name: str,
    config: FitDecoderConfig,
    device: torch.device | str = "cpu",
    *,
    trust_code: bool = False,
) -> FitDecoderReport:
    """Fit, store and index a decoder for the workspace model ``name``. Refused (one error
    each) for an unknown model, a model that decodes on its own and a model without images;
    a model that already has a fitted decoder gets a new one in its place."""
    config.validate()
    folder = model_dir(workspace, name)
    if not (folder / CONFIG_FILE).is_file():
        known = ", ".join(list_models(workspace)) or "none"
        raise NotFoundError(f"no model {name!r} in {workspace} (models there: {known})")
    model, info = load_checkpoint(folder, device, trust_code=trust_code)
    if model.decoder_source == "own":
        raise ConflictError(
            f"model {name!r} ({info.architecture}) already decodes with its own decoder: "
            "fit-decoder is for models without one (encoder-only kinds, imported encoders, "
            "imported embeddings with images)"
        )
    if 0 in model.image_shape:
        raise ConfigError(
            f"model {name!r} has no images to fit a decoder to: import its embeddings with "
            "images (--image-column or --sprite) to fit one"
        )
    index, _ = ensure_index(folder, model, info, IndexParams(), device)
    if index.images is None:
        raise ConfigError(f"model {name!r} has no images to fit a decoder to")
    recorded = info.training.get("holdout_ids")
    result = fit_decoder(
        index.latents,
        index.images,
        config,
        recorded_holdout=[int(i) for i in recorded] if recorded else None,
        device=device,
    )
    figures = {
        "training": config.to_dict(),
        "epochs_run": result.epochs_run,
        "best_epoch": result.best_epoch,
        "seconds": round(result.seconds, 2),
        "heldout": result.heldout,
    }
    write_fitted_decoder(folder, info, result.decoder, figures)
    log.info(
        "%s: fitted decoder written; held-out PSNR %.2f dB (mean image %.2f dB)",
        name,
        result.heldout["psnr"],
        result.heldout["mean_image_psnr"],
    )
    model, info = load_checkpoint(folder, device, trust_code=trust_code)
    index, _ = ensure_index(folder, model, info, IndexParams(), device, force=True)
    return FitDecoderReport(folder, info.fitted_decoder, index)
