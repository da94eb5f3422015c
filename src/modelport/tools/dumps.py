"""NNIE mapper / Caffe layer dumps: read, write, match layers, compare by cosine (PITFALLS 23).

Formats (one value per line, blank lines ignored):

- ``.hex``: the NNIE mapper's dumps, 32-bit two's-complement fixed point with 12
  fractional bits, written as hex digits (``fffff000`` is -1.0; an optional ``0x``):
  value = signed_int32 / 4096. Writing rounds to the nearest 1/4096 and saturates at
  the int32 limits (0x7fffffff = 524287.999755859375, 0x80000000 = -524288).
- ``.float``: Caffe reference dumps, one number per line (scientific notation or not).
  Written with 9 significant digits, which round-trips every float32 exactly.
- ``.npz``: ``modelport verify --save-tensors DIR`` output, {tensor name: array}.

A side of a comparison is a folder of ``.hex``/``.float`` files (layer name = file
name without the suffix), one such file, or an ``.npz``; two single files are compared
with each other whatever their names. Layers are matched by name,
or through the mapper's ``cnn_net_tree.dot``: a dump named after a dot node (its id)
or one of its layers matches the other side's dump of that node's layers or tops; in-place
layers (several layers writing one top) form a group, and a dump named after the shared
top matches the group's last layer present on the other side (after an in-place chain
only the last layer's output exists). With a dot file, layers are listed in its node
order (a folder's dumps otherwise in name order, an .npz's in saved = execution order),
so the first layer below 0.99 is the earliest.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from modelport.errors import ModelFileError
from modelport.text import plural
from modelport.tools.levels import level

FRACTION_BITS = 12
SCALE = float(1 << FRACTION_BITS)
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
SUFFIXES = (".hex", ".float")
_HEX = re.compile(r"(?:0[xX])?([0-9a-fA-F]{1,8})")


def _lines(path: Path):
    try:
        text = path.read_text(encoding="ascii", errors="strict")
    except FileNotFoundError:
        raise ModelFileError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[:exc.start].count(b"\n") + 1
        raise ModelFileError(f"{path}:{line}: not a text dump (byte 0x{exc.object[exc.start]:02x})") from None
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line:
            yield number, line


def read_hex(path: str | Path) -> np.ndarray:
    """A mapper ``.hex`` dump as float64 values (signed 32-bit / 4096)."""
    path = Path(path)
    ints = []
    for number, line in _lines(path):
        match = _HEX.fullmatch(line)
        if match is None:
            raise ModelFileError(f"{path}:{number}: {line[:40]!r} is not a 32-bit hex value (expected up to 8 hex digits)")
        ints.append(int(match.group(1), 16))
    raw = np.array(ints, dtype=np.uint32)
    return raw.view(np.int32).astype(np.float64) / SCALE


def to_fixed(values: np.ndarray) -> np.ndarray:
    """Values as int32 fixed point (12 fractional bits): rounded, saturated at the int32 limits."""
    scaled = np.rint(np.asarray(values, dtype=np.float64).ravel() * SCALE)
    return np.clip(scaled, INT32_MIN, INT32_MAX).astype(np.int64).astype(np.int32)


def write_hex(path: str | Path, values: np.ndarray) -> None:
    fixed = to_fixed(values).view(np.uint32)
    Path(path).write_text("".join(f"{v:08x}\n" for v in fixed.tolist()), encoding="ascii")


def read_float(path: str | Path) -> np.ndarray:
    """A Caffe ``.float`` dump as float64 values."""
    path = Path(path)
    values = []
    for number, line in _lines(path):
        try:
            values.append(float(line))
        except ValueError:
            raise ModelFileError(f"{path}:{number}: {line[:40]!r} is not a number") from None
    return np.array(values, dtype=np.float64)


def write_float(path: str | Path, values: np.ndarray) -> None:
    """One value per line; float32 input round-trips exactly (9 significant digits), float64 with 17."""
    values = np.asarray(values)
    spec = ".8e" if values.dtype != np.float64 else ".16e"
    Path(path).write_text("".join(f"{v:{spec}}\n" for v in values.ravel().tolist()), encoding="ascii")


def read_dump(path: str | Path) -> np.ndarray:
    path = Path(path)
    if path.suffix == ".hex":
        return read_hex(path)
    if path.suffix == ".float":
        return read_float(path)
    raise ModelFileError(f"{path}: unknown dump type (expected .hex or .float)")


class Side:
    """One side of a comparison: {layer name: values}, read lazily."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._npz = None
        self.single = self.path.suffix in SUFFIXES and self.path.is_file()
        if not self.path.exists():
            raise ModelFileError(f"{self.path}: not found")
        if self.path.is_dir():
            files = sorted(p for p in self.path.iterdir() if p.suffix in SUFFIXES and p.is_file())
            if not files:
                raise ModelFileError(f"{self.path}: no .hex or .float dumps in this folder")
            self.files = {p.stem: p for p in files}
        elif self.path.suffix == ".npz":
            try:
                self._npz = np.load(self.path, allow_pickle=False)
            except Exception as exc:  # noqa: BLE001 - zipfile/numpy errors
                raise ModelFileError(f"{self.path}: not a readable .npz ({exc})") from None
            self.files = {name: None for name in self._npz.files}
        elif self.path.suffix in SUFFIXES:
            self.files = {self.path.stem: self.path}
        else:
            raise ModelFileError(f"{self.path}: expected a folder of .hex/.float dumps, a .hex/.float file or an .npz")

    def names(self) -> list[str]:
        return list(self.files)

    def values(self, name: str) -> np.ndarray:
        if self._npz is not None:
            return np.asarray(self._npz[name], dtype=np.float64).ravel()
        return read_dump(self.files[name])


