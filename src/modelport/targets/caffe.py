"""The ``caffe`` target: .prototxt + .caffemodel (modelport's own caffe.proto), run by OpenCV dnn.

Shapes are static (a prototxt declares its input shape, and whether floor pooling needs a
crop depends on the size): convert with ``--input``.

Pass order, and why it holds:
0. ONNX shape inference (onnx_ir's pass) at the given input sizes: every writer decision
   (floor/ceil sizes, Reshape dims, Slice bounds) needs static shapes, and an ONNX source
   with free sizes fixed by ``--input`` carries none for its intermediate values;
1. eliminate identities, then 2. fold constants (as for the onnx target: the survivor
   keeps the source engine's name; shape arithmetic becomes constants), without the
   folder's default size limit (``FOLD_LIMIT``: SSD's priors must become one constant);
3. Gemm/MatMul -> InnerProduct form (``gemm_to_innerproduct``): a MatMul becomes a Gemm,
   so the next step can fold a following bias Add into it;
4. fold BatchNormalization, then per-channel Mul/Add, into the producing Conv/Gemm
   (``optimize``; the folds keep a Gemm in InnerProduct form); a BatchNormalization that
   cannot fold (after a Concat, a ReLU, an input) is written as Caffe's BatchNorm + Scale
   with the model's own eps;
5. the exact Caffe lowerings: HardSigmoid/HardSwish -> Mul/Add/Clip
   (``lower_hard_activations``), then Clip -> ReLU/Power chains (``lower_clip``), floor pooling ->
   ceil pooling + crop (``caffe_floor_pooling``, last: it needs the final shapes);
6. remove dead nodes and unused initializers.
``check`` then lists every node the writer cannot take, all at once, before writing.

Options (``convert(..., extra={...})``): ``depthwise`` (write group == channels
convolutions as ``DepthwiseConv``; OpenCV cannot load that type, NNIE wants it);
``relu6`` (write ``Clip(0, 6)`` as one ``ReLU6`` layer, which OpenCV and some Caffe forks
have but classic Caffe and NNIE lack; by default it is lowered to ReLU/Power); ``exact``
(refuse what the net can only approximate, e.g. SSD's MultiBoxDetection with
``force_suppress`` over several classes, instead of warning with a ``ConversionWarning``).
"""
from __future__ import annotations

from pathlib import Path

from modelport.targets import Options, target

# Elements a folded constant may have, in and out (onnxscript's defaults stop at 8192 in):
# a Caffe layer reads no constant operand, so whatever is constant at the given input sizes
# must fold, e.g. SSD's priors (4 floats an anchor, tens of thousands of anchors).
FOLD_LIMIT = 1 << 24


def passes(options: Options) -> list:
    from modelport.passes.caffe_floor_pooling import CaffeFloorPoolingPass
    from modelport.passes.eliminate_identity import EliminateIdentityPass
    from modelport.passes.fold_batchnorm import FoldBatchNormPass
    from modelport.passes.fold_constants import FoldConstantsPass
    from modelport.passes.fold_scale_shift import FoldScaleShiftPass
    from modelport.passes.gemm_to_innerproduct import GemmToInnerProductPass
    from modelport.passes.lower_clip import LowerClipPass
    from modelport.passes.lower_hard_activations import LowerHardActivationsPass
    from modelport.passes.remove_dead import RemoveDeadPass

    from onnx_ir.passes.common import ShapeInferencePass

    folding = [FoldBatchNormPass(), FoldScaleShiftPass()] if options.optimize else []
    folder = FoldConstantsPass(input_size_limit=FOLD_LIMIT, output_size_limit=FOLD_LIMIT)
    return [ShapeInferencePass(strict_mode=False), EliminateIdentityPass(), folder, GemmToInnerProductPass(),
            *folding, LowerHardActivationsPass(), LowerClipPass(keep_relu6=bool(options.extra.get("relu6"))), CaffeFloorPoolingPass(), RemoveDeadPass()]


def check(model) -> list[str]:
    from modelport.backends.caffe.writer import problems

    return problems(model)


def runner(path: Path):
    from modelport.runtimes.opencv_caffe_runner import opencv_caffe_runner

    return opencv_caffe_runner(path)


@target("caffe", ".prototxt", "Caffe .prototxt + .caffemodel, run by OpenCV dnn", passes, check, runner,
        static_shapes=True)
def write(model, folder: Path, stem: str, options: Options) -> list[str]:
    from modelport.backends.caffe.writer import write_caffe

    names = [f"{stem}.prototxt", f"{stem}.caffemodel"]
    write_caffe(model, folder / names[0], folder / names[1], options.extra)
    return names
