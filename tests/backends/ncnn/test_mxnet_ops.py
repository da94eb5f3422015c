"""MXNet operators one at a time through the ncnn target against real MXNet (batch 1, the
layouts ncnn has): each must convert and match."""
import mxnet as mx
import pytest

from mxnet_ncnn import ncnn_roundtrip

d = mx.sym.var("data")
S4, S3, S2 = (1, 3, 6, 5), (1, 4, 7), (1, 6)

CASES = {
    "upsampling_nearest": (lambda: mx.sym.UpSampling(d, scale=2, sample_type="nearest", num_args=1), S4),
    "softmax_activation_channel": (lambda: mx.sym.SoftmaxActivation(d, mode="channel"), S4),
    "softmax_activation_instance": (lambda: mx.sym.SoftmaxActivation(d), S2),
    "log_softmax_axis1": (lambda: mx.sym.log_softmax(d, axis=1), S4),
    "leaky_relu": (lambda: mx.sym.LeakyReLU(d, slope=0.2), S4),
    "elu": (lambda: mx.sym.LeakyReLU(d, act_type="elu", slope=0.5), S4),
    "selu": (lambda: mx.sym.LeakyReLU(d, act_type="selu"), S4),
    "clip": (lambda: mx.sym.clip(d, a_min=-0.3, a_max=0.4), S4),
    "relu6_via_clip_after_conv": (lambda: mx.sym.clip(mx.sym.Convolution(d, kernel=(3, 3), num_filter=4, name="c"),
                                                      a_min=0, a_max=6), S4),
    "sigmoid": (lambda: mx.sym.sigmoid(d), S4),
    "tanh_fc": (lambda: mx.sym.tanh(mx.sym.FullyConnected(d, num_hidden=5, name="fc")), S4),
    "fc_no_flatten_3d": (lambda: mx.sym.FullyConnected(d, num_hidden=5, flatten=False, name="fc"), S3),
    "transpose": (lambda: mx.sym.transpose(d, axes=(0, 2, 3, 1)), S4),
    "expand_dims": (lambda: mx.sym.expand_dims(d, axis=2), S3),
    "squeeze": (lambda: mx.sym.squeeze(mx.sym.mean(d, axis=2, keepdims=True), axis=2), S4),
    "reshape_special": (lambda: mx.sym.Reshape(d, shape=(0, -1, 5)), S4),
    "reshape_minus4": (lambda: mx.sym.Reshape(d, shape=(0, -4, 1, 3, -2)), S4),
    "flatten": (lambda: mx.sym.Flatten(d), S4),
    "sum_axis": (lambda: mx.sym.sum(d, axis=(2, 3), keepdims=True), S4),
    "max_axis": (lambda: mx.sym.max(d, axis=1), S4),
    "mean_all_but_batch": (lambda: mx.sym.mean(d, axis=(1, 2, 3)), S4),
    "slice_axis": (lambda: mx.sym.slice_axis(d, axis=2, begin=1, end=-1), S4),
    "slice": (lambda: mx.sym.slice(d, begin=(None, 1, 2), end=(None, 3, None)), S3),
    "crop_like": (lambda: mx.sym.Crop(d, mx.sym.Pooling(d, kernel=(2, 2), stride=(2, 2), pool_type="max"),
                                      num_args=2, center_crop=True), S4),
    "pad_constant": (lambda: mx.sym.Pad(d, mode="constant", pad_width=(0, 0, 0, 0, 1, 2, 2, 1), constant_value=0.5), S4),
    "pad_edge": (lambda: mx.sym.Pad(d, mode="edge", pad_width=(0, 0, 0, 0, 1, 2, 2, 1)), S4),
    "pad_reflect": (lambda: mx.sym.Pad(d, mode="reflect", pad_width=(0, 0, 0, 0, 1, 2, 2, 1)), S4),
    "lrn": (lambda: mx.sym.LRN(d, nsize=3, alpha=0.001, beta=0.75, knorm=2), S4),
    "instance_norm": (lambda: mx.sym.InstanceNorm(d, eps=1e-3, name="in"), S4),
    "scalar_ops": (lambda: 1 / mx.sym.sqrt(mx.sym.abs(d) + 1) * 2 - 1 / (mx.sym.abs(d) + 1) + (3 - d) / 4, S4),
    "power_scalar_2": (lambda: d ** 2, S4),
    "square_sqrt": (lambda: mx.sym.sqrt(mx.sym.square(d)), S4),
    "exp_log": (lambda: mx.sym.log(mx.sym.exp(d) + 1), S4),
    "add_n": (lambda: mx.sym.add_n(d, mx.sym.relu(d), mx.sym.tanh(d)), S4),
    "broadcast_max_min": (lambda: mx.sym.broadcast_maximum(d, mx.sym.tanh(d)) + mx.sym.broadcast_minimum(
        d, mx.sym.relu(d)), S4),
    "concat_channels": (lambda: mx.sym.concat(d, mx.sym.relu(d), dim=1), S4),
    "split_squeeze": (lambda: mx.sym.split(d, num_outputs=3, axis=1, squeeze_axis=True)[1], S4),
    "depthwise_conv_bn_relu": (lambda: mx.sym.relu(mx.sym.BatchNorm(mx.sym.Convolution(
        d, kernel=(3, 3), num_filter=3, num_group=3, pad=(1, 1), no_bias=True, name="dw"), fix_gamma=False, name="bn")), S4),
    "dilated_conv": (lambda: mx.sym.Convolution(d, kernel=(3, 3), dilate=(2, 2), num_filter=4, pad=(2, 2), name="c"), S4),
    "global_max_pool": (lambda: mx.sym.Pooling(d, kernel=(1, 1), global_pool=True, pool_type="max"), S4),
    "global_avg_pool_fc": (lambda: mx.sym.FullyConnected(mx.sym.Pooling(d, kernel=(1, 1), global_pool=True,
                                                                        pool_type="avg"), num_hidden=4, name="fc"), S4),
    "pooling_1d_avg_full": (lambda: mx.sym.Pooling(d, kernel=(3,), stride=(2,), pad=(1,), pool_type="avg",
                                                   pooling_convention="full"), S3),
    "pooling_1d_max": (lambda: mx.sym.Pooling(d, kernel=(2,), stride=(2,), pool_type="max"), S3),
    "dropout": (lambda: mx.sym.Dropout(mx.sym.relu(d), p=0.5), S4),
    "blockgrad_identity": (lambda: mx.sym.BlockGrad(mx.sym.relu(d)) + mx.sym.identity(d), S4),
    "softmax_output": (lambda: mx.sym.SoftmaxOutput(mx.sym.FullyConnected(d, num_hidden=5, name="fc"), name="softmax"), S4),
    "l2_norm_channel_4d": (lambda: mx.sym.L2Normalization(d, mode="channel"), S4),
}


@pytest.mark.parametrize("name", CASES)
def test_mxnet_op_through_ncnn(tmp_path, name):
    build, shape = CASES[name]
    ncnn_roundtrip(build(), [{"data": shape}], tmp_path)
