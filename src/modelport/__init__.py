"""modelport: move trained models onto inference runtimes, and prove they compute the same thing.

Python API (the CLI is a thin layer over it):

- ``modelport.convert(symbol, params=None, to="onnx", output_dir=".", inputs=None)``
- ``modelport.verify(symbol, converted=None, params=None, inputs=None)``
- ``modelport.inspect(symbol, params=None, inputs=None)``
- ``modelport.load(symbol, params=None, inputs=None)`` -> the model in the IR (onnx_ir)
"""
from __future__ import annotations

from modelport.convert import convert, load
from modelport.errors import ModelportError
from modelport.inspect import inspect
from modelport.verify.api import verify

__version__ = "0.1.0"
__all__ = ["ModelportError", "convert", "inspect", "load", "verify", "__version__"]
