"""Tests for modelport.train.VariableShapeModule against real MXNet.

The running example is the 3x3 "convolution sum": Convolution(num_filter=1,
kernel=(3,3), no_bias) with weights [[1,2,3]]*3, loss MakeLoss(sum(conv)). On an
input equal to the kernel the output is (1+4+9)*3 = 42; the weight gradient is the
sum of the input's 3x3 patches, so one SGD step (lr 0.01, no momentum/wd,
rescale_grad 1) on that input gives 42 - 0.01*42 = 41.58. Every expected value is
computed here with numpy, independently of the code under test.

Each pitfall of plain ``mx.mod.Module`` is first reproduced (the test asserts the
buggy behaviour), then shown fixed in ``VariableShapeModule``.
"""

import mxnet as mx
import numpy as np
import pytest

from modelport.train import VariableShapeModule

LR = 0.01
W0 = np.array([[1, 2, 3]] * 3, dtype=np.float32)       # the 3x3 kernel
X3 = W0.copy()                                           # 3x3 input equal to the kernel
X3B = np.arange(9, dtype=np.float32).reshape(3, 3)       # a second 3x3 input
X4 = np.arange(16, dtype=np.float32).reshape(4, 4) / 4   # a 4x4 input (2x2 conv output)
SGD = {"learning_rate": LR, "momentum": 0.0, "wd": 0.0, "rescale_grad": 1.0}


# ---------------------------------------------------------------- numpy reference
def np_conv_sum(x, w):
    """sum of a 'valid' 2-D cross-correlation (what MXNet's Convolution computes)."""
    kh, kw = w.shape
    return sum(float((x[i:i + kh, j:j + kw] * w).sum())
               for i in range(x.shape[0] - kh + 1) for j in range(x.shape[1] - kw + 1))


def np_weight_grad(x, k=3):
    """d sum(conv(x, w)) / dw = sum of the kxk patches of x."""
    return sum(x[i:i + k, j:j + k] for i in range(x.shape[0] - k + 1)
               for j in range(x.shape[1] - k + 1)).astype(np.float64)


# ---------------------------------------------------------------- mxnet helpers
def conv_sum_symbol():
    data = mx.sym.Variable("data")
    conv = mx.sym.Convolution(data, num_filter=1, kernel=(3, 3), no_bias=True, name="conv")
    return mx.sym.MakeLoss(mx.sym.sum(conv))


def batch(*images):
    """DataBatch of single-channel images (one image per sample)."""
    arr = np.stack([np.asarray(im, dtype=np.float32)[None] for im in images])
    return mx.io.DataBatch([mx.nd.array(arr)], [])


def shape_of(*images):
    return [("data", (len(images), 1) + np.asarray(images[0]).shape)]


def make(cls, first_input, context=mx.cpu(), optimizer_params=SGD, **kwargs):
    mod = cls(conv_sum_symbol(), label_names=None, context=context, **kwargs)
    mod.bind(shape_of(*first_input))
    mod.set_params({"conv_weight": mx.nd.array(W0.reshape(1, 1, 3, 3))}, {})
    mod.init_optimizer(optimizer="sgd", optimizer_params=dict(optimizer_params))
    return mod


def train_step(mod, *images):
    mod.forward(batch(*images), is_train=True)
    mod.backward()
    mod.update()


def output(mod, *images):
    mod.forward(batch(*images), is_train=False)
    return mod.get_outputs()[0].asnumpy().ravel()


def weight(mod):
    return mod.get_params()[0]["conv_weight"].asnumpy().reshape(3, 3)


def test_reference_example_values():
    assert np_conv_sum(X3, W0) == 42.0
    assert np.isclose(np_conv_sum(X3, W0 - LR * np_weight_grad(X3)), 41.58)


