"""NNIE's 8-bit ("low bandwidth") code: logarithmic, one scale per tensor.

As MQBench's NNIE backend documents it::

    data_max = max |x| over the calibration inputs
    z = round(16 * log2(data_max)) - 127
    x >  2^((z-16)/16):  q =  2^((clamp(round(16*log2(x))  - z, 0, 127) + z) / 16)
    x < -2^((z-15)/16):  q = -2^((clamp(round(16*log2(-x)) - z, 1, 127) + z) / 16)
    otherwise             q = 0

Every step in float64. ``round`` is round-half-to-even (numpy's, Python's and torch's).
A tensor whose data_max is 0, negative or not finite (an all-zero tensor) quantizes to 0.
"""
from __future__ import annotations

import math

import numpy as np

LEVELS = 127
STEPS_PER_OCTAVE = 16


def nnie_z(data_max: float) -> int | None:
    """The tensor's exponent offset z, or None when data_max <= 0 (everything quantizes to 0)."""
    data_max = float(data_max)
    if not (data_max > 0 and math.isfinite(data_max)):
        return None
    return int(np.round(STEPS_PER_OCTAVE * np.log2(np.float64(data_max)))) - LEVELS


def nnie_thresholds(z: int) -> tuple[float, float]:
    """(positive, negative) magnitudes below which a value becomes 0."""
    return float(2.0 ** ((z - 16) / 16.0)), float(2.0 ** ((z - 15) / 16.0))


def nnie_quantize(x, data_max: float) -> np.ndarray:
    """``x`` through NNIE's 8-bit log code for a tensor of calibrated ``data_max`` (float64 out)."""
    x = np.asarray(x, dtype=np.float64)
    z = nnie_z(data_max)
    out = np.zeros_like(x)
    if z is None:
        return out
    pos_min, neg_min = nnie_thresholds(z)
    pos = x > pos_min
    neg = x < -neg_min
    if pos.any():
        e = np.clip(np.round(16.0 * np.log2(x[pos])) - z, 0, LEVELS)
        out[pos] = np.power(2.0, (e + z) / 16.0)
    if neg.any():
        e = np.clip(np.round(16.0 * np.log2(-x[neg])) - z, 1, LEVELS)
        out[neg] = -np.power(2.0, (e + z) / 16.0)
    return out
