"""The ``latent-explorer`` command (also ``python -m app``): a thin caller of the services.

    latent-explorer train  --dataset digits --model vae --latent-dim 8 --epochs 30 --out workspace
    latent-explorer index  --workspace workspace [--model NAME] [--force] [--engine ray]
    latent-explorer info   --workspace workspace
    latent-explorer serve  --workspace workspace --host 127.0.0.1 --port 8000 [--device auto]
    latent-explorer run    --workspace workspace     (train the default model if none, then serve)
    latent-explorer import-embeddings --vectors vectors.tsv [--metadata metadata.tsv] [--label COL]
    latent-explorer import-embeddings --projector-config projector_config.json [--tensor NAME]
    latent-explorer import-model --class mypkg.vae:MyVAE --weights m.safetensors --dataset digits
    latent-explorer export-onnx --model NAME --out DIR    (the three in app/cli_import.py)
    latent-explorer fit-decoder --model NAME [--epochs 30]  (app/cli_fit.py)
    latent-explorer demo   --workspace workspace [--no-serve]  (every kind on digits, then serve)

Errors a person can fix print one line, ``error: ...``, and exit with status 2.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli_demo import add_demo_args, prepare_from_args
from app.cli_fit import add_fit_decoder, cmd_fit_decoder
from app.cli_import import (
    TRUST_HELP,
    add_import_embeddings,
    add_import_model,
    cmd_export_onnx,
    cmd_import_embeddings,
    cmd_import_model,
)
from models.errors import LatentExplorerError

if TYPE_CHECKING:
    import torch

    from app.index.store import LatentIndex
    from models.checkpoint import CheckpointInfo

log = logging.getLogger("latent_explorer")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="latent-explorer", description="Explore the latent space of autoencoders and VAEs."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser, workspace_flag: str = "--workspace") -> None:
        p.add_argument(
            workspace_flag,
            dest="workspace",
            type=Path,
            default=None,
            help="workspace folder (default: $LATENT_EXPLORER_WORKSPACE or ./workspace)",
        )
        p.add_argument(
            "--device",
            choices=("auto", "cpu", "cuda"),
            default=None,
            help="auto takes CUDA when present (default: $LATENT_EXPLORER_DEVICE or auto)",
        )
        p.add_argument(
            "--threads",
            type=int,
            default=None,
            help="torch CPU threads (default: all cores to train and index, 1 to serve)",
        )

    train = sub.add_parser("train", help="train a model and index it")
    common(train, "--out")
    add_train_args(train)
    train.add_argument("--no-index", action="store_true", help="skip building the index")

    index = sub.add_parser("index", help="build or refresh the latent index of models")
    common(index)
    add_index_args(index)

    info = sub.add_parser("info", help="list the workspace's models and their quality figures")
    info.add_argument("--workspace", type=Path, default=None)
    info.add_argument(
        "--json", action="store_true", help="one JSON line per model instead of readable text"
    )

    add_import_embeddings(sub)
    add_import_model(sub)  # import-model, export-onnx (app/cli_import.py)
    add_fit_decoder(sub)  # app/cli_fit.py

    for name, text in (
        ("serve", "serve the explorer"),
        ("run", "train the default digits model if the workspace has none, then serve"),
        ("demo", "train every kind on digits (keeping those already there), then serve"),
    ):
        p = sub.add_parser(name, help=text)
        common(p)
        p.add_argument("--host", default=None, help="listen address (default: 127.0.0.1)")
        p.add_argument("--port", type=int, default=None, help="listen port (default: 8000)")
        p.add_argument(
            "--model",
            action="append",
            dest="models",
            help="load only this model (repeatable; default: all)",
        )
        p.add_argument(
            "--max-inflight",
            type=int,
            default=None,
            help="API requests served at once; past it 503 at once (default: 64)",
        )
        p.add_argument("--trust-code", action="store_true", default=None, help=TRUST_HELP)
        p.add_argument(
            "--token",
            default=None,
            help="access token every request must carry (default: $LATENT_EXPLORER_TOKEN, "
            "which keeps it out of the process list; none: no check)",
        )
        if name == "demo":
            add_demo_args(p)  # app/cli_demo.py
    return parser


def add_index_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="model folder name (default: every model)")
    p.add_argument("--force", action="store_true", help="rebuild even if the cache matches")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--trust-code", action="store_true", default=None, help=TRUST_HELP)
    p.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: encode in this process; ray: encode with Ray Data (docs/scale.md)",
    )
    p.add_argument(
        "--ray-address",
        default=None,
        help="Ray cluster to join (default: $RAY_ADDRESS, else a local Ray)",
    )
    p.add_argument(
        "--ray-shards",
        default=None,
        help="empty folder or URI every Ray worker can write the Parquet shards to "
        "(default: a scratch folder in the model folder)",
    )


def add_train_args(p: argparse.ArgumentParser) -> None:
    from models.training import TrainConfig

    d = TrainConfig()
    p.add_argument(
        "--dataset",
        default="digits",
        help="digits | shapes | mnist | fashion-mnist | folder:PATH (default: digits)",
    )
    p.add_argument(
        "--model",
        dest="architecture",
        default="vae",
        help="vae | ae | dae | simclr | siamese | triplet | jepa (default: vae); "
        "docs/objectives.md says what each learns",
    )
    p.add_argument("--name", default=None, help="model folder name (default: DATASET-MODEL-LATENT)")
    p.add_argument("--latent-dim", type=int, default=8)
    p.add_argument("--image-size", type=int, default=32, help="square side in px, 8 to 64")
    p.add_argument("--channels", type=int, choices=(1, 3), default=None)
    p.add_argument(
        "--size",
        type=int,
        default=None,
        help="items: shapes to generate (default 20000), or a subset of the others",
    )
    p.add_argument("--colour", action="store_true", help="shapes: coloured shapes, 3 channels")
    p.add_argument("--data-dir", type=Path, default=None, help="folder holding MNIST files")
    p.add_argument(
        "--download",
        action="store_true",
        help="mnist/fashion-mnist: download into --data-dir if missing",
    )
    p.add_argument("--width", type=int, default=16, help="channels of the first conv layer")
    p.add_argument("--beta", type=float, default=0.5, help="VAE: weight of the KL term")
    p.add_argument("--noise", default=None, help="dae: KIND:LEVEL, gaussian:0.3 (default), "
                   "saltpepper:0.1, mask:0.25")  # fmt: skip
    p.add_argument("--temperature", type=float, default=None, help="simclr: NT-Xent (0.5)")
    p.add_argument("--margin", type=float, default=None,
                   help="siamese (1.0) and triplet (0.2): the distance margin")  # fmt: skip
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="most epochs to train (default: the kind's own, about two minutes on digits on "
        "2 cores; docs/objectives.md)",
    )
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--patience", type=int, default=d.patience, help="early-stop patience, epochs")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    normal = p.add_mutually_exclusive_group()
    normal.add_argument(
        "--normal-classes",
        type=_class_list,
        default=None,
        help="anomaly detection: train on these classes only, e.g. 0,1,2,3,4,5,6,7,8 "
        "(docs/anomaly.md)",
    )
    normal.add_argument(
        "--exclude-classes",
        type=_class_list,
        default=None,
        help="anomaly detection: train on every class but these, e.g. 9",
    )


def _class_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        fill_from_env(args)
        return int(COMMANDS[args.command](args) or 0)
    except LatentExplorerError as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            message = (
                f"no space left on the device while writing {exc.filename or 'files'}; "
                "nothing was half-written, free some space and run again"
            )
        else:
            message = f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc)
        print(f"error: {message}", file=sys.stderr)  # noqa: T201
        return 2
    except KeyboardInterrupt:
        return 130


def fill_from_env(args: argparse.Namespace) -> None:
    """Flags left unset take the LATENT_EXPLORER_* environment, then the defaults."""
    from app.config import Settings

    env = Settings.from_env()
    if getattr(args, "workspace", None) is None:
        args.workspace = env.workspace
    if hasattr(args, "device") and args.device is None:
        args.device = env.device
    if hasattr(args, "trust_code") and args.trust_code is None:
        args.trust_code = env.trust_code


def _runtime(args: argparse.Namespace) -> torch.device:
    from models.device import set_up_torch

    return set_up_torch(args.device, args.threads)


def cmd_train(args: argparse.Namespace) -> int:
    from app.services.training import TrainRequest, train_model
    from models.registry import architecture
    from models.training import TrainConfig

    device = _runtime(args)
    request = TrainRequest(
        dataset=args.dataset,
        architecture=args.architecture,
        latent_dim=args.latent_dim,
        image_size=args.image_size,
        channels=args.channels,
        size=args.size,
        colour=args.colour,
        data_dir=args.data_dir,
        download=args.download,
        width=args.width,
        beta=args.beta,
        name=args.name,
        options={
            key: getattr(args, key)
            for key in ("noise", "temperature", "margin")
            if getattr(args, key) is not None
        },
        normal_classes=args.normal_classes,
        exclude_classes=args.exclude_classes,
        train=TrainConfig(
            epochs=args.epochs
            if args.epochs is not None
            else architecture(args.architecture).default_epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            seed=args.seed,
            patience=args.patience,
            progress=not args.no_progress,
        ),
    )
    folder, index = train_model(request, args.workspace, device, build_index=not args.no_index)
    log.info("model written to %s", folder)
    if index is not None:
        log.info("quality: %s", json.dumps(index.quality))
    return 0


def cmd_index(args: argparse.Namespace) -> int:
    from app.index.ensure import ensure_index
    from app.index.fitting import IndexParams
    from app.workspace import list_models, model_dir
    from models.errors import ConfigError
    from models.registry import load_checkpoint

    device = _runtime(args)
    names = [args.model] if args.model else list_models(args.workspace)
    if not names:
        raise ConfigError(
            f"{args.workspace}: no models found (train one with `latent-explorer train`)"
        )
    for name in names:
        folder = model_dir(args.workspace, name)
        model, info = load_checkpoint(folder, device, trust_code=args.trust_code)
        if args.engine == "ray":
            index, built = _ray_index(args, folder, info)
        else:
            index, built = ensure_index(
                folder, model, info, IndexParams(), device,
                force=args.force, check_data=True, progress=not args.no_progress,
            )  # fmt: skip
        if not built:
            log.info("%s: index is up to date (cached)", name)
            continue
        log.info(
            "%s: index built in %.1fs: %s",
            name,
            sum(index.timings.values()),
            json.dumps(index.quality),
        )
    return 0


def _ray_index(
    args: argparse.Namespace, folder: Path, info: CheckpointInfo
) -> tuple[LatentIndex, bool]:
    from app.index.fitting import IndexParams
    from app.index.ray_encode import RayOptions, ray_index

    options = RayOptions(address=args.ray_address, shards=args.ray_shards)
    return ray_index(
        folder, info, IndexParams(), options, trust_code=args.trust_code, force=args.force
    )


def cmd_info(args: argparse.Namespace) -> int:
    from app.index.store import read_manifest
    from app.services.quality_report import quality_lines
    from app.workspace import index_dir, list_models
    from models.checkpoint import read_info

    for name in list_models(args.workspace):
        folder = args.workspace / name
        info = read_info(folder)
        manifest = read_manifest(index_dir(folder)) or {}
        quality = manifest.get("quality")
        if args.json:
            entry = {
                "name": name,
                "architecture": info.architecture,
                "args": info.args,
                "dataset": info.dataset,
                "quality": quality,
            }
            print(json.dumps(entry))  # noqa: T201  (the command's output)
            continue
        n_items = quality.get("n_items", "?") if quality else "?"
        head = (
            f"{name}: {info.architecture} · {info.dataset.get('spec', 'dataset')} · "
            f"{n_items} items · latent {info.args.get('latent_dim', '?')}"
        )
        print("\n".join([head, *quality_lines(quality)]))  # noqa: T201  (the command's output)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.config import Settings
    from app.main import create_app

    settings = Settings.from_env(
        workspace=args.workspace,
        host=args.host,
        port=args.port,
        device=args.device,
        threads=args.threads,
        models=tuple(args.models) if args.models else None,
        max_inflight=args.max_inflight,
        token=args.token,
        trust_code=args.trust_code,
    )
    _runtime(args)  # validate the device before the server starts
    if (warning := exposure_warning(settings.host, settings.port, settings.token)) is not None:
        print(warning, file=sys.stderr)  # noqa: T201  (before uvicorn's own start-up lines)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        timeout_graceful_shutdown=3,
        # The drag stream is the only WebSocket and its frames are PNG, compressed already:
        # deflating them took 7.6% of the server's CPU under 30 streams (issue 18's profile).
        ws_per_message_deflate=False,
    )
    return 0


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def exposure_warning(host: str, port: int, token: str | None) -> str | None:
    """The warning to print when the server listens beyond this machine; None on loopback."""
    if is_loopback(host):
        return None
    where = f"{host}:{port} is reachable from other machines"
    if token is None:
        return (
            f"warning: {where}, and no access token is set: anyone who can reach it can use "
            "it. Set LATENT_EXPLORER_TOKEN (or --token), or bind --host 127.0.0.1."
        )
    return (
        f"warning: {where}; every request must carry the access token. The traffic, token "
        "included, is plain HTTP: put the server behind TLS if the network is not trusted."
    )


def cmd_run(args: argparse.Namespace) -> int:
    from app.services.training import TrainRequest, train_model
    from app.workspace import list_models

    if not list_models(args.workspace):
        log.info(
            "no model in %s yet: training the default digits VAE (about a minute)", args.workspace
        )
        train_model(TrainRequest(), args.workspace, _runtime(args))
    return cmd_serve(args)


def cmd_demo(args: argparse.Namespace) -> int:
    """Train every kind on digits where missing (app/cli_demo.py), then serve like ``run``."""
    prepare_from_args(args)
    return 0 if args.no_serve else cmd_serve(args)


COMMANDS = {
    "train": cmd_train,
    "index": cmd_index,
    "info": cmd_info,
    "import-embeddings": cmd_import_embeddings,
    "import-model": cmd_import_model,
    "export-onnx": cmd_export_onnx,
    "fit-decoder": cmd_fit_decoder,
    "serve": cmd_serve,
    "run": cmd_run,
    "demo": cmd_demo,
}
