"""The command line: JSON output, tables, one-line errors with exit status 2, nothing written."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from varprop import cli

PAPER_NET = "1024,1000,1000,1000,1000,1000,9"


def run(capsys, *argv):
    rc = cli.main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_predict_json_echoes_inputs_and_gives_every_layer(capsys):
    rc, out, _ = run(capsys, "predict", "--widths", PAPER_NET, "--activation", "tanh",
                     "--init", "standard", "--json")
    assert rc == 0
    doc = json.loads(out)
    assert doc["widths"] == [1024, 1000, 1000, 1000, 1000, 1000, 9]
    assert (doc["activation"], doc["init"], doc["var_x"], doc["var_top"]) == ("tanh", "standard", 1, 1)
    assert [row["layer"] for row in doc["layers"]] == list(range(6))
    for key in ("activation_variance", "backprop_variance", "weight_gradient_variance"):
        assert all(row[key] > 0 for row in doc["layers"])


def test_predict_table(capsys):
    rc, out, _ = run(capsys, "predict", "--widths", "1000,1000,1000", "--init", "normalized")
    assert rc == 0 and "Var[dC/dW]" in out and "normalized" in out


def test_custom_scheme(capsys):
    rc, out, _ = run(capsys, "predict", "--widths", "100,100", "--scale", "2", "--mode", "fan_in",
                     "--json")
    assert rc == 0 and json.loads(out)["layers"][0]["weight_variance"] == pytest.approx(0.02)


@pytest.mark.parametrize("argv,needle", [
    (["predict", "--widths", "10,0"], "positive integers"),
    (["predict", "--widths", "10"], "at least two widths"),
    (["predict", "--widths", "10,x"], "positive integers"),
    (["predict", "--widths", "10,10", "--activation", "swishy"], "choose one of"),
    (["predict", "--widths", "10,10", "--init", "x"], "choose one of"),
    (["predict", "--widths", "10,10", "--var-x", "0"], "positive"),
    (["predict", "--widths", "10,10", "--var-top", "nan"], "positive"),
    (["predict", "--widths", "10,10", "--scale", "1"], "go together"),
    (["predict", "--widths", "10,10", "--scale", "1", "--mode", "fan_max"], "fan_in, fan_out, fan_avg"),
    (["predict"], "required"),
    (["frobnicate"], "invalid choice"),
    (["derive", "--bogus"], "unrecognized arguments"),
])
def test_bad_input_is_one_line_exit_2(capsys, argv, needle):
    rc, out, err = run(capsys, *argv)
    assert rc == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and needle in err and "Traceback" not in err


def test_bad_input_writes_nothing(tmp_path, capsys):
    out = tmp_path / "never"
    assert cli.main(["derive", "--out", str(out), "--nope"]) == 2
    assert not out.exists()


def test_derive_writes_main_document_and_fragments(tmp_path, capsys):
    rc, out, _ = run(capsys, "derive", "--out", str(tmp_path))
    assert rc == 0 and (tmp_path / "varprop.tex").is_file()
    assert len(list((tmp_path / "fragments").glob("*.tex"))) >= 20


def test_module_and_console_entry_points():
    script = Path(sys.executable).parent / "varprop"   # installed next to this interpreter
    for cmd in ([sys.executable, "-m", "varprop"], [str(script)]):
        run_ = subprocess.run(cmd + ["predict", "--widths", "4,4", "--json"], capture_output=True,
                              text=True, timeout=120)
        assert run_.returncode == 0, run_.stderr
        assert json.loads(run_.stdout)["layers"][0]["fan_in"] == 4
        bad = subprocess.run(cmd + ["predict", "--widths", "4,-1"], capture_output=True, text=True,
                             timeout=120)
        assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_predict_meanfield_theory(capsys):
    rc, out, _ = run(capsys, "predict", "--widths", "100,100,100", "--theory", "meanfield", "--json")
    doc = json.loads(out)
    assert rc == 0 and doc["theory"] == "meanfield"
    # tanh saturates: the mean field's Var[z^1] is below the linear regime's 1/3
    assert doc["layers"][1]["activation_variance"] < 1 / 3
    rc, _, err = run(capsys, "predict", "--widths", "100,100", "--theory", "exact")
    assert rc == 2 and "linear, meanfield" in err


def test_init_takes_other_libraries_names(capsys, tmp_path):
    """``--init glorot_uniform`` (an alias: the normalized scheme) in predict, check and train;
    an unknown name's error lists the schemes and the aliases."""
    rc, out, _ = run(capsys, "predict", "--widths", "300,100", "--init", "glorot_uniform",
                     "--json")
    doc = json.loads(out)
    assert rc == 0 and doc["init"] == "normalized"
    assert doc["layers"][0]["weight_variance"] == pytest.approx(2 / 400)
    rc, out, _ = run(capsys, "predict", "--widths", "300,100", "--init", "he_normal", "--json")
    assert rc == 0 and json.loads(out)["init"] == "he/truncated_normal"
    rc, out, _ = run(capsys, "check", "--widths", "32,32,5", "--init", "glorot_uniform",
                     "--networks", "4", "--samples", "20", "--json")
    assert rc in (0, 1) and len(json.loads(out)["layers"]) == 2
    rc, _, _ = run(capsys, "train", "--hidden", "4", "--updates", "2", "--monitor-every", "2",
                   "--eval-every", "2", "--checkpoint-every", "2", "--init", "glorot_uniform",
                   "--quiet", "--out", str(tmp_path / "run"))
    assert rc == 0
    stored = json.loads((tmp_path / "run" / "results.json").read_text())["config"]
    assert stored["init"] == "glorot_uniform"
    for command in (["predict", "--widths", "8,8"], ["check", "--widths", "8,8"],
                    ["train", "--out", str(tmp_path / "bad"), "--quiet"]):
        rc, _, err = run(capsys, *command, "--init", "glorot")
        assert rc == 2 and "choose one of: standard, normalized" in err, err
        assert "or an alias: glorot_uniform, xavier_uniform, glorot_normal" in err, err
        assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "bad").exists()
