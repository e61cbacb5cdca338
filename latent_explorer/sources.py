"""``from_torch`` and ``from_embeddings``: what a notebook holds, as explorer entries."""

from __future__ import annotations

import inspect
import json
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from app.index.build import build_index
from app.index.fitting import IndexParams, content_sha256
from app.services.embeddings import EmbeddingsImport, import_embeddings
from app.services.loaded import LoadedModel
from app.services.model_import import write_model
from app.workspace import check_name, model_dir
from latent_explorer.entry import Entry
from latent_explorer.items import as_numpy, images_and_labels, item_columns
from latent_explorer.pair import CLASS_PATH
from models.base import ModelConfig
from models.checkpoint import WEIGHTS_FILE, CheckpointInfo, library_versions
from models.data.base import ImageSet
from models.data.stored import DATASET_FILE, stored_record, write_items
from models.embeddings import NO_IMAGES, EmbeddingsConfig, EmbeddingsModel, EmbeddingsSource
from models.errors import ConfigError, LatentExplorerError
from models.external import ExternalConfig, ExternalModel, import_class
from models.live import LiveModel

Fn = Callable[[torch.Tensor], torch.Tensor]
CPU = torch.device("cpu")


def _params(projections: Sequence[str] | None) -> IndexParams:
    return IndexParams() if projections is None else IndexParams(projections=tuple(projections))


def _loaded(name: str, model: Any, info: CheckpointInfo, index: Any) -> LoadedModel:
    """A LoadedModel that never flips oneDNN (a process-wide flag) away from the kernel's."""
    on = bool(torch.backends.mkldnn.enabled)
    loaded = LoadedModel(name, Path(f"<memory:{name}>"), model, info, index, CPU)
    loaded.encode_onednn_min_batch = 0 if on else 1 << 62
    loaded.decode_onednn = on
    return loaded


def _owner(fn: Any) -> tuple[nn.Module, str]:
    """The module and method name behind an encoder or decoder; ConfigError saying why not."""
    if isinstance(fn, nn.Module):
        return fn, "forward"
    if inspect.ismethod(fn) and isinstance(fn.__self__, nn.Module):
        return fn.__self__, fn.__name__
    raise ConfigError(f"{fn!r} is neither a torch.nn.Module nor a method of one")


def _class_path(module: nn.Module) -> tuple[str, dict[str, Any]]:
    """``module``'s importable class path and the keyword arguments that rebuild it (read
    from attributes named like ``__init__``'s parameters, then checked by rebuilding)."""
    cls = type(module)
    if cls.__module__ == "__main__" or "." in cls.__qualname__:
        raise ConfigError(
            f"class {cls.__qualname__} is defined in the notebook itself; move it to a .py "
            "file next to the notebook and import it from there"
        )
    path = f"{cls.__module__}:{cls.__qualname__}"
    if import_class(path) is not cls:
        raise ConfigError(f"importing {path} gives another class than the one in use")
    kwargs: dict[str, Any] = {}
    for p in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if hasattr(module, p.name):
            value = getattr(module, p.name)
            try:
                json.dumps(value)
            except TypeError:
                raise ConfigError(f"{path}: argument {p.name!r} is not JSON") from None
            kwargs[p.name] = value
        elif p.default is p.empty:
            raise ConfigError(f"{path}: cannot tell argument {p.name!r} from the instance")
    rebuilt = cls(**kwargs)
    if {k: v.shape for k, v in rebuilt.state_dict().items()} != {
        k: v.shape for k, v in module.state_dict().items()
    }:
        raise ConfigError(f"{path}(**{kwargs}) does not rebuild the same weights")
    return path, kwargs


