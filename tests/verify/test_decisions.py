"""verify.decisions: a comparison decided the other way at float32 noise (rule 1), the reference
continued from the candidate's decision (rule 2) and sort indices ranking ties the other way
(rule 3), on known values and on MXNet against onnxruntime."""
import mxnet as mx
import numpy as np
import onnx
from onnx import numpy_helper

import modelport
from modelport.errors import VerificationError
from modelport.runtimes.mxnet_runner import MXNetRunner
from modelport.targets.onnx import runner as onnx_runner
from modelport.verify.api import verify_runners
from modelport.verify.compare import Known, compare_rechecked
from modelport.verify.decisions import Decision, Given, compare_continued, explainer, rank_tie, threshold_flip
from modelport.verify.tolerance import Tolerance

TOL = Tolerance()
X = np.array([[0.50002, 0.9, 0.1, 0.49999, -0.3, 0.5]], np.float32)  # max|x| 0.9: allowance 9e-5 around 0.5
GREATER = Decision(np.greater, ["x"], 0.5)


def flipped(mask, cells):
    out = mask.copy()
    out[0, cells] = 1 - out[0, cells]
    return out


def test_flips_within_tolerance_of_the_threshold_are_accepted():
    """Cells whose input lies within the tolerance of the scalar may be decided the other way; the note counts them."""
    ref = {"x": X, "m": (X > 0.5).astype(np.float32)}
    got = {"m": flipped(ref["m"], [0, 3])}
    note = threshold_flip(GREATER, "m", ref, got, "m", TOL)
    assert note.startswith("2 cells decided the other way at the threshold 0.5: there 'x' is within")
    assert threshold_flip(GREATER, "m", ref, {"m": flipped(ref["m"], [3])}, "m", TOL).startswith("1 cell decided")
    got["x"] = X + np.float32(np.array([[-4e-5, 0, 0, 2e-5, 0, 0]]))  # the candidate's own inputs agree with its flips
    assert threshold_flip(GREATER, "m", ref, got, "m", TOL).startswith("2 cells decided")


def test_a_flip_far_from_the_threshold_is_refused():
    """A cell whose input is far from the scalar (0.9 against 0.5) decided the other way is no flip."""
    ref = {"x": X, "m": (X > 0.5).astype(np.float32)}
    assert threshold_flip(GREATER, "m", ref, {"m": flipped(ref["m"], [0, 1])}, "m", TOL) == ""
    assert threshold_flip(GREATER, "m", ref, {"m": flipped(ref["m"], [2])}, "m", TOL) == ""
    wrong = Decision(np.greater, ["x"], 0.49)  # the same flips near 0.5 are far from a threshold 0.49
    assert threshold_flip(wrong, "m", {"x": X, "m": (X > 0.49).astype(np.float32)},
                          {"m": flipped((X > 0.49).astype(np.float32), [3])}, "m", TOL) == ""


def test_a_flip_the_candidates_own_input_contradicts_is_refused():
    """A candidate whose own input is clearly above the threshold but which writes 0 for '>' decides wrongly."""
    ref = {"x": X, "m": (X > 0.5).astype(np.float32)}
    got = {"x": X.copy(), "m": flipped(ref["m"], [0])}
    got["x"][0, 0] = 0.6
    assert threshold_flip(GREATER, "m", ref, got, "m", TOL) == ""
    got["x"][0, 0] = 0.49998  # its own input below the threshold: its 0 is its own decision
    assert threshold_flip(GREATER, "m", ref, got, "m", TOL) != ""
    wrong = {"x": X, "m": (X >= 0.5).astype(np.float32)}  # '>=' for '>': x == 0.5 exactly, 1 where '>' gives 0
    assert np.count_nonzero(wrong["m"] != ref["m"]) == 1
    assert threshold_flip(GREATER, "m", ref, wrong, "m", TOL) == ""


