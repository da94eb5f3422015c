"""Read and write MXNet ``.params`` files (the NDArray list format), without mxnet.

Layout, all little-endian:
  uint64 0x112 (list magic), uint64 reserved,
  uint64 count, then each NDArray:
     uint32 magic  (0xF993FAC9 = v2, 0xF993FACA = v3 numpy-shape, 0xF993FAC8 = v1;
                    anything else is the ndim of the legacy format, dims as uint32)
     [v2/v3] int32 storage type (0 = dense)
     shape: int32 ndim + int64 dims   (legacy: dims as uint32)
     (empty array: stop here)
     int32 dev_type, int32 dev_id, int32 dtype flag, raw data
  uint64 count of names, each uint64 length + bytes (count 0: an unnamed list).
Keys are ``arg:NAME`` / ``aux:NAME`` in checkpoints.

Every length is checked against the bytes left before anything is allocated, so a
truncated or hostile file fails with a clear message instead of a huge allocation.
Arrays are zero-copy views into a read-only memory map of the file (``modelport.mapped``).
"""
from __future__ import annotations

import math
import os
import struct
import sys
from pathlib import Path

import numpy as np

from modelport.errors import ModelFileError

LIST_MAGIC = 0x112
V1_MAGIC, V2_MAGIC, V3_MAGIC = 0xF993FAC8, 0xF993FAC9, 0xF993FACA
# mshadow type flags
DTYPES: dict[int, np.dtype] = {
    0: np.dtype("<f4"), 1: np.dtype("<f8"), 2: np.dtype("<f2"), 3: np.dtype("u1"),
    4: np.dtype("<i4"), 5: np.dtype("i1"), 6: np.dtype("<i8"), 7: np.dtype("?"),
    8: np.dtype("<i2"), 9: np.dtype("<u2"), 10: np.dtype("<u4"), 11: np.dtype("<u8"),
}
BFLOAT16_FLAG = 12
_FLAG_OF = {v: k for k, v in DTYPES.items()}


class _Cursor:
    def __init__(self, buf: bytes | memoryview | np.ndarray, path: str):
        self.root = buf if isinstance(buf, np.ndarray) else np.frombuffer(buf, np.uint8)
        self.buf, self.pos, self.path = memoryview(buf), 0, path

    def fail(self, what: str):
        raise ModelFileError(f"{self.path}: {what} (at byte {self.pos} of {len(self.buf)})")

    def take(self, n: int, what: str) -> memoryview:
        if n < 0 or self.pos + n > len(self.buf):
            self.fail(f"truncated file: {what} needs {n} bytes, {len(self.buf) - self.pos} left")
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out

    def take_array(self, n: int, dtype: np.dtype, what: str) -> np.ndarray:
        """The next n bytes as a 1-D array of ``dtype``: a view of the buffer, never a copy."""
        start = self.pos
        self.take(n, what)
        return self.root[start:start + n].view(dtype)

    def unpack(self, fmt: str, what: str):
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))


def _read_array(cur: _Cursor, index: int) -> np.ndarray:
    (magic,) = cur.unpack("I", f"array {index} header")
    if magic in (V2_MAGIC, V3_MAGIC):
        (stype,) = cur.unpack("i", f"array {index} storage type")
        if stype != 0:
            cur.fail(f"array {index} is sparse (storage type {stype}); only dense arrays are supported")
        (ndim,) = cur.unpack("i", f"array {index} ndim")
        if ndim < 0 and magic == V3_MAGIC:
            return np.zeros((0,), np.float32)
        dims = cur.unpack(f"{ndim}q", f"array {index} shape") if 0 <= ndim <= 32 else cur.fail(f"array {index} has ndim {ndim}")
    elif magic == V1_MAGIC:
        (ndim,) = cur.unpack("i", f"array {index} ndim")
        dims = cur.unpack(f"{ndim}q", f"array {index} shape") if 0 <= ndim <= 32 else cur.fail(f"array {index} has ndim {ndim}")
    elif magic <= 32:  # legacy: the word is ndim, dims are uint32
        dims = cur.unpack(f"{magic}I", f"array {index} shape")
    else:
        cur.fail(f"array {index}: unknown NDArray magic 0x{magic:08X}")
    if any(d < 0 for d in dims):
        cur.fail(f"array {index} has a negative dimension {dims}")
    if len(dims) == 0 and magic != V3_MAGIC:
        return np.zeros((0,), np.float32)
    cur.unpack("ii", f"array {index} context")
    (flag,) = cur.unpack("i", f"array {index} dtype")
    count = math.prod(dims)  # Python ints: no wrap-around on hostile dims
    if flag != BFLOAT16_FLAG and flag not in DTYPES:
        cur.fail(f"array {index} has unknown dtype flag {flag}")
    itemsize = 4 if flag == BFLOAT16_FLAG else DTYPES[flag].itemsize
    if math.prod(d or 1 for d in dims) * itemsize > sys.maxsize:  # (0, 2**62, 4): empty, yet no numpy shape
        cur.fail(f"array {index} has an impossible shape {dims}")
    if flag == BFLOAT16_FLAG:
        raw = cur.take_array(count * 2, np.dtype("<u2"), f"array {index} data")
        return (raw.astype(np.uint32) << 16).view(np.float32).reshape(dims)
    dtype = DTYPES[flag]
    return cur.take_array(count * dtype.itemsize, dtype, f"array {index} data ({dims}, {dtype})").reshape(dims)


