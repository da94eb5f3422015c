"""The .param/.bin format: header counts, one line per layer, Split layers for blobs read
twice, array parameters, the fp32 tag only before Convolution/InnerProduct weights, fp16
storage only on request; every blob name is the IR tensor name."""
import numpy as np
import onnx
import onnx.numpy_helper
import onnx_ir as ir
from onnx import helper

from modelport.backends.ncnn.writer import FP16_TAG, param_text, plan, write_ncnn
from modelport.backends.ncnn.registry import EMITTERS
from ncnn_support import convert_and_verify, run_ir_in_ncnn
from passes.support import assert_close, feeds_for, init, make_model, run, vinfo

R = np.random.default_rng(9)


def _model():
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("Add", ["c", "r"], ["s"], name="add"),
             helper.make_node("PRelu", ["s", "slope"], ["p"], name="prelu"),
             helper.make_node("Flatten", ["p"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "fw"], ["y"], name="fc", transB=1)]
    inits = [init("w", R.normal(size=(4, 3, 3, 3)).astype(np.float32)), init("b", R.normal(size=4).astype(np.float32)),
             init("slope", R.uniform(0, 0.3, (4, 1, 1)).astype(np.float32)),
             init("fw", R.normal(size=(5, 4 * 5 * 6)).astype(np.float32))]
    proto = make_model(nodes, [vinfo("x", [1, 3, 5, 6])], [vinfo("y", None)], inits)
    return onnx.shape_inference.infer_shapes(proto)


def test_param_header_lines_and_split(tmp_path):
    model = ir.from_proto(_model())
    layers = write_ncnn(model, tmp_path / "m.param", tmp_path / "m.bin")
    lines = (tmp_path / "m.param").read_text().splitlines()
    assert lines[0] == "7767517"
    n_layers, n_blobs = map(int, lines[1].split())
    assert n_layers == len(lines) - 2 == len(layers)
    outs = [b for line in lines[2:] for b in line.split()[4 + int(line.split()[2]):4 + int(line.split()[2]) + int(line.split()[3])]]
    assert n_blobs == len(outs) == len(set(outs))
    types = [line.split()[0] for line in lines[2:]]
    assert types == ["Input", "Convolution", "Split", "ReLU", "BinaryOp", "PReLU", "Flatten", "InnerProduct"]
    split = lines[2 + types.index("Split")].split()
    assert split[4] == "c" and split[5:7] == ["c_splitncnn_0", "c_splitncnn_1"]
    assert {"x", "c", "r", "s", "p", "f", "y"} <= set(outs)


def test_bin_layout_tags_only_before_kernel_weights(tmp_path):
    proto = _model()
    write_ncnn(ir.from_proto(proto), tmp_path / "m.param", tmp_path / "m.bin")
    raw = (tmp_path / "m.bin").read_bytes()
    # conv: tag + 108 weights + 4 bias; prelu: 4 slopes (no tag); fc: tag + 600 weights (no bias)
    assert len(raw) == 4 + 108 * 4 + 4 * 4 + 4 * 4 + 4 + 600 * 4
    words = np.frombuffer(raw, np.uint32)
    assert words[0] == 0 and words[1 + 108 + 4 + 4] == 0
    assert np.array_equal(np.frombuffer(raw, np.float32)[1:109],
                          onnx.numpy_helper.to_array(proto.graph.initializer[0]).ravel())


def test_model_runs_in_ncnn_and_matches_onnxruntime(tmp_path):
    proto = _model()
    feeds = feeds_for(proto)
    got = run_ir_in_ncnn(ir.from_proto(proto), feeds, tmp_path)
    ref = run(proto, feeds)
    assert_close(ref["y"], got["y"])


