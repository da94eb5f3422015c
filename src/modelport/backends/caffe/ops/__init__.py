"""Caffe emitters, registered by ONNX op type: ``@emitter("Conv")`` on ``fn(net, node)``.

An emitter adds the node's layers to ``net`` (a ``writer.CaffeNet``): every layer's
name is its (first) top's name, and a node's output keeps its ONNX value name as the
top, so verify can match tensors across engines. A node the target cannot take raises
``Unsupported(reason)``; the writer collects every such reason before anything is
written. One module per op family; list a new module in ``MODULES``. An op of a private
domain registers as ``@emitter("Op", domain="modelport")`` (key ``"modelport:Op"``, see
``key``). A subgraph that one
Caffe layer computes (L2 normalization -> Normalize) registers a ``@fusion`` matcher.
"""
from __future__ import annotations

import importlib

EMITTERS: dict = {}
FUSIONS: list = []  # fn(net, node) -> (nodes it absorbs, emit(net, node)) | None
MODULES = ("activation", "conv", "dense", "detection", "elementwise", "norm", "pool", "resize", "shape", "softmax")


class Unsupported(Exception):
    """This node (or this attribute of it) has no exact Caffe form."""


def key(op_type: str, domain: str = "") -> str:
    """The registry key of an op: its type in the default ONNX domain, ``domain:type`` otherwise."""
    return op_type if domain in ("", "ai.onnx") else f"{domain}:{op_type}"


def emitter(*op_types: str, domain: str = ""):
    def register(fn):
        for op_type in op_types:
            EMITTERS[key(op_type, domain)] = fn
        return fn
    return register


def fusion(fn):
    """Register a matcher for a subgraph that one Caffe layer computes (e.g. Normalize): called
    with each node; returns the earlier nodes the match absorbs and the emitter for the
    matched node, or None. Absorbed nodes write nothing; their outputs are recorded as
    folded into the matched node's output."""
    FUSIONS.append(fn)
    return fn


def load_all() -> dict:
    for module in MODULES:
        importlib.import_module(f"{__name__}.{module}")
    return EMITTERS
