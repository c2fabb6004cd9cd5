"""Unit tests of genai_lib.models: shapes, options, errors, initialisation, parameter counts."""

import math

import pytest
import torch
from torch import nn

from genai_lib.models import (CNN, MLP, Block, activation_layer, count_parameters,
                              init_weights)


def test_mlp_shapes_and_flattening():
    m = MLP([64, 32, 16, 10])
    assert m(torch.randn(5, 64)).shape == (5, 10)
    assert m(torch.randn(5, 1, 8, 8)).shape == (5, 10)  # images are flattened
    acts = m.activations(torch.randn(5, 64))
    assert [a.shape for a in acts] == [(5, 32), (5, 16)]
    assert len(m.hidden) == 2 and isinstance(m.out, nn.Linear)


def test_mlp_no_hidden_layer_is_linear():
    m = MLP([3, 2])
    x = torch.randn(4, 3)
    assert torch.allclose(m(x), m.out(x))
    assert m.activations(x) == []


def test_mlp_parameter_count_matches_formula():
    sizes = [64, 32, 16, 10]
    expected = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    assert count_parameters(MLP(sizes)) == expected
    # layer norm adds a scale and a shift per hidden unit
    assert count_parameters(MLP(sizes, norm="layer")) == expected + 2 * (32 + 16)


@pytest.mark.parametrize("name,fn", [("relu", torch.relu), ("sigmoid", torch.sigmoid),
                                     ("tanh", torch.tanh)])
def test_activation_is_applied(name, fn):
    m = MLP([4, 6, 2], activation=name)
    x = torch.randn(3, 4)
    assert torch.allclose(m.activations(x)[0], fn(m.hidden[0].linear(x)))


def test_activation_factory_and_output_activation():
    m = MLP([4, 6, 2], activation=lambda: nn.LeakyReLU(0.1), out_activation="tanh")
    assert isinstance(m.hidden[0].act, nn.LeakyReLU) and m.hidden[0].act.negative_slope == 0.1
    out = m(torch.randn(100, 4) * 10)
    assert out.abs().max() <= 1.0
    assert isinstance(activation_layer(None), nn.Identity)


def test_residual_adds_input_only_when_sizes_match():
    m = MLP([8, 8, 8, 3], residual=True)
    assert m.hidden[0].residual and m.hidden[1].residual
    x = torch.randn(4, 8)
    block = m.hidden[0]
    assert torch.allclose(block(x), x + torch.relu(block.linear(x)))
    m2 = MLP([8, 5, 5, 3], residual=True)
    assert not m2.hidden[0].residual and m2.hidden[1].residual


def test_norms_and_dropout():
    m = MLP([8, 16, 2], norm="batch", dropout=0.5)
    assert isinstance(m.hidden[0].norm, nn.BatchNorm1d)
    assert isinstance(m.hidden[0].drop, nn.Dropout)
    assert isinstance(MLP([8, 16, 2], norm="layer").hidden[0].norm, nn.LayerNorm)
    m.eval()
    x = torch.randn(4, 8)
    assert torch.equal(m(x), m(x))  # eval mode: no dropout noise
    m.train()
    torch.manual_seed(0)
    assert not torch.equal(m(x), m(x))


@pytest.mark.parametrize("kwargs,match", [
    (dict(sizes=[64]), "sizes"), (dict(sizes=[64, 0, 10]), "sizes"),
    (dict(sizes=[64, 10], activation="swish"), "activation"),
    (dict(sizes=[64, 10], norm="group"), "norm"),
    (dict(sizes=[64, 10], dropout=1.0), "dropout"),
])
def test_mlp_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MLP(**kwargs)


def test_mlp_bad_input_shape_and_bad_factory():
    with pytest.raises(ValueError, match=r"\(B, 64\), got \(2, 32\)"):
        MLP([64, 10])(torch.randn(2, 32))
    with pytest.raises(TypeError, match="nn.Module"):
        activation_layer(lambda: 3)
    with pytest.raises(TypeError, match="activation"):
        activation_layer(3)


def test_cnn_shapes_and_features():
    c = CNN(channels=(4, 8), hidden=16)
    x = torch.rand(6, 1, 8, 8)
    assert c(x).shape == (6, 10)
    assert c(x.flatten(1)).shape == (6, 10)  # flat pixels accepted
    maps = c.features(x)
    assert [m.shape for m in maps] == [(6, 4, 4, 4), (6, 8, 2, 2)]
    assert (maps[0] >= 0).all()  # after ReLU
    assert CNN(channels=(4,), hidden=0, classes=3)(x).shape == (6, 3)
    assert c.config.channels == (4, 8)


