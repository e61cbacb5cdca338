"""The ``onnx`` kind: an encoder (and optionally a decoder) as ONNX files, run by onnxruntime.

Folder layout (beside config.json, whose ``architecture`` is ``"onnx"``)::

    encoder.onnx    (B, C, H, W) float pixels -> (B, D) latents
    decoder.onnx    (B, D) -> (B, C, H, W); absent for an encoder-only model

``args`` in config.json: ``encoder`` and ``decoder`` (file names; ``decoder`` null when there
is none), ``files_sha256`` (file name -> SHA-256), ``pixel_range`` (the range the files work
in, [0, 1] unless the import said otherwise), ``image_shape``, ``latent_dim``.
``weights_sha256`` is the SHA-256 of the ``"name sha"`` lines of both files, so the index
cache key changes when either file does. No Python code comes with an ONNX file: it is a
graph of standard operators that onnxruntime runs.

Each file needs exactly one input; of several outputs the first is used (a VAE encoder's
``(mu, logvar)`` gives ``mu``). A fixed batch size in the file is served by running chunks
of that size, padding the last.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.base import LatentModel
from models.checkpoint import CheckpointInfo, verify_file
from models.errors import CheckpointError, ConfigError, ModelCodeError
from models.imported import (
    ImportedConfig,
    check_images,
    check_latents,
    from_model_range,
    one_line,
    to_model_range,
)

ENCODER_FILE = "encoder.onnx"
DECODER_FILE = "decoder.onnx"
INPUTS = {4: "an encoder takes (batch, C, H, W) images", 2: "a decoder takes (batch, D) latents"}
DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64}


def files_digest(files_sha256: dict[str, str]) -> str:
    """One hash for the index cache key, from each file's hash."""
    lines = "".join(f"{name} {sha}\n" for name, sha in sorted(files_sha256.items()))
    return hashlib.sha256(lines.encode()).hexdigest()


def providers_for(device: torch.device | str) -> list[str]:
    """CUDA first when the model is to run on a GPU and this onnxruntime has it; CPU always."""
    import onnxruntime as ort

    wanted = ["CPUExecutionProvider"]
    if torch.device(device).type == "cuda" and "CUDAExecutionProvider" in (
        ort.get_available_providers()
    ):
        wanted.insert(0, "CUDAExecutionProvider")
    return wanted


