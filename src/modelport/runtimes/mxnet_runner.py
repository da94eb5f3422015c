"""Run an MXNet checkpoint in MXNet itself (the reference), exposing every internal output.

Loads with ``mx.sym.load`` + ``mx.nd.load`` (works for any file naming and upgrades
legacy JSON). oneDNN subgraph fusion is turned off so internals are not hidden.
Internal names ``X_output`` become ``X`` (modelport's tensor names); multi-output
nodes keep ``X_output0``... Operator nodes that share a name (a block called twice) are
renamed ``X__2``... in graph order, as the MXNet frontend names their tensors. Label
inputs (``*_label``) are fed zeros.
"""
from __future__ import annotations

import json
import os
from functools import cached_property
from pathlib import Path

import numpy as np

from modelport.errors import VerificationError
from modelport.names import unique_node_names
from modelport.runtimes._quiet import quiet

os.environ.setdefault("MXNET_SUBGRAPH_BACKEND", "NONE")


def _mx():
    try:
        import mxnet as mx
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise VerificationError(f"verifying an MXNet model needs mxnet installed ({exc}); "
                                "install the pinned environment: pip install -r requirements/dev-mxnet.txt") from None
    return mx


# operators whose ``dtype`` attribute is float32 when absent (MXNet 1.9.1): argsort's and topk's indices, ranges,
# constants; a float64 run gives them float64
_FLOAT32_BY_DEFAULT = frozenset({"argsort", "topk", "one_hot", "_arange", "_linspace",
                                 "_zeros", "_ones", "_full", "_eye"})


def tensor_name(internal: str) -> str:
    return internal[: -len("_output")] if internal.endswith("_output") else internal


