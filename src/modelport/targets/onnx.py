"""The ``onnx`` target: a checked, cleaned .onnx at opset 17, run by onnxruntime.

Pass order, and why it holds:
1. eliminate identities (Identity, inference Dropout, same-type Cast) first: the
   survivor keeps the name the source engine reports (the later one); onnxscript's
   folder would otherwise remove these copies itself keeping the earlier name;
2. fold constants: shape arithmetic becomes constants, so the later passes see plain
   Conv -> BatchNormalization pairs and constant Mul/Add operands; then merge duplicate
   nodes (an exporter's repeated Slice/Div on equal constants), which folding may expose;
3. fold BatchNormalization into the producing Conv/ConvTranspose/Gemm, then
4. fold what remains of constant per-channel Mul/Add into the producer (preprocessing
   scales that follow a convolution, BN already folded into Mul/Add form);
5. remove dead nodes and unused initializers last, once nothing else frees any.
With ``optimize=False`` only 1, 2 and 5 run: every other source tensor survives.
"""
from __future__ import annotations

from pathlib import Path

from modelport.ir.contract import OPSET, PRIVATE_DOMAIN
from modelport.targets import Options, target


def passes(options: Options) -> list:
    from modelport.passes.eliminate_identity import EliminateIdentityPass
    from modelport.passes.fold_batchnorm import FoldBatchNormPass
    from modelport.passes.fold_constants import FoldConstantsPass
    from modelport.passes.fold_scale_shift import FoldScaleShiftPass
    from modelport.passes.lower_box_nms import LowerBoxNMSPass
    from modelport.passes.lower_multibox_detection import LowerMultiBoxDetectionPass
    from modelport.passes.merge_duplicates import MergeDuplicatesPass
    from modelport.passes.remove_dead import RemoveDeadPass

    folding = [FoldBatchNormPass(), FoldScaleShiftPass()] if options.optimize else []
    return [LowerMultiBoxDetectionPass(), LowerBoxNMSPass(), EliminateIdentityPass(), FoldConstantsPass(), MergeDuplicatesPass(), *folding, RemoveDeadPass()]


def check(model) -> list[str]:
    """Every node must be an ONNX op at OPSET (private-domain ops need a lowering first)."""
    import onnx

    problems: dict[str, list[str]] = {}
    for node in model.graph:
        if node.domain == PRIVATE_DOMAIN:
            reason = f"{node.op_type} (modelport domain: no ONNX form yet)"
        elif not onnx.defs.has(node.op_type, node.domain or ""):
            reason = f"{node.op_type} (not an ONNX operator)"
        else:
            continue
        problems.setdefault(reason, []).append(node.name or node.outputs[0].name)
    return [f"{reason}: {len(names)} node(s): {', '.join(names[:8])}{' ...' if len(names) > 8 else ''}"
            for reason, names in problems.items()]


def runner(path: Path):
    from modelport.runtimes.onnxruntime_runner import OnnxRuntimeRunner

    return OnnxRuntimeRunner(path)


@target("onnx", ".onnx", f"ONNX (opset {OPSET}), run by onnxruntime", passes, check, runner)
def write(model, folder: Path, stem: str, options: Options) -> list[str]:
    from modelport.backends.onnx.writer import write_onnx

    name = f"{stem}.onnx"
    write_onnx(model, folder / name)
    return [name]
