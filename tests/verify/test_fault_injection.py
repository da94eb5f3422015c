"""Fault injection: break correct ONNX conversions in known ways; verify must name the cause at the tensor.

Each model is converted once (``optimize=False``: BatchNorm, Conv and preprocessing stay
separate, inspectable nodes). Its source is made to exercise the pitfalls first:
preprocessing ((x - 127.5) * 0.0078125) is composed in front where the graph has none,
two BatchNorms get ``fix_gamma=True`` with stored gamma 0 (one with beta 0, one
not). The correct conversion must verify clean (no false alarm). Then every fault
kind that applies to the model is injected into a copy of the .onnx (proto edits),
``modelport.verify`` runs it against the source, and the first divergence must be the
injected node's tensor and ``Comparison.cause`` exactly the injected cause.

Run with ``-s`` to see the hit-rate table (kind x model); the last test prints it too.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import mxnet as mx
import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

import modelport
from modelport.runtimes.onnxruntime_runner import OnnxRuntimeRunner
from modelport.verify.diagnose.ops import pool_size
from modelport.verify.diagnose.preprocessing import ARITH

# (model id, convert shape, verify shape: a size where ceil and floor pooling differ where the model pools)
MODELS = [
    ("mobilefacenet", (1, 3, 112, 112), (1, 3, 112, 112)),
    ("mtcnn_det1", (1, 3, 12, 12), (1, 3, 13, 13)),
    ("mtcnn_det2", (1, 3, 24, 24), (1, 3, 24, 24)),
    ("mtcnn_det3", (1, 3, 48, 48), (1, 3, 48, 48)),
    ("mnist", (1, 1, 28, 28), (1, 1, 28, 28)),
    ("resnet18_v1", (1, 3, 64, 64), (1, 3, 64, 64)),
    ("mobilenetv2_0.25", (1, 3, 64, 64), (1, 3, 64, 64)),
    ("squeezenet1.1", (1, 3, 227, 227), (1, 3, 227, 227)),
    ("inceptionv3", (1, 3, 299, 299), (1, 3, 299, 299)),
    ("toy", (1, 3, 16, 16), (1, 3, 16, 16)),
]
SHARED = {"mobilefacenet": ("mobilefacenet_y1/model-symbol.json", "mobilefacenet_y1/model-0000.params"),
          "mtcnn_det1": ("mtcnn_mxnet/det1-symbol.json", "mtcnn_mxnet/det1-0001.params"),
          "mtcnn_det2": ("mtcnn_mxnet/det2-symbol.json", "mtcnn_mxnet/det2-0001.params"),
          "mtcnn_det3": ("mtcnn_mxnet/det3-symbol.json", "mtcnn_mxnet/det3-0001.params"),
          "mnist": ("mnist_cnn_mentalblood/mnist-symbol.json", "mnist_cnn_mentalblood/mnist-0035.params")}

# kind -> the cause the diagnosis must name
KINDS = {
    "eps other convention": "bn_eps",
    "gamma copied, fix_gamma (beta != 0)": "bn_fix_gamma",
    "gamma zero, fix_gamma (beta = 0)": "bn_fix_gamma",
    "channel order reversed (1st conv)": "channel_order",
    "conv weights scaled (no bias)": "weights_scaled",
    "weights scaled (with bias)": "weights_scaled",
    "PReLU/LeakyReLU slope changed": "act_slope",
    "softmax axis changed": "softmax_axis",
    "avg-pool count_include_pad flipped": "pool_count_include_pad",
    "preprocessing applied twice": "preprocessing_twice",
    "preprocessing missing": "preprocessing_missing",
    "pooling ceil/floor flipped": "pool_ceil_floor",
    "flatten order before FC": "layout_flatten",
    "some channels' weights zeroed": "weights_channels",
    "some channels' weights perturbed": "weights_channels",
    "gamma copied, small stored (~3e-4)": "bn_fix_gamma",
}

RESULTS: dict[tuple[str, str], str] = {}  # (kind, model) -> "hit" | "wrong: ..." | "missed: ..."
FALSE_ALARMS: dict[str, bool] = {}


# -- sources --------------------------------------------------------------------------
def _toy(folder):
    """Ops the other models lack: LeakyReLU with a slope, padded average pooling, softmax, FC on 4-D input."""
    data = mx.sym.var("data")
    x = mx.sym.Convolution(data, kernel=(3, 3), num_filter=8, pad=(1, 1), name="conv1")
    x = mx.sym.BatchNorm(x, eps=2e-5, name="bn1")
    x = mx.sym.LeakyReLU(x, act_type="leaky", slope=0.1, name="leaky1")
    x = mx.sym.Pooling(x, kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="avg", name="avgpool1")
    x = mx.sym.Convolution(x, kernel=(3, 3), num_filter=8, pad=(1, 1), no_bias=True, name="conv2")
    x = mx.sym.BatchNorm(x, eps=1e-3, fix_gamma=False, name="bn2")
    x = mx.sym.Activation(x, act_type="relu", name="relu2")
    x = mx.sym.Convolution(x, kernel=(1, 1), num_filter=8, no_bias=True, name="conv3")
    x = mx.sym.BatchNorm(x, eps=1e-3, fix_gamma=False, name="bn3")
    x = mx.sym.Pooling(x, kernel=(2, 2), stride=(2, 2), pool_type="max", pooling_convention="full", name="pool2")
    x = mx.sym.FullyConnected(mx.sym.Flatten(x, name="flat"), num_hidden=10, name="fc")
    sym = mx.sym.softmax(x, axis=-1, name="prob")
    from oracle import random_params
    args, aux = random_params(sym, {"data": (1, 3, 16, 16)}, seed=4)
    prefix = str(folder / "toy")
    mx.model.save_checkpoint(prefix, 0, sym, args, aux)
    return folder / "toy-symbol.json", folder / "toy-0000.params"


def _source(model_id, shape, folder, shared_models):
    if model_id in SHARED:
        sym, params = (shared_models / p for p in SHARED[model_id])
        return sym, params
    if model_id == "toy":
        return _toy(folder)
    from models.test_gluon_zoo import export_zoo
    with mx.name.NameManager():  # a fresh counter: names stay resnetv10_..., and other tests' names too
        return export_zoo(model_id, shape, folder)


def _prepare_source(symbol, params, folder):
    """Preprocessing in front where there is none; two BatchNorms made fix_gamma=True with stored gamma 0."""
    sym = mx.sym.load(str(symbol))
    nodes = json.loads(sym.tojson())["nodes"]
    first_consumers = [n for n in nodes if any(nodes[i[0]]["name"] == "data" for i in n["inputs"])]
    if not any(n["op"] in ("_minus_scalar", "_mul_scalar", "_plus_scalar", "_div_scalar") for n in first_consumers):
        with mx.name.NameManager():
            data = mx.sym.var("data")
            sym = sym(data=(data - 127.5) * 0.0078125)
    graph = json.loads(sym.tojson())
    loaded = mx.nd.load(str(params))
    bns = [n for n in graph["nodes"] if n["op"] == "BatchNorm"
           and graph["nodes"][n["inputs"][0][0]]["op"] == "Convolution"]
    info = {"gamma_beta": None, "gamma_nobeta": None, "fix_gamma": set()}
    if len(bns) >= 3:
        for key, bn in (("gamma_beta", bns[1]), ("gamma_nobeta", bns[2])):
            name = bn["name"]
            gamma, beta_name = (f"arg:{graph['nodes'][bn['inputs'][i][0]]['name']}" for i in (1, 2))
            bn.setdefault("attrs", {})["fix_gamma"] = "True"
            loaded[gamma] = mx.nd.zeros(loaded[gamma].shape)  # what multi-GPU checkpoints store
            beta = loaded[beta_name].asnumpy()
            if key == "gamma_nobeta":
                beta = np.zeros_like(beta)
            elif not np.all(np.abs(beta) > 1e-3):
                rng = np.random.default_rng(1)
                beta = rng.uniform(0.2, 0.6, beta.shape) * rng.choice([-1.0, 1.0], beta.shape)
            loaded[beta_name] = mx.nd.array(beta.astype(np.float32))
            info[key] = name
            info["fix_gamma"].add(name)
    out_sym, out_params = folder / "src-symbol.json", folder / "src-0000.params"
    out_sym.write_text(json.dumps(graph))
    mx.nd.save(str(out_params), loaded)
    return out_sym, out_params, info


@dataclass
class Prepared:
    model_id: str
    symbol: object
    params: object
    onnx_path: object
    verify_shape: tuple
    info: dict
    shapes: dict = field(default_factory=dict)  # tensor -> shape at the verify shape (the correct conversion)


_CACHE: dict[str, Prepared] = {}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, shared_models):
    def get(model_id) -> Prepared:
        if model_id not in _CACHE:
            _, shape, verify_shape = next(m for m in MODELS if m[0] == model_id)
            folder = tmp_path_factory.mktemp(model_id.replace(".", "_"))
            symbol, params = _source(model_id, shape, folder, shared_models)
            symbol, params, info = _prepare_source(symbol, params, folder)
            result = modelport.convert(symbol, params, output_dir=folder / "onnx", inputs={"data": shape},
                                       optimize=False)
            runner = OnnxRuntimeRunner(result.files[0])
            x = np.random.default_rng(0).uniform(0, 255, verify_shape).astype(np.float32)
            shapes = {k: v.shape for k, v in runner.run({"data": x}).items()}
            shapes["data"] = verify_shape
            _CACHE[model_id] = Prepared(model_id, symbol, params, result.files[0], verify_shape, info, shapes)
        return _CACHE[model_id]
    yield get
    _CACHE.clear()


# -- fault injectors: (proto, prepared) -> the tensor the divergence must start at, or None (not applicable)
def _init(proto, name):
    return next((i for i in proto.graph.initializer if i.name == name), None)


def _set_init(proto, name, value):
    init = _init(proto, name)
    init.CopyFrom(numpy_helper.from_array(np.asarray(value, numpy_helper.to_array(init).dtype), name))


def _attr(node, name, value):
    for a in node.attribute:
        if a.name == name:
            node.attribute.remove(a)
            break
    node.attribute.append(helper.make_attribute(name, value))


def _nodes(proto, op_type):
    return [n for n in proto.graph.node if n.op_type == op_type]


def _producer(proto, tensor):
    return next((n for n in proto.graph.node if tensor in n.output), None)


def _bn_by_source(proto, name):
    return next((n for n in _nodes(proto, "BatchNormalization") if n.output[0] == name), None)


def inject_eps(proto, prep):
    bns = [n for n in _nodes(proto, "BatchNormalization") if n.output[0] not in prep.info["fix_gamma"]]
    if not bns:
        return None
    node = min(bns, key=lambda n: float(numpy_helper.to_array(_init(proto, n.input[4])).min()))
    eps = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-5)
    _attr(node, "epsilon", 1e-5 if abs(eps - 1e-3) < 1e-6 else 1e-3)
    return node.output[0]


def _inject_gamma(key):
    def inject(proto, prep):
        name = prep.info[key]
        node = _bn_by_source(proto, name) if name else None
        if node is None:
            return None
        _set_init(proto, node.input[1], np.zeros(numpy_helper.to_array(_init(proto, node.input[1])).shape))
        return node.output[0]  # what a converter copying the stored gamma (0) writes
    return inject


def _first_conv(proto):
    return next((n for n in _nodes(proto, "Conv")), None)


def inject_channel_order(proto, prep):
    node = _first_conv(proto)
    w = numpy_helper.to_array(_init(proto, node.input[1]))
    if w.shape[1] != 3:
        return None
    _set_init(proto, node.input[1], w[:, ::-1])
    return node.output[0]


def _scale_weights(with_bias: bool):
    def inject(proto, prep):
        layers = [n for n in proto.graph.node if n.op_type in ("Conv", "Gemm")
                  and (len(n.input) > 2 and bool(n.input[2])) == with_bias]
        if not layers:
            return None
        node = layers[min(1, len(layers) - 1)]
        _set_init(proto, node.input[1], numpy_helper.to_array(_init(proto, node.input[1])) * 1.25)
        return node.output[0]
    return inject


def inject_slope(proto, prep):
    for node in proto.graph.node:
        if node.op_type == "PRelu" and _init(proto, node.input[1]) is not None:
            slope = numpy_helper.to_array(_init(proto, node.input[1]))
            _set_init(proto, node.input[1], slope * 0.5 + 0.1)
            return node.output[0]
        if node.op_type == "LeakyRelu":
            alpha = next((a.f for a in node.attribute if a.name == "alpha"), 0.01)
            _attr(node, "alpha", float(alpha) * 2 + 0.05)
            return node.output[0]
    return None


def inject_softmax_axis(proto, prep):
    node = next(iter(_nodes(proto, "Softmax")), None)
    if node is None:
        return None
    rank = len(prep.shapes[node.output[0]])
    axis = next((a.i for a in node.attribute if a.name == "axis"), -1) % rank
    _attr(node, "axis", rank - 1 if axis != rank - 1 else 0)
    return node.output[0]


def inject_count_include_pad(proto, prep):
    for node in _nodes(proto, "AveragePool"):
        pads = next((list(a.ints) for a in node.attribute if a.name == "pads"), [])
        if any(pads):
            cip = next((a.i for a in node.attribute if a.name == "count_include_pad"), 0)
            _attr(node, "count_include_pad", 1 - cip)
            return node.output[0]
    return None


def _preprocessing_chain(proto):
    chain, cur = [], "data"
    while True:
        consumers = [n for n in proto.graph.node if cur in n.input]
        if len(consumers) != 1 or consumers[0].op_type not in ARITH:
            return chain, consumers
        chain.append(consumers[0])
        cur = consumers[0].output[0]


def inject_twice(proto, prep):
    chain, _ = _preprocessing_chain(proto)
    if not chain:
        return None
    copies, cur, prev = [], "data", "data"
    for node in chain:
        copy = onnx.NodeProto()
        copy.CopyFrom(node)
        copy.name = f"{node.name}_again"
        copy.input[list(copy.input).index(prev)] = cur
        copy.output[0] = f"{node.output[0]}_again"
        prev, cur = node.output[0], copy.output[0]
        copies.append(copy)
    # the copies feed on data, the model's own preprocessing on the copies: applied twice
    chain[0].input[list(chain[0].input).index("data")] = cur
    first = list(proto.graph.node).index(chain[0])
    for i, copy in enumerate(copies):
        proto.graph.node.insert(first + i, copy)
    return chain[0].output[0]


def inject_missing(proto, prep):
    chain, consumers = _preprocessing_chain(proto)
    if not chain:
        return None
    last = chain[-1].output[0]
    for node in consumers:
        node.input[list(node.input).index(last)] = "data"
    for node in chain:
        proto.graph.node.remove(node)
    return consumers[0].output[0]


def inject_ceil_floor(proto, prep):
    for node in proto.graph.node:
        if node.op_type not in ("MaxPool", "AveragePool"):
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        k, s = attrs["kernel_shape"], attrs.get("strides", [1, 1])
        pads = attrs.get("pads", [0, 0, 0, 0])
        ceil = attrs.get("ceil_mode", 0)
        size = prep.shapes[node.input[0]][2:]
        if any(pool_size(size[i], k[i], s[i], pads[i], pads[i + 2], ceil)
               != pool_size(size[i], k[i], s[i], pads[i], pads[i + 2], 1 - ceil) for i in range(2)):
            _attr(node, "ceil_mode", 1 - ceil)
            if OnnxRuntimeRunner(proto).accepts({"data": prep.verify_shape}):
                return node.output[0]
            _attr(node, "ceil_mode", ceil)  # a later layer (a fully connected one) fixes the size: not here
    return None


def inject_flatten_order(proto, prep):
    for node in _nodes(proto, "Gemm"):
        flat = _producer(proto, node.input[0])
        if flat is None or flat.op_type != "Flatten":
            continue
        shape = prep.shapes[flat.input[0]]
        if len(shape) != 4 or shape[2] * shape[3] == 1:
            continue
        w = numpy_helper.to_array(_init(proto, node.input[1]))  # (out, C*H*W), transB=1
        _set_init(proto, node.input[1], w.reshape(w.shape[0], *shape[1:]).transpose(0, 2, 3, 1).reshape(w.shape))
        return node.output[0]
    return None


def inject_channels_zeroed(proto, prep):
    convs = [n for n in _nodes(proto, "Conv")]
    node = convs[min(2, len(convs) - 1)]
    w = numpy_helper.to_array(_init(proto, node.input[1])).copy()
    w[[1, 3]] = 0
    _set_init(proto, node.input[1], w)
    return node.output[0]


def inject_channels_perturbed(proto, prep):
    convs = [n for n in _nodes(proto, "Conv")]
    node = convs[min(1, len(convs) - 1)]
    w = numpy_helper.to_array(_init(proto, node.input[1])).copy()
    w[[0, 2]] += np.random.default_rng(3).normal(0, float(w.std()), w[[0, 2]].shape).astype(w.dtype)
    _set_init(proto, node.input[1], w)
    return node.output[0]


def inject_small_gamma(proto, prep):
    """A checkpoint saved after a short epoch stores gamma ~ 0.0003 under fix_gamma (PITFALL 3)."""
    node = _bn_by_source(proto, prep.info["gamma_beta"]) if prep.info["gamma_beta"] else None
    if node is None:
        return None
    shape = numpy_helper.to_array(_init(proto, node.input[1])).shape
    _set_init(proto, node.input[1], np.random.default_rng(4).uniform(1e-4, 5e-4, shape))
    return node.output[0]


INJECT = {
    "eps other convention": inject_eps,
    "gamma copied, fix_gamma (beta != 0)": _inject_gamma("gamma_beta"),
    "gamma zero, fix_gamma (beta = 0)": _inject_gamma("gamma_nobeta"),
    "channel order reversed (1st conv)": inject_channel_order,
    "conv weights scaled (no bias)": _scale_weights(False),
    "weights scaled (with bias)": _scale_weights(True),
    "PReLU/LeakyReLU slope changed": inject_slope,
    "softmax axis changed": inject_softmax_axis,
    "avg-pool count_include_pad flipped": inject_count_include_pad,
    "preprocessing applied twice": inject_twice,
    "preprocessing missing": inject_missing,
    "pooling ceil/floor flipped": inject_ceil_floor,
    "flatten order before FC": inject_flatten_order,
    "some channels' weights zeroed": inject_channels_zeroed,
    "some channels' weights perturbed": inject_channels_perturbed,
    "gamma copied, small stored (~3e-4)": inject_small_gamma,
}
assert INJECT.keys() == KINDS.keys()

MODEL_IDS = [m[0] for m in MODELS]


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_correct_conversion_raises_no_alarm(prepared, model_id):
    prep = prepared(model_id)
    report = modelport.verify(prep.symbol, prep.onnx_path, prep.params, shapes=[{"data": prep.verify_shape}])
    cmp = report.runs[0].comparison
    FALSE_ALARMS[model_id] = not report.ok
    assert report.ok, f"false alarm at {cmp.first_divergence and cmp.first_divergence.name}: {cmp.diagnosis}"


def _inject_and_verify(prep, kind, folder) -> str:
    """Inject ``kind`` into a copy of the conversion, verify it; the case's result for the table."""
    proto = onnx.load(str(prep.onnx_path))
    expected = INJECT[kind](proto, prep)
    if expected is None:
        return "n/a"
    broken = folder / "broken.onnx"
    onnx.save(proto, str(broken))
    report = modelport.verify(prep.symbol, broken, prep.params, shapes=[{"data": prep.verify_shape}])
    cmp = report.runs[0].comparison
    first = cmp.first_divergence
    if first is None:
        return "missed: not detected"
    if first.name != expected:
        return f"missed: first divergence at {first.name}, injected at {expected}"
    if cmp.cause != KINDS[kind]:
        return f"{'unknown' if cmp.cause == 'unknown' else 'WRONG'}: {cmp.cause}: {cmp.diagnosis}"
    if not ("reproduces the reference" in cmp.diagnosis or cmp.cause == "weights_channels"):
        return f"no evidence: {cmp.diagnosis}"
    return "hit"


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_injected_faults_are_found_and_named(prepared, model_id, tmp_path):
    """Every fault kind this model has a place for: found at the injected tensor, exactly its cause named."""
    prep = prepared(model_id)
    for kind in KINDS:
        folder = tmp_path / KINDS[kind]
        folder.mkdir(exist_ok=True)
        RESULTS[(kind, model_id)] = _inject_and_verify(prep, kind, folder)
    mine = {kind: RESULTS[(kind, model_id)] for kind in KINDS}
    assert any(r != "n/a" for r in mine.values()), f"{model_id} has a place for no fault kind"
    misses = {kind: r for kind, r in mine.items() if r not in ("hit", "n/a")}
    assert not misses, misses


