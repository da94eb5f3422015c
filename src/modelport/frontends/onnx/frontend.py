"""The ONNX frontend: an ``.onnx`` file into the IR at modelport's opset.

Input sizes: the model's own dims are kept (symbolic ones stay free) unless
``--input NAME:DIMS`` gives them; then they are fixed, so that shape arithmetic
(Shape -> Gather -> Concat -> Reshape chains of PyTorch exports) folds to constants
in the target's passes, and every declared shape that uses the same symbolic dim name
(PyTorch's dynamic_axes: ``batch`` on input and outputs) takes the given size.
``--static`` requires every free dim to be given. Graph outputs declared without a shape
(onnxruntime runs them, onnx.checker refuses them) get the one ONNX infers.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from modelport.errors import ConversionError
from modelport.frontends.registry import Loaded, frontend
from modelport.text import plural


def reference(source: Path, weights: Path | None = None, outputs: list[str] | None = None):
    """onnxruntime running the original file."""
    from modelport.runtimes.onnxruntime_runner import OnnxRuntimeRunner

    return OnnxRuntimeRunner(source)


def _findings(proto, upgraded_from: int | None, weight_inputs: list[str]) -> list[str]:
    found = []
    if upgraded_from is not None:
        found.append(f"opset {upgraded_from} upgraded to the IR's opset with onnx's version converter")
    if weight_inputs:
        found.append(f"{plural(len(weight_inputs), 'initializer is', 'initializers are')} also listed as graph inputs (old exporters): "
                     "treated as weights, not inputs (PITFALL 7)")
    ops = Counter(n.op_type for n in proto.graph.node)
    pools = [n for n in proto.graph.node if n.op_type in ("MaxPool", "AveragePool")
             and not any(a.name == "ceil_mode" and a.i for a in n.attribute)]
    if pools:
        found.append(f"{plural(len(pools), 'pooling layer uses', 'pooling layers use')} floor rounding (Caffe pools with ceil) (PITFALL 16)")
    if ops.get("Clip"):
        found.append(f"{plural(ops['Clip'], 'Clip (ReLU6-like) layer')}: classic Caffe and NNIE lack Clip (PITFALL 17)")
    if ops.get("Gemm") or ops.get("MatMul"):
        found.append("Gemm/MatMul on flattened features: targets with an implicit flatten need 2-D input (PITFALL 18)")
    return found


def _set_shapes(model, inputs: dict, dynamic: bool, source: Path) -> None:
    import onnx_ir as ir

    graph_inputs = {v.name: v for v in model.graph.inputs}
    named: dict[str, set[int]] = {}  # the model's symbolic dim names -> the sizes given for them
    problems = [f"--input names '{name}', but the model's inputs are: {', '.join(graph_inputs)}"
                for name in inputs if name not in graph_inputs]
    for name, dims in inputs.items():
        value = graph_inputs.get(name)
        if value is None:
            continue
        if value.shape is not None and len(value.shape) != len(dims):
            problems.append(f"--input {name}: {len(dims)} dims given, the model's input has rank {len(value.shape)} "
                            f"({'x'.join(str(d) if isinstance(d, int) else '?' for d in value.shape.dims)})")
            continue
        fixed = [d if isinstance(d, int) else None for d in (value.shape.dims if value.shape is not None else dims)]
        clash = [f"axis {i} is {f} (given {d})" for i, (d, f) in enumerate(zip(dims, fixed)) if f is not None and f != d]
        if clash:
            problems.append(f"--input {name}: the model fixes its sizes: {', '.join(clash)}")
            continue
        for old, new in zip(value.shape.dims if value.shape is not None else (), dims):
            if isinstance(old, ir.SymbolicDim) and old.value:
                named.setdefault(old.value, set()).add(new)
        value.shape = ir.Shape(list(dims))
    _name_dims(model, {k: v.pop() for k, v in named.items() if len(v) == 1})
    if not dynamic:
        problems += [f"input '{v.name}' has free sizes ({'x'.join(str(d) if isinstance(d, int) else '?' for d in v.shape.dims)}); "
                     f"--static needs them: --input {v.name}:..." for v in model.graph.inputs
                     if v.shape is None or not all(isinstance(d, int) for d in v.shape.dims)]
    if problems:
        raise ConversionError(problems, header=f"{source}: input shapes")


def _name_dims(model, sizes: dict[str, int]) -> None:
    """Every declared shape that uses a symbolic dim the given inputs fixed (PyTorch's dynamic_axes
    share names: input ``batch`` x 3 x H x W, output ``batch`` x 5) takes its size."""
    import onnx_ir as ir

    if not sizes:
        return
    given = lambda d: isinstance(d, ir.SymbolicDim) and d.value in sizes  # noqa: E731
    for value in [*model.graph.outputs, *(v for node in model.graph for v in node.outputs)]:
        if value.shape is not None and any(given(d) for d in value.shape.dims):
            value.shape = ir.Shape([sizes[d.value] if given(d) else d for d in value.shape.dims])


def _type_outputs(proto) -> None:
    """Graph outputs declared without a shape (onnxruntime runs them, onnx.checker refuses them)
    get the shape ONNX infers; the version converter does the same for upgraded models."""
    import onnx

    from modelport.ir.proto import weightless

    bare = [o for o in proto.graph.output if not o.type.tensor_type.HasField("shape")]
    if not bare:
        return
    try:
        inferred = onnx.shape_inference.infer_shapes(weightless(proto)).graph
    except Exception:  # noqa: BLE001 - leave them as they are; the writer's check names the problem
        return
    types = {v.name: v.type for v in [*inferred.value_info, *inferred.output]}
    for output in bare:
        found = types.get(output.name)
        if found is not None and found.tensor_type.HasField("shape"):
            output.type.CopyFrom(found)


@frontend("onnx", suffixes=(".onnx",), describe="an ONNX model", reference=reference)
def load(source: Path, weights: Path | None = None, inputs: dict | None = None, dynamic: bool = True,
         progress=None, outputs: list[str] | None = None) -> Loaded:
    import numpy as np
    import onnx_ir as ir
    from onnx_ir.passes.common import RemoveInitializersFromInputsPass

    from modelport.errors import ModelportError
    from modelport.frontends.onnx.reader import default_opset, read_onnx, upgrade

    if outputs:
        raise ModelportError(f"{source}: --outputs is not supported for ONNX sources yet (MXNet sources only)")
    if weights is not None:
        raise ModelportError(f"{weights}: an ONNX model carries its own weights; give only the .onnx file")
    proto = read_onnx(source)
    original = default_opset(proto)
    inits = {t.name for t in proto.graph.initializer}
    weight_inputs = [i.name for i in proto.graph.input if i.name in inits]
    findings = _findings(proto, original if original != 17 else None, weight_inputs)
    proto = upgrade(proto, source)
    _type_outputs(proto)
    try:
        model = ir.from_proto(proto)
    except Exception as exc:  # noqa: BLE001 - onnx_ir rejects malformed graphs with various errors
        raise ConversionError([str(exc).splitlines()[0][:300]], header=f"{source}: the ONNX graph is malformed") from None
    del proto
    RemoveInitializersFromInputsPass()(model)
    spatial = {v.name: [i for i, d in enumerate(v.shape.dims) if i > 0 and not isinstance(d, int)]
               for v in model.graph.inputs if v.shape is not None}
    _set_shapes(model, dict(inputs or {}), dynamic, source)
    nodes = list(model.graph)
    weights_ = [v.const_value for v in model.graph.initializers.values() if v.const_value is not None]
    return Loaded(
        model, source.stem, source, None, "onnx", Counter(n.op_type for n in nodes),
        [(n.outputs[0].name, n.op_type) for n in nodes if n.outputs],
        param_count=int(sum(np.prod(t.shape.numpy(), dtype=np.int64) for t in weights_)),
        param_bytes=int(sum(t.nbytes for t in weights_)),
        findings=findings, reference=lambda: reference(source), spatial_axes=spatial)
