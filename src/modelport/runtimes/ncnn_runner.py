"""Run an ncnn model (.param + .bin) in ncnn (pip ``ncnn``), exposing every blob by name.

Blob names are the IR tensor names the writer kept, so they match the source engine's
tensors; the copies Split layers make (``<blob>_splitncnn_<i>``) are not reported; the
helper blobs of multi-layer lowerings (``<name>_pooled``, ``<name>_padded`` ...) are, and
match nothing in the source, so verify passes over them.
ncnn blobs have no batch axis: inputs of shape ``(1, ...)`` are fed without it (batch > 1
is not accepted) and outputs come back without it (verify's comparison squeezes size-1
axes). Exact comparison: fp16/bf16 storage and arithmetic and packing of fp16 are off.
Each ``run`` uses one extractor; every input Mat is cloned from a named contiguous array
(ncnn's Mat does not own numpy memory). Build it through ``NcnnRunner.isolated(path)``:
ncnn then lives in a child process, and a crash there is one clear VerificationError.

Name provenance (what the passes absorbed) and the source op of each blob travel in a
sidecar ``<stem>.modelport.json`` written beside the .param by the ncnn target; without
it nothing is reported absorbed.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from modelport.errors import VerificationError

def sidecar_path(param: Path) -> Path:
    return Path(param).with_suffix(".modelport.json")


def _parse_param(path: Path) -> list[tuple[str, str, list[str], list[str], dict[str, str]]]:
    lines = Path(path).read_text().split("\n")
    if not lines or lines[0].strip() != "7767517":
        raise VerificationError(f"{path}: not an ncnn .param file (no magic 7767517)")
    layers = []
    for line in lines[2:]:
        parts = line.split()
        if len(parts) < 4:
            continue
        kind, name, n_in, n_out = parts[0], parts[1], int(parts[2]), int(parts[3])
        ins = parts[4:4 + n_in]
        outs = parts[4 + n_in:4 + n_in + n_out]
        params = dict(p.split("=", 1) for p in parts[4 + n_in + n_out:] if "=" in p)
        layers.append((kind, name, ins, outs, params))
    return layers


class NcnnRunner:
    name = "ncnn"

    def __init__(self, param: str | Path, num_threads: int = 1):
        import ncnn

        from modelport.runtimes._quiet import quiet

        param = Path(param)
        weights = param.with_suffix(".bin")
        for p in (param, weights):
            if not p.is_file():
                raise VerificationError(f"{p}: file not found")
        self._layers = _parse_param(param)
        self.net = ncnn.Net()
        opt = self.net.opt
        opt.use_fp16_storage = False
        opt.use_fp16_arithmetic = False
        opt.use_fp16_packed = False
        opt.use_bf16_storage = False
        opt.use_vulkan_compute = False
        opt.num_threads = int(num_threads)
        with quiet() as log:
            rp = self.net.load_param(str(param))
            rm = self.net.load_model(str(weights)) if rp == 0 else -1
        self.load_log = log[0] if log else ""
        if rp != 0 or rm != 0:
            raise VerificationError(f"ncnn cannot load {param.name}: {self.load_log.strip() or f'error {rp or rm}'}")
        meta = sidecar_path(param)
        self._meta = json.loads(meta.read_text()) if meta.is_file() else {}
        self._inputs = [outs[0] for kind, _, _, outs, _ in self._layers if kind == "Input"]
        self._input_params = {outs[0]: params for kind, _, _, outs, params in self._layers if kind == "Input"}
        self._op_of = {}
        self._order = []
        for kind, _, _, outs, _ in self._layers:
            for blob in outs:
                if kind in ("Split", "Input"):
                    continue
                self._op_of[blob] = kind
                self._order.append(blob)
        self._accepted: dict = {}

    @classmethod
    def isolated(cls, param: str | Path, num_threads: int = 1):
        from modelport.runtimes.isolated import Isolated

        return Isolated(cls, str(param), num_threads, engine="ncnn")

    def input_names(self) -> list[str]:
        return list(self._inputs)

    def input_dims(self) -> dict[str, tuple | None]:
        if "inputs" in self._meta:  # modelport's own conversions: the sizes it converted at
            return {name: tuple(self._meta["inputs"].get(name, ())) or None for name in self._inputs}
        dims = {}
        for name, params in self._input_params.items():  # Input: 0=w 1=h 11=d 2=c, outermost first
            got = [int(params[k]) for k in ("2", "11", "1", "0") if k in params and int(params[k]) > 0]
            dims[name] = (1, *got) if got else None
        return dims

    def input_types(self) -> dict[str, np.dtype]:
        return {n: np.dtype(np.float32) for n in self._inputs}

    def accepts(self, shapes: dict[str, tuple]) -> bool:
        key = tuple(sorted((k, tuple(v)) for k, v in shapes.items()))
        if key not in self._accepted:
            ok = all(len(s) >= 2 and s[0] == 1 and len(s) <= 5 for s in shapes.values())
            ok = ok and set(shapes) == set(self._inputs)
            fixed = self._meta.get("inputs", {})  # modelport converted at these sizes: shapes, priors baked in
            ok = ok and all(k not in fixed or tuple(fixed[k]) == tuple(v) for k, v in shapes.items())
            if ok:
                try:
                    self.run({k: np.zeros(s, np.float32) for k, s in shapes.items()}, "heads")
                except VerificationError:
                    ok = False
            self._accepted[key] = ok
        return self._accepted[key]

    def order(self) -> list[str]:
        return list(self._order)

    def head_names(self) -> list[str]:
        heads = self._meta.get("outputs")
        if heads:
            return list(heads)
        read = {b for _, _, ins, _, _ in self._layers for b in ins}
        return [b for b in self._order if b not in read]

    def op_of(self) -> dict[str, str]:
        return dict(self._op_of)

    def absorbed(self) -> dict[str, tuple[str, str]]:
        """The passes' records, less the names that are blobs here: a constant folded into an
        initializer that a layer reads as a tensor is a MemoryData blob of that name, and is
        compared as itself."""
        return {k: (v[0], v[1]) for k, v in self._meta.get("absorbed", {}).items() if k not in self._op_of}

    def run(self, feeds: dict[str, np.ndarray], outputs="all") -> dict[str, np.ndarray]:
        import ncnn

        names = (self.head_names() if outputs == "heads" else self._order if outputs == "all"
                 else [n for n in self._order if n in set(outputs)])
        ex = self.net.create_extractor()
        ex.set_light_mode(False)  # light mode frees a blob once its reader ran: extracting it later fails (-100)
        keep = []
        for name, array in feeds.items():
            array = np.asarray(array, dtype=np.float32)
            if array.ndim < 2 or array.shape[0] != 1:
                raise VerificationError(f"input '{name}' of shape {array.shape}: ncnn takes batch 1 only")
            body = np.ascontiguousarray(array.reshape(array.shape[1:]))
            keep.append(body)
            mat = ncnn.Mat(body).clone()
            keep.append(mat)
            if ex.input(name, mat) != 0:
                raise VerificationError(f"ncnn has no input blob '{name}'")
        result = {}
        for name in names:
            rc, mat = ex.extract(name)
            if rc != 0:
                raise VerificationError(f"ncnn failed computing blob '{name}' (error {rc})")
            result[name] = np.array(mat, copy=True)
        return result
