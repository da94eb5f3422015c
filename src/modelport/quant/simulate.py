"""Simulate NNIE's 8-bit mode in onnxruntime and choose the layers to keep at 16 bits.

The model is the one the nnie target writes (``load`` + ``prepare(loaded, "nnie")``), so
every ONNX node is a Caffe layer NNIE sees and every node output is named like its layer.

What is quantized (docs/quantsim.md says why): the weights of every weighted layer
(Conv -> Convolution/DepthwiseConv, ConvTranspose -> Deconvolution, Gemm -> InnerProduct;
per tensor, data_max = max|w|) and the activation each weighted layer reads (per tensor,
data_max = max|x| over the calibration inputs), as MQBench's NNIE backend does; biases
and the wide accumulators stay exact. A weighted layer marked 16-bit (``_hp``) is treated
as exact: its weights and its input are not quantized.

Two onnxruntime sessions per run:

- the float model with every intermediate exposed: calibration (data_max per tensor) and
  the reference values;
- the simulated model, built once: after each quantized activation, NNIE's log code as
  ONNX ops (float64: Abs, Log, Round, Min/Max, Pow, Where, with the tensor's z and zero
  band as constants), weights fake-quantized once in numpy (``nnie_quantize``), and for
  weighted layer k the mix ``hp[k] * exact + (1 - hp[k]) * quantized`` with ``hp`` a graph
  input: the whole mixed-precision search runs in this one session, errors propagating
  through the net as they would on the board.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from modelport.errors import ModelportError
from modelport.quant.nnie import LEVELS, nnie_quantize, nnie_thresholds, nnie_z

WEIGHTED = {"Conv": "Convolution", "ConvTranspose": "Deconvolution", "Gemm": "InnerProduct"}
HP_INPUT = "modelport__hp"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp")


@dataclass
class LayerRow:
    name: str  # the layer (== its output tensor, == the Caffe layer name)
    op: str  # the ONNX op
    cosine: float  # int8-simulated vs float, over the calibration inputs
    cosine_mixed: float = float("nan")  # with the chosen _hp layers at 16 bits
    weighted: bool = False  # has weights: can be marked _hp
    grouped: bool = False  # group == channels convolution (DepthwiseConv for NNIE, PITFALLS 21)
    max_abs: float = float("nan")
    max_rel: float = float("nan")
    shape: tuple = ()


@dataclass
class QuantSimResult:
    source: str
    target: str
    calibration: str  # what the inputs were
    layers: list[LayerRow]
    outputs: list[str]
    hp_layers: list[str]
    output_cosine_int8: dict[str, float]
    output_cosine_mixed: dict[str, float]
    target_cosine: float
    evaluations: int = 0
    seconds: float = 0.0
    search: list[str] = field(default_factory=list)  # what the search did, line by line
    graph: list = field(default_factory=list)  # (tensor, op, input tensors) for the HTML graph

    @property
    def weighted(self) -> list[str]:
        return [r.name for r in self.layers if r.weighted]

    @property
    def grouped_hp(self) -> list[str]:
        grouped = {r.name for r in self.layers if r.grouped}
        return [n for n in self.hp_layers if n in grouped]

    def to_json(self) -> dict:
        return {"source": self.source, "target": self.target, "calibration": self.calibration,
                "target_cosine": self.target_cosine,
                "layers": [{"name": r.name, "op": r.op, "cosine": _finite(r.cosine), "cosine_mixed": _finite(r.cosine_mixed),
                            "weighted": r.weighted} for r in self.layers],
                "weighted_layers": self.weighted, "hp_layers": list(self.hp_layers),
                "output_cosine_int8": {k: _finite(v) for k, v in self.output_cosine_int8.items()},
                "output_cosine_mixed": {k: _finite(v) for k, v in self.output_cosine_mixed.items()},
                "grouped_hp_layers": self.grouped_hp, "evaluations": self.evaluations,
                "seconds": round(self.seconds, 3)}


def _finite(x: float):
    return None if x != x else float(x)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0.0 and nb == 0.0:
        return 1.0
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(np.clip(np.dot(a, b) / (na * nb), -1.0, 1.0))


# --------------------------------------------------------------------------- inputs


def calibration_inputs(shapes: dict[str, tuple], calib: str | Path | None = None, random: int | None = None,
                       seed: int = 0, input_range: tuple[float, float] = (-1.0, 1.0)) -> tuple[list[dict], str]:
    """The calibration feeds (one dict per run) and a sentence saying what they are."""
    if len(shapes) != 1 and calib is not None:
        raise ModelportError(f"--calib: the model has {len(shapes)} inputs; a folder feeds a single-input model")
    if calib is None:
        n = int(random or 8)
        if n <= 0:
            raise ModelportError("--random N: N must be positive")
        rng = np.random.default_rng(seed)
        feeds = [{k: rng.uniform(*input_range, size=s).astype(np.float32) for k, s in shapes.items()} for _ in range(n)]
        return feeds, (f"{n} random inputs uniform in [{input_range[0]:g}, {input_range[1]:g}] (no --calib folder given; "
                       "real images calibrate data_max closer to what the board sees)")
    folder = Path(calib)
    if not folder.is_dir():
        raise ModelportError(f"--calib {folder}: not a folder")
    (name, shape), = shapes.items()
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".npy",) + IMAGE_SUFFIXES)
    if not files:
        raise ModelportError(f"--calib {folder}: no .npy or image files")
    feeds, images = [], 0
    for path in files[: random or None]:
        if path.suffix.lower() == ".npy":
            array = np.load(path).astype(np.float32)
            if array.shape == tuple(shape[1:]):
                array = array[None]
            if array.shape != tuple(shape):
                raise ModelportError(f"--calib {path}: shape {array.shape}, the model's input '{name}' is {tuple(shape)}")
        else:
            array = _image(path, shape, input_range)
            images += 1
        feeds.append({name: np.ascontiguousarray(array)})
    how = f"{len(feeds)} calibration inputs from {folder}"
    if images:
        how += (f" ({images} images: resized to {shape[-1]}x{shape[-2]}, RGB, CHW, "
                + ("raw pixels 0..255: the model subtracts its mean itself)" if input_range[1] > 1
                   else "scaled (p - 127.5) / 128)"))
    return feeds, how


def _image(path: Path, shape: tuple, input_range: tuple[float, float]) -> np.ndarray:
    import cv2

    if len(shape) != 4:
        raise ModelportError(f"--calib {path}: images feed NCHW inputs, the model's is {tuple(shape)}")
    n, c, h, w = shape
    flag = cv2.IMREAD_GRAYSCALE if c == 1 else cv2.IMREAD_COLOR
    image = cv2.imread(str(path), flag)
    if image is None:
        raise ModelportError(f"--calib {path}: not an image OpenCV can read")
    image = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    image = image[None] if image.ndim == 2 else image[:, :, ::-1].transpose(2, 0, 1)  # BGR -> RGB, CHW
    if c not in (1, 3):
        raise ModelportError(f"--calib {path}: images have 1 or 3 channels, the model's input has {c}")
    if input_range[1] <= 1:
        image = (image - 127.5) / 128.0
    return np.repeat(image[None], n, axis=0)


# --------------------------------------------------------------------------- the simulated graph


def _fake_quant_nodes(x: str, out: str, data_max: float, prefix: str) -> tuple[list, list]:
    """ONNX nodes computing nnie_quantize(x, data_max) (float64 inside) into ``out`` (float32)."""
    from onnx import TensorProto, helper, numpy_helper

    z = nnie_z(data_max)
    nodes, inits = [], []

    def const(name, value):
        full = f"{prefix}/{name}"
        inits.append(numpy_helper.from_array(np.asarray(value, np.float64), full))
        return full

    def node(op, inputs, name, **attrs):
        full = f"{prefix}/{name}"
        nodes.append(helper.make_node(op, inputs, [full], name=full, **attrs))
        return full

    if z is None:  # an all-zero tensor quantizes to 0
        nodes.append(helper.make_node("Mul", [x, const("zero32", np.float32(0))], [out], name=f"{prefix}/zero"))
        inits[-1] = numpy_helper.from_array(np.asarray(0, np.float32), f"{prefix}/zero32")
        return nodes, inits
    pos_min, neg_min = nnie_thresholds(z)
    xd = node("Cast", [x], "xd", to=TensorProto.DOUBLE)
    mag = node("Max", [node("Abs", [xd], "abs"), const("tiny", 1e-300)], "mag")
    code = node("Round", [node("Mul", [node("Log", [mag], "ln"), const("k", 16.0 / math.log(2.0))], "l16")], "round")
    d = node("Sub", [code, const("z", float(z))], "d")
    lo = node("Cast", [node("Less", [xd, const("zero0", 0.0)], "isneg0")], "lo", to=TensorProto.DOUBLE)  # clamp 1 below 0
    e = node("Max", [node("Min", [d, const("top", float(LEVELS))], "dtop"), lo], "e")
    m = node("Pow", [const("two", 2.0), node("Div", [node("Add", [e, const("zc", float(z))], "ez"),
                                                      const("sixteen", 16.0)], "ex")], "m")
    neg = node("Where", [node("Less", [xd, const("negmin", -neg_min)], "isneg"), node("Neg", [m], "mn"),
                         const("zero", 0.0)], "negq")
    q = node("Where", [node("Greater", [xd, const("posmin", pos_min)], "ispos"), m, neg], "q")
    nodes.append(helper.make_node("Cast", [q], [out], name=f"{prefix}/out", to=TensorProto.FLOAT))
    return nodes, inits


def fake_quant_model(x_shape: tuple, data_max: float):
    """A one-node-chain ONNX model ``y = nnie_quantize(x, data_max)`` (float32 in and out), for tests."""
    from onnx import TensorProto, helper

    nodes, inits = _fake_quant_nodes("x", "y", data_max, "fq")
    graph = helper.make_graph(nodes, "fq", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(x_shape))], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _session(proto, outputs: list[str] | None = None):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    opts.log_severity_level = 3
    return ort.InferenceSession(proto.SerializeToString(), opts, providers=["CPUExecutionProvider"])


class Simulator:
    """The float model and its NNIE 8-bit simulation (one session each), on fixed calibration feeds."""

    def __init__(self, proto, feeds: list[dict]):
        from onnx import numpy_helper

        from modelport.runtimes.onnxruntime_runner import OnnxRuntimeRunner

        self.proto = proto
        self.feeds = feeds
        graph = proto.graph
        self.inits = {t.name: t for t in graph.initializer}
        self.outputs = [o.name for o in graph.output]
        self.nodes = [n for n in graph.node if n.op_type != "Constant"]
        self.order = [o for n in self.nodes for o in n.output if o]
        self.op_of = {o: n.op_type for n in self.nodes for o in n.output}
        self.weighted = [n for n in self.nodes if n.op_type in WEIGHTED and len(n.input) > 1 and n.input[1] in self.inits]
        self.names = [n.output[0] for n in self.weighted]
        self.grouped = set()
        for n in self.weighted:
            group = next((a.i for a in n.attribute if a.name == "group"), 1)
            if n.op_type == "Conv" and group > 1 and group == self.inits[n.input[1]].dims[0]:
                self.grouped.add(n.output[0])
        # float model: calibration + reference values
        runner = OnnxRuntimeRunner(proto)
        self.types = runner._value_types()
        self.reference = [runner.run(f, "all") for f in feeds]
        self.data_max = {}
        for values in self.reference:
            for name, value in values.items():
                self.data_max[name] = max(self.data_max.get(name, 0.0), float(np.abs(value).max()) if value.size else 0.0)
        for f in feeds:
            for name, value in f.items():
                self.data_max[name] = max(self.data_max.get(name, 0.0), float(np.abs(value).max()) if value.size else 0.0)
        self.weights = {n.input[1]: numpy_helper.to_array(self.inits[n.input[1]]) for n in self.weighted}
        self.session = _session(self._simulated())
        self.evaluations = 0
        self._cache: dict = {}

    def _simulated(self):
        from onnx import TensorProto, helper, numpy_helper

        model = type(self.proto)()
        model.CopyFrom(self.proto)
        graph = model.graph
        graph.input.append(helper.make_tensor_value_info(HP_INPUT, TensorProto.FLOAT, [len(self.weighted)]))
        by_output = {n.output[0]: n for n in graph.node if n.output}
        new_nodes, inits = [], []
        one = "modelport__one"
        inits.append(numpy_helper.from_array(np.asarray(1.0, np.float32), one))
        plan = {}
        for k, node in enumerate(self.weighted):
            target = by_output[node.output[0]]
            p = f"modelport__q{k}"
            inits.append(numpy_helper.from_array(np.asarray(k, np.int64), f"{p}/k"))
            hp, lp = f"{p}/hp", f"{p}/lp"
            pre = [helper.make_node("Gather", [HP_INPUT, f"{p}/k"], [hp], name=hp, axis=0),
                   helper.make_node("Sub", [one, hp], [lp], name=lp)]
            x = target.input[0]
            fq_nodes, fq_inits = _fake_quant_nodes(x, f"{p}/xq", self.data_max.get(x, 0.0), f"{p}/x")
            pre += fq_nodes
            inits += fq_inits
            pre += _mix(x, f"{p}/xq", hp, lp, f"{p}/xin")
            w = target.input[1]
            wq = nnie_quantize(self.weights[w], float(np.abs(self.weights[w]).max())).astype(np.float32)
            inits.append(numpy_helper.from_array(wq, f"{p}/wq"))
            pre += _mix(w, f"{p}/wq", hp, lp, f"{p}/win")
            plan[id(target)] = (pre, f"{p}/xin", f"{p}/win")
        for node in graph.node:
            if id(node) in plan:
                pre, xin, win = plan[id(node)]
                new_nodes += pre
                node.input[0] = xin
                node.input[1] = win
            new_nodes.append(node)
        del graph.node[:]
        graph.node.extend(new_nodes)
        graph.initializer.extend(inits)
        present = {o.name for o in graph.output}
        for name in self.order:
            if name not in present:
                typed = self.types.get(name)
                elem = typed.type.tensor_type.elem_type if typed is not None else TensorProto.FLOAT
                graph.output.append(helper.make_tensor_value_info(name, elem, None))
        return model

    def run(self, hp: set[str] | frozenset = frozenset(), outputs: list[str] | None = None) -> list[dict]:
        """The simulated model's values on every calibration feed, the layers in ``hp`` at 16 bits."""
        vector = np.array([1.0 if n in hp else 0.0 for n in self.names], np.float32)
        names = outputs or self.order
        self.evaluations += 1
        out = []
        for f in self.feeds:
            values = self.session.run(names, {**f, HP_INPUT: vector})
            out.append(dict(zip(names, values)))
        return out

    def cosines(self, values: list[dict], names: list[str]) -> dict[str, float]:
        return {n: cosine(np.concatenate([r[n].ravel() for r in self.reference]),
                          np.concatenate([v[n].ravel() for v in values])) for n in names}

    def worst(self, hp) -> float:
        """The lowest output cosine with the layers in ``hp`` at 16 bits (cached)."""
        key = frozenset(hp)
        if key not in self._cache:
            self._cache[key] = min(self.cosines(self.run(key, self.outputs), self.outputs).values())
        return self._cache[key]


