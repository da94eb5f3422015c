"""Which frontend reads which files, and what a frontend hands to the pipeline.

A frontend registers with ``@frontend(name, suffixes=...)`` a function
``load(source, weights, inputs, dynamic, progress) -> Loaded`` and a function
``reference(source, weights) -> Runner`` that runs the source model in its own
engine. ``pick(path)`` chooses by file type. Nothing framework-specific crosses this
boundary: the pipeline sees an ``onnx_ir`` model, findings and a runner factory.
"""
from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from modelport.errors import ModelFileError

MODULES = ("modelport.frontends.mxnet.frontend", "modelport.frontends.onnx.frontend")


@dataclass
class Loaded:
    """A source model read into the IR, with what was learnt on the way."""

    model: object  # onnx_ir.Model
    stem: str  # base name for output files
    source: Path
    weights_file: Path | None  # a separate weights file, when the format has one
    framework: str
    ops: Counter  # source operators by count
    layers: list[tuple[str, str]]  # (tensor name, source op) of every source layer, in order
    param_count: int = 0
    param_bytes: int = 0
    findings: list[str] = field(default_factory=list)  # pitfalls the model hits (what the converter does)
    reference: Callable[[], object] | None = None  # builds the source engine's Runner
    spatial_axes: dict[str, list[int]] = field(default_factory=dict)  # per input: its size axes (H, W...)


@dataclass(frozen=True)
class Frontend:
    name: str
    suffixes: tuple[str, ...]
    load: Callable[..., Loaded]
    reference: Callable[..., object]  # (source, weights_file) -> Runner
    describe: str  # what files it reads, for messages


FRONTENDS: dict[str, Frontend] = {}


def frontend(name: str, suffixes: tuple[str, ...], describe: str, reference: Callable[..., object]):
    def register(fn: Callable[..., Loaded]) -> Callable[..., Loaded]:
        FRONTENDS[name] = Frontend(name, suffixes, fn, reference, describe)
        return fn
    return register


def load_all() -> dict[str, Frontend]:
    for module in MODULES:
        importlib.import_module(module)
    return FRONTENDS


def pick(path: str | Path) -> Frontend:
    """The frontend for ``path`` (by file type); a clear error for anything else."""
    path = Path(path)
    for fe in load_all().values():
        if path.name.lower().endswith(fe.suffixes):
            if not path.is_file():
                kind = "folder" if path.is_dir() else "file"
                raise ModelFileError(f"{path}: {fe.describe} {kind} not found" if kind == "file"
                                     else f"{path}: is a folder, expected {fe.describe}")
            return fe
    known = "; ".join(f"{fe.describe} ({', '.join(fe.suffixes)})" for fe in FRONTENDS.values())
    raise ModelFileError(f"{path}: unsupported source format; modelport reads {known}")