# ---------------------------------------------------------------- pitfall 26
def test_pitfall_26_rebind_discards_updates_plain_module():
    mod = make(mx.mod.Module, [X3])
    assert np.allclose(output(mod, X3), 42.0)
    train_step(mod, X3)
    assert np.allclose(output(mod, X3), 41.58)           # the update happened...
    mod.bind(shape_of(X4), force_rebind=True)             # ...new image size...
    mod.bind(shape_of(X3), force_rebind=True)             # ...and back
    assert np.allclose(output(mod, X3), 42.0)             # BUG: update silently lost
    assert np.array_equal(weight(mod), W0)


def test_pitfall_26_shape_switch_keeps_updates():
    mod = make(VariableShapeModule, [X3])
    train_step(mod, X3)
    w1 = W0 - LR * np_weight_grad(X3)
    assert np.allclose(output(mod, X3), 41.58)
    assert np.allclose(output(mod, X4), np_conv_sum(X4, w1), rtol=1e-5)   # 4x4 sees it
    assert np.allclose(output(mod, X3), 41.58)                          # and back
    train_step(mod, X4)                                  # an update on the 4x4 executor
    w2 = w1 - LR * np_weight_grad(X4)
    assert np.allclose(output(mod, X3), np_conv_sum(X3, w2), rtol=1e-5)
    assert np.allclose(weight(mod), w2, rtol=1e-5)
    assert len(mod.cached_shapes) == 2                   # one executor per shape, reused


def test_pitfall_26_force_rebind_keeps_updates_and_optimizer_state():
    mom = dict(SGD, momentum=0.9)
    mod = make(VariableShapeModule, [X3], optimizer_params=mom)
    train_step(mod, X3)
    mod.bind(shape_of(X4), force_rebind=True)
    mod.bind(shape_of(X3), force_rebind=True)
    assert np.allclose(output(mod, X3), 41.58)
    train_step(mod, X4)
    # numpy SGD with momentum: v = 0.9 v - lr g ; w += v
    g1, g2 = np_weight_grad(X3), np_weight_grad(X4)
    v1 = -LR * g1
    v2 = 0.9 * v1 - LR * g2
    assert np.allclose(weight(mod), W0 + v1 + v2, rtol=1e-5)


def test_pitfall_26_momentum_shared_across_shapes():
    mod = make(VariableShapeModule, [X3], optimizer_params=dict(SGD, momentum=0.9))
    train_step(mod, X3)
    train_step(mod, X4)
    train_step(mod, X3)
    g = [np_weight_grad(X3), np_weight_grad(X4), np_weight_grad(X3)]
    w, v = W0.astype(np.float64), 0.0
    for gi in g:
        v = 0.9 * v - LR * gi
        w = w + v
    assert np.allclose(weight(mod), w, rtol=1e-5)


def test_evicted_executor_keeps_updates():
    mod = make(VariableShapeModule, [X3], max_cached_shapes=1)
    x5 = np.ones((5, 5), np.float32)
    train_step(mod, X4)
    train_step(mod, x5)                                  # evicts the 4x4 executor
    assert len(mod.cached_shapes) == 2
    train_step(mod, X4)                                  # rebinds 4x4
    expected = W0 - LR * (2 * np_weight_grad(X4) + np_weight_grad(x5))
    assert np.allclose(weight(mod), expected, rtol=1e-5)


# ---------------------------------------------------------------- pitfall 27
def test_pitfall_27_second_backward_overwrites_plain_module():
    mod = make(mx.mod.Module, [X3])
    for x in (X3, X3B):
        mod.forward(batch(x), is_train=True)
        mod.backward()
    mod.update()
    only_last = W0 - LR * np_weight_grad(X3B)
    both = W0 - LR * (np_weight_grad(X3) + np_weight_grad(X3B))
    assert np.allclose(weight(mod), only_last)           # BUG: first gradient gone
    assert not np.allclose(weight(mod), both)


