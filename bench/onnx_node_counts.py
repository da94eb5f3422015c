"""Node counts of the shared ONNX models: the original file, modelport's ``--to onnx`` and onnxslim.

  .venv/bin/python bench/onnx_node_counts.py [--models ../shared/models] [--no-check]

Run by hand (not a test). For each of the six ONNX models in ../shared/models (ultraface
RFB-320 with and without post-processing, YuNet-n, MTCNN pnet/rnet/onet) it counts nodes in

  original     the file as it is
  mp default   ``modelport.convert(path, to="onnx")``: no --input, free axes stay free
  mp --input   ``modelport.convert(path, to="onnx", inputs={...})`` at the model's own
               size (pnet keeps its free H and W: it is fully convolutional)
  onnxslim     ``onnxslim.slim(onnx.load(path))`` (onnxslim's Python API; it returns the
               slimmed ModelProto when no output path is given), default settings
  slim --input the same with ``input_shapes=["NAME:D1,D2,..."]`` (the sizes mp --input uses)

and prints a table, then for every model the op histogram difference of ``mp --input`` and
``slim --input`` against the original (``-`` removed, ``+`` added). Unless ``--no-check``,
each converted model is run in onnxruntime on the same random input as the original and
the largest absolute difference over all outputs is printed (``maxdiff`` column): a smaller
graph is only worth something if it computes the same thing.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import onnx

MODELS = [  # (name, path under the models folder, the model's own input size or None to keep it free)
    ("ultraface_rfb320", "onnx_ultraface_rfb320/version-RFB-320.onnx", {"input": (1, 3, 240, 320)}),
    ("ultraface_raw", "onnx_ultraface_rfb320/version-RFB-320_without_postprocessing.onnx", {"input": (1, 3, 240, 320)}),
    ("yunet_n", "onnx_yunet_n/yunet_n_320_320.onnx", {"input": (1, 3, 320, 320)}),
    ("mtcnn_pnet", "onnx_mtcnn_pypi/pnet.onnx", None),
    ("mtcnn_rnet", "onnx_mtcnn_pypi/rnet.onnx", {"input_2": (1, 24, 24, 3)}),
    ("mtcnn_onet", "onnx_mtcnn_pypi/onet.onnx", {"input_3": (1, 48, 48, 3)}),
]
RUN_SHAPE = {"mtcnn_pnet": {"input_1": (1, 48, 64, 3)}}  # where the model's own size is free


def modelport_onnx(path: Path, inputs: dict | None, tmp: Path) -> onnx.ModelProto:
    import modelport

    result = modelport.convert(path, to="onnx", output_dir=tmp, inputs=inputs)
    return onnx.load(str(result.files[0]))


def onnxslim_onnx(path: Path, inputs: dict | None) -> onnx.ModelProto:
    import onnxslim

    shapes = [f"{k}:{','.join(map(str, v))}" for k, v in (inputs or {}).items()] or None
    with contextlib.redirect_stdout(io.StringIO()):  # onnxslim prints a summary table
        return onnxslim.slim(onnx.load(str(path)), input_shapes=shapes)


def run(model: onnx.ModelProto, feeds: dict) -> list[np.ndarray]:
    import onnxruntime as ort

    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = sorted(o.name for o in sess.get_outputs())
    return sess.run(names, feeds)


def maxdiff(reference: list[np.ndarray], got: list[np.ndarray]) -> float:
    if len(reference) != len(got) or any(a.shape != b.shape for a, b in zip(reference, got)):
        return float("inf")
    return max(float(np.abs(a.astype(np.float64) - b).max()) for a, b in zip(reference, got))


def histogram_diff(before: Counter, after: Counter) -> str:
    parts = []
    for op in sorted(set(before) | set(after)):
        delta = after[op] - before[op]
        if delta:
            parts.append(f"{op} {delta:+d}")
    return ", ".join(parts) or "(same ops)"


def main() -> None:
    default = Path(__file__).resolve().parents[1].parent / "shared" / "models"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=default)
    parser.add_argument("--no-check", action="store_true", help="skip the onnxruntime comparison")
    args = parser.parse_args()

    import onnxslim

    import modelport

    print(f"modelport {modelport.__version__}, onnxslim {onnxslim.__version__}, onnx {onnx.__version__}\n")
    columns = ("original", "mp default", "mp --input", "onnxslim", "slim --input")
    header = f"{'model':<18}" + "".join(f"{c:>13}" for c in columns)
    if not args.no_check:
        header += f"  {'maxdiff (mp default / mp --input / slim / slim --input)':>56}"
    print(header)
    print("-" * len(header))
    histograms = []
    rng = np.random.default_rng(0)
    for name, rel, inputs in MODELS:
        path = args.models / rel
        if not path.is_file():
            print(f"{name:<18} (missing: {path})")
            continue
        original = onnx.load(str(path))
        with tempfile.TemporaryDirectory() as tmp:
            models = [original,
                      modelport_onnx(path, None, Path(tmp) / "default"),
                      modelport_onnx(path, inputs, Path(tmp) / "input"),
                      onnxslim_onnx(path, None),
                      onnxslim_onnx(path, inputs)]
        line = f"{name:<18}" + "".join(f"{len(m.graph.node):>13}" for m in models)
        if not args.no_check:
            shapes = RUN_SHAPE.get(name, inputs)
            feeds = {k: rng.uniform(-1, 1, s).astype(np.float32) for k, s in shapes.items()}
            reference = run(original, feeds)
            line += "  " + " / ".join(f"{maxdiff(reference, run(m, feeds)):.1e}" for m in models[1:])
        print(line)
        ops = [Counter(n.op_type for n in m.graph.node) for m in models]
        histograms.append((name, ops))
    print("\nop histogram against the original (- removed, + added):")
    for name, ops in histograms:
        print(f"  {name}")
        print(f"    mp --input   : {histogram_diff(ops[0], ops[2])}")
        print(f"    slim --input : {histogram_diff(ops[0], ops[4])}")
        if ops[1] != ops[2] or ops[3] != ops[4]:
            print(f"    mp default   : {histogram_diff(ops[0], ops[1])}")
            print(f"    onnxslim     : {histogram_diff(ops[0], ops[3])}")


if __name__ == "__main__":
    main()
