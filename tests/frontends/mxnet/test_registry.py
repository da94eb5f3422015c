"""Op facts live in each op's registration; shapes, findings and attrs read them from the registry."""
import numpy as np
import pytest

from modelport.errors import ConversionError
from modelport.frontends.mxnet.findings import heads, preprocessing
from modelport.frontends.mxnet.reader import parse_symbol
from modelport.frontends.mxnet.registry import FLAGS, OpSpec, load_all, mxnet_op, ops_with, schema_name, spec_of
from modelport.frontends.mxnet.shapes import guess_input_shapes


def chain(*ops, weights=()):
    """A graph data -> ops[0] -> ops[1] -> ...; each op is (op, name, attrs), and an op whose
    name is in ``weights`` gets a weight variable ``<name>_weight`` in slot 1."""
    nodes = [{"op": "null", "name": "data", "inputs": []}]
    prev = 0
    for op, name, attrs in ops:
        inputs = [[prev, 0, 0]]
        if name in weights:
            nodes.append({"op": "null", "name": f"{name}_weight", "inputs": []})
            inputs.append([len(nodes) - 1, 0, 0])
        nodes.append({"op": op, "name": name, "attrs": attrs, "inputs": inputs})
        prev = len(nodes) - 1
    return parse_symbol({"nodes": nodes, "heads": [[prev, 0, 0]], "arg_nodes": [0]})


def test_load_all_returns_the_same_registry_every_time():
    assert load_all() is load_all() and "SwapAxis" in load_all()
    assert isinstance(spec_of("Convolution"), OpSpec) and spec_of("NoSuchOp") is None


def test_registering_a_name_twice_fails_and_registers_nothing():
    with pytest.raises(RuntimeError, match="registered twice"):
        mxnet_op("NotYetAnOp", "Convolution")(lambda ctx: [])
    assert "NotYetAnOp" not in load_all()


def test_flags_are_queried_by_name():
    assert {"SoftmaxOutput", "Softmax", "MakeLoss", "BlockGrad", "stop_gradient", "SoftmaxActivation",
            "LinearRegressionOutput", "LogisticRegressionOutput", "MAERegressionOutput"} == ops_with("head")
    assert {"_minus_scalar", "_mul_scalar", "broadcast_sub", "broadcast_minus"} <= ops_with("preprocessing")
    assert {"Activation", "BatchNorm", "relu", "Dropout", "_copy", "identity", "elemwise_add", "_Plus",
            "_rdiv_scalar"} <= ops_with("shape_preserving")
    assert not {"Convolution", "Reshape", "SwapAxis", "Pooling"} & ops_with("shape_preserving")
    with pytest.raises(ValueError, match="unknown op flag"):
        ops_with("heads")


def test_preprocessing_ops_preserve_shape():
    assert ops_with("preprocessing") <= ops_with("shape_preserving")


@pytest.mark.parametrize("flag", FLAGS)
def test_aliases_share_their_ops_facts(flag):
    """A name and the op it aliases are one MXNet operator: the same facts hold for both."""
    for name in load_all():
        op = schema_name(name)
        assert op in load_all(), f"{name} aliases {op}, which is not registered"
        assert (name in ops_with(flag)) == (op in ops_with(flag)), name


def test_schema_defaults_to_the_name_itself():
    assert schema_name("Convolution") == "Convolution" and schema_name("NoSuchOp") == "NoSuchOp"
    assert schema_name("_Plus") == "elemwise_add"


def test_kernel_defaults_come_from_the_registration():
    assert dict(spec_of("Pooling").kernel_defaults) == {"count_include_pad": "True", "layout": "NCHW"}
    assert not any(spec.kernel_defaults for name, spec in load_all().items() if name != "Pooling")


def test_ignored_attrs_come_from_the_registration():
    """Attributes MXNet stores but no kernel reads: never a documented attribute as well."""
    ignoring = {name: set(spec.ignored_attrs) for name, spec in load_all().items() if spec.ignored_attrs}
    assert ignoring == {"ones_like": {"dtype"}, "zeros_like": {"dtype"}}
    from modelport.frontends.mxnet.attrs import schema
    assert not any(set(schema(name)) & attrs for name, attrs in ignoring.items())


@pytest.mark.parametrize("ops, weight, expected", [
    ([("Convolution", "c", {"kernel": "(3, 3)", "num_filter": "8", "num_group": "2"})],
     (8, 3, 3, 3), (None, 6, None, None)),
    ([("Deconvolution", "d", {"kernel": "(2, 2)", "num_filter": "4"})], (5, 4, 2, 2), (None, 5, None, None)),
    ([("FullyConnected", "f", {"num_hidden": "10"})], (10, 12), (None, 12)),
    # looked through: preprocessing (a legacy alias too), activations, normalisation
    ([("_minus_scalar", "m", {"scalar": "127.5"}), ("broadcast_plus", "b", {}),
      ("Activation", "a", {"act_type": "relu"}), ("Convolution", "c", {"kernel": "(1,)", "num_filter": "2"})],
     (2, 7, 1), (None, 7, None)),
])
def test_input_shape_guessed_from_the_first_layer_with_weights(ops, weight, expected):
    name = ops[-1][1]
    graph = chain(*ops, weights={name})
    shapes = guess_input_shapes(graph, {f"{name}_weight": np.zeros(weight, np.float32)}, [graph.nodes[0]], {})
    assert shapes == {"data": expected}


def test_input_shape_not_guessed_through_a_shape_changing_op():
    graph = chain(("SwapAxis", "s", {"dim1": "1", "dim2": "2"}),
                  ("Convolution", "c", {"kernel": "(1, 1)", "num_filter": "2"}), weights={"c"})
    with pytest.raises(ConversionError, match="cannot tell the rank of input 'data'"):
        guess_input_shapes(graph, {"c_weight": np.zeros((2, 3, 1, 1), np.float32)}, [graph.nodes[0]], {})


def test_findings_read_preprocessing_and_heads_from_the_registry():
    graph = chain(("_minus_scalar", "m", {"scalar": "127.5"}), ("broadcast_minus", "b", {}),
                  ("_mul_scalar", "s", {"scalar": "0.5"}), ("SwapAxis", "t", {}), ("_plus_scalar", "late", {}),
                  ("Softmax", "out", {}))
    assert preprocessing(graph, {}) == ["preprocessing inside the graph, kept: _minus_scalar(127.5) -> "
                                        "broadcast_minus -> _mul_scalar(0.5); feed raw input (PITFALL 6)"]
    assert heads(graph, {}) == ["output heads in inference form: Softmax (PITFALL 12)"]
