"""ncnn backend: ``.param`` text + ``.bin`` weights from an onnx_ir model.

``writer.plan(model)`` turns the graph into ncnn layers (one emitter per op family in
``ops/``, registered by ONNX op type in ``registry``), collecting every node it cannot
take; ``writer.write_ncnn(model, param, bin)`` writes them. Blob names are the IR tensor
names, so verify matches ncnn blobs with the source engine's tensors by name.
"""
