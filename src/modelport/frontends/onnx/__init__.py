"""ONNX models (PyTorch, keras2onnx, tf2onnx exports...) as a source."""
