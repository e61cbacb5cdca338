"""``latent-explorer demo``: the whole set of model kinds trained on digits, for a classroom.

Every kind the course compares (ae, vae, dae, simclr, siamese, triplet, jepa) is trained with
the same data, latent size and seed; the encoder-only kinds get a decoder fitted to their
frozen encoder (app/services/fit_decoder.py), so every map decodes. A model already in the
workspace is kept as it is (only a missing fitted decoder is added), so a second run costs
nothing and an interrupted one resumes with the model it was training.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from app.services.fit_decoder import fit_model_decoder
from app.services.training import TrainRequest, train_model
from app.workspace import model_dir, model_name
from models.checkpoint import CONFIG_FILE
from models.decoder_fit import FitDecoderConfig
from models.registry import architecture, load_checkpoint
from models.training import TrainConfig

log = logging.getLogger(__name__)

# The order the course meets them in: reconstruction first, then the objectives without a
# decoder (their fitted decoders come after each).
DEMO_KINDS = ("ae", "vae", "dae", "simclr", "siamese", "triplet", "jepa")
DEMO_DATASET = "digits"


@dataclass
class DemoPlan:
    # None: each kind's own default_epochs (docs/objectives.md): the demo's timing in
    # docs/guide.md was taken with them.
    epochs: int | None = None
    # fit-decoder's own default (models/decoder_fit.py): the held-out PSNR levels off by then
    decoder_epochs: int = FitDecoderConfig.epochs
    latent_dim: int = 8  # train's default: the names are train's too (digits-ae-8, ...)
    image_size: int = 32
    width: int = 16
    size: int | None = None  # digits items (None: all 1797)
    seed: int = 0
    progress: bool = True
    kinds: tuple[str, ...] = DEMO_KINDS


@dataclass
class DemoStep:
    name: str
    kind: str
    action: str  # "trained" or "kept"
    decoder: str  # "own", "fitted" (now), "kept" (fitted before)
    seconds: float


@dataclass
class DemoReport:
    steps: list[DemoStep] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(step.seconds for step in self.steps)


def prepare_demo(
    workspace: Path,
    plan: DemoPlan,
    device: torch.device,
    announce: Callable[[str], None] = log.info,
) -> DemoReport:
    """Train (or keep) every kind of ``plan`` on digits in ``workspace`` and fit decoders to
    the encoder-only ones. ``announce`` gets one line per model before its work starts (its
    epoch bar follows when ``plan.progress``) and one when it is done."""
    report = DemoReport()
    for number, kind in enumerate(plan.kinds, start=1):
        name = model_name(DEMO_DATASET, kind, plan.latent_dim)
        head = f"[{number}/{len(plan.kinds)}] {name}"
        start = time.perf_counter()
        folder = model_dir(workspace, name)
        if (folder / CONFIG_FILE).is_file():
            action = "kept"
            announce(f"{head}: already in the workspace, kept")
        else:
            action = "trained"
            epochs = plan.epochs or architecture(kind).default_epochs
            announce(f"{head}: training {kind}, up to {epochs} epochs")
            train_model(_request(kind, name, epochs, plan), workspace, device)
        decoder = _ensure_decoder(workspace, name, plan, device, head, announce)
        step = DemoStep(name, kind, action, decoder, time.perf_counter() - start)
        report.steps.append(step)
        announce(f"{head}: {action}, decoder {decoder}, {step.seconds:.0f} s")
    return report


def _request(kind: str, name: str, epochs: int, plan: DemoPlan) -> TrainRequest:
    return TrainRequest(
        dataset=DEMO_DATASET,
        architecture=kind,
        latent_dim=plan.latent_dim,
        image_size=plan.image_size,
        size=plan.size,
        width=plan.width,
        name=name,
        train=TrainConfig(epochs=epochs, seed=plan.seed, progress=plan.progress),
    )


def _ensure_decoder(
    workspace: Path,
    name: str,
    plan: DemoPlan,
    device: torch.device,
    head: str,
    announce: Callable[[str], None],
) -> str:
    """The model's decoder source after fitting one where it had none."""
    model, _ = load_checkpoint(model_dir(workspace, name), device)
    if model.decoder_source == "own":
        return "own"
    if model.decoder_source == "fitted":
        return "kept"
    announce(f"{head}: fitting a decoder, up to {plan.decoder_epochs} epochs")
    config = FitDecoderConfig(epochs=plan.decoder_epochs, seed=plan.seed, progress=plan.progress)
    fit_model_decoder(workspace, name, config, device)
    return "fitted"
