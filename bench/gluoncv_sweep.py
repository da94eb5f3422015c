"""Which GluonCV architectures modelport converts to ONNX and verifies against MXNet (by hand, never in CI).

  PYTHONPATH=/tmp/gluoncv-site .venv/bin/python bench/gluoncv_sweep.py [--arch NAME ...] [--size H[,W]]
        [--mxnet-exporter /tmp/mxexp/bin/python] [--json OUT] [--keep DIR] [--timeout 900]

GluonCV is not a dependency of modelport and never goes into the project's venv or CI: it
lives in a folder of its own that only this sweep puts on PYTHONPATH. It is installed with
the project's pip but without its declared dependencies (its ``opencv-python`` would clash
with the venv's opencv-python-headless; numpy and mxnet must stay the venv's), plus the
few pure or self-contained packages that ``import gluoncv`` needs (Pillow, scipy for
numpy 1.23, yacs, autocfg, pyyaml; tqdm, requests and portalocker come from the venv):

  .venv/bin/python -m pip install --target /tmp/gluoncv-site --no-deps gluoncv==0.10.5.post0
  .venv/bin/python -m pip install --target /tmp/gluoncv-site --no-deps Pillow yacs autocfg pyyaml scipy==1.11.4

MXNet's own exporter (``mx.onnx.export_model``, optional second column) needs onnx < 1.16,
so it runs in another venv given with ``--mxnet-exporter``:

  python3 -m venv /tmp/mxexp && /tmp/mxexp/bin/pip install mxnet==1.9.1 onnx==1.15.0 onnxruntime==1.16.3 "numpy<1.24"

The exporter always writes the installed onnx's newest opset (20 for onnx 1.15), newer than
the opset 12/13 its translations were written for: at opset 18+ it writes invalid Split
nodes, and onnxruntime 1.16 refuses opset 20. The sweep therefore makes it write opset
``EXPORTER_OPSET`` (13) by patching ``onnx.defs.onnx_opset_version`` in its child process.

For every architecture (``--arch``, default: all of ARCHS below) the sweep runs, each in a
child process of its own so that a crash, a hang (``--timeout`` seconds) or an OOM in one
does not stop the others:

1. export: ``gluoncv.model_zoo.get_model(name, pretrained=False, pretrained_base=False,
   root=<temp folder>)`` with sockets disabled in that process (nothing can be downloaded:
   an attempt fails the export, it does not hang), ``initialize(Xavier)``, then one forward
   pass on a random image during which every BatchNorm first sets its running mean and
   variance from the batch statistics of its own input (so features are not constant and
   detection scores do not tie) and gets random gamma/beta; then ``hybridize()``, a forward
   at the architecture's input size and ``export(prefix)``.
2. modelport: ``modelport.convert(..., to="onnx", inputs={"data": shape})`` then
   ``modelport.verify(symbol, onnx, params, shapes=[shape, second])`` (second: another
   spatial size for the fully convolutional nets; detection outputs that modelport knows as
   detections are compared as rows, the rest cell by cell; where the two engines decide a
   near tie or a threshold differently, verify continues MXNet from the candidate's decision
   and its notes say where).
3. MXNet exporter (only with ``--mxnet-exporter``): ``mx.onnx.export_model`` on the same
   files with the same fixed shape, run in onnxruntime and in MXNet on the same random
   input (uniform -1..1); its outputs are compared by modelport's per-tensor rule
   (``modelport.verify.compare.compare_one`` with the default Tolerance, MXNet's float64 run
   as the float32-noise allowance where MXNet can run in float64), cell by cell.

GluonCV's detectors end in ``box_nms`` + slicing into (ids, scores, boxes). For every
output triple shaped (N,K,1), (N,K,1), (N,K,4) the sweep also runs MXNet and the converted
model afresh on verify's inputs (``ShapeRun.feeds``) and compares their final detections
as rows against MXNet's own result, not the continued one
(``modelport.verify.detections.compare_detections`` on MXNet-layout rows, boxes divided by
the input's longer side, class ids exact, score and box within ``ROW_ATOL``), for both
columns. Where rows differ (a two-stage detector's NMS cascades over thousands of
near-equal random-weight boxes), MXNet's own float64 run is compared with its float32 one
the same way: rows differing from MXNet by at most ``NOISE_ROWS`` times as many as MXNet's
own float64 result does are float32 noise, and the note gives both counts.

The table: architecture, input size (HxW; "+HxW": the second size verified), then for each
converter "ok" (converts and verify matches every tensor at every size), "ok-rows"
(verify stops somewhere, but the final detections match MXNet's as rows and every other
output matches), "DIFF" (converts, some output diverges) or "FAIL" (no model, or
onnxruntime refuses it; the note gives the error, for modelport the unsupported operators
with their node counts), the worst output cosine and the worst output max|diff| (cell by
cell; "-" when nothing was compared). Notes: the first divergent tensor and verify's
diagnosis per size, and the detections-as-rows summary.
With ``--json OUT`` every row is written with the full per-output details.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXPORTER_OPSET = 13  # the newest opset MXNet 1.9.1's exporter was written for (its default: onnx's newest)
ROW_ATOL = 1e-4  # detections as rows: score and box (divided by the input's longer side) within this
NOISE_ROWS = 2  # rows differing from MXNet float32: at most this many times as many as MXNet's own float64 run

# name -> (H, W), second (H, W) or None, extra get_model keyword arguments
SEG = lambda s: {"crop_size": s}  # noqa: E731 - segmentation heads resize to crop_size: the input size
ARCHS: dict[str, tuple[tuple[int, int], tuple[int, int] | None, dict]] = {
    # classification
    "resnet18_v1": ((64, 64), (75, 53), {}),
    "mobilenetv2_1.0": ((64, 64), (97, 71), {}),
    "se_resnext50_32x4d": ((64, 64), (80, 72), {}),
    "resnest14": ((64, 64), (96, 80), {}),
    "shufflenet_v1": ((64, 64), (96, 80), {}),
    "shufflenet_v2": ((64, 64), (96, 80), {}),
    "nasnet_4_1056": ((224, 224), None, {}),
    "residualattentionnet56": ((224, 224), None, {}),
    # detection
    "yolo3_mobilenet1.0_coco": ((320, 320), (256, 352), {}),
    "yolo3_darknet53_coco": ((320, 320), (256, 352), {}),
    "ssd_300_mobilenet1.0_lite_coco": ((300, 300), (256, 352), {}),
    "ssd_512_mobilenet1.0_coco": ((512, 512), (384, 448), {}),
    "ssd_300_vgg16_atrous_coco": ((300, 300), (288, 352), {}),  # MXNet itself refuses 256x352 (VGG atrous)
    "center_net_resnet18_v1b_coco": ((256, 256), (224, 320), {}),
    "center_net_mobilenetv3_small_duc_coco": ((256, 256), (224, 320), {}),
    "faster_rcnn_resnet50_v1b_coco": ((320, 320), (256, 352), {}),
    "mask_rcnn_resnet18_v1b_coco": ((320, 320), (256, 352), {}),
    # segmentation
    "fcn_resnet50_voc": ((128, 128), None, SEG(128)),
    "deeplab_resnet50_ade": ((128, 128), None, SEG(128)),
    "psp_resnet50_ade": ((128, 128), None, SEG(128)),
    "fastscnn_citys": ((256, 256), None, SEG(256)),
    "icnet_resnet50_citys": ((256, 256), None, SEG(256)),
    "danet_resnet50_citys": ((128, 128), None, SEG(128)),
}


# ---------------------------------------------------------------- children (each its own process)

def _no_network() -> None:
    """Any connection attempt in this process raises: GluonCV cannot download anything."""
    import socket

    def refuse(*_a, **_k):
        raise OSError("gluoncv_sweep: network disabled (a download was attempted)")

    socket.socket.connect = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse


def _calibrate_batchnorm(net, x, seed: int = 0) -> int:
    """One forward in which each BatchNorm takes its running statistics from its own input. Returns how many did."""
    import mxnet as mx
    import numpy as np

    rng = np.random.default_rng(seed)
    bns = []
    net.apply(lambda b: bns.append(b) if isinstance(b, mx.gluon.nn.BatchNorm) else None)
    done = []
    net.calibrated_stats = set()

    def patch(bn):
        orig = bn.hybrid_forward

        def hybrid_forward(F, data, gamma=None, beta=None, running_mean=None, running_var=None):
            if F is mx.nd:
                axis = bn._kwargs.get("axis", 1) % data.ndim
                red = tuple(i for i in range(data.ndim) if i != axis)
                if data.size:
                    shape = [1] * data.ndim
                    shape[axis] = data.shape[axis]
                    mean = data.mean(axis=red)
                    var = ((data - mean.reshape(shape)) ** 2).mean(axis=red)
                    if data.size // data.shape[axis] <= 1:  # one cell a channel has no variance: unit variance
                        var = mx.nd.ones_like(var)
                    bn.running_mean.set_data(mean)
                    bn.running_var.set_data(var + 1e-3)
                    c = data.shape[axis]
                    bn.gamma.set_data(mx.nd.array(rng.uniform(0.5, 1.5, c)))
                    bn.beta.set_data(mx.nd.array(rng.normal(0, 0.2, c)))
                    gamma, beta = bn.gamma.data(), bn.beta.data()
                    running_mean, running_var = bn.running_mean.data(), bn.running_var.data()
                    done.append(bn.name)
                    net.calibrated_stats.add(bn.running_mean.name)
            return orig(F, data, gamma=gamma, beta=beta, running_mean=running_mean, running_var=running_var)

        bn.hybrid_forward = hybrid_forward

    for bn in bns:
        patch(bn)
    try:
        net(x)
    finally:
        for bn in bns:
            del bn.hybrid_forward  # back to the class's method
    return len(set(done))


def _calibrate_symbol_batchnorms(symbol: Path, params: Path, x, skip: set, seed: int = 1) -> int:
    """The same calibration on the exported graph, for the BatchNorms inside SymbolBlocks (SSD's
    feature extractors) that the block pass could not reach: in graph order, each one's input is
    computed with the parameters calibrated so far and gives its running mean and variance."""
    import mxnet as mx
    import numpy as np

    rng = np.random.default_rng(seed)
    nodes = json.loads(symbol.read_text())["nodes"]
    saved = mx.nd.load(str(params))
    internals = mx.sym.load(str(symbol)).get_internals()
    outputs = set(internals.list_outputs())
    done = 0
    for node in nodes:
        if node["op"] != "BatchNorm":
            continue
        names = [nodes[i]["name"] for i, *_ in node["inputs"]]
        if len(names) < 5 or names[3] in skip or f"aux:{names[3]}" not in saved:
            continue
        src, idx = node["inputs"][0][0], node["inputs"][0][1]
        head = nodes[src]["name"] + ("_output" if f"{nodes[src]['name']}_output" in outputs else f"_output{idx}")
        if head not in outputs:
            continue
        sub = internals[head]
        args = {n: saved[f"arg:{n}"] for n in sub.list_arguments() if f"arg:{n}" in saved}
        args["data"] = x
        aux = {n: saved[f"aux:{n}"] for n in sub.list_auxiliary_states()}
        data = sub.bind(mx.cpu(), args, aux_states=aux).forward(is_train=False)[0].asnumpy().astype(np.float64)
        axis = int(node.get("attrs", {}).get("axis", 1)) % data.ndim
        red = tuple(i for i in range(data.ndim) if i != axis)
        c = data.shape[axis]
        var = data.var(axis=red) if data.size // c > 1 else np.ones(c)  # one cell a channel: unit variance
        saved[f"aux:{names[3]}"] = mx.nd.array(data.mean(axis=red))
        saved[f"aux:{names[4]}"] = mx.nd.array(var + 1e-3)
        if f"arg:{names[1]}" in saved:
            saved[f"arg:{names[1]}"] = mx.nd.array(rng.uniform(0.5, 1.5, c))
        if f"arg:{names[2]}" in saved:
            saved[f"arg:{names[2]}"] = mx.nd.array(rng.normal(0, 0.2, c))
        done += 1
    if done:
        mx.nd.save(str(params), saved)
    return done


def _initializer_class():
    import mxnet as mx

    @mx.init.register
    class _Init(mx.init.Xavier):
        """Xavier (magnitude 2) where it applies; small uniform values for the 1-D parameters
        some GluonCV blocks leave without an initializer of their own."""

        def __init__(self):
            super().__init__(magnitude=2.0)

        def _init_weight(self, name, arr):
            if len(arr.shape) < 2:
                arr[:] = mx.nd.random.uniform(-0.07, 0.07, arr.shape)
            else:
                super()._init_weight(name, arr)

    return _Init


def child_export(arch: str, folder: Path, size: tuple[int, int], extra: dict) -> dict:
    _no_network()
    import mxnet as mx
    import numpy as np
    from gluoncv import model_zoo

    _Init = _initializer_class()
    root = folder / "gluoncv-root"
    root.mkdir(exist_ok=True)
    kwargs = dict(pretrained=False, pretrained_base=False, root=str(root), **extra)
    while True:
        try:
            with mx.name.NameManager():
                net = model_zoo.get_model(arch, **kwargs)
            break
        except TypeError as exc:  # some getters pass pretrained_base or root on to a block that takes neither
            dropped = [k for k in ("pretrained_base", "root") if k in kwargs and repr(k) in str(exc)]
            if not dropped:
                raise
            del kwargs[dropped[0]]
    net.initialize(_Init(), force_reinit=False)
    shape = (1, 3) + tuple(size)
    rng = np.random.default_rng(0)
    x = mx.nd.array(rng.normal(0, 1, shape).astype(np.float32))
    calibrated = _calibrate_batchnorm(net, x)
    net.hybridize()
    out = net(x)
    outs = out if isinstance(out, (list, tuple)) else [out]
    prefix = folder / "model"
    net.export(str(prefix), epoch=0)
    symbol, params = folder / "model-symbol.json", folder / "model-0000.params"
    calibrated += _calibrate_symbol_batchnorms(symbol, params, x, net.calibrated_stats)
    return {"symbol": str(symbol), "params": str(params), "batchnorms": calibrated,
            "outputs": [list(o.shape) for o in outs]}


def _output_row(r) -> dict:
    return {"name": r.name, "ok": bool(r.ok), "cosine": float(r.cosine), "max_abs": float(r.max_abs),
            "ref_shape": list(r.ref_shape), "got_shape": list(r.got_shape), "note": r.note}


def _detection_triples(shapes: list[tuple]) -> list[int]:
    """Where GluonCV's (ids (N,K,1), scores (N,K,1), boxes (N,K,4)) output triples start."""
    return [i for i in range(len(shapes) - 2)
            if len(shapes[i]) == 3 and shapes[i][2] == 1 and tuple(shapes[i + 1]) == tuple(shapes[i])
            and tuple(shapes[i + 2]) == tuple(shapes[i][:2]) + (4,)]


