"""Unit tests of genai_lib.recipes: every recipe builds, trains (tiny), samples and reproduces."""

import dataclasses

import pytest
import torch

from genai_lib import autoregressive, convnets, data, diffusion, gan, quality, recipes, train
from genai_lib import flow_matching, flows, latent, unet, vae

ROWS = 200  # training rows per recipe: enough for every step and the code-prior mixture


def small(split, rows=ROWS):
    return data.Split(split.x_train[:rows], split.y_train[:rows], split.x_test[:50], split.y_test[:50])


@pytest.fixture(scope="module")
def splits():
    return {"digits": small(data.digits()), "mnist": small(data.mnist_subset()),
            "digits-binary": small(recipes.load_data("digits-binary")),
            "chorales": small(recipes.chorale_split(10)),
            "words": small(recipes.load_data("words")),
            "prose": small(recipes.load_data("prose"))}


_trained = {}


@pytest.fixture(params=list(recipes.RECIPES))
def trained(request, splits):
    """Each recipe trained once (quick profile, ROWS rows), shared by the tests of this file."""
    name = request.param
    if name not in _trained:
        r = recipes.RECIPES[name]
        _trained[name] = recipes.train_recipe(name, profile="quick", seed=0, split=splits[r.dataset])
    return _trained[name]


def test_the_recipes_are_consistent():
    assert {"digits-gan", "digits-cgan", "digits-vae", "digits-cvae", "mnist-gan", "mnist-dcgan",
            "mnist-vae", "digits-diffusion", "digits-diffusion-cond",
            "mnist-diffusion"} <= set(recipes.RECIPES)
    for name, r in recipes.RECIPES.items():
        s, net = r.settings, getattr(r.settings, "network", "mlp")
        assert r.name == name and recipes.recipe(name) is r
        assert r.dataset in recipes.DATASETS
        assert r.family in ("gan", "vae", "diffusion", "autoregressive", "flow",
                            "flow-matching", "latent")
        assert (r.family == "autoregressive") == (
            r.dataset in ("digits-binary", "chorales", "words", "prose"))
        assert net in ("mlp", "conv", "unet") and (net == "mlp" or r.dataset == "mnist")
        assert (net == "unet") <= (r.family == "diffusion")
        assert not (r.conditional and net == "conv")
        assert 0 < r.epochs[0] <= r.epochs[1] and r.about
        averaged = ("gan", "diffusion", "flow-matching", "latent")
        assert (r.family in averaged) == (getattr(s, "ema_decay", None) is not None)
        assert not (r.conditional and r.family == "autoregressive")
        if r.family == "diffusion":
            assert s.sample_steps is None or 1 <= s.sample_steps <= s.timesteps
        if r.family == "latent":  # a generator of the codes of a VAE recipe on the same data
            auto = recipes.recipe(s.autoencoder)
            assert auto.family == "vae" and auto.dataset == r.dataset
            assert s.inner.data_range is None  # codes are unbounded: not mapped to [-1, 1]
            assert r.quick_rows == auto.quick_rows
    with pytest.raises(dataclasses.FrozenInstanceError):
        recipes.RECIPES["digits-gan"].settings.lr = 1.0
    # every sampler setting a family names is a field of its settings
    for kind, family in recipes.FAMILIES.items():
        fields = {f.name for f in dataclasses.fields(kind)}
        assert {recipes._SAMPLE_SETTING.get(k, k) for k in family.sample_settings} <= fields


def test_unknown_recipe_lists_the_known_ones():
    with pytest.raises(KeyError, match="unknown recipe 'digits-glow'") as info:
        recipes.recipe("digits-glow")
    assert all(name in str(info.value) for name in recipes.RECIPES)
    with pytest.raises(KeyError, match="the recipes are"):
        recipes.train_recipe("nope", profile="quick")
    with pytest.raises(ValueError, match="profile must be one of"):
        recipes.train_recipe("digits-gan", profile="medium")


