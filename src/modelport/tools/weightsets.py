"""Reading the weights of one model, in any format modelport reads, without converting anything.

- MXNet ``-symbol.json`` (+ its ``.params``, found like ``convert`` finds it): the weights
  as zero-copy views of the mapped ``.params``, and every layer's weight inputs resolved
  through the graph's edges (never by name guessing, PITFALL 8). A BatchNorm with
  ``fix_gamma`` true or absent is marked: MXNet uses gamma = 1 whatever is stored.
- a bare ``.params``: the arrays only (``arg:``/``aux:`` stripped).
- ``.onnx``: the initializers, each node's initializer inputs, and the names the passes
  absorbed (``ir/provenance.py``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from modelport.errors import ModelFileError

BN_OPS = ("BatchNorm", "BatchNormalization")
FOLD_PRODUCERS = ("Conv", "ConvTranspose", "Gemm", "Convolution", "Deconvolution", "FullyConnected")
PITFALL_POINTER = "(PITFALL N: item N of docs/pitfalls.md)"


@dataclass
class Layer:
    name: str  # the output tensor name
    op: str
    inputs: list[str]  # data inputs (tensor names)
    weights: list[str]  # weight names, in input-slot order
    attrs: dict = field(default_factory=dict)


@dataclass
class WeightSet:
    path: Path
    format: str  # "mxnet", "params", "onnx"
    arrays: dict[str, np.ndarray]
    layers: dict[str, Layer] = field(default_factory=dict)
    absorbed: dict[str, tuple[str, str]] = field(default_factory=dict)
    effective: dict[str, np.ndarray] = field(default_factory=dict)  # what the engine uses instead of the stored value
    notes: dict[str, str] = field(default_factory=dict)  # per weight

    def value(self, name: str) -> np.ndarray:
        return self.effective.get(name, self.arrays[name])

    def owner(self) -> dict[str, str]:
        return {w: layer.name for layer in self.layers.values() for w in layer.weights}

    def bn(self, layer: Layer) -> dict | None:
        """gamma (as used), stored gamma, beta, mean, var, eps of a BatchNorm layer."""
        if layer.op not in BN_OPS or len(layer.weights) != 4:
            return None
        gamma, beta, mean, var = layer.weights
        return dict(gamma=self.value(gamma), stored=self.arrays[gamma], beta=self.arrays[beta],
                    mean=self.arrays[mean], var=self.arrays[var], eps=float(layer.attrs.get("eps", 1e-5)),
                    fix_gamma=gamma in self.effective, gamma_name=gamma)


# --------------------------------------------------------------------------- readers


def _strip(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k.split(":", 1)[1] if k.startswith(("arg:", "aux:")) else k: v for k, v in arrays.items()}


def read_params(path: Path) -> WeightSet:
    from modelport.frontends.mxnet.params import load_params

    return WeightSet(path, "params", _strip(load_params(path)))


def read_mxnet(symbol: Path, params: Path | None = None) -> WeightSet:
    from modelport.fileio import find_params
    from modelport.frontends.mxnet.attrs import Attrs
    from modelport.frontends.mxnet.params import load_params
    from modelport.frontends.mxnet.reader import load_symbol

    graph = load_symbol(symbol)
    params = Path(params) if params else find_params(symbol)
    ws = WeightSet(symbol, "mxnet", _strip(load_params(params)))
    nodes = graph.nodes
    for node in nodes:
        if node.is_variable:
            continue
        weights, inputs = [], []
        for src, index in node.inputs:
            up = nodes[src]
            if up.is_variable and up.name in ws.arrays:
                weights.append(up.name)
            else:
                inputs.append(up.name if index == 0 else f"{up.name}_output{index}")
        layer = Layer(node.name, node.op, inputs, weights)
        if node.op == "BatchNorm" and len(weights) == 4:
            attrs = Attrs("BatchNorm", node.name, node.attrs)
            layer.attrs["eps"] = attrs.float("eps")
            if attrs.bool("fix_gamma"):
                gamma = weights[0]
                ws.effective[gamma] = np.ones(ws.arrays[gamma].shape, ws.arrays[gamma].dtype)
                ws.notes[gamma] = "fix_gamma: MXNet uses 1, the stored value is ignored (PITFALL 3)"
        ws.layers[node.name] = layer
    return ws


def read_onnx(path: Path) -> WeightSet:
    import onnx
    from onnx import numpy_helper

    from modelport.ir.provenance import absorbed

    try:
        proto = onnx.load(str(path))
    except Exception as exc:  # noqa: BLE001 - protobuf's DecodeError and friends
        raise ModelFileError(f"{path}: not an ONNX model ({type(exc).__name__})") from None
    graph = proto.graph
    ws = WeightSet(path, "onnx", {t.name: numpy_helper.to_array(t) for t in graph.initializer})
    ws.absorbed = absorbed(proto.metadata_props)
    for node in graph.node:
        if not node.output:
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        layer = Layer(node.output[0], node.op_type, [i for i in node.input if i and i not in ws.arrays],
                      [i for i in node.input if i in ws.arrays], {})
        if node.op_type == "BatchNormalization":
            layer.attrs["eps"] = float(np.float32(attrs.get("epsilon", 1e-5)))
        elif node.op_type == "Gemm":
            layer.attrs.update(transB=int(attrs.get("transB", 0)), alpha=float(attrs.get("alpha", 1.0)),
                               beta=float(attrs.get("beta", 1.0)))
        elif node.op_type == "ConvTranspose":
            layer.attrs["group"] = int(attrs.get("group", 1))
        ws.layers[layer.name] = layer
    return ws


def read_weights(path: str | Path, params: str | Path | None = None) -> WeightSet:
    """The weights of a model file (MXNet -symbol.json [+ .params], .params, .onnx)."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: file not found")
    name = path.name.lower()
    if name.endswith(".onnx"):
        return read_onnx(path)
    if name.endswith(".params"):
        return read_params(path)
    if name.endswith(".json"):
        return read_mxnet(path, params)
    raise ModelFileError(f"{path}: expected an MXNet -symbol.json, a .params or an .onnx file")
