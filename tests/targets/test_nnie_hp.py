"""--hp-layers: the nnie writer marks exactly the chosen layers with _hp (layer names only; tops
keep the tensor names), OpenCV still runs the net and verify still matches."""
import json

import pytest

import modelport
from modelport.cli import main
from modelport.errors import ModelportError
from modelport.quant.simulate import quantsim, write_json
from modelport.targets.nnie import read_hp_layers
from backends.caffe.caffe_support import read_prototxt
from quant.quant_models import outlier_net

SHAPE = {"x": (1, 3, 16, 16)}


def test_quantsim_json_marks_exactly_those_layers_and_verify_matches(tmp_path):
    source = outlier_net(tmp_path)
    chosen = write_json(quantsim(source, random=2), tmp_path / "q.json")
    assert read_hp_layers(chosen) == ["c2"]
    result = modelport.convert(source, to="nnie", output_dir=tmp_path / "o", inputs=SHAPE,
                               extra={"hp_layers": read_hp_layers(chosen)})
    net = read_prototxt(result.files[0])
    assert [(l.name, list(l.top)) for l in net.layer if l.name.endswith("_hp")] == [("c2_hp", ["c2"])]
    assert [l.name for l in net.layer] == ["c1", "r1", "s1", "c2_hp", "r2", "c3", "r3", "y"]
    assert "# modelport.notes: 1 layers marked for 16-bit high precision" in result.files[0].read_text()
    report = modelport.verify(source, result.files[0])
    cmp = report.runs[0].comparison
    assert report.ok and cmp.missing == [] and "c2" in {r.name for r in cmp.rows}


def test_text_list_through_the_cli_and_the_grouped_convolution_reminder(tmp_path, capsys):
    source = outlier_net(tmp_path)
    names = tmp_path / "hp.txt"
    names.write_text("# chosen by hand\nc3\ny  # the head\n")
    assert main(["convert", str(source), "--to", "nnie", "--input", "x:1,3,16,16", "--hp-layers", str(names),
                 "-o", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "PITFALLS 21" in out and "c3" in out
    net = read_prototxt(tmp_path / "o" / "outlier.nnie.prototxt")
    assert sorted(l.name for l in net.layer if l.name.endswith("_hp")) == ["c3_hp", "y_hp"]
    assert main(["verify", str(source), str(tmp_path / "o" / "outlier.nnie.prototxt")]) == 0


@pytest.mark.parametrize("names,message", [(["nope"], "no layer named nope"),
                                           (["r1"], "no precision of their own")])
def test_unknown_or_weightless_layers_are_refused_and_nothing_is_written(tmp_path, names, message):
    source = outlier_net(tmp_path)
    with pytest.raises(ModelportError, match=message):
        modelport.convert(source, to="nnie", output_dir=tmp_path / "o", inputs=SHAPE, extra={"hp_layers": names})
    assert not (tmp_path / "o" / "outlier.nnie.prototxt").exists()


def test_hp_layers_file_forms(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(["c1", "c2"]))
    assert read_hp_layers(tmp_path / "a.json") == ["c1", "c2"]
    (tmp_path / "b.json").write_text("{bad")
    with pytest.raises(ModelportError, match="not valid JSON"):
        read_hp_layers(tmp_path / "b.json")
    with pytest.raises(ModelportError, match="file not found"):
        read_hp_layers(tmp_path / "none.txt")


def test_hp_layers_need_the_nnie_target(tmp_path):
    source = outlier_net(tmp_path)
    (tmp_path / "hp.txt").write_text("c2\n")
    assert main(["convert", str(source), "--to", "caffe", "--input", "x:1,3,16,16", "--hp-layers",
                 str(tmp_path / "hp.txt"), "-o", str(tmp_path / "o")]) == 2