def detection_rows(ref: list, got: list, scale: float) -> list[dict]:
    """GluonCV's box_nms + slice outputs compared as detections (modelport.verify.detections): each
    triple becomes MXNet-layout rows (id, score, box / scale), id -1 rows being padding; class ids
    exact, score and normalized box within ROW_ATOL. Empty when the outputs have no such triple."""
    import numpy as np

    from modelport.verify.detections import compare_detections

    out = []
    for i in _detection_triples([tuple(a.shape) for a in ref]):
        if any(tuple(g.shape) != tuple(r.shape) for g, r in zip(got[i:i + 3], ref[i:i + 3])):
            out.append({"ok": False, "summary": "shapes differ", "share": 0.0})
            continue
        as_rows = [np.concatenate([a[i], a[i + 1], a[i + 2] / scale], axis=-1).astype(np.float64) for a in (ref, got)]
        diff = compare_detections(as_rows[0], as_rows[1], "mxnet", "mxnet", ROW_ATOL)
        total = diff.matched + len(diff.missing) + len(diff.moved) + len(diff.ties)
        out.append({"ok": diff.ok, "summary": diff.summary(), "share": diff.matched / total if total else 1.0,
                    "first": i, "differ": len(diff.missing) + len(diff.extra) + len(diff.moved)})
    return out


