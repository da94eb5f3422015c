"""The NNIE 8-bit simulation: the quantizer as ONNX ops, the per-layer table, the _hp search, the JSON."""
import json

import numpy as np
import onnxruntime as ort
import pytest

from modelport.quant import nnie_quantize
from modelport.quant.simulate import fake_quant_model, quantsim, write_json
from quant.quant_models import outlier_net


@pytest.mark.parametrize("scale", [1e-3, 1.0, 300.0])
def test_quantizer_as_onnx_ops_matches_nnie_quantize(scale):
    rng = np.random.default_rng(1)
    x = (rng.normal(0, scale, 20000) * 10.0 ** rng.uniform(-3, 0, 20000)).astype(np.float32)
    x[:3] = [0.0, scale, -scale]
    data_max = float(np.abs(x[100:]).max())
    sess = ort.InferenceSession(fake_quant_model(x.shape, data_max).SerializeToString(), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"x": x})[0]
    want = nnie_quantize(x, data_max).astype(np.float32)
    assert np.array_equal(got, want)


def test_all_zero_tensor_quantizes_to_zero_in_onnx():
    sess = ort.InferenceSession(fake_quant_model((3,), 0.0).SerializeToString(), providers=["CPUExecutionProvider"])
    assert sess.run(None, {"x": np.array([1.0, -2.0, 0.0], np.float32)})[0].tolist() == [0.0, 0.0, 0.0]


@pytest.fixture(scope="module")
def outlier(tmp_path_factory):
    path = outlier_net(tmp_path_factory.mktemp("quant"))
    return path, quantsim(path, random=4)


def test_per_layer_table_and_the_chosen_layer(outlier):
    _, result = outlier
    names = [r.name for r in result.layers]
    assert names == ["c1", "r1", "s1", "c2", "r2", "c3", "r3", "y"]
    assert result.weighted == ["c1", "c2", "c3", "y"]
    by = {r.name: r for r in result.layers}
    assert by["c1"].cosine > 0.999 and by["c2"].cosine < 0.95  # the crushed channels
    assert result.output_cosine_int8["y"] < 0.99
    assert result.hp_layers == ["c2"]  # fewer 16-bit layers than weighted layers
    assert result.output_cosine_mixed["y"] >= 0.99
    assert by["c2"].cosine_mixed > 0.999 and by["c1"].cosine_mixed == by["c1"].cosine
    assert "random" in result.calibration


def test_search_reaches_a_higher_target_with_more_layers(outlier):
    path, _ = outlier
    strict = quantsim(path, random=4, target_cosine=0.99999)
    assert all(v >= 0.99999 for v in strict.output_cosine_mixed.values())
    assert "c2" in strict.hp_layers and len(strict.hp_layers) <= 4
    if "c3" in strict.hp_layers:
        assert strict.grouped_hp == ["c3"]


def test_json_schema(outlier, tmp_path):
    _, result = outlier
    data = json.loads(write_json(result, tmp_path / "q.json").read_text())
    assert {"layers", "hp_layers", "output_cosine_int8", "output_cosine_mixed"} <= set(data)
    assert all({"name", "cosine"} <= set(row) for row in data["layers"])
    assert data["hp_layers"] == ["c2"] and set(data["output_cosine_int8"]) == {"y"}
    assert data["output_cosine_mixed"]["y"] >= 0.99


def test_calibration_from_a_folder_of_npy(outlier, tmp_path):
    path, _ = outlier
    rng = np.random.default_rng(3)
    for k in range(3):
        np.save(tmp_path / f"{k}.npy", rng.uniform(-1, 1, (3, 16, 16)).astype(np.float32))
    result = quantsim(path, calib=tmp_path)
    assert result.calibration.startswith("3 calibration inputs") and result.hp_layers == ["c2"]


def test_html_report_and_terminal_table(outlier, tmp_path):
    from rich.console import Console

    from modelport.quant.report import print_quantsim, write_quantsim_html

    _, result = outlier
    page = write_quantsim_html(result, tmp_path / "q.html").read_text()
    assert "c2_hp" in page and "#d23a2f" in page and "svg" in page
    console = Console(record=True, width=160)
    print_quantsim(result, console)
    text = console.export_text()
    assert "c2 -> c2_hp" in text and "1 of 4 weighted layers" in text


def test_mtcnn_det1(shared_models, tmp_path):
    from modelport.cli import main

    symbol = shared_models / "mtcnn_mxnet" / "det1-symbol.json"
    if not symbol.is_file():
        pytest.skip("MTCNN det1 not in the shared models")
    assert main(["quantsim", str(symbol), "--input", "data:1,3,24,24", "--random", "4",
                 "--json", str(tmp_path / "q.json")]) == 0
    data = json.loads((tmp_path / "q.json").read_text())
    assert [r["name"] for r in data["layers"]][:2] == ["conv1", "prelu1"]
    assert len(data["hp_layers"]) < 5
    assert all(v >= 0.99 for v in data["output_cosine_mixed"].values())


def test_html_renders_in_headless_chromium(outlier, tmp_path):
    import shutil
    import subprocess

    from modelport.quant.report import write_quantsim_html

    chromium = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    if chromium is None:
        pytest.skip("no chromium binary on PATH")
    page = write_quantsim_html(outlier[1], tmp_path / "q.html")
    dom = subprocess.run([chromium, "--headless", "--disable-gpu", "--no-sandbox", f"--user-data-dir={tmp_path / 'p'}",
                          "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert 'data-rendered="ok"' in dom.stdout


def test_calibration_from_images_says_how_they_were_prepared(outlier, tmp_path):
    import cv2

    path, _ = outlier
    rng = np.random.default_rng(4)
    for k in range(2):
        cv2.imwrite(str(tmp_path / f"{k}.png"), rng.integers(0, 256, (20, 30, 3), dtype=np.uint8))
    result = quantsim(path, calib=tmp_path)
    assert "2 images: resized to 16x16, RGB, CHW, scaled (p - 127.5) / 128" in result.calibration
