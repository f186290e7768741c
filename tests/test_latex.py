"""derivations/ is the code's exact output, compiles with pdflatex, and carries the results."""
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import pdflatex_path

from varprop import cli
from varprop.symbolic import document
from varprop.symbolic.notation import latex

ROOT = Path(__file__).resolve().parents[1]
DERIVATIONS = ROOT / "derivations"


def test_committed_derivations_are_up_to_date():
    assert document.stale(DERIVATIONS) == []


def test_rerun_is_byte_identical(tmp_path):
    document.write(tmp_path / "a")
    document.write(tmp_path / "b")
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files and all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
                         for f in files)
    assert not list(tmp_path.rglob("*.tmp"))


def test_every_result_is_in_its_fragment_and_the_main_document():
    files = document.render()
    main = files[document.MAIN]
    for _, items in document._items():
        for item in items:
            frag = files[f"{document.FRAGMENTS}/{item.key}.tex"]
            assert frag in main
            if hasattr(item, "result"):
                assert latex(item.result) in frag
                assert rf"\tag{{{item.tag}}}" in frag
    for tag in ["5", "6", "7", "10", "11", "12", "13", "14", "15", "16"]:
        assert rf"\tag{{{tag}}}" in main


def test_check_names_a_stale_file(tmp_path, capsys):
    out = tmp_path / "derivations"
    shutil.copytree(DERIVATIONS, out)
    assert cli.main(["derive", "--check", "--out", str(out)]) == 0
    frag = out / "fragments" / "compromise.tex"
    frag.write_text(frag.read_text().replace("2", "3"))
    (out / "fragments" / "orphan.tex").write_text("x")
    capsys.readouterr()
    assert cli.main(["derive", "--check", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "fragments/compromise.tex" in err and "fragments/orphan.tex" in err


def _compile(exe, tex: Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([exe, "-interaction=nonstopmode", "-halt-on-error", tex.name],
                          cwd=cwd, capture_output=True, text=True, timeout=120)


def test_main_document_and_an_input_fragment_compile(tmp_path):
    exe = pdflatex_path()
    shutil.copytree(DERIVATIONS, tmp_path / "d")
    run = _compile(exe, tmp_path / "d" / document.MAIN, tmp_path / "d")
    assert run.returncode == 0, run.stdout[-3000:]
    assert (tmp_path / "d" / "varprop.pdf").stat().st_size > 10_000
    wrapper = tmp_path / "d" / "wrapper.tex"
    wrapper.write_text("\\documentclass{article}\\usepackage{amsmath,amssymb}\\begin{document}\n"
                       "\\input{fragments/backward_variance}\n\\input{fragments/scheme_table}\n"
                       "\\end{document}\n")
    run = _compile(exe, wrapper, tmp_path / "d")
    assert run.returncode == 0, run.stdout[-3000:]


@pytest.mark.parametrize("activation", ["selu", "leaky_relu(0.2)", "x*sigmoid(x)"])
def test_activation_document_compiles(tmp_path, activation):
    """``varprop derive --activation A``: one document per activation, compiled by pdflatex;
    a bad activation is one line, exit 2, and writes nothing."""
    from varprop.cli import main
    assert main(["derive", "--activation", activation, "--out", str(tmp_path / "a")]) == 0
    run = _compile(pdflatex_path(), tmp_path / "a" / "activation.tex", tmp_path / "a")
    assert run.returncode == 0, run.stdout[-3000:]
    assert main(["derive", "--activation", "x*y", "--out", str(tmp_path / "b")]) == 2
    assert not (tmp_path / "b").exists()
