"""Unit tests of genai_lib.neighbours: the one distance to the closest record and near-copy
share behind the tables' privacy check (`synthetic`) and the images' copy rate (`quality`)."""

import numpy as np
import pytest
import torch

from genai_lib import neighbours, quality, synthetic


def test_distance_to_closest_record_in_chunks():
    rng = np.random.default_rng(0)
    q, r = rng.normal(size=(50, 3)), rng.normal(size=(40, 3))
    brute = np.sqrt(((q[:, None] - r[None]) ** 2).sum(-1)).min(1)
    for chunk in (1, 7, 2048):
        assert np.allclose(neighbours.distance_to_closest_record(q, r, chunk=chunk), brute)
    assert np.allclose(neighbours.distance_to_closest_record(torch.as_tensor(q), r), brute)
    with pytest.raises(ValueError, match="query and reference must have the same number"):
        neighbours.distance_to_closest_record(np.zeros((2, 3)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="NaN"):
        neighbours.distance_to_closest_record([[np.nan, 0.0]], [[0.0, 0.0]])


def test_near_copy_share_and_its_errors():
    holdout = np.linspace(1, 2, 101)                     # 5th percentile: 1.05
    assert neighbours.near_copy_share([0.0, 1.04, 1.06, 3.0], holdout) == 0.5
    assert neighbours.near_copy_share([1.5], holdout, q=0.6) == 1.0
    with pytest.raises(ValueError, match="q must be between 0 and 1, got 1"):
        neighbours.near_copy_share([1.0], [1.0], q=1)
    with pytest.raises(ValueError, match="quantile must be between 0 and 1, got 0"):
        neighbours.near_copy_share([1.0], [1.0], q=0, name="quantile")
    with pytest.raises(ValueError, match="non-empty"):
        neighbours.near_copy_share([], [1.0])


def test_one_implementation_for_tables_and_images():
    assert synthetic.distance_to_closest_record is neighbours.distance_to_closest_record
    assert synthetic.near_copy_share is neighbours.near_copy_share
    g = torch.Generator().manual_seed(0)
    train, test = torch.rand(100, 4, generator=g), torch.rand(60, 4, generator=g)
    samples = torch.cat([train[:20] + 1e-3, torch.rand(40, 4, generator=g)])
    dcr = neighbours.distance_to_closest_record
    expected = neighbours.near_copy_share(dcr(samples, train), dcr(test, train), quality.QUANTILE)
    assert quality.copy_rate(samples, train, test) == expected
    judged = synthetic.judge(samples.numpy(), train.numpy(), test.numpy())
    assert judged["near-copies %"] == pytest.approx(100 * expected)
