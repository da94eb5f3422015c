"""MXNet checkpoints: symbol JSON (every dialect) + .params, read without mxnet."""
