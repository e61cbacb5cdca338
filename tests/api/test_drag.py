"""WS /drag: points in, decoded frames out, stale points dropped, bad messages survived."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from app.index.store import LatentIndex
from tests.api.helpers import png_pixels


def point(x: float, y: float, seq: int, **extra: Any) -> str:
    return json.dumps({"x": x, "y": y, "seq": seq, **extra})


def burst(ws: WebSocketTestSession, messages: list[str]) -> None:
    """Queue every message with the server before it runs again, as a fast drag over a slow
    link would: one call into the event loop that never yields (TestClient's send_text lets
    the server run between messages, which would make the test depend on timing)."""

    def queue_all() -> None:
        for text in messages:
            ws._receive_tx.send_nowait({"type": "websocket.receive", "text": text})

    ws.portal.call(queue_all)


def check_frame(
    frame: dict[str, Any], index: LatentIndex, decode_reference: Any, projection: str
) -> None:
    assert set(frame) == {"seq", "x", "y", "projection", "latent", "image", "image_source", "batch"}
    assert frame["batch"] >= 1
    assert frame["image_source"] == "decoded"
    assert frame["projection"] == projection
    xy = np.array([[frame["x"], frame["y"]]], dtype=np.float32)
    expected = index.inverses[projection].transform(xy)[0]
    np.testing.assert_allclose(frame["latent"], expected, atol=1e-6)
    image = png_pixels(frame["image"]).astype(int)
    assert np.abs(image - decode_reference(np.array([frame["latent"]]))[0]).max() <= 1


def test_each_point_gets_a_frame_decoded_there(
    client: TestClient, api: str, index: LatentIndex, decode_reference: Any
) -> None:
    embedding = index.projections["umap"].embedding_
    with client.websocket_connect(f"{api}/drag") as ws:
        for seq, item_id in enumerate([0, 10, 20]):
            x, y = (float(v) for v in embedding[item_id])
            ws.send_text(point(x, y, seq))
            frame = ws.receive_json()
            assert frame["seq"] == seq
            assert (frame["x"], frame["y"]) == (pytest.approx(x), pytest.approx(y))
            check_frame(frame, index, decode_reference, "umap")
            # At an item's own spot the inverse map gives that item's latent.
            np.testing.assert_allclose(frame["latent"], index.latents[item_id], atol=1e-6)


def test_a_burst_is_answered_up_to_the_newest_point_only(
    client: TestClient, api: str, index: LatentIndex, decode_reference: Any
) -> None:
    xs = np.linspace(-2.0, 8.0, 50)
    with client.websocket_connect(f"{api}/drag") as ws:
        burst(ws, [point(float(x), 1.0, seq) for seq, x in enumerate(xs)])
        frames = [ws.receive_json()]
        while frames[-1]["seq"] != 49:
            frames.append(ws.receive_json())
        seqs = [f["seq"] for f in frames]
        assert len(frames) < 50  # stale points were dropped, not queued
        assert seqs == sorted(set(seqs))  # never an older frame after a newer one
        check_frame(frames[-1], index, decode_reference, "umap")
        assert frames[-1]["x"] == pytest.approx(xs[-1])
        # Nothing stale is still on its way: the next answer is for the next point.
        ws.send_text(point(0.0, 0.0, 50))
        assert ws.receive_json()["seq"] == 50


def test_the_projection_comes_from_the_url_or_the_message(
    client: TestClient, api: str, index: LatentIndex, decode_reference: Any
) -> None:
    with client.websocket_connect(f"{api}/drag?projection=pca") as ws:
        ws.send_text(point(0.1, -0.1, 1))
        check_frame(ws.receive_json(), index, decode_reference, "pca")
        ws.send_text(point(3.0, 4.0, 2, projection="umap"))
        check_frame(ws.receive_json(), index, decode_reference, "umap")


@pytest.mark.parametrize(
    ("message", "code", "hint"),
    [
        ("not json", "bad_point", "not JSON"),
        ("[1, 2]", "bad_point", "JSON object"),
        ('{"x": "left", "y": 1}', "bad_point", "numbers"),
        ('{"x": {}, "y": 1}', "bad_point", "numbers"),
        ('{"y": 1}', "bad_point", "numbers"),
        ('{"x": NaN, "y": 1}', "bad_point", "finite"),
        ('{"x": 1e400, "y": 1}', "bad_point", "finite"),
        ('{"x": 1' + "0" * 400 + ', "y": 1}', "bad_point", "finite"),
        ('{"x": 1, "y": 1, "projection": 5}', "bad_point", "projection"),
        ('{"x": 1, "y": 1, "projection": "isomap"}', "unknown_projection", "pca, umap, tsne"),
        ("[" * 3000, "bad_point", "not JSON"),
        ("x" * 5000, "bad_point", "4096"),
    ],
)
def test_a_bad_message_gets_an_error_frame_and_the_stream_goes_on(
    client: TestClient, api: str, message: str, code: str, hint: str
) -> None:
    with client.websocket_connect(f"{api}/drag") as ws:
        ws.send_text(message)
        error = ws.receive_json()["error"]
        assert set(error) == {"status", "code", "message"}
        assert error["status"] == 422  # a message that is not a usable point
        assert error["code"] == code
        assert hint in error["message"]
        ws.send_text(point(0.0, 0.0, 7))
        assert ws.receive_json()["seq"] == 7


def test_a_binary_message_is_read_as_text(client: TestClient, api: str) -> None:
    with client.websocket_connect(f"{api}/drag") as ws:
        ws.send_bytes(b"\xff\xfe")
        assert ws.receive_json()["error"]["code"] == "bad_point"
        ws.send_bytes(point(0.0, 0.0, 8).encode())
        assert ws.receive_json()["seq"] == 8


def test_binary_frames_carry_the_json_fields_and_the_png(
    client: TestClient, api: str, index: LatentIndex, decode_reference: Any
) -> None:
    """?frames=binary: one binary message per frame (4-byte length, JSON header, PNG bytes),
    the same fields as the JSON form; errors stay JSON text."""
    x, y = (float(v) for v in index.projections["umap"].embedding_[5])
    with client.websocket_connect(f"{api}/drag?frames=binary") as ws:
        ws.send_text(point(x, y, 1))
        message = ws.receive_bytes()
        length = int.from_bytes(message[:4], "big")
        header = json.loads(message[4 : 4 + length])
        png = message[4 + length :]
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        assert header.pop("image_type") == "image/png"
        data_url = "data:image/png;base64," + base64.b64encode(png).decode()
        check_frame({**header, "image": data_url}, index, decode_reference, "umap")
        np.testing.assert_allclose(header["latent"], index.latents[5], atol=1e-6)
        ws.send_text("nope")
        assert ws.receive_json()["error"]["code"] == "bad_point"
        ws.send_text(point(x, y, 2))
        assert json.loads(ws.receive_bytes()[4 : 4 + length])["seq"] == 2


def test_a_non_finite_seq_is_not_echoed(client: TestClient, api: str) -> None:
    with client.websocket_connect(f"{api}/drag") as ws:
        ws.send_text('{"x": 0, "y": 0, "seq": NaN}')
        text = ws.receive_text()
        assert "NaN" not in text  # browsers' JSON.parse would throw on it
        assert json.loads(text)["seq"] is None


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/models/no-such-model/drag", 404, "unknown_model"),
        ("/api/models/{model}/drag?projection=isomap", 422, "unknown_projection"),
        ("/api/models/{model}/drag?frames=png", 422, "invalid_input"),
    ],
)
def test_an_impossible_stream_gets_an_error_frame_then_closes(
    client: TestClient, model_name: str, path: str, status: int, code: str
) -> None:
    with client.websocket_connect(path.format(model=model_name)) as ws:
        error = ws.receive_json()["error"]
        assert (error["status"], error["code"]) == (status, code)
        assert error["message"]
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
        assert closed.value.code == 4000 + status