def _unsupported_summary(text: str) -> str:
    lines = [ln.strip(" -") for ln in text.splitlines()[1:] if ln.strip()]
    return "; ".join(lines) if lines else text.splitlines()[0]


def _final_detections(symbol: str, params: str, onnx_path, report) -> list[list[dict]]:
    """Per verified size, the converted model's final outputs against MXNet's own (a fresh run of
    both on verify's inputs, not the reference verify continued from a near tie) as detections."""
    from modelport import targets
    from modelport.runtimes.mxnet_runner import MXNetRunner

    reference = MXNetRunner(symbol, params)
    candidate = targets.for_file(Path(onnx_path)).runner(Path(onnx_path))
    heads = reference.head_names()
    absorbed = candidate.absorbed()
    survivor = [absorbed.get(h, (h,))[0] for h in heads]
    out = []
    for run in report.runs:
        if run.comparison is None:
            continue
        ref, got = reference.run(run.feeds, "heads"), candidate.run(run.feeds, survivor)
        scale = float(max(run.shapes["data"][2:]))
        rows = detection_rows([ref[h] for h in heads], [got[s] for s in survivor], scale)
        if rows and not all(t["ok"] for t in rows):  # how far MXNet's own float64 run is, by the same measure
            wide = reference.run_float64({k: v.astype("float64") for k, v in run.feeds.items()}, "heads")
            own = detection_rows([ref[h] for h in heads], [wide[h].astype("float32") for h in heads], scale)
            for t, o in zip(rows, own):
                t.update(f64_differ=o["differ"], f64_summary=o["summary"],
                         noise=t["differ"] <= NOISE_ROWS * o["differ"])
        out.append(rows)
    return out


