"""The ONNX frontend: initializers listed as inputs, --input / --static, shape arithmetic folded
at given sizes, inspect. Every conversion is compared with onnxruntime on the ORIGINAL file.

(File named test_onnx_frontend.py: test modules need unique basenames across tests/frontends.)"""
from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
import pytest
from onnx import helper

import modelport
from modelport.errors import ConversionError, ModelportError
from onnx_frontend_support import B, F, W, assert_same, const, conv_relu, init, make, op_types, ort_run, save, vinfo

RNG = np.random.default_rng(17)
FC = RNG.normal(0, 0.3, (5, 8)).astype(np.float32)
FCB = RNG.normal(0, 0.3, (5,)).astype(np.float32)
GAMMA, BETA = RNG.uniform(0.5, 1.5, 8).astype(np.float32), RNG.normal(0, 0.5, 8).astype(np.float32)
MEAN, VAR = RNG.normal(0, 0.5, 8).astype(np.float32), RNG.uniform(0.5, 2, 8).astype(np.float32)


def x_of(*shape) -> np.ndarray:
    return RNG.normal(0, 1, shape).astype(np.float32)


# --- initializers listed as inputs -----------------------------------------------------------

def weights_as_inputs(opset: int = 9) -> onnx.ModelProto:
    """Old PyTorch exporters: every initializer is also a graph input (ultraface has 244 of them)."""
    proto = make([helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
                  helper.make_node("BatchNormalization", ["c", "g", "be", "m", "v"], ["bn"], epsilon=1e-3),
                  helper.make_node("Relu", ["bn"], ["y"])],
                 [vinfo("x", [1, 3, 8, 8])], [vinfo("y", [1, 8, 8, 8])],
                 [init("w", W), init("b", B), init("g", GAMMA), init("be", BETA), init("m", MEAN), init("v", VAR)],
                 opset=opset)
    proto.graph.input.extend(vinfo(t.name, list(t.dims)) for t in proto.graph.initializer)
    return proto


def test_initializers_listed_as_inputs_become_weights(tmp_path):
    path = save(weights_as_inputs(), tmp_path / "m.onnx")
    loaded = modelport.load(path)
    graph = loaded.model.graph
    assert [v.name for v in graph.inputs] == ["x"]
    assert set(graph.initializers) == {"w", "b", "g", "be", "m", "v"}
    assert any("listed as graph inputs" in f and f.startswith("6 ") for f in loaded.findings), loaded.findings

    result = modelport.convert(path, output_dir=tmp_path / "out")
    written = onnx.load(str(result.files[0]))
    assert [i.name for i in written.graph.input] == ["x"]
    assert "BatchNormalization" not in op_types(result.files[0])  # a weight, not an input: BN folds
    x = x_of(1, 3, 8, 8)
    assert_same(ort_run(path, {"x": x}), ort_run(result.files[0], {"x": x}), atol=1e-4)
    report = modelport.verify(path, result.files[0])
    assert report.ok and ("c", "bn") in report.runs[0].comparison.folded


def test_input_option_cannot_name_a_weight(tmp_path):
    path = save(weights_as_inputs(), tmp_path / "m.onnx")
    with pytest.raises(ConversionError, match="--input names 'w', but the model's inputs are: x$"):
        modelport.convert(path, output_dir=tmp_path / "out", inputs={"w": (8, 3, 3, 3)})


# --- --input and --static --------------------------------------------------------------------

def free_model(tmp_path):
    return save(conv_relu(("N", 3, "H", "W")), tmp_path / "m.onnx")