def test_fp16_storage_only_on_request(tmp_path):
    proto = _model()
    path = tmp_path / "m.onnx"
    onnx.save(proto, str(path))
    plain = tmp_path / "fp32"
    convert_and_verify(path, None, {"x": (1, 3, 5, 6)}, plain)
    assert np.frombuffer((plain / "m.bin").read_bytes()[:4], np.uint32)[0] == 0
    import modelport

    half = modelport.convert(path, to="ncnn", output_dir=tmp_path / "fp16", inputs={"x": (1, 3, 5, 6)},
                             extra={"fp16": True})
    raw = half.files[1].read_bytes()
    assert np.frombuffer(raw[:4], np.uint32)[0] == FP16_TAG
    # conv: tag + 108 fp16 (216 bytes) + 4 fp32 bias; prelu 4 fp32; fc: tag + 600 fp16
    assert len(raw) == 4 + 216 + 16 + 16 + 4 + 1200
    report = modelport.verify(path, half.files[0], shapes=[{"x": (1, 3, 5, 6)}])
    out = report.runs[0].comparison.outputs[0]
    assert out.cosine > 0.999  # fp16 weights: close, not exact
    assert (plain / "m.bin").stat().st_size > len(raw)


def test_fp16_odd_count_is_padded_to_four_bytes(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="conv")]
    proto = onnx.shape_inference.infer_shapes(make_model(
        nodes, [vinfo("x", [1, 1, 4, 4])], [vinfo("y", None)], [init("w", R.normal(size=(1, 1, 3, 1)).astype(np.float32))]))
    layers = write_ncnn(ir.from_proto(proto), tmp_path / "m.param", tmp_path / "m.bin", fp16=True)
    assert (tmp_path / "m.bin").stat().st_size == 4 + 8  # 3 halves = 6 bytes, padded to 8
    assert layers[-1].type == "Convolution"


def test_array_and_float_parameters_are_written_as_ncnn_reads_them():
    from modelport.backends.ncnn.registry import Layer

    text = param_text([Layer("Crop", "c", ["a"], ["b"], {9: [1, 2], 10: [3, 4], 11: [0, 1]}),
                       Layer("Clip", "k", ["b"], ["d"], {0: 0.0, 1: 6, 2: 1e-20, 3: float("inf")})])
    lines = text.splitlines()
    assert lines[1] == "2 2"  # blobs produced by a layer
    assert lines[2].split()[-3:] == ["-23309=2,1,2", "-23310=2,3,4", "-23311=2,0,1"]
    assert lines[3].split()[-4:] == ["0=0.0", "1=6", "2=1e-20", "3=3.4028234663852886e+38"]


def test_every_problem_listed_at_once_with_node_names():
    nodes = [helper.make_node("Erf", ["x"], ["e"], name="erf1"), helper.make_node("Erf", ["e"], ["e2"], name="erf2"),
             helper.make_node("CumSum", ["e2", "ax"], ["y"], name="cumsum")]
    proto = onnx.shape_inference.infer_shapes(make_model(nodes, [vinfo("x", [1, 3, 4])], [vinfo("y", None)],
                                                         [init("ax", np.array(1, np.int64))]))
    _, problems = plan(ir.from_proto(proto))
    assert len(problems) == 2
    assert "Erf" in problems[0] and "erf1, erf2" in problems[0] and "2 node(s)" in problems[0]
    assert "CumSum" in problems[1] and "cumsum" in problems[1]


def test_emitters_are_registered_by_onnx_op_type():
    for op in ["Conv", "ConvTranspose", "Gemm", "MatMul", "BatchNormalization", "MaxPool", "AveragePool",
               "GlobalAveragePool", "Relu", "PRelu", "LeakyRelu", "Clip", "Sigmoid", "Tanh", "Elu", "Softplus",
               "Flatten", "Reshape", "Concat", "Softmax", "Add", "Sub", "Mul", "Div", "Max", "Min", "Pow",
               "Transpose", "Slice", "Split", "Resize", "Pad", "ReduceSum", "ReduceMean", "ReduceMax", "Sqrt",
               "Exp", "Log", "Abs", "Neg", "LRN", "InstanceNormalization"]:
        assert op in EMITTERS, op
        assert "=" in EMITTERS[op].__module__ or __import__(EMITTERS[op].__module__, fromlist=["x"]).__doc__
