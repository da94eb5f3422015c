"""Tensor naming rules that a frontend and the runner of the same engine must share.

Tensor names tie a conversion to its verification: the MXNet frontend names each ONNX
value after its MXNet node, and the MXNet runner names each internal output the same
way, so verify can compare them by name. Both sides apply the rules here to the
symbol JSON's nodes, in file order, and so agree without knowing of each other.
"""
from __future__ import annotations

from collections.abc import Iterable

DUPLICATE_SEPARATOR = "__"


def unique_node_names(nodes: Iterable[tuple[str, bool]]) -> list[str]:
    """The names ``(name, is_variable)`` nodes go by, in the same order, each used once.

    MXNet lets two operator nodes share a name (GluonCV calls one block twice: Mask
    R-CNN runs its stage-4 ResNet block for the box head and again for the mask head,
    and both calls name their nodes ``resnetv1b_layers4_conv0_fwd``...). Variables keep
    their names: MXNet binds arguments by name, so same-named variables are one
    argument, and weights are found by those names. An operator node whose name is
    already taken, by any variable or by an earlier node, becomes ``name__k``: the
    smallest k >= 2 that no node is named and no earlier renaming took. The first
    occurrence keeps its name; the k-th (in graph order) is usually ``name__k``.
    """
    nodes = list(nodes)
    taken = {name for name, _ in nodes}        # nothing may be renamed onto a real node's name
    used = {name for name, is_var in nodes if is_var}
    out = []
    for name, is_var in nodes:
        if is_var:
            out.append(name)
            continue
        final = name
        if final in used:
            k = 2
            while f"{name}{DUPLICATE_SEPARATOR}{k}" in taken or f"{name}{DUPLICATE_SEPARATOR}{k}" in used:
                k += 1
            final = f"{name}{DUPLICATE_SEPARATOR}{k}"
        used.add(final)
        out.append(final)
    return out
