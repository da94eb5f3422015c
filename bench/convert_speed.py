"""Wall time and peak RSS of converting gluon resnet50_v2 (about 100 MB of params) to ONNX.

  .venv/bin/python bench/convert_speed.py [--arch resnet50_v2] [--repeat 3]

The model is exported with random weights (mxnet needed for that step only); the
conversion runs in a fresh child process without mxnet imported, and its peak RSS
is the child's ru_maxrss. Targets: <= 1.0 s and peak RSS <= 2x the params file.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

# Peak RSS is VmHWM of the child's own address space (ru_maxrss would carry over the
# parent's peak across fork + exec, and the parent has mxnet loaded).
HWM = "int([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0]) * 1024"
CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import modelport
t1 = time.perf_counter()
modelport.convert(sys.argv[1], sys.argv[2], to="onnx", output_dir=sys.argv[3], inputs={"data": (1, 3, 224, 224)})
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "convert_s": t2 - t1,
                  "peak_rss_bytes": HWM}))
""".replace("HWM", HWM)
BASELINE = f"import modelport; print({HWM})"


def export(arch: str, folder: Path) -> tuple[Path, Path]:
    import mxnet as mx

    net = mx.gluon.model_zoo.vision.get_model(arch, pretrained=False)
    net.initialize(mx.init.Xavier())
    net.hybridize()
    net(mx.nd.zeros((1, 3, 224, 224)))
    net.export(str(folder / arch), epoch=0)
    return folder / f"{arch}-symbol.json", folder / f"{arch}-0000.params"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="resnet50_v2")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        symbol, params = export(args.arch, folder)
        size = params.stat().st_size
        env = dict(os.environ)
        runs = []
        for i in range(args.repeat):
            out = subprocess.run([sys.executable, "-c", CHILD, str(symbol), str(params), str(folder / f"out{i}")],
                                 capture_output=True, text=True, env=env, check=True)
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        base = int(subprocess.run([sys.executable, "-c", BASELINE], capture_output=True, text=True,
                                  check=True).stdout.strip())
        best = min(runs, key=lambda r: r["convert_s"])
        peak = max(r["peak_rss_bytes"] for r in runs)
        onnx_size = (folder / "out0" / f"{args.arch}.onnx").stat().st_size
        print(f"model            {args.arch}: params {size / 1e6:.1f} MB, onnx {onnx_size / 1e6:.1f} MB")
        print(f"convert wall     best {best['convert_s']:.3f} s, all {[round(r['convert_s'], 3) for r in runs]} "
              f"(target <= 1.0 s; import of modelport {best['import_s']:.2f} s not counted)")
        print(f"peak RSS         {peak / 1e6:.1f} MB = {peak / size:.2f}x params (target <= 2x); "
              f"interpreter + libraries alone {base / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    sys.exit(main())