def test_two_tensor_comparison_within_both_allowances_is_accepted():
    """x >= y flipped where |x - y| lies within x's and y's allowances together is accepted, farther is not."""
    x = np.array([1.0, 2.0, 3.0, -1.0], np.float32)
    y = np.array([1.0005, 0.5, 3.0, 4.0], np.float32)  # allowance 1e-4 x 3 + 1e-4 x 4 = 7e-4: 5e-4 needs both
    decision = Decision(np.greater_equal, ["x", "y"])
    ref = {"x": x, "y": y, "m": (x >= y).astype(np.float32)}
    for cell in (0, 2):
        got = ref["m"].copy()
        got[cell] = 1 - got[cell]
        note = threshold_flip(decision, "m", ref, {"m": got}, "m", TOL)
        assert note.startswith("1 cell decided the other way at 'y'"), cell
    far = ref["m"].copy()
    far[1] = 0
    assert threshold_flip(decision, "m", ref, {"m": far}, "m", TOL) == ""
    y_far = y.copy()
    y_far[0] = 1.001  # 1e-3 apart: beyond 7e-4
    got = (x >= y_far).astype(np.float32)
    got[0] = 1
    assert threshold_flip(decision, "m", {**ref, "y": y_far, "m": (x >= y_far).astype(np.float32)}, {"m": got}, "m",
                          TOL) == ""


def test_a_differing_cell_that_is_not_0_or_1_is_refused():
    """A comparison's output is 0 or 1: a differing cell holding 0.5 or 2 is no decision."""
    ref = {"x": X, "m": (X > 0.5).astype(np.float32)}
    for value in (0.5, 2.0):
        got = ref["m"].copy()
        got[0, 3] = value
        assert threshold_flip(GREATER, "m", ref, {"m": got}, "m", TOL) == ""


VALUES = np.array([3.0, 1.0, 2.0, 1.0, 5.0], np.float32)
ARGSORT = Decision(None, ["v"], None, -1)


def test_argsort_indices_ranking_tied_values_the_other_way_are_accepted():
    """Indices of equal values swapped (the sort's order among ties) are accepted, with a note."""
    ref = {"v": VALUES, "i": np.argsort(VALUES, kind="stable").astype(np.float32)}
    assert list(ref["i"]) == [1, 3, 2, 0, 4]
    note = rank_tie(ARGSORT, "i", ref, {"i": np.array([3, 1, 2, 0, 4], np.float32)}, "i", TOL)
    assert note.startswith("2 positions rank values of 'v' the other way")
    near = VALUES.copy()
    near[3] = 1.00005  # within 1e-4 x 5 of 1.0: a tie to float32 noise
    ref = {"v": near, "i": np.argsort(near, kind="stable").astype(np.float32)}
    assert rank_tie(ARGSORT, "i", ref, {"i": np.array([3, 1, 2, 0, 4], np.float32)}, "i", TOL) != ""


def test_argsort_indices_of_different_values_swapped_or_repeated_are_refused():
    """Swapping indices of different values, repeating an index or leaving the axis is no tie."""
    ref = {"v": VALUES, "i": np.argsort(VALUES, kind="stable").astype(np.float32)}
    for bad in ([1, 3, 0, 2, 4], [1, 1, 2, 0, 4], [1, 3, 2, 0, 5], [1, 3, 2, 0, 4.5]):
        assert rank_tie(ARGSORT, "i", ref, {"i": np.array(bad, np.float32)}, "i", TOL) == "", bad


def test_a_flattened_argsort_ranks_ties_across_rows():
    """axis None: the indices are positions in the flattened input, ties anywhere in it may swap."""
    v = np.array([[2.0, 7.0, 4.0], [7.0, 1.0, 4.0]], np.float32)
    ref = {"v": v, "i": np.argsort(v, axis=None, kind="stable").astype(np.float32)}
    assert list(ref["i"]) == [4, 0, 2, 5, 1, 3]
    flat = Decision(None, ["v"], None, None)
    assert rank_tie(flat, "i", ref, {"i": np.array([4, 0, 5, 2, 3, 1], np.float32)}, "i", TOL).startswith(
        "4 positions")
    assert rank_tie(flat, "i", ref, {"i": np.array([0, 4, 2, 5, 1, 3], np.float32)}, "i", TOL) == ""


