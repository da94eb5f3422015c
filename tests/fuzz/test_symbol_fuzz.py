"""Fuzzing the symbol-JSON reader and the whole MXNet load (symbol + params -> IR).

Mutated graphs: forward references and self-loops (the only way to write a cycle in
MXNet's node list), dangling inputs, duplicate names, heads out of range, attributes of
the wrong type or value ("(3, x)", NaN, huge and negative sizes), unknown and swapped
ops, dialect changes; mutated JSON text; valid graphs with weights of the wrong dtype,
shape or value. Only a ModelportError may come out (fuzz.generators.KNOWN_BUGS lists
the crashes reported to the lead, outside the reader).
"""
from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzz.profile import FUZZ
from fuzz.generators import (ATTR_VALUES, Case, HypothesisDraw, _dumps, _op_attrs, check_case, mxnet_case,
                             symbol_doc_case, symbol_text_case)
from modelport.errors import ModelFileError, ModelportError
from modelport.frontends.mxnet.reader import load_symbol, parse_symbol



@settings(FUZZ, max_examples=400)
@given(st.data())
def test_parse_symbol_mutated_document(seeds, workdir, data):
    check_case(symbol_doc_case(seeds, HypothesisDraw(data)), workdir)


@settings(FUZZ, max_examples=250)
@given(st.data())
def test_load_symbol_mutated_text(seeds, workdir, data):
    check_case(symbol_text_case(seeds, HypothesisDraw(data)), workdir)


@settings(FUZZ, max_examples=450)
@given(st.data())
def test_load_mutated_mxnet_model(seeds, workdir, data):
    check_case(mxnet_case(seeds, HypothesisDraw(data)), workdir)


def _load(seeds, workdir, doc, params=None):
    return check_case(Case("mxnet", {"net-symbol.json": _dumps(doc).encode(),
                                     "net-0001.params": params or seeds.checkpoint_params}), workdir)


def test_seed_loads(seeds, workdir):
    import modelport

    (workdir / "seed").mkdir(exist_ok=True)
    (workdir / "seed" / "net-symbol.json").write_text(seeds.symbol_text)
    (workdir / "seed" / "net-0001.params").write_bytes(seeds.checkpoint_params)
    assert modelport.load(workdir / "seed" / "net-symbol.json").model is not None


def test_every_prefix_of_the_json_text(seeds, workdir):
    text = seeds.symbol_text
    path = workdir / "prefix-symbol.json"
    for cut in range(0, len(text.rstrip()), 3):
        path.write_text(text[:cut])
        with pytest.raises(ModelFileError):
            load_symbol(path)


def test_every_input_edge_made_forward_self_or_dangling(seeds):
    """A cycle needs a forward reference (nodes are listed in topological order): refused by the reader."""
    doc = seeds.symbol_doc
    n = len(doc["nodes"])
    for i, node in enumerate(doc["nodes"]):
        for slot in range(len(node["inputs"])):
            for target in (i, i + 1, n - 1, n, -1, 2**40):
                if target < i and target >= 0:
                    continue
                bad = copy.deepcopy(doc)
                bad["nodes"][i]["inputs"][slot] = [target, 0, 0]
                with pytest.raises(ModelFileError, match="not an earlier node|does not exist"):
                    parse_symbol(bad, "x-symbol.json")


def test_heads_out_of_range_or_malformed(seeds, workdir):
    n = len(seeds.symbol_doc["nodes"])
    for heads in ([[n, 0, 0]], [[-1, 0, 0]], [[n - 1, 7, 0]], [[n - 1, -1, 0]], [[n - 1, 2**40, 0]], [[0, 0, 0]],
                  [[1, 0, 0]], [[1, 1, 0]], [], [[n - 1, 0, 0]] * 3, "x", [["a", 0]], [[0.5, 0]]):
        doc = copy.deepcopy(seeds.symbol_doc)
        doc["heads"] = heads
        _load(seeds, workdir, doc)


def test_duplicate_names(seeds, workdir):
    """Two variables sharing a name are refused; two operators sharing one (a block called twice)
    load with the later one renamed name__k (modelport.names); a variable renamed after an
    operator loses its weight: a clear error or a load, never anything else."""
    doc = seeds.symbol_doc
    for i in range(1, len(doc["nodes"])):
        for j in (0, i - 1):
            bad = copy.deepcopy(doc)
            bad["nodes"][i]["name"] = bad["nodes"][j]["name"]
            variables = [bad["nodes"][k]["op"] == "null" for k in (i, j)]
            if all(variables):
                with pytest.raises(ModelportError):
                    _load_strict(seeds, workdir, bad)
                continue
            try:
                loaded = _load_strict(seeds, workdir, bad)
            except ModelportError:
                assert any(variables), f"operators {i} and {j} sharing a name were refused"
                continue
            names = [v.name for node in loaded.model.graph for v in node.outputs]
            assert len(names) == len(set(names)), f"nodes {i}, {j}: tensor names repeat"


