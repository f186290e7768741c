"""Files written whole or not at all, with the same bytes for the same content.

Every file varprop writes goes through a temporary file beside it that is renamed onto it
(``atomic_path``), so a kill at any moment leaves the old file or the new one, never half of
one. Arrays are stored as ``.npz`` archives whose entries carry a fixed date (NumPy's own
``savez`` stamps the current time), so a result computed twice is byte-identical.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

# The zip format's earliest date: every archive entry carries it instead of the time of writing.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds,
    delete it otherwise."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())     # mkstemp makes it private; an ordinary file is not
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_bytes_atomic(path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_json(path, obj) -> None:
    """``obj`` as indented JSON with sorted keys (floats that JSON lacks as NaN/Infinity)."""
    write_bytes_atomic(path, (json.dumps(obj, indent=2, sort_keys=True, default=_plain)
                              + "\n").encode())


def _plain(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return str(v)


def write_npz(path, arrays: dict, compress: bool = False) -> None:
    """``arrays`` as an .npz archive (``np.load`` reads it), entries in the given order, each
    with the fixed date ``ZIP_DATE``: the same arrays give the same bytes."""
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", method) as zf:
        for name, value in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_DATE)
            info.compress_type = method
            info.external_attr = 0o644 << 16
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(value), allow_pickle=False)


class UnreadableFile(ValueError):
    """A file varprop wrote that cannot be read back (damaged, truncated, not ours): one line
    naming it and what to do."""


def read_json(path, advice: str) -> dict:
    """The JSON object in ``path``; ``UnreadableFile`` (naming it, then ``advice``) when it is
    missing, damaged or not an object."""
    try:
        obj = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnreadableFile(f"{path}: unreadable ({_reason(exc)}); {advice}") from None
    if not isinstance(obj, dict):
        raise UnreadableFile(f"{path}: not a JSON object; {advice}")
    return obj


def read_npz(path, advice: str = "it may be damaged") -> dict:
    """Every array of an .npz archive, loaded (no pickles); ``UnreadableFile`` (naming it,
    then ``advice``) when it is missing, truncated or not an archive of arrays."""
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise UnreadableFile(f"{path}: unreadable ({_reason(exc)}); {advice}") from None


def _reason(exc: BaseException) -> str:
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return " ".join(text.split()) or type(exc).__name__


def remove_partial(folder, names) -> None:
    """Delete what a killed writer left of ``names`` in ``folder``: the temporary files of
    ``atomic_path`` that were never renamed (never a finished file)."""
    folder = Path(folder)
    for name in names:
        for tmp in folder.glob(f".{name}.*.part"):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
