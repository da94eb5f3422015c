"""Run an ONNX model in onnxruntime, exposing every intermediate value.

Intermediate values are added to the graph outputs (their types come from the
model's value_info, completed by ONNX shape inference); graph optimizations are
disabled so nothing is fused away. Asked for some values by name, a session exposing
only those runs instead (the others freed as it goes: verify's bounded mode).
Initializers listed as inputs (old exporters) are weights, not inputs.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx

from modelport.errors import VerificationError


def _ort():
    try:
        import onnxruntime as ort
    except ImportError as exc:  # pragma: no cover
        raise VerificationError(f"verification needs onnxruntime ({exc}): pip install onnxruntime") from None
    return ort


def _read(path) -> onnx.ModelProto:
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise VerificationError(f"{path}: file not found")
    try:
        proto = onnx.load(str(path))
    except Exception as exc:  # noqa: BLE001 - protobuf's DecodeError and friends
        raise VerificationError(f"{path}: not an ONNX model ({type(exc).__name__}); truncated or another file type?") from None
    if not proto.graph.node and not proto.graph.output:
        raise VerificationError(f"{path}: not an ONNX model (no graph: empty or another file type?)")
    return proto


class OnnxRuntimeRunner:
    name = "onnxruntime"

    def __init__(self, model: str | Path | onnx.ModelProto):
        self.ort = _ort()
        self.model = _read(model) if not isinstance(model, onnx.ModelProto) else model
        graph = self.model.graph
        inits = {i.name for i in graph.initializer}
        self._inputs = [i.name for i in graph.input if i.name not in inits]
        self._order = [o for node in graph.node for o in node.output if o]
        self._heads = [o.name for o in graph.output]
        self._sessions: dict = {}
        self._subset = None  # (name set, session): see _subset_session
        self._accepted: dict = {}

    def input_names(self) -> list[str]:
        return list(self._inputs)

    def order(self) -> list[str]:
        return list(self._order)

    def head_names(self) -> list[str]:
        return list(self._heads)

    def input_dims(self) -> dict[str, tuple | None]:
        dims = {}
        for value in self.model.graph.input:
            if value.name in self._inputs:
                t = value.type.tensor_type
                dims[value.name] = (tuple(d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim)
                                    if t.HasField("shape") else None)
        return dims

    def input_types(self) -> dict[str, np.dtype]:
        from onnx.helper import tensor_dtype_to_np_dtype

        return {v.name: tensor_dtype_to_np_dtype(v.type.tensor_type.elem_type)
                for v in self.model.graph.input if v.name in self._inputs}

    def accepts(self, shapes: dict[str, tuple]) -> bool:
        """Runs the model's outputs once on zeros of these shapes."""
        key = tuple(sorted(shapes.items()))
        if key not in self._accepted:
            types = self.input_types()
            try:
                feeds = {k: np.zeros(s, types.get(k, np.float32)) for k, s in shapes.items()}
                self._session(expose_all=False).run(None, feeds)
                self._accepted[key] = True
            except Exception:  # noqa: BLE001 - a refused shape, whatever ORT raises
                self._accepted[key] = False
        return self._accepted[key]

    def op_of(self) -> dict[str, str]:
        return {o: n.op_type for n in self.model.graph.node for o in n.output}

    def node_of(self, tensor: str):
        """The ONNX node producing ``tensor``: attributes as Python values, constant inputs as arrays."""
        from onnx import helper, numpy_helper

        from modelport.runtimes import NodeInfo

        if not hasattr(self, "_producers"):
            graph = self.model.graph
            self._producers = {o: n for n in graph.node for o in n.output if o}
            self._inits = {i.name: i for i in graph.initializer}
        node = self._producers.get(tensor)
        if node is None:
            return None
        weights = {}
        for name in node.input:
            if name in self._inits:
                weights[name] = numpy_helper.to_array(self._inits[name])
            elif name in self._producers and self._producers[name].op_type == "Constant":
                const = self._producers[name]
                value = next((a for a in const.attribute if a.name == "value"), None)
                if value is not None:
                    weights[name] = numpy_helper.to_array(value.t)
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        attrs = {k: v.decode() if isinstance(v, bytes) else v for k, v in attrs.items()}
        return NodeInfo(node.op_type, node.name, list(node.input), list(node.output), attrs, weights)

    def absorbed(self) -> dict[str, tuple[str, str]]:
        from modelport.ir.provenance import absorbed

        return absorbed(self.model.metadata_props)

    def _value_types(self) -> dict[str, onnx.ValueInfoProto]:
        """Types of every value: the model's value_info, completed by shape inference on a
        weight-free copy of the graph (initializers declared as typed inputs)."""
        if getattr(self, "_typed", None) is not None:
            return self._typed
        graph = self.model.graph
        typed = {v.name: v for v in graph.value_info}
        if all(name in typed for name in self._order):
            self._typed = typed
            return typed
        from modelport.ir.proto import weightless

        light = weightless(self.model)
        try:
            light = onnx.shape_inference.infer_shapes(light)
        except Exception:  # noqa: BLE001 - keep what the model already declares
            light = None
        self._typed = typed if light is None else {v.name: v for v in light.graph.value_info}
        return self._typed

    def _session(self, expose_all: bool):
        if expose_all not in self._sessions:
            self._sessions[expose_all] = self._build(self._order if expose_all else [])
        return self._sessions[expose_all]

    def _subset_session(self, wanted: set[str]):
        """A session whose graph outputs are the model's heads and those of ``wanted`` it can type:
        asked for a few values, onnxruntime then frees every other intermediate as it goes, where the
        all-exposing session keeps each one to the end. The last one built is kept (one name set)."""
        typed = self._value_types()
        names = [n for n in self._order if n in wanted and n in typed]
        key = frozenset(names)
        if self._subset is None or self._subset[0] != key:
            self._subset = None  # the previous one goes before the next is built
            self._subset = (key, self._build(names, arena=False))
        return self._subset[1]

    def _build(self, extra: list[str], arena: bool = True):
        """A session exposing the heads and ``extra``; without ``arena`` its run's memory goes back
        when the run ends (a kept session's arena otherwise holds its peak)."""
        outputs = list(self.model.graph.output)
        if extra:
            typed = self._value_types()
            present = set(self._heads)
            for name in extra:
                if name not in present and name in typed:
                    self.model.graph.output.append(typed[name])
                    present.add(name)
        opts = self.ort.SessionOptions()
        opts.graph_optimization_level = self.ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        opts.log_severity_level = 3
        opts.enable_cpu_mem_arena = arena
        try:
            raw = self.model.SerializeToString()
        finally:
            del self.model.graph.output[:]
            self.model.graph.output.extend(outputs)
        try:
            return self.ort.InferenceSession(raw, opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - ORT raises its own types
            raise VerificationError(f"onnxruntime cannot load the model: {str(exc).splitlines()[0]}") from None

    def run(self, feeds: dict[str, np.ndarray], outputs="all") -> dict[str, np.ndarray]:
        """``outputs`` as names that leave out some of what the model computes: a session exposing only
        them (``_subset_session``), so that the others are freed as the run goes (verify's bounded mode)."""
        subset = outputs not in ("all", "heads") and not set(self._order) <= set(outputs)
        sess = self._subset_session(set(outputs)) if subset else self._session(expose_all=outputs != "heads")
        names = [o.name for o in sess.get_outputs()]
        if outputs not in ("all", "heads"):
            names = [n for n in names if n in set(outputs)]
        try:
            values = sess.run(names, {k: np.ascontiguousarray(v) for k, v in feeds.items()})
        except Exception as exc:  # noqa: BLE001
            raise VerificationError(f"onnxruntime failed to run: {str(exc).splitlines()[0]}") from None
        return dict(zip(names, values))
