"""The contract every model in the pipeline keeps, from load to write.

- ONNX default domain at opset ``OPSET``; ops ONNX lacks live in the private domain
  ``PRIVATE_DOMAIN`` (their semantics in the op module's docstring).
- IR version ``IR_VERSION`` or newer.
- Tensor names are unique and non-empty: they are the source engine's names, the
  thread verify follows from source to target.
- Graph inputs and outputs have a tensor type; inputs are float or integer tensors.

``check_contract`` runs once at the boundary between a frontend and the passes and
reports every breach at once.
"""
from __future__ import annotations

from collections import Counter

import onnx_ir as ir

from modelport.errors import ConversionError
from modelport.text import plural

OPSET = 17
IR_VERSION = 8
PRIVATE_DOMAIN = "modelport"
DOMAINS = ("", "ai.onnx", PRIVATE_DOMAIN)
INPUT_TYPES = {ir.DataType.FLOAT, ir.DataType.FLOAT16, ir.DataType.DOUBLE, ir.DataType.INT64,
               ir.DataType.INT32, ir.DataType.INT8, ir.DataType.UINT8, ir.DataType.BOOL}


def contract_problems(model: ir.Model) -> list[str]:
    """Every way ``model`` breaks the contract (empty when it keeps it)."""
    graph = model.graph
    problems = []
    opset = graph.opset_imports.get("", graph.opset_imports.get("ai.onnx"))
    if opset != OPSET:
        problems.append(f"default-domain opset is {opset}, modelport works at opset {OPSET}")
    if model.ir_version < IR_VERSION:
        problems.append(f"IR version {model.ir_version} < {IR_VERSION}")
    domains = Counter(node.domain for node in graph if node.domain not in DOMAINS)
    problems += [f"{count} node(s) in domain '{domain}' (allowed: the ONNX domain and '{PRIVATE_DOMAIN}')"
                 for domain, count in domains.items()]
    names = Counter(v.name for v in _values(graph))
    if names.get(None) or names.get(""):
        problems.append(plural(names.get(None, 0) + names.get('', 0), "tensor") + " without a name")
    problems += [f"tensor name '{name}' is used {count} times" for name, count in names.items()
                 if name and count > 1]
    for value in graph.inputs:
        if value.type is None or value.dtype not in INPUT_TYPES:
            problems.append(f"input '{value.name}' has type {value.type}: expected a float or integer tensor")
    problems += [f"output '{value.name}' has no type" for value in graph.outputs if value.type is None]
    return problems


def _values(graph: ir.Graph):
    seen = set()
    for value in [*graph.inputs, *graph.initializers.values(), *(o for node in graph for o in node.outputs)]:
        if id(value) not in seen:
            seen.add(id(value))
            yield value


def check_contract(model: ir.Model) -> None:
    problems = contract_problems(model)
    if problems:
        raise ConversionError(problems, header="the model breaks modelport's IR contract")
