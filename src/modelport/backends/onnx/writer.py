"""Write an onnx_ir model as a checked .onnx file, streaming the weights.

The graph is serialized without its initializers (a small "skeleton"), checked with
``onnx.checker.check_model(full_check=True)`` together with the initializers' names,
types and dims, and written; then each initializer follows as its own
``ModelProto.graph`` field holding one ``GraphProto.initializer``. Protobuf merges
repeated occurrences of a message field, so readers see one graph with every
initializer in order, and the weight bytes go from the numpy arrays (views into the
source file) straight to disk: no in-memory copy of the whole model is ever built.
Arrays that are views into a memory-mapped weights file are copied file-to-file by
the kernel (``os.copy_file_range``), so their pages never enter the process.

Wire format used: a field is ``varint(number << 3 | 2) varint(len) bytes``;
ModelProto.graph = 7, GraphProto.initializer = 5, TensorProto.raw_data = 9.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import onnx_ir as ir

from modelport.errors import ConversionError
from modelport.mapped import region, release_all
from modelport.ir.proto import skeleton, weightless

_MODEL_GRAPH, _GRAPH_INITIALIZER, _TENSOR_RAW_DATA = 7, 5, 9
_KERNEL_COPY_MIN = 1 << 16  # smaller arrays are written through memory


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field_header(number: int, length: int) -> bytes:
    return _varint(number << 3 | 2) + _varint(length)


def _tensor_header(value: ir.Value) -> onnx.TensorProto:
    tensor = onnx.TensorProto()
    tensor.name = value.name
    tensor.data_type = value.const_value.dtype.value
    tensor.dims.extend(int(d) for d in value.const_value.shape.dims)
    return tensor


def _raw_bytes(value: ir.Value) -> np.ndarray:
    array = value.const_value.numpy()
    if array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("<"))
    return np.ascontiguousarray(array)


def check(proto: onnx.ModelProto, inits: list[ir.Value] = ()) -> None:
    """``check_model(full_check=True)`` of the weightless model (tests check written files in full)."""
    try:
        onnx.checker.check_model(weightless(proto, inits), full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise ConversionError([str(exc).splitlines()[0]], header="the converted model fails onnx.checker") from None


def _write_data(f, data: np.ndarray) -> None:
    """The array's bytes; file-to-file in the kernel when they are a view into a mapped weights file."""
    where = region(data) if data.nbytes >= _KERNEL_COPY_MIN else None
    if where is not None:
        f.flush()
        done = 0
        try:
            with open(where[0], "rb") as src:
                while done < data.nbytes:
                    n = os.copy_file_range(src.fileno(), f.fileno(), data.nbytes - done, where[1] + done)
                    if n <= 0:
                        raise OSError("copy_file_range copied nothing")
                    done += n
            f.seek(0, os.SEEK_END)
            return
        except OSError:  # another filesystem or kernel: fall back to writing through memory
            f.seek(0, os.SEEK_END)
            f.truncate(f.tell() - done)
            f.seek(0, os.SEEK_END)
    f.write(memoryview(data).cast("B"))


def write_onnx(model: ir.Model, path: Path) -> None:
    proto, inits = skeleton(model)
    check(proto, inits)
    with open(path, "wb") as f:
        f.write(proto.SerializeToString())
        for value in inits:
            data = _raw_bytes(value)
            head = _tensor_header(value).SerializeToString()
            tensor_len = len(head) + len(_field_header(_TENSOR_RAW_DATA, data.nbytes)) + data.nbytes
            graph_len = len(_field_header(_GRAPH_INITIALIZER, tensor_len)) + tensor_len
            f.write(_field_header(_MODEL_GRAPH, graph_len))
            f.write(_field_header(_GRAPH_INITIALIZER, tensor_len))
            f.write(head)
            f.write(_field_header(_TENSOR_RAW_DATA, data.nbytes))
            _write_data(f, data)
            del data
            release_all()  # pages of the weights file this tensor (or a lazily folded one) read
