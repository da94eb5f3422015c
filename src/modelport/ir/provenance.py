"""Name provenance: which tensor names the passes absorbed, and into which survivor.

Tensor names are what verify matches across engines. When a pass removes a tensor it
records it in the model's metadata (key ``modelport.absorbed``, a JSON object
``{absorbed: [survivor, kind]}``), so verify reports it instead of calling it missing:

- ``alias``: the survivor holds exactly the absorbed tensor's values (an Identity or
  Dropout removed, a Reshape of a folded constant); verify compares the reference's
  absorbed tensor with the candidate's survivor.
- ``folded``: the absorbed tensor's values no longer exist anywhere (a convolution's
  output once BatchNorm is folded into its weights); verify lists it as folded into
  the survivor.

Chains resolve: if ``a`` was aliased to ``b`` and ``b`` later folded into ``c``, ``a``
reads as folded into ``c``.
"""
from __future__ import annotations

import json

KEY = "modelport.absorbed"
ALIAS, FOLDED = "alias", "folded"
CONSTANT = "(constants)"  # the survivor of tensors constant folding turned into initializers


def _load(props: dict) -> dict[str, list[str]]:
    try:
        data = json.loads(props.get(KEY, "{}"))
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def absorb(model, gone: str, survivor: str, kind: str = FOLDED) -> None:
    """Record that tensor ``gone`` was absorbed into ``survivor`` (``ALIAS`` or ``FOLDED``)."""
    if not gone or gone == survivor:
        return
    data = _load(model.metadata_props)
    for name, (target, how) in list(data.items()):  # earlier records that pointed at `gone`
        if target == gone:
            data[name] = [survivor, FOLDED if FOLDED in (how, kind) else ALIAS]
    data[gone] = [survivor, kind]
    model.metadata_props[KEY] = json.dumps(data, sort_keys=True)


def absorbed(props: dict) -> dict[str, tuple[str, str]]:
    """``{absorbed: (survivor, kind)}`` from a model's metadata props (onnx_ir dict or proto pairs)."""
    if not isinstance(props, dict):
        props = {p.key: p.value for p in props}
    return {k: (v[0], v[1]) for k, v in _load(props).items() if isinstance(v, list) and len(v) == 2}