_DOT_NODE = re.compile(r'^\s*("(?:[^"\\]|\\.)*"|[\w.\-/:]+)\s*\[(.*)\]\s*;?\s*$')
_DOT_LABEL = re.compile(r'label\s*=\s*("(?:[^"\\]|\\.)*"|<.*>|[^,\]\s]+)')
_KEYED = re.compile(r"\b(name|layer|layer_name|top)\s*[:=]\s*([^\s,;|{}\\]+)")


def _unquote(text: str) -> str:
    return text[1:-1] if text.startswith('"') and text.endswith('"') else text


@dataclass
class DotNode:
    id: str
    layers: list[str]  # layer names (``name:`` entries, or the label's parts)
    tops: list[str]  # ``top:`` entries


class DotGraph:
    """The layer groups of a mapper ``cnn_net_tree.dot``."""

    def __init__(self, nodes: list[DotNode]):
        self.nodes = nodes
        self.inplace: dict[str, list[str]] = {}  # top -> the layers writing it, in order
        for node in nodes:
            for top in node.tops:
                self.inplace.setdefault(top, []).extend(n for n in node.layers if n not in self.inplace.get(top, []))

    def position(self, name: str) -> int:
        """The index of the first node that names ``name`` (id, layer or top); after all nodes if none."""
        for k, node in enumerate(self.nodes):
            if name == node.id or name in node.layers or name in node.tops:
                return k
        return len(self.nodes)

    def candidates(self, name: str) -> list[str]:
        """The names a dump called ``name`` may have on the other side, most likely first."""
        out = []
        group = self.inplace.get(name, [])
        if len(group) > 1:  # a blob written in place by several layers: its final value is the last one's
            out += reversed(group)
        out.append(name)
        for node in self.nodes:
            if name == node.id or name in node.layers:
                out += node.layers + node.tops + [node.id]
                for top in node.tops:  # the group this layer's output belongs to
                    out += reversed(self.inplace.get(top, []))
        return list(dict.fromkeys(out))


def read_dot(path: str | Path) -> DotGraph:
    """The nodes of a mapper ``cnn_net_tree.dot``: node id, layer names and tops from each label.

    A label's layer names are the values of its ``name:`` (or ``layer:``) keys and its
    tops those of ``top:``; a label without such keys is split on line breaks, ``|``,
    ``+``, ``,`` and ``;`` into layer names.
    """
    path = Path(path)
    nodes = []
    for number, line in _lines(path):
        if "->" in line or line.startswith(("digraph", "graph", "node", "edge", "}", "{", "//", "#", "rankdir")):
            continue
        match = _DOT_NODE.match(line)
        if match is None:
            continue
        node, attrs = _unquote(match.group(1)), match.group(2)
        label = _DOT_LABEL.search(attrs)
        layers, tops = [], []
        if label:
            text = _unquote(label.group(1)).replace("\\n", "\n").replace("\\l", "\n").replace("\\r", "\n")
            keyed = _KEYED.findall(text)
            if keyed:
                layers = [v for k, v in keyed if k != "top"]
                tops = [v for k, v in keyed if k == "top"]
            else:
                layers = [p.strip().strip('"') for p in re.split(r"[\n|+,;{}]", text)]
                layers = [p for p in layers if p and not re.fullmatch(r"[\d\sx*()]+", p)]
        nodes.append(DotNode(node, list(dict.fromkeys(layers)), list(dict.fromkeys(tops))))
    if not nodes:
        raise ModelFileError(f"{path}: no nodes found (expected a graphviz digraph from the NNIE mapper)")
    return DotGraph(nodes)


@dataclass
class LayerResult:
    left: str
    right: str | None
    size: int = 0
    cosine: float = float("nan")
    max_abs: float = float("nan")
    note: str = ""

    @property
    def level(self) -> str | None:
        return level(self.cosine)


