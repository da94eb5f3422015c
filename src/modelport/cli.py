"""The ``modelport`` command: a thin layer over the Python API.

Exit codes: 0 success, 1 verification found a divergence, 2 bad input (one message,
no traceback).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from modelport.errors import ModelportError

console = Console()
err = Console(stderr=True)


def _split_files(files: list[str], converted_ok: bool = True) -> dict:
    """Positional files after the source: a converted model (a file some target writes) and/or weights."""
    from modelport import targets

    out = {"params": None, "converted": None}
    for f in files:
        key = "converted" if converted_ok and targets.for_file(f) else "params"
        if out[key] is not None:
            raise ModelportError(f"two {key} files given: {out[key]} and {f}")
        out[key] = f
    return out


def cmd_convert(args) -> int:
    from modelport.convert import convert, parse_input_spec

    files = _split_files(args.files, converted_ok=False)
    result = convert(args.source, files["params"], to=args.to, output_dir=args.output,
                     inputs=parse_input_spec(args.input), dynamic=not args.static, optimize=not args.no_optimize,
                     progress=True)
    graph = result.loaded.model.graph
    console.print(f"[green]converted[/] {args.source} -> {args.to}: {result.nodes_before} nodes in, "
                  f"{result.nodes_after} out, {len(graph.initializers)} weights -> " + ", ".join(map(str, result.files)))
    return 0


def cmd_verify(args) -> int:
    from modelport.convert import parse_input_spec
    from modelport.verify.api import verify
    from modelport.verify.report import node_progress, print_verify

    files = _split_files(args.files)
    with node_progress("verifying", err) as tick:
        report = verify(args.source, files["converted"], files["params"], inputs=parse_input_spec(args.input) or None,
                        to=args.to, optimize=not args.no_optimize, seed=args.seed,
                        stop_at_first=args.stop_at_first, progress=tick)
    print_verify(report, console, max_rows=args.max_rows)
    return 0 if report.ok else 1


def cmd_inspect(args) -> int:
    from modelport.convert import parse_input_spec
    from modelport.inspect import inspect

    files = _split_files(args.files)
    rep = inspect(args.source, files["params"], parse_input_spec(args.input) or None)
    console.print(f"{rep.source} ({rep.framework})", soft_wrap=True, highlight=False)
    ops = Table(title="operators", header_style="bold")
    ops.add_column("op")
    ops.add_column("count", justify="right")
    for op, count in rep.ops.most_common():
        ops.add_row(op, str(count))
    console.print(ops)
    layers = Table(title="layers (output shape)", header_style="bold")
    for col in ("#", "layer", "op", "shape"):
        layers.add_column(col, overflow="fold")
    for i, layer in enumerate(rep.layers):
        layers.add_row(str(i), layer.name, layer.op, "x".join(map(str, layer.shape)))
    console.print(layers)
    console.print(f"inputs: {rep.inputs}   outputs: {', '.join(rep.outputs)}", soft_wrap=True, highlight=False)
    console.print(f"parameters: {rep.param_count:,} ({rep.param_bytes / 1e6:.2f} MB) from {rep.params_file}",
                  soft_wrap=True, highlight=False)
    console.print("[bold]pitfalls found[/]" if rep.findings else "pitfalls found: none")
    for text in rep.findings:
        console.print(f"  - {text}", soft_wrap=True)
    if any("PITFALL" in text for text in rep.findings):
        console.print("(PITFALL N: item N of docs/pitfalls.md, which says what a hand conversion gets wrong there)")
    return 0


def cmd_example(args) -> int:
    from modelport.example import run_example

    return run_example(Path(args.output), console)


def build_parser() -> argparse.ArgumentParser:
    from modelport import __version__

    parser = argparse.ArgumentParser(
        prog="modelport",
        description="Convert trained models (MXNet checkpoints, ONNX) to ONNX and verify the result "
                    "tensor by tensor in the real engines.",
        epilog="Exit codes: 0 success, 1 verification found a divergence, 2 bad input. "
               "Run 'modelport COMMAND --help' for a command's options.")
    parser.add_argument("--version", action="version", version=f"modelport {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def model_args(p, help_files):
        p.add_argument("source", help="the source model: MXNet prefix-symbol.json, or a .onnx")
        p.add_argument("files", nargs="*", help=help_files)
        p.add_argument("--input", action="append", metavar="NAME:D1,D2,...",
                       help="input shape, e.g. data:1,3,224,224 (repeat for several inputs)")

    p = sub.add_parser("convert", help="convert a model")
    model_args(p, "the .params file (found automatically for prefix-EPOCH.params)")
    p.add_argument("--to", default="onnx", help="target format (onnx)")
    p.add_argument("-o", "--output", default=".", help="output folder")
    p.add_argument("--static", action="store_true", help="fix batch and spatial sizes to --input")
    p.add_argument("--no-optimize", action="store_true",
                   help="skip the folding passes (BatchNorm into conv, ...): every source tensor survives")
    p.set_defaults(fn=cmd_convert)

    p = sub.add_parser("verify", help="run source and converted model, compare every tensor")
    model_args(p, "the converted model (converted on the fly if omitted) and/or the .params")
    p.add_argument("--to", default="onnx", help="target to convert to on the fly when no converted model is given")
    p.add_argument("--no-optimize", action="store_true", help="on-the-fly conversion without the folding passes")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    p.add_argument("--stop-at-first", action="store_true", help="stop at the first divergent tensor")
    p.add_argument("--max-rows", type=int, default=None, help="rows per table (default all)")
    p.set_defaults(fn=cmd_verify)

    p = sub.add_parser("inspect", help="ops, per-layer shapes, parameters, pitfalls found")
    model_args(p, "the .params file")
    p.set_defaults(fn=cmd_inspect)

    p = sub.add_parser("example", help="build the built-in example model, convert and verify it")
    p.add_argument("-o", "--output", default="example", help="folder for the example files")
    p.set_defaults(fn=cmd_example)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except ModelportError as exc:
        err.print(f"error: {exc}", highlight=False, markup=False, style="red", soft_wrap=True)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