@pytest.mark.parametrize("accumulate,scale", [("sum", 1.0), ("mean", 0.5)])
def test_pitfall_27_gradients_accumulate(accumulate, scale):
    mod = make(VariableShapeModule, [X3], accumulate=accumulate)
    for x in (X3, X3B):
        mod.forward(batch(x), is_train=True)
        mod.backward()
    assert mod.accumulated_steps == 2
    mod.update()
    assert mod.accumulated_steps == 0
    expected = W0 - LR * scale * (np_weight_grad(X3) + np_weight_grad(X3B))
    assert np.allclose(weight(mod), expected, rtol=1e-6)
    # the next update only uses gradients computed after the previous update
    train_step(mod, X3)
    assert np.allclose(weight(mod), expected - LR * np_weight_grad(X3), rtol=1e-6)


@pytest.mark.parametrize("accumulate,scale", [("sum", 1.0), ("mean", 1.0 / 3)])
def test_pitfall_27_gradients_accumulate_across_shapes(accumulate, scale):
    mod = make(VariableShapeModule, [X3], accumulate=accumulate)
    inputs = (X3, X4, X3B)
    for x in inputs:
        mod.forward(batch(x), is_train=True)
        mod.backward()
    mod.update()
    expected = W0 - LR * scale * sum(np_weight_grad(x) for x in inputs)
    assert np.allclose(weight(mod), expected, rtol=1e-5)
    assert np.allclose(output(mod, X3), np_conv_sum(X3, expected), rtol=1e-5)


def test_pitfall_27_accumulate_on_two_devices():
    ctx = [mx.cpu(0), mx.cpu(1)]
    mod = make(VariableShapeModule, [X3, X3B], context=ctx, accumulate="mean")
    y1, y2 = np.ones((4, 4), np.float32), X4
    for images in ((X3, X3B), (y1, y2)):                 # one sample per device
        mod.forward(batch(*images), is_train=True)
        mod.backward()
    mod.update()
    grad = sum(np_weight_grad(x) for x in (X3, X3B, y1, y2)) / 2
    expected = W0 - LR * grad
    assert np.allclose(weight(mod), expected, rtol=1e-5)
    assert np.allclose(output(mod, X3, X3), np_conv_sum(X3, expected), rtol=1e-5)
    # set_params after init_optimizer must survive the next update on several devices
    mod.set_params({"conv_weight": mx.nd.array(W0.reshape(1, 1, 3, 3))}, {})
    train_step(mod, X3, X3)
    assert np.allclose(weight(mod), W0 - LR * 2 * np_weight_grad(X3), rtol=1e-6)


# ---------------------------------------------------------------- pitfall 28
def test_pitfall_28_checkpoint_stale_after_shape_change_plain_module(tmp_path):
    mod3 = make(mx.mod.Module, [X3])
    # switch image size the BucketingModule way: an executor sharing mod3's params
    mod4 = mx.mod.Module(conv_sum_symbol(), label_names=None)
    mod4.bind(shape_of(X4), shared_module=mod3)
    train_step(mod4, X4)
    w1 = W0 - LR * np_weight_grad(X4)
    assert np.allclose(output(mod3, X3), np_conv_sum(X3, w1), rtol=1e-5)  # mod3 uses w1
    prefix = str(tmp_path / "plain")
    mod3.save_checkpoint(prefix, 1)
    _, arg, _ = mx.model.load_checkpoint(prefix, 1)
    saved = arg["conv_weight"].asnumpy().reshape(3, 3)
    assert np.array_equal(saved, W0)                     # BUG: weights from before the switch
    assert not np.allclose(saved, w1)


def test_pitfall_28_plain_module_force_rebind_checkpoint_is_stale(tmp_path):
    mod = make(mx.mod.Module, [X3])
    train_step(mod, X3)
    mod.bind(shape_of(X4), force_rebind=True)
    mod.save_checkpoint(str(tmp_path / "plain"), 1)
    _, arg, _ = mx.model.load_checkpoint(str(tmp_path / "plain"), 1)
    assert np.array_equal(arg["conv_weight"].asnumpy().reshape(3, 3), W0)   # BUG


