"""What a command needs from the machine, checked before it is used: memory and folders.

Each check raises ``ValueError`` with one line that names what was asked, what is there and
what to do, so the command line turns it into exit status 2 before anything is allocated or
written.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

GIB = 2 ** 30


def available_memory() -> int:
    """Bytes this process can still allocate: the kernel's MemAvailable, capped by a cgroup
    (container) limit when one is set."""
    free = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    free = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    if free is None:
        try:
            free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return 2 ** 62                          # unknown: do not refuse
    for limit, used in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                        ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                         "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            cap = Path(limit).read_text().strip()
            if cap.isdigit():
                free = min(free, int(cap) - int(Path(used).read_text().strip()))
                break
        except (OSError, ValueError):
            continue
    return free


def require_memory(needed: int, what: str, hint: str) -> None:
    """Refuse (ValueError) when ``needed`` bytes exceed what the machine has available."""
    have = available_memory()
    if needed > have:
        raise ValueError(f"{what} needs about {needed / GIB:.1f} GiB of memory; this machine has "
                         f"{have / GIB:.1f} GiB available; {hint}")


def writable_folder(path, flag: str) -> Path:
    """``path`` as a folder varprop can create and write files in, checked without creating
    anything: it is a folder, or its nearest existing parent is a writable folder."""
    p = Path(path)
    if str(path).strip() == "":
        raise ValueError(f"{flag}: the path is empty; give a folder")
    p = p.expanduser()
    probe = p
    while not probe.exists():
        if probe.parent == probe:
            break
        if probe.is_symlink():                          # a dangling link cannot be created
            raise ValueError(f"{flag} {path}: {probe} is a broken symbolic link")
        probe = probe.parent
    if not probe.is_dir():
        what = "a file" if probe.is_file() else "not a folder"
        raise ValueError(f"{flag} {path}: {probe} is {what}; give a folder")
    try:
        fd, tmp = tempfile.mkstemp(dir=probe, prefix=".varprop-probe-")
    except OSError as exc:
        raise ValueError(f"{flag} {path}: cannot write in {probe} ({exc.strerror}); give a "
                         "folder you can write to") from None
    os.close(fd)
    os.unlink(tmp)
    return p


def writable_file(path, flag: str) -> Path:
    """``path`` as a file varprop can write (replacing it if there): not a folder, in a folder
    ``writable_folder`` accepts."""
    p = Path(path).expanduser()
    if str(path).strip() == "" or p.name in ("", ".", ".."):
        raise ValueError(f"{flag} {path!r}: not a file name; give a file")
    if p.is_dir():
        raise ValueError(f"{flag} {path}: is a folder; give a file")
    writable_folder(p.parent, flag)
    return p

