"""``latent-explorer import-model``, ``export-onnx`` and ``import-embeddings``: models trained
elsewhere, in and out, and precomputed embeddings in.

    latent-explorer import-model --class mypkg.vae:MyVAE --weights model.safetensors \\
        [--config args.json] --dataset digits [--encode-method encode] \\
        [--decode-method decode | --no-decoder] [--pixel-range -1 1] [--name NAME]
    latent-explorer import-model --encoder-onnx enc.onnx [--decoder-onnx dec.onnx] --dataset digits
    latent-explorer export-onnx --model NAME --out DIR

Kept apart from app/cli.py (which registers them) so that file stays small; heavy imports
happen inside the commands, as there.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from models.errors import ConfigError

log = logging.getLogger("latent_explorer")

TRUST_HELP = (
    "load models imported with --class: import the Python code their config.json names "
    "(default: $LATENT_EXPLORER_TRUST_CODE; off: such models are reported, not loaded)"
)


def add_import_model(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``import-model`` and ``export-onnx`` subcommands."""
    p = sub.add_parser(
        "import-model",
        help="import your own PyTorch class (safetensors weights) or ONNX files as a model",
    )
    torch_group = p.add_argument_group("your own PyTorch class")
    torch_group.add_argument(
        "--class", dest="class_path", help="MODULE:CLASS, e.g. mypkg.vae:MyVAE"
    )
    torch_group.add_argument("--weights", type=Path, help="the state dict as .safetensors")
    torch_group.add_argument(
        "--config", type=Path, help="JSON object of keyword arguments for the class"
    )
    torch_group.add_argument("--encode-method", default=None, help="default: encode")
    decoder = torch_group.add_mutually_exclusive_group()
    decoder.add_argument("--decode-method", default=None, help="default: decode")
    decoder.add_argument("--no-decoder", action="store_true", help="import an encoder only")
    onnx_group = p.add_argument_group("exported ONNX files")
    onnx_group.add_argument("--encoder-onnx", type=Path, help="(B, C, H, W) -> (B, D)")
    onnx_group.add_argument("--decoder-onnx", type=Path, help="(B, D) -> (B, C, H, W)")
    p.add_argument(
        "--pixel-range",
        type=float,
        nargs=2,
        metavar=("LOW", "HIGH"),
        default=(0.0, 1.0),
        help="pixel range the model works in, e.g. -1 1 (default: 0 1)",
    )
    data = p.add_argument_group("the dataset to check and index it on (as for train)")
    data.add_argument("--dataset", required=True, help="digits | shapes | mnist | folder:PATH ...")
    data.add_argument("--image-size", type=int, default=32, help="square side in px, 8 to 64")
    data.add_argument("--channels", type=int, choices=(1, 3), default=None)
    data.add_argument("--size", type=int, default=None, help="items (a subset, or shapes made)")
    data.add_argument("--colour", action="store_true", help="shapes: coloured, 3 channels")
    data.add_argument("--data-dir", type=Path, default=None, help="folder holding MNIST files")
    data.add_argument("--seed", type=int, default=0)
    p.add_argument("--name", default=None, help="model folder name (default: DATASET-CLASS-D)")
    p.add_argument("--force", action="store_true", help="replace a model of the same name")
    p.add_argument("--workspace", type=Path, default=None)
    p.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default=None,
        help="where the index is built (default: $LATENT_EXPLORER_DEVICE or auto)",
    )
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")

    e = sub.add_parser(
        "export-onnx", help="export a model's encoder and decoder to ONNX, checked against torch"
    )
    e.add_argument("--model", required=True, help="model folder name in the workspace")
    e.add_argument("--out", type=Path, required=True, help="new or empty folder for the files")
    e.add_argument("--workspace", type=Path, default=None)
    e.add_argument("--trust-code", action="store_true", default=None, help=TRUST_HELP)


def _check_flags(args: argparse.Namespace) -> None:
    """One of the two sources, with only the flags that belong to it."""
    torch_flags = {
        "--weights": args.weights,
        "--config": args.config,
        "--encode-method": args.encode_method,
        "--decode-method": args.decode_method,
        "--no-decoder": args.no_decoder or None,
    }
    if args.class_path and args.encoder_onnx:
        raise ConfigError("give either --class (a PyTorch class) or --encoder-onnx, not both")
    if args.class_path:
        if args.weights is None:
            raise ConfigError("--class needs --weights (a .safetensors file of the state dict)")
        if args.decoder_onnx is not None:
            raise ConfigError("--decoder-onnx goes with --encoder-onnx, not with --class")
    elif args.encoder_onnx:
        given = [flag for flag, value in torch_flags.items() if value is not None]
        if given:
            raise ConfigError(f"{', '.join(given)} only apply to --class, not to ONNX files")
    else:
        raise ConfigError(
            "say what to import: --class MODULE:CLASS --weights FILE.safetensors, "
            "or --encoder-onnx FILE.onnx [--decoder-onnx FILE.onnx]"
        )