def continuation_case():
    """x, m = x > 0.5 and after = 2m + x; the candidate's x is 3e-5 lower in the cell at 0.50002, which it decides 0."""
    got_x = X.copy()
    got_x[0, 0] = 0.49999
    ref_m, got_m = (X > 0.5).astype(np.float32), (got_x > 0.5).astype(np.float32)
    assert np.count_nonzero(ref_m != got_m) == 1
    ref = {"x": X, "m": ref_m, "after": 2 * ref_m + X}
    got = {"x": got_x, "m": got_m, "after": 2 * got_m + got_x}
    return ref, got, Known(explain=explainer({"m": GREATER}, TOL))


def test_the_reference_continues_from_the_candidates_decision():
    """After a flip, the reference's later tensors are the ones it computes from the candidate's decision."""
    ref, got, known = continuation_case()
    calls = []

    def run_from(given, names):
        calls.append((sorted(given), list(names)))
        return {"after": 2 * given["m"] + ref["x"]}

    alone, _ = compare_continued(ref, got, ["x", "m", "after"], ["after"], TOL, False, known,
                                 lambda names, values: {}, None, {})
    assert alone.first_divergence.name == "after"  # without continuing, 'after' differs by 2 in that cell
    given = {}
    result, used = compare_continued(ref, got, ["x", "m", "after"], ["after"], TOL, False, known,
                                     lambda names, values: {}, run_from, given)
    assert result.ok and calls == [(["m"], ["x", "after"])]
    assert np.array_equal(given["m"], got["m"]) and np.array_equal(used["after"], 2 * got["m"] + ref["x"])
    (m,) = [r for r in result.rows if r.name == "m"]
    assert m.decided and m.note.startswith("1 cell decided the other way")


def test_a_reference_that_cannot_take_the_value_compares_as_without_continuing():
    """run_from raising VerificationError refuses the point once: no loop, the result is the plain comparison's."""
    ref, got, known = continuation_case()
    calls = []

    def run_from(given, names):
        calls.append(dict(given))
        assert len(calls) == 1, "the refused point was tried again"  # not a VerificationError: ends a loop
        raise VerificationError("cannot take it")

    given = {}
    result, used = compare_continued(ref, got, ["x", "m", "after"], ["after"], TOL, False, known,
                                     lambda names, values: {}, run_from, given)
    plain = compare_rechecked(ref, got, ["x", "m", "after"], ["after"], TOL, False, known, lambda names: {})
    assert len(calls) == 1 and given == {} and used is ref
    assert not result.ok and result.first_divergence.name == "after"
    assert [(r.name, r.ok, r.decided, r.note) for r in result.rows] == \
        [(r.name, r.ok, r.decided, r.note) for r in plain.rows]


def threshold_model(folder, scalar: float, seed: int):
    """data (1, 64) -> FullyConnected 'fc' (256) -> fc > scalar 'mask' -> fc x mask 'kept', and its ONNX conversion."""
    fc = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=256, name="fc")
    mask = mx.sym._internal._greater_scalar(fc, scalar=scalar, name="mask")
    kept = mx.sym.elemwise_mul(fc, mask, name="kept")
    rng = np.random.default_rng(seed)
    params = {"arg:fc_weight": mx.nd.array(rng.normal(0, 0.5, (256, 64)).astype(np.float32)),
              "arg:fc_bias": mx.nd.array(rng.normal(0, 0.5, 256).astype(np.float32))}
    folder.mkdir(parents=True, exist_ok=True)
    kept.save(str(folder / "m-symbol.json"))
    mx.nd.save(str(folder / "m-0000.params"), params)
    converted = modelport.convert(folder / "m-symbol.json", folder / "m-0000.params", to="onnx",
                                  output_dir=folder / "onnx", inputs=SHAPE, optimize=False).files[0]
    return MXNetRunner(folder / "m-symbol.json", folder / "m-0000.params"), converted


