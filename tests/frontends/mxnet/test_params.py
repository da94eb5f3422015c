"""The .params reader/writer against MXNet's own mx.nd.save / mx.nd.load."""
import struct

import mxnet as mx
import numpy as np
import pytest

from modelport.errors import ModelFileError
from modelport.frontends.mxnet.params import load_params, parse_params, save_params, split_arg_aux

DTYPES = ["float32", "float64", "float16", "uint8", "int8", "int32", "int64"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_reads_every_dtype_mxnet_writes(tmp_path, dtype):
    rng = np.random.default_rng(0)
    value = (rng.normal(0, 50, (3, 4, 2))).astype(dtype)
    path = tmp_path / "x.params"
    mx.nd.save(str(path), {"arg:w": mx.nd.array(value, dtype=dtype), "aux:m": mx.nd.array(value[0], dtype=dtype)})
    ours = load_params(path)
    assert ours["arg:w"].dtype == np.dtype(dtype)
    np.testing.assert_array_equal(ours["arg:w"], mx.nd.load(str(path))["arg:w"].asnumpy())
    args, aux = split_arg_aux(ours)
    assert set(args) == {"w"} and set(aux) == {"m"}


def test_reads_scalar_and_empty_shapes(tmp_path):
    path = tmp_path / "x.params"
    mx.nd.save(str(path), {"s": mx.nd.array([3.5]), "big": mx.nd.ones((2, 1, 1, 5))})
    ours = load_params(path)
    np.testing.assert_array_equal(ours["s"], [3.5])
    assert ours["big"].shape == (2, 1, 1, 5)


def test_reads_unnamed_list(tmp_path):
    path = tmp_path / "x.params"
    mx.nd.save(str(path), [mx.nd.array([1, 2]), mx.nd.array([[3.0]])])
    ours = load_params(path)
    assert list(ours) == ["0", "1"]
    np.testing.assert_array_equal(ours["1"], [[3.0]])


@pytest.mark.parametrize("named", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
def test_writer_is_read_by_mxnet(tmp_path, dtype, named):
    rng = np.random.default_rng(1)
    arrays = {"arg:a": rng.normal(0, 9, (2, 3)).astype(dtype), "aux:b": np.arange(5).astype(dtype)}
    path = tmp_path / "w.params"
    save_params(path, arrays, named=named)
    loaded = mx.nd.load(str(path))
    if named:
        for key, value in arrays.items():
            np.testing.assert_array_equal(loaded[key].asnumpy(), value)
    else:
        for got, value in zip(loaded, arrays.values()):
            np.testing.assert_array_equal(got.asnumpy(), value)
    assert not list(tmp_path.glob(".*tmp*"))


def _legacy_file(arrays: dict[str, np.ndarray]) -> bytes:
    """The pre-v2 layout (ndim word, uint32 dims, no storage type) that MXNet <= 0.9 wrote."""
    out = [struct.pack("<QQQ", 0x112, 0, len(arrays))]
    for value in arrays.values():
        out.append(struct.pack(f"<I{value.ndim}I", value.ndim, *value.shape))
        out.append(struct.pack("<iii", 1, 0, 0) + value.astype("<f4").tobytes())
    out.append(struct.pack("<Q", len(arrays)))
    for key in arrays:
        out.append(struct.pack("<Q", len(key)) + key.encode())
    return b"".join(out)


def test_reads_legacy_layout_like_mxnet(tmp_path):
    arrays = {"arg:w": np.arange(12, dtype=np.float32).reshape(3, 4), "arg:b": np.ones(3, np.float32)}
    path = tmp_path / "legacy.params"
    path.write_bytes(_legacy_file(arrays))
    reference = mx.nd.load(str(path))
    ours = load_params(path)
    for key in arrays:
        np.testing.assert_array_equal(ours[key], reference[key].asnumpy())


def test_shared_legacy_checkpoint_matches_mxnet(shared_models):
    path = shared_models / "mtcnn_mxnet" / "det1-0001.params"
    reference = mx.nd.load(str(path))
    ours = load_params(path)
    assert set(ours) == set(reference)
    for key, value in reference.items():
        np.testing.assert_array_equal(ours[key], value.asnumpy())


def _good_bytes(tmp_path):
    path = tmp_path / "g.params"
    mx.nd.save(str(path), {"arg:w": mx.nd.ones((4, 4))})
    return path.read_bytes()


def test_truncated_file_is_a_clear_error(tmp_path):
    raw = _good_bytes(tmp_path)
    with pytest.raises(ModelFileError, match="truncated"):
        parse_params(raw[:-20], "cut.params")


def test_wrong_magic_is_a_clear_error(tmp_path):
    raw = bytearray(_good_bytes(tmp_path))
    raw[0] = 0x13
    with pytest.raises(ModelFileError, match="not an MXNet .params file"):
        parse_params(bytes(raw), "bad.params")


def test_huge_claimed_size_allocates_nothing(tmp_path):
    # one array claiming 2**40 elements in a 60-byte file: must fail before allocating
    raw = struct.pack("<QQQ", 0x112, 0, 1) + struct.pack("<Iii2q", 0xF993FAC9, 0, 2, 2**20, 2**20) + struct.pack("<iii", 1, 0, 0)
    with pytest.raises(ModelFileError, match="needs 4398046511104 bytes"):
        parse_params(raw, "huge.params")


def test_huge_array_count_is_refused():
    raw = struct.pack("<QQQ", 0x112, 0, 2**60)
    with pytest.raises(ModelFileError, match="more than the file can hold"):
        parse_params(raw, "count.params")


def test_dims_whose_product_overflows_int64_are_refused():
    raw = struct.pack("<QQQ", 0x112, 0, 1) + struct.pack("<Iii2q", 0xF993FAC9, 0, 2, 2**32, 2**32) + struct.pack("<iii", 1, 0, 0)
    with pytest.raises(ModelFileError, match=r"impossible shape \(4294967296, 4294967296\)"):
        parse_params(raw + struct.pack("<Q", 0), "wrap.params")
