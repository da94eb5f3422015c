"""Graph rewrites between a frontend and a target: one pass per module, class ``XxxPass``.

Each pass is an ``onnx_ir.passes.InPlacePass`` on a model at opset 17; its module
docstring states the rule and its math. A pass that removes a named tensor records the
survivor that absorbed it (``modelport.ir.provenance``), so verify can follow names.

- ``eliminate_identity.EliminateIdentityPass``: drop Identity, inference Dropout and
  same-dtype Cast; the later name survives (``ALIAS``).
- ``fold_constants.FoldConstantsPass``: fold constant subgraphs and static shape
  arithmetic (onnxscript's folder), lift Constants to initializers, drop what became unread.
- ``fold_batchnorm.FoldBatchNormPass``: fold inference BatchNormalization into the
  preceding Conv/ConvTranspose/Gemm (``w*s``, ``(b-mean)*s+beta``; ``FOLDED``).
- ``fold_scale_shift.FoldScaleShiftPass``: fold a per-channel constant Mul/Add into the
  preceding Conv/ConvTranspose/Gemm (``FOLDED``).
- ``remove_dead.RemoveDeadPass``: drop unread nodes and initializers (nothing recorded).

``run_passes(model, passes)`` applies passes in order.
"""
from __future__ import annotations

from collections.abc import Sequence

import onnx_ir as ir

from modelport.passes.eliminate_identity import EliminateIdentityPass
from modelport.passes.fold_batchnorm import FoldBatchNormPass
from modelport.passes.fold_constants import FoldConstantsPass
from modelport.passes.fold_scale_shift import FoldScaleShiftPass
from modelport.passes.remove_dead import RemoveDeadPass

__all__ = ["EliminateIdentityPass", "FoldBatchNormPass", "FoldConstantsPass", "FoldScaleShiftPass",
           "RemoveDeadPass", "run_passes"]


def run_passes(model: ir.Model, passes: Sequence[ir.passes.PassBase]) -> bool:
    """Apply ``passes`` to ``model`` in place, in order; whether any of them changed it."""
    if not passes:
        return False
    result = ir.passes.PassManager(list(passes), steps=1)(model)
    return bool(result.modified)
