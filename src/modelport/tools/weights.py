"""Weights: list every weight of a model, and diff two models' weights (PITFALL 25).

``read_weights(path)`` reads one format, without converting anything:

- MXNet ``-symbol.json`` (+ its ``.params``, found like ``convert`` finds it): the
  weights as zero-copy views of the mapped ``.params``, and every layer's weight inputs
  resolved through the graph's edges (never by name guessing, PITFALL 8). A BatchNorm
  with ``fix_gamma`` true or absent is marked: MXNet uses gamma = 1 whatever is stored
  (PITFALL 3), so the diff compares the 1s MXNet uses.
- a bare ``.params``: the arrays only (``arg:``/``aux:`` stripped); compared by name.
- ``.onnx``: the initializers (``onnx.load``), each node's initializer inputs, and the
  names the passes absorbed (``modelport.absorbed`` metadata, ``ir/provenance.py``).

``diff_weights(a, b)`` pairs weights through the layers when both sides have a graph
(a layer's weights with the weights of the layer of the same output name in the other,
slot by slot), else by weight name. A source convolution whose output the conversion
folded into a BatchNorm (``X`` absorbed as folded into ``Y``, ``Y`` a source BatchNorm
reading ``X``) is compared with the converted layer ``Y`` after undoing the fold: the
converted weight divided by ``s = gamma / sqrt(var + eps)`` per output channel, with
gamma, var and eps the source's (gamma = 1 under fix_gamma), against the source weight;
the converted bias against ``(b - mean) * s + beta``. When they differ, the per-channel
scale the conversion applied tells which BatchNorm parameter it took: the stored gamma
instead of 1 (fix_gamma), another eps, or an unexplained scale.

Each pair is flagged: all-zero / all-one output channels on one side only, a uniform
scale mismatch, a transposed weight (2-D, same values transposed), a weight missing on
one side.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from modelport.tools.weightsets import (  # noqa: F401 - readers re-exported: the API of this module
    BN_OPS, FOLD_PRODUCERS, PITFALL_POINTER, Layer, WeightSet, read_mxnet, read_onnx, read_params, read_weights)

RTOL, ATOL_REL = 1e-4, 1e-6  # two weights are the same within these

# --------------------------------------------------------------------------- listing


@dataclass
class WeightStats:
    name: str
    shape: tuple
    dtype: str
    min: float
    max: float
    mean: float
    std: float
    first: list[float]
    flags: list[str]
    layer: str = ""


def channel_flags(a: np.ndarray) -> list[str]:
    """All-zero / all-one output channels (axis 0), or a whole vector of zeros / ones."""
    if a.size == 0 or a.dtype.kind not in "fiu":
        return []
    if a.ndim >= 2 and a.shape[0] > 1:
        rows = a.reshape(a.shape[0], -1)
        flags = []
        for value, word in ((0, "zero"), (1, "one")):
            count = int(np.sum(np.all(rows == value, axis=1)))
            if count:
                flags.append(f"{count} of {a.shape[0]} channels all {word}")
        return flags
    if np.all(a == 0):
        return ["all zero"]
    if np.all(a == 1):
        return ["all one"]
    return []


def stats(ws: WeightSet, first: int = 5) -> list[WeightStats]:
    owner = ws.owner()
    out = []
    for name, a in ws.arrays.items():
        flat = a.reshape(-1)
        num = a.dtype.kind in "fiub" and a.size
        f = flat.astype(np.float64) if a.dtype.kind == "b" else flat
        flags = channel_flags(a)
        if name in ws.notes:
            flags.append(ws.notes[name])
        out.append(WeightStats(
            name, tuple(a.shape), str(a.dtype),
            float(np.min(f)) if num else float("nan"), float(np.max(f)) if num else float("nan"),
            float(np.mean(f, dtype=np.float64)) if num else float("nan"),
            float(np.std(f, dtype=np.float64)) if num else float("nan"),
            [float(v) for v in flat[:first]] if num else [], flags, owner.get(name, "")))
    return out


# --------------------------------------------------------------------------- diff


@dataclass
class DiffRow:
    left: str
    right: str
    layer: str
    left_shape: tuple | None
    right_shape: tuple | None
    status: str  # "same", "differs", "transposed", "missing", "extra", "added", "folded", "not compared"
    cosine: float = float("nan")
    max_abs: float = float("nan")
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status in ("same", "folded", "added")


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0.0 and nb == 0.0:
        return 1.0
    return 0.0 if na == 0.0 or nb == 0.0 else float(a @ b / (na * nb))


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    scale = float(np.max(np.abs(a))) if a.size else 0.0
    return bool(np.allclose(b, a, rtol=RTOL, atol=max(ATOL_REL * scale, 1e-12)))


def _channel_changes(a: np.ndarray, b: np.ndarray, axis: int = 0) -> list[str]:
    """All-zero / all-one channels on one side only."""
    if a.ndim == 0 or a.shape != b.shape or a.dtype.kind not in "fiu" or b.dtype.kind not in "fiu":
        return []
    ra = np.moveaxis(a, axis, 0).reshape(a.shape[axis], -1)
    rb = np.moveaxis(b, axis, 0).reshape(b.shape[axis], -1)
    notes = []
    for value, word in ((0, "zero"), (1, "one")):
        za, zb = np.all(ra == value, axis=1), np.all(rb == value, axis=1)
        for mask, side in ((zb & ~za, "converted/right"), (za & ~zb, "source/left")):
            if mask.any():
                where = np.flatnonzero(mask)
                shown = ", ".join(map(str, where[:8])) + (" ..." if len(where) > 8 else "")
                notes.append(f"{int(mask.sum())} of {len(mask)} channels all {word} on the {side} side only "
                             f"(channel {shown})")
    return notes


def _scale_note(a: np.ndarray, b: np.ndarray) -> str | None:
    a64, b64 = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    denom = float(a64 @ a64)
    if denom == 0:
        return None
    r = float(a64 @ b64) / denom
    if abs(r - 1) > 1e-3 and np.allclose(b64, r * a64, rtol=1e-3, atol=1e-6 * np.max(np.abs(b64))):
        return f"scale mismatch: right = {r:.6g} x left"
    return None


def compare_pair(left: str, a: np.ndarray, right: str, b: np.ndarray, layer: str = "") -> DiffRow:
    row = DiffRow(left, right, layer, tuple(a.shape), tuple(b.shape), "same")
    if a.shape != b.shape:
        if a.ndim == 2 and b.shape == a.shape[::-1] and _close(a.T, b):
            row.status, row.cosine = "transposed", 1.0
            row.notes.append(f"the right side holds the left's {a.shape} weight transposed")
            return row
        if a.size != b.size:
            row.status = "differs"
            row.notes.append(f"shape {b.shape} vs {a.shape}")
            return row
        b = b.reshape(a.shape)
        row.notes.append("reshaped")
    if a.dtype.kind not in "fiub" or b.dtype.kind not in "fiub":
        row.status = "same" if np.array_equal(a, b) else "differs"
        return row
    row.cosine = _cos(a, b)
    row.max_abs = float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) if a.size else 0.0
    if not _close(a, b):
        row.status = "differs"
        note = _scale_note(a, b)
        if note:
            row.notes.append(note)
    row.notes += _channel_changes(a, b)
    return row


def _gamma_note(bn: dict, applied_gamma: np.ndarray, layer: str) -> str | None:
    """Which gamma the other side used, when it is not the one the source engine uses."""
    if bn["fix_gamma"] and applied_gamma.shape == bn["stored"].shape and _close(bn["stored"].astype(np.float64),
                                                                                applied_gamma):
        stored = bn["stored"]
        shown = "0" if not np.any(stored) else f"{np.min(stored):.4g}..{np.max(stored):.4g}"
        return (f"gamma: layer {layer} has fix_gamma=True, so MXNet uses gamma = 1, but the conversion used the "
                f"stored gamma ({bn['gamma_name']} = {shown}) - PITFALL 3")
    return None


def _channel_axis(layer: Layer, weight: np.ndarray) -> int | None:
    if layer.op in ("Conv", "Convolution", "FullyConnected"):
        return 0
    if layer.op == "Gemm":
        return 0 if layer.attrs.get("transB", 0) else 1
    if layer.op in ("ConvTranspose", "Deconvolution") and layer.attrs.get("group", 1) == 1:
        return 1
    return None


def _per_channel(x: np.ndarray, axis: int) -> np.ndarray:
    return np.moveaxis(x.astype(np.float64), axis, 0).reshape(x.shape[axis], -1)


def compare_folded(a: WeightSet, conv: Layer, bn_layer: Layer, b: WeightSet, folded: Layer) -> list[DiffRow]:
    """Source conv ``conv`` + BatchNorm ``bn_layer`` vs the converted layer ``folded`` (see the module doc)."""
    bn = a.bn(bn_layer)
    how = (f"folded: compared after undoing the BatchNorm fold (converted / s, s = gamma / sqrt(var + eps) "
           f"of {bn_layer.name})")
    rows = []
    if bn is None or not conv.weights or not folded.weights:
        return [DiffRow(w, "", bn_layer.name, tuple(a.arrays[w].shape), None, "not compared",
                        notes=["folded into a layer modelport cannot unfold"]) for w in conv.weights + bn_layer.weights]
    w, wf = a.arrays[conv.weights[0]], b.arrays[folded.weights[0]]
    axis = _channel_axis(folded, wf)
    if axis is None or wf.shape[axis] != bn["gamma"].shape[0] or w.size != wf.size:
        return [DiffRow(conv.weights[0], folded.weights[0], bn_layer.name, tuple(w.shape), tuple(wf.shape),
                        "not compared", notes=[f"folded into {folded.op}, which modelport does not unfold"])]
    if w.shape != wf.shape:
        w = w.reshape(wf.shape)  # FullyConnected (N, K) vs Gemm transB=1 (N, K)
    gamma, var, mean, beta = (bn[k].astype(np.float64) for k in ("gamma", "var", "mean", "beta"))
    root = np.sqrt(var + np.float64(np.float32(bn["eps"])))
    s = gamma / root
    alpha = float(folded.attrs.get("alpha", 1.0))
    shape = [1] * wf.ndim
    shape[axis] = -1
    with np.errstate(divide="ignore", invalid="ignore"):
        unfolded = np.where(s.reshape(shape) != 0, wf.astype(np.float64) * alpha / s.reshape(shape), 0.0)
    row = compare_pair(conv.weights[0], w.astype(np.float64), folded.weights[0], unfolded, bn_layer.name)
    row.right_shape = tuple(wf.shape)
    row.notes.insert(0, how)
    row.notes = [n for n in row.notes if not n.startswith("reshaped")]
    channel_notes = _channel_changes(w, wf * 1.0, axis) if axis == 0 else []
    row.notes = [n for n in row.notes if "channels all" not in n] + channel_notes
    gamma_row = DiffRow(bn["gamma_name"], f"(folded into {folded.weights[0]})", bn_layer.name,
                        tuple(bn["stored"].shape), None, "folded", notes=[how])
    if row.status != "same":
        # the per-channel scale the conversion applied: k = <wf, w> / <w, w>
        pw, pf = _per_channel(w, axis), _per_channel(wf, axis) * alpha
        denom = np.einsum("ij,ij->i", pw, pw)
        k = np.where(denom > 0, np.einsum("ij,ij->i", pw, pf) / np.where(denom > 0, denom, 1), 0.0)
        fits = bool(np.all(np.isfinite(k))) and np.max(np.abs(pf - k[:, None] * pw)) <= 1e-3 * max(np.max(np.abs(pf)), 1e-30)
        applied_gamma = k * root
        note = _gamma_note(bn, applied_gamma, bn_layer.name) if fits else (
            f"not a per-channel scale: the converted weights of {bn_layer.name} differ from the source's conv "
            f"after undoing the fold (cosine {row.cosine:.6f})")
        if note is None and np.all(k != 0):
            with np.errstate(invalid="ignore"):
                eps_used = (gamma / k) ** 2 - var
            if np.all(eps_used > 0) and np.ptp(eps_used) <= 0.1 * np.max(eps_used) \
                    and not np.isclose(np.median(eps_used), bn["eps"], rtol=1e-2):
                note = (f"eps: the conversion used eps = {np.median(eps_used):.3g}, layer {bn_layer.name} has "
                        f"{bn['eps']:.3g} - PITFALL 4")
        if note is None:
            ratio = k / np.where(s != 0, s, np.nan)
            if np.all(np.isfinite(ratio)) and np.ptp(ratio) < 1e-3 * max(1.0, np.max(np.abs(ratio))):
                note = f"scale mismatch: converted = {np.median(ratio):.6g} x the source's folded weight"
            else:
                note = f"per-channel scale differs from the BatchNorm of {bn_layer.name} (gamma, var or eps)"
        row.notes.append(note)
        if note.startswith("gamma"):
            gamma_row.status, gamma_row.notes = "differs", [note]
    rows.append(row)
    # bias: converted b' against (b - mean) * s + beta
    b_src = a.arrays[conv.weights[1]].astype(np.float64).ravel() if len(conv.weights) > 1 else np.zeros_like(s)
    expected = (b_src - mean) * s + beta
    if len(folded.weights) > 1:
        bf = b.arrays[folded.weights[1]].astype(np.float64).ravel() * float(folded.attrs.get("beta", 1.0))
        brow = compare_pair(f"{bn_layer.name}: (b - mean) * s + beta", expected, folded.weights[1], bf, bn_layer.name)
        brow.notes.insert(0, "folded bias: the converted bias against the source's bias and BatchNorm")
        rows.append(brow)
    rows.append(gamma_row)
    for name in bn_layer.weights[1:]:
        rows.append(DiffRow(name, f"(folded into {folded.name})", bn_layer.name, tuple(a.arrays[name].shape), None,
                            "folded", notes=[how]))
    return rows


def _resolve(b: WeightSet, name: str) -> Layer | None:
    if name in b.layers:
        return b.layers[name]
    survivor, kind = b.absorbed.get(name, (None, None))
    return b.layers.get(survivor) if kind == "alias" else None


def diff_weights(a: WeightSet, b: WeightSet) -> list[DiffRow]:
    """Every weight of ``a`` paired with ``b``'s (see the module doc); ``b``'s unpaired ones last."""
    if not (a.layers and b.layers):
        return _diff_by_name(a, b)
    rows: list[DiffRow] = []
    used: set[str] = set()
    readers: dict[str, list[Layer]] = {}
    for layer in a.layers.values():
        for name in layer.inputs:
            readers.setdefault(name, []).append(layer)
    done_bn: set[str] = set()
    for layer in a.layers.values():
        if not layer.weights or layer.name in done_bn:
            continue
        survivor, kind = b.absorbed.get(layer.name, (None, None))
        bn_next = [r for r in readers.get(layer.name, []) if r.op in BN_OPS]
        target = b.layers.get(survivor) if kind == "folded" else None
        if target is not None and bn_next and bn_next[0].name == survivor and target.op in FOLD_PRODUCERS:
            rows += compare_folded(a, layer, bn_next[0], b, target)
            used.update(target.weights)
            done_bn.add(bn_next[0].name)
            continue
        other = _resolve(b, layer.name)
        if other is None or not other.weights:
            for name in layer.weights:
                if name in b.arrays:  # not through the graph, but the name exists
                    rows.append(compare_pair(name, a.value(name), name, b.arrays[name], layer.name))
                    used.add(name)
                else:
                    what = f"folded into {survivor}" if kind == "folded" else "no layer of this name holds weights"
                    rows.append(DiffRow(name, "", layer.name, tuple(a.arrays[name].shape), None, "missing",
                                        notes=[f"missing on the right ({what})"]))
            continue
        if layer.op in BN_OPS and other.op in FOLD_PRODUCERS:
            continue  # handled with the convolution before it
        for i, name in enumerate(layer.weights):
            if i >= len(other.weights):
                rows.append(DiffRow(name, "", layer.name, tuple(a.arrays[name].shape), None, "missing",
                                    notes=[f"{other.name} ({other.op}) has no weight in this slot"]))
                continue
            right = other.weights[i]
            used.add(right)
            row = compare_pair(name, a.value(name), right, b.value(right), layer.name)
            bn = a.bn(layer)
            if bn is not None and i == 0 and row.status != "same":
                note = _gamma_note(bn, b.value(right).astype(np.float64).ravel(), layer.name)
                if note:
                    row.notes.insert(0, note)
            rows.append(row)
        for right in other.weights[len(layer.weights):]:
            used.add(right)
            rows.append(DiffRow("", right, layer.name, None, tuple(b.arrays[right].shape), "extra",
                                notes=["only on the right"]))
    owner = b.owner()
    for name, arr in b.arrays.items():
        if name not in used and name in owner:
            source = a.layers.get(owner[name])
            if source is None or not source.weights:  # e.g. Clip's bounds, a Reshape's shape
                rows.append(DiffRow("", name, owner[name], None, tuple(arr.shape), "added",
                                    notes=["a constant the conversion added (the source layer has no weights)"]))
            else:
                rows.append(DiffRow("", name, owner[name], None, tuple(arr.shape), "extra", notes=["only on the right"]))
    return rows


def _diff_by_name(a: WeightSet, b: WeightSet) -> list[DiffRow]:
    rows = []
    owner = a.owner()
    for name in a.arrays:
        if name in b.arrays:
            rows.append(compare_pair(name, a.value(name), name, b.value(name), owner.get(name, "")))
        else:
            rows.append(DiffRow(name, "", owner.get(name, ""), tuple(a.arrays[name].shape), None, "missing",
                                notes=["missing on the right"]))
    rows += [DiffRow("", n, "", None, tuple(v.shape), "extra", notes=["only on the right"])
             for n, v in b.arrays.items() if n not in a.arrays]
    return rows
