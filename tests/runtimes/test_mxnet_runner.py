"""The MXNet runner names internal outputs as the MXNet frontend names tensors, also where
operator nodes share a name (a block called twice)."""
import json

import mxnet as mx
import numpy as np

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
