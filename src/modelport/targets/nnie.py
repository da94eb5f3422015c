"""The ``nnie`` target: the Caffe writer plus what HiSilicon NNIE's mapper needs (PITFALLS 16-22).

The files are plain Caffe (.prototxt + .caffemodel), verified in OpenCV dnn like the
``caffe`` target. On top of the caffe pipeline:

- no ReLU6, Clip or Threshold layers: Clip is always lowered to ReLU/Power chains
  (``lower_clip``, the caffe pipeline already does it) and Threshold is never written;
- a Power shift of exactly 1.0 is nudged to 1.0001 (``nnie_shift_nudge``; on by default,
  every nudge recorded and reported; option ``shift_nudge=False``, CLI ``--no-shift-nudge``);
- option ``depthwise=True``: group == channels convolutions written as ``DepthwiseConv``
  (PITFALLS 21; OpenCV cannot load that type, so such files are not verifiable there);
- at most 16 outputs per net: tops nothing reads that are not model outputs (the parts a
  Slice cuts off) are flattened and concatenated into one ``modelport__unused`` output
  when the net would otherwise have more than 16 (PITFALLS 20);
- option ``hp_layers`` (CLI ``--hp-layers FILE``: a ``modelport quantsim --json`` file or a
  text list, one name a line): those layers are marked for NNIE's 16-bit high precision in
  mixed-precision mode by the ``_hp`` suffix on their layer names (PITFALLS 22). Only layer
  names change: tops keep the source's tensor names, so ``verify`` compares them as before.
  Only layers with weights can be marked (Convolution, DepthwiseConv, Deconvolution,
  InnerProduct: the others have no precision of their own); unknown names are refused;
  a marked group == channels Convolution is reported (write it as DepthwiseConv, PITFALLS 21);
- ``lint(net)`` lists every NNIE violation left in a Caffe net (Power exponents other than
  the ones below, Permute orders other than the ones below, layer types NNIE lacks,
  more than 16 outputs, grouped convolutions not written as DepthwiseConv); ``check``
  refuses the ones the conversion cannot fix, ``inspect(...)`` reports all of them with
  what the conversion does about each.

NNIE_POWER_EXPONENTS and NNIE_PERMUTE_ORDERS are modelport's conservative lists (modelport
writes power 1 only, and SSD heads permute to NHWC); widen them from the mapper's
documentation, not by guessing.
"""
from __future__ import annotations

import json
from pathlib import Path

from modelport.targets import Options, target

MAX_OUTPUTS = 16
NNIE_POWER_EXPONENTS = (1.0,)
NNIE_PERMUTE_ORDERS = ((0, 2, 3, 1),)
MISSING_TYPES = ("ReLU6", "Clip", "Threshold")
NOTES_KEY = "modelport.notes"


def passes(options: Options) -> list:
    from modelport.passes.nnie_shift_nudge import NnieShiftNudgePass
    from modelport.targets import caffe

    options = Options(options.optimize, {**options.extra, "relu6": False})  # NNIE has no ReLU6
    pipeline = caffe.passes(options)
    if options.extra.get("shift_nudge", True):
        pipeline.insert(len(pipeline) - 1, NnieShiftNudgePass())  # before dead-code removal
    return pipeline


def lint(net, options: dict | None = None) -> list[tuple[str, str, str]]:
    """``(layer, violation, what the nnie conversion does)`` for every NNIE violation in ``net``
    (a caffe_pb2.NetParameter)."""
    options = dict(options or {})
    found = []
    read = {b for layer in net.layer for b in layer.bottom}
    for layer in net.layer:
        if layer.type in MISSING_TYPES:
            found.append((layer.name, f"{layer.type} layer (NNIE has none)", "refused: lower it (Clip is lowered to ReLU/Power)"))
        if layer.type == "Power":
            p = layer.power_param
            if p.power not in NNIE_POWER_EXPONENTS:
                found.append((layer.name, f"Power exponent {p.power:g}", "refused"))
            if p.shift == 1.0:
                found.append((layer.name, "Power shift exactly 1.0 (NNIE's GPU mapper adds -1)",
                              "nudged to 1.0001 unless --no-shift-nudge"))
        if layer.type == "Permute" and tuple(layer.permute_param.order) not in NNIE_PERMUTE_ORDERS:
            found.append((layer.name, f"Permute order {list(layer.permute_param.order)}", "refused"))
        if layer.type == "Convolution" and layer.convolution_param.group > 1 \
                and layer.convolution_param.group == layer.convolution_param.num_output and not options.get("depthwise"):
            found.append((layer.name, "group == channels convolution as Convolution (broken in high precision)",
                          "written as DepthwiseConv with the depthwise option"))
    unread = [t for layer in net.layer for t in layer.top if t not in read]
    if len(unread) > MAX_OUTPUTS:
        found.append(("(net)", f"{len(unread)} outputs (NNIE takes {MAX_OUTPUTS} per segment)",
                      "unused outputs concatenated into one modelport__unused output"))
    return found


FIXED = ("nudged", "written as DepthwiseConv", "concatenated")


def _unfixable(found, options: dict) -> list[tuple[str, str, str]]:
    out = []
    for layer, problem, action in found:
        if action.startswith("nudged") and options.get("shift_nudge", True):
            continue
        if action.startswith("written as DepthwiseConv"):
            continue  # a recommendation: the file is valid either way
        if action.startswith("unused outputs"):
            continue
        out.append((layer, problem, action))
    return out


def check(model) -> list[str]:
    from modelport.backends.caffe.writer import build, problems

    found = problems(model)
    if found:
        return found
    net = build(model, weights=False).proto
    return [f"{layer}: {problem} ({action})" for layer, problem, action in _unfixable(lint(net), {})]


