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


def _extra(args) -> dict:
    """Target options from their flags (each target reads the ones it knows)."""
    flags = {"fp16": args.fp16, "relu6": args.relu6, "depthwise": args.depthwise, "exact": args.exact}
    extra = {k: True for k, v in flags.items() if v}
    if args.no_shift_nudge:
        extra["shift_nudge"] = False
    if getattr(args, "hp_layers", None):
        from modelport.targets.nnie import read_hp_layers
        extra["hp_layers"] = read_hp_layers(args.hp_layers)
    return extra


def cmd_convert(args) -> int:
    from modelport.convert import convert, parse_input_spec

    files = _split_files(args.files, converted_ok=False)
    extra = _extra(args)
    if extra.get("hp_layers") and args.to != "nnie":
        raise ModelportError(f"--hp-layers marks layers for NNIE's high precision: use it with --to nnie, not --to {args.to}")
    result = convert(args.source, files["params"], to=args.to, output_dir=args.output,
                     inputs=parse_input_spec(args.input), dynamic=not args.static, optimize=not args.no_optimize,
                     progress=True, extra=extra, outputs=args.outputs)
    graph = result.loaded.model.graph
    for message in result.warnings:
        console.print(f"[yellow]warning:[/] {message}", soft_wrap=True, highlight=False)
    if extra.get("hp_layers"):
        _print_notes(result.files[0])
    console.print(f"[green]converted[/] {args.source} -> {args.to}: {result.nodes_before} nodes in, "
                  f"{result.nodes_after} out, {len(graph.initializers)} weights -> " + ", ".join(map(str, result.files)))
    return 0


def _print_notes(prototxt) -> None:
    prefix = "# modelport.notes: "
    with open(prototxt, encoding="utf-8") as f:
        for line in f:
            if not line.startswith("#"):
                break
            if line.startswith(prefix):
                console.print(f"note: {line[len(prefix):].strip()}", soft_wrap=True, highlight=False, markup=False)


def cmd_quantsim(args) -> int:
    from modelport.convert import parse_input_spec
    from modelport.quant.report import print_quantsim
    from modelport.quant.simulate import quantsim, write_json

    files = _split_files(args.files, converted_ok=False)
    result = quantsim(args.source, files["params"], parse_input_spec(args.input) or None, target=args.target,
                      calib=args.calib, random=args.random, seed=args.seed, target_cosine=args.target_cosine)
    print_quantsim(result, console, max_rows=args.max_rows)
    if args.json:
        console.print(f"json: {write_json(result, args.json)} (convert with --to nnie --hp-layers {args.json})",
                      soft_wrap=True, highlight=False)
    if args.report:
        from modelport.quant.report import write_quantsim_html
        console.print(f"report: {write_quantsim_html(result, args.report)}", soft_wrap=True, highlight=False)
    return 0


def cmd_verify(args) -> int:
    from modelport.convert import parse_input_spec
    from modelport.verify.api import verify
    from modelport.verify.report import node_progress, print_verify

    files = _split_files(args.files)
    graph: list = []

    def observe(shapes, reference, candidate, feeds, ref, got):
        if args.report and not graph:
            from modelport.verify.html import graph_of
            graph.extend(graph_of(reference) or [])
        if args.save_tensors:
            from modelport.tools.dumps import save_tensors
            save_tensors(args.save_tensors, shapes, feeds, ref, got)

    with node_progress("verifying", err) as tick:
        report = verify(args.source, files["converted"], files["params"], inputs=parse_input_spec(args.input) or None,
                        shapes=parse_shapes(args.shapes), to=args.to, optimize=not args.no_optimize, seed=args.seed,
                        stop_at_first=args.stop_at_first, progress=tick, extra=_extra(args),
                        observe=observe if args.report or args.save_tensors else None, outputs=args.outputs)
    print_verify(report, console, max_rows=args.max_rows)
    if args.shapes and len(report.runs) > 1:
        print_shape_summary(report)
    if args.save_tensors:
        console.print(f"tensors saved under {args.save_tensors}/<shape>/{{inputs,reference,candidate}}.npz",
                      soft_wrap=True, highlight=False)
    if args.report:
        from modelport.verify.html import write_html
        console.print(f"report: {write_html(report, args.report, graph)}", soft_wrap=True, highlight=False)
    return 0 if report.ok else 1


