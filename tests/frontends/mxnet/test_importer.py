"""Graph-level behaviour of the importer: inputs vs weights vs labels, names, edges."""
import json
import re

import mxnet as mx
import numpy as np
import pytest

from modelport.errors import ConversionError
from modelport.frontends.mxnet.importer import MXNetImporter
from modelport.frontends.mxnet.reader import parse_symbol
from oracle import convert_symbol, random_params, roundtrip, run_mxnet, run_onnx


def test_pitfall_7_weights_vs_inputs_and_labels():
    data, mask = mx.sym.var("data"), mx.sym.var("mask")
    x = mx.sym.FullyConnected(data, num_hidden=6, name="fc")
    x = mx.sym.broadcast_mul(x, mask, name="masked")
    sym = mx.sym.SoftmaxOutput(x, name="softmax")
    assert "softmax_label" in sym.list_arguments()
    shapes = {"data": (2, 5), "mask": (2, 6)}
    args, aux = random_params(sym, shapes)
    proto = convert_symbol(sym, args, aux, input_shapes=shapes)
    assert [i.name for i in proto.graph.input] == ["data", "mask"]
    assert {i.name for i in proto.graph.initializer} == {"fc_weight", "fc_bias"}
    roundtrip(sym, shapes, args, aux)


def test_pitfall_8_weights_resolved_by_edges_not_names():
    # A BatchNorm named 'fc1' after a FullyConnected named 'pre_fc1' (InsightFace heads), and a PReLU
    # whose slope is '<layer>_gamma' like a BatchNorm gamma: matching weights by name breaks here.
    data = mx.sym.var("data")
    x = mx.sym.FullyConnected(data, num_hidden=8, name="pre_fc1")
    x = mx.sym.BatchNorm(x, fix_gamma=False, eps=2e-5, name="fc1")
    x = mx.sym.LeakyReLU(x, act_type="prelu", gamma=mx.sym.var("fc1_relu_gamma"), name="fc1_relu")
    sym = mx.sym.FullyConnected(x, num_hidden=3, weight=mx.sym.var("pre_fc1_weight_2"), name="out")
    roundtrip(sym, {"data": (2, 5)}, run_shapes=[{"data": (2, 5)}, {"data": (3, 5)}])


def test_shared_weight_used_by_two_layers():
    data = mx.sym.var("data")
    w = mx.sym.var("shared_weight")
    a = mx.sym.Convolution(data, weight=w, kernel=(3, 3), num_filter=3, no_bias=True, pad=(1, 1), name="a")
    sym = mx.sym.Convolution(a, weight=w, kernel=(3, 3), num_filter=3, no_bias=True, pad=(1, 1), name="b")
    proto = roundtrip(sym, {"data": (1, 3, 9, 9)})
    assert [i.name for i in proto.graph.initializer] == ["shared_weight"]


def test_tensor_names_follow_mxnet_names():
    data = mx.sym.var("data")
    x = mx.sym.Convolution(data, kernel=(1, 1), num_filter=4, name="conv0")
    parts = mx.sym.SliceChannel(x, num_outputs=2, name="split")
    sym = mx.sym.Group([mx.sym.Activation(parts[0], act_type="relu", name="r0"), parts[1]])
    args, aux = random_params(sym, {"data": (1, 3, 5, 5)})
    proto = convert_symbol(sym, args, aux)
    names = {o for n in proto.graph.node for o in n.output}
    assert {"conv0", "split_output0", "split_output1", "r0"} <= names
    internals = [n[: -len("_output")] if n.endswith("_output") else n for n in sym.get_internals().list_outputs()]
    assert {"conv0", "split_output0", "split_output1", "r0"} <= set(internals)


def test_unnamed_params_follow_variable_order():
    data = mx.sym.var("data")
    sym = mx.sym.FullyConnected(data, num_hidden=3, name="fc")
    args, aux = random_params(sym, {"data": (1, 4)})
    graph = parse_symbol(json.loads(sym.tojson()))
    unnamed = {"0": args["fc_weight"].asnumpy(), "1": args["fc_bias"].asnumpy()}
    model = MXNetImporter(graph, unnamed).convert()
    import onnx_ir as ir
    feeds = {"data": np.ones((1, 4), np.float32)}
    np.testing.assert_allclose(run_onnx(ir.to_proto(model), feeds)[0], run_mxnet(sym, args, aux, feeds)[0], rtol=1e-5)


