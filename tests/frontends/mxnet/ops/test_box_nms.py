"""_contrib_box_nms: the numpy reference against MXNet 1.9.1 (every attribute, ties, several
leading axes, both formats, both outputs), and the converter's node and refusals."""
import numpy as np
import pytest

from box_nms_support import ATTRIBUTE_CASES, assert_same, mxnet_box_nms, rows, symbol
from modelport.errors import ConversionError
from modelport.frontends.mxnet.ops.box_nms import reference
from oracle import convert_symbol

LEADS = [(), (1,), (2,), (2, 3)]


@pytest.mark.parametrize("attrs", ATTRIBUTE_CASES, ids=str)
@pytest.mark.parametrize("ties", [False, True])
def test_reference_equals_mxnet(attrs, ties):
    rng = np.random.default_rng(7)
    for lead, n in zip(LEADS, (40, 25, 33, 9)):
        data = rows(rng, lead, n, attrs, ties)
        out, record = mxnet_box_nms(data, **attrs)
        got_out, got_record = reference(data, **attrs)
        assert_same(out, got_out, f"out {lead}")
        assert_same(record, got_record, f"record {lead}")


def test_reference_random_attributes():
    rng = np.random.default_rng(3)
    for trial in range(80):
        start, score_index, id_index = [(2, 1, -1), (2, 1, 0), (1, 0, 5), (0, 5, 4), (3, 2, 0)][trial % 5]
        attrs = dict(overlap_thresh=float(rng.choice([0.5, 0.3, 0.0, 1.0, 0.05, 0.75, 2.0])),
                     valid_thresh=float(rng.choice([0.0, 0.25, -1.0, 0.5])),
                     topk=int(rng.choice([-1, 0, 1, 3, 10, 1000])), coord_start=start, score_index=score_index,
                     id_index=id_index, background_id=int(rng.choice([-1, 0, 2])),
                     force_suppress=bool(rng.integers(2)), in_format=str(rng.choice(["corner", "center"])),
                     out_format=str(rng.choice(["corner", "center"])))
        lead = LEADS[int(rng.integers(len(LEADS)))]
        data = rows(rng, lead, int(rng.integers(1, 50)), attrs, trial % 2 == 0, width=int(rng.choice([6, 7])))
        for ref, got in zip(mxnet_box_nms(data, **attrs), reference(data, **attrs)):
            assert_same(ref, got, f"{trial} {attrs}")


def test_equal_scores_keep_row_order():
    """std::stable_sort: of equal scores the earlier row comes first (and suppresses the later)."""
    data = np.array([[0, .5, 0, 0, 1, 1], [0, .9, 5, 5, 6, 6], [0, .5, 2, 2, 3, 3], [0, .5, 0, 0, 1, 1.01]], np.float32)
    out, record = mxnet_box_nms(data)
    assert record[:, 0].tolist() == [1, 0, 2, -1]
    for ref, got in zip((out, record), reference(data)):
        assert_same(ref, got)


def test_rows_with_a_negative_first_coordinate_keep_their_format():
    data = np.array([[0, .9, -0.5, 0, 1, 1], [0, .8, 2, 2, 4, 3]], np.float32)
    out, _ = mxnet_box_nms(data, out_format="center")
    assert out[0, 2:].tolist() == [-0.5, 0, 1, 1] and out[1, 2:].tolist() == [3, 2.5, 2, 1]
    assert_same(out, reference(data, out_format="center")[0])


def test_topk_zero_copies_the_input_through():
    data = rows(np.random.default_rng(1), (2,), 7, {})
    out, record = mxnet_box_nms(data, topk=0, out_format="center")
    assert np.array_equal(out, data) and record.ravel().tolist() == list(range(14))
    for ref, got in zip((out, record), reference(data, topk=0, out_format="center")):
        assert_same(ref, got)


def test_record_is_hidden_from_the_symbol():
    sym = symbol(name="nms")
    assert sym.list_outputs() == ["nms_output0"]


def test_converter_writes_one_private_node_with_every_attribute():
    attrs = dict(overlap_thresh=0.45, valid_thresh=0.01, topk=100, coord_start=2, score_index=1, id_index=0,
                 background_id=3, force_suppress=True, in_format="center", out_format="corner")
    proto = convert_symbol(symbol(**attrs), {}, {}, input_shapes={"data": (2, 30, 6)}, dynamic=False)
    (node,) = proto.graph.node
    assert (node.domain, node.op_type) == ("modelport", "BoxNMS")
    assert list(node.output) == ["nms_output0", "nms_output1"]
    got = {a.name: a for a in node.attribute}
    assert set(got) == set(attrs)
    assert got["overlap_thresh"].f == pytest.approx(0.45) and got["valid_thresh"].f == pytest.approx(0.01)
    assert [got[k].i for k in ("topk", "coord_start", "score_index", "id_index", "background_id", "force_suppress")] \
        == [100, 2, 1, 0, 3, 1]
    assert (got["in_format"].s, got["out_format"].s) == (b"center", b"corner")
    (output,) = proto.graph.output
    assert output.name == "nms_output0"
    assert [d.dim_value for d in output.type.tensor_type.shape.dim] == [2, 30, 6]


def test_defaults_are_made_explicit():
    proto = convert_symbol(symbol(), {}, {}, input_shapes={"data": (30, 6)}, dynamic=False)
    got = {a.name: a for a in proto.graph.node[0].attribute}
    assert got["overlap_thresh"].f == pytest.approx(0.5) and got["topk"].i == -1 and got["id_index"].i == -1
    assert got["in_format"].s == got["out_format"].s == b"corner"


def test_record_output_and_alias_convert():
    proto = convert_symbol(symbol(record=True, alias=True), {}, {}, input_shapes={"data": (1, 30, 6)}, dynamic=False)
    assert [o.name for o in proto.graph.output] == ["nms_output0", "nms_output1"]
    assert [d.dim_value for d in proto.graph.output[1].type.tensor_type.shape.dim] == [1, 30, 1]


@pytest.mark.parametrize("attrs, width, message", [
    (dict(id_index=0), 5, "at least 6"),
    (dict(score_index=3), 6, "score_index 3 is one of the coordinates"),
    (dict(coord_start=3), 6, "out of range"),
    (dict(id_index=1), 6, "id_index 1 is score_index too"),
    (dict(id_index=4), 7, "id_index 4 is one of the coordinates"),
    (dict(overlap_thresh=-0.1), 6, "overlap_thresh"),
])
def test_refusals_name_the_node_and_attribute(attrs, width, message):
    with pytest.raises(ConversionError, match=f"nms.*{message}"):
        convert_symbol(symbol(**attrs), {}, {}, input_shapes={"data": (1, 30, width)}, dynamic=False)
