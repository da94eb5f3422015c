"""Every ONNX model in ../shared/models converts (opset 17, full onnx.checker) and matches
onnxruntime running the ORIGINAL file on every tensor both expose, at two input shapes
where the converted model leaves axes free."""
from collections import Counter

import onnx
import pytest

import modelport
from shared_models import ONNX_MODELS

IDS = [m.id for m in ONNX_MODELS]


def _converted(shared_models, tmp_path, model):
    path = shared_models / model.path
    result = modelport.convert(path, to="onnx", output_dir=tmp_path, inputs=model.inputs)
    assert result.files == [tmp_path / path.name]
    return path, result


def _input_independent(graph: onnx.GraphProto) -> set[str]:
    """Node outputs of ``graph`` that do not depend on any graph input (shape arithmetic on
    static shapes counts as constant: Shape reads only the shape of a tensor)."""
    weights = {t.name for t in graph.initializer}
    varying = {i.name for i in graph.input if i.name not in weights}
    const = set()
    for node in graph.node:
        reads = [n for n in node.input if n]
        if node.op_type != "Shape" and any(n in varying for n in reads):
            varying.update(node.output)
        else:
            const.update(node.output)
    return const


def _bn_after_conv(graph: onnx.GraphProto) -> dict[str, str]:
    """{Conv output: BatchNormalization output} for every Conv -> BatchNormalization pair."""
    conv_out = {o for n in graph.node if n.op_type == "Conv" for o in n.output}
    return {n.input[0]: n.output[0] for n in graph.node if n.op_type == "BatchNormalization" and n.input[0] in conv_out}


@pytest.mark.parametrize("model", ONNX_MODELS, ids=IDS)
def test_shared_onnx_model_matches_onnxruntime_on_the_original(shared_models, tmp_path, model):
    path, result = _converted(shared_models, tmp_path, model)
    written = result.files[0]
    onnx.checker.check_model(str(written), full_check=True)
    original = onnx.load(str(path), load_external_data=False).graph
    out = onnx.load(str(written)).graph
    assert next(o.version for o in onnx.load(str(written)).opset_import if o.domain in ("", "ai.onnx")) == 17

    # initializers listed as inputs (ultraface) are weights in the converted file
    weights = {t.name for t in original.initializer}
    assert [i.name for i in out.input] == [i.name for i in original.input if i.name not in weights]
    if model.inputs:
        for value in out.input:
            assert tuple(d.dim_value for d in value.type.tensor_type.shape.dim) == model.inputs[value.name]

    report = modelport.verify(path, written)
    assert len(report.runs) == model.runs, [r.shapes for r in report.runs]
    if model.runs > 1:
        assert len({tuple(r.shapes.items()) for r in report.runs}) == model.runs, "the runs used the same shape"
    heads = {o.name for o in original.output}
    conv_bn = _bn_after_conv(original)
    for run in report.runs:
        assert run.comparison is not None, run.skipped
        cmp = run.comparison
        first = cmp.first_divergence
        assert first is None, f"{run.shapes}: first divergence at {first.name}: {first} ({cmp.diagnosis})"
        assert {r.name for r in cmp.outputs} == heads, "outputs not all compared"
        assert all(r.ok for r in cmp.rows)
        folded = dict(cmp.folded)
        assert not set(folded) & set(cmp.missing)
        # what is neither compared nor folded may only be constant shape arithmetic of the original
        assert set(cmp.missing) <= _input_independent(original), sorted(set(cmp.missing) - _input_independent(original))
        # every Conv output a BatchNormalization read is reported folded into that BatchNormalization's output
        assert len(conv_bn) == model.batchnorms
        assert {k: folded.get(k) for k in conv_bn} == conv_bn
        compared = {r.name for r in cmp.rows}
        assert compared.isdisjoint(folded)
        assert set(conv_bn.values()) <= compared  # the survivors themselves are compared
        assert len(compared) + len(folded) + len(cmp.missing) == len({o for n in original.node for o in n.output if o})

    ops = Counter(n.op_type for n in out.node)
    if model.batchnorms:
        assert "BatchNormalization" not in ops
        assert result.nodes_after < result.nodes_before
        assert result.nodes_after == len(out.node)
        # nodes_before counts the model after the opset upgrade, which adds nodes (Unsqueeze axes
        # become Constant inputs): the conversion is smaller than the original file too
        assert result.nodes_before >= len(original.node)
        assert len(original.node) - result.nodes_after >= model.batchnorms
    if model.inputs:  # static shapes: PyTorch's Shape -> Gather -> ... -> Reshape chains fold away
        assert "Shape" not in ops


@pytest.mark.parametrize("model", [m for m in ONNX_MODELS if m.id.startswith("ultraface")],
                         ids=[m.id for m in ONNX_MODELS if m.id.startswith("ultraface")])
def test_folded_shape_arithmetic_is_not_reported_missing(shared_models, tmp_path, model):
    path, result = _converted(shared_models, tmp_path, model)
    report = modelport.verify(path, result.files[0])
    assert report.runs[0].comparison.missing == []
