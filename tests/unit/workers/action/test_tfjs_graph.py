"""The TFJS graph loader on a GENERATED two-layer graph (fused conv + bias + relu6, fused
depthwise conv, float16 and uint8-quantized weights), checked against TensorFlow's own ops,
and its errors on broken files."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from workers.action.errors import PoseModelError
from workers.action.tfjs_graph import load_graph_model, read_weights


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _attr_list(values: list[int]) -> dict:
    return {"list": {"i": [str(v) for v in values]}}


def write_model(folder: Path, kernel: np.ndarray, bias: np.ndarray, depthwise: np.ndarray, dw_bias: np.ndarray) -> Path:
    conv_attr = {"T": {"type": "DT_FLOAT"}, "strides": _attr_list([1, 1, 1, 1]), "padding": {"s": _b64("SAME")},
                 "data_format": {"s": _b64("NHWC")}, "dilations": _attr_list([1, 1, 1, 1]), "num_args": {"i": "1"},
                 "explicit_paddings": {"list": {}}, "epsilon": {"f": 0}}
    const = {"op": "Const", "attr": {"dtype": {"type": "DT_FLOAT"}}}
    nodes = [
        {"name": "input", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"},
                                                        "shape": {"shape": {"dim": [{"size": "1"}, {"size": "-1"}, {"size": "-1"}, {"size": "2"}]}}}},
        {"name": "k", **const}, {"name": "b", **const}, {"name": "dk", **const}, {"name": "db", **const},
        {"name": "conv", "op": "_FusedConv2D", "input": ["input", "k", "b"],
         "attr": {**conv_attr, "fused_ops": {"list": {"s": [_b64("BiasAdd"), _b64("Relu6")]}}, "use_cudnn_on_gpu": {"b": True}}},
        {"name": "dw", "op": "FusedDepthwiseConv2dNative", "input": ["conv", "dk", "db"],
         "attr": {**conv_attr, "fused_ops": {"list": {"s": [_b64("BiasAdd")]}}}},
        {"name": "Identity", "op": "Identity", "input": ["dw"], "attr": {"T": {"type": "DT_FLOAT"}}},
    ]
    quantized_min, quantized_scale = float(dw_bias.min()), float((dw_bias.max() - dw_bias.min()) / 255)
    dw_bias_q = np.round((dw_bias - quantized_min) / quantized_scale).astype(np.uint8)
    shard = b"".join([kernel.astype(np.float16).tobytes(), bias.astype(np.float32).tobytes(),
                      depthwise.astype(np.float16).tobytes(), dw_bias_q.tobytes()])
    (folder / "group1-shard1of1.bin").write_bytes(shard)
    manifest = [{"paths": ["group1-shard1of1.bin"], "weights": [
        {"name": "k", "shape": list(kernel.shape), "dtype": "float32", "quantization": {"dtype": "float16", "original_dtype": "float32"}},
        {"name": "b", "shape": list(bias.shape), "dtype": "float32"},
        {"name": "dk", "shape": list(depthwise.shape), "dtype": "float32", "quantization": {"dtype": "float16", "original_dtype": "float32"}},
        {"name": "db", "shape": list(dw_bias.shape), "dtype": "float32",
         "quantization": {"dtype": "uint8", "min": quantized_min, "scale": quantized_scale, "original_dtype": "float32"}},
    ]}]
    model = {"format": "graph-model", "modelTopology": {"node": nodes, "versions": {"producer": 808}},
             "signature": {"inputs": {"input": {"name": "input:0"}}, "outputs": {"out": {"name": "Identity:0"}}},
             "weightsManifest": manifest}
    path = folder / "model.json"
    path.write_text(json.dumps(model))
    return path


@pytest.fixture
def tiny_model(tmp_path):
    rng = np.random.default_rng(0)
    parts = dict(kernel=rng.normal(size=(3, 3, 2, 4)).astype(np.float32), bias=rng.normal(size=4).astype(np.float32),
                 depthwise=rng.normal(size=(3, 3, 4, 1)).astype(np.float32), dw_bias=rng.normal(size=4).astype(np.float32))
    return write_model(tmp_path, **parts), parts


def test_the_loaded_graph_computes_what_tensorflow_computes(tiny_model):
    import tensorflow as tf

    path, p = tiny_model
    run = load_graph_model(path)
    image = np.random.default_rng(1).normal(size=(1, 8, 10, 2)).astype(np.float32)
    (out,) = run(tf.constant(image))
    kernel = p["kernel"].astype(np.float16).astype(np.float32)
    depthwise = p["depthwise"].astype(np.float16).astype(np.float32)
    hidden = tf.nn.relu6(tf.nn.conv2d(image, kernel, 1, "SAME") + p["bias"])
    expected = tf.nn.depthwise_conv2d(hidden, depthwise, [1, 1, 1, 1], "SAME") + p["dw_bias"]
    assert out.shape == (1, 8, 10, 4)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), atol=0.05)


def test_weights_are_dequantized(tiny_model):
    path, p = tiny_model
    weights = read_weights(json.loads(path.read_text())["weightsManifest"], path.parent)
    np.testing.assert_allclose(weights["k"], p["kernel"], atol=1e-2)
    np.testing.assert_array_equal(weights["b"], p["bias"])
    scale = (p["dw_bias"].max() - p["dw_bias"].min()) / 255
    np.testing.assert_allclose(weights["db"], p["dw_bias"], atol=scale)


def test_a_short_shard_or_a_wrong_format_is_a_typed_error(tiny_model, tmp_path):
    path, _ = tiny_model
    shard = path.parent / "group1-shard1of1.bin"
    shard.write_bytes(shard.read_bytes()[:-10])
    with pytest.raises(PoseModelError, match="needs .* bytes"):
        load_graph_model(path)
    layers = tmp_path / "layers.json"
    layers.write_text(json.dumps({"format": "layers-model"}))
    with pytest.raises(PoseModelError, match="not a TFJS graph-model"):
        load_graph_model(layers)
