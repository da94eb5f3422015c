"""Reading constants out of the IR (what passes and writers ask of a value)."""
from __future__ import annotations

import numpy as np
import onnx_ir as ir


def const_array(value: ir.Value | None) -> np.ndarray | None:
    """The constant behind ``value`` (an initializer that is not a graph input, or a
    Constant node's output), else None."""
    if value is None or value.is_graph_input():
        return None
    try:
        tensor = ir.convenience.get_const_tensor(value)
    except ValueError:
        return None
    return None if tensor is None else tensor.numpy()
