"""The built-in example: a small MXNet CNN that walks into the classic pitfalls.

It is built here with mxnet and random weights (nothing downloaded): raw-pixel
preprocessing inside the graph, BatchNorm with fix_gamma absent and stored gamma 0
(as multi-GPU checkpoints have), a face-model eps of 2e-5, PReLU, ceil pooling,
padded average pooling, global pooling, Flatten + FullyConnected and a SoftmaxOutput
head with its label. It is fully convolutional up to the global pool, so it is
verified at two input sizes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from modelport.errors import ModelportError

INPUT_SHAPE = (1, 3, 64, 64)


def build_example(folder: Path, seed: int = 0) -> tuple[Path, Path]:
    try:
        import mxnet as mx
    except ImportError:
        raise ModelportError("the example is built with mxnet: pip install -r requirements/dev-mxnet.txt") from None
    data = mx.sym.var("data")
    x = mx.sym._internal._mul_scalar(mx.sym._internal._minus_scalar(data, scalar=127.5), scalar=0.0078125)
    x = mx.sym.Convolution(x, kernel=(3, 3), num_filter=16, pad=(1, 1), name="conv1")
    x = mx.sym.BatchNorm(x, eps=2e-5, name="bn1")  # fix_gamma absent -> True
    x = mx.sym.LeakyReLU(x, act_type="prelu", name="prelu1")
    x = mx.sym.Pooling(x, kernel=(3, 3), stride=(2, 2), pool_type="max", pooling_convention="full", name="pool1")
    x = mx.sym.Convolution(x, kernel=(3, 3), num_filter=32, stride=(1, 1), pad=(1, 1), name="conv2")
    x = mx.sym.BatchNorm(x, fix_gamma=False, eps=1e-3, name="bn2")
    x = mx.sym.Activation(x, act_type="relu", name="relu2")
    x = mx.sym.Pooling(x, kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="avg", name="pool2")
    x = mx.sym.Pooling(x, kernel=(1, 1), global_pool=True, pool_type="avg", name="gpool")
    x = mx.sym.Flatten(x, name="flatten")
    x = mx.sym.FullyConnected(x, num_hidden=10, name="fc")
    sym = mx.sym.SoftmaxOutput(x, name="softmax")

    rng = np.random.default_rng(seed)
    arg_shapes, _, aux_shapes = sym.infer_shape(data=INPUT_SHAPE)
    args = {}
    for name, shape in zip(sym.list_arguments(), arg_shapes):
        if name in ("data", "softmax_label"):
            continue
        args[name] = rng.normal(0, 0.2, shape).astype(np.float32)
    args["bn1_gamma"][:] = 0.0  # what multi-GPU training stores under fix_gamma=True
    aux = {}
    for name, shape in zip(sym.list_auxiliary_states(), aux_shapes):
        aux[name] = (rng.uniform(0.5, 2.0, shape) if name.endswith("var") else rng.normal(0, 0.5, shape)).astype(np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    prefix = str(folder / "example")
    mx.model.save_checkpoint(prefix, 0, sym, {k: mx.nd.array(v) for k, v in args.items()},
                             {k: mx.nd.array(v) for k, v in aux.items()})
    return Path(prefix + "-symbol.json"), Path(prefix + "-0000.params")


def run_example(folder: Path, console) -> int:
    """Build, inspect, convert and verify the example; print the pitfalls and per-tensor tables."""
    from modelport.convert import convert
    from modelport.verify.api import verify
    from modelport.verify.report import print_verify

    from modelport.inspect import inspect

    symbol, params = build_example(folder)
    console.print(f"built example model: {symbol}, {params}")
    console.print("pitfalls this model hits (handled by the converter):")
    for text in inspect(symbol, params, {"data": INPUT_SHAPE}).findings:
        console.print(f"  - {text}")
    result = convert(symbol, params, to="onnx", output_dir=folder / "onnx",
                     inputs={"data": INPUT_SHAPE}, progress=True)
    console.print(f"converted -> {result.files[0]}")
    report = verify(symbol, result.files[0], params, inputs={"data": INPUT_SHAPE})
    print_verify(report, console)
    return 0 if report.ok else 1