@pytest.mark.parametrize("inputs, expected", [
    ({"x": (1, 3, 8)}, r"--input x: 3 dims given, the model's input has rank 4"),
    ({"x": (1, 3, 8, 8, 1)}, r"--input x: 5 dims given, the model's input has rank 4"),
    ({"x": (1, 4, 8, 8)}, r"--input x: the model fixes its sizes: axis 1 is 3 \(given 4\)"),
    ({"data": (1, 3, 8, 8)}, r"--input names 'data', but the model's inputs are: x"),
], ids=["rank_low", "rank_high", "fixed_dim_clash", "unknown_name"])
def test_bad_input_option_is_a_conversion_error_naming_the_input(tmp_path, inputs, expected):
    path = free_model(tmp_path)
    with pytest.raises(ConversionError, match=expected) as err:
        modelport.convert(path, output_dir=tmp_path / "out", inputs=inputs)
    assert str(path) in str(err.value)
    assert not (tmp_path / "out").exists()


def test_every_input_problem_is_listed_at_once(tmp_path):
    path = free_model(tmp_path)
    with pytest.raises(ConversionError) as err:
        modelport.convert(path, output_dir=tmp_path / "out", inputs={"x": (1, 4, 8, 8), "z": (1,)})
    assert len(err.value.problems) == 2
    assert "'z'" in err.value.problems[0] and "--input x" in err.value.problems[1]


def test_static_with_free_dims_and_no_input_is_refused(tmp_path):
    path = free_model(tmp_path)
    with pytest.raises(ConversionError, match=r"input 'x' has free sizes \(\?x3x\?x\?\).*--input x:"):
        modelport.convert(path, output_dir=tmp_path / "out", dynamic=False)
    assert not (tmp_path / "out").exists()


def test_static_with_input_given_fixes_every_dim(tmp_path):
    path = free_model(tmp_path)
    result = modelport.convert(path, output_dir=tmp_path / "out", dynamic=False, inputs={"x": (2, 3, 5, 7)})
    dims = [d for d in onnx.load(str(result.files[0])).graph.input[0].type.tensor_type.shape.dim]
    assert [d.dim_value for d in dims] == [2, 3, 5, 7] and not any(d.dim_param for d in dims)
    x = x_of(2, 3, 5, 7)
    assert_same(ort_run(path, {"x": x}), ort_run(result.files[0], {"x": x}))


def test_without_input_the_free_dims_stay_free(tmp_path):
    path = free_model(tmp_path)
    result = modelport.convert(path, output_dir=tmp_path / "out")
    dims = onnx.load(str(result.files[0])).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["N", 3, "H", "W"]
    for shape in ((1, 3, 8, 8), (3, 3, 5, 11)):
        x = x_of(*shape)
        assert_same(ort_run(path, {"x": x}), ort_run(result.files[0], {"x": x}))


def test_a_params_file_is_refused_for_onnx(tmp_path):
    path = free_model(tmp_path)
    with pytest.raises(ModelportError, match="carries its own weights"):
        modelport.convert(path, tmp_path / "m-0000.params", output_dir=tmp_path / "out")


# --- PyTorch's x.view(x.size(0), -1) ---------------------------------------------------------

def flatten_chain(opset: int) -> onnx.ModelProto:
    """Conv -> Relu -> GlobalAveragePool -> view(size(0), -1) -> Gemm, exported as PyTorch does:
    Shape -> Gather(0) -> Unsqueeze -> Concat([n, -1]) -> Reshape, with N, H, W free."""
    unsqueeze = (helper.make_node("Unsqueeze", ["n"], ["n1"], axes=[0]) if opset < 13 else
                 helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"]))
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("GlobalAveragePool", ["r"], ["p"]),
             helper.make_node("Shape", ["p"], ["s"]),
             const("zero", np.array(0, np.int64)),
             helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
             *([const("axes0", np.array([0], np.int64))] if opset >= 13 else []),
             unsqueeze,
             const("minus1", np.array([-1], np.int64)),
             helper.make_node("Concat", ["n1", "minus1"], ["shape"], axis=0),
             helper.make_node("Reshape", ["p", "shape"], ["flat"]),
             helper.make_node("Gemm", ["flat", "fc", "fcb"], ["y"], transB=1)]
    return make(nodes, [vinfo("x", ["N", 3, "H", "W"])], [vinfo("y", ["N", 5])],
                [init("w", W), init("b", B), init("fc", FC), init("fcb", FCB)], opset=opset)


