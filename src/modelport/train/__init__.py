"""Training helpers for MXNet models that are later converted with modelport.

``VariableShapeModule`` trains one network on inputs of several shapes (e.g.
images of different sizes) with shared parameters, gradient accumulation and
checkpoints that always hold the latest parameters. See docs/training.md.
"""

from ._accumulator import ACCUMULATE_MODES
from .module import VariableShapeModule

__all__ = ["ACCUMULATE_MODES", "VariableShapeModule"]
