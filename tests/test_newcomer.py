"""A newcomer's first session with the real CLI: each numbered case of the issue, end to end.

Every command runs as ``python -m modelport ...`` in a subprocess (stdout and stderr piped, so
rich renders at 80 columns and no terminal is involved), in an empty working folder that must
stay empty. Bad input must give exit 2, exactly one ``error:`` message on stderr, no traceback,
and nothing written.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import mxnet as mx
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
DET1 = "mtcnn_mxnet/det1-symbol.json"
DET1_PARAMS = "mtcnn_mxnet/det1-0001.params"
MFN = "mobilefacenet_y1/model-symbol.json"
PNET = "onnx_mtcnn_pypi/pnet.onnx"
RETINA = "retinaface_mnet025/mnet.25-symbol.json"

MXNET_NOISE = ("infer_shape error", "graph_executor", "legacy_json_util")
MXNET_LOG_LINE = re.compile(r"^\[\d\d:\d\d:\d\d\] ", re.M)
PLURAL_HACK = re.compile(
    r"\w\((?:s|es)\)"  # problem(s), operator(s), ...
    r"|(?<![\w.,+-])1 (?:[A-Za-z_]+ )?(?:outputs|inputs|tensors|layers|weights|problems|operators|nodes|arrays"
    r"|errors|files|values|names|sizes|shapes|ops|findings)\b")  # "1 outputs", "1 BatchNorm layers"


# --------------------------------------------------------------------------- helpers


class Run:
    def __init__(self, argv, proc: subprocess.CompletedProcess):
        self.argv = argv
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    @property
    def text(self) -> str:
        return self.out + self.err

    def __str__(self) -> str:  # shown by a failing assert
        return (f"$ modelport {' '.join(self.argv)}\nexit {self.code}\n--- stdout\n{self.out}"
                f"--- stderr\n{self.err}")


@pytest.fixture
def cli(tmp_path):
    """Run the real command in an empty working folder (``cli.cwd``), 80 columns, MXNet subgraphs off."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "FORCE_COLOR", "TERM")}
    env["MXNET_SUBGRAPH_BACKEND"] = "NONE"

    def run(*argv) -> Run:
        argv = [str(a) for a in argv]
        proc = subprocess.run([sys.executable, "-m", "modelport", *argv], capture_output=True, text=True,
                              env=env, cwd=cwd, timeout=300)
        return Run(argv, proc)

    run.cwd = cwd
    return run


def _listing(*folders: Path) -> dict:
    return {str(p): p.stat().st_size for f in folders if f.exists() for p in sorted(f.rglob("*"))}


def _assert_clean_failure(run: Run, *needles: str) -> str:
    """Exit 2, stderr is exactly one message starting with 'error:', no traceback; returns the message."""
    assert run.code == 2, run
    assert "Traceback" not in run.text, run
    assert run.err.startswith("error:"), run
    assert len(re.findall(r"^error:", run.err, re.M)) == 1, run
    assert "error:" not in run.out, run
    for needle in needles:
        assert needle in run.err, f"{needle!r} not in the message\n{run}"
    return run.err


def _failing(cli, commands, watched: list[Path], *needles: str) -> list[str]:
    """Run each command; each must fail cleanly and leave the watched folders (and cwd) as they were."""
    messages = []
    for argv in commands:
        before = _listing(cli.cwd, *watched)
        run = cli(*argv)
        messages.append(_assert_clean_failure(run, *needles))
        assert _listing(cli.cwd, *watched) == before, f"something was written\n{run}"
    return messages


def _three_commands(source, out_dir, *rest):
    """inspect, convert (into out_dir, which must not appear) and verify of one source."""
    return [("inspect", source, *rest), ("convert", source, "-o", out_dir, *rest), ("verify", source, *rest)]


def _column(text: str, index: int, cells: int) -> list[str]:
    """The cells of column ``index`` in every rich table of ``text`` that has ``cells`` columns,
    one string per row: rich folds a long cell over several lines, so the pieces of a row (the
    lines up to the next one whose first column is filled) are joined again."""
    rows: list[str] = []
    for line in text.splitlines():
        if not line.startswith("│"):
            continue
        parts = line.split("│")
        if len(parts) != cells + 2:
            continue
        if parts[1].strip():
            rows.append("")
        if rows:
            rows[-1] += parts[index + 1].strip()
    return rows