SHAPE = {"data": (1, 64)}


def flip_model(tmp_path):
    """A threshold model whose scalar lies strictly between MXNet's and onnxruntime's float32 'fc' in one cell
    (at verify's own input), so the engines decide that cell differently: (runner, onnx path, feeds, scalar)."""
    for seed in range(8):
        seen = {}
        reference, converted = threshold_model(tmp_path / f"probe{seed}", 0.0, seed)
        verify_runners(reference, onnx_runner(converted), shapes=[SHAPE], extra_shapes=False,
                       observe=lambda shapes, r, c, feeds, ref, got: seen.update(feeds=feeds, ref=ref, got=got))
        a, b = seen["ref"]["fc"].ravel(), seen["got"]["fc"].ravel()
        ulps = np.abs(a.view(np.int32).astype(np.int64) - b.view(np.int32).astype(np.int64))
        cells = np.flatnonzero((ulps >= 2) & (np.sign(a) == np.sign(b)) & (np.abs(a) > 0.5))
        if len(cells):
            cell = cells[np.argmax(ulps[cells])]
            low, high = sorted((a[cell], b[cell]))
            scalar = np.nextafter(low, high)  # float32, strictly between the two engines' values
            assert low < scalar < high
            reference, converted = threshold_model(tmp_path / f"flip{seed}", float(scalar), seed)
            return reference, converted, seen["feeds"], float(scalar)
    raise AssertionError("no cell where MXNet and onnxruntime differ by 2 float32 ulps: no flip to test")


def test_a_threshold_flip_at_float32_noise_is_decided_and_the_reference_continues(tmp_path):
    """MXNet and onnxruntime decide one cell of fc > s differently (fc differs by float32 noise at s): verify
    accepts the mask as decided, continues MXNet from onnxruntime's mask, and the product after it matches."""
    reference, converted, feeds, scalar = flip_model(tmp_path)
    candidate = onnx_runner(converted)
    ref, got = reference.run(feeds), candidate.run(feeds)
    assert np.count_nonzero(ref["mask"] != got["mask"]) >= 1  # the engines do decide differently
    assert np.abs(ref["kept"] - got["kept"]).max() > 0.5  # and the product differs by a whole fc value there
    report = verify_runners(reference, candidate, shapes=[SHAPE], extra_shapes=False)
    assert report.ok, report.runs[0].comparison.first_divergence
    rows = {r.name: r for r in report.runs[0].comparison.rows}
    assert rows["mask"].ok and rows["mask"].decided and "decided the other way" in rows["mask"].note
    assert f"the threshold {scalar:g}" in rows["mask"].note
    assert rows["kept"].ok and not rows["kept"].decided and rows["fc"].ok
    assert any("continued from the candidate's 'mask'" in n for n in report.notes), report.notes


def test_a_wrong_threshold_in_the_converted_model_is_a_divergence_at_the_mask(tmp_path):
    """The converted model's threshold constant moved by 0.05: its flips are far from MXNet's threshold."""
    reference, converted, feeds, scalar = flip_model(tmp_path)
    model = onnx.load(str(converted))
    (init,) = [i for i in model.graph.initializer if numpy_helper.to_array(i).size == 1
               and float(numpy_helper.to_array(i)) == np.float32(scalar)]
    init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) + np.float32(0.05), init.name))
    onnx.save(model, str(converted))
    ref, got = reference.run(feeds), onnx_runner(converted).run(feeds)
    assert np.count_nonzero(ref["mask"] != got["mask"]) >= 1  # some fc lies between the two thresholds
    report = verify_runners(reference, onnx_runner(converted), shapes=[SHAPE], extra_shapes=False)
    first = report.runs[0].comparison.first_divergence
    assert not report.ok and first is not None and first.name == "mask" and not first.decided
    assert not any("continued from" in n for n in report.notes)