# -- faults no hypothesis covers: the answer must be "unknown" (with evidence), never a confident cause
def outside_noise(proto, prep):
    """Every output channel of a convolution gets different, unrelated weights."""
    node = _nodes(proto, "Conv")[1]
    w = numpy_helper.to_array(_init(proto, node.input[1]))
    _set_init(proto, node.input[1], w + np.random.default_rng(5).normal(0, float(np.std(w)), w.shape))
    return node.output[0]


def outside_bn_mean(proto, prep):
    """Every channel's moving mean shifted (no eps and no gamma explains it)."""
    node = next(n for n in _nodes(proto, "BatchNormalization") if n.output[0] not in prep.info["fix_gamma"])
    mean = numpy_helper.to_array(_init(proto, node.input[3]))
    _set_init(proto, node.input[3], mean + np.random.default_rng(6).uniform(0.3, 0.6, mean.shape))
    return node.output[0]


def outside_eps_and_gamma(proto, prep):
    """Two faults in one node (stored gamma copied and eps changed): neither hypothesis alone reproduces."""
    node = _bn_by_source(proto, prep.info["gamma_beta"])
    _set_init(proto, node.input[1], np.full(numpy_helper.to_array(_init(proto, node.input[1])).shape, 0.5))
    _attr(node, "epsilon", 0.5)
    return node.output[0]