CHAIN = {"Shape", "Gather", "Unsqueeze", "Concat", "Constant"}


@pytest.mark.parametrize("opset", [9, 11, 17])
def test_flatten_shape_arithmetic_folds_when_the_input_is_given(tmp_path, opset):
    path = save(flatten_chain(opset), tmp_path / "m.onnx")
    result = modelport.convert(path, output_dir=tmp_path / "out", inputs={"x": (2, 3, 9, 7)})
    ops = op_types(result.files[0])
    assert ops == ["Conv", "Relu", "GlobalAveragePool", "Reshape", "Gemm"], ops
    written = onnx.load(str(result.files[0]))
    reshape = next(n for n in written.graph.node if n.op_type == "Reshape")
    shape = next(t for t in written.graph.initializer if t.name == reshape.input[1])
    np.testing.assert_array_equal(onnx.numpy_helper.to_array(shape), [2, -1])
    x = x_of(2, 3, 9, 7)
    assert_same(ort_run(path, {"x": x}), ort_run(result.files[0], {"x": x}))
    report = modelport.verify(path, result.files[0])
    assert report.ok and {r.name for r in report.runs[0].comparison.outputs} == {"y"}


def test_flatten_shape_arithmetic_stays_while_the_batch_is_free(tmp_path):
    path = save(flatten_chain(11), tmp_path / "m.onnx")
    result = modelport.convert(path, output_dir=tmp_path / "out")
    ops = Counter(op_types(result.files[0]))
    assert ops["Shape"] == 1 and ops["Reshape"] == 1
    for shape in ((1, 3, 8, 8), (4, 3, 13, 6)):
        x = x_of(*shape)
        assert_same(ort_run(path, {"x": x}), ort_run(result.files[0], {"x": x}))


# --- inspect ---------------------------------------------------------------------------------

def inspect_model() -> onnx.ModelProto:
    """Conv(+BN) -> Relu -> MaxPool -> Flatten -> Gemm, initializers partly listed as inputs,
    plus an int64 initializer (counted: it is an initializer too)."""
    proto = make([helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
                  helper.make_node("BatchNormalization", ["c", "g", "be", "m", "v"], ["bn"]),
                  helper.make_node("Relu", ["bn"], ["r"]),
                  helper.make_node("MaxPool", ["r"], ["mp"], kernel_shape=[2, 2], strides=[2, 2]),
                  helper.make_node("Reshape", ["mp", "shape"], ["flat"]),
                  helper.make_node("Gemm", ["flat", "fc", "fcb"], ["y"], transB=1)],
                 [vinfo("x", ["N", 3, 4, 4])], [vinfo("y", ["N", 5])],
                 [init("w", W), init("b", B), init("g", GAMMA), init("be", BETA), init("m", MEAN), init("v", VAR),
                  init("shape", np.array([-1, 32], np.int64)),
                  init("fc", RNG.normal(0, 0.3, (5, 32)).astype(np.float32)), init("fcb", FCB)], opset=11)
    proto.graph.input.extend(vinfo(t.name, list(t.dims)) for t in proto.graph.initializer[:3])
    return proto


def _ort_shapes(proto: onnx.ModelProto, feeds: dict) -> dict[str, tuple]:
    """Every node output's shape, as onnxruntime computes it on the original graph."""
    probe = onnx.ModelProto()
    probe.CopyFrom(proto)
    del probe.graph.output[:]
    elem = {n.output[0]: F for n in probe.graph.node}
    probe.graph.output.extend(helper.make_tensor_value_info(name, t, None) for name, t in elem.items())
    return {k: v.shape for k, v in ort_run(probe, feeds).items()}