def _mix(exact: str, quant: str, hp: str, lp: str, out: str) -> list:
    """out = hp * exact + (1 - hp) * quant (hp is 0 or 1: one of them exactly)."""
    from onnx import helper

    return [helper.make_node("Mul", [exact, hp], [f"{out}/a"], name=f"{out}/a"),
            helper.make_node("Mul", [quant, lp], [f"{out}/b"], name=f"{out}/b"),
            helper.make_node("Add", [f"{out}/a", f"{out}/b"], [out], name=out)]


# --------------------------------------------------------------------------- the search


def choose_hp(sim: Simulator, target: float = 0.99, log: list[str] | None = None) -> list[str]:
    """The fewest weighted layers (found greedily, then pruned) whose 16-bit marking brings every
    output's cosine to >= target. All layers at 16 bits is the float model, so one always exists.

    1. all 8-bit: done if every output meets the target;
    2. sensitivity: for each weighted layer, the worst output cosine with that layer alone at 16 bits;
    3. greedy: repeatedly mark the layer that most raises the worst output cosine, trying the
       8 most sensitive layers not yet marked (one pass over all of them when none helps);
    4. prune: drop every marked layer the target does not need (least useful first).
    """
    log = log if log is not None else []
    names = sim.names
    base = sim.worst(frozenset())
    log.append(f"all 8-bit: worst output cosine {base:.6f}")
    if base >= target:
        return []
    gain = {n: sim.worst(frozenset([n])) for n in names}
    ranked = sorted(names, key=lambda n: -gain[n])
    chosen: list[str] = []
    current = base
    while current < target:
        rest = [n for n in ranked if n not in chosen]
        trials = {n: sim.worst(frozenset(chosen + [n])) for n in rest[:8]}
        best = max(trials, key=trials.get)
        if trials[best] <= current and len(rest) > 8:
            trials.update({n: sim.worst(frozenset(chosen + [n])) for n in rest[8:]})
            best = max(trials, key=trials.get)
        chosen.append(best)
        current = trials[best]
        log.append(f"mark {best}: worst output cosine {current:.6f}")
    for n in sorted(chosen, key=lambda n: gain[n]):
        trial = [c for c in chosen if c != n]
        if sim.worst(frozenset(trial)) >= target:
            chosen = trial
            log.append(f"unmark {n}: not needed")
    return [n for n in names if n in chosen]  # in graph order


