"""``modelport.convert``: a source model in, checked target files out (all or nothing)."""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import onnx_ir as ir

from modelport.errors import ModelportError
from modelport.fileio import atomic_outputs, find_params, model_stem

TARGETS = ("onnx",)


@dataclass
class LoadedModel:
    """A source model read into the IR, with what was learnt on the way."""

    model: ir.Model
    stem: str
    source: Path
    params: Path | None
    framework: str
    graph: object = None  # the source graph as read (MXGraph)
    weights: dict = field(default_factory=dict)  # source weights by name


@dataclass
class ConvertResult:
    files: list[Path]
    loaded: LoadedModel


def parse_input_spec(specs: list[str] | None) -> dict[str, tuple[int, ...]]:
    """``["data:1,3,224,224"]`` -> ``{"data": (1, 3, 224, 224)}``."""
    shapes = {}
    for spec in specs or []:
        name, sep, dims = spec.rpartition(":")
        try:
            shape = tuple(int(d) for d in dims.replace("x", ",").split(",") if d.strip())
        except ValueError:
            shape = ()
        if not sep or not name or not shape or any(d <= 0 for d in shape):
            raise ModelportError(f"--input {spec!r}: expected NAME:D1,D2,... with positive sizes, e.g. data:1,3,224,224")
        shapes[name] = shape
    return shapes


def load(source: str | Path, params: str | Path | None = None, inputs: dict | None = None,
         dynamic: bool = True, progress=None) -> LoadedModel:
    """Read a source model (MXNet ``-symbol.json`` + ``.params``) into the IR, without mxnet."""
    from modelport.frontends.mxnet.importer import MXNetImporter
    from modelport.frontends.mxnet.params import load_params
    from modelport.frontends.mxnet.reader import load_symbol

    source = Path(source)
    if source.suffix != ".json":
        raise ModelportError(f"{source}: unsupported source format (expected an MXNet -symbol.json)")
    graph = load_symbol(source)
    params_path = Path(params) if params else find_params(source)
    weights = load_params(params_path)
    importer = MXNetImporter(graph, weights, input_shapes=inputs, dynamic=dynamic)
    model = importer.convert(progress=progress)
    return LoadedModel(model, model_stem(source), source, params_path, "mxnet", graph, importer.weights)


def convert(source: str | Path, params: str | Path | None = None, to: str = "onnx",
            output_dir: str | Path = ".", inputs: dict | None = None, dynamic: bool = True,
            progress: bool = False) -> ConvertResult:
    """Convert ``source`` to ``to`` under ``output_dir``. Nothing is written unless all succeeds."""
    from modelport.backends.onnx.writer import write_onnx

    if to not in TARGETS:
        raise ModelportError(f"--to {to}: unknown target (choose from {', '.join(TARGETS)})")
    with _progress(progress, "converting") as tick:
        loaded = load(source, params, inputs, dynamic, progress=tick)
    with atomic_outputs(output_dir) as staging:
        name = f"{loaded.stem}.onnx"
        write_onnx(loaded.model, staging / name)
    return ConvertResult([Path(output_dir) / name], loaded)


def _progress(enabled: bool, label: str):
    if not enabled:
        return nullcontext(None)
    from modelport.verify.report import node_progress
    return node_progress(label)