def test_load_data():
    w, p = recipes.load_data("words"), recipes.load_data("prose")
    assert w.x_train.shape[1:] == (32,) and w.x_train.dtype == torch.int64
    assert p.x_train.shape[1:] == (64,) and int(p.x_train.max()) < 96
    assert len(w.x_train) > 7 * len(w.x_test) and len(p.x_train) > 4 * len(p.x_test)
    d = recipes.load_data("digits")
    assert d.x_train.shape[1:] == (64,) and len(d.x_train) + len(d.x_test) == 1797
    m = recipes.load_data("mnist")
    assert m.x_train.shape == (4000, 784) and m.x_test.shape == (1000, 784)
    with pytest.raises(ValueError, match="dataset must be one of 'digits', 'mnist', .* got 'cifar'"):
        recipes.load_data("cifar")


@pytest.mark.parametrize("name", list(recipes.RECIPES))
def test_build(name):
    r = recipes.RECIPES[name]
    model, opts = recipes.build(r)
    s = r.settings
    if r.family == "gan":
        assert isinstance(model, gan.GAN) and sorted(opts) == ["discriminator", "generator"]
        assert model.ema is not None  # every GAN recipe averages its generator
        conv = isinstance(model.generator, convnets.ConvGenerator)
        assert conv == (s.network == "conv")
        assert model.generator.latent_dim == s.latent_dim
        assert model.generator.n_classes == (10 if r.conditional else 0)
        for name in opts:  # each optimiser updates the network it is named after
            assert {id(p) for p in opts[name].param_groups[0]["params"]} == {
                id(p) for p in getattr(model, name).parameters()}
    elif r.family == "autoregressive":
        assert isinstance(model, autoregressive.Transformer) and list(opts) == ["model"]
        vocab = {"digits-binary": 2, "chorales": 29, "words": 28, "prose": 96}[r.dataset]
        assert len(model.blocks) == s.layers and model.vocab == vocab
    elif r.family == "diffusion":
        assert isinstance(model, diffusion.Diffusion) and list(opts) == ["denoiser"]
        net = unet.UNet if s.network == "unet" else diffusion.Denoiser
        assert isinstance(model.denoiser, net) and model.ema is not None
        assert model.denoiser.n_classes == (10 if r.conditional else 0)
        assert model.timesteps == s.timesteps and model.data_range == (0.0, 1.0)
        # the optimiser updates the denoiser only, not the average of its weights
        assert {id(p) for p in opts["denoiser"].param_groups[0]["params"]} == {
            id(p) for p in model.denoiser.parameters()}
    elif r.family == "flow":
        assert isinstance(model, flows.Flow) and list(opts) == ["model"]
        assert model.levels == s.levels and isinstance(model.layers[0], flows.Logit)
        assert sum(isinstance(m, flows.AffineCoupling) for m in model.layers) == s.couplings
    elif r.family == "flow-matching":
        assert isinstance(model, flow_matching.FlowMatching) and list(opts) == ["velocity"]
        assert model.data_range == (0.0, 1.0) and model.ema is not None
        assert {id(p) for p in opts["velocity"].param_groups[0]["params"]} == {
            id(p) for p in model.velocity.parameters()}
    elif r.family == "latent":
        assert isinstance(model, latent.Latent) and isinstance(model.autoencoder, vae.VAE)
        inner = model.inner.velocity if hasattr(model.inner, "velocity") else model.inner.denoiser
        (name,) = opts  # the optimiser updates the inner generator only, not the autoencoder
        assert {id(p) for p in opts[name].param_groups[0]["params"]} == {
            id(p) for p in inner.parameters()}
        assert not any(p.requires_grad for p in model.autoencoder.parameters())
        assert inner.data_dim == model.autoencoder.config.latent_dim
    else:
        assert isinstance(model, vae.VAE) and list(opts) == ["model"]
        assert model.config.network == s.network and model.config.latent_dim == s.latent_dim
        assert model.config.cond_dim == (10 if r.conditional else 0)
    for opt in opts.values():
        assert opt.param_groups[0]["lr"] == s.lr and opt.param_groups[0]["betas"] == s.betas
        assert opt.param_groups[0]["weight_decay"] == s.weight_decay


