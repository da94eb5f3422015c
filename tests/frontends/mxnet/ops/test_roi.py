"""_contrib_ROIAlign against MXNet: aligned both ways, adaptive and fixed sampling, scales,
boxes smaller than a bin and partly outside the map; negative batch indices give the documented
zeros (MXNet's kernel writes them to the wrong place, see the op's docstring); position_sensitive
(PS-RoIAlign) for several pooled sizes and group counts, and its channel-count check."""
import mxnet as mx
import numpy as np
import pytest

from modelport.errors import ConversionError
from oracle import convert_symbol, roundtrip_feeds

CASES = [dict(pooled_size=(7, 7), spatial_scale=0.25), dict(pooled_size=(7, 7), spatial_scale=0.25, aligned=True),
         dict(pooled_size=(3, 5), spatial_scale=0.5, sample_ratio=2),
         dict(pooled_size=(2, 2), spatial_scale=0.125, sample_ratio=1, aligned=True),
         dict(pooled_size=(14, 14), spatial_scale=1.0)]


def rois(rng, count: int, batch: int, size: float):
    xy = rng.uniform(-0.1 * size, size, (count, 2))
    wh = rng.uniform(0.2, 0.6 * size, (count, 2))
    wh[:3] = rng.uniform(0, 1.5, (3, 2))  # smaller than a bin
    ids = rng.integers(0, batch, (count, 1)).astype(np.float64)
    return np.concatenate([ids, xy, xy + wh], axis=1).astype(np.float32)


@pytest.mark.parametrize("kw", CASES, ids=str)
def test_roi_align(kw):
    sym = mx.sym.contrib.ROIAlign(mx.sym.var("data"), mx.sym.var("rois"), name="pooled", **kw)
    rng = np.random.default_rng(0)
    runs = []
    for _ in range(2):
        data = rng.normal(0, 1, (2, 3, 16, 20)).astype(np.float32)
        runs.append({"data": data, "rois": rois(rng, 12, 2, 20 / kw["spatial_scale"])})
    roundtrip_feeds(sym, runs, static=True)


PS_CASES = [dict(pooled_size=pooled, sample_ratio=ratio, aligned=aligned, groups=groups)  # groups: output channels
            for pooled in [(2, 2), (3, 3), (2, 3)] for groups in (1, 3)
            for ratio in (-1, 2) for aligned in (False, True)]


@pytest.mark.parametrize("kw", PS_CASES, ids=str)
def test_position_sensitive_bin_reads_its_own_channel_of_the_group(kw):
    kw = dict(kw)
    channels = kw.pop("groups") * kw["pooled_size"][0] * kw["pooled_size"][1]
    sym = mx.sym.contrib.ROIAlign(mx.sym.var("data"), mx.sym.var("rois"), name="psroi", spatial_scale=0.5,
                                  position_sensitive=True, **kw)
    rng = np.random.default_rng(1)
    runs = [{"data": rng.normal(0, 1, (2, channels, 12, 14)).astype(np.float32), "rois": rois(rng, 9, 2, 28)}
            for _ in range(2)]
    roundtrip_feeds(sym, runs, static=True)


def test_position_sensitive_channels_not_a_multiple_of_the_bins_is_refused_naming_the_node():
    sym = mx.sym.contrib.ROIAlign(mx.sym.var("data"), mx.sym.var("rois"), name="psroi", pooled_size=(2, 3),
                                  spatial_scale=1.0, position_sensitive=True)
    with pytest.raises(mx.base.MXNetError, match="Input channels should be divided"):  # MXNet refuses it too
        sym.infer_shape(data=(1, 8, 8, 8), rois=(4, 5))
    with pytest.raises(ConversionError, match="psroi.*8 input channels.*multiple of.*2x3 = 6"):
        convert_symbol(sym, {}, {}, input_shapes={"data": (1, 8, 8, 8), "rois": (4, 5)}, dynamic=False)


def test_negative_batch_index_gives_zero_rows_and_leaves_the_others():
    from oracle import run_onnx

    rng = np.random.default_rng(4)
    data = rng.normal(0, 1, (2, 3, 16, 20)).astype(np.float32)
    boxes = rois(rng, 6, 2, 20)
    sym = mx.sym.contrib.ROIAlign(mx.sym.var("data"), mx.sym.var("rois"), name="pooled", pooled_size=(3, 3),
                                  spatial_scale=1.0)
    proto = convert_symbol(sym, {}, {}, input_shapes={"data": data.shape, "rois": boxes.shape}, dynamic=False)
    clean = run_onnx(proto, {"data": data, "rois": boxes})[0]
    ignored = boxes.copy()
    ignored[[1, 4], 0] = -1
    got = run_onnx(proto, {"data": data, "rois": ignored})[0]
    assert (got[[1, 4]] == 0).all() and np.abs(clean[[1, 4]]).max() > 0.1
    assert np.array_equal(got[[0, 2, 3, 5]], clean[[0, 2, 3, 5]])
    ref = mx.nd.contrib.ROIAlign(mx.nd.array(data), mx.nd.array(boxes), pooled_size=(3, 3), spatial_scale=1.0)
    assert np.abs(ref.asnumpy() - clean).max() <= 1e-5
