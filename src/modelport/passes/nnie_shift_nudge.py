"""Nudge a Power shift of exactly 1.0 to 1.0001 for HiSilicon NNIE (PITFALLS 19).

Rule: the Caffe writer writes ``x + c``, ``x - c`` and ``c - x`` with a scalar constant ``c``
as a ``Power`` layer with shift ``c``, ``-c`` and ``c``. Where that shift would be exactly
1.0 (``x + 1``, ``x - (-1)``, ``1 - x``), the constant is replaced so that the shift is
``1.0 + EPSILON`` (1.0001, the value reported to work): the GPU build of NNIE's mapper
adds -1 where +1 is due for shift 1.0.

Math: ``y' = y + 1e-4`` wherever the nudge applies: NOT exact. It is on by default for
the ``nnie`` target only, every nudged node is recorded in the model's metadata
(``modelport.nnie.nudged``: a JSON list of output names) and reported, and the option
``shift_nudge=False`` (CLI ``--no-shift-nudge``) turns it off. Names are unchanged.
"""
from __future__ import annotations

import json

import numpy as np
import onnx_ir as ir

from modelport.passes._channels import _initializer, const_array

EPSILON = 1e-4
KEY = "modelport.nnie.nudged"


def _shift_position(node: ir.Node) -> tuple[int, float] | None:
    """``(index of the constant, the constant's new value)`` when the node's Power shift is 1.0."""
    if node.domain != "" or node.op_type not in ("Add", "Sub") or len(node.inputs) != 2:
        return None
    for k in (0, 1):
        c = const_array(node.inputs[k])
        if c is None or c.size != 1 or const_array(node.inputs[1 - k]) is not None:
            continue
        v = float(c.reshape(-1)[0])
        if node.op_type == "Add" and v == 1.0:
            return k, 1.0 + EPSILON
        if node.op_type == "Sub" and k == 1 and v == -1.0:  # x - (-1)
            return k, -(1.0 + EPSILON)
        if node.op_type == "Sub" and k == 0 and v == 1.0:  # 1 - x
            return k, 1.0 + EPSILON
    return None


class NnieShiftNudgePass(ir.passes.InPlacePass):
    """Power shifts of exactly 1.0 become 1.0001 (see module doc)."""

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        graph = model.graph
        nudged = json.loads(model.metadata_props.get(KEY, "[]"))
        modified = False
        for node in list(graph):
            found = _shift_position(node)
            if found is None:
                continue
            k, value = found
            old = node.inputs[k]
            node.replace_input_with(k, _initializer(graph, f"{node.outputs[0].name}__nudged", np.asarray(value)))
            if not old.uses() and old.is_initializer() and not old.is_graph_input():
                graph.initializers.pop(old.name)
            nudged.append(node.outputs[0].name)
            modified = True
        if modified:
            model.metadata_props[KEY] = json.dumps(nudged)
        return ir.passes.PassResult(model, modified=modified)
