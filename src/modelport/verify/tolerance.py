"""The tolerance two engines' tensors must keep to count as the same computation."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tolerance:
    cosine_min: float = 0.99999
    rel_tol: float = 1e-4
    abs_tol: float = 1e-5
    detection_atol: float = 1e-5  # detections (verify.detections): class ids exact, score and box within this


DEFAULT_BUDGET = 2 * 2**30  # bytes of reference tensors above which verify goes chunk by chunk (verify.bounded)
