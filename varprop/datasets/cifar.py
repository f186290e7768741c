"""CIFAR-10 from the standard "python version" pickle batches, in a folder the user names.

No package registry ships CIFAR-10. Obtain ``cifar-10-python.tar.gz`` from its authors' page
(Krizhevsky, "The CIFAR-10 dataset", www.cs.toronto.edu/~kriz/cifar.html) and either run
``varprop data prepare cifar-10 --tarball cifar-10-python.tar.gz`` (verifies the official MD5s,
extracts into DATA/cifar-10-batches-py/), or extract it yourself and point ``--data-dir`` (or
``$VARPROP_CIFAR10``) at the folder that holds ``data_batch_1`` … ``test_batch``.

Each batch is a pickled dict (written by Python 2) with b"data": uint8 (10000, 3072), rows
holding the 1024 red, then green, then blue values of a 32×32 image in row-major order, and
b"labels": 10000 ints in 0..9. They are read with a restricted unpickler that accepts nothing
but dicts, lists, strings, numbers and NumPy arrays.

Splits (paper): train = data_batch_1..4 (40,000), valid = data_batch_5 (10,000),
test = test_batch (10,000). Preprocessing: value / 255 → float32 in [0, 1], 3072 features in
the batches' channel-major order (reshape (N, 3, 32, 32) for images).
"""
from __future__ import annotations

import hashlib
import io
import os
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np

from . import cache
from .cache import DataCorrupt, DataMissing

ENV_VAR = "VARPROP_CIFAR10"
FOLDER = "cifar-10-batches-py"
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck")
SPLIT_FILES = {"train": ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4"),
               "valid": ("data_batch_5",), "test": ("test_batch",)}
# MD5s of the official release (the values its authors and torchvision publish).
MD5 = {"data_batch_1": "c99cafc152244af753f735de768cd75f",
       "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
       "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
       "data_batch_4": "634d18415352ddfa80567beed471001a",
       "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
       "test_batch": "40351d587109b95175f43aff81a1287e",
       "batches.meta": "5ff9c542aee3614f3951f8cda6e48888"}
TARBALL_MD5 = "c58f30108f718f92721af3b95e74349a"
HOW_TO_GET = ("no registry ships CIFAR-10: download cifar-10-python.tar.gz from "
              "www.cs.toronto.edu/~kriz/cifar.html, then run 'varprop data prepare cifar-10 "
              "--tarball FILE' or set VARPROP_CIFAR10 to the extracted cifar-10-batches-py folder")


class _SafeUnpickler(pickle.Unpickler):
    """Resolves only what a CIFAR batch holds: NumPy's array reconstruction."""
    _ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"),
                ("numpy.core.multiarray", "_reconstruct"),
                ("numpy._core.multiarray", "_reconstruct"),
                ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar")}

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise DataCorrupt(f"refusing to unpickle {module}.{name}: not part of a CIFAR batch")
        if module.startswith("numpy.core") or module.startswith("numpy._core"):
            from numpy._core import multiarray
            return getattr(multiarray, name)
        return getattr(np, name)


