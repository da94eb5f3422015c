"""Cutting an MXNet graph at named nodes (``--outputs``), and guessing where to cut a training graph.

``cut(graph, ["fc1"])`` makes the named node outputs the graph's heads and drops every node
that is not on a path to them, so ops, weights and labels that only the training branch
uses vanish before anything checks them. A name is a node name (its output 0), or
``name_outputK`` / ``name_output`` for one output of a node (MXNet's internal names).

``likely_cut(graph, registry, unsupported)``: when every head is a loss (reads a label) and
no unsupported node is needed by the cut it proposes, the node that is probably the
inference output. Starting from the last label-free node that feeds a node using the label
(the logits of a plain classifier, or a margin's classifier layer), it walks back through
what only serves the loss: a layer whose weight is computed in the graph (a margin's
normalised class centres, as in ArcFace/CosFace), then weightless single-input ops
(L2Normalization, scaling) whose consumers are all on the training branch. ArcFace's
``fc1 -> L2Normalization -> *s -> FullyConnected(normalised fc7_weight) -> pick/one_hot(label)``
gives ``fc1``.
"""
from __future__ import annotations

import difflib
import re

from modelport.errors import ModelportError
from modelport.frontends.mxnet.reader import MXGraph, MXNode

_OUTPUT = re.compile(r"^(.*)_output(\d*)$")


def _entry(graph: MXGraph, name: str) -> tuple[int, int]:
    by_name = {n.name: n for n in graph.nodes}
    if name in by_name:
        return by_name[name].id, 0
    match = _OUTPUT.match(name)
    if match and match.group(1) in by_name:
        return by_name[match.group(1)].id, int(match.group(2) or 0)
    close = difflib.get_close_matches(name, [n.name for n in graph.nodes if not n.is_variable], n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ModelportError(f"{graph.path}: --outputs names '{name}', which is no node of the graph{hint}")


def cut(graph: MXGraph, names: list[str]) -> MXGraph:
    """The graph with ``names`` as its heads and only the nodes they need (ids renumbered)."""
    heads = [_entry(graph, name) for name in names]
    keep: set[int] = set()
    stack = [src for src, _ in heads]
    while stack:
        node_id = stack.pop()
        if node_id not in keep:
            keep.add(node_id)
            stack.extend(src for src, _ in graph.nodes[node_id].inputs)
    order = sorted(keep)
    new_id = {old: new for new, old in enumerate(order)}
    nodes = [MXNode(new_id[old], graph.nodes[old].op, graph.nodes[old].name, graph.nodes[old].attrs,
                    [(new_id[src], index) for src, index in graph.nodes[old].inputs]) for old in order]
    return MXGraph(nodes, [(new_id[src], index) for src, index in heads],
                   [new_id[a] for a in graph.arg_nodes if a in new_id], path=graph.path,
                   dialect=graph.dialect, version=graph.version)


def _forward(graph: MXGraph, start: set[int]) -> set[int]:
    seen, stack = set(start), list(start)
    while stack:
        for consumer, _ in graph.consumers.get(stack.pop(), []):
            if consumer not in seen:
                seen.add(consumer)
                stack.append(consumer)
    return seen


def _label_vars(graph: MXGraph, registry: dict) -> set[int]:
    labels = set()
    for node in graph.nodes:
        if node.is_variable and node.name.endswith("_label"):
            labels.add(node.id)
        elif not node.is_variable and node.op in registry:
            labels.update(node.inputs[s][0] for s in registry[node.op].label_slots if s < len(node.inputs)
                          and graph.nodes[node.inputs[s][0]].is_variable)
    return labels


def likely_cut(graph: MXGraph, registry: dict, unsupported: list[MXNode]) -> str | None:
    """The name of the node that is probably the inference output, or None (see the module doc)."""
    labelled = _forward(graph, _label_vars(graph, registry))
    heads = {src for src, _ in graph.heads}
    if not heads or not heads <= labelled:
        return None  # a head that does not read a label: not (only) a training graph
    frontier = [n for n in graph.nodes if not n.is_variable and n.id not in labelled
                and any(c in labelled for c, _ in graph.consumers.get(n.id, []))]
    if not frontier:
        return None
    node, training = frontier[-1], labelled | {frontier[-1].id}

    def computed_weight(n: MXNode) -> bool:
        spec = registry.get(n.op)
        slots = spec.weight_slots if spec else ()
        return any(s < len(n.inputs) and not graph.nodes[n.inputs[s][0]].is_variable for s in slots)

    def data_inputs(n: MXNode) -> list[MXNode]:
        return [graph.nodes[src] for src, _ in n.inputs if not graph.nodes[src].is_variable]

    if computed_weight(node) and node.inputs and not graph.nodes[node.inputs[0][0]].is_variable:
        node = graph.nodes[node.inputs[0][0]]
        training.add(node.id)
    while True:
        spec, inputs = registry.get(node.op), data_inputs(node)
        if spec is None or spec.weight_slots or len(inputs) != 1:
            break
        if not all(c in training for c, _ in graph.consumers.get(node.id, [])):
            break
        node = inputs[0]
        training.add(node.id)
    if {n.id for n in unsupported} & _backward(graph, node.id):
        return None  # an unsupported op the cut would keep: cutting does not help
    return node.name


def _backward(graph: MXGraph, start: int) -> set[int]:
    seen, stack = {start}, [start]
    while stack:
        for src, _ in graph.nodes[stack.pop()].inputs:
            if src not in seen:
                seen.add(src)
                stack.append(src)
    return seen
