"""Tables for generative models: mixed numeric and categorical columns to a float matrix
("model space") and back, plus the plain oversampling baseline for imbalanced classes.

Numeric columns are z-scored (optionally after log1p, for skewed counts and money);
categorical columns become one-hot blocks. Decoding undoes both: numbers are
un-scaled (and clipped to the range seen in training, rounded if they were integers),
each one-hot block becomes the category with the largest score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from genai_lib.checks import count


@dataclass
class TabularEncoder:
    """Fit on a DataFrame, then `encode` (N rows -> (N, D) float32) and `decode` ((N, D) -> DataFrame)."""

    numeric: Sequence[str] = ()
    categorical: Sequence[str] = ()
    log: Sequence[str] = ()          # numeric columns transformed with log1p before scaling
    clip: bool = True                # decoded numbers clipped to the training range
    mean_: dict = field(default_factory=dict, init=False)
    std_: dict = field(default_factory=dict, init=False)
    range_: dict = field(default_factory=dict, init=False)
    integer_: dict = field(default_factory=dict, init=False)
    levels_: dict = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.numeric, self.categorical, self.log = list(self.numeric), list(self.categorical), list(self.log)
        if not self.numeric and not self.categorical:
            raise ValueError("give at least one numeric or categorical column name")
        both = set(self.numeric) & set(self.categorical)
        if both:
            raise ValueError(f"columns {sorted(both)} are listed as numeric and as categorical")
        extra = set(self.log) - set(self.numeric)
        if extra:
            raise ValueError(f"log columns {sorted(extra)} must also be numeric columns")

    @property
    def columns(self) -> list[str]:
        """The original column names, numeric first, then categorical."""
        return self.numeric + self.categorical

    @property
    def dim(self) -> int:
        """Width D of the encoded matrix."""
        self._check_fitted()
        return len(self.numeric) + sum(len(v) for v in self.levels_.values())

    def blocks(self) -> dict[str, slice]:
        """Where each original column lives in the encoded matrix: name -> slice of columns."""
        self._check_fitted()
        out, i = {}, 0
        for name in self.numeric:
            out[name], i = slice(i, i + 1), i + 1
        for name in self.categorical:
            k = len(self.levels_[name])
            out[name], i = slice(i, i + k), i + k
        return out

    def feature_names(self) -> list[str]:
        """Names of the D encoded columns, e.g. 'age' and 'health=good'."""
        self._check_fitted()
        return self.numeric + [f"{c}={v}" for c in self.categorical for v in self.levels_[c]]

    def _check_fitted(self) -> None:
        if not self.levels_ and not self.mean_:
            raise RuntimeError("this TabularEncoder is not fitted yet: call .fit(df) first")

    def _check_frame(self, df: pd.DataFrame) -> None:
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
        missing = [c for c in self.columns if c not in df.columns]
        if missing:
            raise ValueError(f"df is missing columns {missing}; it has {list(df.columns)}")

    def _forward(self, name: str, values: np.ndarray) -> np.ndarray:
        v = values.astype(np.float64)
        return np.log1p(v) if name in self.log else v

    def fit(self, df: pd.DataFrame) -> "TabularEncoder":
        """Learn scales, ranges and category levels from the rows of `df`; returns self."""
        self._check_frame(df)
        for name in self.numeric:
            raw = df[name].to_numpy()
            if not np.issubdtype(raw.dtype, np.number):
                raise ValueError(f"numeric column {name!r} has dtype {raw.dtype}; list it as categorical")
            if len(raw) == 0 or not np.isfinite(raw.astype(np.float64)).all():
                raise ValueError(f"numeric column {name!r} must be non-empty with finite values, "
                                 f"got {len(raw)} rows, {int(np.sum(~np.isfinite(raw.astype(np.float64))))} "
                                 f"NaN/inf (drop or impute them first)")
            if name in self.log and (raw < 0).any():
                raise ValueError(f"log column {name!r} has negative values; log1p needs values >= 0")
            v = self._forward(name, raw)
            self.mean_[name], self.std_[name] = float(v.mean()), float(v.std() or 1.0)
            self.range_[name] = (float(raw.min()), float(raw.max()))
            self.integer_[name] = bool(np.all(np.equal(np.mod(raw, 1), 0)))
        for name in self.categorical:
            self.levels_[name] = sorted(pd.unique(df[name]).tolist(), key=str)
        return self

    def encode(self, df: pd.DataFrame) -> np.ndarray:
        """Rows to model space: DataFrame (N rows) -> (N, D) float32."""
        self._check_fitted()
        self._check_frame(df)
        parts = [((self._forward(n, df[n].to_numpy()) - self.mean_[n]) / self.std_[n])[:, None]
                 for n in self.numeric]
        for name in self.categorical:
            levels = self.levels_[name]
            unknown = set(pd.unique(df[name]).tolist()) - set(levels)
            if unknown:
                raise ValueError(f"column {name!r} has categories {sorted(unknown, key=str)} "
                                 f"not seen in fit (known: {levels})")
            parts.append((df[name].to_numpy()[:, None] == np.array(levels, dtype=object)[None, :]))
        return np.concatenate([p.astype(np.float32) for p in parts], axis=1)

    def decode(self, x: np.ndarray) -> pd.DataFrame:
        """Model space back to rows: (N, D) -> DataFrame with the original columns."""
        self._check_fitted()
        x = np.asarray(x.detach().cpu() if hasattr(x, "detach") else x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x must have shape (N, {self.dim}), got {x.shape}")
        out, b = {}, self.blocks()
        for name in self.numeric:
            v = x[:, b[name]][:, 0] * self.std_[name] + self.mean_[name]
            if name in self.log:
                v = np.expm1(v)
            if self.clip:
                v = np.clip(v, *self.range_[name])
            out[name] = np.round(v) if self.integer_[name] else v
        for name in self.categorical:
            levels = np.array(self.levels_[name], dtype=object)
            out[name] = levels[x[:, b[name]].argmax(axis=1)]
        return pd.DataFrame(out, columns=self.columns)


def random_oversample(x: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Plain oversampling: n rows drawn with replacement from x. (N, D) -> (n, D)."""
    x = np.asarray(x)
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"x must have shape (N, D) with N >= 1, got {x.shape}")
    idx = np.random.default_rng(seed).integers(0, len(x), size=count("n", n))
    return x[idx]
