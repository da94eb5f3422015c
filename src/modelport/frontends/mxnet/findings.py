"""What ``inspect`` reports about an MXNet checkpoint: the pitfalls this model hits.

Each ``@finding`` function looks at the graph and weights and returns sentences (or
nothing). They describe what the converter does about it, so a user knows why a
hand conversion of the same model would have gone wrong. Which ops count as
preprocessing or as output heads is declared in each op's registration
(``preprocessing=True``, ``head=True``).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from modelport.frontends.mxnet.attrs import Attrs
from modelport.text import plural
from modelport.frontends.mxnet.reader import MXGraph
from modelport.frontends.mxnet.registry import ops_with

Finding = Callable[[MXGraph, dict], list[str]]
FINDINGS: list[Finding] = []


def finding(fn: Finding) -> Finding:
    FINDINGS.append(fn)
    return fn


def _ops(graph: MXGraph, op: str):
    return [n for n in graph.nodes if n.op == op]


@finding
def dialect(graph, weights):
    if graph.dialect in ("param", "attr"):
        return [f"legacy JSON dialect ('{graph.dialect}' attributes, MXNet <= 1.1); read as is (PITFALL 2)"]
    return []


@finding
def fix_gamma(graph, weights):
    fixed = []
    for node in _ops(graph, "BatchNorm"):
        if Attrs(node.op, node.name, node.attrs).bool("fix_gamma"):
            fixed.append(node)
    if not fixed:
        return []
    absent = sum("fix_gamma" not in n.attrs for n in fixed)
    not_one = 0
    for node in fixed:
        gamma = weights.get(graph.nodes[node.inputs[1][0]].name) if len(node.inputs) > 1 else None
        not_one += gamma is not None and not np.all(gamma == 1)
    text = (f"{plural(len(fixed), 'BatchNorm layer')} {'has' if len(fixed) == 1 else 'have'} fix_gamma=True ({absent} by absence: MXNet's default); "
            f"stored gamma ignored, 1 used (PITFALL 3)")
    if not_one:
        text += f"; {not_one} of them store gamma != 1, which a naive converter would copy"
    return [text]


@finding
def bn_eps(graph, weights):
    eps = sorted({Attrs("BatchNorm", n.name, n.attrs).float("eps") for n in _ops(graph, "BatchNorm")})
    if not eps:
        return []
    return [f"BatchNorm eps {', '.join(f'{e:g}' for e in eps)} carried as is (MXNet default 1e-3, Caffe 1e-5) (PITFALL 4)"]


@finding
def bn_axis(graph, weights):
    odd = [n.name for n in _ops(graph, "BatchNorm") if Attrs("BatchNorm", n.name, n.attrs).int("axis") != 1]
    return [f"{plural(len(odd), 'BatchNorm layer')} normalise an axis other than 1: {', '.join(odd[:5])} (PITFALL 5)"] if odd else []


@finding
def preprocessing(graph, weights):
    inputs = {n.id for n in graph.nodes if n.is_variable and n.name not in weights}
    chain = []
    frontier = set(inputs)
    preprocessing_ops = ops_with("preprocessing")
    for node in graph.nodes:
        if node.op in preprocessing_ops and node.inputs and node.inputs[0][0] in frontier:
            scalar = node.attrs.get("scalar", "")
            chain.append(f"{node.op}({scalar})" if scalar else node.op)
            frontier.add(node.id)
    if chain:
        return [f"preprocessing inside the graph, kept: {' -> '.join(chain)}; feed raw input (PITFALL 6)"]
    return []


@finding
def labels(graph, weights):
    names = [n.name for n in graph.nodes if n.is_variable and n.name.endswith("_label") and n.name not in weights]
    return [f"label input(s) {', '.join(names)} dropped: not needed at inference (PITFALL 7)"] if names else []


@finding
def name_collisions(graph, weights):
    odd = []
    for node in graph.nodes:
        for src, _ in node.inputs[1:]:
            var = graph.nodes[src]
            if var.is_variable and var.name in weights and not var.name.startswith(node.name + "_"):
                odd.append(f"{var.name} -> {node.name}")
    if odd:
        return [f"{plural(len(odd), 'weight is', 'weights are')} named after another layer ({', '.join(odd[:3])}); "
                "resolved through graph edges, not names (PITFALL 8)"]
    return []


@finding
def flatten_fc(graph, weights):
    count = 0
    for node in _ops(graph, "FullyConnected"):
        src = graph.nodes[node.inputs[0][0]]
        if src.op not in ("FullyConnected",) and not src.is_variable:
            count += Attrs(node.op, node.name, node.attrs).bool("flatten")
    return [f"{plural(count, 'FullyConnected layer flattens', 'FullyConnected layers flatten')} a feature map (C,H,W order; targets storing HWC must "
            "permute weights) (PITFALL 9)"] if count else []


@finding
def pooling(graph, weights):
    full = same = padded_avg = 0
    for node in _ops(graph, "Pooling"):
        a = Attrs(node.op, node.name, node.attrs)
        conv = a.str("pooling_convention")
        full += conv == "full"
        same += conv == "same"
        padded_avg += a.str("pool_type") == "avg" and any(a.ints("pad")) and not a.bool("global_pool")
    out = []
    if full:
        out.append(f"{plural(full, 'Pooling layer uses', 'Pooling layers use')} pooling_convention='full' (ceil) (PITFALL 10)")
    if same:
        out.append(f"{plural(same, 'Pooling layer uses', 'Pooling layers use')} pooling_convention='same' (PITFALL 10)")
    if padded_avg:
        out.append(f"{plural(padded_avg, 'padded avg Pooling layer')} (count_include_pad matters) (PITFALL 10)")
    return out


@finding
def heads(graph, weights):
    head_ops = ops_with("head")
    found = sorted({n.op for n in graph.nodes if n.op in head_ops})
    return [f"output heads in inference form: {', '.join(found)} (PITFALL 12)"] if found else []


@finding
def shared_names(graph, weights):
    if not graph.renamed:
        return []
    shown = ", ".join(f"{old} -> {new}" for new, old in list(graph.renamed.items())[:3])
    return [f"{plural(len(graph.renamed), 'node shares its name', 'nodes share their names')} with an earlier node "
            f"(a block called twice); renamed in graph order, as verify's MXNet run names them: {shown}"
            + (" ..." if len(graph.renamed) > 3 else "")]
