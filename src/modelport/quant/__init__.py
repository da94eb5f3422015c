"""Quantization simulation: NNIE's 8-bit log code (``nnie``), the simulated model and the
mixed-precision search (``simulate``). See docs/quantsim.md."""
from modelport.quant.nnie import nnie_quantize

__all__ = ["nnie_quantize"]
