"""Decorator registry of MXNet operator converters.

``@mxnet_op("Convolution")`` registers ``fn(ctx: OpContext) -> list[ir.Value]``: the
values returned become the node's outputs, named after the MXNet node. The
supported-ops table in the docs is generated from this registry.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Converter = Callable[..., list]


@dataclass(frozen=True)
class OpSpec:
    fn: Converter
    # input slots that are labels (dropped at inference), e.g. SoftmaxOutput's slot 1
    label_slots: tuple[int, ...] = ()
    # input slots that must be weights from the params file
    weight_slots: tuple[int, ...] = ()


CONVERTERS: dict[str, OpSpec] = {}


def mxnet_op(*names: str, label_slots: tuple[int, ...] = (), weight_slots: tuple[int, ...] = ()):
    def register(fn: Converter) -> Converter:
        for name in names:
            if name in CONVERTERS:
                raise RuntimeError(f"MXNet op {name} registered twice")
            CONVERTERS[name] = OpSpec(fn, label_slots, weight_slots)
        return fn
    return register


def load_all() -> dict[str, OpSpec]:
    """Import every op module (each registers itself) and return the registry."""
    import importlib
    import pkgutil

    from modelport.frontends.mxnet import ops

    for info in pkgutil.iter_modules(ops.__path__):
        importlib.import_module(f"{ops.__name__}.{info.name}")
    return CONVERTERS
