"""Caffe backend: .prototxt + .caffemodel through modelport's own minimal caffe.proto.

``caffe.proto`` holds only the messages and fields modelport writes and reads (field
numbers per the Caffe format); ``caffe_pb2.py`` is generated from it by
``scripts/gen_caffe_proto.sh``. ``writer.py`` turns an onnx_ir model into a
NetParameter, one emitter per ONNX op type (``ops/*.py``, one module per family).
"""
