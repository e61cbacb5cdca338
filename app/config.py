"""All settings in one place: typed, defaulted, documented (README "Settings" lists each one).

Every field can be set by an environment variable ``LATENT_EXPLORER_<NAME>`` (upper case) and
the CLI's flags override those.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from models.errors import ConfigError

ENV_PREFIX = "LATENT_EXPLORER_"


class Settings(BaseModel):
    """Server and runtime settings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    workspace: Path = Field(Path("workspace"), description="Folder holding the model folders.")
    host: str = Field("127.0.0.1", description="Address the server listens on.")
    port: int = Field(8000, ge=0, le=65535, description="Port the server listens on.")
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="Where models run: auto takes CUDA when present."
    )
    threads: int = Field(
        1,
        ge=1,
        le=256,
        description="Torch CPU threads of the inference worker. One is as fast for the small "
        "batches a server decodes, and keeps the other cores for HTTP, PNG and numpy.",
    )
    models: tuple[str, ...] = Field(
        (), description="Model folders to load (comma-separated in the env var); empty: all."
    )
    max_upload_bytes: int = Field(
        10 * 1024 * 1024,
        ge=1024,
        description="Largest accepted upload body, in bytes (413 past it).",
    )
    max_image_pixels: int = Field(
        40_000_000,
        ge=64,
        description="Largest decoded image (width x height) accepted from an upload.",
    )
    max_batch_images: int = Field(
        16, ge=1, le=256, description="Most images accepted in one multipart upload."
    )
    max_inflight: int = Field(
        64, ge=1, description="Requests served at once; past it the server answers 503 at once."
    )
    build_missing_index: bool = Field(
        True, description="Build a model's index at start-up when its cache is missing or stale."
    )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``LATENT_EXPLORER_*`` variables, then explicit overrides."""
        environ = dict(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            raw = environ.get(ENV_PREFIX + name.upper())
            if raw is not None:
                values[name] = tuple(filter(None, raw.split(","))) if name == "models" else raw
        values |= {k: v for k, v in overrides.items() if v is not None}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"setting {field!r}: {first['msg']}") from None
