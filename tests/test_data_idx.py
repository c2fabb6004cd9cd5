"""IDX files, MNIST's format: data.write_idx and data.read_idx round trip, and data.mnist loads
a miniature MNIST written with them, offline and checked by SHA-256."""

import hashlib

import numpy as np
import pytest

from genai_lib import data


def test_write_idx_round_trips_through_read_idx(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    sha = data.write_idx(tmp_path / "x.gz", images)
    assert sha == hashlib.sha256((tmp_path / "x.gz").read_bytes()).hexdigest()
    assert sha == data.write_idx(tmp_path / "y.gz", images)  # deterministic bytes, any name
    np.testing.assert_array_equal(data.read_idx(tmp_path / "x.gz"), images)
    labels = np.array([3, 1, 4], dtype=np.uint8)
    data.write_idx(tmp_path / "l.gz", labels)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "l.gz"), labels)


def test_mnist_loads_a_miniature_written_offline(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {"train-images-idx3-ubyte.gz": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
              "train-labels-idx1-ubyte.gz": np.array([0, 1, 2, 3], dtype=np.uint8),
              "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
              "t10k-labels-idx1-ubyte.gz": np.array([9, 8], dtype=np.uint8)}
    files = {name: data.write_idx(tmp_path / name, a) for name, a in arrays.items()}
    split = data.mnist(folder=tmp_path, download=False, files=files)
    assert split.x_train.shape == (4, 1, 28, 28) and split.y_test.tolist() == [9, 8]
    assert split.x_train.max() <= 1.0
    files["t10k-labels-idx1-ubyte.gz"] = "0" * 64
    with pytest.raises(ValueError, match="SHA-256"):
        data.mnist(folder=tmp_path, download=False, files=files)


def test_write_idx_refuses_what_bytes_cannot_hold(tmp_path):
    with pytest.raises(ValueError, match=r"integers 0..255 .* got dtype float64"):
        data.write_idx(tmp_path / "x.gz", np.full((2, 2), 0.5))
    with pytest.raises(ValueError, match="integers 0..255"):
        data.write_idx(tmp_path / "x.gz", np.array([1, 256]))
    assert not (tmp_path / "x.gz").exists()