def _save(sym, prefix: Path, shapes: dict, seed=0, low=-0.5, high=0.5, epoch=1):
    """Checkpoint ``sym`` with random weights (shapes from MXNet's own infer_shape)."""
    arg_shapes, _, aux_shapes = sym.infer_shape(**shapes)
    rng = np.random.RandomState(seed)
    args = {n: mx.nd.array(rng.uniform(low, high, s)) for n, s in zip(sym.list_arguments(), arg_shapes)
            if n not in shapes and not n.endswith("_label")}
    aux = {n: mx.nd.array(rng.uniform(0.1, 1.0, s)) for n, s in zip(sym.list_auxiliary_states(), aux_shapes)}
    mx.model.save_checkpoint(str(prefix), epoch, sym, args, aux)
    return Path(f"{prefix}-symbol.json"), Path(f"{prefix}-{epoch:04d}.params")


def _mxnet_shape_check(symbol: Path, shape: tuple) -> tuple[bool, str]:
    """(fits, failing layer) according to MXNet itself: infer_shape succeeds with all-positive outputs."""
    sym = mx.sym.load(str(symbol))
    try:
        _, outs, _ = sym.infer_shape(data=shape)
    except mx.base.MXNetError as exc:
        found = re.search(r"Error in operator ([^:\s]+):", str(exc))
        return False, found.group(1) if found else ""
    return all(d > 0 for s in outs for d in s), ""


def _first_layer(symbol: Path) -> str:
    """The first node with weights (what the input's channels must match)."""
    doc = json.loads(symbol.read_text())
    names = {i: n["name"] for i, n in enumerate(doc["nodes"])}
    for node in doc["nodes"]:
        if node["op"] != "null" and any(names[i].endswith("_weight") for i, *_ in node["inputs"]):
            return node["name"]
    raise AssertionError(f"no layer with weights in {symbol}")


# --------------------------------------------------------------------------- 1


