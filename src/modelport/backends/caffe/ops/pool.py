"""MaxPool / AveragePool -> Pooling (MAX / AVE); GlobalMax/AveragePool -> global_pooling.

Caffe pools with ceil: ``out = ceil((in + 2p - k) / s) + 1``, minus one when that last
window would start in the right padding. The emitter writes a window only where that
size equals the ONNX output size: floor pooling is first rewritten into ceil pooling plus
a crop by ``passes/caffe_floor_pooling.py``. Caffe's average divides by the window size
clipped to the padded input, i.e. it counts padding: ``count_include_pad=0`` is taken
only where no window reaches the padding (no padding at all). A MaxPool may have more
padding at the end than at the start (TF's SAME): Caffe starts window ``i`` at
``i * s - begin`` and clips it to the input, as max pooling over -inf padding does, so
equal output sizes mean equal values.
"""
from __future__ import annotations

import math

from modelport.backends.caffe.ops import Unsupported, emitter
from modelport.backends.caffe.ops._common import window
from modelport.backends.caffe import caffe_pb2 as pb


def caffe_pool_size(size: int, kernel: int, stride: int, pad: int) -> int:
    """Caffe's (ceil) pooling output size along one axis."""
    out = int(math.ceil((size + 2 * pad - kernel) / stride)) + 1
    if pad > 0 and (out - 1) * stride >= size + pad:
        out -= 1
    return out


@emitter("MaxPool", "AveragePool")
def pool(net, node) -> None:
    x, y = node.inputs[0], node.outputs[0]
    if len(node.outputs) > 1 and (node.outputs[1].uses() or node.outputs[1].is_graph_output()):
        raise Unsupported("MaxPool indices output")
    in_shape, out_shape = net.shape(x), net.shape(y)
    average = node.op_type == "AveragePool"
    win = window(net, node, len(in_shape), asymmetric=not average)
    if win["dilation"] != (1, 1):
        raise Unsupported("dilated pooling")
    caffe = tuple(caffe_pool_size(n, k, s, p) for n, k, s, p in
                  zip(in_shape[2:], win["kernel"], win["stride"], win["pad"]))
    if caffe != tuple(out_shape[2:]):
        mode = "ceil" if net.attr(node, "ceil_mode", 0) else "floor"
        raise Unsupported(f"{mode} pooling to {out_shape[2]}x{out_shape[3]} where Caffe's ceil pooling gives "
                          f"{caffe[0]}x{caffe[1]} (not lowered by the caffe_floor_pooling pass)")
    if average and not net.attr(node, "count_include_pad", 0) and any(win["pad"]):
        raise Unsupported("count_include_pad=0 with padding (Caffe's average counts padded positions)")
    layer = net.layer("Pooling", [x], y.name)
    p = layer.pooling_param
    p.pool = pb.PoolingParameter.AVE if average else pb.PoolingParameter.MAX
    p.kernel_h, p.kernel_w = win["kernel"]
    p.stride_h, p.stride_w = win["stride"]
    p.pad_h, p.pad_w = win["pad"]


@emitter("GlobalMaxPool", "GlobalAveragePool")
def global_pool(net, node) -> None:
    if len(net.shape(node.inputs[0])) != 4:
        raise Unsupported("global pooling of a tensor that is not 4-D")
    layer = net.layer("Pooling", [node.inputs[0]], node.outputs[0].name)
    p = layer.pooling_param
    p.pool = pb.PoolingParameter.AVE if node.op_type == "GlobalAveragePool" else pb.PoolingParameter.MAX
    p.global_pooling = True
