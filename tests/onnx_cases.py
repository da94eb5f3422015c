"""The PyTorch-exported test cases that ship inside the ``onnx`` package (no download):
``onnx/backend/test/data/pytorch-{converted,operator}/*/`` with ``model.onnx`` and
``test_data_set_0/{input,output}_*.pb`` (the exporter's own reference outputs)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

DATA = Path(onnx.__file__).parent / "backend" / "test" / "data"
CASES = sorted(p.parent for kind in ("pytorch-converted", "pytorch-operator") for p in (DATA / kind).glob("*/model.onnx")
               if (p.parent / "test_data_set_0" / "input_0.pb").is_file())
IDS = [f"{c.parent.name.split('-')[1]}/{c.name[5:]}" for c in CASES]


def tensors(folder: Path, prefix: str) -> list[np.ndarray]:
    """``{prefix}_0.pb, {prefix}_1.pb, ...`` of a test data set, in order."""
    files = sorted(folder.glob(f"{prefix}_*.pb"), key=lambda p: int(p.stem.split("_")[1]))
    return [numpy_helper.to_array(onnx.load_tensor(str(p))) for p in files]


def load_case(case: Path) -> tuple[onnx.ModelProto, dict[str, np.ndarray], list[np.ndarray]]:
    """The case's original model, its feeds by input name (weights listed as inputs excluded),
    and its reference outputs in order."""
    original = onnx.load(str(case / "model.onnx"))
    weights = {t.name for t in original.graph.initializer}
    names = [i.name for i in original.graph.input if i.name not in weights]
    feeds = dict(zip(names, tensors(case / "test_data_set_0", "input")))
    return original, feeds, tensors(case / "test_data_set_0", "output")