def read_batch(path):
    """One batch file -> (data uint8 (N, 3072), labels int64 (N,))."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            obj = _SafeUnpickler(f, encoding="bytes").load()
    except DataCorrupt as exc:
        raise DataCorrupt(f"{path}: {exc}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError) as exc:
        raise DataCorrupt(f"{path}: not a readable CIFAR batch ({type(exc).__name__}: {exc})") \
            from None
    if not isinstance(obj, dict) or b"data" not in obj or b"labels" not in obj:
        raise DataCorrupt(f"{path}: not a CIFAR-10 batch (need a dict with b'data' and b'labels')")
    data = np.asarray(obj[b"data"])
    labels = np.asarray(obj[b"labels"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise DataCorrupt(f"{path}: b'data' must be uint8 (N, 3072), got {data.dtype} {data.shape}")
    if labels.ndim != 1 or labels.shape[0] != data.shape[0]:
        raise DataCorrupt(f"{path}: {data.shape[0]} images but labels of shape {labels.shape}")
    if labels.size and (not np.issubdtype(labels.dtype, np.integer)
                        or labels.min() < 0 or labels.max() > 9):
        raise DataCorrupt(f"{path}: labels must be integers in 0..9")
    return data, labels.astype(np.int64)


def locate(data_dir=None) -> Path:
    """The folder with the batches: $VARPROP_CIFAR10, else DATA/cifar-10-batches-py, else
    DATA itself. Raises DataMissing saying how to obtain the files."""
    if data_dir is None and os.environ.get(ENV_VAR):
        candidates = [Path(os.environ[ENV_VAR]).expanduser()]
    else:
        base = cache.data_dir(data_dir)
        candidates = [base / FOLDER, base]
    needed = [f for files in SPLIT_FILES.values() for f in files]
    for folder in candidates:
        if all((folder / f).is_file() for f in needed):
            return folder
    where = " or ".join(str(c) for c in candidates)
    raise DataMissing(f"cifar-10 batches not found in {where}: {HOW_TO_GET}")


def load_split(split, data_dir=None):
    """(x (N, 3072) float32 in [0, 1], y (N,) int64) for train / valid / test."""
    folder = locate(data_dir)
    parts = [read_batch(folder / f) for f in SPLIT_FILES[split]]
    data = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    return data.astype(np.float32) / np.float32(255.0), labels


def md5_file(path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_status(data_dir=None):
    """(folder or None, [(file, bytes, 'official md5' | 'not the official release' | 'missing')])."""
    try:
        folder = locate(data_dir)
    except DataMissing:
        return None, []
    rows = []
    for fn, md5 in MD5.items():
        p = folder / fn
        if not p.is_file():
            rows.append((fn, 0, "missing"))
        else:
            rows.append((fn, p.stat().st_size,
                         "md5 ok" if md5_file(p) == md5 else "md5 differs from the official release"))
    return folder, rows


def prepare_cifar10(tarball, data_dir=None, expected=None, log=print) -> Path:
    """Verify cifar-10-python.tar.gz (per-file MD5s, or ``expected``: name -> md5 for fixtures),
    extract the batches into DATA/cifar-10-batches-py/ atomically."""
    if tarball is None:
        raise DataMissing(f"prepare cifar-10 needs --tarball cifar-10-python.tar.gz: {HOW_TO_GET}")
    tarball = Path(tarball)
    if not tarball.is_file():
        raise DataMissing(f"{tarball}: no such file; {HOW_TO_GET}")
    sums = MD5 if expected is None else expected
    root = cache.data_dir(data_dir)
    with cache.staging_dir(root, FOLDER) as stage:
        try:
            with tarfile.open(tarball, "r:*") as tar:
                for fn, md5 in sums.items():
                    try:
                        member = tar.getmember(f"{FOLDER}/{fn}")
                    except KeyError:
                        raise DataCorrupt(f"{tarball}: no {FOLDER}/{fn} inside") from None
                    if not member.isfile():
                        raise DataCorrupt(f"{tarball}: {FOLDER}/{fn} is not a regular file")
                    with tar.extractfile(member) as src:
                        data = src.read()
                    if hashlib.md5(data).hexdigest() != md5:
                        raise DataCorrupt(f"{tarball}: {fn} fails its MD5 check "
                                          "(not the official cifar-10-python.tar.gz?)")
                    (stage / fn).write_bytes(data)
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise DataCorrupt(f"{tarball}: unreadable tarball ({exc})") from None
        for fn in SPLIT_FILES["train"] + SPLIT_FILES["valid"] + SPLIT_FILES["test"]:
            read_batch(stage / fn)
    log(f"cifar-10: verified and installed in {root / FOLDER}")
    return root / FOLDER


class _Python2Pickler(pickle._Pickler):
    """Pickles as Python 2's cPickle did: every string, text or bytes, as a byte string
    (BINSTRING), so loading with encoding="bytes" sees bytes, as with the real release."""
    dispatch = pickle._Pickler.dispatch.copy()

    def _save_byte_string(self, obj):
        data = obj.encode("latin-1") if isinstance(obj, str) else bytes(obj)
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[str] = _save_byte_string
    dispatch[bytes] = _save_byte_string


def write_batch(path, data, labels, batch_label=b"fixture batch") -> None:
    """Write a batch in the release's format: a protocol-2 pickle of a dict with byte-string
    keys, as Python 2 wrote it (byte strings; the array class named numpy.core.multiarray)."""
    data = np.ascontiguousarray(data, dtype=np.uint8)
    obj = {b"batch_label": batch_label, b"labels": [int(v) for v in labels], b"data": data,
           b"filenames": [f"img_{i:05d}.png".encode() for i in range(len(data))]}
    buf = io.BytesIO()
    _Python2Pickler(buf, protocol=2).dump(obj)
    raw = buf.getvalue().replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")
    cache.write_bytes_atomic(path, raw)
