"""The drag stream's work without a socket: messages parsed, frames decoded at the point."""

from __future__ import annotations

import asyncio
import base64
import io
import threading

import numpy as np
import pytest
from PIL import Image

from app.services.drag import (
    drag_frame,
    frame_binary,
    frame_json,
    open_drag,
    parse_frame_binary,
    parse_point,
)
from app.services.inference import InferenceWorker
from app.services.loaded import LoadedModel, ModelStore
from models.errors import LatentExplorerError
from tests.services.conftest import run


def test_a_frame_is_the_decoded_inverse_of_the_point(
    store: ModelStore, m: LoadedModel, worker: InferenceWorker
) -> None:
    session = open_drag(store, m.name, "pca")
    frame = frame_json(run(drag_frame(worker, session, '{"x": 0.5, "y": -0.5, "seq": 3}')))
    assert (frame["seq"], frame["projection"], frame["image_source"]) == (3, "pca", "decoded")
    assert frame["batch"] == 1  # alone on the worker
    latent = m.index.inverses["pca"].transform(np.array([[0.5, -0.5]], np.float32))[0]
    np.testing.assert_allclose(frame["latent"], latent, rtol=1e-5, atol=1e-6)
    png = base64.b64decode(frame["image"].split(",", 1)[1])
    pixels = np.asarray(Image.open(io.BytesIO(png)))
    expected = np.rint(np.clip(m.decode(latent[None])[0, 0] * 255, 0, 255))
    assert np.abs(pixels.astype(int) - expected).max() <= 1


def test_the_binary_form_carries_the_json_forms_fields_and_the_png_bytes(
    store: ModelStore, m: LoadedModel, worker: InferenceWorker
) -> None:
    frame = run(drag_frame(worker, open_drag(store, m.name, "pca"), '{"x": 1, "y": 2, "seq": 9}'))
    header, png = parse_frame_binary(frame_binary(frame))
    as_json = frame_json(frame)
    assert header.pop("image_type") == "image/png"
    assert header == {k: v for k, v in as_json.items() if k != "image"}
    assert as_json["image"] == "data:image/png;base64," + base64.b64encode(png).decode()
    assert Image.open(io.BytesIO(png)).size == m.image_shape[:0:-1]  # (W, H)


def test_frames_of_several_streams_share_one_forward_pass(
    store: ModelStore, m: LoadedModel, worker: InferenceWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the worker is busy, one frame from each of 6 streams (on two maps) waits; when it
    is free they are decoded in a single forward pass, each stream getting its own point's."""
    calls: list[int] = []
    started, release = threading.Event(), threading.Event()

    decode = m.decode

    def counting_decode(latents: np.ndarray) -> np.ndarray:
        calls.append(len(latents))
        return decode(latents)

    def hold() -> None:
        started.set()
        assert release.wait(10)

    monkeypatch.setattr(m, "decode", counting_decode)  # every forward pass goes through it
    sessions = [open_drag(store, m.name, ("pca", "umap")[i % 2]) for i in range(6)]
    points = [(0.3 * i - 1.0, 0.5 - 0.2 * i) for i in range(6)]

    async def main() -> list[dict[str, object]]:
        busy = asyncio.ensure_future(worker.run(hold))
        await asyncio.to_thread(started.wait, 10)
        frames = [
            asyncio.ensure_future(drag_frame(worker, s, f'{{"x": {x}, "y": {y}, "seq": {i}}}'))
            for i, (s, (x, y)) in enumerate(zip(sessions, points, strict=True))
        ]
        await asyncio.sleep(0.05)  # every frame is queued behind the held call
        release.set()
        await busy
        return [frame_json(f) for f in await asyncio.gather(*frames)]

    frames = run(main())
    assert calls == [6]  # one forward pass for all six streams
    assert worker.batches_run == 1
    for i, frame in enumerate(frames):
        name = sessions[i].default_projection
        assert (frame["seq"], frame["projection"], frame["batch"]) == (i, name, 6)
        xy = np.array([points[i]], np.float32)
        latent = m.index.inverses[name].transform(xy)[0]
        np.testing.assert_allclose(frame["latent"], latent, rtol=1e-5, atol=1e-6)
        png = base64.b64decode(str(frame["image"]).split(",", 1)[1])
        pixels = np.asarray(Image.open(io.BytesIO(png))).astype(int)
        expected = np.rint(np.clip(decode(latent[None])[0, 0] * 255, 0, 255))
        assert np.abs(pixels - expected).max() <= 1  # its own point's image, not a neighbour's


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("not json", "not JSON"),
        ('{"x": true, "y": 1}', "numbers"),
        ('{"x": 1e10, "y": 1}', "finite"),
        ('{"x": 1, "y": 1, "projection": []}', "projection"),
        ("x" * 5000, "4096"),
    ],
)
def test_bad_messages_are_422_bad_point(text: str, hint: str) -> None:
    with pytest.raises(LatentExplorerError) as caught:
        parse_point(text, "umap")
    assert (caught.value.status, caught.value.code) == (422, "bad_point")
    assert hint in str(caught.value)


def test_seq_is_echoed_only_when_plain() -> None:
    assert parse_point('{"x": 0, "y": 0, "seq": "a"}', "umap")[2] == "a"
    assert parse_point('{"x": 0, "y": 0, "seq": {"a": 1}}', "umap")[2] is None
    assert parse_point('{"x": 0, "y": 0, "seq": Infinity}', "umap")[2] is None


def test_a_stream_on_an_unknown_model_or_projection_does_not_open(store: ModelStore) -> None:
    with pytest.raises(LatentExplorerError) as caught:
        open_drag(store, "nope", "umap")
    assert (caught.value.status, caught.value.code) == (404, "unknown_model")
    with pytest.raises(LatentExplorerError) as caught:
        open_drag(store, next(iter(store.models)), "tsne-ish")
    assert (caught.value.status, caught.value.code) == (422, "unknown_projection")


def test_an_unknown_frame_form_is_refused(store: ModelStore, m: LoadedModel) -> None:
    assert open_drag(store, m.name, None, "binary").form == "binary"
    assert open_drag(store, m.name, None).form == "json"
    with pytest.raises(LatentExplorerError) as caught:
        open_drag(store, m.name, None, "png")
    assert (caught.value.status, caught.value.code) == (422, "invalid_input")
    assert "json, binary" in str(caught.value)
