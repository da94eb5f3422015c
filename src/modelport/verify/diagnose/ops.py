"""numpy models of the ONNX operators the diagnosis recomputes (float64, NCHW, 2-D windows).

``OPS[op_type](inputs, attrs)`` takes the node's input values in ONNX order (None for an
absent optional input) and its attributes; it returns the first output. Each model
is checked against the candidate engine before any hypothesis uses it: recomputing
the node as it stands must reproduce the candidate's own values.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

OPS: dict[str, Callable] = {}


def op(*names: str):
    def register(fn):
        for name in names:
            OPS[name] = fn
        return fn
    return register


def _f(x):
    return None if x is None else np.asarray(x, np.float64)


def _pads(attrs, rank):
    pads = list(attrs.get("pads", [0] * (2 * rank)))
    return pads[:rank], pads[rank:]


@op("Conv")
def conv(inputs, attrs):
    x, w = _f(inputs[0]), _f(inputs[1])
    b = _f(inputs[2]) if len(inputs) > 2 else None
    if x.ndim != 4 or attrs.get("auto_pad", "NOTSET") not in ("NOTSET", ""):
        raise NotImplementedError("Conv: 2-D, explicit pads only")
    group = int(attrs.get("group", 1))
    sh, sw = attrs.get("strides", [1, 1])
    dh, dw = attrs.get("dilations", [1, 1])
    (pt, pl), (pb, pr) = _pads(attrs, 2)
    x = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    oh = (h - dh * (kh - 1) - 1) // sh + 1
    ow = (wd - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, m, oh, ow))
    mg = m // group
    for g in range(group):
        xg = x[:, g * cg:(g + 1) * cg]
        wg = w[g * mg:(g + 1) * mg]
        for i in range(kh):
            for j in range(kw):
                patch = xg[:, :, i * dh: i * dh + sh * (oh - 1) + 1: sh, j * dw: j * dw + sw * (ow - 1) + 1: sw]
                # (m, c) x (n, c, h, w) -> (m, n, h, w): tensordot goes through BLAS
                out[:, g * mg:(g + 1) * mg] += np.tensordot(wg[:, :, i, j], patch, axes=([1], [1])).transpose(1, 0, 2, 3)
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


@op("BatchNormalization")
def batchnorm(inputs, attrs):
    x, scale, bias, mean, var = (_f(v) for v in inputs[:5])
    shape = (1, -1) + (1,) * (x.ndim - 2)
    eps = float(attrs.get("epsilon", 1e-5))
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * scale.reshape(shape) + bias.reshape(shape)


@op("PRelu")
def prelu(inputs, attrs):
    x, slope = _f(inputs[0]), _f(inputs[1])
    return np.where(x < 0, x * slope, x)


@op("LeakyRelu")
def leaky_relu(inputs, attrs):
    x = _f(inputs[0])
    return np.where(x < 0, x * float(attrs.get("alpha", 0.01)), x)


@op("Relu")
def relu(inputs, attrs):
    return np.maximum(_f(inputs[0]), 0)


@op("Softmax")
def softmax(inputs, attrs):
    x = _f(inputs[0])
    axis = int(attrs.get("axis", -1))
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)




OPS["Add"] = lambda inputs, attrs: _f(inputs[0]) + _f(inputs[1])
OPS["Sub"] = lambda inputs, attrs: _f(inputs[0]) - _f(inputs[1])
OPS["Mul"] = lambda inputs, attrs: _f(inputs[0]) * _f(inputs[1])
OPS["Div"] = lambda inputs, attrs: _f(inputs[0]) / _f(inputs[1])


@op("Flatten")
def flatten(inputs, attrs):
    x = _f(inputs[0])
    axis = int(attrs.get("axis", 1)) % max(x.ndim, 1)
    return x.reshape(int(np.prod(x.shape[:axis])), -1)


@op("Gemm")
def gemm(inputs, attrs):
    a, b = _f(inputs[0]), _f(inputs[1])
    c = _f(inputs[2]) if len(inputs) > 2 else None
    a = a.T if attrs.get("transA", 0) else a
    b = b.T if attrs.get("transB", 0) else b
    y = float(attrs.get("alpha", 1.0)) * (a @ b)
    return y if c is None else y + float(attrs.get("beta", 1.0)) * c


@op("MatMul")
def matmul(inputs, attrs):
    return _f(inputs[0]) @ _f(inputs[1])


def pool_size(size, k, s, begin, end, ceil):
    span = size + begin + end - k
    out = (math.ceil(span / s) if ceil else span // s) + 1
    if ceil and (out - 1) * s >= size + begin:  # no window may start in the end padding
        out -= 1
    return out


def _pool(x, attrs, kind):
    if x.ndim != 4 or attrs.get("auto_pad", "NOTSET") not in ("NOTSET", ""):
        raise NotImplementedError("pooling: 2-D, explicit pads only")
    if any(d != 1 for d in attrs.get("dilations", [1, 1])):
        raise NotImplementedError("pooling: dilations")
    kh, kw = attrs["kernel_shape"]
    sh, sw = attrs.get("strides", [1, 1])
    (pt, pl), (pb, pr) = _pads(attrs, 2)
    ceil = bool(attrs.get("ceil_mode", 0))
    include = bool(attrs.get("count_include_pad", 0))
    n, c, h, w = x.shape
    oh, ow = pool_size(h, kh, sh, pt, pb, ceil), pool_size(w, kw, sw, pl, pr, ceil)
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        r0 = i * sh - pt
        ra, rb = max(r0, 0), min(r0 + kh, h)
        for j in range(ow):
            c0 = j * sw - pl
            ca, cb = max(c0, 0), min(c0 + kw, w)
            window = x[:, :, ra:rb, ca:cb]
            if kind == "max":
                out[:, :, i, j] = window.max(axis=(2, 3)) if window.size else -np.inf
            else:
                if include:  # cells inside the padded extent [-pad, size + pad)
                    count = (min(r0 + kh, h + pb) - max(r0, -pt)) * (min(c0 + kw, w + pr) - max(c0, -pl))
                else:
                    count = (rb - ra) * (cb - ca)
                out[:, :, i, j] = window.sum(axis=(2, 3)) / max(count, 1)
    return out


@op("MaxPool")
def max_pool(inputs, attrs):
    return _pool(_f(inputs[0]), attrs, "max")


@op("AveragePool")
def average_pool(inputs, attrs):
    return _pool(_f(inputs[0]), attrs, "avg")


@op("GlobalAveragePool")
def global_average_pool(inputs, attrs):
    x = _f(inputs[0])
    return x.mean(axis=tuple(range(2, x.ndim)), keepdims=True)


@op("GlobalMaxPool")
def global_max_pool(inputs, attrs):
    x = _f(inputs[0])
    return x.max(axis=tuple(range(2, x.ndim)), keepdims=True)


@op("Clip")
def clip(inputs, attrs):
    x = _f(inputs[0])
    lo = _f(inputs[1]) if len(inputs) > 1 and inputs[1] is not None else -np.inf
    hi = _f(inputs[2]) if len(inputs) > 2 and inputs[2] is not None else np.inf
    return np.clip(x, lo, hi)
