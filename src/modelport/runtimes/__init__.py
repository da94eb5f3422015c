"""One runner per engine, all behind the ``Runner`` protocol.

Tensor names are the ones modelport keeps across conversion (source node names), so
the comparator can match tensors between engines. Everything verify calls on a
runner is in the protocol.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass
class NodeInfo:
    """The node that produced a tensor, as ``Runner.node_of`` describes it (ONNX vocabulary).

    ``inputs`` are value names in the node's input order ("" for an absent optional
    input); ``weights`` holds the values of those inputs that are constants of the
    model (initializers, Constant nodes); the others are run-time values, found in
    ``run(feeds, "all")`` (or the feeds).
    """
    op_type: str
    name: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict = field(default_factory=dict)
    weights: dict[str, np.ndarray] = field(default_factory=dict)


class Runner(Protocol):
    name: str  # the engine, for messages and tables

    def input_names(self) -> list[str]:
        """The inputs to feed (weights and labels excluded)."""

    def input_dims(self) -> dict[str, tuple | None]:
        """Declared input dims, None for a free axis; None for an input whose rank is unknown."""

    def input_types(self) -> dict[str, np.dtype]:
        """The dtype each input is fed as."""

    def accepts(self, shapes: dict[str, tuple]) -> bool:
        """Whether the engine takes inputs of these shapes (never raises)."""

    def order(self) -> list[str]:
        """Tensor names in execution (topological) order."""

    def head_names(self) -> list[str]:
        """The model's outputs."""

    def op_of(self) -> dict[str, str]:
        """Tensor name -> the operator (layer type) that produced it."""

    def absorbed(self) -> dict[str, tuple[str, str]]:
        """Names passes absorbed: {name: (survivor, 'alias' | 'folded')} (empty for sources)."""

    def run(self, feeds: dict[str, np.ndarray], outputs="all") -> dict[str, np.ndarray]:
        """Run once; ``outputs`` is "all" (every tensor the engine exposes), "heads", or names."""

    # Optional (verify looks it up with getattr): what ``verify.diagnose`` needs to test
    # hypotheses by recomputing the divergent node in numpy. A runner that cannot say
    # (or does not define it) leaves diagnosis to the rules that look at values only.
    def node_of(self, tensor: str) -> NodeInfo | None:
        """The node producing ``tensor`` (op type, input names, attributes, constant inputs), or None."""

    # Optional (verify looks it up with getattr): sizes for verify's bounded mode. A reference
    # that cannot say (or does not define it) is verified in one run, whatever the budget.
    def tensor_bytes(self, shapes: dict[str, tuple]) -> dict[str, int]:
        """Bytes of each tensor ``run(feeds, "all")`` would give at these input shapes, estimated without
        running (MXNet's shape inference); tensors whose size is unknown may be left out."""

    # Optional, a reference's (verify looks them up with hasattr/getattr; MXNet's runner has them):
    # the float32 noise check, the graph followed from detections, and continuing from a decision.
    def run_float64(self, feeds: dict[str, np.ndarray], outputs="all") -> dict[str, np.ndarray]:
        """The same run in float64 (weights and inputs cast); VerificationError where it cannot."""

    def inputs_of(self) -> dict[str, list[str]]:
        """Tensor name -> the tensors its node reads (weights and inputs left out)."""

    def node_attrs(self) -> dict[str, dict[str, str]]:
        """Tensor name -> the raw attributes of the node that wrote it."""

    def run_from(self, feeds: dict[str, np.ndarray], values: dict[str, np.ndarray], outputs="all",
                 float64: bool = False) -> dict[str, np.ndarray]:
        """The run with the tensors in ``values`` taken as given instead of computed (``verify.decisions``)."""