def parse_params(buf: bytes | memoryview | np.ndarray, path: str = "<memory>") -> dict[str, np.ndarray]:
    """Decode an NDArray list. Unnamed lists get keys ``"0"``, ``"1"``, ... Arrays are views of ``buf``."""
    cur = _Cursor(buf, path)
    if len(cur.buf) < 16:
        cur.fail("too short to be an MXNet .params file")
    magic, _reserved = cur.unpack("QQ", "header")
    if magic != LIST_MAGIC:
        raise ModelFileError(f"{path}: not an MXNet .params file (magic 0x{magic:X}, expected 0x112)")
    (count,) = cur.unpack("Q", "array count")
    if count > len(cur.buf) // 4:
        cur.fail(f"claims {count} arrays, more than the file can hold")
    arrays = [_read_array(cur, i) for i in range(count)]
    (nnames,) = cur.unpack("Q", "name count")
    if nnames not in (0, count):
        cur.fail(f"{nnames} names for {count} arrays")
    names = []
    for i in range(nnames):
        (length,) = cur.unpack("Q", f"name {i} length")
        names.append(bytes(cur.take(length, f"name {i}")).decode("utf-8", "replace"))
    if cur.pos != len(cur.buf):
        cur.fail(f"{len(cur.buf) - cur.pos} unexpected trailing bytes")
    keys = names if nnames else [str(i) for i in range(count)]
    if len(set(keys)) != len(keys):
        cur.fail("duplicate array names")
    return dict(zip(keys, arrays))


def load_params(path: str | Path) -> dict[str, np.ndarray]:
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: params file not found")
    from modelport.mapped import map_file

    return parse_params(map_file(path), str(path))


def split_arg_aux(params: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Strip ``arg:``/``aux:`` prefixes; names without a prefix count as arguments."""
    args, aux = {}, {}
    for key, arr in params.items():
        kind, sep, name = key.partition(":")
        if sep and kind == "aux":
            aux[name] = arr
        elif sep and kind == "arg":
            args[name] = arr
        else:
            args[key] = arr
    return args, aux


def serialize_params(arrays: dict[str, np.ndarray], named: bool = True) -> bytes:
    parts = [struct.pack("<QQQ", LIST_MAGIC, 0, len(arrays))]
    for key, arr in arrays.items():
        arr = np.ascontiguousarray(arr)
        if arr.dtype.newbyteorder("<") not in _FLAG_OF:
            raise ModelFileError(f"cannot save {key}: dtype {arr.dtype} has no MXNet type flag")
        flag = _FLAG_OF[arr.dtype.newbyteorder("<")]
        parts.append(struct.pack(f"<Iii{arr.ndim}q", V2_MAGIC, 0, arr.ndim, *arr.shape))
        parts.append(struct.pack("<iii", 1, 0, flag))
        parts.append(arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes())
    names = list(arrays) if named else []
    parts.append(struct.pack("<Q", len(names)))
    for key in names:
        raw = key.encode()
        parts.append(struct.pack("<Q", len(raw)) + raw)
    return b"".join(parts)


def save_params(path: str | Path, arrays: dict[str, np.ndarray], named: bool = True) -> None:
    """Write an NDArray list that ``mx.nd.load`` reads; atomically (temp name, then rename)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_bytes(serialize_params(arrays, named))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
