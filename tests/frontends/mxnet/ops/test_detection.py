"""_contrib_MultiBoxDetection: the numpy reference against MXNet 1.9.1 (every attribute, ties,
batches), and the converter's node."""
import numpy as np
import pytest

from modelport.frontends.mxnet.ops.detection import reference
from oracle import convert_symbol
from ssd_support import ATTRIBUTE_CASES, assert_same_rows, inputs, mxnet_detection, random_case, symbol

# MXNet's ox = px * vx * aw + ax is now and then one float32 ulp from numpy's (contraction):
ULP_BOXES = 1e-7


@pytest.mark.parametrize("attrs", ATTRIBUTE_CASES, ids=str)
@pytest.mark.parametrize("ties", [False, True])
def test_reference_equals_mxnet(attrs, ties):
    rng = np.random.default_rng(7)
    for batch, classes, anchors in [(1, 4, 40), (2, 3, 25), (1, 2, 60)]:
        data = inputs(rng, batch, classes, anchors, ties)
        assert_same_rows(mxnet_detection(*data, **attrs), reference(*data, **attrs), ULP_BOXES)


def test_reference_random_attributes():
    rng = np.random.default_rng(3)
    for trial in range(60):
        data, attrs = random_case(rng, ties=trial % 3 == 0)
        assert_same_rows(mxnet_detection(*data, **attrs), reference(*data, **attrs), ULP_BOXES, f"{trial} {attrs}")


def test_converter_writes_one_private_node_with_every_attribute():
    proto = convert_symbol(symbol(nms_topk=7, force_suppress=True, variances=(0.3, 0.3, 0.4, 0.4)), {}, {},
                           input_shapes={"cls_prob": (1, 3, 20), "loc_pred": (1, 80), "anchor": (1, 20, 4)},
                           dynamic=False)
    (node,) = proto.graph.node
    assert (node.domain, node.op_type) == ("modelport", "MultiBoxDetection")
    attrs = {a.name: a for a in node.attribute}
    assert attrs["nms_topk"].i == 7 and attrs["force_suppress"].i == 1 and attrs["clip"].i == 1
    assert list(attrs["variances"].floats) == pytest.approx([0.3, 0.3, 0.4, 0.4])
    dims = [d.dim_value for d in proto.graph.output[0].type.tensor_type.shape.dim]
    assert proto.graph.output[0].name == "detection" and dims == [1, 20, 6]


def test_wrong_variances_name_the_node():
    from modelport.errors import ConversionError

    with pytest.raises(ConversionError, match="detection.*variances"):
        convert_symbol(symbol(variances=(0.1, 0.1, 0.2)), {}, {},
                       input_shapes={"cls_prob": (1, 3, 20), "loc_pred": (1, 80), "anchor": (1, 20, 4)})
