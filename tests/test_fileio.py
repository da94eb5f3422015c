"""Checkpoint discovery and all-or-nothing outputs."""
import pytest

from modelport.errors import ModelFileError
from modelport.fileio import atomic_outputs, find_params, model_stem


def test_pitfall_1_params_found_by_prefix_and_latest_epoch(tmp_path):
    (tmp_path / "net-symbol.json").write_text("{}")
    for epoch in (1, 12, 3):
        (tmp_path / f"net-{epoch:04d}.params").write_bytes(b"")
    (tmp_path / "net-extra-0099.params").write_bytes(b"")  # another prefix
    assert find_params(tmp_path / "net-symbol.json").name == "net-0012.params"
    assert find_params(tmp_path / "net-symbol.json", epoch=3).name == "net-0003.params"
    with pytest.raises(ModelFileError, match="net-0007.params: params file not found"):
        find_params(tmp_path / "net-symbol.json", epoch=7)


def test_nonstandard_names_need_explicit_params(tmp_path):
    (tmp_path / "graph.json").write_text("{}")
    assert model_stem(tmp_path / "graph.json") == "graph"
    with pytest.raises(ModelFileError, match="give the .params file"):
        find_params(tmp_path / "graph.json")


def test_atomic_outputs_leave_nothing_on_failure(tmp_path):
    out = tmp_path / "new"
    with pytest.raises(RuntimeError):
        with atomic_outputs(out) as staging:
            (staging / "a.onnx").write_bytes(b"half")
            raise RuntimeError("boom")
    assert not out.exists()
    with atomic_outputs(out) as staging:
        (staging / "a.onnx").write_bytes(b"whole")
    assert [p.name for p in out.iterdir()] == ["a.onnx"]