# Rule 4: an NMS cascade. A and B overlap (IoU 0.68) with scores 2e-6 apart, B and C overlap (IoU 0.6),
# A and C do not: from the reference's input MXNet keeps A and C; where the candidate's input (within
# tolerance) ranks B first, MXNet keeps B alone. A/B pair up as a near tie, C does not.
CASCADE = np.array([[[0, 0.9, 0.00, 0.0, 1.0, 1.0],   # A
                     [0, 0.9 - 2e-6, 0.2, 0.0, 1.2, 1.0],  # B
                     [0, 0.5, 0.45, 0.0, 1.45, 1.0],  # C
                     [1, 0.3, 5.0, 5.0, 6.0, 6.0]]], np.float32)  # D, another class, far away


def nms_runner(tmp_path):
    """data -> x1 'pre' -> box_nms 'nms' (GluonCV's columns, IoU 0.5), as MXNet runs it."""
    pre = mx.sym._internal._mul_scalar(mx.sym.var("data"), scalar=1.0, name="pre")
    nms = mx.sym.contrib.box_nms(pre, overlap_thresh=0.5, coord_start=2, score_index=1, id_index=0, name="nms")
    nms.save(str(tmp_path / "n-symbol.json"))
    mx.nd.save(str(tmp_path / "n-0000.params"), {})
    return MXNetRunner(tmp_path / "n-symbol.json", tmp_path / "n-0000.params")


def cascade_case(tmp_path, candidate_output=None):
    runner = nms_runner(tmp_path)
    feeds = {"data": CASCADE}
    ref = runner.run(feeds)
    noisy = CASCADE.copy()
    noisy[0, 1, 1] += np.float32(4e-6)  # B now ranks above A: well within the tolerance (9e-5)
    got = {"pre": noisy, "nms_output0": runner.run({"data": noisy})["nms_output0"] if candidate_output is None
           else candidate_output}
    known = Known(detections={"nms_output0": ("mxnet", "mxnet", "pre")}, edges=runner.inputs_of(),
                  retry={"nms_output0"})
    given = Given()
    result, used = compare_continued(ref, got, runner.order(), ["nms_output0"], TOL, False, known,
                                     lambda names, values: {},
                                     lambda values, names: runner.run_from(feeds, values, names), given)
    return ref, got, result, used, given


def test_an_nms_cascade_decided_by_input_noise_is_the_references_nms_on_the_candidates_input(tmp_path):
    """Rows that differ beyond pairs of ties (a suppression cascade) are accepted when MXNet's own box_nms on
    the candidate's input gives the candidate's rows: the input is given, and its note says why."""
    ref, got, result, used, given = cascade_case(tmp_path)
    kept = lambda a: sorted(round(float(s), 6) for s in a[0, :, 1] if s >= 0)  # noqa: E731
    assert kept(ref["nms_output0"]) == [0.3, 0.5, 0.9] and kept(got["nms_output0"]) == [0.3, 0.900002]
    assert result.ok and list(given) == ["pre"] and np.array_equal(given["pre"], got["pre"])
    assert np.array_equal(used["nms_output0"], got["nms_output0"])
    assert "float32 noise decided it" in given.why["pre"]


def test_an_nms_result_mxnet_does_not_give_on_the_candidates_input_stays_a_divergence(tmp_path):
    """A candidate that keeps a row MXNet's box_nms suppresses on the candidate's own input (C beside B)
    is a divergence at the NMS, and nothing is given."""
    runner = nms_runner(tmp_path)
    noisy = CASCADE.copy()
    noisy[0, 1, 1] += np.float32(4e-6)
    wrong = runner.run({"data": noisy})["nms_output0"].copy()
    wrong[0, 2] = CASCADE[0, 2]  # C kept although B suppresses it
    _, _, result, _, given = cascade_case(tmp_path, wrong)
    assert not result.ok and result.first_divergence.name == "nms_output0" and given == {}


