"""Bring ``Gemm`` and 2-D ``MatMul`` with a constant weight into InnerProduct form.

Rule: ``Y = Gemm(A, B, C; alpha, beta, transA=0, transB)`` with constant ``B`` and a
constant ``C`` that is the same for every row (scalar, ``(N,)`` or ``(1, N)``), or
``Y = MatMul(A, B)`` with ``A`` of rank 2 and constant 2-D ``B``, becomes
``Gemm(A, W, b; transB=1)`` with

    W = alpha * B^T  (transB=0)   or   alpha * B  (transB=1),   shape (N, K)
    b = beta * C broadcast to (N,)                     (no bias for MatMul or without C)

Math: ``alpha * A B' + beta * C = A (alpha B')^T^T + beta C``: row ``i`` of ``Y`` is
``W @ A[i] + b``, exactly Caffe's InnerProduct (weight ``(num_output, K)``). ``W`` and
``b`` are computed in float64 and stored float32 (``alpha`` folded into the weight: one
rounding per weight instead of one per output).

Names: the node is rewritten in place (MatMul becomes a Gemm with the same output); no
tensor disappears. Already-canonical Gemms (transB=1, alpha=beta=1, ``C`` of shape
``(N,)``) are left alone.
"""
from __future__ import annotations

import numpy as np
import onnx_ir as ir

from modelport.passes._base import NodeRewritePass, Splice
from modelport.passes._channels import _drop_unread, _initializer, const_array


def _attr(node: ir.Node, name: str, default, kind=int):
    attr = node.attributes.get(name)
    return default if attr is None else (attr.as_int() if kind is int else attr.as_float())


class GemmToInnerProductPass(NodeRewritePass):
    """Gemm / 2-D MatMul with constant weight -> Gemm(transB=1, alpha=beta=1, C (N,)) (see module doc)."""

    def rewrite(self, model: ir.Model, node: ir.Node) -> bool:
        if node.domain != "" or node.op_type not in ("Gemm", "MatMul"):
            return False
        b = const_array(node.inputs[1]) if len(node.inputs) > 1 else None
        if b is None or b.ndim != 2 or b.dtype != np.float32:
            return False
        a = node.inputs[0]
        if node.op_type == "MatMul":
            if a.shape is None or len(a.shape) != 2:
                return False
            weight, bias = b.T.astype(np.float64), None
        else:
            if _attr(node, "transA", 0):
                return False
            alpha, beta = _attr(node, "alpha", 1.0, float), _attr(node, "beta", 1.0, float)
            trans_b = _attr(node, "transB", 0)
            has_c = len(node.inputs) > 2 and node.inputs[2] is not None
            c = const_array(node.inputs[2]) if has_c else None
            if has_c and c is None:
                return False
            n = b.shape[0] if trans_b else b.shape[1]
            if c is not None and not (c.size in (1, n) and (c.ndim < 2 or c.shape[0] == 1)):
                return False
            if trans_b and alpha == 1.0 and beta == 1.0 and (c is None or c.shape == (n,)):
                return False
            weight = (b if trans_b else b.T).astype(np.float64) * alpha
            bias = None if c is None else np.broadcast_to(c.reshape(-1).astype(np.float64) * beta, (n,))
        graph = model.graph
        old = list(node.inputs[1:])
        s = Splice(graph, node, "ip")
        inputs = [a, _initializer(graph, f"{s.name}_weight", weight)]
        if bias is not None:
            inputs.append(_initializer(graph, f"{s.name}_bias", bias))
        s.done(s.emit("Gemm", inputs, {"transB": 1}))
        _drop_unread(graph, old)
        return True