@pytest.mark.parametrize("profile", ["quick", "full"])
def test_profile_picks_epochs_and_rows(profile, monkeypatch):
    """quick: the first epoch count and quick_rows rows; full: the second and every row."""
    seen = {}

    def spy(model, batches, step, epochs, **kw):
        seen["rows"] = len(batches[0] if isinstance(batches, tuple) else batches)
        seen["epochs"] = epochs
        return {}

    monkeypatch.setattr(train, "fit", spy)
    m = data.mnist_subset()
    split = data.Split(m.x_train[:1200], m.y_train[:1200], m.x_test[:10], m.y_test[:10])
    r = recipes.RECIPES["mnist-gan"]
    recipes.train_recipe("mnist-gan", profile=profile, split=split, reuse=False)
    assert seen == {"rows": r.quick_rows if profile == "quick" else 1200,
                    "epochs": r.epochs[profile == "full"]}


def test_trains_and_samples(trained):
    r = trained.recipe
    dim = {"digits": 64, "digits-binary": 64, "chorales": 32, "words": 32,
           "prose": 64}.get(r.dataset, 784)
    x = trained.sample(30, seed=0)
    assert x.shape == (30, dim) and x.device.type == "cpu"
    if r.dataset == "chorales":  # melodies: MIDI pitches in the sopranos' range, or rests
        assert x.dtype == torch.int64 and set(x.unique().tolist()) <= {-1} | set(range(57, 85))
    elif r.dataset in ("words", "prose"):  # tokens, and the text they spell
        vocab = recipes.DATASETS[r.dataset].vocab
        assert x.dtype == torch.int64 and 0 <= x.min() and x.max() < vocab
        strings = recipes.DATASETS[r.dataset].text(x)
        assert len(strings) == 30 and all(isinstance(t, str) for t in strings)
    else:
        assert x.dtype == torch.float32 and x.min() >= 0 and x.max() <= 1 and x.std() > 0
    if r.dataset == "digits-binary":
        assert set(x.unique().tolist()) <= {0.0, 1.0}
    assert trained.seconds > 0
    epochs = r.epochs[0]
    assert all(len(v) == epochs for v in trained.history.values()) and trained.history
    assert all(torch.isfinite(torch.tensor(v)).all() for v in trained.history.values())
    # Which network draws: the GAN's and the denoiser's averages; the VAE's fitted prior.
    if r.family in ("gan", "diffusion", "flow-matching"):
        assert trained.model.net is trained.model.ema.module
    if r.family == "vae":
        s = r.settings
        assert (trained.model.prior is not None) == bool(s.code_prior)
        if s.code_prior:
            assert trained.model.prior.n_components == s.code_prior
            assert trained.model.prior.means_.shape == (s.code_prior, s.latent_dim)


def test_same_seed_same_samples(trained):
    a = trained.sample(20, seed=5)
    assert torch.equal(a, trained.sample(20, seed=5))
    assert not torch.equal(a, trained.sample(20, seed=6))
    # Sampling leaves the global random stream alone.
    torch.manual_seed(0)
    before = torch.rand(3)
    torch.manual_seed(0)
    trained.sample(4, seed=1)
    assert torch.equal(torch.rand(3), before)


def test_labels(trained):
    r = trained.recipe
    if not r.conditional:
        with pytest.raises(ValueError, match="unconditional: labels must be None"):
            trained.sample(10, labels=torch.zeros(10, dtype=torch.long))
        return
    # Default labels: balanced and shuffled, the same as asking for them explicitly.
    default = trained.sample(40, seed=2)
    asked = trained.sample(40, labels=quality.balanced_labels(40, seed=2), seed=2)
    assert torch.equal(default, asked)
    ones = trained.sample(40, labels=torch.ones(40, dtype=torch.long), seed=2)
    assert not torch.equal(default, ones)


def test_training_is_reproducible(splits):
    a, b, c = (recipes.train_recipe("mnist-vae", profile="quick", seed=seed,
                                    split=splits["mnist"], reuse=False) for seed in (0, 0, 1))
    assert torch.equal(a.sample(8, seed=0), b.sample(8, seed=0))
    assert not torch.equal(a.sample(8, seed=0), c.sample(8, seed=0))


