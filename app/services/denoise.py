"""The denoising demo: one clean image (a dataset item or an upload), corrupted with seeded
noise of a kind the dae knows (models/objectives/corrupt.py), then given to a denoising
autoencoder and to a plain autoencoder; each result's PSNR against the clean image.

Every image is rounded to 8 bits before it is used or scored, exactly as the answer's PNGs
carry it: the models see the corrupted image the page shows, and a PSNR recomputed from the
returned PNGs is the one reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from app.services.compare import check_aligned
from app.services.images import load_upload, to_uint8
from app.services.inference import InferenceWorker
from app.services.loaded import LoadedModel, ModelStore
from app.services.nearest import require_decoder, require_encoder, require_images
from app.services.refs import parse_item
from models.decoder_fit import psnr
from models.errors import ConflictError, InvalidInputError, LatentExplorerError
from models.objectives.corrupt import KINDS, Corruption

DAE_KIND = "dae"
AE_KIND = "ae"


@dataclass
class DenoiseRequest:
    kind: str = "gaussian"
    level: float = 0.3  # the dae's own training noise by default (models/dae.py)
    seed: int = 0
    item: str | None = None  # an item id of ``model`` as sent (the dae's items: they align)
    upload: bytes | None = None
    filename: str | None = None
    model: str | None = None  # the model the page shows; its dae and ae are the defaults
    dae: str | None = None
    ae: str | None = None


@dataclass
class Denoised:
    dae: str
    ae: str
    item: int | None
    noise: Corruption
    seed: int
    clean: np.ndarray  # (C, H, W) uint8, as every image below
    corrupted: np.ndarray
    dae_output: np.ndarray
    ae_output: np.ndarray

    def psnr(self, image: np.ndarray) -> float:
        """dB of ``image`` against the clean image, both read as 8-bit pixels in [0, 1]."""
        diff = image.astype(np.float64) / 255.0 - self.clean.astype(np.float64) / 255.0
        return psnr(float(np.mean(diff**2)))


def noise_choices() -> list[dict[str, str]]:
    """The noise kinds as {name, help}: the panel's choices."""
    return [{"name": name, "help": text} for name, text in KINDS.items()]


def parse_noise(kind: str, level: float) -> Corruption:
    """422 ``bad_noise`` naming the allowed kinds or range."""
    try:
        return Corruption(kind.strip().lower(), level)
    except LatentExplorerError as exc:
        raise InvalidInputError(str(exc), code="bad_noise") from None


def pick_models(store: ModelStore, request: DenoiseRequest) -> tuple[LoadedModel, LoadedModel]:
    """The dae and the plain AE: the named ones, else the first loaded of each kind on the
    items of ``request.model`` (for an upload, any dae when none is) and on the dae's. 409
    naming what is missing or unfit."""
    shown = store.get(request.model) if request.model else None
    if request.dae:
        dae = store.get(request.dae)
        if dae.info.architecture != DAE_KIND:
            raise ConflictError(
                f"model {dae.name!r} is a {dae.info.architecture}, not a dae: name a denoising "
                f"autoencoder ({_listing(store, DAE_KIND)})",
                code="not_a_dae",
            )
    elif request.item is None and shown is not None:  # an upload: a dae on other items will do
        dae = _first(store, DAE_KIND, shown, "no_dae", "--model dae", fallback=True)
    else:
        dae = _first(store, DAE_KIND, shown, "no_dae", "--model dae")
    ae = store.get(request.ae) if request.ae else _first(store, AE_KIND, dae, "no_ae", "--model ae")
    for m in (dae, ae):
        require_encoder(m)
        require_decoder(m, "a denoised image")
    check_aligned(dae.name, dae.index, ae.name, ae.index)
    if shown is not None and request.item is not None:
        check_aligned(shown.name, shown.index, dae.name, dae.index)
    if ae.image_shape != dae.image_shape:
        raise ConflictError(
            f"models {dae.name!r} and {ae.name!r} take images of different shapes "
            f"({dae.image_shape} and {ae.image_shape}): train both at one image size",
            code="not_comparable",
        )
    return dae, ae


def _first(
    store: ModelStore,
    kind: str,
    near: LoadedModel | None,
    code: str,
    flag: str,
    *,
    fallback: bool = False,
) -> LoadedModel:
    """The first loaded model of ``kind`` on the items of ``near`` (any, when ``near`` is None;
    with ``fallback``, any when none is on those items)."""
    if fallback:
        try:
            return _first(store, kind, near, code, flag)
        except ConflictError:
            return _first(store, kind, None, code, flag)
    for m in store.models.values():
        if m.info.architecture != kind:
            continue
        if near is None or m is near:
            return m
        try:
            check_aligned(near.name, near.index, m.name, m.index)
        except ConflictError:
            continue
        return m
    where = f" on the items of {near.name!r}" if near is not None else ""
    raise ConflictError(
        f"no {kind} model is loaded{where}: the denoising demo compares a dae with a plain ae "
        f"on the same items. Train one with `latent-explorer train --dataset DATASET {flag}` "
        "(or all of them on digits with `latent-explorer demo`), or name one with "
        f"{kind}=NAME ({kind} models loaded: {_listing(store, kind)})",
        code=code,
    )


def _listing(store: ModelStore, kind: str) -> str:
    return ", ".join(n for n, m in store.models.items() if m.info.architecture == kind) or "none"


def clean_image(
    dae: LoadedModel, request: DenoiseRequest, max_pixels: int
) -> tuple[np.ndarray, int | None]:
    """(C, H, W) uint8: the item's stored image, or the upload as the dae sees it; and the
    item's id (None for an upload)."""
    if (request.item is None) == (request.upload is None):
        raise InvalidInputError(
            "give exactly one image to corrupt: an item id (item) or an uploaded file (file)",
            code="bad_source",
        )
    if request.item is not None:
        item = parse_item(dae, request.item)
        return np.asarray(require_images(dae)[item]), item
    assert request.upload is not None  # for mypy: checked just above
    x = load_upload(
        request.upload,
        image_shape=dae.image_shape,
        max_pixels=max_pixels,
        background=dae.background,
        filename=request.filename,
    )  # (C, H, W) float in [0, 1]
    return to_uint8(x), None


def corrupt(clean: np.ndarray, noise: Corruption, seed: int) -> np.ndarray:
    """(C, H, W) uint8 -> the corrupted copy, uint8; the same seed draws the same noise."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(clean.astype(np.float32) / 255.0)[None]  # (1, C, H, W)
    return to_uint8(noise(x, generator)[0].numpy())


async def denoise(
    worker: InferenceWorker, store: ModelStore, request: DenoiseRequest, *, max_pixels: int
) -> Denoised:
    """The demo's four images: clean, corrupted, the dae's output and the plain AE's."""
    noise = parse_noise(request.kind, request.level)
    dae, ae = pick_models(store, request)

    def run() -> Denoised:
        clean, item = clean_image(dae, request, max_pixels)
        noisy = corrupt(clean, noise, request.seed)
        x = noisy[None].astype(np.float32) / 255.0  # (1, C, H, W), what both models see
        outputs = [to_uint8(m.decode(m.encode(x))[0]) for m in (dae, ae)]
        return Denoised(dae.name, ae.name, item, noise, request.seed, clean, noisy, *outputs)

    return await worker.run(run)
