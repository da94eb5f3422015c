"""Symbol JSON in every dialect, read without mxnet, checked against mxnet's own loader."""
import json

import mxnet as mx
import pytest

from modelport.errors import ModelFileError
from modelport.frontends.mxnet.reader import load_symbol, parse_symbol


def _as_dialect(doc: dict, key: str, legacy: bool = False) -> dict:
    out = json.loads(json.dumps(doc))
    for node in out["nodes"]:
        attrs = node.pop("attrs", {})
        node[key] = attrs
        if legacy:
            node["backward_source_id"] = -1
            node["inputs"] = [entry[:2] for entry in node["inputs"]]
    out.pop("attrs", None)
    out.pop("node_row_ptr", None)
    return out


@pytest.mark.parametrize("key,legacy", [("attrs", False), ("attr", False), ("param", True)])
def test_pitfall_2_json_dialects(tmp_path, key, legacy):
    data = mx.sym.var("data")
    sym = mx.sym.Convolution(data, kernel=(3, 3), num_filter=4, name="conv")
    sym = mx.sym.BatchNorm(sym, eps=2e-5, name="bn")
    doc = _as_dialect(json.loads(sym.tojson()), key, legacy)
    path = tmp_path / "m-symbol.json"
    path.write_text(json.dumps(doc))
    graph = load_symbol(path)
    assert graph.by_name("conv").attrs["kernel"] == "(3, 3)"
    assert graph.by_name("bn").attrs["eps"] == "2e-05"
    assert graph.dialect == key
    # MXNet reads the same file to the same graph
    upgraded = mx.sym.load(str(path))
    assert [n["name"] for n in json.loads(upgraded.tojson())["nodes"]] == [n.name for n in graph.nodes]


def test_pitfall_1_two_files_shared_checkpoint(shared_models):
    graph = load_symbol(shared_models / "mtcnn_mxnet" / "det1-symbol.json")
    assert graph.dialect == "param"
    conv1 = graph.by_name("conv1")
    assert conv1.attrs["kernel"] == "(3,3)" and conv1.inputs == [(0, 0), (1, 0), (2, 0)]
    sym = mx.sym.load(str(shared_models / "mtcnn_mxnet" / "det1-symbol.json"))
    assert len(json.loads(sym.tojson())["nodes"]) == len(graph.nodes)


def test_malformed_json_names_file_and_position(tmp_path):
    path = tmp_path / "bad-symbol.json"
    path.write_text('{"nodes": [')
    with pytest.raises(ModelFileError, match=r"bad-symbol.json: malformed JSON at line 1"):
        load_symbol(path)


@pytest.mark.parametrize("doc,match", [
    ({"heads": []}, "missing field 'nodes'"),
    ({"nodes": [{"op": "null", "name": "a", "inputs": [[3, 0]]}], "heads": []}, "not an earlier node"),
    ({"nodes": [{"op": "null", "name": "a", "inputs": []}], "heads": [[5, 0]]}, "does not exist"),
    ([], "top level is not an object"),
])
def test_structurally_wrong_json(tmp_path, doc, match):
    path = tmp_path / "x-symbol.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match=match):
        load_symbol(path)


def test_params_given_as_symbol_is_refused(tmp_path):
    path = tmp_path / "x-symbol.json"
    path.write_bytes(b"\x12\x01\x00\x00\xff\xfe\xfa")
    with pytest.raises(ModelFileError, match="not a text file"):
        load_symbol(path)


def test_parse_symbol_keeps_heads_and_args():
    sym = mx.sym.FullyConnected(mx.sym.var("x"), num_hidden=3, name="fc")
    graph = parse_symbol(json.loads(sym.tojson()))
    assert graph.heads == [(3, 0)] and graph.arg_nodes == [0, 1, 2]


@pytest.mark.parametrize("nodes", [[1, 2], {"a": 1}])
def test_nodes_that_are_not_objects(tmp_path, nodes):
    path = tmp_path / "x-symbol.json"
    path.write_text(json.dumps({"nodes": nodes, "heads": []}))
    with pytest.raises(ModelFileError, match="not an MXNet symbol file"):
        load_symbol(path)