def parse_shapes(text: str | None) -> list[dict] | None:
    """``1x3x224x224,1x3x301x257`` -> one run per comma-separated item; ``NAME:`` names an input,
    ``+`` joins the inputs of one run (``a:1x3x8x8+b:1x4``)."""
    if not text:
        return None
    runs = []
    for item in text.split(","):
        run = {}
        for part in item.split("+"):
            name, _, dims = part.strip().rpartition(":")
            try:
                shape = tuple(int(d) for d in dims.split("x"))
            except ValueError:
                shape = ()
            if not shape or any(d <= 0 for d in shape):
                raise ModelportError(f"--shapes {text!r}: {part!r} is not a shape; expected e.g. "
                                     "1x3x224x224,1x3x301x257 (NAME: before a shape names the input)")
            run[name or None] = shape
        runs.append(run)
    return runs


def print_shape_summary(report) -> None:
    from modelport.verify.html import shape_summary

    table = Table(title="all shapes", header_style="bold")
    for col in ("shapes", "verdict", "tensors", "fine/susp./bad", "worst output", "first divergence"):
        table.add_column(col, overflow="fold")
    for s in shape_summary(report):
        if s["verdict"] == "skipped":
            table.add_row(s["shapes"], "[yellow]skipped[/]", "", "", "", s["detail"])
            continue
        c = s["counts"]
        table.add_row(s["shapes"], "[green]MATCH[/]" if s["verdict"] == "MATCH" else "[red]DIVERGES[/]",
                      str(s["tensors"]), f"{c['fine']}/{c['suspicious']}/{c['bad']}",
                      "-" if s["worst_output"] != s["worst_output"] else f"{s['worst_output']:.7f}", s["first"] or "-")
    console.print(table)


def cmd_inspect(args) -> int:
    from modelport.convert import parse_input_spec
    from modelport.inspect import inspect

    files = _split_files(args.files)
    if args.target:
        return _inspect_target(args, files)
    rep = inspect(args.source, files["params"], parse_input_spec(args.input) or None, outputs=args.outputs)
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


def _inspect_target(args, files) -> int:
    """``inspect --target nnie``: every violation of the target's rules and what the conversion does."""
    import importlib

    from modelport import targets
    from modelport.convert import parse_input_spec
    from modelport.text import plural

    targets.get(args.target)
    module = importlib.import_module(f"modelport.targets.{args.target}")
    if not hasattr(module, "inspect"):
        raise ModelportError(f"--target {args.target}: this target has no rules to inspect (nnie has)")
    lines = module.inspect(args.source, files["params"], parse_input_spec(args.input) or None, {})
    console.print(f"{args.source}: {plural(len(lines), 'thing')} the {args.target} target changes or refuses"
                  if lines else f"{args.source}: nothing to change for {args.target}", soft_wrap=True, highlight=False)
    for line in lines:
        console.print(f"  - {line}", soft_wrap=True, highlight=False)
    return 0


def cmd_weights(args) -> int:
    from modelport.tools.weights import diff_weights, read_weights
    from modelport.tools.weights_report import print_diff, print_stats

    if len(args.files) > 1 or (args.diff and len(args.diff) > 2):
        raise ModelportError("give a model and at most its weights file on each side: "
                             "modelport weights MODEL [PARAMS] [--diff OTHER [OTHER_PARAMS]]")
    left = read_weights(args.model, args.files[0] if args.files else None)
    if not args.diff:
        print_stats(left, console, args.first)
        return 0
    right = read_weights(args.diff[0], args.diff[1] if len(args.diff) > 1 else None)
    return print_diff(diff_weights(left, right), left, right, console)