def slice_case(tmp_path, wrong_column: bool):
    """data (1, 4) -> softmax 'p' -> its last column 's' (MXNet); the candidate's 'p' off by 3e-5 in that column
    (within p's tolerance, 1e-4 x max|p|, not within s's, 1e-4 x max|s|), its 's' the slice of its own 'p'
    (or, ``wrong_column``, of another column)."""
    p = mx.sym.softmax(mx.sym.var("data"), axis=-1, name="p")
    s = mx.sym.slice_axis(p, axis=1, begin=3, end=4, name="s")
    s.save(str(tmp_path / "s-symbol.json"))
    mx.nd.save(str(tmp_path / "s-0000.params"), {})
    runner = MXNetRunner(tmp_path / "s-symbol.json", tmp_path / "s-0000.params")
    feeds = {"data": np.array([[3.0, 1.0, 0.5, -1.0]], np.float32)}
    ref = runner.run(feeds)
    noisy = ref["p"].copy()
    noisy[0, 3] += np.float32(3e-5)
    got = {"p": noisy, "s": noisy[:, 2:3] if wrong_column else noisy[:, 3:4]}
    known = Known(edges=runner.inputs_of(), retry={"s"})
    given = Given()
    result, _ = compare_continued(ref, got, runner.order(), ["s"], TOL, False, known, lambda names, values: {},
                                  lambda values, names: runner.run_from(feeds, values, names), given)
    return ref, result, given


def test_a_slice_missing_its_own_tolerance_by_inherited_noise_is_the_references_slice_of_the_candidates_input(
        tmp_path):
    """A node that only moves values, whose output misses its own tolerance by the noise its accepted input
    carries, is accepted when MXNet's node on the candidate's input gives the candidate's output."""
    ref, result, given = slice_case(tmp_path, wrong_column=False)
    allowance = lambda a: max(float(np.abs(a).max()) * TOL.rel_tol, TOL.abs_tol)  # noqa: E731
    assert allowance(ref["s"]) < 3e-5 < allowance(ref["p"])  # the premise: s alone would fail, p passes
    assert result.ok and list(given) == ["p"] and "an input of 's'" in given.why["p"]


def test_a_slice_of_the_wrong_column_stays_a_divergence(tmp_path):
    """The same slice taken from another column is no inherited noise: the divergence stands, nothing given."""
    _, result, given = slice_case(tmp_path, wrong_column=True)
    assert not result.ok and result.first_divergence.name == "s" and dict(given) == {}


def test_float64_truths_are_reused_upstream_of_a_newly_given_tensor_and_recomputed_downstream():
    """Across continuation rounds a float64 value is computed again only when a tensor given in one round and
    not the other lies upstream of it (edges a -> b -> c, d apart)."""
    from modelport.verify.decisions import _Float64Memo

    calls = []

    def float64(names, given):
        calls.append((sorted(names), sorted(given)))
        return {n: np.float64(len(given)) for n in names}

    memo = _Float64Memo(float64, {"b": ["a"], "c": ["b"], "d": []})
    assert memo(["a", "c", "d"], {}) == {"a": 0.0, "c": 0.0, "d": 0.0}
    assert memo(["a", "c", "d"], {"b": 1}) == {"a": 0.0, "c": 1.0, "d": 0.0}
    assert calls == [(["a", "c", "d"], []), (["c"], ["b"])]
    assert memo(["c"], {"b": 1}) == {"c": 1.0} and len(calls) == 2
    blind = _Float64Memo(float64, {})
    blind(["a"], {})
    blind(["a"], {"b": 1})
    assert len(calls) == 4  # without edges nothing is known to be upstream: computed again
