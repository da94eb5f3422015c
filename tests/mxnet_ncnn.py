"""Test support: a symbol built with mx.sym, saved as -symbol.json + .params with random
weights, converted to ncnn by modelport.convert and verified against real MXNet."""
from __future__ import annotations

import json

import numpy as np

from ncnn_support import convert_and_verify
from oracle import random_params


def node_attrs(sym, name: str) -> dict:
    """The attributes MXNet stores for node ``name`` (absent ones take MXNet's default)."""
    nodes = json.loads(sym.tojson())["nodes"]
    return next(n.get("attrs", {}) for n in nodes if n["name"] == name)


def save(sym, shapes: dict, folder, seed: int = 0, args=None, aux=None):
    import mxnet as mx

    if args is None:
        args, aux = random_params(sym, shapes, seed)
    sym.save(str(folder / "m-symbol.json"))
    saved = {f"arg:{k}": v for k, v in args.items()}
    saved.update({f"aux:{k}": v for k, v in (aux or {}).items()})
    mx.nd.save(str(folder / "m-0000.params"), saved)
    return folder / "m-symbol.json", folder / "m-0000.params"


def ncnn_roundtrip(sym, shapes: list[dict], folder, seed: int = 0, args=None, aux=None, input_range=None):
    """Convert at each shape, verify against MXNet there; the param texts and comparisons."""
    symbol, params = save(sym, shapes[0], folder, seed, args, aux)
    out = []
    for k, shape in enumerate(shapes):
        result, cmp = convert_and_verify(symbol, params, shape, folder / f"ncnn{k}", input_range=input_range)
        heads = {n.removesuffix("_output") for n in sym.list_outputs()}
        assert {r.name for r in cmp.outputs} == heads, "not every output compared"
        out.append((result.files[0].read_text(), cmp))
    return out


def layer_types(param_text: str) -> list[str]:
    return [line.split()[0] for line in param_text.splitlines()[2:] if line.strip()]


def as_nd(array):
    import mxnet as mx
    return mx.nd.array(np.asarray(array, np.float32))
