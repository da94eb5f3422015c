"""Latency and layer count of modelport's ncnn output against pnnx's and ncnnoptimize'd mxnet2ncnn's (by hand, never in CI).

  .venv/bin/python bench/ncnn_latency.py [--arch resnet18_v1 mobilenetv2_1.0] [--size 224]
        [--ultraface ../shared/models/onnx_ultraface_rfb320/version-RFB-320.onnx | --no-ultraface]
        [--threads 1] [--repeat 50] [--warmup 5] [--keep DIR]
        [--pnnx PATH] [--mxnet2ncnn PATH --ncnnoptimize PATH]

Models: the gluon zoo architectures (random weights and BatchNorm statistics, exported with
mxnet by ``tests/models/test_gluon_zoo.export_zoo`` at 1x3xSIZExSIZE into a temporary folder)
and UltraFace RFB-320 (the original .onnx, input 1x3x240x320; skipped with a message when the
file is absent). Each is converted by modelport (``--to ncnn``, the input size given) and,
when their paths are given, by

- pnnx (``--pnnx``), on the same ONNX: modelport's ``--to onnx`` output for the MXNet models,
  the original file for UltraFace, with ``inputshape=[...]`` and ``fp16=0``. PyPI's ``pnnx``
  declares torch (several GB); for ONNX input its native executable needs nothing else, so
  ``python -m venv /tmp/pnnx-venv && /tmp/pnnx-venv/bin/pip install --no-deps pnnx`` is
  enough. ``--pnnx`` takes that executable
  (``/tmp/pnnx-venv/lib/python3.*/site-packages/pnnx/pnnx``) or the venv's ``bin/pnnx``
  script, which is resolved to the executable beside the package (the script itself
  imports torch).
- mxnet2ncnn then ``ncnnoptimize in.param in.bin out.param out.bin 0`` (flag 0: fp32
  weights) for the MXNet models (``--mxnet2ncnn`` and ``--ncnnoptimize``: ncnn's tools,
  built from its source with ``-DNCNN_BUILD_TOOLS=ON``); the unoptimized mxnet2ncnn output
  gets a row too.

All nets run in this one process with fp32 options (fp16 storage/arithmetic/packed and
bf16 storage off, Vulkan off) and ``--threads`` threads (default 1) on the same random
input. After ``--warmup`` runs each, the nets take turns (round robin, so background load
hits them alike) for ``--repeat`` timed runs of one extractor extracting every output;
the table gives the median and best milliseconds, the layer count of each .param (its
header, Input and Split layers included, as ncnn loads it), the ratio modelport/other of
the medians (<= 1.0: modelport is as fast) and, with ``--rounds R``, the median and the
2.5-97.5 % range of the R per-round ratios: every round loads each net afresh (new weight
allocations, the turn order rotated), which is what moves two identical files' timings
apart by several percent on one machine and, for every other converter, the largest
absolute difference of its outputs from modelport's (relative to max|modelport|), so a
faster but wrong model shows.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ULTRAFACE = ROOT.parent / "shared" / "models" / "onnx_ultraface_rfb320" / "version-RFB-320.onnx"
MATCH_REL = 1e-3  # max|diff| / max|modelport| at or under this is "ok" (fp32, different fusion/order)


@dataclass
class Model:
    name: str
    source: Path                      # MXNet -symbol.json or .onnx
    params: Path | None               # MXNet .params
    inputs: dict                      # input name -> shape, batch included


@dataclass
class Row:
    model: str
    converter: str
    param: Path | None = None
    inputs: list = field(default_factory=list)
    outputs: list = field(default_factory=list)
    error: str = ""
    net: object = None
    times: list = field(default_factory=list)
    medians: list = field(default_factory=list)  # one per round
    result: list = field(default_factory=list)

    @property
    def layers(self) -> int:
        return int(self.param.read_text().splitlines()[1].split()[0])


def export(arch: str, size: int, folder: Path) -> tuple[Path, Path]:
    sys.path.insert(0, str(ROOT / "tests"))
    from models.test_gluon_zoo import export_zoo

    return export_zoo(arch, (1, 3, size, size), folder)


def io_blobs(param: Path) -> tuple[list[str], list[str]]:
    """Input blobs (tops of Input layers) and output blobs (produced, never consumed) of an ncnn .param."""
    lines = param.read_text().splitlines()
    count = int(lines[1].split()[0])
    inputs, produced, consumed = [], [], set()
    for line in lines[2:2 + count]:
        tok = line.split()
        kind, n_in, n_out = tok[0], int(tok[2]), int(tok[3])
        bottoms, tops = tok[4:4 + n_in], tok[4 + n_in:4 + n_in + n_out]
        consumed.update(bottoms)
        produced += tops
        if kind == "Input":
            inputs += tops
    return inputs, [b for b in produced if b not in consumed]


def run(cmd: list, cwd: Path | None = None) -> None:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
        raise RuntimeError(f"{Path(str(cmd[0])).name} exited {proc.returncode}: " + " | ".join(tail))


def pnnx_executable(path: str) -> Path:
    """The native pnnx binary: ``path`` itself, or for a venv's console script the one in its site-packages."""
    exe = Path(path)
    if exe.read_bytes()[:2] != b"#!":
        return exe
    found = sorted(exe.resolve().parent.parent.glob("lib/python*/site-packages/pnnx/pnnx"))
    if not found:
        raise RuntimeError(f"{exe} is a script and no site-packages/pnnx/pnnx lies beside it; pass the executable")
    return found[0]


