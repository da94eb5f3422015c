"""Gemm -> InnerProduct (in the canonical form ``passes/gemm_to_innerproduct.py`` leaves:
``transA=0``, ``transB=1``, ``alpha=beta=1``, constant ``B`` of shape (N, K), constant
bias of shape (N,) or none). Caffe's InnerProduct weight is ``(num_output, K)`` = ``B``."""
from __future__ import annotations

from modelport.backends.caffe.ops import Unsupported, emitter


@emitter("Gemm")
def gemm(net, node) -> None:
    if (net.attr(node, "transA", 0) or not net.attr(node, "transB", 0) or net.attr(node, "alpha", 1.0) != 1.0
            or net.attr(node, "beta", 1.0) != 1.0):
        raise Unsupported("Gemm not in InnerProduct form (transA=0, transB=1, alpha=beta=1)")
    weight = net.need_const(node.inputs[1], "B")
    has_c = len(node.inputs) > 2 and node.inputs[2] is not None
    bias = net.need_const(node.inputs[2], "C") if has_c else None
    if weight.ndim != 2 or (bias is not None and bias.size != weight.shape[0]):
        raise Unsupported("Gemm whose C varies over rows")
    layer = net.layer("InnerProduct", [node.inputs[0]], node.outputs[0].name)
    layer.inner_product_param.num_output = weight.shape[0]
    layer.inner_product_param.bias_term = bias is not None
    net.blob(layer, weight)
    if bias is not None:
        net.blob(layer, bias.reshape(-1))