def child_modelport(symbol: str, params: str, folder: Path, shapes: list[tuple]) -> dict:
    import modelport
    from modelport.errors import UnsupportedOpsError

    t0 = time.perf_counter()
    try:
        result = modelport.convert(symbol, params, to="onnx", output_dir=folder, inputs={"data": shapes[0]})
    except UnsupportedOpsError as exc:
        return {"converts": False, "note": _unsupported_summary(str(exc)), "error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - the row says what broke
        text = str(exc)
        return {"converts": False, "note": f"{type(exc).__name__}: " + (_unsupported_summary(text) if text else ""),
                "error": text}
    row = {"converts": True, "onnx": str(result.files[0]), "convert_s": time.perf_counter() - t0,
           "warnings": list(result.warnings)}
    try:
        report = modelport.verify(symbol, result.files[0], params, shapes=[{"data": s} for s in shapes])
        seen = _final_detections(symbol, params, result.files[0], report)
    except Exception as exc:  # noqa: BLE001
        row.update(matches=False, note=f"verify: {type(exc).__name__}: {str(exc).splitlines()[0]}")
        return row
    runs, notes = [], []
    for run in report.runs:
        c = run.comparison
        size = "x".join(map(str, run.shapes["data"][2:]))
        if c is None:
            runs.append({"shape": list(run.shapes["data"]), "skipped": run.skipped})
            notes.append(f"{size}: skipped ({run.skipped})")
            continue
        entry = {"shape": list(run.shapes["data"]), "ok": bool(c.ok), "outputs": [_output_row(r) for r in c.outputs],
                 "missing": list(c.missing), "tensors": len(c.rows)}
        if c.first_divergence is not None:
            fd = c.first_divergence
            entry["first_divergence"] = _output_row(fd)
            entry["diagnosis"] = c.diagnosis
            entry["cause"] = c.cause
            bad = [r.name for r in c.outputs if not r.ok]
            notes.append(f"{size}: first divergence {fd.name} (cos {fd.cosine:.4f}, max|d| {fd.max_abs:.3g}"
                         f"{', ' + fd.note if fd.note else ''}); outputs off: {', '.join(bad) or 'none'}"
                         f"{'; ' + c.diagnosis.splitlines()[0] if c.diagnosis else ''}")
        runs.append(entry)
    continued = [n for n in report.notes if "continued from" in n]
    if continued:
        row["continued"] = continued
        points = sum(n.count("continued from") for n in continued)
        notes.append(f"verify continued MXNet from {points} decision{'s' if points != 1 else ''} the converted "
                     "model took the other way (near ties, thresholds)")
    outs = [o for r in runs for o in r.get("outputs", [])]
    det = [o["note"] for o in outs if o["note"].startswith("detections")]
    det_runs = [d for d in seen if d]
    if det_runs:
        triples = {i for d in det_runs for t in d for i in range(t.get("first", 0), t.get("first", 0) + 3)}
        others_ok = all(o["ok"] for r in runs for k, o in enumerate(r.get("outputs", [])) if k not in triples)
        row["rows"] = det_runs
        row["rows_ok"] = others_ok and all(t["ok"] or t.get("noise") for d in det_runs for t in d)
        notes.append("as detections: " + " | ".join(
            t["summary"] + (f" (MXNet's own float64 run: {t['f64_differ']} rows differ)" if "f64_differ" in t else "")
            for d in det_runs for t in d))
    row.update(matches=bool(report.ok) and all(o["ok"] for o in outs) and bool(outs), runs=runs,
               cosine=min((o["cosine"] for o in outs), default=None),
               max_abs=max((o["max_abs"] for o in outs), default=None),
               note="; ".join(notes) or (det[0] if det else ""))
    return row


def child_mxexp(symbol: str, params: str, folder: Path, shape: tuple) -> dict:
    """Runs in the exporter's venv (mxnet 1.9.1 + onnx < 1.16): export, run both, save the outputs."""
    import mxnet as mx
    import numpy as np

    onnx_file = folder / "mxnet-export.onnx"
    try:
        import onnx.defs

        onnx.defs.onnx_opset_version = lambda: EXPORTER_OPSET  # export_model takes no opset argument
        mx.onnx.export_model(symbol, params, in_shapes=[shape], in_types=[np.float32],
                             onnx_file_path=str(onnx_file))
    except Exception as exc:  # noqa: BLE001
        text = str(exc).strip() or type(exc).__name__
        return {"converts": False, "note": f"{type(exc).__name__}: {text.splitlines()[0][:300]}"}
    import onnxruntime as ort

    x = np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)
    net = mx.gluon.SymbolBlock.imports(symbol, ["data"], params)
    ref = net(mx.nd.array(x))
    ref = [r.asnumpy() for r in (ref if isinstance(ref, (list, tuple)) else [ref])]
    try:
        sess = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
        got = sess.run(None, {sess.get_inputs()[0].name: x})
    except Exception as exc:  # noqa: BLE001
        return {"converts": True, "matches": False,
                "note": f"onnxruntime: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}"}
    truth = []
    try:  # MXNet's float64 run: a difference no larger than MXNet's own float32 rounding is no divergence
        net64 = mx.gluon.SymbolBlock.imports(symbol, ["data"], params)
        net64.cast("float64")
        t = net64(mx.nd.array(x, dtype="float64"))
        truth = [a.asnumpy() for a in (t if isinstance(t, (list, tuple)) else [t])]
    except Exception:  # noqa: BLE001 - some operators have no float64 kernel: compare without
        truth = []
    npz = folder / "mxnet-export-outputs.npz"
    np.savez(npz, **{f"ref{i}": r for i, r in enumerate(ref)}, **{f"got{i}": g for i, g in enumerate(got)},
             **{f"truth{i}": t for i, t in enumerate(truth)})
    return {"converts": True, "onnx": str(onnx_file), "npz": str(npz),
            "names": [o.name for o in sess.get_outputs()]}


