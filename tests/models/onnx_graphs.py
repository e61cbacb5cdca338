"""Tiny ONNX files built node by node (no exporter, instant) for the ONNX import tests.

The encoder is ``flatten(x) @ W`` and the decoder ``sigmoid(z @ V)`` reshaped, so the tests
know exactly what onnxruntime must return, and can give either the wrong output shape.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _save(nodes: list, inputs: list, outputs: list, inits: list, path: Path) -> None:
    from onnx import helper, save_model

    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=inits)
    # Opset 17 / IR 8: old enough for any onnxruntime the project allows.
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    save_model(model, str(path))


def linear_encoder(
    path: Path,
    image_shape: tuple[int, int, int],
    latent_dim: int,
    *,
    rank3: bool = False,
    batch: int | str = "batch",
    seed: int = 0,
) -> np.ndarray:
    """images (batch, C, H, W) -> flatten @ W: (batch, D), or (batch, D, 1) with ``rank3``;
    returns W ((C*H*W, D) float32)."""
    from onnx import TensorProto, helper, numpy_helper

    w = np.random.default_rng(seed).normal(0, 0.05, (int(np.prod(image_shape)), latent_dim))
    w = w.astype(np.float32)
    nodes = [
        helper.make_node("Flatten", ["images"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "W"], ["z" if rank3 else "latents"]),
    ]
    inits = [numpy_helper.from_array(w, "W")]
    out_shape: list[int | str] = [batch, latent_dim]
    if rank3:
        nodes.append(helper.make_node("Unsqueeze", ["z", "axes"], ["latents"]))
        inits.append(numpy_helper.from_array(np.array([2], np.int64), "axes"))
        out_shape.append(1)
    _save(
        nodes,
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [batch, *image_shape])],
        [helper.make_tensor_value_info("latents", TensorProto.FLOAT, out_shape)],
        inits,
        path,
    )
    return w


def linear_decoder(
    path: Path, latent_dim: int, image_shape: tuple[int, int, int], *, seed: int = 1
) -> np.ndarray:
    """latents (batch, D) -> sigmoid(z @ V) as (batch, C, H, W); returns V."""
    from onnx import TensorProto, helper, numpy_helper

    v = np.random.default_rng(seed).normal(0, 0.5, (latent_dim, int(np.prod(image_shape))))
    v = v.astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["latents", "V"], ["flat"]),
        helper.make_node("Sigmoid", ["flat"], ["act"]),
        helper.make_node("Reshape", ["act", "shape"], ["images"]),
    ]
    inits = [
        numpy_helper.from_array(v, "V"),
        numpy_helper.from_array(np.array([-1, *image_shape], np.int64), "shape"),
    ]
    _save(
        nodes,
        [helper.make_tensor_value_info("latents", TensorProto.FLOAT, ["batch", latent_dim])],
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", *image_shape])],
        inits,
        path,
    )
    return v


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))
