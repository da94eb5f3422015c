"""The MXNet runner names internal outputs as the MXNet frontend names tensors, also where
operator nodes share a name (a block called twice); run_from continues a run from given tensor
values; node_attrs gives the raw attributes by tensor name."""
import json

import mxnet as mx
import numpy as np
import pytest

from modelport.errors import VerificationError
from modelport.runtimes.mxnet_runner import MXNetRunner


def _twice(folder):
    """conv 'c' + relu 'r' called on data and again on its own output: names c, r, c, r."""
    data = mx.sym.var("data")
    w = mx.sym.var("c_weight")
    x = data
    for _ in range(2):
        x = mx.sym.Activation(mx.sym.Convolution(x, w, kernel=(1, 1), num_filter=3, no_bias=True, name="c"),
                              act_type="relu", name="r")
    sym = mx.sym.Group([x, mx.sym.sum(x, name="total")])
    weight = np.random.default_rng(0).normal(0, 0.7, (3, 3, 1, 1)).astype(np.float32)
    mx.model.save_checkpoint(str(folder / "twice"), 0, sym, {"c_weight": mx.nd.array(weight)}, {})
    return folder / "twice-symbol.json", folder / "twice-0000.params", weight


def test_each_occurrence_of_a_name_has_its_own_output(tmp_path):
    symbol, params, weight = _twice(tmp_path)
    assert [n["name"] for n in json.loads(symbol.read_text())["nodes"] if n["op"] != "null"] == ["c", "r", "c", "r", "total"]
    runner = MXNetRunner(symbol, params)
    assert runner.order() == ["c", "r", "c__2", "r__2", "total"]
    assert runner.head_names() == ["r__2", "total"]
    assert runner.op_of() == {"c": "Convolution", "r": "Activation", "c__2": "Convolution",
                              "r__2": "Activation", "total": "sum"}
    x = np.random.default_rng(1).uniform(-1, 1, (1, 3, 4, 4)).astype(np.float32)
    out = runner.run({"data": x})
    conv = lambda a: np.einsum("oc,nchw->nohw", weight[:, :, 0, 0], a)  # noqa: E731
    first = np.maximum(conv(x), 0)
    np.testing.assert_allclose(out["c"], conv(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["r"], first, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["c__2"], conv(first), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["r__2"], np.maximum(conv(first), 0), rtol=1e-5, atol=1e-6)
    assert set(runner.run({"data": x}, outputs=["c__2"])) == {"c__2"}


def test_a_cut_at_a_renamed_node(tmp_path):
    symbol, params, _ = _twice(tmp_path)
    runner = MXNetRunner(symbol, params, outputs=["c__2"])
    assert runner.head_names() == ["c__2"]
    assert runner.order() == ["c", "r", "c__2"]


def test_unique_names_load_the_file_as_is(tmp_path):
    data = mx.sym.var("data")
    sym = mx.sym.Activation(data, act_type="relu", name="r")
    mx.model.save_checkpoint(str(tmp_path / "one"), 0, sym, {}, {})
    runner = MXNetRunner(tmp_path / "one-symbol.json", tmp_path / "one-0000.params")
    assert runner.order() == ["r"]


def _chain(folder, branch: bool = False):
    """data -> relu 'a' -> x2 'b' -> +1 'c' (the heads: c, and with ``branch`` also a x3 'd')."""
    a = mx.sym.Activation(mx.sym.var("data"), act_type="relu", name="a")
    b = mx.sym._internal._mul_scalar(a, scalar=2.0, name="b")
    c = mx.sym._internal._plus_scalar(b, scalar=1.0, name="c")
    sym = mx.sym.Group([c, mx.sym._internal._mul_scalar(a, scalar=3.0, name="d")]) if branch else c
    sym.save(str(folder / "chain-symbol.json"))
    mx.nd.save(str(folder / "chain-0000.params"), {})
    return MXNetRunner(folder / "chain-symbol.json", folder / "chain-0000.params")


FEEDS = {"data": np.random.default_rng(4).uniform(-1, 1, (2, 5)).astype(np.float32)}


def test_run_from_a_tensor_given_as_its_own_value_is_the_plain_run(tmp_path):
    """Given its own value, run_from returns every other tensor bit-equal to run() and not the given one."""
    for branch in (False, True):
        runner = _chain(tmp_path, branch)
        plain = runner.run(FEEDS)
        continued = runner.run_from(FEEDS, {"b": plain["b"]})
        assert set(continued) == set(plain) - {"b"}
        for name, value in continued.items():
            assert value.dtype == plain[name].dtype and np.array_equal(value, plain[name]), name


def test_run_from_computes_downstream_from_the_given_value_and_upstream_as_before(tmp_path):
    """Downstream tensors are computed from the given value (c = given + 1); upstream ones (a, d) are unchanged."""
    a = np.maximum(FEEDS["data"], 0)
    for branch in (False, True):
        runner = _chain(tmp_path, branch)
        for given in (np.zeros_like(a), 2 * a + 1, np.full_like(a, -7.5)):
            out = runner.run_from(FEEDS, {"b": given})
            np.testing.assert_array_equal(out["c"], given + np.float32(1))
            np.testing.assert_array_equal(out["a"], a)
            if branch:
                np.testing.assert_allclose(out["d"], 3 * a, rtol=1e-6)
            assert "b" not in out


def test_run_from_when_the_given_tensor_is_the_only_path_to_the_heads(tmp_path):
    """Upstream of the only path from the input to the heads is still computed (its internals did vanish once)."""
    runner = _chain(tmp_path, branch=False)
    assert runner.head_names() == ["c"] and runner.inputs_of()["c"] == ["b"]
    given = np.full((2, 5), 0.25, np.float32)
    out = runner.run_from(FEEDS, {"b": given})
    assert set(out) == {"a", "c"}
    np.testing.assert_array_equal(out["a"], np.maximum(FEEDS["data"], 0))
    np.testing.assert_array_equal(out["c"], given + 1)
    assert set(runner.run_from(FEEDS, {"b": given}, ["a"])) == {"a"}
    assert set(runner.run_from(FEEDS, {"b": given}, "heads")) == {"c"}


def test_run_from_in_float64_gives_float64_arrays(tmp_path):
    """run_from(..., float64=True) runs in float64: every returned array is float64, with the same values."""
    runner = _chain(tmp_path, branch=True)
    given = np.random.default_rng(5).uniform(0, 1, (2, 5)).astype(np.float32)
    out = runner.run_from(FEEDS, {"b": given}, float64=True)
    assert set(out) == {"a", "c", "d"} and all(v.dtype == np.float64 for v in out.values())
    np.testing.assert_allclose(out["c"], given.astype(np.float64) + 1, rtol=0, atol=0)
    np.testing.assert_allclose(out["a"], np.maximum(FEEDS["data"], 0).astype(np.float64), rtol=0, atol=0)


def test_run_from_refuses_a_name_that_is_not_a_node_output(tmp_path):
    """A given name that no node writes raises VerificationError."""
    runner = _chain(tmp_path)
    with pytest.raises(VerificationError, match="cannot take 'nowhere' as given"):
        runner.run_from(FEEDS, {"nowhere": np.zeros((2, 5), np.float32)})


def test_run_from_takes_one_output_of_a_multi_output_node(tmp_path):
    """Either output of a node whose outputs are both read can be given (topk's indices beside its values):
    its readers read the given value, the other output is MXNet's own."""
    parts = mx.sym.split(mx.sym.var("data"), num_outputs=2, axis=1, name="split")
    sym = mx.sym.Group([mx.sym.elemwise_add(parts[0], parts[1], name="s")])
    sym.save(str(tmp_path / "split-symbol.json"))
    mx.nd.save(str(tmp_path / "split-0000.params"), {})
    split = MXNetRunner(tmp_path / "split-symbol.json", tmp_path / "split-0000.params")
    feeds = {"data": np.array([[1, 2, 3, 4]], np.float32)}
    given = np.array([[10, 20]], np.float32)
    first = split.run_from(feeds, {"split_output0": given})
    assert np.array_equal(first["s"], [[13, 24]]) and "split_output0" not in first
    assert np.array_equal(first["split_output1"], [[3, 4]])
    second = split.run_from(feeds, {"split_output1": given})
    assert np.array_equal(second["s"], [[11, 22]]) and np.array_equal(second["split_output0"], [[1, 2]])


def test_node_attrs_gives_raw_attributes_by_tensor_name(tmp_path):
    """node_attrs() holds each node's attributes as saved, a multi-output node's also under X_output0."""
    nms = mx.sym.contrib.box_nms(mx.sym.var("data"), overlap_thresh=0.45, coord_start=1, score_index=0,
                                 id_index=-1, name="nms")
    parts = mx.sym.split(mx.sym.var("other"), num_outputs=2, axis=1, name="split")
    sym = mx.sym.Group([nms, mx.sym.elemwise_add(parts[0], parts[1], name="s"),
                        mx.sym.Activation(mx.sym.var("x"), act_type="tanh", name="t")])
    sym.save(str(tmp_path / "m-symbol.json"))
    mx.nd.save(str(tmp_path / "m-0000.params"), {})
    runner = MXNetRunner(tmp_path / "m-symbol.json", tmp_path / "m-0000.params")
    attrs = runner.node_attrs()
    saved = {n["name"]: n.get("attrs", {}) for n in json.loads((tmp_path / "m-symbol.json").read_text())["nodes"]}
    assert attrs["nms"] == saved["nms"] and attrs["nms_output0"] == saved["nms"]
    assert {k: attrs["nms"][k] for k in ("coord_start", "score_index", "id_index")} == \
        {"coord_start": "1", "score_index": "0", "id_index": "-1"}
    assert attrs["split"] == attrs["split_output0"] == saved["split"] and attrs["split"]["num_outputs"] == "2"
    assert attrs["t"] == {"act_type": "tanh"} and attrs["s"] == {}
    assert "data" not in attrs and "x" not in attrs
