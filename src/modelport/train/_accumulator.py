"""Gradient buffers owned by VariableShapeModule.

The executors of the different input shapes write their gradients ('write') into
MXNet's own gradient arrays; after every backward() they are added here, so the
sum does not depend on which executor ran or on whether MXNet shares gradient
memory between executors.
"""

import mxnet as mx

ACCUMULATE_MODES = ("mean", "sum")


class GradientAccumulator:
    """Sum of the parameter gradients of several backward() calls.

    ``grad_arrays`` use the layout of ``DataParallelExecutorGroup.grad_arrays``: one
    list per parameter with one NDArray per device, or ``None`` entries for
    parameters without gradient (fixed parameters).
    """

    def __init__(self, mode="mean"):
        if mode not in ACCUMULATE_MODES:
            raise ValueError("accumulate must be one of %s, got %r" % (ACCUMULATE_MODES, mode))
        self.mode = mode
        self.steps = 0
        self._buffers = None

    def add(self, grad_arrays):
        """Add one backward()'s gradients."""
        if self._buffers is None:
            self._buffers = [None if grads[0] is None else
                             [mx.nd.zeros(g.shape, g.context, dtype=g.dtype) for g in grads]
                             for grads in grad_arrays]
        for buffers, grads in zip(self._buffers, grad_arrays):
            if buffers is None:
                continue
            for buf, grad in zip(buffers, grads):
                if self.steps == 0:
                    grad.copyto(buf)        # no need to zero the buffers after an update
                else:
                    buf += grad
        self.steps += 1

    def write_to(self, grad_arrays):
        """Overwrite ``grad_arrays`` with the accumulated gradient (averaged for 'mean')."""
        if self.steps == 0:
            raise RuntimeError("no accumulated gradients")
        scale = 1.0 / self.steps if self.mode == "mean" else 1.0
        for buffers, grads in zip(self._buffers, grad_arrays):
            if buffers is None:
                continue
            for buf, grad in zip(buffers, grads):
                buf.copyto(grad)
                if scale != 1.0:
                    grad *= scale

    def reset(self):
        """Forget the accumulated gradients (the buffers are reused)."""
        self.steps = 0