def merge_unused_outputs(net, model_outputs: list[str]) -> list[str]:
    """Flatten + Concat the tops nothing reads that are not model outputs into one output when
    the net has more than MAX_OUTPUTS; returns the merged tops."""
    read = {b for layer in net.layer for b in layer.bottom}
    unread = [t for layer in net.layer for t in layer.top if t not in read]
    if len(unread) <= MAX_OUTPUTS:
        return []
    spare = [t for t in unread if t not in set(model_outputs)]
    flat = []
    for top in spare:
        layer = net.layer.add(name=f"{top}__flat", type="Flatten")
        layer.bottom.append(top)
        layer.top.append(f"{top}__flat")
        flat.append(f"{top}__flat")
    if flat:
        layer = net.layer.add(name="modelport__unused", type="Concat")
        layer.bottom.extend(flat)
        layer.top.append("modelport__unused")
        layer.concat_param.axis = 1
    return spare


HP_SUFFIX = "_hp"
HP_TYPES = ("Convolution", "DepthwiseConv", "Deconvolution", "InnerProduct")


def read_hp_layers(path: str | Path) -> list[str]:
    """Layer names from a ``modelport quantsim --json`` file (its ``hp_layers``), a JSON list, or a
    text file with one name a line (``#`` starts a comment)."""
    from modelport.errors import ModelportError

    path = Path(path)
    if not path.is_file():
        raise ModelportError(f"--hp-layers {path}: file not found")
    text = path.read_text(encoding="utf-8", errors="replace")
    if text.lstrip().startswith(("{", "[")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelportError(f"--hp-layers {path}: not valid JSON ({exc})") from None
        names = data.get("hp_layers") if isinstance(data, dict) else data
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ModelportError(f"--hp-layers {path}: expected a list of layer names or an object with 'hp_layers'")
        return list(names)
    return [line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()]


def mark_hp(net, names: list[str]) -> tuple[list[str], list[str]]:
    """Rename the layers ``names`` to ``name_hp`` (tops unchanged); returns (marked, grouped
    Convolutions among them). Unknown names and layers without weights are refused."""
    from modelport.errors import ModelportError

    layers = {layer.name: layer for layer in net.layer}
    unknown = [n for n in names if n not in layers]
    if unknown:
        raise ModelportError(f"--hp-layers: no layer named {', '.join(unknown[:8])}{' ...' if len(unknown) > 8 else ''} "
                             "in the converted net (names come from modelport quantsim on the same model and --input)")
    plain = [n for n in names if layers[n].type not in HP_TYPES]
    if plain:
        raise ModelportError(f"--hp-layers: {', '.join(f'{n} ({layers[n].type})' for n in plain)} "
                             "have no weights, so no precision of their own (PITFALLS 22)")
    grouped = []
    for n in dict.fromkeys(names):
        layer = layers[n]
        p = layer.convolution_param
        if layer.type == "Convolution" and p.group > 1 and p.group == p.num_output:
            grouped.append(n)
        layer.name = n + HP_SUFFIX
    return list(dict.fromkeys(names)), grouped


def runner(path: Path):
    from modelport.runtimes.opencv_caffe_runner import opencv_caffe_runner

    return opencv_caffe_runner(path)


@target("nnie", ".nnie.prototxt", "Caffe for HiSilicon NNIE (.nnie.prototxt + .caffemodel), checked in OpenCV dnn",
        passes, check, runner, static_shapes=True)
def write(model, folder: Path, stem: str, options: Options) -> list[str]:
    from modelport.backends.caffe.writer import write_caffe
    from modelport.passes.nnie_shift_nudge import KEY

    names = [f"{stem}.nnie.prototxt", f"{stem}.nnie.caffemodel"]
    notes = []
    nudged = json.loads(model.metadata_props.get(KEY, "[]"))
    if nudged:
        notes.append(f"Power shift 1.0 nudged to 1.0001 (PITFALLS 19) at: {', '.join(nudged)}")

    def finish(net):
        merged = merge_unused_outputs(net, [v.name for v in model.graph.outputs])
        if merged:
            notes.append(f"{len(merged)} unused outputs concatenated into modelport__unused (PITFALLS 20)")
        if options.extra.get("hp_layers"):
            marked, grouped = mark_hp(net, list(options.extra["hp_layers"]))
            notes.append(f"{len(marked)} layers marked for 16-bit high precision ({HP_SUFFIX} suffix, PITFALLS 22): "
                         + ", ".join(marked))
            if grouped:
                notes.append(f"grouped convolution in high precision is broken (PITFALLS 21): convert with --depthwise "
                             f"so these become DepthwiseConv: {', '.join(grouped)}")

    write_caffe(model, folder / names[0], folder / names[1], options.extra, finish=finish, notes=notes)
    return names


def inspect(source, params=None, inputs: dict | None = None, extra: dict | None = None) -> list[str]:
    """Every NNIE violation of ``source`` converted as plain Caffe, and what ``--to nnie`` does
    about each (the backing of ``modelport inspect --target nnie``)."""
    from modelport.backends.caffe.writer import build
    from modelport.convert import load, prepare

    loaded = load(source, params, inputs, dynamic=False)
    clips = sum(1 for n in loaded.model.graph if n.op_type == "Clip")
    lines = []
    if clips:
        lines.append(f"{clips} Clip/ReLU6 node(s): NNIE has no ReLU6/Clip: lowered to ReLU/Power chains (lower_clip)")
    prepare(loaded, "caffe", extra=extra)
    net = build(loaded.model, weights=False, options=extra).proto
    for layer, problem, action in lint(net, extra):
        lines.append(f"{layer}: {problem}: {action}")
    return lines
