"""Decorator registry of MXNet operator converters, and the facts known about each op.

``@mxnet_op("Convolution")`` registers ``fn(ctx: OpContext) -> list[ir.Value]``: the
values returned become the node's outputs, named after the MXNet node. Everything
else the frontend knows about an op is given in the same registration, never in a
central list elsewhere:

    @mxnet_op("SoftmaxOutput", "Softmax", schema="SoftmaxOutput", head=True,
              shape_preserving=True, label_slots=(1,))

- ``label_slots``: input slots that are labels (dropped at inference).
- ``weight_slots``: input slots that must be weights from the params file.
- ``schema``: the MXNet op whose documented attribute table (``defaults.MXNET_OP_ATTRS``)
  these names share; given when a name is an MXNet alias (``_Plus`` of
  ``elemwise_add``, ``split`` of ``SliceChannel``). Absent: each name is its own schema.
- ``shape_preserving``: output 0 has input 0's shape (broadcast ops: when the other
  operand broadcasts into it, as a mean or scale constant does). Input-shape guessing
  looks through such ops to the first layer with weights.
- ``head``: an output head (loss layer, gradient stopper) converted to its inference
  form; ``inspect`` names the heads a model has (PITFALL 12).
- ``preprocessing``: may sit right after ``data`` as preprocessing (PITFALL 6).
- ``input_shape``: ``fn(attrs, weight) -> tuple`` giving the shape input 0 must have
  for the weight in slot 1 (None for dims the weight does not fix), used to guess a
  graph input's shape when the user gives none.
- ``kernel_defaults``: ``{attr: value}`` for attributes documented with default None
  whose kernel behaves as a definite value (pinned by tests against MXNet).
- ``ignored_attrs``: ``{attr: why}`` for attributes MXNet stores on the node but its
  kernel never reads (an op without a parameter parser keeps any keyword given to it:
  GluonCV's ``F.zeros_like(x, dtype='int64')``). They are accepted, not reported as
  unknown, and change nothing (pinned by tests against MXNet).

The query helpers (``spec_of``, ``ops_with``, ``schema_name``) load every op module
first, so modules that op modules import (``attrs``) may call them lazily. The
supported-ops table in the docs and the list of ops in ``defaults.py`` are generated
from this registry.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

Converter = Callable[..., list]
InputShape = Callable[..., tuple]


@dataclass(frozen=True)
class OpSpec:
    fn: Converter
    label_slots: tuple[int, ...] = ()
    weight_slots: tuple[int, ...] = ()
    schema: str | None = None
    shape_preserving: bool = False
    head: bool = False
    preprocessing: bool = False
    input_shape: InputShape | None = None
    kernel_defaults: Mapping[str, str] = field(default_factory=dict)
    ignored_attrs: Mapping[str, str] = field(default_factory=dict)


FLAGS = ("shape_preserving", "head", "preprocessing")
CONVERTERS: dict[str, OpSpec] = {}
_loaded = False


def mxnet_op(*names: str, label_slots: tuple[int, ...] = (), weight_slots: tuple[int, ...] = (),
             schema: str | None = None, shape_preserving: bool = False, head: bool = False,
             preprocessing: bool = False, input_shape: InputShape | None = None,
             kernel_defaults: Mapping[str, str] | None = None,
             ignored_attrs: Mapping[str, str] | None = None):
    """Register ``fn`` under every name in ``names``, with the facts above (see the module doc)."""
    def register(fn: Converter) -> Converter:
        spec = OpSpec(fn, tuple(label_slots), tuple(weight_slots), schema, shape_preserving, head,
                      preprocessing, input_shape, dict(kernel_defaults or {}), dict(ignored_attrs or {}))
        twice = [name for name in names if name in CONVERTERS]
        if twice:
            raise RuntimeError(f"MXNet op {', '.join(twice)} registered twice")
        CONVERTERS.update(dict.fromkeys(names, spec))
        return fn
    return register


def load_all() -> dict[str, OpSpec]:
    """Import every op module (each registers itself) and return the registry."""
    global _loaded
    if not _loaded:
        import importlib
        import pkgutil

        from modelport.frontends.mxnet import ops

        for info in pkgutil.iter_modules(ops.__path__):
            importlib.import_module(f"{ops.__name__}.{info.name}")
        _loaded = True
    return CONVERTERS


def spec_of(op: str) -> OpSpec | None:
    """The registration of ``op``, or None when no converter handles it."""
    return load_all().get(op)


def ops_with(flag: str) -> frozenset[str]:
    """Every registered op name whose registration sets ``flag`` (one of ``FLAGS``)."""
    if flag not in FLAGS:
        raise ValueError(f"unknown op flag {flag!r}; flags are {', '.join(FLAGS)}")
    return frozenset(name for name, spec in load_all().items() if getattr(spec, flag))


def schema_name(op: str) -> str:
    """The op whose documented attributes ``op`` has: its declared schema, else itself."""
    spec = spec_of(op)
    return spec.schema if spec is not None and spec.schema else op
