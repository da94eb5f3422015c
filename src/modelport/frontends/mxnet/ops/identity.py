"""Ops that are the identity at inference: Dropout, BlockGrad, MakeLoss, _copy, identity.

Each returns its input value unchanged; the importer then inserts an ONNX
``Identity`` node so the MXNet node name survives as a tensor name (the name is what
verification compares by). ``stop_gradient`` is MXNet's alias of ``BlockGrad`` (a
symbol JSON always stores ``BlockGrad``; the alias is registered for hand-written
graphs).

- ``Dropout``: at inference (``is_train=False``) MXNet passes the data through for
  any ``p`` and ``axes``. With ``mode='always'`` MXNet also drops at inference, at
  random (kept elements scaled by 1/(1-p)); a deterministic model cannot reproduce
  that, and the identity is its expectation, so it is converted as the identity too.
- ``BlockGrad`` / ``stop_gradient``: forward is the identity (it only stops gradients).
- ``MakeLoss``: forward is the identity of its input (``grad_scale``,
  ``normalization`` and ``valid_thresh`` act on the gradient only).
- ``_copy`` / ``identity`` (MXNet's alias of ``_copy``): y = x.
"""
from __future__ import annotations

from modelport.frontends.mxnet.registry import mxnet_op


@mxnet_op("Dropout", shape_preserving=True)
@mxnet_op("BlockGrad", "stop_gradient", schema="BlockGrad", head=True, shape_preserving=True)
@mxnet_op("MakeLoss", head=True, shape_preserving=True)
@mxnet_op("_copy", "identity", schema="_copy", shape_preserving=True)
def passthrough(ctx):
    return [ctx.input(0)]