def convert_modelport(model: Model, folder: Path, row: Row) -> None:
    import modelport

    param = modelport.convert(model.source, model.params, to="ncnn", output_dir=folder,
                              inputs=model.inputs).files[0]
    row.param = param
    row.inputs = io_blobs(param)[0]
    row.outputs = json.loads(param.with_suffix(".modelport.json").read_text())["outputs"]


def convert_pnnx(exe: Path, onnx_file: Path, model: Model, folder: Path, row: Row) -> None:
    folder.mkdir(parents=True)
    local = folder / "model.onnx"
    shutil.copyfile(onnx_file, local)
    shapes = ",".join("[" + ",".join(map(str, s)) + "]" for s in model.inputs.values())
    param, binary = folder / "model.ncnn.param", folder / "model.ncnn.bin"
    run([exe, local, f"inputshape={shapes}", "fp16=0", f"ncnnparam={param}", f"ncnnbin={binary}",
         f"ncnnpy={folder / 'model_ncnn.py'}", f"pnnxparam={folder / 'model.pnnx.param'}",
         f"pnnxbin={folder / 'model.pnnx.bin'}", f"pnnxpy={folder / 'model_pnnx.py'}",
         f"pnnxonnx={folder / 'model.pnnx.onnx'}"], cwd=folder)
    row.param = param
    row.inputs, row.outputs = io_blobs(param)
    row.outputs = sorted(row.outputs, key=lambda b: int(b[3:]) if b.startswith("out") and b[3:].isdigit() else 1 << 30)


def convert_mxnet2ncnn(exe: str, model: Model, folder: Path, row: Row) -> None:
    folder.mkdir(parents=True)
    param = folder / "model.param"
    run([exe, model.source, model.params, param, param.with_suffix(".bin")], cwd=folder)
    row.param = param
    row.inputs, row.outputs = io_blobs(param)


def convert_ncnnoptimize(exe: str, raw: Path, folder: Path, row: Row) -> None:
    param = folder / "model.opt.param"
    run([exe, raw, raw.with_suffix(".bin"), param, param.with_suffix(".bin"), 0], cwd=folder)
    row.param = param
    row.inputs, row.outputs = io_blobs(param)


def fp32_options(threads: int):
    import ncnn

    opt = ncnn.Option()
    opt.num_threads = threads
    opt.use_vulkan_compute = False
    opt.use_fp16_storage = False
    opt.use_fp16_arithmetic = False
    opt.use_fp16_packed = False
    opt.use_bf16_storage = False
    for name in ("use_bf16_packed",):
        if hasattr(opt, name):
            setattr(opt, name, False)
    return opt