OUTSIDE = {"noise in all weights": outside_noise, "BN mean shifted": outside_bn_mean,
           "eps and gamma at once": outside_eps_and_gamma}


@pytest.mark.parametrize("fault", list(OUTSIDE))
@pytest.mark.parametrize("model_id", ["resnet18_v1", "toy"])
def test_fault_beyond_the_hypotheses_is_unknown_not_a_wrong_cause(prepared, model_id, fault, tmp_path):
    prep = prepared(model_id)
    proto = onnx.load(str(prep.onnx_path))
    expected = OUTSIDE[fault](proto, prep)
    onnx.save(proto, str(tmp_path / "broken.onnx"))
    report = modelport.verify(prep.symbol, tmp_path / "broken.onnx", prep.params, shapes=[{"data": prep.verify_shape}])
    cmp = report.runs[0].comparison
    assert cmp.first_divergence is not None and cmp.first_divergence.name == expected
    assert cmp.cause == "unknown", cmp.diagnosis
    assert "no hypothesis reproduces" in cmp.diagnosis and "closest" in cmp.diagnosis, cmp.diagnosis
    assert any("inputs" in e or "input '" in e for e in cmp.evidence) and any("leaves" in e for e in cmp.evidence)


def _table() -> str:
    ran = [m for m in MODEL_IDS if any((k, m) in RESULTS for k in KINDS)]
    short = {m: m.replace("mobilenetv2_0.25", "mnv2").replace("mobilefacenet", "mfn").replace("squeezenet1.1", "sqz1.1")
             .replace("resnet18_v1", "r18").replace("inceptionv3", "incv3").replace("mtcnn_", "") for m in ran}
    width = max(len(k) for k in KINDS)
    lines = [f"{'kind':<{width}} | " + " | ".join(f"{short[m]:^6}" for m in ran) + " | hit/cases"]
    total_hit = total = 0
    for kind in KINDS:
        cells, hit, cases = [], 0, 0
        for m in ran:
            r = RESULTS.get((kind, m), "")
            cell = {"hit": "ok", "n/a": "-", "": "?"}.get(r, "WRONG" if r.startswith("WRONG") else
                                                          "unk" if r.startswith("unknown") else "miss")
            cells.append(f"{cell:^6}")
            if r and r != "n/a":
                cases += 1
                hit += r == "hit"
        total_hit, total = total_hit + hit, total + cases
        lines.append(f"{kind:<{width}} | " + " | ".join(cells) + f" | {hit}/{cases}")
    lines.append(f"{'total':<{width}}   {total_hit}/{total} right cause at the right tensor"
                 f"; false alarms on correct conversions: {sum(FALSE_ALARMS.values())}/{len(FALSE_ALARMS)}")
    for (kind, m), r in RESULTS.items():
        if r not in ("hit", "n/a"):
            lines.append(f"  {kind} / {m}: {r[:300]}")
    return "\n".join(lines)


def test_hit_rate_table(capsys):
    """Runs last: prints the table; >= 95% right, no confidently wrong cause, no false alarm."""
    cases = {k: r for k, r in RESULTS.items() if r != "n/a"}
    if not cases:
        pytest.skip("no fault case ran (run the whole module)")
    with capsys.disabled():
        print("\n" + _table())
    hits = sum(r == "hit" for r in cases.values())
    assert not any(r.startswith("WRONG") for r in cases.values()), _table()
    assert hits >= 0.95 * len(cases), _table()
    assert not any(FALSE_ALARMS.values())
    if len(RESULTS) == len(KINDS) * len(MODEL_IDS):  # every case ran: the suite's own coverage
        assert {k for k, _ in cases} == set(KINDS) and len({m for _, m in cases}) == len(MODEL_IDS)
