"""Load a TensorFlow.js graph model (``model.json`` + weight shards) into TensorFlow.

A TFJS graph model is a GraphDef written as protobuf JSON whose ``Const`` nodes carry no
values: the values sit, in manifest order, in little-endian binary shards (float32 often
stored as float16). The converter also fuses ops into ``FusedDepthwiseConv2dNative``,
which only TFJS knows, and ``_FusedConv2D``, an internal TF op; both are rewritten here
into their plain parts (conv, ``BiasAdd``, activation) so the graph imports into stock
TensorFlow without relying on grappler internals.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from workers.action.errors import PoseModelError

_DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_, "float16": np.float16,
           "uint8": np.uint8, "int16": np.int16}
_QUANTIZED = {"float16": np.float16, "uint8": np.uint8, "uint16": np.uint16}
_ACTIVATIONS = {"Relu", "Relu6", "Elu", "Sigmoid", "Tanh", "LeakyRelu"}
_FUSED = {"_FusedConv2D": "Conv2D", "FusedDepthwiseConv2dNative": "DepthwiseConv2dNative"}
_CONV_ATTRS = ("T", "strides", "padding", "data_format", "dilations", "explicit_paddings", "use_cudnn_on_gpu")


def read_weights(manifest: list[dict], folder: Path) -> dict[str, np.ndarray]:
    """Every weight named in the manifest, as a numpy array of its original dtype."""
    weights: dict[str, np.ndarray] = {}
    for group in manifest:
        try:
            buffer = b"".join((folder / path).read_bytes() for path in group["paths"])
        except OSError as exc:
            raise PoseModelError(f"weight shard missing next to the model in {folder}: {exc}") from None
        offset = 0
        for spec in group["weights"]:
            count = int(np.prod(spec["shape"], dtype=np.int64))
            quantization = spec.get("quantization")
            stored = _QUANTIZED[quantization["dtype"]] if quantization else _DTYPES[spec["dtype"]]
            size = count * np.dtype(stored).itemsize
            if offset + size > len(buffer):
                raise PoseModelError(f"weight {spec['name']} needs {size} bytes at {offset}; the shards hold {len(buffer)}")
            values = np.frombuffer(buffer, stored, count, offset).reshape(spec["shape"])
            if quantization and quantization["dtype"] != "float16":
                values = values.astype(np.float32) * quantization["scale"] + quantization["min"]
            weights[spec["name"]] = values.astype(_DTYPES[spec["dtype"]])
            offset += size
        if offset != len(buffer):
            raise PoseModelError(f"{len(buffer) - offset} bytes of the shards {group['paths']} are not described by the manifest")
    return weights


def _unfuse(node: dict) -> list[dict]:
    """Split a fused conv node into conv -> BiasAdd -> activation, keeping the output name."""
    attr = node.get("attr", {})
    ops = [base64.b64decode(s).decode() for s in attr.get("fused_ops", {}).get("list", {}).get("s", [])]
    unknown = [op for op in ops if op != "BiasAdd" and op not in _ACTIVATIONS]
    if unknown or int(attr.get("num_args", {}).get("i", "0")) > 1:
        raise PoseModelError(f"node {node['name']}: fused ops {ops} are not supported by this loader")
    name, inputs = node["name"], node["input"]
    conv_attr = {k: v for k, v in attr.items() if k in _CONV_ATTRS}
    if node["op"] == "FusedDepthwiseConv2dNative":
        conv_attr.pop("use_cudnn_on_gpu", None)
    chain = [{"name": f"{name}/conv", "op": _FUSED[node["op"]], "input": inputs[:2], "attr": conv_attr}]
    if "BiasAdd" in ops:
        chain.append({"name": f"{name}/bias", "op": "BiasAdd", "input": [chain[-1]["name"], inputs[2]],
                      "attr": {"T": attr["T"], "data_format": attr.get("data_format", {"s": base64.b64encode(b"NHWC").decode()})}})
    for op in ops:
        if op in _ACTIVATIONS:
            act_attr = {"T": attr["T"]}
            if op == "LeakyRelu":
                act_attr["alpha"] = {"f": attr.get("leakyrelu_alpha", {}).get("f", 0.2)}
            chain.append({"name": f"{name}/{op.lower()}", "op": op, "input": [chain[-1]["name"]], "attr": act_attr})
    chain[-1]["name"] = name
    return chain


def _graph_def(topology: dict, weights: dict[str, np.ndarray]):
    import tensorflow as tf
    from google.protobuf import json_format

    nodes = []
    for node in topology["node"]:
        if node["op"] in _FUSED:
            nodes.extend(_unfuse(node))
            continue
        node = dict(node)
        if node["op"] == "Const" and node["name"] in weights:
            node["attr"] = {k: v for k, v in node.get("attr", {}).items() if k != "value"}
        nodes.append(node)
    graph_def = json_format.ParseDict({"node": nodes, "versions": topology.get("versions", {})}, tf.compat.v1.GraphDef(),
                                      ignore_unknown_fields=True)
    for node in graph_def.node:
        if node.op == "Const" and node.name in weights:
            node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(weights[node.name]))
    return graph_def


def _read_model(model_json: Path) -> dict:
    try:
        model = json.loads(Path(model_json).read_text())
    except (OSError, ValueError) as exc:
        raise PoseModelError(f"cannot read the TFJS model {model_json}: {exc}") from None
    if model.get("format") != "graph-model":
        raise PoseModelError(f"{model_json} is a {model.get('format')!r}, not a TFJS graph-model")
    return model


def graph_def_of(model_json: Path):
    """The TFJS graph model at ``model_json`` as a TensorFlow GraphDef with its weights."""
    model = _read_model(model_json)
    return _graph_def(model["modelTopology"], read_weights(model["weightsManifest"], Path(model_json).parent))


def load_graph_model(model_json: Path, inputs: Sequence[str] | None = None,
                     outputs: Sequence[str] | None = None) -> Callable:
    """A concrete TF function running the TFJS graph model at ``model_json``.

    ``inputs``/``outputs`` are tensor names (``input:0``); by default the model's signature.
    The returned function takes tensors in ``inputs`` order and returns a list of outputs.
    """
    import tensorflow as tf

    model = _read_model(model_json)
    signature = model.get("signature", {})
    inputs = list(inputs or [spec["name"] for spec in signature.get("inputs", {}).values()])
    outputs = list(outputs or [spec["name"] for spec in signature.get("outputs", {}).values()])
    if not inputs or not outputs:
        raise PoseModelError(f"{model_json} has no signature: name the input and output tensors")
    weights = read_weights(model["weightsManifest"], Path(model_json).parent)
    graph_def = _graph_def(model["modelTopology"], weights)

    def _import() -> None:
        tf.compat.v1.import_graph_def(graph_def, name="")

    try:
        wrapped = tf.compat.v1.wrap_function(_import, [])
        return wrapped.prune([wrapped.graph.get_tensor_by_name(n) for n in inputs],
                             [wrapped.graph.get_tensor_by_name(n) for n in outputs])
    except (ValueError, KeyError, tf.errors.OpError) as exc:
        raise PoseModelError(f"the graph of {model_json} does not import into TensorFlow {tf.__version__}: {exc}") from None