def test_diffusion_recipe_trains_on_the_signal_scale(monkeypatch):
    """Pixels in [0, 1] reach the denoiser as [-1, 1]; the lr follows one cycle to nearly 0."""
    seen = {}

    def spy(model, batches, step, epochs, **kw):
        x = batches[0] if isinstance(batches, tuple) else batches
        seen["range"] = (x.min().item(), x.max().item())
        seen["signal"] = (model.scale(x).min().item(), model.scale(x).max().item())
        for _ in range(epochs * 2):  # 2 batches per epoch below
            step((x[:100],) if not isinstance(batches, tuple) else (x[:100], batches[1][:100]))
        seen["lr"] = step.optimizers["denoiser"].param_groups[0]["lr"]
        return {"loss": [0.0] * epochs}

    monkeypatch.setattr(train, "fit", spy)
    d = data.digits()
    split = data.Split(d.x_train[:200], d.y_train[:200], d.x_test[:10], d.y_test[:10])
    recipes.train_recipe("digits-diffusion-cond", profile="quick", split=split, reuse=False)
    assert seen["range"] == (0.0, 1.0) and seen["signal"] == (-1.0, 1.0)
    assert seen["lr"] < recipes.recipe("digits-diffusion-cond").settings.lr / 100


@pytest.mark.parametrize("name, names", [("digits-gan", ["discriminator", "generator"]),
                                         ("digits-vae", ["model"]),
                                         ("digits-diffusion", ["denoiser"]),
                                         ("digits-autoregressive", ["model"])])
def test_each_recipe_step_carries_its_optimisers(name, names, monkeypatch):
    """fit gets a train.Step that names its optimisers, and no separate optimizer= list."""
    seen = {}

    def spy(model, batches, step, epochs, **kw):
        seen["step"], seen["kw"] = step, kw
        return {}

    monkeypatch.setattr(train, "fit", spy)
    d = recipes.load_data(recipes.RECIPES[name].dataset)
    split = data.Split(d.x_train[:64], d.y_train[:64], d.x_test[:10], d.y_test[:10])
    recipes.train_recipe(name, profile="quick", split=split, reuse=False)
    assert isinstance(seen["step"], train.Step) and sorted(seen["step"].optimizers) == names
    assert "optimizer" not in seen["kw"]


def test_a_trained_recipe_is_reused_as_if_trained_again(tmp_path, monkeypatch):
    """The second call loads the first one's weights, history, seconds and random state."""
    monkeypatch.setenv("GENAI_CACHE", str(tmp_path))
    d = data.digits()
    split = data.Split(d.x_train[:256], d.y_train[:256], d.x_test[:10], d.y_test[:10])
    first = recipes.train_recipe("digits-cvae", profile="quick", split=split)
    after_training = torch.rand(3)
    assert len(list((tmp_path / "recipes").glob("digits-cvae-quick-*.pt"))) == 1

    def refuse(*args, **kw):
        raise AssertionError("trained again: the saved recipe should have been loaded")

    monkeypatch.setattr(train, "fit", refuse)
    second = recipes.train_recipe("digits-cvae", profile="quick", split=split)
    assert torch.equal(torch.rand(3), after_training)  # the same random state follows
    assert second.history == first.history and second.seconds == first.seconds
    assert not second.model.training
    for key, value in first.model.state_dict().items():
        assert torch.equal(value, second.model.state_dict()[key]), key
    assert torch.equal(first.sample(20, seed=1), second.sample(20, seed=1))
    other = data.Split(d.x_train[1:257], d.y_train[1:257], d.x_test[:10], d.y_test[:10])
    with pytest.raises(AssertionError, match="trained again"):  # other data: not reused
        recipes.train_recipe("digits-cvae", profile="quick", split=other)
    with pytest.raises(AssertionError, match="trained again"):  # asked not to
        recipes.train_recipe("digits-cvae", profile="quick", split=split, reuse=False)


