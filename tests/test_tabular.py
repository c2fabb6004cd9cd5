import numpy as np
import pandas as pd
import pytest

from genai_lib.tabular import TabularEncoder, random_oversample


def frame():
    return pd.DataFrame({"age": [30, 40, 50, 60], "spend": [0.0, 10.0, 100.0, 1000.0],
                         "plan": ["a", "b", "a", "c"]})


def test_encode_shapes_and_names():
    enc = TabularEncoder(numeric=["age", "spend"], categorical=["plan"], log=["spend"]).fit(frame())
    x = enc.encode(frame())
    assert x.shape == (4, 5) and x.dtype == np.float32 and enc.dim == 5
    assert enc.feature_names() == ["age", "spend", "plan=a", "plan=b", "plan=c"]
    assert np.allclose(x[:, 0].mean(), 0, atol=1e-6) and np.allclose(x[:, 0].std(), 1, atol=1e-5)
    assert x[:, 2:].sum(1).tolist() == [1, 1, 1, 1]
    assert enc.blocks()["plan"] == slice(2, 5)


def test_roundtrip_and_argmax_decoding():
    enc = TabularEncoder(numeric=["age", "spend"], categorical=["plan"], log=["spend"]).fit(frame())
    back = enc.decode(enc.encode(frame()))
    assert back["age"].tolist() == [30, 40, 50, 60]          # integers stay integers
    assert np.allclose(back["spend"], frame()["spend"], rtol=1e-4, atol=1e-3)
    assert back["plan"].tolist() == ["a", "b", "a", "c"]
    noisy = enc.encode(frame()).copy()
    noisy[:, 0] = 100.0                                      # far outside: clipped to the range
    noisy[:, 2:] = [[0.1, 0.7, 0.2]] * 4                     # argmax picks 'b'
    out = enc.decode(noisy)
    assert out["age"].max() == 60 and set(out["plan"]) == {"b"}


def test_errors():
    with pytest.raises(ValueError, match="missing columns"):
        TabularEncoder(numeric=["age", "x"]).fit(frame())
    with pytest.raises(RuntimeError, match="not fitted"):
        TabularEncoder(numeric=["age"]).encode(frame())
    enc = TabularEncoder(categorical=["plan"]).fit(frame())
    with pytest.raises(ValueError, match="not seen in fit"):
        enc.encode(pd.DataFrame({"plan": ["z"]}))
    with pytest.raises(ValueError, match=r"shape \(N, 3\)"):
        enc.decode(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="numeric and as categorical"):
        TabularEncoder(numeric=["a"], categorical=["a"])
    with pytest.raises(ValueError, match="dtype"):
        TabularEncoder(numeric=["plan"]).fit(frame())


def test_random_oversample():
    x = np.arange(10).reshape(5, 2)
    out = random_oversample(x, 12, seed=1)
    assert out.shape == (12, 2)
    assert all(any((row == r).all() for r in x) for row in out)   # only copies of real rows
    assert (random_oversample(x, 12, seed=1) == out).all()
    with pytest.raises(ValueError, match="n must be"):
        random_oversample(x, -1)
