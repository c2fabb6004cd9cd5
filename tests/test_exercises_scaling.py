"""genai_lib.exercises.scaling: reference answers pass, typical mistakes fail with the right message."""

from pathlib import Path

import torch

from genai_lib import data
from genai_lib.exercises.scaling import (check_shard_plan, check_sharded_gradient,
                                         check_verified_load, shard_plan)
from genai_lib.train import batches


def test_shard_plan_matches_train_batches():
    x = torch.arange(100.0)
    plan = shard_plan(100, 32, 4)
    per_rank = [[len(b[0]) for b in batches((x,), 32, torch.Generator().manual_seed(0),
                                               rank=r, world=4)] for r in range(4)]
    for sizes in per_rank:
        assert len(sizes) == plan["steps_per_epoch"] == 3
        assert set(sizes) == {plan["per_rank_batch"]} == {8}
    assert plan["rows_dropped"] == 100 - 4 * sum(per_rank[0]) == 4


def test_shard_plan_checker():
    assert check_shard_plan({"per_rank_batch": 64, "steps_per_epoch": 195, "rows_dropped": 80})
    assert not check_shard_plan(None)
    assert "missing" in check_shard_plan({"per_rank_batch": 64}).message
    assert "global batch" in check_shard_plan(
        {"per_rank_batch": 256, "steps_per_epoch": 195, "rows_dropped": 80}).message
    assert "partial" in check_shard_plan(
        {"per_rank_batch": 64, "steps_per_epoch": 196, "rows_dropped": 80}).message
    assert "per-rank batch" in check_shard_plan(
        {"per_rank_batch": 64, "steps_per_epoch": 782, "rows_dropped": 80}).message
    assert "one process's share" in check_shard_plan(
        {"per_rank_batch": 64, "steps_per_epoch": 195, "rows_dropped": 20}).message


def _reference(x, y, w, world):
    grads = []
    for r in range(world):
        wr = w.clone().requires_grad_()
        ((x[r::world] @ wr - y[r::world]) ** 2).mean().backward()
        grads.append(wr.grad)
    return torch.stack(grads).mean(0)


def test_sharded_gradient_checker():
    assert check_sharded_gradient(_reference)
    assert not check_sharded_gradient(None)
    summed = lambda x, y, w, world: _reference(x, y, w, world) * world  # noqa: E731
    assert "times too large" in check_sharded_gradient(summed).message
    first_shard = lambda x, y, w, world: _reference(x[::world], y[::world], w, 1)  # noqa: E731
    assert not check_sharded_gradient(first_shard)
    fb = check_sharded_gradient(lambda x, y, w, world: _reference(x, y, w, 1))
    assert not fb and "never cuts `x` into shards" in fb.message   # full batch, no shards
    chunked = lambda x, y, w, world: torch.stack([  # noqa: E731
        _reference(a, b, w, 1) for a, b in zip(x.chunk(world), y.chunk(world))]).mean(0)
    assert check_sharded_gradient(chunked)   # contiguous shards are equally right
    copied = lambda x, y, w, world: _reference(x.detach().clone(), y, w, world)  # noqa: E731
    assert check_sharded_gradient(copied)
    broken = lambda x, y, w, world: 1 / 0  # noqa: E731
    assert "ZeroDivisionError" in check_sharded_gradient(broken).message


def test_verified_load_checker():
    ref = lambda path, sha: data.read_idx(  # noqa: E731
        data.cached_download("file:///" + Path(path).name, sha, Path(path).parent, download=False))
    assert check_verified_load(ref)
    assert not check_verified_load(None)
    unchecked = lambda path, sha: data.read_idx(path)  # noqa: E731
    assert "checksum" in check_verified_load(unchecked).message
    nothing = lambda path, sha: None  # noqa: E731
    assert "returned None" in check_verified_load(nothing).message