def _pair_kwargs(encoder: Any, decoder: Any) -> dict[str, Any]:
    """TorchPair's arguments for this encoder and decoder; ConfigError saying why not."""
    enc, enc_method = _owner(encoder)
    enc_path, enc_kwargs = _class_path(enc)
    out: dict[str, Any] = {
        "encoder": enc_path, "encoder_method": enc_method, "encoder_kwargs": enc_kwargs,
    }  # fmt: skip
    if decoder is not None:
        dec, dec_method = _owner(decoder)
        out["decoder_method"] = dec_method
        out["shared"] = dec is enc
        out["decoder"], out["decoder_kwargs"] = (
            (enc_path, enc_kwargs) if dec is enc else _class_path(dec)
        )
    return out


def _state(encoder: Any, decoder: Any, kwargs: dict[str, Any]) -> dict[str, torch.Tensor]:
    """TorchPair's state dict, from the live modules."""
    state = {f"encoder.{k}": v for k, v in _owner(encoder)[0].state_dict().items()}
    if decoder is not None and not kwargs["shared"]:
        state |= {f"decoder.{k}": v for k, v in _owner(decoder)[0].state_dict().items()}
    return {k: v.detach().to("cpu").contiguous() for k, v in state.items()}


def from_torch(
    encoder: Fn,
    decoder: Fn | None = None,
    *,
    images: Any,
    labels: Any = None,
    metadata: Any = None,
    name: str = "notebook",
    projections: Sequence[str] | None = None,
) -> Entry:
    """An entry from a live encoder (and decoder) and the items to map.

    encoder: (B, C, H, W) float32 in [0, 1] -> (B, D); a ``torch.nn.Module``, a method of
             one (``ae.encode``), or any callable; a tuple's element 0 is taken (a VAE's mu)
    decoder: (B, D) -> (B, C, H, W) in [0, 1], or None
    images:  (N, C, H, W) or (N, H, W), uint8 or floats in [0, 1], tensor or array, or a
             torchvision-style dataset of (image, label) pairs (its labels are used)
    projections: the maps to fit (default: all; ``["pca"]`` is the fastest)

    Modules are put in eval mode. ``entry.save(workspace)`` stores it when the classes can be
    imported again (``pytorch-class``, loaded only with ``trust_code``); otherwise the entry
    lives as long as this process and ``save`` says why it cannot be stored.

    >>> entry = lx.from_torch(ae.encode, ae.decode, images=x_test, labels=y_test)
    """
    name = check_name(name)
    pixels, dataset_labels = images_and_labels(images)
    items = item_columns(len(pixels), labels if labels is not None else dataset_labels,
                         metadata, pixels)  # fmt: skip
    for fn in (encoder, decoder):
        if isinstance(fn, nn.Module):
            fn.eval()
        elif inspect.ismethod(fn) and isinstance(fn.__self__, nn.Module):
            fn.__self__.eval()
    with torch.inference_mode():
        probe = torch.from_numpy(pixels[:2]).float().div_(255)
        z = encoder(probe)
        dim = int((z[0] if isinstance(z, tuple | list) else z).shape[-1])
    config = ModelConfig(image_shape=tuple(pixels.shape[1:]), latent_dim=dim)
    model = LiveModel(config, encoder, decoder)
    record = {"spec": "python", "n_items": len(pixels), "image_size": int(pixels.shape[-1])}
    data = ImageSet(name="python", items=items)
    info = CheckpointInfo(
        architecture=LiveModel.name, args=config.to_dict(), dataset=record,
        versions=library_versions(),
        weights_sha256=content_sha256(pixels, items.labels, items.metadata),
    )  # fmt: skip
    with torch.inference_mode():
        index = build_index(model, info, data, _params(projections), CPU)
    try:
        kwargs = _pair_kwargs(encoder, decoder)
    except (ConfigError, LatentExplorerError) as exc:
        return Entry(_loaded(name, model, info, index), stored=False, saver=None, why_not=str(exc))

    def save(workspace: Path, as_name: str, overwrite: bool) -> Path:
        return _save_torch(workspace, as_name, overwrite, encoder, decoder, kwargs, config, data)

    return Entry(_loaded(name, model, info, index), stored=False, saver=save)