@dataclass
class DumpComparison:
    left: str
    right: str
    rows: list[LayerResult] = field(default_factory=list)
    unmatched_right: list[str] = field(default_factory=list)

    @property
    def worst(self) -> LayerResult | None:
        done = [r for r in self.rows if r.cosine == r.cosine]
        return min(done, key=lambda r: r.cosine) if done else None


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0.0 and nb == 0.0:
        return 1.0
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(a @ b / (na * nb))


def _pairs(left: Side, right: Side, dot: DotGraph | None) -> list[tuple[str, str | None]]:
    if left.single and right.single:  # two files: compared whatever their names
        return [(left.names()[0], right.names()[0])]
    rnames = set(right.names())
    pairs = []
    names = left.names()
    if dot:  # in the graph's order, so that the first bad layer is the earliest
        names = sorted(names, key=dot.position)
    for name in names:
        candidates = dot.candidates(name) if dot else [name]
        pairs.append((name, next((c for c in candidates if c in rnames), None)))
    return pairs


def compare_dumps(left: str | Path, right: str | Path, dot: str | Path | None = None) -> DumpComparison:
    """Cosine per layer between two sides (folders of .hex/.float dumps, single dumps, .npz)."""
    lside, rside = Side(left), Side(right)
    graph = read_dot(dot) if dot else None
    result = DumpComparison(str(left), str(right))
    used = set()
    for lname, rname in _pairs(lside, rside, graph):
        if rname is None:
            result.rows.append(LayerResult(lname, None, note="no counterpart" + (" (nor through the dot file)" if graph else "")))
            continue
        used.add(rname)
        a, b = lside.values(lname), rside.values(rname)
        if a.size != b.size:
            result.rows.append(LayerResult(lname, rname, a.size, note=f"{plural(a.size, 'value')} vs {b.size}"))
            continue
        diff = float(np.max(np.abs(a - b))) if a.size else 0.0
        result.rows.append(LayerResult(lname, rname, a.size, cosine(a, b), diff))
    result.unmatched_right = [n for n in rside.names() if n not in used]
    return result


def save_tensors(folder: str | Path, shapes: dict[str, tuple], feeds: dict, reference: dict, candidate: dict) -> Path:
    """``verify --save-tensors``: FOLDER/<shape>/{inputs,reference,candidate}.npz, {tensor name: array}."""
    tag = "_".join("x".join(map(str, s)) for s in shapes.values())
    out = Path(folder) / tag
    out.mkdir(parents=True, exist_ok=True)
    for name, arrays in (("inputs", feeds), ("reference", reference), ("candidate", candidate)):
        write_npz(out / f"{name}.npz", arrays)
    return out


def write_npz(path: Path, arrays: dict) -> None:
    """``np.savez`` for any tensor name (``np.savez(path, **arrays)`` breaks on a tensor called ``file``)."""
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, value in arrays.items():
            with zf.open(f"{key}.npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(value), allow_pickle=False)


def print_comparison(result: DumpComparison, console) -> int:
    """The per-layer table and a summary on a rich console; returns the exit code (1 if a layer is bad)."""
    from rich.table import Table

    from modelport.text import plural
    from modelport.tools.levels import BAD, FINE, RICH

    table = Table(title=f"{result.left} vs {result.right}", header_style="bold")
    for col, justify in (("#", "right"), ("left", "left"), ("right", "left"), ("values", "right"),
                         ("cosine", "right"), ("max abs", "right"), ("level", "left")):
        table.add_column(col, justify=justify, overflow="fold")
    for i, row in enumerate(result.rows):
        lvl = row.level
        shown = f"[{RICH[lvl]}]{lvl}[/]" if lvl else f"[dim]{row.note or '-'}[/]"
        if lvl and row.note:
            shown += f" ({row.note})"
        table.add_row(str(i), row.left, row.right or "-", str(row.size) if row.size else "-",
                      "-" if row.cosine != row.cosine else f"{row.cosine:.6f}",
                      "-" if row.max_abs != row.max_abs else f"{row.max_abs:.3g}", shown)
    console.print(table)
    done = [r for r in result.rows if r.level]
    console.print(f"{plural(len(done), 'layer')} compared (cosine >= 0.99 fine, 0.95-0.99 suspicious, < 0.95 bad)",
                  highlight=False)
    unmatched = [r.left for r in result.rows if r.right is None]
    if unmatched:
        console.print(f"[yellow]no counterpart on the right[/]: {', '.join(unmatched[:10])}"
                      f"{' ...' if len(unmatched) > 10 else ''}", soft_wrap=True)
    if result.unmatched_right:
        console.print(f"only on the right: {', '.join(result.unmatched_right[:10])}"
                      f"{' ...' if len(result.unmatched_right) > 10 else ''}", soft_wrap=True, highlight=False)
    first = next((r for r in done if r.level != FINE), None)
    if first is not None:
        console.print(f"first layer below 0.99: {first.left} (cosine {first.cosine:.6f}, {first.level})",
                      highlight=False)
    return 1 if any(r.level == BAD for r in done) else 0