def test_pitfall_28_checkpoint_has_latest_params(tmp_path):
    mod = make(VariableShapeModule, [X3])
    train_step(mod, X3)
    train_step(mod, X4)
    mod.forward(batch(X3B), is_train=True)               # a third shape change
    mod.backward()
    mod.update()
    output(mod, X4)
    prefix = str(tmp_path / "vs")
    mod.save_checkpoint(prefix, 1)
    _, arg, aux = mx.model.load_checkpoint(prefix, 1)
    in_memory = mod.get_params()[0]
    assert set(arg) == set(in_memory) and aux == {}
    for name in arg:
        assert np.array_equal(arg[name].asnumpy(), in_memory[name].asnumpy())
    expected = W0 - LR * (np_weight_grad(X3) + np_weight_grad(X4) + np_weight_grad(X3B))
    assert np.allclose(arg["conv_weight"].asnumpy().reshape(3, 3), expected, rtol=1e-5)


def test_pitfall_28_load_gives_ready_to_train_module(tmp_path):
    mom = dict(SGD, momentum=0.9)
    mod = make(VariableShapeModule, [X3], optimizer_params=mom)
    train_step(mod, X3)
    train_step(mod, X4)
    prefix = str(tmp_path / "vs")
    mod.save_checkpoint(prefix, 2, save_optimizer_states=True)
    train_step(mod, X3B)                                 # reference continuation
    continued = weight(mod)

    loaded = VariableShapeModule.load(prefix, 2, load_optimizer_states=True,
                                      data_shapes=shape_of(X3), optimizer="sgd",
                                      optimizer_params=mom, label_names=None)
    assert loaded.binded and loaded.optimizer_initialized
    train_step(loaded, X3B)
    assert np.allclose(weight(loaded), continued, rtol=1e-6)   # momentum state restored

    # load without shapes: params (and states) are applied by bind / init_optimizer
    lazy = VariableShapeModule.load(prefix, 2, load_optimizer_states=True, label_names=None)
    assert not lazy.binded
    _, arg, _ = mx.model.load_checkpoint(prefix, 2)
    assert np.array_equal(lazy.get_params()[0]["conv_weight"].asnumpy(),
                          arg["conv_weight"].asnumpy())
    lazy.bind(shape_of(X4))
    lazy.init_optimizer(optimizer="sgd", optimizer_params=mom)
    train_step(lazy, X3B)
    assert np.allclose(weight(lazy), continued, rtol=1e-6)


def test_checkpoint_has_batchnorm_statistics_without_update(tmp_path):
    # MXNet updates BatchNorm moving statistics in backward(): a plain Module only
    # marks its CPU copy stale in update(), so they are lost without an update.
    data = mx.sym.Variable("data")
    net = mx.sym.MakeLoss(mx.sym.sum(mx.sym.BatchNorm(data, momentum=0.5, name="bn")))
    x = np.full((1, 1, 2, 2), 4.0, np.float32)
    expected = 0.5 * 0.0 + 0.5 * x.mean()                # running mean starts at 0
    stale = mx.mod.Module(net, label_names=None)
    fixed = VariableShapeModule(net, label_names=None)
    for mod in (stale, fixed):
        mod.bind([("data", x.shape)])
        mod.init_params()
        mod.forward(mx.io.DataBatch([mx.nd.array(x)], []), is_train=True)
        mod.backward()
        mod.save_checkpoint(str(tmp_path / type(mod).__name__), 0)
    _, _, aux_stale = mx.model.load_checkpoint(str(tmp_path / "Module"), 0)
    _, _, aux_fixed = mx.model.load_checkpoint(str(tmp_path / "VariableShapeModule"), 0)
    assert np.allclose(aux_stale["bn_moving_mean"].asnumpy(), 0.0)       # plain: stale
    assert np.allclose(aux_fixed["bn_moving_mean"].asnumpy(), expected)