def test_cnn_parameter_count_and_errors():
    c = CNN(channels=(16, 32), hidden=64)
    expected = (1 * 9 * 16 + 16) + (16 * 9 * 32 + 32) + (128 * 64 + 64) + (64 * 10 + 10)
    assert count_parameters(c) == expected
    with pytest.raises(ValueError, match="pooling"):
        CNN(channels=(4, 4, 4, 4))
    with pytest.raises(ValueError, match="channels"):
        CNN(channels=())
    with pytest.raises(ValueError, match=r"\(B, 1, 8, 8\)"):
        c(torch.rand(2, 3, 8, 8))


def test_device_follows_the_model():
    m = MLP([4, 3]).to("cpu")
    assert m(torch.randn(2, 4)).device.type == "cpu"


@pytest.mark.parametrize("scheme,gain", [("xavier", None), ("he", 2.0)])
def test_init_weights_variance(scheme, gain):
    torch.manual_seed(0)
    m = init_weights(MLP([400, 300, 10]), scheme)
    w = m.hidden[0].linear.weight.detach()
    expected = 2.0 / (400 + 300) if scheme == "xavier" else gain / 400
    assert math.isclose(float(w.var()), expected, rel_tol=0.05)
    assert float(m.hidden[0].linear.bias.detach().abs().max()) == 0.0


def test_init_weights_default_and_error():
    m = MLP([10, 5, 2])
    with torch.no_grad():
        m.out.weight.fill_(7.0)
    init_weights(m, "default")
    assert float(m.out.weight.detach().abs().max()) <= 1 / math.sqrt(5) + 1e-6
    with pytest.raises(ValueError, match="scheme"):
        init_weights(m, "orthogonal")


def test_block_alone_and_count_frozen():
    b = Block(3, 3, "tanh", residual=True)
    x = torch.randn(2, 3)
    assert torch.allclose(b(x), x + torch.tanh(b.linear(x)))
    m = MLP([3, 2])
    m.out.bias.requires_grad_(False)
    assert count_parameters(m) == 6 and count_parameters(m, trainable_only=False) == 8


def test_layer_grad_norms_vanish_in_a_deep_sigmoid_net():
    from genai_lib.models import layer_grad_norms

    torch.manual_seed(0)
    x, y = torch.randn(64, 16), torch.randint(0, 4, (64,))
    deep = MLP([16] + [32] * 10 + [4], activation="sigmoid")
    norms = layer_grad_norms(deep, x, y)
    assert len(norms) == 11 and all(n >= 0 for n in norms)
    assert norms[0] < 1e-3 * norms[-1]  # vanishing: the first layer hardly learns
    assert all(p.grad is None for p in deep.parameters())  # nothing left behind
    res = MLP([16] + [32] * 10 + [4], activation="sigmoid", residual=True)
    r = layer_grad_norms(res, x, y)
    assert r[0] > 1e-3 * r[-1] and r[0] > 1e4 * norms[0]  # skips carry the gradient back
    with pytest.raises(ValueError, match="no Linear"):
        layer_grad_norms(nn.ReLU(), x, y)


def test_mlp_builder_layers_and_keys():
    from genai_lib.models import mlp

    net = mlp([4, 8, 6, 2], activation="tanh", dropout=0.1, out_activation="sigmoid")
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["Linear", "Tanh", "Dropout", "Linear", "Tanh", "Dropout", "Linear", "Sigmoid"]
    assert net(torch.zeros(3, 4)).shape == (3, 2)
    # the keys the GAN, VAE and judge checkpoints were saved with
    assert list(mlp([3, 5, 5, 2]).state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias",
                                                    "4.weight", "4.bias"]
    torch.manual_seed(0)
    a = mlp([3, 5, 2], nn.SiLU)
    torch.manual_seed(0)
    b = nn.Sequential(nn.Linear(3, 5), nn.SiLU(), nn.Linear(5, 2))
    assert all(torch.equal(a.state_dict()[k], v) for k, v in b.state_dict().items())
    with pytest.raises(ValueError, match="sizes must list at least 2 positive integers"):
        mlp([4])
    with pytest.raises(ValueError, match="dropout"):
        mlp([4, 2], dropout=1.0)
    with pytest.raises(ValueError, match="activation must be one of"):
        mlp([4, 4, 2], activation="swish")
