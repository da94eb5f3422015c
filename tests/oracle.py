"""Test support: run a symbol in real MXNet and its conversion in onnxruntime, compare.

``roundtrip(sym, {"data": shape})`` fills random weights (positive variances for
BatchNorm), runs MXNet's executor, converts the same JSON + params with modelport's
importer (no mxnet inside), checks the ONNX model with ``full_check`` and runs it in
onnxruntime. ``assert_match`` applies the project's tolerance.
"""
from __future__ import annotations

import json
import os

import numpy as np

os.environ.setdefault("MXNET_SUBGRAPH_BACKEND", "NONE")

COSINE_MIN = 0.99999
REL_ATOL = 1e-4
ABS_ATOL = 1e-5


def _mx():
    import mxnet as mx
    return mx


def random_params(sym, shapes: dict, seed: int = 0, scale: float = 0.5):
    """Random arg/aux params for every variable that is not an input or a label."""
    mx = _mx()
    rng = np.random.default_rng(seed)
    arg_shapes, _, aux_shapes = sym.infer_shape(**shapes)
    args = {}
    for name, shape in zip(sym.list_arguments(), arg_shapes):
        if name in shapes or name.endswith("_label"):
            continue
        args[name] = mx.nd.array(rng.normal(0, scale, shape).astype(np.float32))
    aux = {}
    for name, shape in zip(sym.list_auxiliary_states(), aux_shapes):
        values = rng.uniform(0.5, 1.5, shape) if name.endswith("var") else rng.normal(0, 0.3, shape)
        aux[name] = mx.nd.array(values.astype(np.float32))
    return args, aux


def run_mxnet(sym, args, aux, feeds: dict) -> list[np.ndarray]:
    mx = _mx()
    full = dict(args)
    full.update({k: mx.nd.array(v) for k, v in feeds.items()})
    shapes = {k: v.shape for k, v in feeds.items()}
    arg_shapes, _, _ = sym.infer_shape_partial(**shapes)
    for name, shape in zip(sym.list_arguments(), arg_shapes):
        if name not in full:  # labels
            full[name] = mx.nd.zeros(shape)
    exe = sym.bind(mx.cpu(), args=full, aux_states=dict(aux), grad_req="null")
    exe.forward(is_train=False)
    return [o.asnumpy() for o in exe.outputs]


def convert_symbol(sym, args, aux, input_shapes: dict | None = None, dynamic: bool = True):
    """Convert through modelport's own reader path (JSON text + numpy params)."""
    import onnx
    import onnx_ir as ir

    from modelport.frontends.mxnet.importer import MXNetImporter
    from modelport.frontends.mxnet.reader import parse_symbol

    graph = parse_symbol(json.loads(sym.tojson()))
    params = {f"arg:{k}": v.asnumpy() for k, v in args.items()}
    params.update({f"aux:{k}": v.asnumpy() for k, v in aux.items()})
    model = MXNetImporter(graph, params, input_shapes=input_shapes, dynamic=dynamic).convert()
    proto = ir.to_proto(model)
    onnx.checker.check_model(proto, full_check=True)
    return proto


def run_onnx(proto, feeds: dict) -> list[np.ndarray]:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(proto.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return sess.run(None, {k: v for k, v in feeds.items()})


_HUGE = float(np.finfo(np.float32).max) / 2


def _special(a: np.ndarray) -> np.ndarray:
    """NaN, +-inf and +-FLT_MAX cells: sentinels (a max pool window wholly in padding gives -FLT_MAX)."""
    return ~np.isfinite(a) | (np.abs(a) >= _HUGE)


def assert_match(ref: np.ndarray, got: np.ndarray, what: str = "output") -> None:
    """Special cells must be identical; the rest within REL_ATOL x max|finite ref| and COSINE_MIN.

    The scale comes from the meaningful cells only: one -FLT_MAX cell must not open the
    tolerance to ~3e34 for every other cell.
    """
    assert ref.shape == got.shape, f"{what}: shape {got.shape} != MXNet {ref.shape}"
    ref64, got64 = ref.astype(np.float64).ravel(), got.astype(np.float64).ravel()
    mask = _special(ref64) | _special(got64)
    if mask.any():
        r, g = ref64[mask], got64[mask]
        differ = int(np.count_nonzero(~((r == g) | (np.isnan(r) & np.isnan(g)))))
        assert differ == 0, f"{what}: {differ} NaN/inf/FLT_MAX cells differ from MXNet's"
        ref64, got64 = ref64[~mask], got64[~mask]
    max_abs = float(np.max(np.abs(ref64 - got64))) if ref64.size else 0.0
    scale = float(np.max(np.abs(ref64))) if ref64.size else 0.0
    assert max_abs <= max(REL_ATOL * scale, ABS_ATOL), f"{what}: max abs error {max_abs:.3g} (max|ref| {scale:.3g})"
    denom = np.linalg.norm(ref64) * np.linalg.norm(got64)
    if denom > 0:
        cosine = float(ref64 @ got64 / denom)
        assert cosine >= COSINE_MIN, f"{what}: cosine {cosine:.7f}"


def roundtrip(sym, shapes: dict, args=None, aux=None, seed: int = 0, feeds: dict | None = None,
              run_shapes: list[dict] | None = None, input_range: tuple = (-2.0, 2.0)):
    """Convert once (shapes as given), run MXNet and ORT at each of ``run_shapes`` and compare.

    Returns the ONNX proto. ``run_shapes`` defaults to ``[shapes]``.
    """
    if args is None:
        args, aux = random_params(sym, shapes, seed)
    aux = aux or {}
    proto = convert_symbol(sym, args, aux, input_shapes=shapes)
    rng = np.random.default_rng(seed + 1)
    for run in run_shapes or [shapes]:
        run_feeds = feeds or {k: rng.uniform(*input_range, v).astype(np.float32) for k, v in run.items()}
        ref = run_mxnet(sym, args, aux, run_feeds)
        got = run_onnx(proto, run_feeds)
        assert len(ref) == len(got), f"{len(got)} outputs, MXNet has {len(ref)}"
        for i, (r, g) in enumerate(zip(ref, got)):
            assert_match(r, g, f"output {i} at {run}")
    return proto


def roundtrip_feeds(sym, runs: list[dict], args=None, aux=None, seed: int = 0, static: bool = False):
    """Like ``roundtrip`` with given input arrays (integer indices, conditions): converts once at the
    first run's shapes (sizes symbolic unless ``static``), compares MXNet and ORT at every run."""
    shapes = {k: v.shape for k, v in runs[0].items()}
    if args is None:
        args, aux = random_params(sym, shapes, seed)
    aux = aux or {}
    proto = convert_symbol(sym, args, aux, input_shapes=shapes, dynamic=not static)
    for run in runs:
        feeds = {k: np.asarray(v, np.float32) for k, v in run.items()}
        ref, got = run_mxnet(sym, args, aux, feeds), run_onnx(proto, feeds)
        assert len(ref) == len(got), f"{len(got)} outputs, MXNet has {len(ref)}"
        for i, (r, g) in enumerate(zip(ref, got)):
            assert_match(r, g, f"output {i} at {({k: v.shape for k, v in feeds.items()})}")
    return proto
