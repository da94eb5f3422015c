"""Every MXNet model in ../shared/models converts and matches MXNet on every tensor, at two shapes."""
import onnx
import pytest

import modelport


def report_heads(symbol):
    import mxnet as mx
    return mx.sym.load(str(symbol)).list_outputs()
from shared_models import MXNET_MODELS


@pytest.mark.parametrize("model", MXNET_MODELS, ids=[m.id for m in MXNET_MODELS])
def test_shared_model_matches_mxnet(shared_models, tmp_path, model):
    symbol, params = shared_models / model.symbol, shared_models / model.params
    result = modelport.convert(symbol, params, to="onnx", output_dir=tmp_path, inputs=model.shapes[0])
    onnx.checker.check_model(onnx.load(str(result.files[0])), full_check=True)
    report = modelport.verify(symbol, result.files[0], params, shapes=model.shapes)
    assert len(report.runs) == len(model.shapes)
    for run in report.runs:
        assert run.comparison is not None, run.skipped
        cmp = run.comparison
        first = cmp.first_divergence
        assert first is None, f"{run.shapes}: first divergence at {first.name}: {first} ({cmp.diagnosis})"
        assert {r.name for r in cmp.outputs} == {n[: -len("_output")] if n.endswith("_output") else n
                                                for n in report_heads(symbol)}, "outputs not all compared"
        assert len(cmp.rows) >= 3
