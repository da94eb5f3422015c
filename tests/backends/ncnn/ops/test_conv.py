"""Conv / ConvTranspose against onnxruntime: groups, depthwise, dilation, asymmetric and SAME
pads, 1-D, output_padding, output_shape."""
import pytest

from onnx_ncnn import check, const, np, one_op, types

R = np.random.default_rng(3)


def w(*shape):
    return const("w", R.normal(0, 0.5, shape).astype(np.float32))


def b(n):
    return const("b", R.normal(0, 0.5, (n,)).astype(np.float32))


@pytest.mark.parametrize("attrs,wshape,layer", [
    ({"pads": [1, 0, 2, 1], "strides": [2, 1]}, (5, 4, 3, 3), "Convolution"),
    ({"dilations": [2, 1], "kernel_shape": [3, 2]}, (5, 4, 3, 2), "Convolution"),
    ({"group": 2}, (6, 2, 3, 3), "ConvolutionDepthWise"),
    ({"group": 4, "pads": [1, 1, 1, 1]}, (4, 1, 3, 3), "ConvolutionDepthWise"),
    ({"auto_pad": "SAME_UPPER", "strides": [2, 2]}, (3, 4, 3, 3), "Convolution"),
    ({"auto_pad": "SAME_LOWER", "strides": [2, 2]}, (3, 4, 4, 4), "Convolution"),
])
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d(tmp_path, attrs, wshape, layer, bias):
    inits = [w(*wshape)] + ([b(wshape[0])] if bias else [])
    shape = (1, 4, 9, 8)
    text, _ = check(one_op("Conv", ["x", "w"] + (["b"] if bias else []), shape, attrs, inits), tmp_path, shape)
    assert types(text) == ["Input", layer]


def test_conv1d(tmp_path):
    text, _ = check(one_op("Conv", ["x", "w", "b"], (1, 4, 12), {"pads": [2, 1], "strides": [2]}, [w(3, 4, 3), b(3)]),
                    tmp_path, (1, 4, 12))
    assert types(text) == ["Input", "Convolution1D"]


@pytest.mark.parametrize("attrs,wshape,layer", [
    ({"pads": [1, 0, 1, 0, 1, 2], "strides": [1, 2, 1]}, (3, 2, 3, 3, 2), "Convolution3D"),
    ({"dilations": [2, 1, 1]}, (3, 2, 2, 2, 2), "Convolution3D"),
    ({"group": 2, "pads": [1, 1, 1, 1, 1, 1]}, (4, 1, 3, 3, 3), "ConvolutionDepthWise3D"),
])
def test_conv3d(tmp_path, attrs, wshape, layer):
    shape = (1, 2, 5, 6, 5)
    text, _ = check(one_op("Conv", ["x", "w", "b"], shape, attrs, [w(*wshape), b(wshape[0])]), tmp_path, shape)
    assert types(text) == ["Input", layer]


def test_conv4d_is_refused(tmp_path):
    with pytest.raises(Exception, match="dims besides the batch|4-D convolution"):
        check(one_op("Conv", ["x", "w"], (1, 1, 3, 3, 3, 3), {}, [w(1, 1, 1, 1, 1, 1)]), tmp_path, (1, 1, 3, 3, 3, 3))


@pytest.mark.parametrize("attrs,wshape,layer", [
    ({"strides": [2, 2], "pads": [1, 1, 1, 1]}, (4, 3, 3, 3), "Deconvolution"),
    ({"strides": [2, 2], "pads": [1, 0, 0, 1], "output_padding": [1, 1]}, (4, 3, 3, 3), "Deconvolution"),
    ({"strides": [2, 3], "dilations": [2, 1]}, (4, 3, 3, 2), "Deconvolution"),
    ({"strides": [2, 2], "group": 2}, (4, 3, 3, 3), "DeconvolutionDepthWise"),
    ({"strides": [2, 2], "group": 4}, (4, 1, 4, 4), "DeconvolutionDepthWise"),
    ({"strides": [2, 2], "output_shape": [10, 12]}, (4, 3, 3, 3), "Deconvolution"),
    ({"strides": [2, 2], "output_shape": [10, 12], "auto_pad": "SAME_UPPER"}, (4, 3, 3, 3), "Deconvolution"),
    ({"strides": [2, 2], "auto_pad": "SAME_LOWER"}, (4, 3, 4, 4), "Deconvolution"),
])
def test_conv_transpose(tmp_path, attrs, wshape, layer):
    group = attrs.get("group", 1)
    inits = [w(*wshape), b(wshape[1] * group)]
    text, _ = check(one_op("ConvTranspose", ["x", "w", "b"], (1, 4, 5, 6), attrs, inits), tmp_path, (1, 4, 5, 6))
    assert types(text) == ["Input", layer]
