"""Walk an MXNet graph in order and build the equivalent ONNX model in onnx_ir.

Before converting anything the importer checks the whole graph and fails once with
the complete list of unsupported operators (with node names) and unknown
attributes. During conversion every node's problems (missing weight, weight shape
contradicting the graph, invalid attribute) are collected, and reported together.

Null nodes (PITFALL 7): a weight when the params file has it, a label when only
label slots of loss heads read it (dropped at inference), otherwise a graph input.
Weights are found through graph edges, never by name surgery (PITFALL 8).
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import onnx_ir as ir

from modelport.errors import ConversionError, UnsupportedOpsError
from modelport.frontends.mxnet.context import OpContext, Scope
from modelport.frontends.mxnet.params import split_arg_aux
from modelport.frontends.mxnet.reader import MXGraph, MXNode
from modelport.frontends.mxnet.registry import load_all
from modelport.frontends.mxnet.shapes import guess_input_shapes, symbolic_shape
from modelport.ir.builder import Builder, NodeProblem


def output_names(node: MXNode, count: int) -> list[str]:
    """ONNX value names for a node's outputs: MXNet's internal names without '_output'."""
    return [node.name] if count == 1 else [f"{node.name}_output{i}" for i in range(count)]


class MXNetImporter:
    def __init__(self, graph: MXGraph, params: dict[str, np.ndarray],
                 input_shapes: dict[str, tuple] | None = None, dynamic: bool = True):
        self.graph = graph
        self.registry = load_all()
        self.user_shapes = dict(input_shapes or {})
        args, aux = split_arg_aux(params)
        self.weights = self._name_unnamed({**args, **aux})
        self.dynamic = dynamic
        self.builder = Builder()
        self.scope = Scope(graph, self.weights, self.builder)
        self.values = self.scope.values
        self.labels, self.input_nodes = self._classify()

    # -- setup --------------------------------------------------------------------
    def _name_unnamed(self, weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """An unnamed list (keys "0", "1", ...) follows the order of the graph's variables."""
        if not weights or not all(k.isdigit() for k in weights):
            return weights
        order = [n.name for n in self.graph.nodes if n.is_variable and n.id not in self._data_like()]
        if len(order) != len(weights):
            raise ConversionError([f"{len(weights)} unnamed arrays for {len(order)} graph variables"],
                                  header="cannot match an unnamed params list to the graph")
        return {name: weights[str(i)] for i, name in enumerate(order)}

    def _data_like(self) -> set[int]:
        consumed_as_label = self._label_ids()
        return {n.id for n in self.graph.nodes if n.is_variable and
                (n.name in ("data", *self.user_shapes) or n.id in consumed_as_label)}

    def _label_ids(self) -> set[int]:
        ids = set()
        for node in self.graph.nodes:
            if not node.is_variable:
                continue
            uses = self.graph.consumers.get(node.id, [])
            if uses and all(slot in self._spec_of(self.graph.nodes[c]).label_slots for c, slot in uses):
                ids.add(node.id)
        return ids

    def _spec_of(self, node: MXNode):
        from modelport.frontends.mxnet.registry import OpSpec
        return self.registry.get(node.op) or OpSpec(fn=lambda ctx: [])

    def _classify(self) -> tuple[set[int], list[MXNode]]:
        labels = self._label_ids() - {n.id for n in self.graph.nodes if n.name in self.weights}
        inputs = [n for n in self.graph.nodes if n.is_variable and n.name not in self.weights
                  and n.id not in labels and self.graph.consumers.get(n.id)]
        return labels, inputs

    # -- checks -------------------------------------------------------------------
    def check(self) -> None:
        unsupported: dict[str, list[str]] = {}
        for node in self.graph.nodes:
            if not node.is_variable and node.op not in self.registry:
                unsupported.setdefault(node.op, []).append(node.name)
        if unsupported:
            lines = [f"{op} ({len(names)} node{'s' * (len(names) > 1)}): {', '.join(names[:8])}"
                     + (" ..." if len(names) > 8 else "") for op, names in sorted(unsupported.items())]
            raise UnsupportedOpsError(f"{self.graph.path}: {len(unsupported)} unsupported MXNet "
                                      f"operator{'s' * (len(unsupported) > 1)}, nothing was written:\n"
                                      + "\n".join(f"  - {l}" for l in lines) + self._cut_hint())
        problems = []
        for node in self.graph.nodes:
            if node.is_variable:
                continue
            unknown = OpContext(self.scope, node).attrs.unknown()
            if unknown:
                problems.append(f"node '{node.name}' ({node.op}): unknown attribute(s) {', '.join(unknown)}")
            for slot in self.registry[node.op].weight_slots:
                if slot < len(node.inputs):
                    src = self.graph.nodes[node.inputs[slot][0]]
                    if src.is_variable and src.name not in self.weights:
                        problems.append(f"node '{node.name}' ({node.op}): weight '{src.name}' is missing from the params file")
        if not self.input_nodes:
            problems.append("the graph has no input (every variable is in the params file)")
        # operator nodes sharing a name were renamed by the reader; variables keep theirs
        names = Counter(n.name for n in self.graph.nodes)
        problems += [f"{count} variables are named '{name}': names must be unique" for name, count in names.items() if count > 1]
        for src, index in self.graph.heads:
            head = self.graph.nodes[src]
            if src in self.labels:
                problems.append(f"output '{head.name}' is a label input, which does not exist at inference")
            elif head.is_variable and index != 0:
                problems.append(f"output '{head.name}' output #{index}: a variable has one output")
        if problems:
            raise ConversionError(self._summarise(problems), header=f"{self.graph.path}: the model cannot be converted")

    def _cut_hint(self) -> str:
        """Unsupported ops only on a training branch (loss heads with labels): where to cut."""
        from modelport.frontends.mxnet.cut import likely_cut

        bad = [n for n in self.graph.nodes if not n.is_variable and n.op not in self.registry]
        name = likely_cut(self.graph, self.registry, bad)
        if name is None:
            return ""
        return (f"\nthey sit only on the training branch (the heads are losses reading a label); "
                f"{name}: the last node before the label is used, probably the inference output: "
                f"convert with --outputs {name}")

    def _summarise(self, problems: list[str]) -> list[str]:
        """Many missing weights mean the wrong params file: say that once, with the first few names."""
        missing = [p for p in problems if "missing from the params file" in p or "the params file has no" in p]
        if len(missing) <= 5:
            return problems
        wanted = {self.graph.nodes[n.inputs[slot][0]].name for n in self.graph.nodes if not n.is_variable
                  for slot in self.registry[n.op].weight_slots if slot < len(n.inputs)}
        used = len(wanted & set(self.weights))
        names = [p.split("'")[3] if p.count("'") >= 4 else p for p in missing[:4]]
        summary = (f"{len(missing)} weights the graph needs are missing from the params file (first: "
                   f"{', '.join(names)}, ...); the file has {len(self.weights)} arrays, {used} of them used by this "
                   f"graph: this params file seems to belong to another model")
        return [summary] + [p for p in problems if p not in missing]

    # -- conversion ---------------------------------------------------------------
    def _graph_inputs(self) -> list[ir.Value]:
        shapes = guess_input_shapes(self.graph, self.weights, self.input_nodes, self.user_shapes)
        values = []
        free = [n.name for n in self.input_nodes if not self.dynamic and None in shapes[n.name]]
        if free:
            raise ConversionError([f"--static needs every size of input '{name}': give it with --input {name}:..."
                                   for name in free], header="input shapes")
        for node in self.input_nodes:
            shape = symbolic_shape(shapes[node.name]) if self.dynamic else shapes[node.name]
            value = ir.Value(name=node.name, shape=ir.Shape(shape), type=ir.TensorType(ir.DataType.FLOAT))
            self.values[(node.id, 0)] = value
            values.append(value)
        return values

    def _convert_node(self, node: MXNode) -> None:
        ctx = OpContext(self.scope, node)
        start = len(self.builder.nodes)
        outputs = self.registry[node.op].fn(ctx)
        produced = {id(v) for n in self.builder.nodes[start:] for v in n.outputs}
        named = set()
        for i, (value, name) in enumerate(zip(outputs, output_names(node, len(outputs)))):
            if id(value) not in produced or id(value) in named:
                value = ctx.op("Identity", [value])
            value.name = name
            named.add(id(value))
            self.values[(node.id, i)] = value

    def _placeholders(self, node: MXNode) -> None:
        """Shapeless stand-ins for a failed node's outputs, so later nodes still get checked."""
        for i in range(8):
            self.values.setdefault((node.id, i), ir.Value(name=f"{node.name}__failed{i}",
                                                          type=ir.TensorType(ir.DataType.FLOAT)))

    def convert(self, progress=None) -> ir.Model:
        self.check()
        inputs = self._graph_inputs()
        problems: list[str] = []
        failed: set[int] = set(self.labels)
        tainted: set[int] = set()
        for label in self.labels:
            self._placeholders(self.graph.nodes[label])
        for node in self.graph.nodes:
            if progress:
                progress()
            if node.is_variable:
                continue
            # downstream of an earlier failure (or of a node that was): its own problems are echoes of
            # that one and are not reported, unless they concern the weights file itself
            downstream = bool(problems) and any(src in failed or src in tainted for src, _ in node.inputs)
            if downstream:
                tainted.add(node.id)
            try:
                self._convert_node(node)
            except NodeProblem as exc:
                if not downstream or exc.kind == "weight":
                    problems.append(str(exc))
                failed.add(node.id)
            except ConversionError as exc:
                problems.extend([] if downstream else exc.problems)
                failed.add(node.id)
            if node.id in failed:
                self._placeholders(node)
        if problems:
            raise ConversionError(self._summarise(problems), header=f"{self.graph.path}: the model cannot be converted")
        outputs = []
        for head in self.graph.heads:
            if head not in self.values and not self.graph.nodes[head[0]].is_variable:
                node = self.graph.nodes[head[0]]
                raise ConversionError([f"output '{node.name}' #{head[1]}: the {node.op} node has no output #{head[1]}"],
                                      header=f"{self.graph.path}: the model cannot be converted")
            try:
                value = self.scope.value_of(head)
                if value in outputs or value.producer() is None:
                    value = OpContext(self.scope, self.graph.nodes[head[0]]).op("Identity", [value])
            except NodeProblem as exc:
                raise ConversionError([f"output '{self.graph.nodes[head[0]].name}': {exc}"],
                                      header=f"{self.graph.path}: the model cannot be converted") from None
                value.name = f"{self.graph.nodes[head[0]].name}__out{len(outputs)}"
            outputs.append(value)
        return self.builder.model(inputs, outputs, name=self.graph.path.rsplit("/", 1)[-1])
