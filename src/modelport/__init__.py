"""modelport: move trained models onto inference runtimes, and prove they compute the same thing.

Python API (the CLI is a thin layer over it); the modules import their heavy
dependencies where they use them, so ``import modelport`` loads none of numpy, onnx, onnx_ir or the engines:

- ``modelport.convert(source, params=None, to="onnx", output_dir=".", inputs=None)``
- ``modelport.verify(source, converted=None, params=None, inputs=None)``
- ``modelport.inspect(source, params=None, inputs=None)``
- ``modelport.load(source, params=None, inputs=None)`` -> the model in the IR (onnx_ir), with findings
"""
from __future__ import annotations

from modelport.convert import convert, load
from modelport.errors import ModelportError
from modelport.inspect import inspect
from modelport.verify.api import verify, verify_runners

__version__ = "0.2.0"
__all__ = ["ModelportError", "__version__", "convert", "inspect", "load", "verify", "verify_runners"]