def _save_torch(
    workspace: Path, name: str, overwrite: bool, encoder: Any, decoder: Any,
    kwargs: dict[str, Any], config: ModelConfig, data: ImageSet,
) -> Path:  # fmt: skip
    """Write the pair as a pytorch-class folder with its index, checked by loading it back."""
    from safetensors.torch import save_file

    from models.checkpoint import sha256_file

    folder = model_dir(workspace, name)
    if folder.exists() and not overwrite:
        raise ConfigError(f"{folder} already exists: choose another name or pass overwrite=True")
    external = ExternalConfig(
        image_shape=config.image_shape, latent_dim=config.latent_dim, class_path=CLASS_PATH,
        kwargs=kwargs, encode_method="encode",
        decode_method="decode" if decoder is not None else None,
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / WEIGHTS_FILE
        save_file(_state(encoder, decoder, kwargs), str(weights))
        items = Path(tmp) / DATASET_FILE  # kept, so `latent-explorer index` can encode them again
        write_items(data, items)
        info = CheckpointInfo(
            architecture=ExternalModel.name, args=external.to_dict(),
            dataset=stored_record(data),
            training={"imported": {"from": "latent_explorer.from_torch"}},
            versions=library_versions(), weights_sha256=sha256_file(weights),
        )  # fmt: skip
        workspace.mkdir(parents=True, exist_ok=True)
        files = {WEIGHTS_FILE: weights, DATASET_FILE: items}
        write_model(folder, info, files, data, CPU, IndexParams())
    return folder


def from_embeddings(
    vectors: Any,
    images: Any = None,
    labels: Any = None,
    metadata: Any = None,
    *,
    name: str = "embeddings",
    projections: Sequence[str] | None = None,
) -> Entry:
    """An entry from vectors you already have: a (N, D) numpy array, tensor, or a pandas or
    polars data frame of numeric columns; ``images`` and ``labels`` as for ``from_torch``,
    ``metadata`` a mapping of columns or a data frame. ``entry.save(workspace)`` stores it
    (as ``import-embeddings`` would).

    >>> entry = lx.from_embeddings(clip_vectors, labels=df["species"], metadata=df)
    """
    name = check_name(name)
    array = as_numpy(vectors, "vectors").astype(np.float32)
    pixels = images_and_labels(images)[0] if images is not None else None
    items = item_columns(len(array), labels, metadata, pixels)
    source = EmbeddingsSource(
        vectors=array, item_names=items.item_names, labels=items.labels,
        metadata=items.metadata, images=pixels,
    )  # fmt: skip
    source.check()
    shape = tuple(pixels.shape[1:]) if pixels is not None else NO_IMAGES
    config = EmbeddingsConfig(image_shape=shape, latent_dim=array.shape[1])
    info = CheckpointInfo(
        architecture=EmbeddingsModel.name, args=config.to_dict(),
        dataset={"spec": "embeddings", "n_items": len(array), "label_field": items.label_field,
                 "label_names": list(items.label_names), "has_images": pixels is not None},
        weights_sha256=content_sha256(array, items.labels, items.metadata),
    )  # fmt: skip
    from app.index.fitting import cache_key, index_latents

    params = _params(projections)
    index = index_latents(
        items.encoded(array, None), params, key=cache_key(info, params),
        data_sha256=info.weights_sha256,
    )  # fmt: skip

    def save(workspace: Path, as_name: str, overwrite: bool) -> Path:
        request = EmbeddingsImport(source=source, label_field=items.label_field,
                                   described_as={"files": {"from": "latent_explorer"}})  # fmt: skip
        return import_embeddings(request, workspace, as_name, overwrite=overwrite)[0]

    model = EmbeddingsModel(config)
    return Entry(_loaded(name, model, info, index), stored=False, saver=save)