def cmd_compare_dumps(args) -> int:
    from modelport.tools.dumps import compare_dumps, print_comparison

    return print_comparison(compare_dumps(args.left, args.right, args.dot), console)


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

    def target_options(p):
        group = p.add_argument_group("target options")
        group.add_argument("--fp16", action="store_true", help="ncnn: store weights in fp16 (never by default)")
        group.add_argument("--exact", action="store_true",
                           help="refuse a node the target can only approximate (e.g. an SSD detection whose "
                                "nms_topk or force_suppress ncnn/Caffe cannot express) instead of warning")
        group.add_argument("--relu6", action="store_true", help="caffe: write ReLU6 layers (OpenCV has them)")
        group.add_argument("--depthwise", action="store_true",
                           help="nnie: write group == channels convolutions as DepthwiseConv (PITFALL 21)")
        group.add_argument("--no-shift-nudge", action="store_true",
                           help="nnie: keep Power shifts of exactly 1.0 (PITFALL 19) instead of 1.0001")
        group.add_argument("--hp-layers", metavar="FILE",
                           help="nnie: mark these layers for 16-bit high precision with the _hp suffix (a modelport "
                                "quantsim --json file, or one layer name a line)")

    def model_args(p, help_files):
        p.add_argument("source", help="the source model: MXNet prefix-symbol.json, or a .onnx")
        p.add_argument("files", nargs="*", help=help_files)
        p.add_argument("--input", action="append", metavar="NAME:D1,D2,...",
                       help="input shape, e.g. data:1,3,224,224 (repeat for several inputs)")
        p.add_argument("--outputs", type=lambda s: [n for n in s.split(",") if n], metavar="NAME[,NAME...]",
                       help="cut the graph at these nodes (MXNet): what they do not need (a training branch, "
                            "labels) is dropped")

    p = sub.add_parser("convert", help="convert a model")
    model_args(p, "the .params file (found automatically for prefix-EPOCH.params)")
    p.add_argument("--to", default="onnx", help="target format: onnx, ncnn, caffe or nnie (default onnx)")
    p.add_argument("-o", "--output", default=".", help="output folder")
    p.add_argument("--static", action="store_true", help="fix batch and spatial sizes to --input")
    target_options(p)
    p.add_argument("--no-optimize", action="store_true",
                   help="skip the folding passes (BatchNorm into conv, ...): every source tensor survives")
    p.set_defaults(fn=cmd_convert)

    p = sub.add_parser("verify", help="run source and converted model, compare every tensor")
    model_args(p, "the converted model (converted on the fly if omitted) and/or the .params")
    p.add_argument("--to", default="onnx", help="target to convert to on the fly when no converted model is given")
    p.add_argument("--no-optimize", action="store_true", help="on-the-fly conversion without the folding passes")
    target_options(p)
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    p.add_argument("--stop-at-first", action="store_true", help="stop at the first divergent tensor")
    p.add_argument("--max-rows", type=int, default=None, help="rows per table (default all)")
    p.add_argument("--shapes", metavar="1x3x224x224,1x3x301x257",
                   help="verify at each of these input shapes (instead of --input and its odd-sized variant) and "
                        "summarise; NAME:1x3x64x64 names the input")
    p.add_argument("--report", metavar="OUT.html",
                   help="also write a self-contained HTML report: summary, plot along the graph, coloured graph, table")
    p.add_argument("--save-tensors", metavar="DIR",
                   help="save inputs and both engines' tensors as DIR/<shape>/{inputs,reference,candidate}.npz "
                        "(for compare-dumps)")
    p.set_defaults(fn=cmd_verify)

    p = sub.add_parser("inspect", help="ops, per-layer shapes, parameters, pitfalls found")
    model_args(p, "the .params file")
    p.add_argument("--target", metavar="NAME", help="instead: list what converting to this target (nnie) changes "
                                                     "or refuses, before converting")
    p.set_defaults(fn=cmd_inspect)

    p = sub.add_parser("quantsim", help="simulate NNIE's 8-bit mode per layer and choose the layers to keep at 16 bits")
    model_args(p, "the .params file")
    p.add_argument("--target", default="nnie", help="the quantizing target to simulate (nnie)")
    p.add_argument("--calib", metavar="DIR", help="calibration inputs: a folder of images or .npy files "
                                                   "(default: random inputs)")
    p.add_argument("--random", type=int, metavar="N", default=None,
                   help="N random calibration inputs when no --calib is given (default 8); with --calib: use the first N")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    p.add_argument("--target-cosine", type=float, default=0.99,
                   help="every output's cosine must reach this in the mixed-precision model (default 0.99)")
    p.add_argument("--json", metavar="OUT.json", help="write per-layer cosines and the chosen _hp layers as JSON "
                                                      "(what convert --hp-layers reads)")
    p.add_argument("--report", metavar="OUT.html", help="also write a self-contained HTML report")
    p.add_argument("--max-rows", type=int, default=None, help="rows in the per-layer table (default all)")
    p.set_defaults(fn=cmd_quantsim)

    p = sub.add_parser("weights", help="every weight's shape, dtype, statistics and first values; --diff two models")
    p.add_argument("model", help="an MXNet prefix-symbol.json, a .params or a .onnx")
    p.add_argument("files", nargs="*", help="the .params of an MXNet symbol (found automatically for prefix-EPOCH.params)")
    p.add_argument("--diff", nargs="+", metavar="OTHER", help="another checkpoint or a conversion (and its .params): "
                   "pair the weights through the graph, folded BatchNorms undone, and flag the differences")
    p.add_argument("--first", type=int, default=5, help="how many first values to show (default 5)")
    p.set_defaults(fn=cmd_weights)

    p = sub.add_parser("compare-dumps", help="cosine per layer between NNIE .hex, Caffe .float and .npz dumps")
    p.add_argument("left", help="a folder of .hex/.float dumps (one value per line), one such file, or an .npz "
                                "(verify --save-tensors)")
    p.add_argument("right", help="the same kinds as LEFT")
    p.add_argument("--dot", metavar="cnn_net_tree.dot", help="the NNIE mapper's graph, to match layers by it")
    p.set_defaults(fn=cmd_compare_dumps)

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
