"""Typed attribute getters over MXNet's string attributes, with MXNet's own defaults.

All defaults come from one table, ``defaults.MXNET_OP_ATTRS`` (generated from MXNet's
docs), looked up under the op's schema name (an alias such as ``_Plus`` shares the
table of ``elemwise_add``, as declared in its registration), plus the registration's
``kernel_defaults`` for attributes whose documented default is "None" but whose
kernel behaves as a definite value. Asking for an attribute the table does not list
is a programming error (KeyError), so a converter cannot silently invent a default;
an attribute in the model that the operator does not have is reported by
``Attrs.unknown()``.
"""
from __future__ import annotations

import ast

from modelport.errors import ConversionError
from modelport.frontends.mxnet.defaults import MXNET_OP_ATTRS

# Attributes every operator may carry: vararg counts, legacy training hints.
COMMON_ATTRS = {"num_args", "ctx_group", "lr_mult", "wd_mult", "force_mirroring", "mirror_stage"}
_TRUE, _FALSE = {"true", "1"}, {"false", "0"}


def schema(op: str) -> dict[str, tuple[str, str | None]]:
    """The documented attributes of ``op`` ({} for an op neither registered nor documented)."""
    # lazy: op modules import this module, and the registry imports the op modules
    from modelport.frontends.mxnet.registry import schema_name
    return MXNET_OP_ATTRS.get(schema_name(op), {})


def kernel_defaults(op: str) -> dict[str, str]:
    """The registration's ``kernel_defaults`` of ``op`` (see registry.py)."""
    from modelport.frontends.mxnet.registry import spec_of
    spec = spec_of(op)
    return dict(spec.kernel_defaults) if spec is not None else {}


def ignored_attrs(op: str) -> frozenset[str]:
    """The registration's ``ignored_attrs`` of ``op``: stored by MXNet, read by no kernel."""
    from modelport.frontends.mxnet.registry import spec_of
    spec = spec_of(op)
    return frozenset(spec.ignored_attrs) if spec is not None else frozenset()


class Attrs:
    """``Attrs(op, node_name, raw).int("num_filter")`` and friends."""

    def __init__(self, op: str, node: str, raw: dict[str, str]):
        self.op, self.node, self.raw = op, node, raw
        self._schema = schema(op)
        self._kernel = kernel_defaults(op)
        self._ignored = ignored_attrs(op)

    def _error(self, key: str, msg: str) -> ConversionError:
        return ConversionError([f"node '{self.node}' ({self.op}): attribute '{key}' {msg}"],
                               header="invalid attribute")

    def text(self, key: str) -> str | None:
        """The raw string: the model's value, else MXNet's default (None = required/none)."""
        if key in self.raw:
            return self.raw[key]
        if key in self._kernel:
            return self._kernel[key]
        if key not in self._schema:
            raise KeyError(f"{self.op} has no documented attribute {key!r}")
        return self._schema[key][1]

    def has(self, key: str) -> bool:
        return key in self.raw

    def _required(self, key: str) -> str:
        value = self.text(key)
        if value is None:
            raise self._error(key, "is required but absent")
        return value.strip()

    def str(self, key: str) -> str:
        return self._required(key).strip("'\"")

    def choice(self, key: str, allowed) -> str:
        """A string attribute that must be one of ``allowed`` (e.g. a dict of handlers)."""
        value = self.str(key)
        if value not in allowed:
            raise self._error(key, f"is '{value}'; supported: {', '.join(sorted(allowed))}")
        return value

    def bool(self, key: str) -> bool:
        value = self._required(key).lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise self._error(key, f"is not a boolean: {value!r}")

    def int(self, key: str) -> int:
        value = self._required(key)
        try:
            return int(float(value)) if value.lower() not in ("none", "") else self._none(key)
        except (ValueError, OverflowError):
            raise self._error(key, f"is not an integer: {value!r}") from None

    def float(self, key: str) -> float:
        value = self._required(key)
        try:
            return float(value)
        except ValueError:
            raise self._error(key, f"is not a number: {value!r}") from None

    def _none(self, key: str):
        raise self._error(key, "is None where a value is needed")

    def optional(self, key: str, kind: str = "float"):
        """``None`` when the value is absent or the string 'None', else ``getattr(self, kind)``."""
        value = self.text(key)
        if value is None or value.strip().lower() in ("none", ""):
            return None
        return getattr(self, kind)(key)

    def tuple(self, key: str, allow_none: bool = False) -> tuple:
        """Parse ``"(3, 3)"``, ``"[3,3]"``, ``"3"``, ``"()"``, ``"(None, 2)"``."""
        value = self._required(key)
        if value.lower() == "none":
            return ()
        try:
            parsed = ast.literal_eval(value.replace("L", ""))
        except (ValueError, SyntaxError):
            raise self._error(key, f"is not a tuple: {value!r}") from None
        items = parsed if isinstance(parsed, (tuple, list)) else (parsed,)
        out = []
        for item in items:
            if item is None and allow_none:
                out.append(None)
            elif isinstance(item, int) and not isinstance(item, bool):
                out.append(item)
            elif isinstance(item, float) and item == item and abs(item) < 2**62:
                out.append(item)
            else:
                raise self._error(key, f"has a non-numeric entry: {value!r}")
        return tuple(out)

    def ints(self, key: str, allow_none: bool = False) -> tuple:
        return tuple(v if v is None else int(v) for v in self.tuple(key, allow_none))

    def unknown(self) -> list[str]:
        """Model attributes the operator does not document (dunder user attributes and the
        registration's ``ignored_attrs`` excepted)."""
        return sorted(k for k in self.raw
                      if k not in self._schema and k not in COMMON_ATTRS and k not in self._ignored
                      and not (k.startswith("__") and k.endswith("__")))