def test_inspect_gives_ops_shapes_and_the_parameter_count(tmp_path):
    proto = inspect_model()
    path = save(proto, tmp_path / "m.onnx")
    info = modelport.inspect(path, inputs={"x": (2, 3, 4, 4)})
    assert info.framework == "onnx"
    assert info.ops == Counter(n.op_type for n in proto.graph.node)
    assert info.param_count == sum(int(np.prod(t.dims)) for t in proto.graph.initializer)
    assert info.param_count == 8 * 27 + 8 + 4 * 8 + 2 + 5 * 32 + 5  # w, b, BN, reshape shape, fc, fc bias
    assert info.param_bytes == sum(onnx.numpy_helper.to_array(t).nbytes for t in proto.graph.initializer)
    assert info.inputs == {"x": (2, 3, 4, 4)}
    assert info.outputs == ["y"]
    expected = _ort_shapes(proto, {"x": x_of(2, 3, 4, 4)})
    shapes = {layer.name: tuple(layer.shape) for layer in info.layers}
    assert shapes.keys() == expected.keys()
    assert shapes == expected
    assert [layer.op for layer in info.layers] == [n.op_type for n in proto.graph.node]
    assert any("listed as graph inputs" in f for f in info.findings)
    assert any("floor rounding" in f for f in info.findings)
    assert any("opset 11 upgraded" in f for f in info.findings)


def test_inspect_without_inputs_keeps_the_free_dims_by_name(tmp_path):
    path = save(inspect_model(), tmp_path / "m.onnx")
    info = modelport.inspect(path)
    shapes = {layer.name: tuple(layer.shape) for layer in info.layers}
    assert info.inputs == {"x": ("N", 3, 4, 4)}
    assert shapes["r"] == ("N", 8, 4, 4) and shapes["mp"] == ("N", 8, 2, 2) and shapes["y"][1] == 5


def test_inspect_shape_of_a_reshape_to_an_initializer_shape(tmp_path):
    proto = inspect_model()
    info = modelport.inspect(save(proto, tmp_path / "m.onnx"), inputs={"x": (2, 3, 4, 4)})
    flat = next(layer for layer in info.layers if layer.name == "flat")
    assert tuple(flat.shape) == _ort_shapes(proto, {"x": x_of(2, 3, 4, 4)})["flat"] == (2, 32)


# --- declared shapes -------------------------------------------------------------------------

def test_an_output_declared_without_a_shape_gets_the_inferred_one(tmp_path):
    """onnxruntime runs such a model; onnx.checker refuses it, so the converted file must not have it."""
    proto = make([helper.make_node("Relu", ["x"], ["y"])], [vinfo("x", ["N", 3])], [vinfo("y", None)])
    path = save(proto, tmp_path / "m.onnx")
    result = modelport.convert(path, output_dir=tmp_path / "out")
    onnx.checker.check_model(str(result.files[0]), full_check=True)
    dims = onnx.load(str(result.files[0])).graph.output[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["N", 3]
    x = x_of(4, 3)
    assert_same(ort_run(path, {"x": x}), ort_run(result.files[0], {"x": x}))


def test_given_sizes_replace_the_same_symbolic_dims_on_the_outputs(tmp_path):
    """PyTorch's dynamic_axes name the batch alike on input and output: --input fixes both."""
    path = save(inspect_model(), tmp_path / "m.onnx")  # x: N x 3 x 4 x 4 -> y: N x 5
    result = modelport.convert(path, output_dir=tmp_path / "out", inputs={"x": (2, 3, 4, 4)}, dynamic=False)
    dims = onnx.load(str(result.files[0])).graph.output[0].type.tensor_type.shape.dim
    assert [(d.dim_value, d.dim_param) for d in dims] == [(2, ""), (5, "")]
    x = x_of(2, 3, 4, 4)
    assert_same(ort_run(path, {"x": x}), ort_run(result.files[0], {"x": x}), atol=1e-4)
    info = modelport.inspect(path, inputs={"x": (3, 3, 4, 4)})
    assert next(layer for layer in info.layers if layer.name == "y").shape == (3, 5)
