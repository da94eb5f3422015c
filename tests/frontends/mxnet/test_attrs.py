"""The defaults table is MXNet's own, and the typed getters apply it."""
import importlib.util
import sys
from pathlib import Path

import pytest

from modelport.errors import ConversionError
from modelport.frontends.mxnet.attrs import Attrs
from modelport.frontends.mxnet.defaults import MXNET_OP_ATTRS
from modelport.frontends.mxnet.registry import load_all, schema_name

ROOT = Path(__file__).resolve().parents[3]


def _generator():
    spec = importlib.util.spec_from_file_location("gen", ROOT / "scripts" / "gen_mxnet_defaults.py")
    gen = importlib.util.module_from_spec(spec)
    sys.modules["gen"] = gen
    spec.loader.exec_module(gen)
    return gen


def test_defaults_table_is_current_with_mxnet():
    """Regenerating the table from MXNet's docs and the registry changes nothing."""
    gen = _generator()
    import mxnet as mx
    for op in ("BatchNorm", "Deconvolution", "Pooling", "softmax", "L2Normalization", "LeakyReLU", "SwapAxis"):
        assert MXNET_OP_ATTRS[op] == gen.parse_doc(getattr(mx.sym, op).__doc__), op
    assert gen.op_names() == sorted(MXNET_OP_ATTRS), "run scripts/gen_mxnet_defaults.py"
    assert gen.build_table() == MXNET_OP_ATTRS, "run scripts/gen_mxnet_defaults.py"


def test_declared_schemas_are_the_ops_mxnet_resolves_aliases_to():
    """``schema=`` in a registration names the op MXNet itself registers the alias under
    (``_Plus`` -> ``elemwise_add``, ``identity`` -> ``_copy``), and nothing else declares one."""
    gen = _generator()
    assert gen.schema_problems() == []
    assert gen.mxnet_name("swapaxes") == "SwapAxis" and gen.mxnet_name("no_such_op") is None


def test_every_registered_op_has_a_schema():
    """Each registered name resolves to a table entry, directly or via its declared schema op;
    ops MXNet documents without attributes are there as {}."""
    registry = load_all()
    missing = [name for name in registry if schema_name(name) not in MXNET_OP_ATTRS]
    assert not missing, f"no schema in defaults.MXNET_OP_ATTRS for {missing}: run scripts/gen_mxnet_defaults.py"
    for op in ("Flatten", "BlockGrad", "_copy", "elemwise_add", "add_n", "relu"):
        assert MXNET_OP_ATTRS[op] == {}, op


@pytest.mark.parametrize("alias, op", [("_Plus", "elemwise_add"), ("_minus", "elemwise_sub"), ("split", "SliceChannel"),
                                       ("Softmax", "SoftmaxOutput"), ("identity", "_copy"),
                                       ("stop_gradient", "BlockGrad"), ("ElementWiseSum", "add_n"),
                                       ("broadcast_plus", "broadcast_add"), ("swapaxes", "SwapAxis")])
def test_alias_reads_its_ops_schema(alias, op):
    assert schema_name(alias) == op and alias not in MXNET_OP_ATTRS
    assert Attrs(alias, "n", {})._schema == MXNET_OP_ATTRS[op]


def test_alias_defaults_and_unknown_attributes():
    assert Attrs("split", "s", {"num_outputs": "2"}).int("axis") == 1
    assert Attrs("Softmax", "s", {}).bool("multi_output") is False
    assert Attrs("swapaxes", "s", {"dim1": "2"}).int("dim2") == 0
    assert Attrs("_Plus", "p", {"weird": "1"}).unknown() == ["weird"]


def test_unregistered_op_has_no_schema():
    with pytest.raises(KeyError):
        Attrs("NoSuchOp", "n", {}).text("axis")


@pytest.mark.parametrize("op,key,getter,expected", [
    ("BatchNorm", "fix_gamma", "bool", True),
    ("BatchNorm", "eps", "float", 0.0010000000474974513),
    ("Deconvolution", "no_bias", "bool", True),
    ("Convolution", "no_bias", "bool", False),
    ("Pooling", "count_include_pad", "bool", True),
    ("Pooling", "pooling_convention", "str", "valid"),
    ("softmax", "axis", "int", -1),
    ("L2Normalization", "mode", "str", "instance"),
    ("LeakyReLU", "act_type", "str", "leaky"),
    ("SwapAxis", "dim1", "int", 0),
    ("SwapAxis", "dim2", "int", 0),
])
def test_absent_attribute_means_mxnet_default(op, key, getter, expected):
    assert getattr(Attrs(op, "n", {}), getter)(key) == expected


def test_explicit_values_parse_in_every_spelling():
    a = Attrs("Convolution", "c", {"kernel": "(3, 3)", "stride": "[2,2]", "pad": "1", "no_bias": "True",
                                    "num_filter": "8"})
    assert a.ints("kernel") == (3, 3) and a.ints("stride") == (2, 2) and a.ints("pad") == (1,)
    assert a.bool("no_bias") is True and a.int("num_filter") == 8


def test_required_attribute_missing_is_reported_with_node():
    with pytest.raises(ConversionError, match="node 'c' \\(Convolution\\): attribute 'num_filter' is required"):
        Attrs("Convolution", "c", {}).int("num_filter")


def test_undocumented_attribute_is_a_programming_error():
    with pytest.raises(KeyError):
        Attrs("Convolution", "c", {}).text("no_such_attr")


def test_unknown_model_attributes_are_listed():
    a = Attrs("Convolution", "c", {"kernel": "(1,1)", "weird": "1", "__lr_mult__": "2", "num_args": "3"})
    assert a.unknown() == ["weird"]
