"""End-to-end: train a tiny CNN on images of several sizes with VariableShapeModule.

Synthetic 3-channel images of 16x16, 20x20 and 24x24 pixels; the class is the
brightness (dark = 0, bright = 1), so a conv-bn-relu / global-average-pool / FC
network learns it in a few epochs. Each update accumulates one mini-batch of every
size. The resulting checkpoint is an ordinary MXNet checkpoint.
"""

import mxnet as mx
import numpy as np

from modelport.train import VariableShapeModule

SIZES = (16, 20, 24)
BATCH = 4              # images per forward (same size within a batch)
UPDATES_PER_EPOCH = 6  # each update accumulates one batch of every size
EPOCHS = 6
EPOCH_SAVED = EPOCHS


def tiny_cnn(batchnorm=True):
    data = mx.sym.Variable("data")
    x = mx.sym.Convolution(data, num_filter=8, kernel=(3, 3), pad=(1, 1), name="conv1")
    if batchnorm:
        x = mx.sym.BatchNorm(x, name="bn1")
    x = mx.sym.Activation(x, act_type="relu", name="relu1")
    x = mx.sym.Pooling(x, global_pool=True, pool_type="avg", kernel=(1, 1), name="gap")
    x = mx.sym.FullyConnected(mx.sym.flatten(x), num_hidden=2, name="fc")
    return mx.sym.SoftmaxOutput(x, name="softmax")


def make_images(rng, size, n):
    """n images of size x size, half dark (label 0) and half bright (label 1), shuffled."""
    labels = rng.permutation(np.arange(n) % 2).astype(np.float32)
    base = np.where(labels == 1, 0.65, 0.35).astype(np.float32)
    images = base[:, None, None, None] + 0.1 * rng.randn(n, 3, size, size).astype(np.float32)
    return images, labels


def cross_entropy(probs, labels):
    picked = probs[np.arange(len(labels)), labels.astype(int)]
    return float(-np.log(np.maximum(picked, 1e-12)).mean())


def _train(tmp_path, context=mx.cpu(), batchnorm=True):
    """Train the tiny CNN; return (module, mean loss per epoch, prefix, epoch)."""
    mx.random.seed(0)
    rng = np.random.RandomState(0)
    data = {s: make_images(rng, s, BATCH * UPDATES_PER_EPOCH) for s in SIZES}

    mod = VariableShapeModule(tiny_cnn(batchnorm), context=context, accumulate="mean")
    mod.bind(data_shapes=[("data", (BATCH, 3, SIZES[0], SIZES[0]))],
             label_shapes=[("softmax_label", (BATCH,))])
    mod.init_params(initializer=mx.init.Xavier(magnitude=2.0))
    mod.init_optimizer(optimizer="sgd",
                       optimizer_params={"learning_rate": 0.1, "momentum": 0.9})

    epoch_losses = []
    for _ in range(EPOCHS):
        losses = []
        for step in range(UPDATES_PER_EPOCH):
            for size in SIZES:                     # one batch of every size ...
                images, labels = data[size]
                sl = slice(step * BATCH, (step + 1) * BATCH)
                mod.forward(mx.io.DataBatch([mx.nd.array(images[sl])],
                                            [mx.nd.array(labels[sl])]), is_train=True)
                losses.append(cross_entropy(mod.get_outputs()[0].asnumpy(), labels[sl]))
                mod.backward()
            mod.update()                           # ... applied as one update
        epoch_losses.append(float(np.mean(losses)))

    tmp_path.mkdir(parents=True, exist_ok=True)
    prefix = str(tmp_path / "tiny_cnn")
    mod.save_checkpoint(prefix, EPOCH_SAVED)
    return mod, epoch_losses, prefix, EPOCH_SAVED


# ---------------------------------------------------------------------------
# Reusable helper (for the conversion tests: `modelport convert` / `verify`).
# Returns the (prefix, epoch) of a trained checkpoint: PREFIX-symbol.json and
# PREFIX-%04d.params, input name "data", 3 channels, any H x W (e.g. 1,3,20,20).
# ---------------------------------------------------------------------------
def _trained_checkpoint(tmp_path):
    _, _, prefix, epoch = _train(tmp_path)
    return prefix, epoch


def test_train_variable_sizes_loss_goes_down_and_checkpoint_loads(tmp_path):
    mod, epoch_losses, prefix, epoch = _train(tmp_path)
    assert len(mod.cached_shapes) == len(SIZES)
    assert epoch_losses[-1] < 0.5 * epoch_losses[0], epoch_losses

    symbol, arg, aux = mx.model.load_checkpoint(prefix, epoch)
    mem_arg, mem_aux = mod.get_params()
    assert set(arg) == set(mem_arg) and set(aux) == set(mem_aux)
    for saved, in_memory in ((arg, mem_arg), (aux, mem_aux)):
        for name, value in saved.items():
            assert np.array_equal(value.asnumpy(), in_memory[name].asnumpy()), name
    assert symbol.tojson() == mod.symbol.tojson()
    # BatchNorm running statistics were trained (not left at their initial 0 / 1)
    assert not np.allclose(aux["bn1_moving_mean"].asnumpy(), 0.0)

    # the checkpoint classifies images of an unseen size with plain MXNet
    rng = np.random.RandomState(1)
    images, labels = make_images(rng, 28, 16)
    plain = mx.mod.Module(symbol, context=mx.cpu())
    plain.bind([("data", images.shape)], [("softmax_label", labels.shape)], for_training=False)
    plain.set_params(arg, aux)
    plain.forward(mx.io.DataBatch([mx.nd.array(images)], []), is_train=False)
    accuracy = (plain.get_outputs()[0].asnumpy().argmax(axis=1) == labels).mean()
    assert accuracy >= 0.9, accuracy


def test_trained_checkpoint_converts_and_verifies(tmp_path, capsys):
    from modelport.cli import main

    prefix, epoch = _trained_checkpoint(tmp_path)
    symbol, arg, _ = mx.model.load_checkpoint(prefix, epoch)
    assert "data" in symbol.list_arguments() and "fc_weight" in arg
    out = tmp_path / "onnx"
    assert main(["convert", f"{prefix}-symbol.json", "--to", "onnx", "-o", str(out), "--input", "data:1,3,20,20"]) == 0
    assert main(["verify", f"{prefix}-symbol.json", str(out / "tiny_cnn.onnx"), "--input", "data:1,3,20,20"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("MATCH") == 2, printed  # at 20x20 and at an odd size


def test_two_devices_train_like_one(tmp_path):
    # Without BatchNorm (whose batch statistics are per device in MXNet), splitting
    # every batch over two devices must give the same parameters as one device.
    one, losses_one, _, _ = _train(tmp_path / "one", batchnorm=False)
    two, losses_two, _, _ = _train(tmp_path / "two", context=[mx.cpu(0), mx.cpu(1)],
                                   batchnorm=False)
    assert losses_one[-1] < 0.5 * losses_one[0], losses_one
    assert np.allclose(losses_one, losses_two, rtol=1e-3, atol=1e-5)
    arg_one, arg_two = one.get_params()[0], two.get_params()[0]
    for name in arg_one:
        assert np.allclose(arg_one[name].asnumpy(), arg_two[name].asnumpy(),
                           rtol=1e-4, atol=1e-4), name
