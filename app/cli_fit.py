"""``latent-explorer fit-decoder``: a decoder for a model without one (app/services/fit_decoder.py).

    latent-explorer fit-decoder --model NAME [--epochs 30] [--seed 0] [--workspace DIR]

Kept apart from app/cli.py (which registers it) so that file stays small.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

log = logging.getLogger("latent_explorer")


def add_fit_decoder(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from app.cli_import import TRUST_HELP
    from models.decoder_fit import FitDecoderConfig

    d = FitDecoderConfig()
    p = sub.add_parser(
        "fit-decoder",
        help="fit a decoder to a model without one (encoder-only kinds, imported encoders, "
        "embeddings with images), so its latents can be decoded",
    )
    p.add_argument("--model", required=True, help="model folder name")
    p.add_argument("--workspace", type=Path, default=None)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all)")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--patience", type=int, default=d.patience, help="early-stop patience, epochs")
    p.add_argument("--width", type=int, default=d.width, help="decoder width, as the AE's")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--trust-code", action="store_true", default=None, help=TRUST_HELP)


def cmd_fit_decoder(args: argparse.Namespace) -> int:
    from app.services.fit_decoder import fit_model_decoder
    from models.decoder_fit import FitDecoderConfig
    from models.device import set_up_torch

    device = set_up_torch(args.device, args.threads)
    config = FitDecoderConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        width=args.width,
        patience=args.patience,
        progress=not args.no_progress,
    )
    report = fit_model_decoder(
        args.workspace, args.model, config, device, trust_code=bool(args.trust_code)
    )
    log.info("fitted decoder of %s: %s", args.model, json.dumps(report.section["heldout"]))
    return 0
