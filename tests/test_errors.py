"""Every failure a user can cause gives one line and the documented exit status (2), and leaves
what was good on disk as it was: runs that are not there, damaged files, unusable folders,
more memory than the machine has. (tests/test_cli_fuzz.py tries hostile values at random.)"""
import numpy as np
import pytest

from varprop import cli, files, resources
from varprop.training.run import CHECKPOINT, RESULTS_JSON, RESULTS_NPZ

TRAIN = ["train", "--hidden", "8,6", "--updates", "20", "--monitor-every", "10", "--eval-every",
         "10", "--checkpoint-every", "10", "--set", "eval_examples=40", "--set",
         "monitor_examples=20", "--set", "bins=10", "--threads", "1", "--quiet"]


def one_line(capsys, rc, expected=2) -> str:
    err = capsys.readouterr().err
    assert rc == expected, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


def snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_resume_without_a_run_is_refused(tmp_path, capsys):
    for out in (tmp_path / "empty", tmp_path / "missing"):
        (tmp_path / "empty").mkdir(exist_ok=True)
        err = one_line(capsys, cli.main([*TRAIN, "--out", str(out), "--resume"]))
        assert "no run to resume" in err and str(out) in err
    assert not (tmp_path / "missing").exists() and not any((tmp_path / "empty").iterdir())


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "run"
    assert cli.main([*TRAIN, "--out", str(out)]) == 0
    return out


def _damage(path, how):
    data = path.read_bytes()
    path.write_bytes({"truncated": data[:len(data) // 3], "empty": b"",
                      "garbage": b"\x00\xffnot ours" * 7}[how])


@pytest.mark.parametrize("how", ["truncated", "empty", "garbage"])
@pytest.mark.parametrize("name,needle", [
    (CHECKPOINT, "--resume restarts the run from update 0"),
    (RESULTS_JSON, "restore it"),
    (RESULTS_NPZ, "restore it")])
def test_a_damaged_file_is_named_and_kept(finished, tmp_path, capsys, name, how, needle):
    import shutil
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    _damage(out / name, how)
    before = snapshot(out)
    argv = (["train", "--out", str(out), "--report"] if name == RESULTS_NPZ else
            ["train", "--out", str(out), "--resume", "--updates", "30", "--quiet"])
    err = one_line(capsys, cli.main(argv))
    assert f"{out / name}: " in err and needle in err, err
    assert snapshot(out) == before                       # nothing deleted, nothing rewritten


def test_a_deleted_checkpoint_resumes_from_update_0_to_the_same_bits(finished, tmp_path):
    import shutil
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    (out / CHECKPOINT).unlink()
    assert cli.main(["train", "--out", str(out), "--resume", "--quiet"]) == 0
    a, b = files.read_npz(out / RESULTS_NPZ), files.read_npz(finished / RESULTS_NPZ)
    assert sorted(a) == sorted(b)
    assert all(np.array_equal(a[k], b[k], equal_nan=a[k].dtype.kind == "f") for k in a)


@pytest.mark.parametrize("argv,flag", [
    (["derive", "--out", "{file}/x"], "--out"),
    (["derive", "--out", "/proc/nope"], "--out"),
    (["derive", "--out", "{file}"], "--out"),
    ([*TRAIN, "--out", "{file}/x"], "--out"),
    ([*TRAIN, "--out", "/proc/nope/run"], "--out"),
    (["figures", "--only", "1", "--out", "/proc/nope"], "--out"),
    (["figures", "--only", "1", "--store", "{file}/store", "--out", "{tmp}/f"], "store"),
])
def test_unusable_folders_are_refused_before_anything_is_written(tmp_path, capsys, argv, flag):
    file = tmp_path / "a-file"
    file.write_text("not a folder")
    argv = [a.format(file=file, tmp=tmp_path) for a in argv]
    err = one_line(capsys, cli.main(argv))
    assert flag in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_more_memory_than_the_machine_has_is_refused_with_both_figures(capsys, monkeypatch):
    err = one_line(capsys, cli.main(["check", "--widths", "100000,100000,100000"]))
    assert "GiB of memory" in err and "GiB available" in err
    monkeypatch.setattr(resources, "available_memory", lambda: 2 ** 30)   # a 1 GiB machine
    err = one_line(capsys, cli.main(["check", "--widths", "1024,60000,10", "--networks", "1"]))
    assert "this machine has 1.0 GiB available" in err


def test_training_too_big_for_the_machine_is_refused(tmp_path, capsys):
    out = tmp_path / "big"
    err = one_line(capsys, cli.main([*TRAIN[:2], "200000,200000", *TRAIN[3:],
                                     "--out", str(out)]))
    assert "training 1024-200000-200000-9 needs about" in err and "--hidden" in err
    assert not out.exists()


def test_a_local_cluster_too_big_for_the_machine_is_refused(tmp_path, capsys):
    err = one_line(capsys, cli.main(["figures", "--only", "1", "--jobs", "100000", "--store",
                                     str(tmp_path / "s"), "--out", str(tmp_path / "f")]))
    assert "a local cluster of 100000 workers needs about" in err and "--jobs" in err


def test_available_memory_reads_the_machine():
    have = resources.available_memory()
    assert 2 ** 26 < have < 2 ** 50


def test_leftovers_of_a_killed_write_are_removed_when_the_run_resumes(finished, tmp_path):
    import shutil
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    (out / f".{CHECKPOINT}.abc123.part").write_bytes(b"half")
    (out / ".notes.txt.part").write_bytes(b"not ours")
    assert cli.main(["train", "--out", str(out), "--resume", "--quiet"]) == 0
    assert sorted(p.name for p in out.glob(".*.part")) == [".notes.txt.part"]