def quantsim(source: str | Path, params: str | Path | None = None, inputs: dict | None = None, target: str = "nnie",
             calib: str | Path | None = None, random: int | None = None, seed: int = 0,
             target_cosine: float = 0.99, extra: dict | None = None) -> QuantSimResult:
    """Calibrate, simulate NNIE's 8-bit mode, compare per layer, choose the _hp layers."""
    import onnx_ir as ir

    from modelport.convert import load, prepare
    from modelport.verify.api import _auto_range

    if target != "nnie":
        raise ModelportError(f"--target {target}: quantsim simulates nnie only")
    start = time.perf_counter()
    loaded = load(source, params, inputs, dynamic=False)
    prepare(loaded, "nnie", extra=extra)
    shapes = {}
    for value in loaded.model.graph.inputs:
        if value.is_initializer():
            continue
        dims = None if value.shape is None else value.shape.dims
        if dims is None or not all(isinstance(d, int) for d in dims):
            raise ModelportError(f"input '{value.name}' has no fixed size: give it with --input {value.name}:1,3,H,W")
        shapes[value.name] = tuple(int(d) for d in dims)
    proto = ir.to_proto(loaded.model)

    class _Probe:  # verify's choice of input range (raw pixels when the graph subtracts a mean)
        model = proto

        @staticmethod
        def input_names():
            return list(shapes)

    feeds, how = calibration_inputs(shapes, calib, random, seed, _auto_range([_Probe]))
    sim = Simulator(proto, feeds)
    int8 = sim.run(frozenset())
    per_layer = sim.cosines(int8, sim.order)
    log: list[str] = []
    hp = choose_hp(sim, target_cosine, log)
    mixed = sim.run(frozenset(hp)) if hp else int8
    per_layer_mixed = sim.cosines(mixed, sim.order)
    rows = []
    for name in sim.order:
        ref = np.concatenate([r[name].ravel() for r in sim.reference]).astype(np.float64)
        got = np.concatenate([v[name].ravel() for v in int8]).astype(np.float64)
        scale = float(np.abs(ref).max()) if ref.size else 0.0
        err = float(np.abs(ref - got).max()) if ref.size else 0.0
        rows.append(LayerRow(name, sim.op_of[name], per_layer[name], per_layer_mixed[name], name in sim.names,
                             name in sim.grouped, err, err / scale if scale else float("nan"),
                             tuple(sim.reference[0][name].shape)))
    return QuantSimResult(str(source), target, how, rows, sim.outputs, hp,
                          {o: per_layer[o] for o in sim.outputs}, {o: per_layer_mixed[o] for o in sim.outputs},
                          target_cosine, sim.evaluations, time.perf_counter() - start, log, _graph(proto))


def _graph(proto) -> list:
    inits = {i.name for i in proto.graph.initializer}
    nodes = [(i.name, "input", []) for i in proto.graph.input if i.name not in inits]
    for node in proto.graph.node:
        if node.op_type != "Constant":
            nodes += [(o, node.op_type, [i for i in node.input if i and i not in inits]) for o in node.output if o]
    return nodes


def write_json(result: QuantSimResult, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.to_json(), indent=1) + "\n")
    return path