def load(row: Row, threads: int) -> None:
    import ncnn

    net = ncnn.Net()
    net.opt = fp32_options(threads)
    if net.load_param(str(row.param)) != 0 or net.load_model(str(row.param.with_suffix(".bin"))) != 0:
        raise RuntimeError(f"ncnn could not load {row.param.name}")
    row.net = net


def once(row: Row, mats: list) -> list:
    ex = row.net.create_extractor()
    for name, mat in zip(row.inputs, mats):
        ex.input(name, mat)
    outs = []
    for name in row.outputs:
        ret, out = ex.extract(name)
        if ret != 0:
            raise RuntimeError(f"extract {name!r} returned {ret}")
        outs.append(out)
    return outs


def bench(rows: list[Row], model: Model, warmup: int, repeat: int) -> None:
    import ncnn

    rng = np.random.default_rng(0)
    data = [rng.uniform(-1, 1, shape[1:]).astype(np.float32) for shape in model.inputs.values()]
    live = [r for r in rows if not r.error]
    for row in live:
        try:
            mats = [ncnn.Mat(x).clone() for x in data]
            row.result = [np.array(o).copy() for o in once(row, mats)]
            for _ in range(warmup - 1):
                once(row, mats)
        except Exception as exc:  # noqa: BLE001 - a peer failing must not hide the others
            row.error = f"run: {exc}"
    live = [r for r in live if not r.error]
    mats = [ncnn.Mat(x).clone() for x in data]
    times = {id(row): [] for row in live}
    for _ in range(repeat):
        for row in live:
            start = time.perf_counter()
            once(row, mats)
            times[id(row)].append((time.perf_counter() - start) * 1e3)
    for row in live:
        row.times += times[id(row)]
        row.medians.append(float(np.median(times[id(row)])))


def diff(row: Row, ref: Row) -> str:
    if not row.result or not ref.result:
        return ""
    if len(row.result) != len(ref.result):
        return f"DIFFERS: {len(row.result)} outputs vs {len(ref.result)}"
    worst_abs, worst_rel = 0.0, 0.0
    for a, b in zip(row.result, ref.result):
        if a.size != b.size:
            return f"DIFFERS: shape {a.shape} vs {b.shape}"
        a, b = a.reshape(-1), b.reshape(-1)
        d = float(np.max(np.abs(a - b))) if a.size else 0.0
        scale = float(np.max(np.abs(b))) if b.size else 0.0
        worst_abs = max(worst_abs, d)
        worst_rel = max(worst_rel, d / scale if scale else d)
    verdict = "ok" if worst_rel <= MATCH_REL else "DIFFERS"
    return f"{verdict} {worst_abs:.2e} ({worst_rel:.1e} rel)"


def print_rows(rows: list[Row]) -> None:
    ref = rows[0]
    ref_med = float(np.median(ref.times)) if ref.times else None
    for row in rows:
        layers = str(row.layers) if row.param and row.param.exists() else "-"
        if row.error:
            print(f"{row.model:<17}{row.converter:<14}{layers:>7}  {row.error}", flush=True)
            continue
        med, best = float(np.median(row.times)), float(min(row.times))
        ratio = "-" if row is ref or ref_med is None else f"{ref_med / med:.3f}"
        spread = ""
        if row is not ref and len(row.medians) > 1 and len(row.medians) == len(ref.medians):
            per_round = np.array(ref.medians) / np.array(row.medians)
            low, mid, high = np.percentile(per_round, [2.5, 50, 97.5])
            spread = f"{mid:.3f} [{low:.3f}, {high:.3f}]"
        match = "(reference)" if row is ref else diff(row, ref)
        print(f"{row.model:<17}{row.converter:<14}{layers:>7}{med:>10.2f}{best:>10.2f}{ratio:>9}{spread:>24}  {match}",
              flush=True)