def cmd_import_model(args: argparse.Namespace) -> int:
    from app.services.model_import import (
        OnnxImport,
        PytorchImport,
        import_onnx,
        import_pytorch,
    )
    from models.data import DatasetSpec
    from models.device import set_up_torch

    _check_flags(args)
    device = set_up_torch(args.device, args.threads)
    dataset = DatasetSpec(
        spec=args.dataset,
        image_size=args.image_size,
        channels=args.channels,
        size=args.size,
        seed=args.seed,
        data_dir=args.data_dir,
        colour=args.colour,
    )
    pixel_range = (float(args.pixel_range[0]), float(args.pixel_range[1]))
    if args.class_path:
        result = import_pytorch(
            PytorchImport(
                class_path=args.class_path,
                weights=args.weights,
                dataset=dataset,
                config=args.config,
                encode_method=args.encode_method or "encode",
                decode_method=None if args.no_decoder else (args.decode_method or "decode"),
                pixel_range=pixel_range,
            ),
            args.workspace,
            device,
            name=args.name,
            overwrite=args.force,
        )
    else:
        result = import_onnx(
            OnnxImport(
                encoder=args.encoder_onnx,
                decoder=args.decoder_onnx,
                dataset=dataset,
                pixel_range=pixel_range,
            ),
            args.workspace,
            device,
            name=args.name,
            overwrite=args.force,
        )
    log.info("model written to %s", result.folder)
    log.info("quality: %s", json.dumps(result.index.quality))
    return 0


def cmd_export_onnx(args: argparse.Namespace) -> int:
    from app.services.model_import import export_model
    from models.device import configure_torch

    configure_torch(None)
    report = export_model(args.workspace, args.model, args.out, trust_code=args.trust_code)
    for name, diff in report.max_abs_difference.items():
        log.info("%s: onnxruntime agrees with torch to %.2g (max abs difference)", name, diff)
    log.info("ONNX files written to %s", report.folder)
    return 0


def add_import_embeddings(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "import-embeddings",
        help="import precomputed embeddings (.npy, .parquet, projector .tsv) as a workspace entry",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--vectors", type=Path, help=".npy, .parquet or projector vectors.tsv")
    source.add_argument(
        "--projector-config",
        type=Path,
        help="the Embedding Projector's projector_config.json: imports every tensor it lists "
        "(raw float32 .bytes of tensorShape), with its metadataPath and sprite",
    )
    p.add_argument("--tensor", help="--projector-config: import only the tensor of this name")
    p.add_argument("--metadata", type=Path, help="projector metadata.tsv, or .csv with a header")
    p.add_argument("--vector-column", help=".parquet: the list column holding the vectors")
    p.add_argument(
        "--label",
        help="metadata column whose values become the labels (default: the only column of a "
        "one-column metadata file)",
    )
    p.add_argument(
        "--numeric",
        action="append",
        default=[],
        metavar="COL",
        help="keep this metadata column as numbers (a column of whole numbers with at most "
        "50 distinct values is otherwise a category); repeatable",
    )
    p.add_argument(
        "--categorical",
        action="append",
        default=[],
        metavar="COL",
        help="make this metadata column a category whatever its values; repeatable",
    )
    p.add_argument("--name", help="entry name (default: the vectors file's name without suffix)")
    p.add_argument("--workspace", type=Path, default=None)
    p.add_argument("--force", action="store_true", help="replace an entry of the same name")
    images = p.add_mutually_exclusive_group()
    images.add_argument(
        "--image-column", help="metadata column of image paths (relative to the metadata file)"
    )
    images.add_argument("--sprite", type=Path, help="projector sprite sheet of the images")
    p.add_argument(
        "--sprite-size",
        type=int,
        nargs=2,
        metavar=("W", "H"),
        help="width and height in px of one sprite tile",
    )
    p.add_argument("--image-size", type=int, default=32, help="thumbnail side in px, 8 to 64")


def cmd_import_embeddings(args: argparse.Namespace) -> int:
    from app.services.embeddings import import_embeddings
    from app.services.projector_config import read_projector_config
    from app.services.vector_files import (
        VectorFiles,
        default_name,
        read_vector_files,
        safe_name,
    )
    from app.workspace import check_name

    files = VectorFiles(
        vectors=args.vectors or Path(),
        metadata=args.metadata,
        vector_column=args.vector_column,
        label=args.label,
        image_column=args.image_column,
        sprite=args.sprite,
        sprite_size=tuple(args.sprite_size) if args.sprite_size else None,
        image_size=args.image_size,
        numeric=tuple(args.numeric),
        categorical=tuple(args.categorical),
    )
    if args.projector_config is None:
        if args.tensor is not None:
            raise ConfigError("--tensor chooses a tensor of --projector-config")
        named = [(args.name or default_name(args.vectors), files)]
    else:
        given = [
            flag
            for flag, value in (("--metadata", args.metadata), ("--sprite", args.sprite))
            if value is not None
        ]
        if given:
            raise ConfigError(
                f"{', '.join(given)}: the projector config names each tensor's files; "
                "leave these out"
            )
        tensors = read_projector_config(args.projector_config, files, args.tensor)
        if args.name is not None and len(tensors) > 1:
            raise ConfigError(
                f"--name names one entry, and {args.projector_config} lists {len(tensors)} "
                "tensors: choose one with --tensor, or leave --name out (each is named "
                "after its tensorName)"
            )
        named = [(args.name or safe_name(t.name), t.files) for t in tensors]
    names = [check_name(name) for name, _ in named]  # before reading big files
    if len(set(names)) < len(names):
        raise ConfigError(f"two tensors would get the same entry name: {', '.join(names)}")
    for name, one in zip(names, (f for _, f in named), strict=True):
        request = read_vector_files(one)
        folder, index = import_embeddings(request, args.workspace, name, overwrite=args.force)
        log.info("%d embeddings of dimension %d written to %s", *index.latents.shape, folder)
        log.info("quality: %s", json.dumps(index.quality))
    return 0