def external_data(path: Path) -> list[str]:
    """The files an ONNX model keeps its initializers in, besides itself (sorted; [] for a
    self-contained file or one onnx cannot parse, which onnxruntime then names)."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception:  # not ONNX at all: the session below says so in its own words
        return []
    return sorted(
        {
            entry.value
            for tensor in model.graph.initializer
            if tensor.data_location == onnx.TensorProto.EXTERNAL
            for entry in tensor.external_data
            if entry.key == "location"
        }
    )


class OnnxRunner:
    """One ONNX file in an onnxruntime session, checked to have the expected input rank."""

    def __init__(self, path: Path, rank: int, providers: list[str]) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        if not self.path.is_file():
            raise ConfigError(f"{self.path}: no such file")
        if external := external_data(self.path):
            raise ConfigError(
                f"{self.path}: its weights live in other files ({', '.join(external)}), which "
                "an import does not copy; re-save it with every tensor inside the .onnx file "
                "(onnx.save_model(model, path, save_as_external_data=False))"
            )
        options = ort.SessionOptions()
        # Explicit threads, like torch's (models/device.py); ORT would otherwise take all cores.
        options.intra_op_num_threads = torch.get_num_threads()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: its warnings would bypass our one-liners
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/... types
            raise CheckpointError(
                f"{self.path}: not a readable ONNX model ({one_line(str(exc), 200)})"
            ) from None
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            names = ", ".join(f"{i.name} {i.shape}" for i in inputs)
            raise ModelCodeError(f"{self.path}: needs exactly one input, it has {names}")
        self.input = inputs[0].name
        self.input_shape: list[Any] = list(inputs[0].shape)  # ints, or names for dynamic dims
        if len(self.input_shape) != rank:
            raise ModelCodeError(
                f"{self.path}: input {self.input!r} has shape {self.input_shape}; {INPUTS[rank]}"
            )
        if inputs[0].type not in DTYPES:
            raise ModelCodeError(
                f"{self.path}: input {self.input!r} is {inputs[0].type}; "
                f"float32, float16 or float64 is needed"
            )
        self.dtype = DTYPES[inputs[0].type]
        batch = self.input_shape[0]
        self.fixed_batch = batch if isinstance(batch, int) and batch > 0 else None

    def check_input(self, tail: tuple[int, ...], what: str) -> None:
        """Fixed sizes declared in the file must agree with ``tail`` (all but the batch)."""
        for declared, wanted in zip(self.input_shape[1:], tail, strict=True):
            if isinstance(declared, int) and declared > 0 and declared != wanted:
                raise ModelCodeError(
                    f"{self.path}: input {self.input!r} has shape {self.input_shape}, "
                    f"but {what} are {tuple(tail)}"
                )

    def run(self, x: np.ndarray) -> np.ndarray:
        """The first output for ``x`` (batch first), in chunks when the batch size is fixed."""
        x = np.ascontiguousarray(x, dtype=self.dtype)
        step = self.fixed_batch
        if step is None:
            return self._run(x)
        parts = []
        for first in range(0, len(x), step):
            chunk = x[first : first + step]
            n = len(chunk)
            if n < step:  # pad to the file's batch size; the padding's outputs are dropped
                pad = np.zeros((step - n, *chunk.shape[1:]), dtype=chunk.dtype)
                chunk = np.concatenate([chunk, pad])
            parts.append(self._run(chunk)[:n])
        return np.concatenate(parts)

    def _run(self, x: np.ndarray) -> np.ndarray:
        try:
            out = self.session.run(None, {self.input: x})[0]
        except Exception as exc:  # onnxruntime's own error types
            raise ModelCodeError(
                f"{self.path}: onnxruntime failed on an input of shape {x.shape}: "
                f"{one_line(str(exc), 200)}"
            ) from None
        return np.asarray(out)


@dataclass
class OnnxConfig(ImportedConfig):
    """``args`` of an onnx model."""

    encoder: str = ENCODER_FILE
    decoder: str | None = DECODER_FILE
    files_sha256: dict[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        super().validate()
        # Only the two fixed names: a config.json cannot point the loader outside its folder.
        if self.encoder != ENCODER_FILE or self.decoder not in (DECODER_FILE, None):
            raise ConfigError(
                f"encoder/decoder must be {ENCODER_FILE!r} and {DECODER_FILE!r} (or null), "
                f"got {self.encoder!r} and {self.decoder!r}"
            )


class OnnxModel(LatentModel):
    """``LatentModel`` around onnxruntime sessions; tensors go through numpy on the CPU side."""

    name = "onnx"
    config_class = OnnxConfig
    config: OnnxConfig

    def __init__(self, config: OnnxConfig, encoder: OnnxRunner, decoder: OnnxRunner | None):
        super().__init__(config)
        self.encoder = encoder
        self.decoder = decoder

    @classmethod
    def load(cls, folder: Path, info: CheckpointInfo, device: torch.device | str) -> LatentModel:
        """Check each file against its recorded SHA-256, then open onnxruntime sessions."""
        config = OnnxConfig.from_checkpoint(folder, info)
        for name in filter(None, (config.encoder, config.decoder)):
            sha = config.files_sha256.get(name)
            verify_file(folder / name, sha, "config.json names it", "import")
        decoder = folder / config.decoder if config.decoder else None
        return cls(config, *open_runners(folder / config.encoder, decoder, device))

    @property
    def can_decode(self) -> bool:
        return self.decoder is not None

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        pixels = to_model_range(x, self.config.pixel_range).detach().cpu().numpy()
        out = torch.from_numpy(self.encoder.run(pixels)).to(x.device, torch.float32)  # (B, D)
        check_latents(out, len(x), f"{self.encoder.path}: the encoder", self.latent_dim)
        return out

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        if self.decoder is None:
            raise ConfigError("this ONNX model was imported without a decoder")
        y = self.decoder.run(z.detach().cpu().numpy())
        out = torch.from_numpy(y).to(z.device, torch.float32)  # (B, C, H, W)
        check_images(out, len(z), self.image_shape, f"{self.decoder.path}: the decoder")
        return from_model_range(out, self.config.pixel_range)


def open_runners(
    encoder: Path, decoder: Path | None, device: torch.device | str
) -> tuple[OnnxRunner, OnnxRunner | None]:
    """Sessions for the files; the encoder takes (B, C, H, W), the decoder (B, D)."""
    providers = providers_for(device)
    enc = OnnxRunner(encoder, 4, providers)
    dec = OnnxRunner(decoder, 2, providers) if decoder is not None else None
    return enc, dec
