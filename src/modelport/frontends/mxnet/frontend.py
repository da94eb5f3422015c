"""The MXNet frontend: ``prefix-symbol.json`` + ``prefix-EPOCH.params`` into the IR (no mxnet import)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from modelport.fileio import find_params, model_stem
from modelport.frontends.registry import Loaded, frontend


def reference(source: Path, weights: Path | None, outputs: list[str] | None = None):
    """MXNet itself running the checkpoint (every internal output exposed), cut at ``outputs``."""
    from modelport.runtimes.mxnet_runner import MXNetRunner

    return MXNetRunner(source, weights or find_params(source), outputs=outputs)


@frontend("mxnet", suffixes=(".json",), describe="an MXNet -symbol.json", reference=reference)
def load(source: Path, weights: Path | None = None, inputs: dict | None = None, dynamic: bool = True,
         progress=None, outputs: list[str] | None = None) -> Loaded:
    """``outputs``: node names to cut the graph at (``--outputs``); what they do not need is dropped
    before anything is checked (training branches, labels, their unsupported ops)."""
    from modelport.frontends.mxnet.cut import cut
    from modelport.frontends.mxnet.findings import FINDINGS
    from modelport.frontends.mxnet.importer import MXNetImporter
    from modelport.frontends.mxnet.params import load_params
    from modelport.frontends.mxnet.reader import load_symbol

    graph = load_symbol(source)
    if outputs:
        graph = cut(graph, list(outputs))
    weights = Path(weights) if weights else find_params(source)
    params = load_params(weights)
    importer = MXNetImporter(graph, params, input_shapes=inputs, dynamic=dynamic)
    model = importer.convert(progress=progress)
    ops = [n for n in graph.nodes if not n.is_variable]
    layers = [(importer.values[(n.id, 0)].name, n.op) for n in ops if (n.id, 0) in importer.values]
    used = importer.weights
    return Loaded(
        model, model_stem(source), source, weights, "mxnet", Counter(n.op for n in ops), layers,
        param_count=int(sum(np.prod(w.shape, dtype=np.int64) for w in used.values())),
        param_bytes=int(sum(w.nbytes for w in used.values())),
        findings=[text for fn in FINDINGS for text in fn(graph, used)],
        reference=lambda: reference(source, weights, outputs),
        spatial_axes={v.name: list(range(2, len(v.shape))) for v in model.graph.inputs if len(v.shape) >= 3})
