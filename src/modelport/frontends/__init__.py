"""Frontends read a source framework's model into the ONNX IR (onnx_ir)."""
