"""Fuzzing the .params reader: mutated real files, files packed from scratch, every prefix,
every header field set to edge values, huge lengths under a memory guard.

Only a ModelFileError may come out, and no array may take more memory than the file
backs (arrays are views; bfloat16, widened to float32, takes twice its bytes).
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import given, strategies as st

from fuzz.profile import FUZZ
from fuzz.generators import (WORD4, WORD8, HypothesisDraw, _put, check_case, check_views, pack_array, pack_params,
                             params_case, params_fields)
from modelport.errors import ModelFileError
from modelport.frontends.mxnet.params import parse_params

HUGE = [2**31 - 1, 2**32 - 1, 2**40, 2**62, 2**63 - 1, 2**64 - 1]


def _parse(data: bytes):
    """parse_params, and the arrays stay within the file."""
    arrays = parse_params(data, "x.params")
    check_views(arrays, len(data))
    for arr in arrays.values():
        if arr.nbytes and arr.dtype != np.float32:  # float32 may be widened bfloat16; everything else is a view
            assert arr.base is not None
    return arrays


@settings(FUZZ, max_examples=1200)
@given(st.data())
def test_parse_params_mutated(seeds, workdir, data):
    check_case(params_case(seeds, HypothesisDraw(data), "params"), workdir)


@settings(FUZZ, max_examples=250)
@given(st.data())
def test_load_params_mutated_file(seeds, workdir, data):
    check_case(params_case(seeds, HypothesisDraw(data), "params_file"), workdir)


def test_seeds_parse(seeds):
    for seed in seeds.params:
        assert _parse(seed)


def test_every_prefix_is_refused(seeds):
    for seed in seeds.params[:seeds.own_params]:
        for cut in range(len(seed)):
            with pytest.raises(ModelFileError):
                parse_params(seed[:cut], "x.params")


def test_every_header_field_with_edge_values(seeds):
    """Every non-data field of every seed set to each edge value (magics, dtype flags, counts, 2**63...)."""
    cases = 0
    for seed in seeds.params:
        for off, size, kind in params_fields(seed):
            if kind in ("data", "name"):
                continue
            values = range(-2, 17) if kind == "dtype" else (WORD4 if size == 4 else WORD8)
            for value in values:
                buf = bytearray(seed)
                _put(buf, off, size, value)
                try:
                    _parse(bytes(buf))
                except ModelFileError:
                    pass
                cases += 1
    assert cases > 1000


def test_huge_lengths_fail_fast_without_allocating(seeds):
    """Every count, ndim, dim and name length set huge: a ModelFileError, and tracemalloc's peak
    (numpy reports its buffers to it) stays far below what the claimed sizes would need."""
    tracemalloc.start()
    try:
        for seed in seeds.params:
            for off, size, kind in params_fields(seed):
                if kind not in ("count", "ndim", "dim64", "dim32", "name_length", "name_count"):
                    continue
                for value in HUGE:
                    if size == 4 and value > 2**32 - 1:
                        continue
                    buf = bytearray(seed)
                    _put(buf, off, size, value)
                    tracemalloc.reset_peak()
                    with pytest.raises(ModelFileError):
                        parse_params(bytes(buf), "x.params")
                    assert tracemalloc.get_traced_memory()[1] < 2**20 + 4 * len(buf), (kind, off, value)
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("layout", ["v2", "v3", "v1", "legacy"])
@pytest.mark.parametrize("flag", [0, 1, 6, 12])
def test_header_claiming_2_to_the_40_elements(layout, flag):
    dims = (2**32 - 1, 256) if layout == "legacy" else (2**40,)
    data = pack_params([pack_array(dims, flag, b"\0" * 16, layout)], [b"arg:w"])
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="truncated"):
            parse_params(data, "x.params")
        assert tracemalloc.get_traced_memory()[1] < 2**20
    finally:
        tracemalloc.stop()


# -- regressions: cases the fuzzing found ------------------------------------------------------
@pytest.mark.parametrize("dims", [(4, 2**61, 0), (4, 3, 2377900603251621891, 0), (2**63 - 1, 0), (0, 2**62, 2)])
@pytest.mark.parametrize("flag", [0, 12])
def test_empty_array_whose_other_dims_overflow_is_refused(dims, flag):
    """0 elements, so no data is read, but numpy has no such shape: was a ValueError from reshape."""
    data = pack_params([pack_array(dims, flag, b"")], [b"arg:w"])
    with pytest.raises(ModelFileError, match="impossible shape"):
        parse_params(data, "x.params")


def test_empty_array_with_large_dims_still_reads():
    data = pack_params([pack_array((0, 2**20, 3), 0, b"")], [b"arg:w"])
    assert parse_params(data)["arg:w"].shape == (0, 2**20, 3)


def test_huge_lengths_under_an_address_space_limit(seeds, tmp_path):
    """load_params (memory-mapped) on files claiming huge sizes, in a process whose address space is
    capped at what it already uses plus 256 MiB: any allocation of the claimed size would fail there."""
    files = []
    for i, seed in enumerate(seeds.params[:3]):
        for off, size, kind in params_fields(seed):
            if kind in ("count", "dim64", "name_length"):
                buf = bytearray(seed)
                _put(buf, off, size, 2**40)
                path = tmp_path / f"{i}-{off}.params"
                path.write_bytes(bytes(buf))
                files.append(str(path))
    big = tmp_path / "big.params"
    big.write_bytes(pack_params([pack_array((2**40,), 0, b"\0" * 64)], [b"arg:w"]))
    files.append(str(big))
    script = textwrap.dedent(f"""
        import resource, sys
        from modelport.errors import ModelFileError
        from modelport.frontends.mxnet.params import load_params
        with open("/proc/self/status") as f:
            vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
        resource.setrlimit(resource.RLIMIT_AS, (vm + 256 * 2**20, resource.RLIM_INFINITY))
        for path in {files!r}:
            try:
                load_params(path)
            except ModelFileError:
                continue
            sys.exit("no error for " + path)
        print("ok", len({files!r}))
    """)
    if not sys.platform.startswith("linux"):
        pytest.skip("RLIMIT_AS and /proc are Linux's")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.startswith("ok"), out.stdout + out.stderr


# -- shared models (skipped when ../shared/models is absent) ------------------------------------
def test_every_prefix_of_a_real_checkpoint(shared_models):
    seed = (shared_models / "mtcnn_mxnet" / "det1-0001.params").read_bytes()
    _parse(seed)
    for cut in range(len(seed)):
        with pytest.raises(ModelFileError):
            parse_params(seed[:cut], "det1-0001.params")


def test_bit_flips_in_every_header_byte_of_a_real_checkpoint(shared_models):
    seed = (shared_models / "mtcnn_mxnet" / "det1-0001.params").read_bytes()
    for off, size, kind in params_fields(seed):
        if kind == "data":
            continue
        for pos in range(off, off + size):
            for bit in range(8):
                buf = bytearray(seed)
                buf[pos] ^= 1 << bit
                try:
                    _parse(bytes(buf))
                except ModelFileError:
                    pass
