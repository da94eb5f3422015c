"""The ``ncnn`` target: ``.param`` + ``.bin`` run by ncnn, optimized so that no separate
ncnnoptimize run is needed.

Pass order, and why it holds:
1. eliminate identities (Identity, inference Dropout, same-type Cast): the later name
   survives, as the source engine reports it;
2. fold constants at the given (static) input shapes: shape-only subgraphs become
   constants, so Reshape targets are plain dims and the later passes see constant operands;
   nodes reading and writing constants of up to ``FOLD_LIMIT`` elements fold (onnxscript's
   defaults are 8192 and 512 * 512), so that SSD's priors (MultiBoxPrior -> Flatten ->
   Concat -> Reshape, 16K to several 100K values) become the one constant ncnn's
   DetectionOutput takes, whatever the input size;
   then ONNX shape inference (onnx_ir's ShapeInferencePass, non-strict) gives every tensor
   its static shape, which the ncnn layout needs (a frontend may leave some unset); with
   shapes known, identities run again (reshapes to the shape a tensor already has) and
   duplicate nodes merge (the same Crop written twice by an exporter), and contiguous
   Slices of one tensor become one Split (one ncnn Slice layer instead of Crops);
3. fold BatchNormalization into the producing Conv/ConvTranspose/Gemm (Convolution,
   ConvolutionDepthWise, Deconvolution, InnerProduct);
4. match PyTorch's activation patterns (relu6(x+3)/6, x*sigmoid(x), x*tanh(softplus(x))...)
   into single HardSigmoid/HardSwish/Swish/Mish nodes: after BN folding (Conv -> BN ->
   pattern), before scale/shift folding (which would fold the pattern's ``+ 3`` into the
   Conv's bias and leave a bare Clip/Div);
5. fold what remains of per-channel constant Mul/Add into the producer;
6. fuse the activation that follows a Conv/ConvTranspose/Gemm/MatMul into it (ncnn's
   activation_type), after the folds so that Conv -> BN -> ReLU fuses;
7. remove dead nodes and unused initializers.
With ``optimize=False`` only 1, 2 and 5 run.

Options (``Options.extra``): ``fp16`` (bool, default False) stores Convolution/
Deconvolution/InnerProduct weights as float16 (tag 0x01306B47); never by default.
``exact`` (bool, default False; the CLI's --exact): refuse the nodes ncnn can only
approximate (SSD's MultiBoxDetection with a global nms_topk or force_suppress over several
classes, or an nms_threshold outside (0, 1]) instead of writing them with a
``ConversionWarning``. ``check(model)`` has no options, so these refusals come from the
writer, still listed together with every other problem before anything is written.

Besides ``<stem>.param`` and ``<stem>.bin`` the target writes ``<stem>.modelport.json``:
the graph outputs and the names the passes absorbed, which verify reads (ncnn's files
have no place for them).
"""
from __future__ import annotations

import json
from pathlib import Path

from modelport.targets import Options, target

FOLD_LIMIT = 1 << 24  # elements a folded node may read and write (as the caffe target)


def passes(options: Options) -> list:
    from modelport.passes.eliminate_identity import EliminateIdentityPass
    from modelport.passes.fold_batchnorm import FoldBatchNormPass
    from modelport.passes.fold_constants import FoldConstantsPass
    from modelport.passes.fold_scale_shift import FoldScaleShiftPass
    from modelport.passes.fuse_activation import FuseActivationPass
    from modelport.passes.match_activations import MatchActivationsPass
    from modelport.passes.merge_duplicates import MergeDuplicatesPass
    from modelport.passes.merge_slices import MergeSlicesPass
    from modelport.passes.remove_dead import RemoveDeadPass
    from onnx_ir.passes.common import ShapeInferencePass

    folding = [FoldBatchNormPass(), MatchActivationsPass(), FoldScaleShiftPass(),
               FuseActivationPass()] if options.optimize else []
    return [EliminateIdentityPass(), FoldConstantsPass(input_size_limit=FOLD_LIMIT, output_size_limit=FOLD_LIMIT),
            ShapeInferencePass(strict_mode=False),
            EliminateIdentityPass(), MergeDuplicatesPass(), MergeSlicesPass(), *folding, RemoveDeadPass()]


def check(model) -> list[str]:
    """Every node ncnn cannot take (no layer, an attribute or layout it cannot express), at once."""
    from modelport.backends.ncnn.writer import plan

    return plan(model)[1]


def runner(path: Path):
    from modelport.runtimes.ncnn_runner import NcnnRunner

    return NcnnRunner.isolated(path)


@target("ncnn", ".param", "ncnn (.param + .bin), run by ncnn", passes, check, runner, static_shapes=True)
def write(model, folder: Path, stem: str, options: Options) -> list[str]:
    from modelport.backends.ncnn.writer import write_ncnn
    from modelport.ir.provenance import absorbed
    from modelport.runtimes.ncnn_runner import sidecar_path

    unknown = set(options.extra) - {"fp16", "exact"}
    if unknown:
        from modelport.errors import ModelportError
        raise ModelportError(f"ncnn target: unknown option(s) {', '.join(sorted(unknown))} (known: fp16, exact)")
    param, weights = folder / f"{stem}.param", folder / f"{stem}.bin"
    write_ncnn(model, param, weights, fp16=bool(options.extra.get("fp16", False)),
               exact=bool(options.extra.get("exact", False)))
    meta = {"outputs": [v.name for v in model.graph.outputs],
            "inputs": {v.name: [int(d) for d in v.shape] for v in model.graph.inputs},
            "absorbed": {k: list(v) for k, v in absorbed(model.metadata_props).items()}}
    sidecar_path(param).write_text(json.dumps(meta, indent=1, sort_keys=True))
    return [param.name, weights.name, sidecar_path(param).name]