def compare_exporter(row: dict, size) -> None:
    """Fill matches/cosine/max_abs of the exporter's row from its saved outputs (modelport's per-tensor rule)."""
    import numpy as np

    from modelport.verify.compare import compare_one
    from modelport.verify.tolerance import Tolerance

    data = np.load(row.pop("npz"))
    refs = sorted(k for k in data.files if k.startswith("ref"))
    gots = sorted(k for k in data.files if k.startswith("got"))
    names = row.get("names", [])
    outs = []
    if len(refs) != len(gots):
        row.update(matches=False, note=f"{len(gots)} outputs, MXNet has {len(refs)}")
        return
    for i, (rk, gk) in enumerate(zip(sorted(refs, key=lambda k: int(k[3:])), sorted(gots, key=lambda k: int(k[3:])))):
        truth = data[f"truth{rk[3:]}"] if f"truth{rk[3:]}" in data.files else None
        r = compare_one(names[i] if i < len(names) else gk, data[rk], data[gk], Tolerance(), is_output=True,
                        truth=truth)
        outs.append(_output_row(r))
    bad = [f"{o['name']} (cos {o['cosine']:.4f}, max|d| {o['max_abs']:.3g}{', ' + o['note'] if o['note'] else ''})"
           for o in outs if not o["ok"]]
    notes = [("outputs off: " + "; ".join(bad))] if bad else []
    ordered = lambda ks: sorted(ks, key=lambda k: int(k[3:]))  # noqa: E731
    dets = detection_rows([data[k] for k in ordered(refs)], [data[k] for k in ordered(gots)], float(max(size)))
    if dets:
        triples = {i for t in dets for i in range(t["first"], t["first"] + 3) if "first" in t}
        row["rows"] = [dets]
        row["rows_ok"] = all(t["ok"] for t in dets) and all(o["ok"] for k, o in enumerate(outs) if k not in triples)
        notes.append("as detections: " + " | ".join(t["summary"] for t in dets))
    row.update(matches=not bad, outputs=outs, cosine=min((o["cosine"] for o in outs), default=None),
               max_abs=max((o["max_abs"] for o in outs), default=None), note="; ".join(notes))


