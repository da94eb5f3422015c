"""Fuzz-case generators shared by tests/fuzz (hypothesis, a few thousand cases in CI) and
bench/fuzz.py (long runs with plain ``random``).

A generator takes the seed files and a ``draw`` (``RandomDraw`` or ``HypothesisDraw``:
``int(lo, hi)``, ``choice(seq)``, ``bool()``, ``bytes(n)``) and returns a ``Case``: an
entry point and the files it reads. ``run_case`` feeds the case to its entry point; the
contract is that only a ``ModelportError`` may come out. Anything else propagates.

Entry points:
  params      parse_params(bytes)            mutated real .params files and hand-packed ones
  params_file load_params(path)              the same, through the memory map
  symbol      parse_symbol(doc) / load_symbol(path)   mutated documents and mutated JSON text
  mxnet       modelport.load(symbol, params) mutated graphs with valid weights, and mutated weights
  onnx        modelport.load(model.onnx)     mutated bytes and mutated protos (external data too)
"""
from __future__ import annotations

import copy
import json
import math
import os
import shutil
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ENTRY_POINTS = ("params", "params_file", "symbol", "mxnet", "onnx")


# -- draws ------------------------------------------------------------------------------------
class RandomDraw:
    """Draws from a ``random.Random`` (bench/fuzz.py)."""

    def __init__(self, rng):
        self.rng = rng

    def int(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def choice(self, seq):
        return seq[self.rng.randrange(len(seq))]

    def bool(self) -> bool:
        return self.rng.random() < 0.5

    def bytes(self, n: int) -> bytes:
        return self.rng.randbytes(n)


class HypothesisDraw:
    """Draws from hypothesis' ``st.data()`` (tests/fuzz): failures shrink."""

    def __init__(self, data):
        from hypothesis import strategies as st

        self.data, self.st = data, st

    def int(self, lo: int, hi: int) -> int:
        return self.data.draw(self.st.integers(lo, hi))

    def choice(self, seq):
        return seq[self.data.draw(self.st.integers(0, len(seq) - 1))]

    def bool(self) -> bool:
        return self.data.draw(self.st.booleans())

    def bytes(self, n: int) -> bytes:
        return self.data.draw(self.st.binary(min_size=n, max_size=n))


@dataclass
class Case:
    entry: str  # one of ENTRY_POINTS
    files: dict[str, bytes]  # file name -> content (names may contain one folder level)
    what: str = ""  # the mutations applied, for reports
    doc: object = None  # symbol: a decoded document given to parse_symbol directly (no file)

    def describe(self) -> str:
        return f"{self.entry}: {self.what}"


# -- seeds ------------------------------------------------------------------------------------
@dataclass(repr=False)
class Seeds:
    params: list[bytes]  # .params files (real checkpoint first)
    symbol_doc: dict  # the checkpoint's symbol JSON, decoded
    symbol_text: str
    checkpoint_params: bytes  # the checkpoint's weights, matching symbol_doc
    onnx: list[dict[str, bytes]]  # each: file name -> bytes, the model is 'model.onnx'
    extra_mxnet: list[tuple[str, bytes]] = field(default_factory=list)  # (symbol text, params): more models
    own_params: int = 0  # params[:own_params] are built here (small); the rest come from ../shared/models

    def __repr__(self) -> str:  # hypothesis prints the arguments of a failing case: keep it short
        return f"Seeds({len(self.params)} params, {len(self.onnx)} onnx, {1 + len(self.extra_mxnet)} mxnet models)"

    def mxnet_model(self, draw) -> tuple[str, bytes]:
        """(symbol text, params) of the checkpoint (half the time) or of another model."""
        if not self.extra_mxnet or draw.bool():
            return self.symbol_text, self.checkpoint_params
        return draw.choice(self.extra_mxnet)


def build_mxnet_checkpoint(folder: Path) -> tuple[Path, Path]:
    """A conv+BN+relu+pool+FC+SoftmaxOutput checkpoint saved by MXNet itself."""
    os.environ.setdefault("MXNET_SUBGRAPH_BACKEND", "NONE")
    import mxnet as mx

    data = mx.sym.var("data")
    x = mx.sym.Convolution(data, kernel=(3, 3), num_filter=4, pad=(1, 1), name="conv0")
    x = mx.sym.BatchNorm(x, eps=2e-5, name="bn0")
    x = mx.sym.Activation(x, act_type="relu", name="relu0")
    x = mx.sym.Pooling(x, kernel=(2, 2), stride=(2, 2), pool_type="max", name="pool0")
    x = mx.sym.Flatten(x, name="flat")
    x = mx.sym.FullyConnected(x, num_hidden=3, name="fc")
    sym = mx.sym.SoftmaxOutput(x, name="softmax")
    arg_shapes, _, aux_shapes = sym.infer_shape(data=(1, 3, 8, 8))
    rng = np.random.default_rng(0)
    args = {n: mx.nd.array(rng.normal(0, 0.5, s)) for n, s in zip(sym.list_arguments(), arg_shapes)
            if n not in ("data", "softmax_label")}
    aux = {n: mx.nd.array(rng.uniform(0.5, 1.5, s)) for n, s in zip(sym.list_auxiliary_states(), aux_shapes)}
    folder.mkdir(parents=True, exist_ok=True)
    mx.model.save_checkpoint(str(folder / "net"), 1, sym, args, aux)
    return folder / "net-symbol.json", folder / "net-0001.params"


def pack_array(dims, flag: int, data: bytes, layout: str = "v2", stype: int = 0) -> bytes:
    """One NDArray record, in any layout, with no consistency checks (dims, flag and data may disagree)."""
    if layout == "legacy":
        head = struct.pack(f"<I{len(dims)}I", len(dims), *[d & 0xFFFFFFFF for d in dims])
    elif layout == "v1":
        head = struct.pack(f"<Ii{len(dims)}q", 0xF993FAC8, len(dims), *dims)
    else:
        magic = 0xF993FAC9 if layout == "v2" else 0xF993FACA
        head = struct.pack(f"<Iii{len(dims)}q", magic, stype, len(dims), *dims)
    return head + struct.pack("<iii", 1, 0, flag) + data


def pack_params(records: list[bytes], names: list[bytes] | None) -> bytes:
    out = [struct.pack("<QQQ", 0x112, 0, len(records)), *records, struct.pack("<Q", len(names or []))]
    out += [struct.pack("<Q", len(n)) + n for n in names or []]
    return b"".join(out)


def hand_packed_params() -> list[bytes]:
    """Small files in every layout and dtype the reader takes (v1/v2/v3/legacy, unnamed, bfloat16)."""
    from modelport.frontends.mxnet.params import serialize_params

    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    mixed = {f"arg:{dt}": np.arange(4).astype(dt) for dt in ("f4", "f8", "f2", "u1", "i4", "i1", "i8", "?", "i2")}
    seeds = [serialize_params(mixed), serialize_params({"0": a, "1": a[0]}, named=False)]
    for layout in ("legacy", "v1", "v3"):
        seeds.append(pack_params([pack_array(a.shape, 0, a.tobytes(), layout),
                                  pack_array((3,), 1, np.ones(3).tobytes(), layout)], [b"arg:w", b"aux:m"]))
    bf16 = (a.view(np.uint32) >> 16).astype("<u2").tobytes()
    seeds.append(pack_params([pack_array(a.shape, 12, bf16), pack_array((), 0, b"\0\0\x80?", "v3")], [b"arg:b", b"arg:s"]))
    return seeds


def build_onnx_seeds(opsets=(17, 11)) -> list[dict[str, bytes]]:
    """Conv+BN+Relu+MaxPool+Flatten+Gemm+Softmax built with onnx.helper, at each opset, and once with
    its weights in an external data file beside the model."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)

    def init(name, shape, lo=-0.5, hi=0.5):
        return numpy_helper.from_array(rng.uniform(lo, hi, shape).astype(np.float32), name)

    inits = [init("W", (4, 3, 3, 3)), init("B", (4,)), init("scale", (4,)), init("bias", (4,)),
             init("mean", (4,)), init("var", (4,), 0.5, 1.5), init("W2", (3, 64)), init("B2", (3,))]
    nodes = [helper.make_node("Conv", ["data", "W", "B"], ["conv"], pads=[1, 1, 1, 1], kernel_shape=[3, 3], name="conv"),
             helper.make_node("BatchNormalization", ["conv", "scale", "bias", "mean", "var"], ["bn"], epsilon=2e-5, name="bn"),
             helper.make_node("Relu", ["bn"], ["relu"], name="relu"),
             helper.make_node("MaxPool", ["relu"], ["pool"], kernel_shape=[2, 2], strides=[2, 2], name="pool"),
             helper.make_node("Flatten", ["pool"], ["flat"], name="flat"),
             helper.make_node("Gemm", ["flat", "W2", "B2"], ["fc"], transB=1, name="fc"),
             helper.make_node("Softmax", ["fc"], ["prob"], axis=1, name="prob")]
    graph = helper.make_graph(nodes, "net", [helper.make_tensor_value_info("data", TensorProto.FLOAT, ["N", 3, 8, 8])],
                              [helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["N", 3])], inits)
    seeds = []
    for opset in opsets:
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)
        seeds.append({"model.onnx": model.SerializeToString()})
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opsets[0])], ir_version=8)
    # every initializer in one external file, as onnx.save(..., save_as_external_data=True) writes it
    blob = bytearray()
    for tensor in model.graph.initializer:
        raw = tensor.raw_data
        offset = len(blob)
        blob += raw
        tensor.ClearField("external_data")
        for key, value in (("location", "weights.bin"), ("offset", str(offset)), ("length", str(len(raw)))):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, value
        tensor.data_location = onnx.TensorProto.EXTERNAL
        tensor.ClearField("raw_data")
    seeds.append({"model.onnx": model.SerializeToString(), "weights.bin": bytes(blob)})
    return seeds


def build_seeds(folder: Path, shared: Path | None = None) -> Seeds:
    symbol_path, params_path = build_mxnet_checkpoint(Path(folder))
    text = symbol_path.read_text()
    ckpt = params_path.read_bytes()
    params = [ckpt, *hand_packed_params()]
    own = len(params)
    onnx_seeds = build_onnx_seeds()
    from modelport.example import build_example  # preprocessing, PReLU, ceil and padded avg pooling, global pool

    example_symbol, example_params = build_example(Path(folder) / "example")
    extra = [(example_symbol.read_text(), example_params.read_bytes())]
    if shared is not None and shared.is_dir():
        det1 = shared / "mtcnn_mxnet"
        if (det1 / "det1-0001.params").is_file():
            params.append((det1 / "det1-0001.params").read_bytes())
            extra.append(((det1 / "det1-symbol.json").read_text(), (det1 / "det1-0001.params").read_bytes()))
        pnet = shared / "onnx_mtcnn_pypi" / "pnet.onnx"
        if pnet.is_file():
            onnx_seeds.append({"model.onnx": pnet.read_bytes()})
    return Seeds(params, json.loads(text), text, ckpt, onnx_seeds, extra, own)


# -- .params ----------------------------------------------------------------------------------
def params_fields(buf: bytes) -> list[tuple[int, int, str]]:
    """(offset, size, kind) of every field of a well-formed .params file, in order."""
    from modelport.frontends.mxnet.params import BFLOAT16_FLAG, DTYPES

    fields: list[tuple[int, int, str]] = []
    pos = 0

    def take(size: int, kind: str):
        nonlocal pos
        fields.append((pos, size, kind))
        pos += size
        return buf[pos - size:pos]

    take(8, "list_magic")
    take(8, "reserved")
    (count,) = struct.unpack("<Q", take(8, "count"))
    for _ in range(count):
        (magic,) = struct.unpack("<I", take(4, "array_magic"))
        if magic in (0xF993FAC9, 0xF993FACA):
            take(4, "stype")
        if magic in (0xF993FAC8, 0xF993FAC9, 0xF993FACA):
            (ndim,) = struct.unpack("<i", take(4, "ndim"))
            if ndim < 0:
                continue
            dims = [struct.unpack("<q", take(8, "dim64"))[0] for _ in range(ndim)]
        else:
            dims = [struct.unpack("<I", take(4, "dim32"))[0] for _ in range(magic)]
            ndim = magic
        if ndim == 0 and magic != 0xF993FACA:
            continue
        take(4, "dev_type")
        take(4, "dev_id")
        (flag,) = struct.unpack("<i", take(4, "dtype"))
        itemsize = 2 if flag == BFLOAT16_FLAG else DTYPES[flag].itemsize
        take(math.prod(dims) * itemsize, "data")
    (nnames,) = struct.unpack("<Q", take(8, "name_count"))
    for _ in range(nnames):
        (length,) = struct.unpack("<Q", take(8, "name_length"))
        take(length, "name")
    assert pos == len(buf), (pos, len(buf))
    return fields


WORD4 = [0, 1, 2, 3, 4, 5, 8, 12, 13, 31, 32, 33, 255, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFE,
         0xF993FAC8, 0xF993FAC9, 0xF993FACA, 0xF993FACB]
WORD8 = [0, 1, 2, 3, 7, 2**31, 2**32, 2**32 + 1, 2**40, 2**61, 2**62, 2**63 - 1, 2**63, 2**64 - 1, 2**64 - 8, 0x112]
SPECIAL_F32 = [float("nan"), float("inf"), -float("inf"), 0.0, -0.0, 1e38, -1e-45, 3.4e38]


def _put(buf: bytearray, offset: int, size: int, value: int) -> None:
    buf[offset:offset + size] = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")


def _mutate_params_once(buf: bytearray, fields, draw) -> tuple[bytearray, str]:
    kind = draw.int(0, 10)
    if kind == 0 or not buf:  # bit flips
        flips = draw.int(1, 8)
        for _ in range(flips):
            if buf:
                pos = draw.int(0, len(buf) - 1)
                buf[pos] ^= 1 << draw.int(0, 7)
        return buf, f"{flips} bit flips"
    if kind in (1, 2, 3) and fields:  # a header field set to an interesting value
        off, size, name = draw.choice([f for f in fields if f[2] != "data" and f[2] != "name"] or fields)
        if off + size > len(buf):
            return buf, "field past the end"
        if name == "dtype":
            value = draw.int(-2, 16)
        elif size == 4:
            value = draw.choice(WORD4) if draw.bool() else draw.int(0, 2**32 - 1)
        elif size == 8:
            value = draw.choice(WORD8) if draw.bool() else draw.int(0, 2**64 - 1)
        else:
            value = draw.int(0, 255)
            size = 1
        _put(buf, off, size, value)
        return buf, f"{name}@{off} = {value}"
    if kind == 4:  # truncation, often at a field boundary
        cut = draw.choice(sorted({o for f in fields for o in (f[0], f[0] + f[1])})) if fields and draw.bool() \
            else draw.int(0, len(buf))
        return buf[:cut], f"truncated to {cut}"
    if kind == 5:  # random bytes over a span
        pos, n = draw.int(0, len(buf) - 1), draw.int(1, 16)
        buf[pos:pos + n] = draw.bytes(n)
        return buf, f"{n} random bytes at {pos}"
    if kind == 6:  # insert or delete bytes
        pos, n = draw.int(0, len(buf)), draw.int(1, 12)
        if draw.bool():
            buf[pos:pos] = draw.bytes(n)
            return buf, f"{n} bytes inserted at {pos}"
        del buf[pos:pos + n]
        return buf, f"{n} bytes deleted at {pos}"
    if kind == 7:  # trailing bytes
        n = draw.int(1, 9)
        return buf + draw.bytes(n), f"{n} trailing bytes"
    if kind == 8 and fields:  # NaN / inf into float32 data
        data = [f for f in fields if f[2] == "data" and f[1] >= 4]
        if data:
            off, size, _ = draw.choice(data)
            pos = off + 4 * draw.int(0, size // 4 - 1)
            value = draw.choice(SPECIAL_F32)
            if pos + 4 <= len(buf):
                buf[pos:pos + 4] = struct.pack("<f", value)
            return buf, f"float {value} at {pos}"
    if kind == 9 and fields:  # a name copied over another (duplicates, bad UTF-8)
        names = [f for f in fields if f[2] == "name"]
        if len(names) >= 2:
            a, b = draw.choice(names), draw.choice(names)
            if a[1] == b[1] and a[0] != b[0] and b[0] + b[1] <= len(buf):
                buf[b[0]:b[0] + b[1]] = buf[a[0]:a[0] + a[1]]
                return buf, f"name@{a[0]} copied to name@{b[0]}"
            if b[0] < len(buf):
                buf[b[0]] = draw.choice([0xFF, 0xC0, 0x80, 0x00])
                return buf, f"bad UTF-8 in name@{b[0]}"
    # a field length set huge: the "claims 2**40 elements" family
    big = [f for f in fields if f[2] in ("count", "dim64", "dim32", "name_length", "name_count", "ndim")]
    if big:
        off, size, name = draw.choice(big)
        value = draw.choice([2**40, 2**31 - 1, 2**32 - 1, 2**62, 2**63 - 1, 2**64 - 1, -1, -(2**31)])
        if off + size <= len(buf):
            _put(buf, off, size, value)
        return buf, f"{name}@{off} = {value} (huge)"
    return buf, "unchanged"


def random_params_file(draw) -> tuple[bytes, str]:
    """A file packed from scratch with fields that need not agree (dims vs data, names vs count)."""
    records = []
    for _ in range(draw.int(0, 3)):
        ndim = draw.choice([0, 1, 2, 4, 33, -1])
        dims = [draw.choice([0, 1, 2, 3, 2**31, 2**40, 2**62, -1]) for _ in range(max(ndim, 0) if ndim <= 8 else 1)]
        flag = draw.int(-1, 13)
        data = draw.bytes(draw.choice([0, 1, 4, 8, 24]))
        layout = draw.choice(["v2", "v3", "v1", "legacy"])
        record = pack_array(dims, flag, data, layout, stype=draw.choice([0, 0, 0, 1, 2]))
        if ndim == 33 or ndim == -1:  # ndim field disagrees with the dims written
            record = record[:4] + (struct.pack("<i", ndim) if layout == "v1" else record[4:8]) + record[8:]
        records.append(record)
    names = None if draw.bool() else [draw.choice([b"arg:w", b"aux:m", b"", b"\xff\xfe", b"arg:w"]) for _ in
                                      range(draw.int(0, len(records) + 1))]
    return pack_params(records, names), f"packed {len(records)} arrays, names {names}"


def params_case(seeds: Seeds, draw, entry: str = "params") -> Case:
    if draw.int(0, 9) == 0:
        data, what = random_params_file(draw)
        return Case(entry, {"x.params": data}, what)
    index = draw.int(0, len(seeds.params) - 1)
    seed = seeds.params[index]
    fields = params_fields(seed)
    buf, whats = bytearray(seed), []
    for _ in range(draw.int(1, 3)):
        buf, what = _mutate_params_once(buf, fields, draw)
        whats.append(what)
    return Case(entry, {"x.params": bytes(buf)}, f"seed {index}: " + "; ".join(whats))


# -- symbol JSON ------------------------------------------------------------------------------
ATTR_VALUES = ["(3, x)", "(3,)", "()", "(0, 0)", "(-1, 3)", "(1e308, 3)", "(3, 3, 3, 3, 3)", "[3, 3]", "(2, 2",
               "nan", "NaN", "inf", "-inf", "1e400", "-1e400", "-5", "-1", "0", "1", "2", "3", "1099511627776",
               "99999999999999999999999", "9" * 5000, "0x10", "1.5", "True", "False", "true", "maybe", "", " ",
               "None", "none", "relu", "max", "avg", "sum", "valid", "full", "same", "'valid'", "NCHW", "NHWC",
               "\u00e9", "\x00", "(None, 3)", "(3, None)", "(3, -2)", "(1, 2, 3)", "(-4, 2, -1)", "(0, -1)"]
JSON_VALUES = [3, -1, 0, 1.5, float("nan"), float("inf"), None, True, [1, 2], {"a": 1}, 2**70, "", [[0, 0]]]
GENERIC_ATTRS = ["kernel", "stride", "pad", "num_filter", "num_hidden", "no_bias", "eps", "fix_gamma", "act_type",
                 "pool_type", "global_pool", "pooling_convention", "axis", "dim", "num_outputs", "shape", "axes",
                 "scalar", "num_group", "dilate", "layout", "flatten", "slope", "p", "mode", "multi_output",
                 "__shape__", "__dtype__", "__lr_mult__", "reverse", "begin", "end", "squeeze_axis"]


def _registered_ops() -> list[str]:
    from modelport.frontends.mxnet.registry import load_all

    return sorted(load_all())


def _op_attrs(op: str) -> list[str]:
    try:
        from modelport.frontends.mxnet.defaults import MXNET_OP_ATTRS
        from modelport.frontends.mxnet.registry import schema_name
    except ImportError:  # pragma: no cover - the generated table moved
        return []
    return sorted(MXNET_OP_ATTRS.get(schema_name(op), {}))


def _attr_block(node: dict) -> dict:
    for key in ("attrs", "attr", "param"):
        if isinstance(node.get(key), dict):
            return node[key]
    node["attrs"] = {}
    return node["attrs"]


def _mutate_symbol_once(doc: dict, draw, ops: list[str]) -> str:
    nodes = doc.get("nodes")
    if not isinstance(nodes, list) or not nodes:
        doc["nodes"] = [{"op": "null", "name": "data", "inputs": []}]
        return "nodes replaced"
    n = len(nodes)
    i = draw.int(0, n - 1)
    node = nodes[i] if isinstance(nodes[i], dict) else {}
    dict_nodes = [k for k, nd in enumerate(nodes) if isinstance(nd, dict)]
    if not dict_nodes:
        nodes.append({"op": "null", "name": "data", "inputs": []})
        return "a variable appended"
    op_nodes = [k for k in dict_nodes if nodes[k].get("op") != "null"] or dict_nodes
    kind = draw.int(0, 15)
    if kind in (0, 1, 2):  # an attribute of an op node gets a strange value
        k = draw.choice(op_nodes)
        nd = nodes[k]
        names = sorted(set(_attr_block(nd)) | set(_op_attrs(str(nd.get("op")))) | {draw.choice(GENERIC_ATTRS)})
        key = draw.choice(names)
        value = draw.choice(ATTR_VALUES) if draw.int(0, 4) else draw.choice(JSON_VALUES)
        _attr_block(nd)[key] = value
        return f"node {k} attr {key} = {value!r}"[:200]
    if kind == 3:  # an input edge: forward reference / self / dangling / negative / malformed
        k = draw.choice(op_nodes)
        inputs = nodes[k].get("inputs") if isinstance(nodes[k], dict) else None
        if isinstance(inputs, list) and inputs:
            slot = draw.int(0, len(inputs) - 1)
            target = draw.choice([k, k + 1, n - 1, n, n + 5, -1, -n, 2**40, 0])
            entry = draw.choice([[target, 0, 0], [target, 0], [0, target, 0], [target], [], "x", [0.5, 0], None,
                                 [True, False], [0, 0, "v"]])
            inputs[slot] = entry
            return f"node {k} input {slot} = {entry!r}"
    if kind == 4:  # cycles: two nodes swapped, or a node reading its consumer
        a, b = draw.int(0, n - 1), draw.int(0, n - 1)
        nodes[a], nodes[b] = nodes[b], nodes[a]
        return f"nodes {a} and {b} swapped"
    if kind == 5:  # duplicate names
        a, b = draw.int(0, n - 1), draw.int(0, n - 1)
        if isinstance(nodes[a], dict) and isinstance(nodes[b], dict):
            nodes[b]["name"] = nodes[a].get("name")
            return f"node {b} renamed like node {a}"
    if kind == 6:  # heads out of range or malformed
        doc["heads"] = draw.choice([[[n, 0, 0]], [[-1, 0, 0]], [[n - 1, 5, 0]], [[n - 1, -1, 0]], [], [[0, 0, 0]],
                                    [[n - 1, 0, 0], [n - 1, 0, 0]], [[n - 2, 0, 0]], "x", [[n - 1, 2**40, 0]], None,
                                    [[n - 1, 1, 0]], [[1, 0, 0]]])
        return f"heads = {doc['heads']!r}"
    if kind == 7:  # an op replaced: unknown, another registered op, a variable with inputs
        k = draw.choice(op_nodes)
        new = draw.choice(ops) if draw.int(0, 3) else draw.choice(["NoSuchOp", "", "null", "_contrib_Foo", 3, None])
        nodes[k]["op"] = new
        return f"node {k} op = {new!r}"
    if kind == 8:  # inputs removed or added
        k = draw.choice(op_nodes)
        inputs = nodes[k].get("inputs")
        if isinstance(inputs, list):
            if inputs and draw.bool():
                del inputs[draw.int(0, len(inputs) - 1)]
                return f"node {k} lost an input"
            inputs.append([draw.int(0, max(k - 1, 0)), 0, 0])
            return f"node {k} got an extra input"
    if kind == 9:  # a key removed or retyped
        target = draw.choice(["node", "doc"])
        obj = node if target == "node" else doc
        keys = sorted(obj)
        if keys:
            key = draw.choice(keys)
            if draw.bool():
                del obj[key]
                return f"{target} {i} key {key} removed"
            obj[key] = draw.choice(JSON_VALUES)
            return f"{target} {i} key {key} = {obj[key]!r}"
    if kind == 10:  # dialect change: attributes moved to 'param' / 'attr'
        k = draw.choice(op_nodes)
        block = nodes[k].pop("attrs", None) or nodes[k].pop("attr", None) or nodes[k].pop("param", None) or {}
        dest = draw.choice(["param", "attr", "attrs"])
        nodes[k][dest] = block
        if dest == "param" and draw.bool():
            nodes[k]["backward_source_id"] = draw.choice([-1, 0, n, "x"])
        return f"node {k} attributes under {dest}"
    if kind == 11:  # a variable renamed: missing weight, or the data input renamed
        var = [k for k in dict_nodes if nodes[k].get("op") == "null"] or dict_nodes
        k = draw.choice(var)
        nodes[k]["name"] = draw.choice(["data", "renamed", "softmax_label", "fc_weight", "", "arg:x"])
        return f"variable {k} renamed {nodes[k]['name']!r}"
    if kind == 12:  # arg_nodes / top-level attrs junk
        doc[draw.choice(["arg_nodes", "node_row_ptr", "attrs"])] = draw.choice(
            [[n + 3], [-1], ["x"], [float("inf")], {"mxnet_version": ["int", 10900]}, {"mxnet_version": {"a": 1}},
             {"mxnet_version": ["int", float("nan")]}, None, 7])
        return "top-level field junk"
    if kind == 13:  # a node removed (everything after it reads the wrong node or dangles)
        del nodes[i]
        return f"node {i} removed"
    if kind == 14:  # a node duplicated at the end (two heads of the same name, unused nodes)
        nodes.append(copy.deepcopy(nodes[draw.choice(op_nodes)]))
        if draw.bool():
            doc["heads"] = [[len(nodes) - 1, 0, 0]]
        return "node duplicated at the end"
    # an op node wired to an arbitrary earlier node (shape clashes, variables where weights belong)
    k = draw.choice(op_nodes)
    inputs = nodes[k].get("inputs")
    if isinstance(inputs, list) and inputs and k > 0:
        slot = draw.int(0, len(inputs) - 1)
        inputs[slot] = [draw.int(0, k - 1), draw.choice([0, 0, 1, 2]), 0]
        return f"node {k} input {slot} rewired to {inputs[slot]}"
    return "unchanged"


def mutate_symbol(doc: dict, draw, rounds: int | None = None) -> tuple[dict, str]:
    doc = copy.deepcopy(doc)
    ops = _registered_ops()
    whats = [_mutate_symbol_once(doc, draw, ops) for _ in range(rounds or draw.int(1, 3))]
    return doc, "; ".join(whats)


def _dumps(doc) -> str:
    return json.dumps(doc, indent=1)  # NaN / Infinity are written as JSON's extensions, as MXNet's reader allows


def _mutate_text(text: str, draw) -> tuple[bytes, str]:
    raw = bytearray(text.encode())
    kind = draw.int(0, 5)
    if kind == 0:
        cut = draw.int(0, len(raw))
        return bytes(raw[:cut]), f"text truncated to {cut}"
    if kind == 1:
        for _ in range(draw.int(1, 4)):
            raw[draw.int(0, len(raw) - 1)] ^= 1 << draw.int(0, 7)
        return bytes(raw), "text bit flips"
    if kind == 2:
        pos = draw.int(0, len(raw))
        junk = draw.choice([b"[" * 100000, b"{", b"\xff\xfe", b"\x00", b"1e999", b"9" * 5000, b"NaN", b'"\\ud800"',
                            b"\xef\xbb\xbf"])
        raw[pos:pos] = junk
        return bytes(raw), f"{junk[:12]!r}... inserted at {pos}"
    if kind == 3:
        return draw.choice([b"", b"null", b"[]", b"3", b'"x"', b"{}", b"[" * 200000 + b"]" * 200000,
                            b'{"nodes": ' + b"[" * 100000, b"\x12\x01\x00\x00\x00\x00\x00\x00"]), "replaced"
    doc, what = mutate_symbol(json.loads(text), draw)
    return _dumps(doc).encode(), what


def symbol_doc_case(seeds: Seeds, draw) -> Case:
    """A mutated document for parse_symbol."""
    doc = json.loads(seeds.mxnet_model(draw)[0])
    doc, what = mutate_symbol(doc, draw)
    return Case("symbol", {}, what, doc=doc)


def symbol_text_case(seeds: Seeds, draw) -> Case:
    """A mutated JSON text for load_symbol."""
    text = seeds.mxnet_model(draw)[0]
    raw, what = _mutate_text(text, draw)
    return Case("symbol", {"x-symbol.json": raw}, what)


def symbol_case(seeds: Seeds, draw) -> Case:
    return symbol_doc_case(seeds, draw) if draw.bool() else symbol_text_case(seeds, draw)


def _weights_mutation(params: bytes, draw) -> tuple[bytes, str]:
    """Valid files whose weights disagree with the graph: dtypes, shapes, NaN, missing, extra, unnamed."""
    from modelport.frontends.mxnet.params import parse_params, serialize_params

    arrays = {k: np.array(v) for k, v in parse_params(params).items()}
    keys = sorted(arrays)
    key = draw.choice(keys)
    kind = draw.int(0, 7)
    if kind == 0:
        dtype = draw.choice(["f8", "f2", "u1", "i4", "i1", "i8", "?", "i2"])
        arrays[key] = arrays[key].astype(dtype)
        what = f"{key} as {dtype}"
    elif kind == 1:
        shape = draw.choice([(), (0,), (1,), (2, 2), (4, 3, 3, 4), (1, 1, 1, 1, 1), (0, 3, 3, 3)])
        arrays[key] = np.ones(shape, np.float32)
        what = f"{key} shape {shape}"
    elif kind == 2:
        arrays[key] = np.full(arrays[key].shape, draw.choice(SPECIAL_F32), np.float32)
        what = f"{key} all special floats"
    elif kind == 3:
        del arrays[key]
        what = f"{key} missing"
    elif kind == 4:
        arrays[draw.choice(["arg:data", "aux:conv0_weight", "arg:softmax_label", "extra", "arg:", "aux:"])] = np.ones(3, np.float32)
        what = "extra array"
    elif kind == 5:
        return serialize_params({str(i): v for i, v in enumerate(arrays.values())}, named=False), "unnamed list"
    elif kind == 6:
        renamed = {k.replace("arg:", "aux:") if k == key else k: v for k, v in arrays.items()}
        return serialize_params(renamed), f"{key} arg/aux swapped"
    else:  # names without arg:/aux: count as arguments
        return serialize_params({k.partition(":")[2]: v for k, v in arrays.items()}), "no arg:/aux: prefixes"
    return serialize_params(arrays), what


def mxnet_case(seeds: Seeds, draw) -> Case:
    text, params = seeds.mxnet_model(draw)
    doc = json.loads(text)
    kind = draw.int(0, 9)
    if kind <= 6:
        doc, what = mutate_symbol(doc, draw)
    elif kind <= 8:
        params, what = _weights_mutation(params, draw)
    else:
        doc, what = mutate_symbol(doc, draw)
        params, what2 = _weights_mutation(params, draw)
        what += "; " + what2
    return Case("mxnet", {"net-symbol.json": _dumps(doc).encode(), "net-0001.params": params}, what)


# -- ONNX ---------------------------------------------------------------------------------------
def _mutate_onnx_proto(model, draw, files: dict[str, bytes]) -> str:
    import onnx
    from onnx import TensorProto, helper

    g = model.graph
    nodes = list(g.node)
    kind = draw.int(0, 17)
    if kind == 0 and nodes:  # dangling input
        node = draw.choice(nodes)
        if node.input:
            node.input[draw.int(0, len(node.input) - 1)] = draw.choice(["nowhere", "", "prob"])
            return f"{node.name}: dangling input"
    if kind == 1 and len(nodes) > 1:  # duplicate output names / output shadowing an input or initializer
        node = draw.choice(nodes)
        if not node.output:
            node.output.append("")
        node.output[0] = draw.choice([o for n in nodes for o in n.output] + ["data", "W", "B2"])
        return f"{node.name}: output renamed {node.output[0]}"
    if kind == 2 and nodes:  # a cycle: a node reads its own output or a later node's
        a = draw.int(0, len(nodes) - 1)
        b = draw.int(a, len(nodes) - 1)
        if nodes[a].input and nodes[b].output:
            nodes[a].input[0] = nodes[b].output[0]
            return f"cycle: node {a} reads node {b}"
    if kind == 3:  # negative / zero / huge dims on inputs and outputs
        values = [v for v in list(g.input) + list(g.output) if v.type.tensor_type.shape.dim]
        if values:
            v = draw.choice(values)
            dims = v.type.tensor_type.shape.dim
            d = dims[draw.int(0, len(dims) - 1)]
            d.dim_value = draw.choice([-1, -5, 0, 2**40, 2**62, 2**63 - 1])
            return f"{v.name}: dim {d.dim_value}"
    if kind == 4 and g.initializer:  # huge dims without data
        t = draw.choice(list(g.initializer))
        t.ClearField("dims")
        t.dims.extend(draw.choice([[2**40], [2**20, 2**20], [2**62, 4], [0, 2**62], [-1], [2**31, 2**31]]))
        if draw.bool():
            for f in ("raw_data", "float_data", "external_data"):
                t.ClearField(f)
            t.data_location = TensorProto.DEFAULT
        return f"{t.name}: dims {list(t.dims)}"
    if kind == 5 and g.initializer:  # data that disagrees with dims / dtype
        t = draw.choice(list(g.initializer))
        choice = draw.int(0, 4)
        if choice == 0:
            t.raw_data = t.raw_data[: draw.int(0, max(len(t.raw_data) - 1, 0))] if t.raw_data else b"\0" * 3
        elif choice == 1:
            t.data_type = draw.choice([0, 8, 16, 17, 20, 23, 999, -1, TensorProto.DOUBLE, TensorProto.INT64])
        elif choice == 2:
            t.ClearField("raw_data")
            t.float_data.extend([float("nan"), float("inf")] * draw.int(0, 3))
        elif choice == 3:
            t.raw_data = draw.bytes(draw.int(0, 64))
        else:
            t.string_data.append(b"x")
            t.data_type = TensorProto.STRING
        return f"{t.name}: data mutated ({choice})"
    if kind == 6 and g.initializer:  # duplicate initializer names / initializer shadowing an output
        t = g.initializer.add()
        t.CopyFrom(draw.choice(list(g.initializer)))
        outputs = [o for n in nodes for o in n.output]
        if draw.bool() and outputs:
            t.name = draw.choice(outputs)
        return f"initializer {t.name} duplicated"
    if kind == 7 and g.initializer:  # external data pointing anywhere
        t = draw.choice(list(g.initializer))
        t.ClearField("raw_data")
        t.ClearField("external_data")
        t.data_location = TensorProto.EXTERNAL
        location = draw.choice(["weights.bin", "../weights.bin", "/etc/hostname", "/dev/zero", "", ".", "sub/../../x",
                                "missing.bin", "weights.bin\x00x", "sub/w.bin", "model.onnx", "/proc/self/mem"])
        entries = [("location", location)]
        if draw.bool():
            entries.append(("offset", draw.choice(["0", "-1", "5", "100000", "abc", str(2**63), "1e3", ""])))
        if draw.bool():
            entries.append(("length", draw.choice(["0", "-1", "16", "100000", str(2**40), "x", "3"])))
        for key, value in entries:
            e = t.external_data.add()
            e.key, e.value = key, value
        files.setdefault("weights.bin", bytes(range(256)) * 4)
        if location == "sub/w.bin":
            files["sub/w.bin"] = b"\0" * 64
        return f"{t.name}: external data {entries}"
    if kind == 8:  # opsets
        choice = draw.int(0, 3)
        if not model.opset_import:
            model.opset_import.add().CopyFrom(helper.make_opsetid("", 17))
        if choice == 0:
            model.opset_import[0].version = draw.choice([0, 1, 6, 7, 9, 10, 12, 13, 16, 18, 21, 22, 99, 10**9, -1])
        elif choice == 1:
            model.opset_import[0].domain = draw.choice(["ai.onnx.ml", "com.microsoft", "x"])
        elif choice == 2:
            model.opset_import.add().CopyFrom(helper.make_opsetid("", draw.choice([11, 17, 18])))
        else:
            del model.opset_import[:]
        return f"opsets {[(o.domain, o.version) for o in model.opset_import]}"
    if kind == 9:  # IR version
        model.ir_version = draw.choice([0, 1, 2, 3, 4, 7, 9, 10, 11, 99, 2**62, -1])
        return f"ir_version {model.ir_version}"
    if kind == 10 and nodes:  # op type / domain
        node = draw.choice(nodes)
        node.op_type = draw.choice(["NoSuchOp", "", "Conv", "Loop", "If", "Scan", "Identity", "Gemm", "Reshape"])
        if draw.int(0, 3) == 0:
            node.domain = draw.choice(["com.microsoft", "x", "ai.onnx.ml"])
        return f"{node.name}: op {node.domain}:{node.op_type}"
    if kind == 11 and nodes:  # attributes: wrong types and values
        node = draw.choice(nodes)
        name = draw.choice([a.name for a in node.attribute] + ["kernel_shape", "pads", "strides", "axis", "epsilon",
                                                                "dilations", "group", "transB", "auto_pad", "alpha"])
        for k in range(len(node.attribute) - 1, -1, -1):
            if node.attribute[k].name == name:
                del node.attribute[k]
        value = draw.choice([[-1, -1], [0, 0], [2**40, 1], [1], [1, 1, 1, 1, 1, 1], 0, -3, 2**62, 1.5,
                             float("nan"), "SAME_UPPER", "garbage", b"\xff", []])
        try:
            node.attribute.append(helper.make_attribute(name, value) if value != [] else
                                  helper.make_attribute(name, [], attr_type=onnx.AttributeProto.INTS))
        except (TypeError, ValueError):
            pass
        return f"{node.name}: attr {name} = {value!r}"
    if kind == 12:  # outputs removed / added / renamed
        choice = draw.int(0, 2)
        if choice == 0:
            del g.output[:]
        elif choice == 1:
            g.output.add().CopyFrom(helper.make_tensor_value_info(draw.choice(["W", "data", "nowhere", "conv"]),
                                                                   TensorProto.FLOAT, None))
        elif g.output:
            g.output[0].name = draw.choice(["data", "nowhere", "W", ""])
        return f"outputs {[o.name for o in g.output]}"
    if kind == 13:  # inputs: no type, a bad elem type, removed, duplicated
        if g.input:
            v = g.input[0]
            choice = draw.int(0, 3)
            if choice == 0:
                v.ClearField("type")
            elif choice == 1:
                v.type.tensor_type.elem_type = draw.choice([0, 8, 999, TensorProto.INT64, TensorProto.BFLOAT16])
            elif choice == 2:
                del g.input[0]
            else:
                g.input.add().CopyFrom(v)
            return f"input mutated ({choice})"
    if kind == 14 and nodes:  # a subgraph attribute with garbage inside
        node = draw.choice(nodes)
        sub = helper.make_graph([helper.make_node("Relu", ["outer_missing"], ["r"])], "sub", [],
                                [helper.make_tensor_value_info("r", TensorProto.FLOAT, None)])
        node.attribute.append(helper.make_attribute(draw.choice(["then_branch", "body", "x"]), sub))
        return f"{node.name}: subgraph attribute"
    if kind == 15:  # a sparse initializer, or a node with no outputs / empty names
        if draw.bool():
            sp = g.sparse_initializer.add()
            sp.values.CopyFrom(helper.make_tensor("sv", TensorProto.FLOAT, [2], [1.0, 2.0]))
            sp.indices.CopyFrom(helper.make_tensor("si", TensorProto.INT64, [2], [0, draw.choice([1, 99, -1])]))
            sp.dims.extend([draw.choice([4, 2**40, -1])])
            return "sparse initializer"
        if nodes:
            node = draw.choice(nodes)
            del node.output[:]
            if draw.bool():
                node.output.append("")
            return f"{node.name}: outputs removed"
    if kind == 16 and nodes:  # a node removed / duplicated
        k = draw.int(0, len(nodes) - 1)
        if draw.bool():
            del g.node[k]
            return f"node {k} removed"
        g.node.add().CopyFrom(nodes[k])
        return f"node {k} duplicated"
    if nodes:  # metadata / names
        node = draw.choice(nodes)
        node.name = draw.choice(["", nodes[0].name, "\u00e9", "a" * 1000])
        return "node name"
    return "unchanged"


def onnx_case(seeds: Seeds, draw) -> Case:
    import onnx

    index = draw.int(0, len(seeds.onnx) - 1)
    files = dict(seeds.onnx[index])
    if draw.int(0, 2) == 0:  # raw bytes
        raw = bytearray(files["model.onnx"])
        whats = []
        for _ in range(draw.int(1, 3)):
            kind = draw.int(0, 3)
            if kind == 0:
                for _ in range(draw.int(1, 6)):
                    raw[draw.int(0, len(raw) - 1)] ^= 1 << draw.int(0, 7)
                whats.append("bit flips")
            elif kind == 1:
                cut = draw.int(0, len(raw))
                raw = raw[:cut]
                whats.append(f"truncated to {cut}")
                if not raw:
                    break
            elif kind == 2:
                pos, n = draw.int(0, len(raw) - 1), draw.int(1, 8)
                raw[pos:pos + n] = draw.bytes(n)
                whats.append(f"random bytes at {pos}")
            else:  # a varint length made huge
                pos = draw.int(0, len(raw) - 1)
                raw[pos:pos + 1] = draw.choice([b"\xff\xff\xff\xff\x0f", b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01",
                                                b"\xff\xff\xff\xff\xff\xff\xff\xff\x7f"])
                whats.append(f"huge varint at {pos}")
        files["model.onnx"] = bytes(raw)
        return Case("onnx", files, f"seed {index}: " + "; ".join(whats))
    model = onnx.ModelProto()
    model.ParseFromString(files["model.onnx"])
    whats = [_mutate_onnx_proto(model, draw, files) for _ in range(draw.int(1, 3))]
    files["model.onnx"] = model.SerializeToString()
    return Case("onnx", files, f"seed {index}: " + "; ".join(whats))


GENERATORS = {
    "params": lambda seeds, draw: params_case(seeds, draw, "params"),
    "params_file": lambda seeds, draw: params_case(seeds, draw, "params_file"),
    "symbol": symbol_case,
    "mxnet": mxnet_case,
    "onnx": onnx_case,
}


# -- running ------------------------------------------------------------------------------------
def write_files(case: Case, folder: Path) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, data in case.files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def check_views(arrays: dict, buf_len: int) -> None:
    """Parsed arrays never hold more than the file backs (bfloat16 is widened: 2x its bytes)."""
    total = sum(a.nbytes for a in arrays.values())
    assert total <= 2 * buf_len, f"{total} bytes of arrays from a {buf_len}-byte file"


def run_case(case: Case, folder: Path):
    """Feed ``case`` to its entry point; return its result. Only ModelportError may escape."""
    from modelport.frontends.mxnet.params import load_params, parse_params
    from modelport.frontends.mxnet.reader import load_symbol, parse_symbol

    if case.entry == "params":
        data = case.files["x.params"]
        arrays = parse_params(data, "x.params")
        check_views(arrays, len(data))
        return arrays
    if case.doc is not None:
        return parse_symbol(case.doc, "x-symbol.json")
    write_files(case, folder)
    if case.entry == "params_file":
        arrays = load_params(folder / "x.params")
        check_views(arrays, len(case.files["x.params"]))
        return arrays
    if case.entry == "symbol":
        return load_symbol(folder / "x-symbol.json")
    import modelport

    if case.entry == "mxnet":
        return modelport.load(folder / "net-symbol.json", folder / "net-0001.params")
    if case.entry == "onnx":
        return modelport.load(folder / "model.onnx")
    raise ValueError(case.entry)


def save_reproducer(case: Case, folder: Path, error: str) -> Path:
    """The case's files plus repro.py, which runs it and prints the exception."""
    import pickle

    write_files(case, folder)
    (folder / "case.pickle").write_bytes(pickle.dumps(case))
    (folder / "error.txt").write_text(f"{case.describe()}\n\n{error}\n")
    (folder / "repro.py").write_text(
        "import pickle, sys\nfrom pathlib import Path\n"
        f"sys.path[:0] = [{str(Path(__file__).resolve().parents[1])!r}, {str(Path(__file__).resolve().parents[2] / 'src')!r}]\n"
        "from fuzz.generators import run_case\n"
        "here = Path(__file__).resolve().parent\n"
        "case = pickle.loads((here / 'case.pickle').read_bytes())\n"
        "run_case(case, here / 'run')\n")
    return folder


# -- bugs reported to the lead, outside the files this fuzzing may fix ---------------------------
# (exception type or "*", file under src/modelport, function): the last modelport frame of the
# traceback. A case that fails at one of these sites is one of the reported bugs; any other
# non-ModelportError still fails the tests. Remove an entry once its bug is fixed.
KNOWN_BUGS: dict[tuple[str, str, str], str] = {}  # (exception type or '*', file, function) -> what it is; empty: all fixed


def known_bug(exc: BaseException) -> str | None:
    """The KNOWN_BUGS entry ``exc`` is an instance of, if any."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/src/modelport/" in f.filename.replace("\\", "/")]
    if not frames:
        return None
    rel = frames[-1].filename.replace("\\", "/").split("/src/modelport/", 1)[1]
    name = frames[-1].name
    return KNOWN_BUGS.get((type(exc).__name__, rel, name)) or KNOWN_BUGS.get(("*", rel, name))


def check_case(case: Case, folder: Path):
    """``run_case``, tolerating only ModelportError and the KNOWN_BUGS (returned as their label)."""
    from modelport.errors import ModelportError

    try:
        run_case(case, folder)
    except ModelportError:
        return None
    except Exception as exc:
        label = known_bug(exc)
        if label is None:
            raise
        return label
    return None