def test_unknown_attribute_is_reported():
    sym = mx.sym.Convolution(mx.sym.var("data"), kernel=(1, 1), num_filter=2, name="c")
    doc = json.loads(sym.tojson())
    doc["nodes"][-1]["attrs"]["frobnicate"] = "1"
    args, _ = random_params(sym, {"data": (1, 2, 3, 3)})
    params = {f"arg:{k}": v.asnumpy() for k, v in args.items()}
    with pytest.raises(ConversionError, match=r"node 'c' \(Convolution\): unknown attribute\(s\) frobnicate"):
        MXNetImporter(parse_symbol(doc), params).convert()


def test_input_shape_for_unknown_input_name_is_reported():
    sym = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=2, name="fc")
    args, aux = random_params(sym, {"data": (1, 3)})
    with pytest.raises(ConversionError, match="--input names 'image'"):
        convert_symbol(sym, args, aux, input_shapes={"image": (1, 3)})


def _doc_and_params(sym, shapes):
    args, aux = random_params(sym, shapes)
    params = {f"arg:{k}": v.asnumpy() for k, v in args.items()}
    params.update({f"aux:{k}": v.asnumpy() for k, v in aux.items()})
    return json.loads(sym.tojson()), params


def test_malformed_graphs_give_one_clear_error():
    sym = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=3, name="fc"), name="sm")
    doc, params = _doc_and_params(sym, {"data": (1, 4)})
    ids = {n["name"]: i for i, n in enumerate(doc["nodes"])}
    cases = {
        "is a label input": lambda d: d["heads"].append([ids["sm_label"], 0, 0]),
        "has no output #5": lambda d: d["heads"].__setitem__(0, [ids["fc"], 5, 0]),
        # an operator named like a variable is renamed (fc__2); two variables of one name are refused
        "2 variables are named 'fc_weight'": lambda d: d["nodes"][ids["fc_bias"]].__setitem__("name", "fc_weight"),
        "expects an input #2, the graph gives 2": lambda d: d["nodes"][ids["fc"]]["inputs"].pop(),
        "attribute 'num_hidden' is not an integer": lambda d: d["nodes"][ids["fc"]]["attrs"].__setitem__("num_hidden", "inf"),
    }
    for message, damage in cases.items():
        broken = json.loads(json.dumps(doc))
        damage(broken)
        with pytest.raises(ConversionError, match=re.escape(message)):
            MXNetImporter(parse_symbol(broken), params).convert()


def test_head_on_a_weight_is_a_constant_output():
    data = mx.sym.var("data")
    w = mx.sym.var("fc_weight")
    sym = mx.sym.Group([mx.sym.FullyConnected(data, weight=w, num_hidden=2, name="fc"), w])
    args, aux = random_params(sym, {"data": (1, 3)})
    proto = convert_symbol(sym, args, aux)
    got = run_onnx(proto, {"data": np.ones((1, 3), np.float32)})
    np.testing.assert_array_equal(got[1], args["fc_weight"].asnumpy())


@pytest.mark.parametrize("attrs,message", [
    ({"num_group": "0"}, "must be positive"),
    ({"kernel": "(0, 3)"}, "must be positive"),
    ({"num_filter": "3", "num_group": "2"}, "not divisible"),
])
def test_senseless_convolution_attributes(attrs, message):
    for op in ("Convolution", "Deconvolution"):
        sym = getattr(mx.sym, op)(mx.sym.var("data"), kernel=(3, 3), num_filter=4, name="c")
        doc, params = _doc_and_params(sym, {"data": (1, 4, 8, 8)})
        doc["nodes"][-1]["attrs"].update(attrs)
        with pytest.raises(ConversionError, match=message):
            MXNetImporter(parse_symbol(doc), params).convert()