# ---------------------------------------------------------------- parent

def run_child(python: str, args: list[str], timeout: float, env: dict | None = None) -> dict:
    """Run this file as a child; its last stdout line is a JSON object. Failures become {"error": ...}."""
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([python, str(Path(__file__).resolve()), "--child", *args], capture_output=True,
                              text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s", "seconds": time.perf_counter() - t0}
    seconds = time.perf_counter() - t0
    lines = proc.stdout.strip().splitlines()
    if proc.returncode == 0 and lines:
        try:
            out = json.loads(lines[-1])
            out["seconds"] = seconds
            return out
        except json.JSONDecodeError:
            pass
    tail = [ln for ln in (proc.stdout + proc.stderr).strip().splitlines() if ln.strip()]
    last = tail[-1] if tail else ""
    reason = f"exit {proc.returncode}" + (" (killed: out of memory?)" if proc.returncode in (-9, 137) else "")
    return {"error": f"{reason}: {last[:300]}", "tail": tail[-15:], "seconds": seconds}


def fmt_size(size, second) -> str:
    s = f"{size[0]}x{size[1]}"
    return s + (f"+{second[0]}x{second[1]}" if second else "")


def verdict(col: dict | None) -> tuple[str, str, str, str]:
    if col is None:
        return "-", "", "", ""
    if "error" in col and "converts" not in col:
        return "FAIL", "", "", col["error"]
    if not col.get("converts"):
        return "FAIL", "", "", col.get("note", "")
    cos = "" if col.get("cosine") is None else f"{col['cosine']:.5f}"
    mab = "" if col.get("max_abs") is None else f"{col['max_abs']:.2e}"
    state = "ok" if col.get("matches") else "ok-rows" if col.get("rows_ok") else "DIFF"
    return state, cos, mab, col.get("note", "")


def print_table(rows: list[dict], exporter: bool, width: int = 110) -> None:
    head = f"{'architecture':<38}{'input':<17}{'modelport':<10}{'cosine':>9}{'max|d|':>10}"
    if exporter:
        head += f"   {'mx.onnx':<8}{'cosine':>9}{'max|d|':>10}"
    print(head)
    print("-" * len(head))
    for row in rows:
        mp = verdict(row.get("modelport"))
        line = f"{row['arch']:<38}{row['input']:<17}{mp[0]:<10}{mp[1]:>9}{mp[2]:>10}"
        ex = verdict(row.get("mxnet_exporter")) if exporter else None
        if exporter:
            line += f"   {ex[0]:<8}{ex[1]:>9}{ex[2]:>10}"
        print(line)
        if row.get("export_error"):
            print(f"    export failed: {row['export_error']}"[:width * 3])
        if mp[3]:
            print(f"    modelport: {mp[3]}"[:width * 4])
        if exporter and ex[3]:
            print(f"    mx.onnx:   {ex[3]}"[:width * 4])
    print()


def parse_size(text: str) -> tuple[int, int]:
    parts = [int(p) for p in text.replace("x", ",").split(",") if p]
    return (parts[0], parts[-1])


def child_main(argv: list[str]) -> None:
    kind, rest = argv[0], argv[1:]
    if kind == "export":
        arch, folder, size, extra = rest[0], Path(rest[1]), json.loads(rest[2]), json.loads(rest[3])
        out = child_export(arch, folder, tuple(size), extra)
    elif kind == "modelport":
        out = child_modelport(rest[0], rest[1], Path(rest[2]), [tuple(s) for s in json.loads(rest[3])])
    elif kind == "mxexp":
        out = child_mxexp(rest[0], rest[1], Path(rest[2]), tuple(json.loads(rest[3])))
    else:
        raise SystemExit(f"unknown child {kind!r}")
    print()
    print(json.dumps(out))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", nargs="*", default=list(ARCHS), help="GluonCV model zoo names (default: all listed)")
    ap.add_argument("--size", help="H[,W]: override every architecture's input size (no second size then)")
    ap.add_argument("--mxnet-exporter", metavar="VENV_PYTHON",
                    help="python of a venv with mxnet 1.9.1 + onnx<1.16 + onnxruntime: "
                         "adds mx.onnx.export_model's column")
    ap.add_argument("--json", type=Path, help="write the rows (with per-output details) to this file")
    ap.add_argument("--keep", type=Path, help="keep exported and converted models under this folder")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per child process (default 900)")
    args = ap.parse_args()
    unknown = [a for a in args.arch if a not in ARCHS]
    env = dict(os.environ)
    exporter_env = {k: v for k, v in env.items() if k != "PYTHONPATH"}

    rows = []
    with tempfile.TemporaryDirectory(prefix="gluoncv-sweep-") as scratch:
        base = args.keep or Path(scratch)
        base.mkdir(parents=True, exist_ok=True)
        for arch in args.arch:
            size, second, extra = ARCHS.get(arch, ((224, 224), None, {}))
            if args.size:
                size, second = parse_size(args.size), None
                if "crop_size" in extra:
                    extra = {**extra, "crop_size": size[0]}
            folder = base / arch
            folder.mkdir(parents=True, exist_ok=True)
            row = {"arch": arch, "input": fmt_size(size, second), "size": list(size),
                   "second": list(second) if second else None, "known": arch not in unknown}
            rows.append(row)
            print(f"# {arch} {row['input']}: export ...", flush=True)
            exp = run_child(sys.executable, ["export", arch, str(folder), json.dumps(size), json.dumps(extra)],
                            args.timeout, {**env, "MXNET_HOME": str(base / "mxnet-home")})
            row["export"] = exp
            if "error" in exp:
                row["export_error"] = exp["error"]
                row["modelport"] = {"error": "not exported"}
                if args.mxnet_exporter:
                    row["mxnet_exporter"] = {"error": "not exported"}
                print(f"#   export failed: {exp['error']}", flush=True)
                continue
            shapes = [(1, 3) + tuple(size)] + ([(1, 3) + tuple(second)] if second else [])
            print(f"#   exported in {exp['seconds']:.0f} s ({exp['batchnorms']} BatchNorms calibrated, "
                  f"outputs {exp['outputs']}); modelport ...", flush=True)
            mp = run_child(sys.executable, ["modelport", exp["symbol"], exp["params"], str(folder / "modelport"),
                                            json.dumps(shapes)], args.timeout, env)
            row["modelport"] = mp
            print(f"#   modelport: {verdict(mp)[0]} in {mp['seconds']:.0f} s", flush=True)
            if args.mxnet_exporter:
                ex = run_child(args.mxnet_exporter, ["mxexp", exp["symbol"], exp["params"], str(folder),
                                                     json.dumps(shapes[0])], args.timeout, exporter_env)
                if ex.get("npz"):
                    compare_exporter(ex, size)
                row["mxnet_exporter"] = ex
                print(f"#   mx.onnx.export_model: {verdict(ex)[0]} in {ex['seconds']:.0f} s", flush=True)
            if args.json:  # after every architecture, so an interrupted sweep keeps what it did
                args.json.write_text(json.dumps(rows, indent=1))
    print()
    print_table(rows, bool(args.mxnet_exporter))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
        print(f"rows written to {args.json}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(sys.argv[2:])
    else:
        sys.exit(main())
