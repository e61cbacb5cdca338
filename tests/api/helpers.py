"""Assertions and the in-process app shared by the API tests."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from fastapi.testclient import TestClient
from PIL import Image

from app.config import Settings
from app.main import create_app

DATA_URL = "data:image/png;base64,"


@contextmanager
def serving(workspace: Path) -> Iterator[TestClient]:
    """An in-process client of an app serving ``workspace`` on the CPU (lifespan run)."""
    with TestClient(create_app(Settings(workspace=workspace, device="cpu", threads=2))) as client:
        yield client


def png_pixels(data: str | bytes, size: tuple[int, int] = (16, 16)) -> np.ndarray:
    """Open a PNG (bytes or a data URL) with Pillow, check it is a grey image of ``size``
    (width, height), and return its pixels (H, W) uint8."""
    if isinstance(data, str):
        assert data.startswith(DATA_URL), data[:40]
        data = base64.b64decode(data[len(DATA_URL) :], validate=True)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        assert image.mode == "L"
        assert image.size == size
        return np.asarray(image).copy()


def encode_file(array: np.ndarray, fmt: str = "PNG", **save_args: Any) -> bytes:
    """An (H, W) uint8 array (or a Pillow image) saved as ``fmt``."""
    image = array if isinstance(array, Image.Image) else Image.fromarray(array)
    out = io.BytesIO()
    image.save(out, fmt, **save_args)
    return out.getvalue()


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> str:
    """The response is the API's one error shape with this status (and code); returns the
    message."""
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"], body
    error = body["error"]
    assert set(error) == {"status", "code", "message"}, error
    assert error["status"] == status
    assert isinstance(error["code"], str) and error["code"]
    if code is not None:
        assert error["code"] == code, error
    assert isinstance(error["message"], str) and len(error["message"]) >= 10, error
    return str(error["message"])


def brute_force_neighbours(
    latents: np.ndarray, query: np.ndarray, k: int, metric: str, exclude: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Every distance in float64, sorted by (distance, id): the answer exact search must give."""
    z, q = latents.astype(np.float64), np.asarray(query, dtype=np.float64)
    if metric == "cosine":
        cos = (z @ q) / (np.linalg.norm(z, axis=1) * np.linalg.norm(q))
        dist = 1.0 - cos
    else:
        dist = np.sqrt(((z - q) ** 2).sum(axis=1))
    if exclude is not None:
        dist[exclude] = np.inf
    order = np.lexsort((np.arange(len(z)), dist))[:k]
    return order, dist[order]