def _load_strict(seeds, workdir, doc):
    import modelport

    folder = workdir / "strict"
    folder.mkdir(exist_ok=True)
    (folder / "net-symbol.json").write_text(_dumps(doc))
    (folder / "net-0001.params").write_bytes(seeds.checkpoint_params)
    return modelport.load(folder / "net-symbol.json", folder / "net-0001.params")


BAD_VALUES = ["(3, x)", "()", "(0, 0)", "(-1, 3)", "(1e308, 3)", "(3, 3, 3, 3, 3)", "nan", "inf", "-5", "0",
              "1099511627776", "9" * 5000, "maybe", ""]


def test_every_attribute_of_every_op_with_bad_values(seeds, workdir):
    """Each documented attribute of each op in the checkpoint, set to each bad value."""
    assert set(BAD_VALUES) <= set(ATTR_VALUES)
    count = 0
    for i, node in enumerate(seeds.symbol_doc["nodes"]):
        if node["op"] == "null":
            continue
        for key in _op_attrs(node["op"]) or ["kernel"]:
            for value in BAD_VALUES:
                doc = copy.deepcopy(seeds.symbol_doc)
                doc["nodes"][i].setdefault("attrs", {})[key] = value
                _load(seeds, workdir, doc)
                count += 1
    assert count > 200


@pytest.mark.parametrize("value", [3, -1, 1.5, None, True, [1, 2], {"a": 1}, float("nan"), 2**70])
def test_attribute_values_that_are_not_strings(seeds, workdir, value):
    for key in ("kernel", "num_filter", "no_bias", "pad"):
        doc = copy.deepcopy(seeds.symbol_doc)
        conv = next(n for n in doc["nodes"] if n["op"] == "Convolution")
        conv["attrs"][key] = value
        _load(seeds, workdir, doc)


@pytest.mark.parametrize("op", ["NoSuchOp", "", "null", "_contrib_Foo"])
def test_unknown_or_empty_op(seeds, workdir, op):
    doc = copy.deepcopy(seeds.symbol_doc)
    next(n for n in doc["nodes"] if n["op"] == "Activation")["op"] = op
    with pytest.raises(ModelportError):
        _load_strict(seeds, workdir, doc)


# -- regressions: reader bugs the fuzzing found ------------------------------------------------
@pytest.mark.parametrize("mutate", [
    lambda d: d.update(arg_nodes=[float("inf")]),            # int(Infinity): OverflowError
    lambda d: d.update(arg_nodes=[float("nan")]),
    lambda d: d.update(attrs={"mxnet_version": {"a": 1}}),   # version[1] on a dict: KeyError
    lambda d: d.update(attrs={"mxnet_version": ["int", float("inf")]}),
    lambda d: d.update(attrs={"mxnet_version": ["int", float("nan")]}),
])
def test_reader_regressions_documents(seeds, mutate):
    doc = copy.deepcopy(seeds.symbol_doc)
    mutate(doc)
    try:
        parse_symbol(doc, "x-symbol.json")
    except ModelFileError:
        pass


@pytest.mark.parametrize("text", [
    "[" * 100000 + "]" * 100000,                                   # RecursionError in json
    '{"nodes": ' + "[" * 100000,
    '{"nodes": [], "heads": [], "arg_nodes": [' + "9" * 5000 + "]}",  # past Python's int digit limit
    '{"nodes": [], "heads": [], "arg_nodes": [Infinity]}',
])
def test_reader_regressions_text(workdir, text):
    path = workdir / "regress-symbol.json"
    path.write_text(text)
    with pytest.raises(ModelFileError):
        load_symbol(path)


# -- shared models (skipped when ../shared/models is absent) ------------------------------------
def test_real_symbol_every_edge_forward(shared_models):
    doc = json.loads((shared_models / "mtcnn_mxnet" / "det1-symbol.json").read_text())
    n = len(doc["nodes"])
    for i, node in enumerate(doc["nodes"]):
        for slot in range(len(node["inputs"])):
            bad = copy.deepcopy(doc)
            bad["nodes"][i]["inputs"][slot] = [min(i + slot, n), 0, 0]
            with pytest.raises(ModelFileError):
                parse_symbol(bad, "det1-symbol.json")


def test_real_symbol_every_prefix(shared_models, workdir):
    text = (shared_models / "mtcnn_mxnet" / "det1-symbol.json").read_text()
    path = workdir / "det1-prefix-symbol.json"
    for cut in range(0, len(text.rstrip()), 7):
        path.write_text(text[:cut])
        with pytest.raises(ModelFileError):
            load_symbol(path)