def _reused_block(folder):
    """A block called twice, as GluonCV's Mask R-CNN calls its stage-4 block for the box and the
    mask head: both calls name their nodes 'blk' and 'act' and share blk's weights; a third,
    unrelated Convolution is also called 'blk' with weights of its own and another shape."""
    data = mx.sym.var("data")
    w, b = mx.sym.var("blk_weight"), mx.sym.var("blk_bias")
    first = mx.sym.Activation(mx.sym.Convolution(data, w, b, kernel=(3, 3), num_filter=4, pad=(1, 1), name="blk"),
                              act_type="relu", name="act")
    pooled = mx.sym.Pooling(data, kernel=(2, 2), stride=(2, 2), pool_type="max", name="pool")
    second = mx.sym.Activation(mx.sym.Convolution(pooled, w, b, kernel=(3, 3), num_filter=4, pad=(1, 1), name="blk"),
                               act_type="relu", name="act")
    third = mx.sym.Convolution(second, mx.sym.var("other_weight"), kernel=(1, 1), num_filter=2, no_bias=True,
                               name="blk")
    sym = mx.sym.Group([first, third])
    rng = np.random.default_rng(0)
    args = {"blk_weight": rng.normal(0, 0.5, (4, 3, 3, 3)), "blk_bias": rng.normal(0, 0.5, 4),
            "other_weight": rng.normal(0, 0.5, (2, 4, 1, 1))}
    mx.model.save_checkpoint(str(folder / "reuse"), 0, sym, {k: mx.nd.array(v) for k, v in args.items()}, {})
    return sym, folder / "reuse-symbol.json", folder / "reuse-0000.params"


def test_nodes_sharing_a_name_are_renamed_in_graph_order(tmp_path):
    sym, symbol, params = _reused_block(tmp_path)
    graph = parse_symbol(json.loads(symbol.read_text()))
    ops = [n.name for n in graph.nodes if not n.is_variable]
    assert ops == ["blk", "act", "pool", "blk__2", "act__2", "blk__3"]
    assert graph.renamed == {"blk__2": "blk", "act__2": "act", "blk__3": "blk"}
    args, aux = random_params(sym, {"data": (1, 3, 8, 8)})
    proto = convert_symbol(sym, args, aux, input_shapes={"data": (1, 3, 8, 8)})
    assert [o.name for o in proto.graph.output] == ["act", "blk__3"]
    assert {i.name for i in proto.graph.initializer} == {"blk_weight", "blk_bias", "other_weight"}
    roundtrip(sym, {"data": (1, 3, 8, 8)}, args, aux)


def test_nodes_sharing_a_name_verify_each_against_its_own(tmp_path):
    """verify compares every occurrence with its own MXNet counterpart (shapes differ: 8x8, 4x4, 2 channels)."""
    import modelport
    _, symbol, params = _reused_block(tmp_path)
    shape = (1, 3, 8, 8)
    result = modelport.convert(symbol, params, output_dir=tmp_path / "out", inputs={"data": shape}, optimize=False)
    report = modelport.verify(symbol, result.files[0], params, shapes=[{"data": shape}], extra_shapes=False)
    assert report.ok
    rows = {r.name: r for r in report.runs[0].comparison.rows}
    assert set(rows) == {"blk", "act", "pool", "blk__2", "act__2", "blk__3"}
    assert rows["blk"].ref_shape == (1, 4, 8, 8) and rows["blk__2"].ref_shape == (1, 4, 4, 4)
    assert rows["blk__3"].ref_shape == rows["blk__3"].got_shape == (1, 2, 4, 4)
    assert report.runs[0].comparison.missing == []


def test_inspect_names_the_renamed_nodes(tmp_path):
    from modelport.frontends.mxnet.findings import shared_names
    _, symbol, _ = _reused_block(tmp_path)
    [text] = shared_names(parse_symbol(json.loads(symbol.read_text())), {})
    assert "3 nodes share their names" in text and "blk -> blk__2" in text


def test_variables_sharing_a_name_are_still_refused():
    x = mx.sym.broadcast_add(mx.sym.var("data"), mx.sym.var("data"), name="twice")
    graph = parse_symbol(json.loads(x.tojson()))
    with pytest.raises(ConversionError, match="2 variables are named 'data'"):
        MXNetImporter(graph, {}, input_shapes={"data": (2, 3)}).convert()
