"""Fuzzing the ONNX loader: ``modelport.load(model.onnx)`` on mutated real bytes (bit flips,
truncation, huge varints) and on mutated protos (dangling inputs, duplicate outputs, cycles,
negative and huge dims, initializers without data, external data pointing anywhere,
wrong opsets and IR versions). Only a ModelportError may come out (fuzz.generators.KNOWN_BUGS
lists the crashes reported to the lead).
"""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzz.profile import FUZZ
from fuzz.generators import Case, HypothesisDraw, check_case, onnx_case
from modelport.errors import ModelFileError, ModelportError

onnx = pytest.importorskip("onnx")



@settings(FUZZ, max_examples=450)
@given(st.data())
def test_load_mutated_onnx(seeds, workdir, data):
    check_case(onnx_case(seeds, HypothesisDraw(data)), workdir)


def _model(seeds, index=0):
    model = onnx.ModelProto()
    model.ParseFromString(seeds.onnx[index]["model.onnx"])
    return model


def _run(seeds, workdir, model, index=0, strict=False, **extra):
    files = dict(seeds.onnx[index], **extra)
    files["model.onnx"] = model.SerializeToString()
    case = Case("onnx", files)
    if strict:
        from fuzz.generators import run_case

        return run_case(case, workdir / "strict")
    return check_case(case, workdir)


def test_seeds_load(seeds, workdir):
    for index in range(len(seeds.onnx)):
        _run(seeds, workdir, _model(seeds, index), index, strict=True)


def test_every_truncation_of_the_seed_is_refused_or_loads(seeds, workdir):
    raw = seeds.onnx[0]["model.onnx"]
    for cut in range(0, len(raw), 7):
        check_case(Case("onnx", {"model.onnx": raw[:cut]}), workdir)


def test_dangling_inputs_and_duplicate_outputs(seeds, workdir):
    n = len(_model(seeds).graph.node)
    for i in range(n):
        model = _model(seeds)
        model.graph.node[i].input[0] = "nowhere"
        _run(seeds, workdir, model)
        for j in range(n):
            model = _model(seeds)
            model.graph.node[j].output[0] = model.graph.node[i].output[0]
            _run(seeds, workdir, model)


def test_cycles(seeds, workdir):
    n = len(_model(seeds).graph.node)
    for i in range(n):
        for j in range(i, n):
            model = _model(seeds)
            model.graph.node[i].input[0] = model.graph.node[j].output[0]
            _run(seeds, workdir, model)


@pytest.mark.parametrize("dim", [-1, -5, 0, 2**40, 2**63 - 1])
def test_negative_and_huge_value_dims(seeds, workdir, dim):
    model = _model(seeds)
    for value in (model.graph.input[0], model.graph.output[0]):
        value.type.tensor_type.shape.dim[-1].dim_value = dim
    _run(seeds, workdir, model)


@pytest.mark.parametrize("dims", [[2**40], [2**20, 2**20], [2**62, 4], [0, 2**62], [-1], [-4, -1]])
def test_initializer_with_huge_dims_and_no_data(seeds, workdir, dims):
    model = _model(seeds)
    tensor = model.graph.initializer[0]
    tensor.ClearField("dims")
    tensor.dims.extend(dims)
    tensor.ClearField("raw_data")
    _run(seeds, workdir, model)


@pytest.mark.parametrize("location", ["../weights.bin", "/etc/hostname", "sub/../../weights.bin", "", ".",
                                      "missing.bin", "/dev/zero"])
def test_external_data_outside_the_folder_or_missing(seeds, workdir, location):
    model = _model(seeds, 2)
    tensor = model.graph.initializer[0]
    for entry in tensor.external_data:
        if entry.key == "location":
            entry.value = location
    with pytest.raises(ModelFileError):
        _run(seeds, workdir, model, 2, strict=True)


@pytest.mark.parametrize("offset,length", [("100000", "16"), ("0", "100000"), ("-1", "16"), ("abc", "16"),
                                           ("0", str(2**40)), (str(2**63), "1")])
def test_external_data_beyond_its_file(seeds, workdir, offset, length):
    model = _model(seeds, 2)
    tensor = model.graph.initializer[0]
    for entry in tensor.external_data:
        if entry.key == "offset":
            entry.value = offset
        if entry.key == "length":
            entry.value = length
    with pytest.raises(ModelFileError):
        _run(seeds, workdir, model, 2, strict=True)


@pytest.mark.parametrize("version", [0, 1, 6, 7, 9, 13, 18, 21, 99, 10**9, -1])
def test_opsets(seeds, workdir, version):
    model = _model(seeds)
    model.opset_import[0].version = version
    _run(seeds, workdir, model)


def test_no_default_opset_is_refused(seeds, workdir):
    model = _model(seeds)
    model.opset_import[0].domain = "com.example"
    with pytest.raises(ModelportError):
        _run(seeds, workdir, model, strict=True)


@pytest.mark.parametrize("ir_version", [0, 1, 3, 99, 2**62])
def test_ir_versions(seeds, workdir, ir_version):
    model = _model(seeds)
    model.ir_version = ir_version
    _run(seeds, workdir, model)


def test_huge_dims_under_an_address_space_limit(seeds, tmp_path):
    """Initializers claiming 2**40 elements (no data, or external data that is short) in a process whose
    address space is capped at what it uses plus 512 MiB: a ModelportError, never a MemoryError."""
    if not sys.platform.startswith("linux"):
        pytest.skip("RLIMIT_AS and /proc are Linux's")
    paths = []
    for k, (index, dims) in enumerate([(0, [2**40]), (0, [2**20, 2**20]), (2, [2**40]), (1, [2**31, 4])]):
        model = _model(seeds, index)
        tensor = model.graph.initializer[0]
        tensor.ClearField("dims")
        tensor.dims.extend(dims)
        if index != 2:
            tensor.ClearField("raw_data")
        folder = tmp_path / str(k)
        folder.mkdir()
        for name, data in seeds.onnx[index].items():
            (folder / name).write_bytes(data)
        (folder / "model.onnx").write_bytes(model.SerializeToString())
        paths.append(str(folder / "model.onnx"))
    script = textwrap.dedent(f"""
        import logging, resource, sys
        logging.disable(logging.WARNING)
        import modelport, onnx, onnx_ir, numpy
        from modelport.errors import ModelportError
        import modelport.frontends.onnx.frontend, modelport.frontends.onnx.reader, onnx.version_converter
        with open("/proc/self/status") as f:
            vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
        resource.setrlimit(resource.RLIMIT_AS, (vm + 512 * 2**20, resource.RLIM_INFINITY))
        for path in {paths!r}:
            try:
                modelport.load(path)
            except ModelportError:
                continue
            print("loaded", path)
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.rstrip().endswith("ok"), out.stdout + out.stderr[-3000:]


# -- shared models (skipped when ../shared/models is absent) ------------------------------------
def test_real_model_truncations_and_bit_flips(shared_models, workdir):
    raw = (shared_models / "onnx_mtcnn_pypi" / "pnet.onnx").read_bytes()
    for cut in range(0, len(raw), max(1, len(raw) // 300)):
        check_case(Case("onnx", {"model.onnx": raw[:cut]}), workdir)
    for pos in range(0, len(raw), max(1, len(raw) // 200)):
        flipped = bytearray(raw)
        flipped[pos] ^= 0x80
        check_case(Case("onnx", {"model.onnx": bytes(flipped)}), workdir)
