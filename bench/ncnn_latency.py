"""Latency of modelport's ncnn output, and of pnnx's for the same model (run by hand, never in CI).

  .venv/bin/python bench/ncnn_latency.py [--arch resnet18_v1 mobilenetv2_1.0] [--size 224]
        [--threads 1 4] [--repeat 30] [--pnnx /path/to/pnnx-venv/bin/pnnx]

For each gluon zoo architecture (random weights, exported with mxnet into a temporary
folder) modelport converts to ncnn; with ``--pnnx`` the same model is also converted to
ONNX by modelport and from there to ncnn by pnnx (PyPI ``pnnx``: it pulls torch, several GB,
so install it in its own venv: ``python -m venv /tmp/pnnx && /tmp/pnnx/bin/pip install pnnx``
and pass ``/tmp/pnnx/bin/pnnx``). Each model is run with ncnn's default options (fp16
where the CPU has it: what a user gets) after 3 warm-up runs; the table gives the median
and best milliseconds of one ``extract`` of the output, and the layer count of each .param.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def export(arch: str, size: int, folder: Path) -> tuple[Path, Path]:
    sys.path.insert(0, str(ROOT / "tests"))
    from models.test_gluon_zoo import export_zoo

    return export_zoo(arch, (1, 3, size, size), folder)


def latency(param: Path, size: int, threads: int, repeat: int, inp: str, out: str) -> tuple[float, float]:
    import ncnn

    net = ncnn.Net()
    net.opt.num_threads = threads
    net.load_param(str(param))
    net.load_model(str(param.with_suffix(".bin")))
    x = np.random.default_rng(0).uniform(-1, 1, (3, size, size)).astype(np.float32)
    times = []
    for k in range(repeat + 3):
        mat = ncnn.Mat(x).clone()
        start = time.perf_counter()
        ex = net.create_extractor()
        ex.input(inp, mat)
        ex.extract(out)
        if k >= 3:
            times.append((time.perf_counter() - start) * 1e3)
    return float(np.median(times)), float(min(times))


def pnnx_convert(pnnx: str, onnx_path: Path, size: int, folder: Path) -> Path:
    subprocess.run([pnnx, str(onnx_path), f"inputshape=[1,3,{size},{size}]"], cwd=folder, check=True,
                   capture_output=True)
    return next(folder.glob("*.ncnn.param"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", nargs="+", default=["resnet18_v1", "mobilenetv2_1.0"])
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--pnnx", help="path of a pnnx executable (in its own venv)")
    args = ap.parse_args()

    import modelport

    print(f"{'model':<22}{'converter':<12}{'layers':>7}" + "".join(f"{f'{t} thr med':>12}{'best':>8}" for t in args.threads))
    for arch in args.arch:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            symbol, params = export(arch, args.size, tmp)
            shape = {"data": (1, 3, args.size, args.size)}
            ours = modelport.convert(symbol, params, to="ncnn", output_dir=tmp / "ncnn", inputs=shape).files[0]
            import json
            head = json.loads(ours.with_suffix(".modelport.json").read_text())["outputs"][0]
            rows = [("modelport", ours, "data", head)]
            if args.pnnx:
                onnx_file = modelport.convert(symbol, params, to="onnx", output_dir=tmp / "onnx", inputs=shape).files[0]
                (tmp / "pnnx").mkdir()
                rows.append(("pnnx", pnnx_convert(args.pnnx, onnx_file, args.size, tmp / "pnnx"), "in0", "out0"))
            for name, param, inp, out in rows:
                layers = int(param.read_text().splitlines()[1].split()[0])
                cells = ""
                for t in args.threads:
                    med, best = latency(param, args.size, t, args.repeat, inp, out)
                    cells += f"{med:>11.2f}ms{best:>6.2f}ms"
                print(f"{arch:<22}{name:<12}{layers:>7}{cells}")


if __name__ == "__main__":
    main()
