"""Test support for the ncnn target: convert with modelport.convert(to="ncnn"), verify against
the source engine (MXNet or onnxruntime on the original), check what verify saw."""
from __future__ import annotations

from pathlib import Path

import modelport


def convert_and_verify(source, params, shape: dict, folder: Path, extra: dict | None = None, optimize=True,
                       input_range=None):
    """Convert at ``shape``, verify at ``shape``; the report's single run (asserted to pass)."""
    result = modelport.convert(source, params, to="ncnn", output_dir=folder, inputs=shape, extra=extra,
                               optimize=optimize)
    param = result.files[0]
    assert param.suffix == ".param" and param.with_suffix(".bin").is_file()
    report = modelport.verify(source, param, params, shapes=[shape], input_range=input_range)
    assert len(report.runs) == 1
    run = report.runs[0]
    assert run.comparison is not None, run.skipped
    cmp = run.comparison
    first = cmp.first_divergence
    assert first is None, f"{shape}: first divergence at {first.name}: {first} ({cmp.diagnosis})"
    assert cmp.outputs, "no output compared"
    assert load_log(param) == "", "ncnn printed while loading the model"
    return result, cmp


def load_log(param: Path) -> str:
    """What ncnn prints while loading ``param`` + its .bin (should be nothing)."""
    from modelport.runtimes.ncnn_runner import NcnnRunner

    return NcnnRunner(param).load_log


def worst_output(cmp) -> tuple[float, float]:
    return min(r.cosine for r in cmp.outputs), max(r.max_abs for r in cmp.outputs)


def run_ir_in_ncnn(model, feeds: dict, folder: Path, name: str = "m") -> dict:
    """Write an onnx_ir model with the ncnn writer (no passes) and run every blob in ncnn
    (in a child process); the model's outputs come back with their IR shapes."""
    import numpy as np

    from modelport.backends.ncnn.writer import write_ncnn
    from modelport.runtimes.ncnn_runner import NcnnRunner

    folder.mkdir(parents=True, exist_ok=True)
    param = folder / f"{name}.param"
    write_ncnn(model, param, param.with_suffix(".bin"))
    runner = NcnnRunner.isolated(param)
    try:
        got = runner.run(feeds, "all")
    finally:
        runner.close()
    shapes = {v.name: tuple(v.shape) for v in model.graph.outputs}
    return {k: (np.reshape(v, shapes[k]) if k in shapes else v) for k, v in got.items()}
