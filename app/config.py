"""All settings in one place: typed, defaulted, documented (README "Settings" lists each one).

Every field can be set by an environment variable ``LATENT_EXPLORER_<NAME>`` (upper case) and
the CLI's flags override those.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

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
    max_custom_attributes: int = Field(
        100,
        ge=0,
        description="Most attribute vectors users may define per model while the server runs "
        "(POST .../attributes); past it 409 too_many_attributes. They live in memory until "
        "the server restarts, so a cap keeps a client in a loop from filling it.",
    )
    topology_max_points: int = Field(
        2000,
        ge=3,
        le=20000,
        description="Most latents the persistent homology is computed on (a greedy subsample; "
        "GET .../topology). ripser's time grows steeply with it: about 2-10 s at 2,000 on 2 cores.",
    )
    max_inflight: int = Field(
        64, ge=1, description="Requests served at once; past it the server answers 503 at once."
    )
    ann_min_items: int = Field(
        200_000,
        ge=2,
        description="From this many items on, neighbour search is approximate (FAISS IVF, "
        "calibrated to recall@10 >= 0.97 at load); below it, exact.",
    )
    build_missing_index: bool = Field(
        True, description="Build a model's index at start-up when its cache is missing or stale."
    )
    trust_code: bool = Field(
        False,
        description="Load models imported with --class (architecture pytorch-class): their "
        "config.json names Python code, which is imported only when this is set.",
    )
    token: str | None = Field(
        None,
        repr=False,  # kept out of logs and tracebacks
        description="Access token: when set, every request and the WebSocket must carry it "
        "(Authorization: Bearer, the cookie the page sets, or ?token=). None: no check.",
    )

    @field_validator("token")
    @classmethod
    def _token_fits_a_header(cls, token: str | None) -> str | None:
        # Empty is refused rather than read as "no token": the user meant to set one.
        if token is not None and not re.fullmatch(r"[\x21-\x7e]+", token):
            raise ValueError(
                "the token must be one or more visible ASCII characters, no spaces "
                "(what an HTTP header can carry); e.g. python -c 'import secrets; "
                "print(secrets.token_urlsafe())'"
            )
        return token

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
