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
- ``match_activations.MatchActivationsPass`` (ncnn target): PyTorch's relu6(x+3)/6,
  x*relu6(x+3)/6, x*sigmoid(x), x*tanh(softplus(x)) patterns become one HardSigmoid /
  HardSwish / modelport::Swish / modelport::Mish node (``FOLDED``).
- ``fuse_activation.FuseActivationPass`` (ncnn target): an activation after a
  Conv/ConvTranspose/Gemm/MatMul moves into it as ncnn's activation_type (the producer
  becomes a ``modelport``-domain node of the same op type; ``FOLDED``).
- ``remove_dead.RemoveDeadPass``: drop unread nodes and initializers (nothing recorded).

Target lowerings (run by the profiles that need them, not exported here):

- ``caffe_floor_pooling.CaffeFloorPoolingPass``: floor pooling as Caffe's ceil pooling plus
  a Slice of the extra row/column; auto_pad SAME as explicit pads.
- ``lower_clip.LowerClipPass``: Clip (ReLU6) as ReLU and scalar Sub/Add chains.
- ``lower_hard_activations.LowerHardActivationsPass``: HardSigmoid/HardSwish as scalar
  Mul/Add, Clip and Mul.
- ``gemm_to_innerproduct.GemmToInnerProductPass``: Gemm / 2-D MatMul with a constant
  weight in InnerProduct form (transB=1, alpha=beta=1, bias (N,)).
- ``lower_multibox_detection.LowerMultiBoxDetectionPass`` (onnx target): SSD's
  modelport:MultiBoxDetection as ONNX ops (decode, TopK, NonMaxSuppression, padding),
  MXNet's output row for row.
- ``lower_box_nms.LowerBoxNMSPass`` (onnx target): GluonCV's modelport:BoxNMS
  (_contrib_box_nms) as ONNX ops (TopK, NonMaxSuppression per class, padding), MXNet's
  output (and record) row for row.
- ``nnie_shift_nudge.NnieShiftNudgePass``: a scalar Add/Sub the Caffe writer would write as
  a Power shift of exactly 1.0 gets shift 1.0001 (PITFALLS 19), recorded.

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
