"""The layer contracts in pyproject.toml hold (import-linter), and start-up stays light."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("numpy", "onnx", "onnx_ir", "onnxruntime", "mxnet", "sympy", "cv2", "ncnn")


def test_import_contracts_hold():
    lint = Path(sys.executable).parent / "lint-imports"
    out = subprocess.run([str(lint), "--config", str(ROOT / "pyproject.toml")], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "broken" in out.stdout and " 0 broken" in out.stdout


def _loaded_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint('LOADED:', ' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return out.stdout.rpartition("LOADED:")[2].split()


def test_import_modelport_loads_no_heavy_library():
    assert _loaded_after("import modelport") == []


def test_cli_help_loads_no_heavy_library():
    code = "from modelport.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    assert _loaded_after(code) == []


def test_convert_does_not_load_the_engines(tmp_path):
    model = tmp_path / "m.onnx"
    code = f"""
import onnx
from onnx import helper, TensorProto
g = helper.make_graph([helper.make_node('Relu', ['x'], ['y'])], 'g',
                      [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 3])],
                      [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, 3])])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)]), {str(model)!r})
import modelport
modelport.convert({str(model)!r}, to='onnx', output_dir={str(tmp_path / 'out')!r})"""
    loaded = _loaded_after(code)
    assert "onnxruntime" not in loaded and "mxnet" not in loaded, loaded