def test_another_global_seed_trains_another_recipe(tmp_path, monkeypatch):
    """GENAI_SEED changes the weights, and the saved recipe of seed 0 is not reused for it."""
    monkeypatch.setenv("GENAI_CACHE", str(tmp_path))
    d = data.digits()
    split = data.Split(d.x_train[:128], d.y_train[:128], d.x_test[:10], d.y_test[:10])
    first = recipes.train_recipe("digits-vae", profile="quick", split=split)
    monkeypatch.setenv("GENAI_SEED", "1")
    other = recipes.train_recipe("digits-vae", profile="quick", split=split)
    assert len(list((tmp_path / "recipes").glob("digits-vae-quick-*.pt"))) == 2
    w0, w1 = (next(iter(t.model.state_dict().values())) for t in (first, other))
    assert not torch.equal(w0, w1)


def test_one_judge_per_dataset_is_trained_once(tmp_path, monkeypatch):
    """recipes.judge trains a dataset's judge once; later calls load the same weights."""
    monkeypatch.setenv("GENAI_CACHE", str(tmp_path))
    monkeypatch.setitem(recipes.JUDGES, "digits", (32, 1))
    first = recipes.judge("digits")
    assert len(list((tmp_path / "judges").glob("digits-*.pt"))) == 1

    def refuse(*args, **kw):
        raise AssertionError("trained again: the saved judge should have been loaded")

    monkeypatch.setattr(quality, "train_judge", refuse)
    second = recipes.judge("digits")
    assert not second.training
    for key, value in first.state_dict().items():
        assert torch.equal(value, second.state_dict()[key]), key
    monkeypatch.setitem(recipes.JUDGES, "digits", (32, 2))  # other settings: trained anew
    with pytest.raises(AssertionError, match="trained again"):
        recipes.judge("digits")


def test_judge_of_an_unknown_dataset_names_the_known_ones():
    with pytest.raises(ValueError, match=r"no judge for 'cifar'.*digits, digits-binary, mnist"):
        recipes.judge("cifar")


def test_trained_recipe_counts_its_training_batches(tmp_path, monkeypatch):
    monkeypatch.setenv("GENAI_CACHE", str(tmp_path))
    d = data.digits()
    split = data.Split(d.x_train[:130], d.y_train[:130], d.x_test[:10], d.y_test[:10])
    t = recipes.train_recipe("digits-vae", profile="quick", split=split)
    r = t.recipe
    assert t.batches == r.epochs[0] * -(-130 // r.batch_size)  # epochs x ceil(N / B)
    assert recipes.training_rows(recipes.recipe("mnist-gan"), 4000, "quick") == 1000
    assert recipes.training_rows(recipes.recipe("mnist-gan"), 4000, "full") == 4000


def test_log_likelihood_where_the_family_has_one():
    """Exact for the transformer (the sum of its tokens' log-probabilities), the ELBO for a
    VAE (below the exact value), None for a GAN; labels exactly for conditional recipes."""
    d = recipes.load_data("digits-binary")
    split = data.Split(d.x_train[:64], d.y_train[:64], d.x_test[:16], d.y_test[:16])
    t = recipes.train_recipe("digits-autoregressive", profile="quick", split=split,
                             reuse=False)
    ll, exact = t.log_likelihood(split.x_test)
    assert exact and ll.shape == (16,) and (ll < 0).all()
    nats = autoregressive.nll(t.model, split.x_test.long())
    assert ll.mean().item() == pytest.approx(-nats * 64, rel=1e-5)
    g = recipes.train_recipe("digits-gan", profile="quick", split=_small("digits"), reuse=False)
    assert g.log_likelihood(split.x_test) is None
    v = recipes.train_recipe("digits-cvae", profile="quick", split=_small("digits"), reuse=False)
    x = _small("digits").x_test
    bound, exact = v.log_likelihood(x, _small("digits").y_test)
    assert not exact and bound.shape == (len(x),) and torch.isfinite(bound).all()
    with pytest.raises(ValueError, match="pass labels exactly when the recipe is conditional"):
        v.log_likelihood(x)


def _small(dataset):
    d = recipes.load_data(dataset)
    return data.Split(d.x_train[:64], d.y_train[:64], d.x_test[:16], d.y_test[:16])