# ---------------------------------------------------------------- API / errors
def test_fit_api_works():
    mod = VariableShapeModule(conv_sum_symbol(), label_names=None)
    it = mx.io.NDArrayIter(X3[None, None], batch_size=1)
    mod.fit(it, num_epoch=1, eval_metric="loss", optimizer="sgd", optimizer_params=SGD,
            arg_params={"conv_weight": mx.nd.array(W0.reshape(1, 1, 3, 3))}, aux_params={})
    assert np.allclose(weight(mod), W0 - LR * np_weight_grad(X3))


def test_errors_are_clear():
    with pytest.raises(ValueError, match="accumulate"):
        VariableShapeModule(conv_sum_symbol(), label_names=None, accumulate="avg")
    mod = VariableShapeModule(conv_sum_symbol(), label_names=None)
    with pytest.raises(RuntimeError, match="bind"):
        mod.forward(batch(X3))
    with pytest.raises(RuntimeError, match="bind"):
        mod.init_params()
    mod.bind(shape_of(X3))
    with pytest.raises(RuntimeError, match="init_params"):
        mod.forward(batch(X3))
    mod.init_params()
    with pytest.raises(RuntimeError, match="forward"):
        mod.get_outputs()
    with pytest.raises(RuntimeError, match="init_optimizer"):
        mod.update()
    mod.init_optimizer()
    with pytest.raises(RuntimeError, match="without any backward"):
        mod.update()
    with pytest.raises(RuntimeError, match="forward"):
        mod.backward()
    mod.forward(batch(X3), is_train=False)
    with pytest.raises(RuntimeError, match="is_train=True"):
        mod.backward()
    mod.forward(batch(X3), is_train=True)
    mod.backward()
    with pytest.raises(RuntimeError, match="own forward"):
        mod.backward()
    mod.update()
    with pytest.raises(ValueError, match="grad_req"):
        VariableShapeModule(conv_sum_symbol(), label_names=None).bind(shape_of(X3),
                                                                      grad_req="null")


def test_shape_dependent_parameters_are_rejected():
    data = mx.sym.Variable("data")
    net = mx.sym.MakeLoss(mx.sym.sum(mx.sym.FullyConnected(data, num_hidden=2, name="fc")))
    mod = VariableShapeModule(net, label_names=None)
    mod.bind(shape_of(X3))
    mod.init_params()
    with pytest.raises(ValueError, match="fc_weight.*global pooling"):
        mod.forward(batch(X4))


def test_fixed_params_stay_and_others_accumulate():
    data = mx.sym.Variable("data")
    conv = mx.sym.Convolution(data, num_filter=1, kernel=(3, 3), name="conv")   # with bias
    mod = VariableShapeModule(mx.sym.MakeLoss(mx.sym.sum(conv)), label_names=None,
                              fixed_param_names=["conv_weight"], accumulate="sum")
    mod.bind(shape_of(X3))
    mod.set_params({"conv_weight": mx.nd.array(W0.reshape(1, 1, 3, 3)),
                    "conv_bias": mx.nd.zeros((1,))}, {})
    mod.init_optimizer(optimizer="sgd", optimizer_params=SGD)
    for x in (X3, X4):                                   # 1 and 4 output pixels
        mod.forward(batch(x), is_train=True)
        mod.backward()
    mod.update()
    arg = mod.get_params()[0]
    assert np.array_equal(arg["conv_weight"].asnumpy().reshape(3, 3), W0)
    assert np.allclose(arg["conv_bias"].asnumpy(), [-LR * (1 + 4)])


def test_load_without_states_file_is_clear(tmp_path):
    mod = make(VariableShapeModule, [X3])
    mod.save_checkpoint(str(tmp_path / "m"), 1)
    with pytest.raises(FileNotFoundError, match="save_optimizer_states"):
        VariableShapeModule.load(str(tmp_path / "m"), 1, load_optimizer_states=True,
                                 label_names=None)