class MXNetRunner:
    name = "mxnet"

    def __init__(self, symbol_path: str | Path, params_path: str | Path, outputs: list[str] | None = None):
        """``outputs``: node names whose outputs become the heads (the frontend's ``--outputs`` cut)."""
        mx = _mx()
        self.mx = mx
        try:
            with quiet():
                self.symbol = self._load_symbol(symbol_path)
                loaded = mx.nd.load(str(params_path))
        except mx.base.MXNetError as exc:
            raise VerificationError(f"MXNet cannot load {symbol_path} / {params_path}: {str(exc).splitlines()[0]}") from None
        if outputs:
            self.symbol = self._cut(self.symbol, outputs, symbol_path)
        self.args, self.aux = {}, {}
        if isinstance(loaded, list) and not loaded:  # a weightless model's empty .params loads as []
            loaded = {}
        for key, value in loaded.items():
            kind, _, name = key.partition(":")
            (self.aux if kind == "aux" else self.args)[name if name else key] = value
        internals = self.symbol.get_internals()
        arg_names = set(self.symbol.list_arguments()) | set(self.symbol.list_auxiliary_states())
        self._internal_names = [n for n in internals.list_outputs() if n not in arg_names]
        self.internals = internals
        self._wide = None  # (symbol, internals) of the float64 run, built on first use

    def _load_symbol(self, symbol_path):
        """``mx.sym.load``; when operator nodes share a name, the same symbol with the second and
        later ones renamed as the MXNet frontend renames them (``modelport.names``), so that
        each internal output has the name of its own converted tensor."""
        symbol = self.mx.sym.load(str(symbol_path))
        try:
            doc = json.loads(Path(symbol_path).read_text(encoding="utf-8"))
            nodes = doc["nodes"]
            names = unique_node_names((str(n["name"]), n["op"] == "null") for n in nodes)
        except (OSError, ValueError, KeyError, TypeError):
            return symbol  # MXNet read it; its own reading stands
        if all(n["name"] == name for n, name in zip(nodes, names)):
            return symbol
        for node, name in zip(nodes, names):
            node["name"] = name
        return self.mx.sym.load_json(json.dumps(doc))

    def _cut(self, symbol, outputs: list[str], symbol_path):
        internals = symbol.get_internals()
        names = set(internals.list_outputs())
        heads = []
        for name in outputs:
            internal = name if name in names else f"{name}_output"
            if internal not in names:
                raise VerificationError(f"{symbol_path}: MXNet has no output '{name}' to cut at")
            heads.append(internals[internal])
        return self.mx.sym.Group(heads)

    def input_names(self) -> list[str]:
        return [n for n in self.symbol.list_arguments() if n not in self.args and not n.endswith("_label")]

    def order(self) -> list[str]:
        return [tensor_name(n) for n in self._internal_names]

    def head_names(self) -> list[str]:
        return [tensor_name(n) for n in self.symbol.list_outputs()]

    def input_dims(self) -> dict[str, tuple | None]:
        """MXNet symbols declare no input shapes."""
        return {name: None for name in self.input_names()}

    def input_types(self) -> dict[str, np.dtype]:
        return {name: np.dtype(np.float32) for name in self.input_names()}

    def accepts(self, shapes: dict[str, tuple]) -> bool:
        """True when MXNet infers every shape from these input shapes (e.g. FC layers fix the input size)."""
        wanted = set(self.symbol.list_arguments()) | set(self.symbol.list_auxiliary_states())
        known = {k: v.shape for k, v in {**self.args, **self.aux}.items() if k in wanted}  # a cut drops some
        try:
            with quiet():  # MXNet prints "infer_shape error. Arguments: ..." on failure
                arg, _, _ = self.symbol.infer_shape(**{**known, **shapes})
        except Exception:  # noqa: BLE001 - MXNetError, or a TypeError for a name it does not know
            return False
        return arg is not None and all(all(d > 0 for d in s) for s in arg)

    def tensor_bytes(self, shapes: dict[str, tuple]) -> dict[str, int]:
        """Bytes of each tensor ``run(feeds, "all")`` would return at these input shapes, from MXNet's
        shape and type inference (nothing runs); a tensor whose shape is not inferred is left out."""
        known = {k: v.shape for k, v in {**self.args, **self.aux}.items()}
        wanted = set(self.internals.list_arguments()) | set(self.internals.list_auxiliary_states())
        given = {k: v for k, v in {**known, **shapes}.items() if k in wanted}
        with quiet():
            _, out_shapes, _ = self.internals.infer_shape_partial(**given)
            try:
                _, out_types, _ = self.internals.infer_type_partial(
                    **{k: np.float32 for k in self.input_names() if k in wanted})
            except Exception:  # noqa: BLE001 - an older MXNet, or a graph whose types it cannot infer
                out_types = None
        out_types = out_types or [None] * len(out_shapes)
        internal = set(self._internal_names)
        sizes = {}
        for name, shape, dtype in zip(self.internals.list_outputs(), out_shapes or [], out_types):
            if name in internal and shape and all(d > 0 for d in shape):
                sizes[tensor_name(name)] = int(np.prod(shape)) * (np.dtype(dtype).itemsize if dtype else 4)
        return sizes

    def op_of(self) -> dict[str, str]:
        nodes = self._nodes
        return {n["name"]: n["op"] for n in nodes if n["op"] != "null"}

    def absorbed(self) -> dict[str, tuple[str, str]]:
        return {}

    def inputs_of(self) -> dict[str, list[str]]:
        """Tensor name -> the tensors its node reads (weights and inputs left out): the graph's
        edges, which verify follows from a detection output to what is computed from it."""
        nodes = self._nodes
        internal = set(self.order())
        outputs = [[n["name"]] if n["name"] in internal else
                   [f"{n['name']}_output{k}" for k in range(len(nodes)) if f"{n['name']}_output{k}" in internal]
                   for n in nodes]
        edges = {}
        for node, names in zip(nodes, outputs):
            reads = [outputs[i][k] for i, k, *_ in node.get("inputs", []) if k < len(outputs[i])]
            edges.update(dict.fromkeys(names, reads))
        return edges

    def node_attrs(self) -> dict[str, dict[str, str]]:
        """Tensor name -> the raw attributes of the node that wrote it (as ``op_of``: a node's name,
        and ``X_output0`` for the first output of a multi-output node)."""
        nodes = self._nodes
        out = {}
        for n in nodes:
            if n["op"] != "null":
                out[n["name"]] = out[f"{n['name']}_output0"] = dict(n.get("attrs") or {})
        return out

    def run(self, feeds: dict[str, np.ndarray], outputs="all") -> dict[str, np.ndarray]:
        return self._run(feeds, outputs, "float32")

    def run_from(self, feeds: dict[str, np.ndarray], values: dict[str, np.ndarray], outputs="all",
                 float64: bool = False) -> dict[str, np.ndarray]:
        """The run with each tensor of ``values`` taken as given instead of computed: its readers read
        an input fed that value instead (any output of a node: topk's indices beside its values), so
        everything downstream is what MXNet computes from it (verify continues from the candidate's
        side of a near tie). The given tensors are not returned."""
        doc = self._document(float64)
        nodes = doc["nodes"]
        index = {n["name"]: i for i, n in enumerate(nodes) if n["op"] != "null"}
        slots = {}  # (node, output) -> the index of the variable given in its place
        for name in values:
            node, _, k = name.rpartition("_output")
            at = (index[name], 0) if name in index else (index.get(node), int(k)) if k.isdigit() else (None, 0)
            if at[0] is None:
                raise VerificationError(f"MXNet cannot take '{name}' as given: no node writes it")
            slots[at] = len(slots)
        shift = len(slots)
        remap = lambda e: [slots[e[0], e[1]], 0, *e[2:]] if (e[0], e[1]) in slots else [e[0] + shift, *e[1:]]  # noqa: E731
        for n in nodes:
            n["inputs"] = [remap(e) for e in n.get("inputs", [])]
        heads = [remap(e) for e in doc["heads"]]
        doc["nodes"] = [{"op": "null", "name": f"{name}__given", "inputs": []} for name in values] + nodes
        doc["arg_nodes"] = [i for i, n in enumerate(doc["nodes"]) if n["op"] == "null"]
        doc.pop("node_row_ptr", None)
        # every node a head too: what only fed the given tensors stays in the graph
        doc["heads"] = heads + [[i, 0, 0] for i, n in enumerate(doc["nodes"]) if n["op"] != "null"]
        fed = {f"{name}__given": np.asarray(value) for name, value in values.items()}
        mx = self.mx
        with quiet():
            symbol = mx.sym.load_json(json.dumps(doc))
        internals = symbol.get_internals()
        args = set(internals.list_arguments()) | set(internals.list_auxiliary_states())
        names = [n for n in internals.list_outputs() if n not in args and tensor_name(n) not in values]
        if outputs not in ("all", "heads"):
            wanted = set(outputs)
            names = [n for n in names if tensor_name(n) in wanted]
        elif outputs == "heads":
            names = symbol.list_outputs()[: len(heads)]
        if not names:
            return {}
        return self._bind(mx.sym.Group([internals[n] for n in names]), names, {**feeds, **fed},
                          "float64" if float64 else "float32")

    def run_float64(self, feeds: dict[str, np.ndarray], outputs="all") -> dict[str, np.ndarray]:
        """The same run with inputs, weights and so every operator in float64: MXNet's own float32
        result is this far from the exact one (verify's measure of float32 noise). Nodes that make
        float32 values (``Cast``, ``_arange``, ``zeros``... with ``dtype='float32'``, argsort's
        indices by default: GluonCV casts an image size to clip boxes) make float64 ones here.
        Raises VerificationError where an operator has no float64 kernel."""
        return self._run(feeds, outputs, "float64")

    @cached_property
    def _json(self) -> str:
        """The symbol as JSON (its names as modelport's, after any cut), written once."""
        return self.symbol.tojson()

    @cached_property
    def _nodes(self) -> list[dict]:
        """The symbol's nodes, parsed once (read only: ``_document`` gives a copy to change)."""
        return json.loads(self._json)["nodes"]

    def _document(self, float64: bool) -> dict:
        """The symbol's JSON, a fresh copy; for a float64 run with every ``dtype='float32'`` attribute
        float64."""
        doc = json.loads(self._json)
        if float64:
            for node in doc["nodes"]:
                attrs = node.setdefault("attrs", {})
                if attrs.get("dtype") in ("float32", "'float32'", "np.float32") or (
                        "dtype" not in attrs and node["op"] in _FLOAT32_BY_DEFAULT):
                    attrs["dtype"] = "float64"
        return doc

    def _run(self, feeds: dict[str, np.ndarray], outputs, dtype: str) -> dict[str, np.ndarray]:
        mx = self.mx
        symbol, internals = self.symbol, self.internals
        if dtype == "float64":
            if self._wide is None:
                with quiet():
                    wide = mx.sym.load_json(json.dumps(self._document(True)))
                self._wide = (wide, wide.get_internals())
            symbol, internals = self._wide
        sym = internals if outputs != "heads" else symbol
        names = self._internal_names if outputs != "heads" else symbol.list_outputs()
        if outputs not in ("all", "heads"):
            wanted = set(outputs)
            names = [n for n in self._internal_names if tensor_name(n) in wanted]
            sym = mx.sym.Group([internals[n] for n in names])
        elif outputs == "all":
            sym = mx.sym.Group([internals[n] for n in names])
        return self._bind(sym, names, feeds, dtype)

    def _bind(self, sym, names: list[str], feeds: dict[str, np.ndarray], dtype: str) -> dict[str, np.ndarray]:
        mx = self.mx
        reads = set(sym.list_arguments())  # a part that does not depend on an input does not take it
        taken = {k: v for k, v in feeds.items() if k in reads}
        shapes = {k: v.shape for k, v in taken.items()}
        with quiet():
            arg_shapes, _, _ = sym.infer_shape_partial(**shapes)
        cast = (lambda a: a) if dtype == "float32" else (lambda a: a.astype(dtype) if a.dtype == np.float32 else a)  # noqa: E731
        args = {k: mx.nd.array(v, dtype=dtype if v.dtype == np.float32 else v.dtype) for k, v in taken.items()}
        for name, shape in zip(sym.list_arguments(), arg_shapes):
            if name in self.args:
                args[name] = cast(self.args[name])
            elif name not in args:
                args[name] = mx.nd.zeros(shape, dtype=dtype)
        aux = {k: cast(self.aux[k]) for k in sym.list_auxiliary_states()}
        try:
            with quiet():
                exe = sym.bind(mx.cpu(), args=args, aux_states=aux, grad_req="null")
                exe.forward(is_train=False)
                return {tensor_name(n): o.asnumpy() for n, o in zip(names, exe.outputs)}
        except mx.base.MXNetError as exc:
            raise VerificationError(f"MXNet failed to run the model at "
                                    f"{', '.join(f'{k}:{v.shape}' for k, v in feeds.items())}: "
                                    f"{str(exc).strip().splitlines()[0][:300]}") from None
