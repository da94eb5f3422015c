"""Softmax over one axis (ONNX opset >= 13 semantics = Caffe's Softmax ``axis``)."""
from __future__ import annotations

from modelport.backends.caffe.ops import emitter


@emitter("Softmax")
def softmax(net, node) -> None:
    rank = len(net.shape(node.inputs[0]))
    axis = int(net.attr(node, "axis", -1))
    layer = net.layer("Softmax", [node.inputs[0]], node.outputs[0].name)
    layer.softmax_param.axis = axis % rank