def models(args, tmp: Path) -> list[Model]:
    out = []
    for arch in args.arch:
        folder = tmp / arch
        folder.mkdir(parents=True)
        symbol, params = export(arch, args.size, folder)
        out.append(Model(arch, symbol, params, {"data": (1, 3, args.size, args.size)}))
    if not args.no_ultraface:
        path = Path(args.ultraface)
        if path.exists():
            out.append(Model("ultraface", path, None, {"input": (1, 3, 240, 320)}))
        else:
            print(f"# ultraface skipped: {path} is absent (pass --ultraface PATH)", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", nargs="*", default=["resnet18_v1", "mobilenetv2_1.0"])
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--ultraface", default=str(ULTRAFACE), help="UltraFace RFB-320 .onnx (input 1x3x240x320)")
    ap.add_argument("--no-ultraface", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=50, help="timed runs per net")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=1,
                    help="load every net afresh this many times (another allocation and turn order each time) and "
                         "give the median and 95%% range of the per-round ratios")
    ap.add_argument("--pnnx", help="pnnx executable (or its venv's bin/pnnx)")
    ap.add_argument("--mxnet2ncnn", help="ncnn's mxnet2ncnn tool (MXNet models)")
    ap.add_argument("--ncnnoptimize", help="ncnn's ncnnoptimize tool, run with flag 0 on mxnet2ncnn's output")
    ap.add_argument("--keep", help="write the converted models under this folder instead of a temporary one")
    args = ap.parse_args()
    args.warmup = max(args.warmup, 1)

    import ncnn
    import modelport

    pnnx = pnnx_executable(args.pnnx) if args.pnnx else None
    print(f"# ncnn {ncnn.__version__}, modelport {getattr(modelport, '__version__', '?')}, fp32, "
          f"{args.threads} thread(s), median/best of {args.repeat} runs after {args.warmup} warm-up, "
          f"{os.cpu_count()} CPUs" + (f", pnnx {pnnx}" if pnnx else ""), flush=True)

    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(args.keep) if args.keep else Path(scratch)
        tmp.mkdir(parents=True, exist_ok=True)
        todo = models(args, tmp / "src")
        print(f"{'model':<17}{'converter':<14}{'layers':>7}{'median ms':>10}{'best ms':>10}{'mp/other':>9}"
              f"  output vs modelport: max|diff|", flush=True)
        for model in todo:
            out = tmp / model.name
            mp = Row(model.name, "modelport")
            rows = [mp]
            try:
                convert_modelport(model, out / "modelport", mp)
            except Exception as exc:  # noqa: BLE001
                mp.error = f"convert: {exc}"
            if pnnx:
                row = Row(model.name, "pnnx")
                rows.append(row)
                try:
                    if model.params is not None:  # MXNet: modelport's ONNX, as the issue asks
                        onnx_file = modelport.convert(model.source, model.params, to="onnx",
                                                      output_dir=out / "onnx", inputs=model.inputs).files[0]
                    else:
                        onnx_file = model.source
                    convert_pnnx(pnnx, onnx_file, model, out / "pnnx", row)
                except Exception as exc:  # noqa: BLE001
                    row.error = f"convert: {exc}"
            if args.mxnet2ncnn and model.params is not None:
                raw = Row(model.name, "mxnet2ncnn")
                rows.append(raw)
                try:
                    convert_mxnet2ncnn(args.mxnet2ncnn, model, out / "mxnet2ncnn", raw)
                except Exception as exc:  # noqa: BLE001
                    raw.error = f"convert: {exc}"
                if args.ncnnoptimize:
                    row = Row(model.name, "+ncnnoptimize")
                    rows.append(row)
                    if raw.error:
                        row.error = "no mxnet2ncnn output"
                    else:
                        try:
                            convert_ncnnoptimize(args.ncnnoptimize, raw.param, out / "mxnet2ncnn", row)
                        except Exception as exc:  # noqa: BLE001
                            row.error = f"convert: {exc}"
            for k in range(args.rounds):  # fresh nets each round: new allocations, another turn order
                order = rows[k % len(rows):] + rows[:k % len(rows)]
                for row in order:
                    if not row.error:
                        try:
                            load(row, args.threads)
                        except Exception as exc:  # noqa: BLE001
                            row.error = f"load: {exc}"
                bench(order, model, args.warmup, args.repeat)
                for row in rows:
                    row.net = None
            print_rows(rows)


if __name__ == "__main__":
    main()
