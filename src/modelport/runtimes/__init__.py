"""One runner per engine, all with ``run(feeds, outputs="all") -> {name: ndarray}``.

Names are the ONNX/MXNet tensor names modelport keeps across conversion, so the
comparator can match tensors between engines.
"""
from __future__ import annotations

from typing import Protocol

import numpy as np


class Runner(Protocol):
    name: str

    def run(self, feeds: dict[str, np.ndarray], outputs="all") -> dict[str, np.ndarray]:
        """Run once; ``outputs`` is "all" (every tensor the engine exposes), "heads", or names."""

    def input_names(self) -> list[str]: ...

    def order(self) -> list[str]:
        """Tensor names in execution (topological) order."""
