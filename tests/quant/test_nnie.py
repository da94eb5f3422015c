"""NNIE's 8-bit log code against hand-computed values and an independent scalar implementation."""
import math

import numpy as np
import pytest

from modelport.quant import nnie_quantize
from modelport.quant.nnie import nnie_z


def scalar_reference(x: float, data_max: float) -> float:
    """The formula written out in plain Python math, one value at a time."""
    if not data_max > 0:
        return 0.0
    z = round(16 * math.log2(data_max)) - 127
    if x > 2 ** ((z - 16) / 16):
        return 2 ** ((min(max(round(16 * math.log2(x)) - z, 0), 127) + z) / 16)
    if x < -(2 ** ((z - 15) / 16)):
        return -(2 ** ((min(max(round(16 * math.log2(-x)) - z, 1), 127) + z) / 16))
    return 0.0


def test_z_of_powers_of_two_and_others():
    assert nnie_z(1.0) == -127 and nnie_z(8.0) == 48 - 127
    assert nnie_z(3.0) == 25 - 127  # 16*log2(3) = 25.36
    assert nnie_z(0.0) is None and nnie_z(-1.0) is None


def test_data_max_a_power_of_two():
    q = nnie_quantize([1.0, 0.5, 0.25, -0.5, 0.7, -0.7], 1.0)
    s = 2 ** -0.5  # 16*log2(0.7) = -8.23 -> -8 -> 2^(-8/16)
    assert q.tolist() == [1.0, 0.5, 0.25, -0.5, s, -s]
    assert q.dtype == np.float64


def test_data_max_not_a_power_of_two():
    top = 2 ** (25 / 16)  # z = -102: the largest code is 2^(25/16) = 2.954
    q = nnie_quantize([3.0, -3.0, 1.0, -1.0, 2.0], 3.0)
    assert q.tolist() == [top, -top, 1.0, -1.0, 2.0]
    assert top == pytest.approx(2.95365229)


def test_upper_clamp():
    assert nnie_quantize([2.0, 100.0, -2.0, -1e9], 1.0).tolist() == [1.0, 1.0, -1.0, -1.0]


def test_lower_clamps_positive_0_negative_1():
    z = -127  # data_max 1
    x = 2 ** (-140 / 16)  # above both zero thresholds, round(16 log2 x) - z = -13
    q = nnie_quantize([x, -x], 1.0)
    assert q[0] == 2 ** (z / 16)  # clamp to 0 -> 2^(z/16)
    assert q[1] == -(2 ** ((1 + z) / 16))  # clamp to 1 -> -2^((1+z)/16)


def test_zero_band():
    pos_min, neg_min = 2 ** (-143 / 16), 2 ** (-142 / 16)  # data_max 1: z = -127
    xs = [0.0, -0.0, pos_min, pos_min * 0.99, -neg_min, -neg_min * 0.99, -pos_min * 1.01]
    assert nnie_quantize(xs, 1.0).tolist() == [0.0] * len(xs)
    # just outside the band: the smallest codes
    q = nnie_quantize([pos_min * 1.0001, -neg_min * 1.0001], 1.0)
    assert q[0] == 2 ** (-127 / 16) and q[1] == -(2 ** (-126 / 16))


@pytest.mark.parametrize("data_max", [0.0, -1.0, float("nan")])
def test_all_zero_tensor_or_bad_data_max_quantizes_to_zero(data_max):
    assert nnie_quantize(np.array([[0.0, 1.0], [-2.0, 3.0]]), data_max).tolist() == [[0.0, 0.0], [0.0, 0.0]]


@pytest.mark.parametrize("scale", [1e-4, 0.03, 1.0, 6.0, 255.0, 1e4])
def test_matches_an_independent_scalar_implementation_exactly(scale):
    rng = np.random.default_rng(int(scale * 1000) % 997)
    x = np.concatenate([rng.normal(0, scale, 4000), rng.uniform(-scale, scale, 4000) * 10.0 ** rng.uniform(-4, 0, 4000),
                        [0.0, scale, -scale]])
    data_max = float(np.abs(x[:6000]).max())  # some values lie beyond data_max: the upper clamp
    got = nnie_quantize(x, data_max)
    want = np.array([scalar_reference(float(v), data_max) for v in x])
    assert np.array_equal(got, want), np.flatnonzero(got != want)[:5]
    assert (got == 0).any() and len(np.unique(np.abs(got))) <= 128
