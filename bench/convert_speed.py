"""What a user feels converting gluon resnet50_v2 (about 102 MB of params): the whole process.

  .venv/bin/python bench/convert_speed.py [--mxnet2ncnn PATH] [--arch resnet50_v2] [--repeat 5]

The model is first exported with mxnet and random weights into a temporary folder (in
a child process, not timed). Then each command below runs as a fresh child process,
once untimed to warm the file cache, then --repeat times; the table gives the median
and best wall time of the whole process (interpreter start included) and its peak RSS
(the child's ru_maxrss from os.wait4):

  python -c "import modelport"       start-up cost of the library
  modelport --help                   start-up cost of the command
  modelport convert SYMBOL PARAMS --to onnx -o OUT --input data:1,3,224,224
  PATH SYMBOL PARAMS out.param out.bin    ncnn's C++ mxnet2ncnn, only with --mxnet2ncnn

It also lists which heavy modules (numpy, onnx, onnx_ir, onnxruntime, mxnet, sympy)
each modelport command imports. Targets: convert peak RSS <= 1.5x the params file, and
convert wall <= 2x mxnet2ncnn's. mxnet2ncnn is not built by this repo: build it by hand
from ncnn's single source file, e.g. `g++ -O2 -o mxnet2ncnn tools/mxnet/mxnet2ncnn.cpp`
in a checkout of github.com/Tencent/ncnn, and pass the binary's path.

ru_maxrss of a child carries the parent's peak over fork + exec, so this process never
imports mxnet or numpy itself and stays small; its own peak is printed as the floor
below which a child's figure means nothing.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("numpy", "onnx", "onnx_ir", "onnxruntime", "mxnet", "sympy")
PRINT_HEAVY = f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
IMPORT_PROBE = "import modelport, sys; " + PRINT_HEAVY
CLI_PROBE = r"""
import sys
from modelport.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(sorted(m for m in HEAVY if m in sys.modules), file=sys.stderr)
""".replace("HEAVY", repr(HEAVY))
EXPORT = r"""
import sys
import mxnet as mx
arch, prefix = sys.argv[1], sys.argv[2]
net = mx.gluon.model_zoo.vision.get_model(arch, pretrained=False)
net.initialize(mx.init.Xavier())
net.hybridize()
net(mx.nd.zeros((1, 3, 224, 224)))
net.export(prefix, epoch=0)
"""


class Failed(Exception):
    pass


def run_once(cmd: list[str], folder: Path) -> tuple[float, int, str, str]:
    """Run cmd as a fresh child; return (wall s, peak RSS bytes, stdout, stderr). Raise Failed on a nonzero exit."""
    with tempfile.TemporaryFile(dir=folder) as out, tempfile.TemporaryFile(dir=folder) as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0:
        tail = "\n".join((stdout + stderr).strip().splitlines()[-15:])
        raise Failed(f"{' '.join(cmd)}\n  exit {proc.returncode}\n{tail}")
    return wall, usage.ru_maxrss * 1024, stdout, stderr


def measure(cmd: list[str], folder: Path, repeat: int, fresh: Path | None = None) -> dict:
    """One untimed warm-up, then `repeat` timed runs; `fresh` is emptied before each run."""
    walls, peaks = [], []
    for i in range(repeat + 1):
        if fresh is not None:
            shutil.rmtree(fresh, ignore_errors=True)
            fresh.mkdir()
        wall, peak, _, _ = run_once(cmd, folder)
        if i:
            walls.append(wall)
            peaks.append(peak)
    return {"wall_med": statistics.median(walls), "wall_best": min(walls),
            "rss_med": statistics.median(peaks), "rss_best": min(peaks), "walls": walls}


def heavy_modules(cmd: list[str], folder: Path, stream: str) -> str:
    _, _, stdout, stderr = run_once(cmd, folder)
    line = (stdout if stream == "stdout" else stderr).strip().splitlines()[-1]
    return ", ".join(eval(line)) or "-"  # a list of names printed by our own probe


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="resnet50_v2")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--mxnet2ncnn", type=Path, help="path of a built ncnn mxnet2ncnn binary to compare with")
    args = ap.parse_args()
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    if args.mxnet2ncnn is not None and not os.access(args.mxnet2ncnn, os.X_OK):
        ap.error(f"--mxnet2ncnn {args.mxnet2ncnn}: not an executable file")
    py = sys.executable
    cli = str(Path(py).parent / "modelport")

    with tempfile.TemporaryDirectory(prefix="convert_speed-") as tmp:
        folder = Path(tmp)
        prefix = folder / args.arch
        print(f"exporting gluon {args.arch} with random weights (not timed) ...", flush=True)
        run_once([py, "-c", EXPORT, args.arch, str(prefix)], folder)
        symbol, params = folder / f"{args.arch}-symbol.json", folder / f"{args.arch}-0000.params"
        size = params.stat().st_size
        out = folder / "out"
        convert = [cli, "convert", str(symbol), str(params), "--to", "onnx", "-o", str(out),
                   "--input", "data:1,3,224,224"]

        rows: list[tuple[str, dict, str]] = []
        print(f"timing, {args.repeat} runs each after one warm-up ...", flush=True)
        rows.append(("python -c pass", measure([py, "-c", "pass"], folder, args.repeat), "-"))
        rows.append(("import modelport", measure([py, "-c", IMPORT_PROBE], folder, args.repeat),
                     heavy_modules([py, "-c", IMPORT_PROBE], folder, "stdout")))
        rows.append(("modelport --help", measure([cli, "--help"], folder, args.repeat),
                     heavy_modules([py, "-c", CLI_PROBE, "--help"], folder, "stderr")))
        try:
            conv = measure(convert, folder, args.repeat, fresh=out)
        except Failed as e:
            print(f"modelport convert failed:\n{e}")
            return 1
        onnx_files = sorted(out.glob("*.onnx"))
        onnx_size = sum(f.stat().st_size for f in out.iterdir() if f.is_file())
        conv_mods = heavy_modules([py, "-c", CLI_PROBE] + convert[1:], folder, "stderr")
        rows.append(("modelport convert", conv, conv_mods))

        ncnn = ncnn_error = None
        if args.mxnet2ncnn is not None:
            ncnn_out = folder / "ncnn"
            ncnn_cmd = [str(args.mxnet2ncnn.resolve()), str(symbol), str(params),
                        str(ncnn_out / "out.param"), str(ncnn_out / "out.bin")]
            try:
                ncnn = measure(ncnn_cmd, folder, args.repeat, fresh=ncnn_out)
                bin_size = (ncnn_out / "out.bin").stat().st_size
                rows.append(("mxnet2ncnn (C++)", ncnn, "n/a"))
            except (Failed, FileNotFoundError) as e:
                ncnn_error = str(e)

        floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print()
        print(f"model      gluon {args.arch}: params {size / 1e6:.1f} MB; onnx output "
              f"{', '.join(f.name for f in onnx_files) or 'none'} {onnx_size / 1e6:.1f} MB"
              + (f"; ncnn .bin {bin_size / 1e6:.1f} MB" if ncnn else ""))
        print(f"runs       {args.repeat} per command, whole process; peak RSS floor (this process) "
              f"{floor / 1e6:.0f} MB")
        print()
        head = f"{'command':<20}{'wall med':>10}{'wall best':>11}{'RSS med':>10}{'xparams':>9}  imports"
        print(head)
        print("-" * len(head))
        for name, m, mods in rows:
            mark = "*" if m["rss_med"] <= floor * 1.05 else " "
            print(f"{name:<20}{m['wall_med']:>9.3f}s{m['wall_best']:>10.3f}s{m['rss_med'] / 1e6:>7.0f}MB{mark}"
                  f"{m['rss_med'] / size:>8.2f}x  {mods}")
        if any(m["rss_med"] <= floor * 1.05 for _, m, _ in rows):
            print("* at the floor: the child's own peak may be lower")
        print()
        print(f"convert walls  {', '.join(f'{w:.3f}' for w in conv['walls'])} s")
        ratio_rss = conv["rss_med"] / size
        print(f"convert peak RSS / params  {ratio_rss:.2f}x  (target <= 1.5x: "
              f"{'met' if ratio_rss <= 1.5 else 'NOT met'})")
        if ncnn:
            ratio = conv["wall_med"] / ncnn["wall_med"]
            print(f"modelport / mxnet2ncnn     wall {ratio:.2f}x median, "
                  f"{conv['wall_best'] / ncnn['wall_best']:.2f}x best  (target <= 2x: "
                  f"{'met' if ratio <= 2 else 'NOT met'}); peak RSS {conv['rss_med'] / ncnn['rss_med']:.2f}x")
        elif ncnn_error:
            print(f"mxnet2ncnn failed, no comparison:\n{ncnn_error}")
        else:
            print("modelport / mxnet2ncnn     not measured (give --mxnet2ncnn PATH)")
    return 0


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    sys.exit(main())
