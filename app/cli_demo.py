"""``latent-explorer demo``: train the whole set of kinds on digits, then serve them
(app/services/demo.py).

    latent-explorer demo --workspace W [--epochs N] [--no-serve] [--host H --port P]

Kept apart from app/cli.py (which registers it and serves after it) so that file stays small.
"""

from __future__ import annotations

import argparse
import logging
import sys

log = logging.getLogger("latent_explorer")


def add_demo_args(p: argparse.ArgumentParser) -> None:
    """The demo's own flags; app/cli.py adds the workspace, device and serving ones."""
    from app.services.demo import DemoPlan

    d = DemoPlan()
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="most epochs per model (default: each kind's own, docs/objectives.md)",
    )
    p.add_argument(
        "--decoder-epochs",
        type=int,
        default=d.decoder_epochs,
        help="most epochs of each fitted decoder (encoder-only kinds)",
    )
    p.add_argument("--latent-dim", type=int, default=d.latent_dim)
    p.add_argument("--image-size", type=int, default=d.image_size, help="square side in px")
    p.add_argument("--width", type=int, default=d.width, help="channels of the first conv layer")
    p.add_argument("--size", type=int, default=None, help="digits items (default: all 1797)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--no-progress", action="store_true", help="no epoch bars")
    p.add_argument("--no-serve", action="store_true", help="prepare the models, do not serve")


def prepare_from_args(args: argparse.Namespace) -> None:
    """The demo's models, trained or kept, with a line per model on stderr; app/cli.py's
    ``cmd_demo`` serves them after."""
    from app.services.demo import DemoPlan, prepare_demo
    from models.device import set_up_torch

    plan = DemoPlan(
        epochs=args.epochs,
        decoder_epochs=args.decoder_epochs,
        latent_dim=args.latent_dim,
        image_size=args.image_size,
        width=args.width,
        size=args.size,
        seed=args.seed,
        progress=not args.no_progress,
    )

    def announce(line: str) -> None:
        print(f"demo {line}", file=sys.stderr, flush=True)  # noqa: T201  (beside the bars)

    device = set_up_torch(args.device, args.threads)
    report = prepare_demo(args.workspace, plan, device, announce)
    trained = sum(step.action == "trained" for step in report.steps)
    announce(
        f"ready: {len(report.steps)} models in {args.workspace} ({trained} trained, "
        f"{len(report.steps) - trained} kept) in {report.seconds:.0f} s"
    )
