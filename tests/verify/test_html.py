"""The HTML report: colours by the NNIE thresholds, layout, self-contained, and a real headless Chromium render."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from modelport.tools.levels import COLOURS
from modelport.verify.api import ShapeRun, VerifyReport
from modelport.verify.compare import Comparison, TensorResult
from modelport.verify.html import graph_of, layout, render, write_html


def _row(name, cosine, ok=None, is_output=False):
    return TensorResult(name=name, ref_shape=(1, 4), got_shape=(1, 4), cosine=cosine, max_abs=1 - cosine,
                        max_rel=10 * (1 - cosine) + 1e-7, ok=cosine >= 0.99999 if ok is None else ok,
                        is_output=is_output)


def _report():
    rows = [_row("conv1", 1.0), _row("relu1", 0.995), _row("conv2", 0.97), _row("pool", 0.90),
            _row("fc", 0.5, is_output=True)]
    cmp = Comparison(rows=rows, first_divergence=rows[1], diagnosis="BatchNorm <eps> differs - PITFALL 4",
                     folded=[("conv0", "conv1")], missing=["ghost"])
    cmp.cause, cmp.evidence = "eps", ["input 'conv1' matches the reference to 1.0e-07"]
    report = VerifyReport("net-symbol.json", "net.onnx", runs=[ShapeRun({"data": (1, 3, 8, 8)}, cmp),
                                                               ShapeRun({"data": (1, 3, 9, 9)}, skipped="refused")],
                          reference="mxnet", candidate="onnxruntime")
    graph = [("data", "input", []), ("conv0", "Convolution", ["data"]), ("conv1", "BatchNorm", ["conv0"]),
             ("relu1", "Activation", ["conv1"]), ("conv2", "Convolution", ["relu1"]), ("ghost", "Pooling", ["relu1"]),
             ("pool", "Pooling", ["conv2", "ghost"]), ("fc", "FullyConnected", ["pool", "relu1"])]
    return report, graph


def _nodes(page: str) -> dict[str, tuple[str, str]]:
    """tensor -> (data-level, fill) of every graph node."""
    out = {}
    for m in re.finditer(r'<g class="node[^"]*" data-row="[^"]*" data-level="(\w+)"><title>([^<(]+) \(.*?</title>'
                         r'<rect [^>]*fill="(#\w+)"', page):
        out[m.group(2).strip()] = (m.group(1), m.group(3))
    return out


def test_nodes_and_points_are_coloured_by_the_nnie_thresholds():
    report, graph = _report()
    page = render(report, graph)
    nodes = _nodes(page)
    assert nodes["conv1"] == ("fine", COLOURS["fine"])
    assert nodes["relu1"] == ("fine", COLOURS["fine"])  # 0.995: >= 0.99 is fine even though it is the first divergence
    assert nodes["conv2"] == ("suspicious", COLOURS["suspicious"])
    assert nodes["pool"] == ("bad", COLOURS["bad"]) and nodes["fc"] == ("bad", COLOURS["bad"])
    assert nodes["conv0"] == ("none", COLOURS[None]) and nodes["ghost"] == ("none", COLOURS[None])
    assert "folded into conv1 (not compared)" in page and "missing in the converted model" in page
    assert re.search(r'<g class="node first" data-row="r0-1"', page)  # the first divergence is marked
    points = re.findall(r'<circle cx="[\d.]+" cy="[\d.]+" r="3" fill="(#\w+)"', page)
    assert points == [COLOURS[x] for x in ("fine", "fine", "suspicious", "bad", "bad")]
    assert "first divergence: relu1" in page and "BatchNorm &lt;eps&gt; differs - PITFALL 4" in page
    assert "[eps]" in page and "input &#x27;conv1&#x27; matches the reference to 1.0e-07" in page
    assert page.count('<tr id="row-r0-') == 5 and "skipped: refused" in page
    assert "<svg class=\"plot\"" in page and "<svg class=\"graph\"" in page


def test_the_page_is_self_contained():
    report, graph = _report()
    page = render(report, graph)
    assert not re.search(r"""(src|href)\s*=|@import|url\(|<link|<iframe|fetch\(|XMLHttpRequest""", page)
    assert set(re.findall(r"https?://[^\s\"']+", page)) == {"http://www.w3.org/2000/svg"}  # the SVG namespace only


def test_layout_puts_every_node_below_its_inputs():
    _, graph = _report()
    lay = layout(graph)
    for name, _, ins in graph:
        for i in ins:
            assert lay.pos[name][1] > lay.pos[i][1], (name, i)
    same_row = [n for n, _, _ in graph if lay.pos[n][1] == lay.pos["conv2"][1]]
    assert sorted(same_row) == ["conv2", "ghost"]  # both read relu1 only: one depth
    xs = [lay.pos[n][0] for n in same_row]
    assert abs(xs[0] - xs[1]) >= 170  # no overlap


def test_without_a_graph_the_page_draws_a_chain():
    report, _ = _report()
    page = render(report, None)
    assert "drawn as a chain in execution order" in page and len(_nodes(page)) == 5


def test_graph_of_real_runners(tmp_path):
    mx = pytest.importorskip("mxnet")
    from modelport.runtimes.mxnet_runner import MXNetRunner
    from modelport.runtimes.onnxruntime_runner import OnnxRuntimeRunner

    import modelport

    data = mx.sym.var("data")
    a = mx.sym.Convolution(data, kernel=(1, 1), num_filter=2, name="conv")
    parts = mx.sym.split(a, num_outputs=2, axis=1, name="split")
    out = mx.sym.elemwise_add(parts[0], parts[1], name="add")
    args = {"conv_weight": mx.nd.ones((2, 3, 1, 1)), "conv_bias": mx.nd.zeros((2,))}
    mx.model.save_checkpoint(str(tmp_path / "m"), 0, out, args, {})
    runner = MXNetRunner(tmp_path / "m-symbol.json", tmp_path / "m-0000.params")
    nodes = {n: (op, ins) for n, op, ins in graph_of(runner)}
    assert nodes["data"] == ("input", [])
    assert nodes["conv"] == ("Convolution", ["data"])
    assert nodes["split_output0"] == ("SliceChannel", ["conv"]) and nodes["split_output1"][0] == "SliceChannel"
    assert nodes["add"] == ("elemwise_add", ["split_output0", "split_output1"])
    assert set(nodes) - {"data"} == set(runner.order())
    result = modelport.convert(tmp_path / "m-symbol.json", output_dir=tmp_path / "o", inputs={"data": (1, 3, 4, 4)})
    onnx_nodes = {n: (op, ins) for n, op, ins in graph_of(OnnxRuntimeRunner(result.files[0]))}
    assert onnx_nodes["data"] == ("input", []) and onnx_nodes["add"][0] == "Add"
    assert set(onnx_nodes["add"][1]) <= set(onnx_nodes)


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _broken_zoo_conversion(tmp_path):
    """resnet18_v1 (gluon zoo, random weights) and its conversion with noise added to one folded conv."""
    pytest.importorskip("mxnet")
    import onnx
    from onnx import numpy_helper

    import modelport
    from models.test_gluon_zoo import export_zoo

    symbol, params = export_zoo("resnet18_v1", (1, 3, 64, 64), tmp_path)
    result = modelport.convert(symbol, params, output_dir=tmp_path / "onnx", inputs={"data": (1, 3, 64, 64)})
    model = onnx.load(str(result.files[0]))
    inits = {i.name: i for i in model.graph.initializer}
    node = next(n for n in model.graph.node if n.output[0] == "resnetv10_stage2_batchnorm0_fwd")
    w = numpy_helper.to_array(inits[node.input[1]]).copy()
    w += np.random.default_rng(0).normal(0, 0.25 * w.std(), w.shape).astype(np.float32)
    inits[node.input[1]].CopyFrom(numpy_helper.from_array(w, node.input[1]))
    onnx.save(model, str(tmp_path / "broken.onnx"))
    return symbol, tmp_path / "broken.onnx"


def test_zoo_report_renders_in_headless_chromium(tmp_path):
    """`modelport verify --report` on a zoo model with one broken layer: the page renders in a real browser,
    its script runs (data-rendered="ok": both SVGs present), nothing is logged to the console, and a
    screenshot is taken (tmp_path/report.png)."""
    chromium = _chromium()
    if chromium is None:
        pytest.skip("no chromium binary on PATH (Debian: apt-get install -y chromium)")
    symbol, broken = _broken_zoo_conversion(tmp_path)
    out = tmp_path / "report.html"
    proc = subprocess.run([sys.executable, "-m", "modelport", "verify", str(symbol), str(broken), "--input",
                           "data:1,3,64,64", "--report", str(out)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "MXNET_SUBGRAPH_BACKEND": "NONE"})
    assert proc.returncode == 1, proc.stdout + proc.stderr  # it diverges
    assert f"report: {out}" in proc.stdout
    page = out.read_text()
    nodes = _nodes(page)
    assert nodes["resnetv10_stage2_batchnorm0_fwd"][0] in ("suspicious", "bad")  # the broken layer
    assert nodes["resnetv10_stage1_batchnorm0_fwd"] == ("fine", COLOURS["fine"])
    assert nodes["resnetv10_conv0_fwd"][0] == "none"  # folded into its BatchNorm
    assert 'class="node first"' in page

    flags = ["--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", "--enable-logging=stderr",
             "--log-level=0", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([chromium, *flags, "--dump-dom", out.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'data-rendered="ok"' in dom.stdout, re.findall(r"data-rendered=\"[^\"]*\"", dom.stdout)
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    assert console == [], console
    shot = tmp_path / "report.png"
    run = subprocess.run([chromium, *flags, f"--screenshot={shot}", "--window-size=1400,2000", out.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and shot.stat().st_size > 20_000, run.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_console_check_catches_script_errors(tmp_path):
    """The browser check above can fail: a page with a script error shows in stderr and data-rendered."""
    chromium = _chromium()
    if chromium is None:
        pytest.skip("no chromium binary on PATH (Debian: apt-get install -y chromium)")
    report, graph = _report()
    out = write_html(report, tmp_path / "r.html", graph)
    out.write_text(out.read_text().replace("</body>", "<script>undefinedFunction();</script></body>"))
    flags = ["--headless", "--disable-gpu", "--no-sandbox", "--enable-logging=stderr", "--log-level=0",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([chromium, *flags, "--dump-dom", out.as_uri()], capture_output=True, text=True, timeout=120)
    assert "data-rendered=\"error: Uncaught ReferenceError" in dom.stdout
    assert any("Uncaught ReferenceError" in line for line in dom.stderr.splitlines())