def test_case_1_verify_missing_converted_file(cli, shared_models, tmp_path):
    det1 = shared_models / DET1
    pnet = (shared_models / PNET).read_bytes()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "truncated.onnx").write_bytes(pnet[: len(pnet) // 2])
    (bad / "text.onnx").write_text("this is not a model\n")
    (bad / "params.onnx").write_bytes((shared_models / DET1_PARAMS).read_bytes())
    (bad / "empty.onnx").write_bytes(b"")  # truncated to nothing
    for name in ("missing.onnx", "truncated.onnx", "text.onnx", "params.onnx", "empty.onnx"):
        converted = bad / name
        # as the converted model beside an MXNet source, and as the source itself
        _failing(cli, [("verify", det1, converted), ("verify", converted)], [bad], str(converted))


# --------------------------------------------------------------------------- 2


def test_case_2_wrong_channel_count(cli, shared_models, tmp_path):
    symbol = shared_models / MFN
    layer = _first_layer(symbol)
    weights = mx.nd.load(str(shared_models / "mobilefacenet_y1/model-0000.params"))
    assert weights[f"arg:{layer}_weight"].shape[1] == 3  # the first layer takes 3 channels, not 1
    out = tmp_path / "out"
    _failing(cli, _three_commands(symbol, out, "--input", "data:1,1,112,112"), [tmp_path], "data", layer)
    assert not out.exists()


# --------------------------------------------------------------------------- 3


def test_case_3_input_too_small(cli, shared_models, tmp_path):
    symbol = shared_models / DET1
    smallest = next(s for s in range(1, 65) if _mxnet_shape_check(symbol, (1, 3, s, s))[0])
    fits, broken = _mxnet_shape_check(symbol, (1, 3, 8, 8))
    assert not fits and broken, "MXNet should refuse det1 at 8x8 and name the layer"
    out = tmp_path / "out"
    messages = _failing(cli, _three_commands(symbol, out, "--input", "data:1,3,8,8"), [tmp_path],
                        f"'{broken}'", f"{smallest}x{smallest}")
    assert "give it with --input" not in messages[2], messages[2]
    assert not out.exists()


# --------------------------------------------------------------------------- 4


def test_case_4_wrong_rank(cli, shared_models, tmp_path):
    symbol = shared_models / MFN
    out = tmp_path / "out"
    for message in _failing(cli, _three_commands(symbol, out, "--input", "data:1,3,112"), [tmp_path], "data"):
        assert len(message.strip().splitlines()) == 1, f"more than one problem:\n{message}"
        assert "problems" not in message and "rank" in message, message
    assert not out.exists()


# --------------------------------------------------------------------------- 5


def _assert_quiet_success(run: Run):
    assert run.code == 0 and "MATCH" in run.out, run
    assert run.err == "", f"stderr of a successful verify is not empty:\n{run}"
    for noise in MXNET_NOISE:
        assert noise not in run.text, f"MXNet line {noise!r} leaked\n{run}"
    assert not MXNET_LOG_LINE.search(run.text), run


def test_case_5_successful_verify_is_quiet(cli, shared_models):
    symbol = shared_models / DET1
    probed = cli("verify", symbol)
    _assert_quiet_success(probed)
    notes = [line for line in probed.text.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "probe" in notes[0], f"want one note on the probed size\n{probed}"
    given = cli("verify", symbol, "--input", "data:1,3,12,12")
    _assert_quiet_success(given)
    assert "probe" not in given.text, given


# --------------------------------------------------------------------------- 6


def test_case_6_params_of_another_model(cli, shared_models, tmp_path):
    symbol, params = shared_models / MFN, shared_models / DET1_PARAMS
    sym = mx.sym.load(str(symbol))
    needed = len([n for n in sym.list_arguments() if n != "data" and not n.endswith("_label")])
    needed += len(sym.list_auxiliary_states())
    out = tmp_path / "out"
    commands = [("inspect", symbol, params), ("convert", symbol, params, "-o", out), ("verify", symbol, params)]
    for message in _failing(cli, commands, [tmp_path], "another model"):
        assert len(message.strip().splitlines()) < 10, message
        assert re.search(rf"(?<!\d){needed}(?!\d)", message), f"the count {needed} is not given:\n{message}"
    assert not out.exists()


# --------------------------------------------------------------------------- 7


def test_case_7_recurrent_model(cli, tmp_path):
    from modelport.frontends.mxnet.registry import spec_of

    hidden, states = 32, ("l0_h0", "l0_c0", "l1_h0", "l1_c0")
    cell = mx.rnn.SequentialRNNCell()
    cell.add(mx.rnn.LSTMCell(num_hidden=hidden, prefix="l0_"))
    cell.add(mx.rnn.LSTMCell(num_hidden=hidden, prefix="l1_"))
    outputs, _ = cell.unroll(length=30, inputs=mx.sym.var("data"), begin_state=[mx.sym.var(s) for s in states],
                             layout="NTC", merge_outputs=True)
    shapes = {"data": (1, 30, 100), **{s: (1, hidden) for s in states}}
    symbol, _ = _save(outputs, tmp_path / "lstm", shapes)
    unsupported = sorted({n["op"] for n in json.loads(symbol.read_text())["nodes"]
                          if n["op"] != "null" and spec_of(n["op"]) is None})

    given = ", ".join(f"{k}={'x'.join(map(str, v))}" for k, v in shapes.items())
    inputs = [a for k, v in shapes.items() for a in ("--input", f"{k}:{','.join(map(str, v))}")]
    before = _listing(tmp_path)
    run = cli("verify", symbol, *inputs)
    assert _listing(tmp_path) == before, run
    assert "Traceback" not in run.text, run
    if unsupported:
        _assert_clean_failure(run, "unsupported", *unsupported)
        return
    assert run.code == 0, run
    assert run.err == "", run
    verdicts = re.findall(r"^(MATCH|DIVERGES) at (.+?): ", run.out, re.M)
    assert verdicts and all(v == ("MATCH", given) for v in verdicts), f"runs at other shapes than {given}\n{run}"
    assert "skipped" not in run.out, f"tried a size the model cannot take\n{run}"


# --------------------------------------------------------------------------- 8


def test_case_8_static_without_input(cli, shared_models, tmp_path):
    out = tmp_path / "out"
    _failing(cli, [("convert", shared_models / DET1, "--static", "-o", out)], [tmp_path], "--input")
    assert not out.exists()


# --------------------------------------------------------------------------- 9


def test_case_9_version(cli):
    import modelport

    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert modelport.__version__ == declared
    run = cli("--version")
    assert run.code == 0 and run.err == "", run
    assert run.out == f"modelport {declared}\n", run


# --------------------------------------------------------------------------- 10


def test_case_10_tables_never_cut_names(cli, tmp_path):
    names = ["backbone_stage1_unit1_" + "very_long_descriptive_convolution_layer_name_" * 2 + "conv",
             "backbone_stage1_unit1_" + "rectified_linear_activation_after_the_convolution_" * 2 + "relu",
             "head_" + "x" * 40 + "_final_projection_convolution_with_a_long_name_as_well_out"]
    assert all(len(n) >= 90 for n in names)
    x = mx.sym.Convolution(mx.sym.var("data"), kernel=(3, 3), num_filter=4, name=names[0])
    x = mx.sym.Activation(x, act_type="relu", name=names[1])
    x = mx.sym.Convolution(x, kernel=(1, 1), num_filter=2, name=names[2])
    folder = tmp_path / "a_rather_long_folder_name_so_that_the_source_path_is_longer_than_one_line"
    folder.mkdir()
    symbol, _ = _save(x, folder / "longnames", {"data": (1, 3, 8, 8)})
    assert len(str(symbol)) > 80

    run = cli("verify", symbol, "--input", "data:1,3,8,8")
    assert run.code == 0, run
    tensors = _column(run.out, 1, 7)
    for name in names:
        assert name in tensors, f"{name} cut in the table (rebuilt column: {tensors})\n{run}"
    assert any(str(symbol) in line for line in run.out.splitlines()), f"source path broken over lines\n{run}"

    run = cli("inspect", symbol)
    assert run.code == 0, run
    layers = _column(run.out, 1, 4)
    for name in names:
        assert name in layers, f"{name} cut in the layers table (rebuilt column: {layers})\n{run}"
    assert any(str(symbol) in line for line in run.out.splitlines()), f"source path broken over lines\n{run}"


# --------------------------------------------------------------------------- 11


def test_case_11_inspect_retinaface_shapes(cli, shared_models):
    run = cli("inspect", shared_models / RETINA)
    assert run.code == 0 and run.err == "", run
    assert "unk__" not in run.text, run
    shapes = dict(zip(_column(run.out, 1, 4), _column(run.out, 3, 4)))
    assert len(shapes) > 100, run
    # every layer, the Crops (a Slice sized by another tensor's Shape) and what follows them included
    bad = {name: shape for name, shape in shapes.items()
           if shape.split("x")[0] != "N" or (shape.count("x") and not shape.split("x")[1].isdigit())}
    assert not bad, f"{len(bad)} layers without batch N or a numeric channel count: {bad}"
    # spatial sizes are named after the input's axes (H/32 ...), never left as made-up names
    assert any("H/32" in shape for shape in shapes.values()), shapes


# --------------------------------------------------------------------------- 12


def test_case_12_messages(cli, shared_models, tmp_path):
    missing = [tmp_path / "nothere-symbol.json", tmp_path / "nothere.json"]
    for symbol in missing:
        out = tmp_path / "out"
        for message in _failing(cli, _three_commands(symbol, out), [tmp_path], str(symbol), "not found"):
            said = message.replace(str(symbol), "")  # the path itself may contain "symbol"
            assert "symbol" in said, message
            assert "params file" not in said, message

    run = cli("inspect", shared_models / PNET)
    assert run.code == 0 and run.err == "", run
    assert "params" not in run.err and "Conv" in run.out, run

    target = tmp_path / "SOMEFILE"
    target.write_text("mine")
    _failing(cli, [("convert", shared_models / DET1, "-o", target)], [tmp_path], str(target),
             "is a file, not a folder")
    assert target.read_text() == "mine"


# --------------------------------------------------------------------------- 13


def _small_models(folder: Path) -> dict[str, Path]:
    """bn: one BatchNorm (fix_gamma absent, gamma stored != 1), one output; unknown: one unsupported op;
    badweight: one weight of the wrong shape (in the last layer); softmax4d: SoftmaxOutput on 4-D input,
    which verify reports as a divergence (README, Known limits)."""
    data = mx.sym.var("data")
    x = mx.sym.Convolution(data, kernel=(3, 3), num_filter=4, name="conv1")
    x = mx.sym.BatchNorm(x, name="bn1")
    x = mx.sym.Activation(x, act_type="relu", name="relu1")
    x = mx.sym.Convolution(x, kernel=(1, 1), num_filter=2, name="conv2")
    bn, bn_params = _save(x, folder / "bn", {"data": (1, 3, 16, 16)}, low=0.1, high=1.0)

    doc = json.loads(bn.read_text())
    for node in doc["nodes"]:
        if node["name"] == "relu1":
            node["op"] = "MysteryLayer"
    unknown = folder / "unknown-symbol.json"
    unknown.write_text(json.dumps(doc))
    (folder / "unknown-0001.params").write_bytes(bn_params.read_bytes())

    badweight = folder / "badweight-symbol.json"
    badweight.write_text(bn.read_text())
    weights = mx.nd.load(str(bn_params))
    weights["arg:conv2_bias"] = mx.nd.ones((5,))
    mx.nd.save(str(folder / "badweight-0001.params"), weights)

    y = mx.sym.SoftmaxOutput(mx.sym.Convolution(data, kernel=(1, 1), num_filter=5, name="score"), name="softmax")
    softmax4d, _ = _save(y, folder / "softmax4d", {"data": (1, 3, 8, 8)}, low=-1.0, high=1.0)
    return {"bn": bn, "unknown": unknown, "badweight": badweight, "softmax4d": softmax4d}


def test_case_13_cosmetics(cli, shared_models, tmp_path):
    models = _small_models(tmp_path)
    out = tmp_path / "out"
    runs = []

    # successful commands: stderr empty
    for argv in [("inspect", models["bn"]), ("convert", models["bn"], "-o", out, "--input", "data:1,3,16,16"),
                 ("verify", models["bn"], "--input", "data:1,3,16,16"), ("verify", shared_models / DET1),
                 ("inspect", shared_models / RETINA), ("inspect", shared_models / PNET)]:
        run = cli(*argv)
        assert run.code == 0, run
        assert run.err == "", f"stderr of a successful command is not empty: {run.err!r}\n{run}"
        runs.append(run)
    assert "1 BatchNorm layer " in runs[0].out, runs[0]  # the singular case is really exercised
    assert re.search(r"\b1 output\b", runs[2].out), runs[2]

    # failing commands
    for argv, needle in [(("convert", models["unknown"], "-o", tmp_path / "o2"), "1 unsupported"),
                         (("convert", models["badweight"], "-o", tmp_path / "o3", "--input", "data:1,3,16,16"),
                          "conv2_bias"),
                         (("inspect", shared_models / MFN, shared_models / DET1_PARAMS), "another model"),
                         (("verify", shared_models / MFN, "--input", "data:1,3,112"), "rank")]:
        run = cli(*argv)
        _assert_clean_failure(run, needle)
        runs.append(run)
    diverging = cli("verify", models["softmax4d"], "--input", "data:1,3,8,8")
    assert diverging.code == 1 and "DIVERGES" in diverging.out, diverging
    runs.append(diverging)

    for run in runs:
        hacks = [m.group(0) for m in PLURAL_HACK.finditer(run.text)]
        assert not hacks, f"plural hacks {hacks}\n{run}"

    # PITFALL N always comes with a pointer to docs/pitfalls.md, whose items exist
    pitfalls = REPO / "docs" / "pitfalls.md"
    assert pitfalls.is_file()
    items = {int(n) for n in re.findall(r"^(\d+)\. ", pitfalls.read_text(), re.M)}
    cited = 0
    for run in runs:
        numbers = {int(n) for n in re.findall(r"PITFALL (\d+)", run.text)}
        if numbers:
            cited += 1
            assert "docs/pitfalls.md" in run.text, f"PITFALL without a pointer to docs/pitfalls.md\n{run}"
            assert numbers <= items, f"PITFALL {sorted(numbers - items)} not in docs/pitfalls.md\n{run}"
    assert cited >= 2, "expected findings (inspect) and a diagnosis (verify) that cite pitfalls"

    # help and version
    top = cli("--help")
    assert top.code == 0 and top.err == "", top
    helps = [top] + [cli(command, "--help") for command in ("convert", "verify", "inspect", "example")]
    for run in helps:
        assert run.code == 0, run
        for markup in ("``", ":func:", ":class:", ":meth:", "**", ".. "):
            assert markup not in run.out, f"raw docstring markup {markup!r}\n{run}"
    assert "--seed" in helps[2].out, helps[2]
    version = cli("--version")
    assert version.code == 0 and version.out.startswith("modelport "), version
