"""Target profiles: what a target accepts, its pass pipeline, its writer, its runner.

A profile registers with ``@target(...)`` in its own module. ``get(name)`` picks one
for ``--to NAME``; ``for_file(path)`` finds the profile whose files ``path`` is (to
verify an existing conversion).
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from modelport.errors import ModelportError

MODULES = ("modelport.targets.onnx", "modelport.targets.ncnn", "modelport.targets.caffe", "modelport.targets.nnie")


@dataclass(frozen=True)
class Options:
    """What the user can ask of any target."""

    optimize: bool = True  # run the folding passes (False keeps every source tensor, for debugging)
    extra: dict = field(default_factory=dict)  # target-specific options


@dataclass(frozen=True)
class Target:
    name: str
    suffix: str  # the main file a conversion writes, e.g. ".onnx"
    describe: str
    passes: Callable[[Options], list]  # the pass pipeline (onnx_ir passes), in order
    check: Callable[[object], list[str]]  # every op/attribute the target cannot take, as sentences
    write: Callable[[object, Path, str, Options], list[str]]  # (model, folder, stem, options) -> file names
    runner: Callable[[Path], object]  # a Runner for a written conversion (its main file)
    static_shapes: bool = False  # the target needs fixed input sizes


TARGETS: dict[str, Target] = {}


def target(name: str, suffix: str, describe: str, passes, check, runner, static_shapes: bool = False):
    def register(write):
        TARGETS[name] = Target(name, suffix, describe, passes, check, write, runner, static_shapes)
        return write
    return register


def load_all() -> dict[str, Target]:
    for module in MODULES:
        importlib.import_module(module)
    return TARGETS


def get(name: str) -> Target:
    targets = load_all()
    if name not in targets:
        raise ModelportError(f"--to {name}: unknown target (choose from {', '.join(sorted(targets))})")
    return targets[name]


def for_file(path: str | Path) -> Target | None:
    name = str(path).lower()
    return next((t for t in load_all().values() if name.endswith(t.suffix)), None)
