"""The one place that knows where data live, and how files get there without half-writes.

Data folder: ``--data-dir`` if given, else ``$VARPROP_DATA``, else ``$XDG_CACHE_HOME/varprop``
(default ``~/.cache/varprop``). Everything written into it goes to a temporary name in the
same folder first and is renamed into place only once complete and verified.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from ..files import _umask, atomic_path, write_bytes_atomic  # noqa: F401 (re-exported)

ENV_VAR = "VARPROP_DATA"


class DataMissing(ValueError):
    """A data set is not where it should be; the message names what provides it."""


class DataCorrupt(ValueError):
    """A data file is truncated, malformed or fails its checksum."""


def data_dir(override=None) -> Path:
    """The data folder (not created here)."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "varprop"


def sha256_bytes(data) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def staging_dir(root, name):
    """Yield an empty temporary folder inside ``root``; on success it replaces ``root/name``
    (an older copy is removed only after the new one is in place), on failure it is removed."""
    root = Path(root)
    made = [p for p in (root, *root.parents) if not p.exists()]   # removed again on failure
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{name}.", suffix=".part"))
    os.chmod(tmp, 0o777 & ~_umask())     # mkdtemp makes it private; the cache is not
    try:
        yield tmp
        final = root / name
        old = None
        if final.exists():
            old = Path(tempfile.mkdtemp(dir=root, prefix=f".{name}.", suffix=".old"))
            os.rmdir(old)
            os.replace(final, old)
        os.replace(tmp, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for folder in made:                      # innermost first; only the empty ones
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
