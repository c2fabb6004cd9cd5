import numpy as np

from genai_lib import metrics
from genai_lib.exercises import applications_tabular as ex


def test_newsvendor():
    s, over, under = ex.newsvendor_exercise()
    assert ex.check_newsvendor_order(np.quantile(s, under / (under + over)))
    fb = ex.check_newsvendor_order(s.mean())
    assert not fb and "point forecast" in fb.message
    assert "upside down" in ex.check_newsvendor_order(np.quantile(s, 0.25)).message
    assert not ex.check_newsvendor_order(None)


def test_interval():
    ok = lambda s, lv: tuple(np.quantile(s, [(1 - lv) / 2, (1 + lv) / 2], axis=1))  # noqa: E731
    assert ex.check_interval(ok)
    bad = lambda s, lv: tuple(np.quantile(s, [1 - lv, lv], axis=1))  # noqa: E731
    assert "each tail" in ex.check_interval(bad).message
    assert not ex.check_interval(None)


def test_balanced_accuracy():
    ok = lambda y, p: np.mean([np.mean(p[y == k] == k) for k in np.unique(y)])  # noqa: E731
    assert ex.check_balanced_accuracy(ok)
    assert "plain accuracy" in ex.check_balanced_accuracy(lambda y, p: np.mean(y == p)).message


def test_dcr():
    assert ex.check_dcr(metrics.distance_to_closest_record)
    sq = lambda q, r: ((q[:, None] - r[None]) ** 2).sum(-1).min(1)  # noqa: E731
    assert "squared" in ex.check_dcr(sq).message
    axis0 = lambda q, r: np.sqrt(((q[:, None] - r[None]) ** 2).sum(-1)).min(0)  # noqa: E731
    assert "axis=1" in ex.check_dcr(axis0).message
