"""Unit tests of genai_lib.scratch.layers: shapes, agreement with torch, softmax stability."""

import numpy as np
import pytest
import torch

from genai_lib.scratch.layers import dense, init_mlp, mlp_forward, softmax
from genai_lib.scratch.neuron import neuron, step, tanh


def test_init_mlp_shapes_and_scale():
    params = init_mlp([4, 500, 3], seed=0)
    assert [(W.shape, b.shape) for W, b in params] == [((4, 500), (500,)), ((500, 3), (3,))]
    assert np.all(params[0][1] == 0)
    np.testing.assert_allclose(params[1][0].std(), np.sqrt(2 / 500), rtol=0.1)
    xav = init_mlp([400, 300], seed=0, scale="xavier")
    np.testing.assert_allclose(xav[0][0].std(), np.sqrt(1 / 400), rtol=0.05)
    np.testing.assert_array_equal(init_mlp([2, 3], seed=5)[0][0], init_mlp([2, 3], seed=5)[0][0])
    assert not np.array_equal(init_mlp([2, 3], seed=5)[0][0], init_mlp([2, 3], seed=6)[0][0])


def test_init_mlp_rejects_bad_arguments():
    with pytest.raises(ValueError, match="sizes"):
        init_mlp([3])
    with pytest.raises(ValueError, match="scale"):
        init_mlp([3, 2], scale="glorious")


def test_dense_is_many_neurons_at_once():
    rng = np.random.default_rng(0)
    x, W, b = rng.normal(size=(6, 3)), rng.normal(size=(3, 4)), rng.normal(size=4)
    out = dense(x, W, b)
    assert out.shape == (6, 4)
    for j in range(4):  # column j is neuron j with an identity activation
        np.testing.assert_allclose(out[:, j], neuron(x, W[:, j], b[j], activation=lambda z: z))


def test_dense_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"W must have shape \(3, n_out\)"):
        dense(np.ones((2, 3)), np.ones((4, 5)), np.ones(5))
    with pytest.raises(ValueError, match=r"b must have shape \(5,\)"):
        dense(np.ones((2, 3)), np.ones((3, 5)), np.ones(3))


def test_mlp_forward_matches_torch():
    params = init_mlp([5, 8, 7, 3], seed=1)
    x = np.random.default_rng(2).normal(size=(10, 5))
    layers = []
    for W, b in params:
        lin = torch.nn.Linear(*W.shape).double()
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(W.T))
            lin.bias.copy_(torch.tensor(b + 0.1))
        layers += [lin, torch.nn.Tanh()]
    model = torch.nn.Sequential(*layers[:-1], torch.nn.Softmax(dim=1))
    params = [(W, b + 0.1) for W, b in params]
    ours = mlp_forward(params, x, activation=tanh, output=softmax)
    assert ours.shape == (10, 3)
    np.testing.assert_allclose(ours, model(torch.tensor(x)).detach().numpy(), rtol=1e-10)


def test_mlp_forward_solves_xor_with_hand_weights():
    params = [(np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([-0.5, -1.5])),
              (np.array([[1.0], [-1.0]]), np.array([-0.5]))]
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    np.testing.assert_array_equal(mlp_forward(params, x, activation=step, output=step)[:, 0],
                                  [0, 1, 1, 0])
    with pytest.raises(ValueError, match="params"):
        mlp_forward([], x)


def test_softmax_rows_sum_to_one_and_are_stable():
    z = np.array([[1.0, 2.0, 3.0], [1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 0.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        p = softmax(z)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(p[0], p[1])  # shift invariance
    np.testing.assert_allclose(p[0], torch.softmax(torch.tensor(z[0]), 0).numpy())
    np.testing.assert_allclose(p[2], [0.0, 0.5, 0.5])
    with pytest.raises(ValueError, match=r"z must have shape \(N, K\)"):
        softmax(np.ones(3))
