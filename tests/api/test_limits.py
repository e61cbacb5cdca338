"""Request body limits (with and without Content-Length) and the in-flight request cap."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator

import httpx
import numpy as np
import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from app.config import Settings
from app.deps import get_explorer
from app.main import create_app
from app.services.explorer import Explorer
from tests.api.helpers import assert_error, encode_file, png_pixels

LIMIT = 2_000_000  # the session settings' max_upload_bytes


def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    """``total`` bytes in pieces: httpx sends a generator body chunked, with no Content-Length."""
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        sent += piece
        yield b" " * piece


def test_an_upload_over_the_limit_is_413_from_its_content_length(
    client: TestClient, api: str, settings: Settings
) -> None:
    assert settings.max_upload_bytes == LIMIT
    files = {"file": ("big.png", b"\x89PNG" + b"\x00" * LIMIT)}
    response = client.post(f"{api}/encode", files=files)
    message = assert_error(response, 413, "payload_too_large")
    assert "2,000,000 bytes" in message


def test_a_chunked_upload_over_the_limit_is_413_without_a_content_length(
    client: TestClient, api: str
) -> None:
    boundary = "limit-test"
    head = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=file; filename=big.png\r\n"
        "Content-Type: image/png\r\n\r\n"
    ).encode()

    def body() -> Iterator[bytes]:
        yield head
        yield from chunks(LIMIT + 1)
        yield f"\r\n--{boundary}--\r\n".encode()

    request = client.build_request(
        "POST",
        f"{api}/encode",
        content=body(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert "content-length" not in request.headers
    assert request.headers["transfer-encoding"] == "chunked"
    message = assert_error(client.send(request), 413, "payload_too_large")
    assert "2,000,000 bytes" in message
    assert client.post(f"{api}/decode", json={"id": 1}).status_code == 200


def test_a_chunked_json_body_over_the_limit_is_413(client: TestClient, api: str) -> None:
    response = client.post(
        f"{api}/decode", content=chunks(LIMIT + 1), headers={"content-type": "application/json"}
    )
    assert_error(response, 413, "payload_too_large")


def test_a_chunked_body_under_the_limit_is_served(client: TestClient, api: str) -> None:
    payload = json.dumps({"latent": [0.0, 0.0, 0.0, 0.0]}).encode()

    def body() -> Iterator[bytes]:
        yield payload[:5]
        yield payload[5:]

    response = client.post(
        f"{api}/decode", content=body(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    assert response.json()["latent"] == [0.0, 0.0, 0.0, 0.0]


def test_a_body_streamed_in_many_messages_is_cut_off_at_the_limit(
    client: TestClient, api: str
) -> None:
    """httpx's ASGI transport hands the app one message per chunk, as a real server does; the
    app must stop reading once the limit is passed instead of taking the whole body."""
    read = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal read
        for piece in chunks(4 * LIMIT):
            read += len(piece)
            yield piece

    async def post() -> httpx.Response:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await http.post(
                f"{api}/decode", content=body(), headers={"content-type": "application/json"}
            )

    response = asyncio.run(post())
    assert_error(response, 413, "payload_too_large")
    assert LIMIT < read < LIMIT + 2 * 64 * 1024  # stopped within a chunk or so of the limit


def test_an_image_just_under_the_limit_is_accepted(client: TestClient, api: str) -> None:
    # A photo-sized PNG (~1.5 MB of noise): accepted, and averaged down to the model's 16 x 16.
    noise = np.random.default_rng(1).integers(0, 256, (1200, 1200), dtype=np.uint8)
    data = encode_file(noise, compress_level=1)
    assert 1_000_000 < len(data) < LIMIT
    response = client.post(f"{api}/encode", files={"file": ("big.png", data)}, params={"k": 0})
    assert response.status_code == 200
    seen = png_pixels(response.json()["items"][0]["input"]).astype(float)
    assert abs(seen.mean() - 127.5) < 5  # each model pixel averages ~5,600 noise pixels
    assert seen.std() < 10


# -- overload --------------------------------------------------------------------------------


@pytest.fixture
def busy_app(settings: Settings) -> Iterator[tuple[TestClient, threading.Event, threading.Event]]:
    """An app that serves one API request at a time, whose handlers wait (in a worker thread)
    until ``release`` is set; ``entered`` is set once a request is inside."""
    entered, release = threading.Event(), threading.Event()
    app = create_app(settings.model_copy(update={"max_inflight": 1}))

    def slow_explorer(request: Request) -> Explorer:
        entered.set()
        assert release.wait(30), "the test never released the slow request"
        explorer: Explorer = request.app.state.explorer
        return explorer

    app.dependency_overrides[get_explorer] = slow_explorer
    with TestClient(app) as test_client:
        yield test_client, entered, release
        release.set()


def test_past_max_inflight_the_server_answers_503_at_once(
    busy_app: tuple[TestClient, threading.Event, threading.Event], api: str
) -> None:
    client, entered, release = busy_app
    responses: list[httpx.Response] = []
    first = threading.Thread(target=lambda: responses.append(client.get(api)))
    first.start()
    try:
        assert entered.wait(30)
        busy = client.post(f"{api}/decode", json={"id": 0})
        message = assert_error(busy, 503, "overloaded")
        assert "limit of 1 requests in flight" in message
        assert busy.headers["retry-after"] == "1"
        health = client.get("/api/health")  # never refused: load balancers must see it
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
    finally:
        release.set()
        first.join(30)
    assert responses[0].status_code == 200
    assert responses[0].json()["name"] == "digits-vae-4"
    # The slot is free again, also after requests that ended in an error.
    for _ in range(3):
        assert_error(client.get(f"{api}/items/99999/image"), 404, "unknown_item")
    assert client.post(f"{api}/decode", json={"id": 0}).status_code == 200


def test_past_max_custom_attributes_a_new_attribute_is_409(settings: Settings) -> None:
    capped = settings.model_copy(update={"max_custom_attributes": 3})
    with TestClient(create_app(capped)) as client:
        api = f"/api/models/{client.get('/api/health').json()['models'][0]}/attributes"
        for i in range(3):
            created = client.post(api, json={"name": f"a{i}", "group_a": [i], "group_b": [9]})
            assert created.status_code == 201, created.text
        message = assert_error(
            client.post(api, json={"group_a": [1], "group_b": [2]}), 409, "too_many_attributes"
        )
        assert "3 user-defined attributes" in message and "max_custom_attributes" in message
        listed = client.get(api).json()["attributes"]
        assert [a["name"] for a in listed if a["kind"] == "custom"] == ["a0", "a1", "a2"]
