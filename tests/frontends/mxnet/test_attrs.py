"""The defaults table is MXNet's own, and the typed getters apply it."""
import importlib.util
import sys
from pathlib import Path

import pytest

from modelport.errors import ConversionError
from modelport.frontends.mxnet.attrs import Attrs
from modelport.frontends.mxnet.defaults import MXNET_OP_ATTRS

ROOT = Path(__file__).resolve().parents[3]


def test_defaults_table_is_current_with_mxnet():
    spec = importlib.util.spec_from_file_location("gen", ROOT / "scripts" / "gen_mxnet_defaults.py")
    gen = importlib.util.module_from_spec(spec)
    sys.modules["gen"] = gen
    spec.loader.exec_module(gen)
    import mxnet as mx
    for op in ("BatchNorm", "Deconvolution", "Pooling", "softmax", "L2Normalization", "LeakyReLU"):
        assert MXNET_OP_ATTRS[op] == gen.parse_doc(getattr(mx.sym, op).__doc__), op


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
