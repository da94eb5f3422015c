"""Check the converter gives the same ONNX results with and without mxnet / numpy 2.

  python scripts/crossenv.py export DIR   # environment 1 (mxnet, numpy 1.23): convert, run, save .npz
  python scripts/crossenv.py check DIR    # environment 2 (numpy 2, no mxnet): convert, run, compare

Each shared MXNet model is converted by modelport (which never imports mxnet),
run in onnxruntime on fixed inputs, and the outputs are exchanged as .npz.
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from shared_models import MXNET_MODELS, SHARED  # noqa: E402


def run_model(model) -> tuple[dict, dict, str]:
    import onnx_ir as ir
    import onnxruntime as ort

    from modelport.convert import load

    loaded = load(SHARED / model.symbol, SHARED / model.params, inputs=model.shapes[0])
    raw = ir.to_proto(loaded.model).SerializeToString()
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(raw, opts, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(7)
    feeds = {k: rng.uniform(0, 1, v).astype(np.float32) for k, v in model.shapes[0].items()}
    outs = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))
    return feeds, outs, hashlib.sha256(raw).hexdigest()


def main() -> int:
    mode, folder = sys.argv[1], Path(sys.argv[2])
    if not SHARED.is_dir():
        print(f"crossenv: skipped, no shared models at {SHARED}")
        return 0
    if mode == "check":
        try:
            import mxnet  # noqa: F401
            print("crossenv: error: the check environment must not have mxnet")
            return 1
        except ImportError:
            pass
    folder.mkdir(parents=True, exist_ok=True)
    import onnx
    import onnxruntime

    print(f"crossenv {mode}: numpy {np.__version__}, onnx {onnx.__version__}, onnxruntime {onnxruntime.__version__}")
    failures = 0
    for model in MXNET_MODELS:
        feeds, outs, digest = run_model(model)
        path = folder / f"{model.id}.npz"
        if mode == "export":
            np.savez(path, **{f"in:{k}": v for k, v in feeds.items()}, **{f"out:{k}": v for k, v in outs.items()},
                     sha256=np.array(digest))
            print(f"exported {model.id}: {len(outs)} outputs")
            continue
        ref = np.load(path)
        worst = 0.0
        for key in ref.files:
            if key.startswith("out:"):
                got = outs[key[4:]]
                worst = max(worst, float(np.max(np.abs(got - ref[key]))) if got.size else 0.0)
        same_bytes = str(ref["sha256"]) == digest
        ok = worst <= 1e-6
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {model.id}: max abs diff {worst:.3g} vs mxnet environment; "
              f"ONNX bytes {'identical' if same_bytes else 'differ'}")
    if mode == "check":
        print(f"crossenv: {len(MXNET_MODELS) - failures} of {len(MXNET_MODELS)} models match the mxnet environment")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
