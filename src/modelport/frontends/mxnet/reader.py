"""Read an MXNet ``-symbol.json`` in any of its dialects, without importing mxnet.

Dialects (PITFALLS 1-2): MXNet <= 0.8 stores operator attributes under ``param``
(user attributes such as ``__lr_mult__`` under ``attr``) and adds
``backward_source_id``; 0.9-1.1 use ``attr``; newer versions ``attrs``. Inputs are
``[node_id, output_index]`` or ``[node_id, output_index, version]``. All attribute
values are strings.

MXNet allows two operator nodes to share a name (a block called twice); the second and
later ones are renamed ``name__2``... here (``modelport.names``, the rule the MXNet
runner applies too), so that every tensor has one name; ``MXGraph.renamed`` maps each
new name back to the name in the file.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from modelport.errors import ModelFileError
from modelport.names import unique_node_names

_ATTR_KEYS = ("param", "attr", "attrs")


@dataclass
class MXNode:
    id: int
    op: str
    name: str
    attrs: dict[str, str]
    inputs: list[tuple[int, int]]

    @property
    def is_variable(self) -> bool:
        return self.op == "null"


@dataclass
class MXGraph:
    nodes: list[MXNode]
    heads: list[tuple[int, int]]
    arg_nodes: list[int]
    path: str = "<memory>"
    dialect: str = "attrs"
    version: int | None = None
    consumers: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    renamed: dict[str, str] = field(default_factory=dict)  # new name -> the name in the file

    def __post_init__(self) -> None:
        for node in self.nodes:
            for slot, (src, _) in enumerate(node.inputs):
                self.consumers.setdefault(src, []).append((node.id, slot))

    def by_name(self, name: str) -> MXNode:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)


def _entry(raw, where: str) -> tuple[int, int]:
    if not isinstance(raw, list) or len(raw) < 2 or not all(isinstance(x, int) for x in raw[:2]):
        raise ValueError(f"{where}: expected [node_id, output_index(, version)], got {raw!r}")
    return raw[0], raw[1]


def _node_attrs(raw: dict) -> tuple[dict[str, str], str]:
    merged: dict[str, str] = {}
    dialect = "attrs"
    for key in _ATTR_KEYS:  # later keys win; 'param' holds the op attributes in v0.8
        block = raw.get(key)
        if block:
            if not isinstance(block, dict):
                raise ValueError(f"'{key}' must be an object")
            merged.update({str(k): str(v) for k, v in block.items()})
            dialect = key
    if "param" in raw:
        dialect = "param"
    return merged, dialect


def parse_symbol(doc: dict, path: str = "<memory>") -> MXGraph:
    """Build an MXGraph from a decoded symbol JSON document."""
    try:
        raw_nodes = doc["nodes"]
        nodes: list[MXNode] = []
        dialects = set()
        if not isinstance(raw_nodes, list):
            raise ValueError("'nodes' must be a list")
        for i, raw in enumerate(raw_nodes):
            if not isinstance(raw, dict):
                raise ValueError(f"node {i} is not an object")
            attrs, dialect = _node_attrs(raw)
            dialects.add(dialect)
            inputs = [_entry(e, f"node {i} ({raw.get('name')}) inputs") for e in raw["inputs"]]
            for src, _ in inputs:
                if not 0 <= src < i:
                    raise ValueError(f"node {i} ({raw['name']}) reads node {src}, not an earlier node")
            nodes.append(MXNode(i, str(raw["op"]), str(raw["name"]), attrs, inputs))
        heads = [_entry(h, "heads") for h in doc["heads"]]
        for src, _ in heads:
            if not 0 <= src < len(nodes):
                raise ValueError(f"head refers to node {src}, which does not exist")
        arg_nodes = [int(a) for a in doc.get("arg_nodes", [])]
    except (KeyError, TypeError, ValueError, OverflowError) as exc:  # Overflow: int(Infinity)
        msg = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ModelFileError(f"{path}: not an MXNet symbol file: {msg}") from None
    version = None
    top_attrs = doc.get("attrs") or {}
    if isinstance(top_attrs, dict) and "mxnet_version" in top_attrs:
        try:
            version = int(top_attrs["mxnet_version"][1])
        except (TypeError, ValueError, LookupError, OverflowError):
            version = None
    dialect = "param" if "param" in dialects else ("attr" if "attr" in dialects else "attrs")
    renamed = {}
    for node, name in zip(nodes, unique_node_names((n.name, n.is_variable) for n in nodes)):
        if name != node.name:
            renamed[name], node.name = node.name, name
    return MXGraph(nodes, heads, arg_nodes, path=path, dialect=dialect, version=version, renamed=renamed)


def load_symbol(path: str | Path) -> MXGraph:
    """Read ``prefix-symbol.json``; every failure is one ModelFileError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: symbol file not found")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ModelFileError(f"{path}: not a text file (is this the .params file?)") from None
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{path}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:  # integers past Python's digit limit; nesting past the stack
        raise ModelFileError(f"{path}: unreadable JSON: {str(exc).splitlines()[0][:200]}") from None
    if not isinstance(doc, dict):
        raise ModelFileError(f"{path}: not an MXNet symbol file: top level is not an object")
    return parse_symbol(doc, str(path))
