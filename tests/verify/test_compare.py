"""Metrics and the first-divergence walk, on hand-computed values."""
import numpy as np
import pytest

from modelport.verify.compare import Tolerance, compare, compare_one, metrics


def test_metrics_known_values():
    ref = np.array([1.0, 0.0, -2.0], np.float32)
    got = np.array([1.0, 0.5, -2.0], np.float32)
    cosine, max_abs, max_rel = metrics(ref, got)
    assert cosine == pytest.approx(5 / (np.sqrt(5) * np.sqrt(5.25)))
    assert max_abs == pytest.approx(0.5)
    assert max_rel == pytest.approx(0.5 / 1e-12)


def test_identical_and_zero_tensors_match():
    z = np.zeros((2, 3), np.float32)
    assert compare_one("z", z, z.copy(), Tolerance()).ok
    assert not compare_one("z", z, z + 1, Tolerance()).ok


def test_tolerance_is_relative_to_reference_scale():
    ref = np.full(10, 1000.0, np.float32)
    assert compare_one("a", ref, ref + 0.09, Tolerance()).ok      # 9e-5 x max|ref|
    assert not compare_one("a", ref, ref + 0.2, Tolerance()).ok   # 2e-4 x max|ref|


def test_shape_mismatch_and_nan_diverge():
    ref = np.ones((1, 2, 3, 3), np.float32)
    row = compare_one("p", ref, np.ones((1, 2, 4, 4), np.float32), Tolerance())
    assert not row.ok and "shape" in row.note
    bad = ref.copy()
    bad[0, 0, 0, 0] = np.nan
    assert not compare_one("p", ref, bad, Tolerance()).ok


def test_first_divergence_in_execution_order():
    ref = {"a": np.ones(3), "b": np.ones(3) * 2, "c": np.ones(3) * 3}
    got = {"a": np.ones(3), "b": np.array([2, 2, 9.0]), "c": np.ones(3)}
    result = compare(ref, got, ["a", "b", "c"], outputs=["c"])
    assert [r.name for r in result.rows] == ["a", "b", "c"]
    assert result.first_divergence.name == "b"
    assert result.outputs[0].name == "c" and not result.outputs[0].ok
    stopped = compare(ref, got, ["a", "b", "c"], outputs=["c"], stop_at_first=True)
    assert [r.name for r in stopped.rows] == ["a", "b"]


def test_tensors_only_on_one_side_are_skipped():
    result = compare({"a": np.ones(2), "x": np.ones(2)}, {"a": np.ones(2), "y": np.ones(2)}, ["a", "x", "y"], ["a"])
    assert [r.name for r in result.rows] == ["a"] and result.ok


def test_same_size_other_shape_diverges_but_size_1_axes_are_tolerated():
    ref = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert not compare_one("x", ref, ref.reshape(3, 2), Tolerance()).ok
    assert not compare_one("x", ref.reshape(1, 6, 1, 1), ref.reshape(1, 1, 1, 6), Tolerance()).ok
    assert compare_one("x", ref.reshape(1, 6), ref.reshape(6), Tolerance()).ok


def test_reference_tensors_missing_from_candidate_are_listed():
    result = compare({"a": np.ones(2), "b": np.ones(2)}, {"a": np.ones(2)}, ["a", "b"], ["a"])
    assert result.missing == ["b"] and result.ok


def _pool_with_windows_in_padding():
    """MXNet max pooling, 'full' convention, stride 3 > kernel: windows wholly in padding give -FLT_MAX."""
    import mxnet as mx

    from oracle import run_mxnet

    sym = mx.sym.Pooling(mx.sym.var("data"), kernel=(2, 2), stride=(3, 3), pad=(1, 1), pool_type="max",
                         pooling_convention="full", name="pool")
    x = np.random.default_rng(0).uniform(-2, 2, (1, 2, 7, 7)).astype(np.float32)
    out = run_mxnet(sym, {}, {}, {"data": x})[0]
    assert np.any(out == -np.finfo(np.float32).max), "the case needs -FLT_MAX cells"
    return out


def test_flt_max_cells_do_not_open_the_tolerance():
    """Item 7: -FLT_MAX once raised the allowed error to ~3e34; +1.0 everywhere else passed."""
    from oracle import assert_match

    ref = _pool_with_windows_in_padding()
    assert compare_one("pool", ref, ref.copy(), Tolerance()).ok
    assert_match(ref, ref.copy())
    shifted = ref + np.float32(1.0)  # -FLT_MAX + 1 is still -FLT_MAX in float32: only the real cells move
    row = compare_one("pool", ref, shifted, Tolerance())
    assert not row.ok and row.max_abs == pytest.approx(1.0)
    with pytest.raises(AssertionError, match="max abs error 1"):
        assert_match(ref, shifted)
    small = ref + np.float32(1e-6) * np.sign(ref)  # within 1e-4 x max|finite ref|: still a match
    assert compare_one("pool", ref, small, Tolerance()).ok


@pytest.mark.parametrize("cell", [np.nan, np.inf, -np.inf, -np.finfo(np.float32).max])
def test_special_cells_must_match_exactly(cell):
    from oracle import assert_match

    ref = np.linspace(-1, 1, 12, dtype=np.float32).reshape(1, 3, 2, 2)
    ref[0, 1, 0, 0] = cell
    assert compare_one("x", ref, ref.copy(), Tolerance()).ok  # NaN where the reference has NaN is a match
    assert_match(ref, ref.copy())
    for other in (np.float32(0.5), np.float32(-cell) if not np.isnan(cell) else np.float32(np.inf)):
        got = ref.copy()
        got[0, 1, 0, 0] = other
        row = compare_one("x", ref, got, Tolerance())
        assert not row.ok and "NaN/inf/FLT_MAX" in row.note
        with pytest.raises(AssertionError, match="cells differ"):
            assert_match(ref, got)
    got = ref.copy()
    got[0, 2, 1, 1] = -np.finfo(np.float32).max  # a sentinel where the reference has a value
    assert not compare_one("x", ref, got, Tolerance()).ok
