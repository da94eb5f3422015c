"""The PyTorch-exported test cases that ship inside the ``onnx`` package (onnx/backend/test/data:
pytorch-converted, pytorch-operator; many at opset 6, which onnxruntime no longer runs) convert
and reproduce the exporter's own reference outputs (test_data_set_0/output_*.pb)."""
from __future__ import annotations


import numpy as np
import onnx
import pytest

from onnx_cases import CASES, DATA, IDS, load_case
import modelport
from onnx_frontend_support import ort_run



def test_the_cases_are_there():
    assert len(CASES) >= 100, f"{len(CASES)} cases under {DATA}"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_pytorch_case_matches_its_reference_outputs(tmp_path, case):
    original, feeds, expected = load_case(case)

    result = modelport.convert(case / "model.onnx", output_dir=tmp_path)
    onnx.checker.check_model(str(result.files[0]), full_check=True)
    got = ort_run(result.files[0], feeds)
    heads = [o.name for o in original.graph.output]
    assert list(got) == heads
    for name, want in zip(heads, expected):
        assert got[name].shape == want.shape, name
        np.testing.assert_allclose(got[name], want, rtol=1e-3, atol=1e-5, equal_nan=True, err_msg=name)
