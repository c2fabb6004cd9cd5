"""The book's trained generators as named recipes: one place for data, sizes, optimiser and
epochs per profile, shared by the chapters and by `python -m genai_lib.generate`.

Each recipe is justified by a measured table in its chapter (05b for the GANs, 06 for the
VAEs, 06a for MNIST, 07 for diffusion, 08 for the autoregressive models). A recipe holds
its family's settings (`GANSettings`, ...); the family's build, step and sampler are found
in one table, `FAMILIES`. `train_recipe` trains one; `Trained.sample(n)` draws flat images
(n, D) in [0, 1] on the CPU (melodies of MIDI pitches for chorales-transformer).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import Tensor, nn

from genai_lib import autoregressive, cache, checkpoint, checks, convnets, data, diffusion, gan
from genai_lib import music
from genai_lib import flow_matching, flows, latent, quality, runtime, text, train, unet, vae
from genai_lib.quality import balanced_labels


# ---------------------------------------------------------------- settings, one per family
# Every constant a recipe trains and samples with, in the family's own words.
@dataclass(frozen=True)
class GANSettings:
    """A GAN: noise size L, hidden width (MLP) or channels (conv), Adam, the generator's EMA."""

    latent_dim: int
    hidden: int
    network: str = "mlp"              # or "conv" (DCGAN-style, 28x28)
    lr: float = 3e-3
    betas: tuple[float, float] = (0.0, 0.99)
    weight_decay: float = 0.0
    ema_decay: float | None = 0.99    # average of the generator's weights (sampled from)
    loss: str = "ns"                  # gan.LOSSES
    one_cycle: bool = False


@dataclass(frozen=True)
class VAESettings:
    """A VAE: code size L, hidden width (MLP) or channels (conv), the KL weight, the prior."""

    latent_dim: int
    hidden: int
    network: str = "mlp"              # or "conv" (28x28)
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    beta: float = 1.0                 # weight of the KL term
    code_prior: int = 0               # mixture components fitted to the codes (0: N(0, I))
    one_cycle: bool = False


@dataclass(frozen=True)
class DiffusionSettings:
    """A diffusion model: the denoiser, the forward process, the loss and the sampler."""

    hidden: int                       # MLP width, or the U-Net's first channel count
    network: str = "mlp"              # or "unet" (28x28)
    blocks: int = 3                   # residual blocks of the MLP denoiser
    dropout: float = 0.0              # inside the denoiser's blocks
    timesteps: int = 250              # T, the steps of the forward process (cosine schedule)
    lr: float = 4e-3
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    ema_decay: float | None = 0.999   # average of the denoiser's weights (sampled from)
    min_snr: float | None = 5.0       # the min-SNR loss weight gamma (None: L_simple)
    p_uncond: float = 0.1             # conditional recipes: labels dropped this often
    one_cycle: bool = True            # the learning rate: up for 10 % of updates, then down
    sample_steps: int | None = None   # DDIM steps (None: all T, ancestral)
    eta: float = 0.0                  # DDIM's noise (1: as random as DDPM)
    guidance: float = 1.0             # classifier-free guidance scale w
    data_range: tuple[float, float] | None = (0.0, 1.0)  # None: unbounded data (codes)
    clip: float | None = 1.0          # the sampler's clamp of x0 (None for unbounded data)


@dataclass(frozen=True)
class FlowSettings:
    """A RealNVP-style coupling flow: its couplings, their MLPs' width, the data's grid."""

    hidden: int
    couplings: int = 8
    levels: int | None = 17           # values on a grid of this many steps (dequantised)
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    one_cycle: bool = True


@dataclass(frozen=True)
class FlowMatchingSettings:
    """Flow matching: the velocity network (a diffusion.Denoiser), the loss and the sampler."""

    hidden: int
    blocks: int = 3
    dropout: float = 0.0
    lr: float = 4e-3
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    ema_decay: float | None = 0.999
    p_uncond: float = 0.1             # conditional recipes: labels dropped this often
    times: str = "logit-normal"       # how training draws t (flow_matching.TIMES)
    one_cycle: bool = True
    sample_steps: int = 8             # steps from noise (t = 1) back to data (t = 0)
    method: str = "euler"             # or "heun"
    guidance: float = 1.0
    data_range: tuple[float, float] | None = (0.0, 1.0)  # None: unbounded data (codes)
    clip: float | None = 1.0          # the sampler's clamp of x0_hat (None: unbounded data)


@dataclass(frozen=True)
class LatentSettings:
    """A generator of the codes of a trained VAE recipe (the autoencoder, kept frozen)."""

    inner: FlowMatchingSettings | DiffusionSettings   # trained on the standardised codes
    autoencoder: str = "mnist-vae"

    def __getattr__(self, name: str):  # lr, betas, weight_decay, one_cycle: the inner's
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)


@dataclass(frozen=True)
class TransformerSettings:
    """A decoder-only transformer over the dataset's tokens."""

    dim: int                          # model width
    layers: int = 2                   # blocks
    heads: int = 4                    # attention heads per block
    dropout: float = 0.0
    lr: float = 2e-3
    betas: tuple[float, float] = (0.9, 0.99)
    weight_decay: float = 0.05        # AdamW's
    one_cycle: bool = True
    temperature: float = 1.0          # sampling temperature


Settings = (GANSettings | VAESettings | DiffusionSettings | TransformerSettings | FlowSettings
            | FlowMatchingSettings | LatentSettings)


@dataclass(frozen=True)
class Recipe:
    """How one generator is built and trained. epochs: (quick profile, full profile)."""

    name: str
    dataset: str                      # a key of DATASETS
    settings: Settings
    epochs: tuple[int, int]
    batch_size: int
    conditional: bool = False
    quick_rows: int | None = None     # quick profile: train on the first rows only
    about: str = ""

    @property
    def family(self) -> str:
        """"gan", "vae", "diffusion", "autoregressive", "flow", "flow-matching" or "latent"."""
        return FAMILIES[type(self.settings)].name


_GAN = GANSettings(latent_dim=32, hidden=512)
_MNIST_GAN = GANSettings(latent_dim=64, hidden=512, lr=2e-3)
_DIGITS_DIFFUSION = DiffusionSettings(hidden=256, dropout=0.1, sample_steps=50, eta=1.0)
RECIPES: dict[str, Recipe] = {r.name: r for r in (
    Recipe("digits-gan", "digits", _GAN, epochs=(30, 200), batch_size=128,
           about="MLP GAN, batch 128, Adam(3e-3, betas 0/0.99), EMA of G"),
    Recipe("digits-cgan", "digits", replace(_GAN, hidden=256), epochs=(30, 300),
           batch_size=128, conditional=True,
           about="conditional MLP GAN, same training as digits-gan"),
    Recipe("digits-vae", "digits", VAESettings(16, 256, beta=0.1, code_prior=10),
           epochs=(30, 200), batch_size=64,
           about="MLP VAE, 16-D code, beta 0.1, a 10-component mixture prior on the codes"),
    Recipe("digits-cvae", "digits", VAESettings(16, 256, beta=0.05), epochs=(30, 200),
           batch_size=64, conditional=True,
           about="conditional MLP VAE, 16-D code, beta 0.05"),
    Recipe("mnist-gan", "mnist", _MNIST_GAN, epochs=(2, 100), batch_size=128,
           quick_rows=1000, about="MLP GAN on 28x28 (the digits-gan training), EMA of G"),
    Recipe("mnist-dcgan", "mnist", replace(_MNIST_GAN, hidden=32, network="conv"),
           epochs=(2, 30), batch_size=128, quick_rows=1000,
           about="conv GAN on 28x28 (DCGAN's networks), Adam(2e-3, betas 0/0.99), EMA of G"),
    Recipe("mnist-vae", "mnist", VAESettings(16, 32, network="conv", beta=0.1, code_prior=10),
           epochs=(2, 30), batch_size=64, quick_rows=1000,
           about="conv VAE on 28x28, 16-D code, beta 0.1, mixture prior on the codes"),
    Recipe("digits-diffusion", "digits", _DIGITS_DIFFUSION, epochs=(60, 1000), batch_size=128,
           about="MLP denoiser, T 250 cosine, min-SNR 5 loss, one-cycle lr, 50 DDIM steps"),
    Recipe("digits-diffusion-cond", "digits", replace(_DIGITS_DIFFUSION, eta=0.0),
           epochs=(60, 500), batch_size=128, conditional=True,
           about="the same, told the label (dropped 10 % of the time); DDIM, guidance 1"),
    Recipe("mnist-diffusion", "mnist",
           DiffusionSettings(16, network="unet", lr=2e-3, ema_decay=0.995, sample_steps=25,
                             eta=1.0),
           epochs=(1, 8), batch_size=64, quick_rows=256,
           about="small U-Net denoiser on 28x28, T 250 cosine, 25 DDIM steps"),
    Recipe("digits-flow", "digits", FlowSettings(256, couplings=8), epochs=(15, 50),
           batch_size=128, about="RealNVP: 8 affine couplings, MLPs of width 256, dequantised"),
    Recipe("digits-flow-matching", "digits", FlowMatchingSettings(256, dropout=0.1),
           epochs=(60, 1000), batch_size=128,
           about="flow matching, the digits-diffusion MLP as velocity, 8 Euler steps"),
    Recipe("mnist-latent-flow", "mnist",
           LatentSettings(FlowMatchingSettings(256, data_range=None, clip=None)),
           epochs=(20, 100),
           batch_size=128, quick_rows=1000,
           about="flow matching on the 16-D codes of mnist-vae (frozen), decoded"),
    Recipe("mnist-latent-diffusion", "mnist",
           LatentSettings(DiffusionSettings(256, data_range=None, clip=5.0, sample_steps=50,
                                            eta=1.0)), epochs=(20, 100),
           batch_size=128, quick_rows=1000,
           about="diffusion on the 16-D codes of mnist-vae, 50 DDIM steps, x0 clamped at 5"),
    Recipe("digits-autoregressive", "digits-binary", TransformerSettings(64, dropout=0.25),
           epochs=(2, 60), batch_size=64, quick_rows=400,
           about="transformer over the 64 binarised pixels, one at a time"),
    Recipe("chorales-transformer", "chorales", TransformerSettings(96, layers=3, dropout=0.1),
           epochs=(2, 8), batch_size=64,
           about="transformer over soprano lines, 32 eighth notes, 29 tokens"),
    Recipe("words-transformer", "words", TransformerSettings(96, layers=3, dropout=0.1),
           epochs=(1, 4), batch_size=64, quick_rows=640,
           about="transformer over the letters of the CMU dictionary's words, 28 tokens"),
    Recipe("prose-transformer", "prose", TransformerSettings(96, layers=3, dropout=0.1,
                                                             lr=3e-3, weight_decay=0.1),
           epochs=(1, 5), batch_size=64, quick_rows=640,
           about="transformer over the characters of Python's documentation, 96 tokens"),
)}

CHORALES = (40, 150)    # chorales parsed: quick, full profile (80 % train, by tune)
MELODY_STEPS = 32       # tokens per chorale window (eighth notes)
WORD_STEPS = 32         # letters per window of packed words
PROSE_STEPS = 64        # characters per window of prose


def recipe(name: str) -> Recipe:
    """The recipe called `name`; a clear error listing the known ones otherwise."""
    if name not in RECIPES:
        raise KeyError(f"unknown recipe {name!r}; the recipes are: {', '.join(RECIPES)}")
    return RECIPES[name]


def _digits_binary(seed: int) -> data.Split:
    """The 8x8 digits with every pixel rounded to 0 or 1 (N, 64)."""
    d = data.digits(seed=seed)
    return data.Split((d.x_train > 0.5).float(), d.y_train, (d.x_test > 0.5).float(), d.y_test)


def _pixels(x: Tensor) -> Tensor:
    """Samples as images in [0, 1] on the CPU (a sampler's values, clamped)."""
    return x.float().clamp(0, 1).cpu()


def _tokens(x: Tensor) -> Tensor:
    """Text samples stay tokens (n, T) on the CPU (`Dataset.text` turns them into text)."""
    return x.long().cpu()


def _first_words(x: Tensor) -> list[str]:
    """Word-model samples (n, T) -> n words: each row's letters up to its first END."""
    chars = text.Characters(text.WORD_ALPHABET)
    return [chars.decode(row).split(text.END)[0] for row in x.tolist()]


def _passages(x: Tensor) -> list[str]:
    """Prose samples (n, T) -> n passages."""
    chars = text.Characters(text.PRINTABLE)
    return [chars.decode(row) for row in x.tolist()]


def _word_data(seed: int, profile: str) -> data.Split:
    """The CMU words, packed windows of WORD_STEPS letters: train and test words."""
    train_words, _, test_words = text.word_split()
    return _token_split(text.word_windows(train_words, WORD_STEPS),
                        text.word_windows(test_words, WORD_STEPS))


def _prose_data(seed: int, profile: str) -> data.Split:
    """Python's documentation, windows of PROSE_STEPS characters: train and test sections."""
    train_docs, _, test_docs = text.prose_split()
    chars = text.Characters(text.PRINTABLE)
    return _token_split(text.document_windows(train_docs, chars, PROSE_STEPS)[0],
                        text.document_windows(test_docs, chars, PROSE_STEPS)[0])


def _token_split(x_train: Tensor, x_test: Tensor) -> data.Split:
    """A data.Split of token windows, labels all 0."""
    return data.Split(x_train, torch.zeros(len(x_train), dtype=torch.long), x_test,
                      torch.zeros(len(x_test), dtype=torch.long))


def _melodies(x: Tensor) -> Tensor:
    """Melody tokens (n, T) -> MIDI pitches (n, T) on the CPU."""
    return torch.as_tensor(music.from_tokens(x.cpu().numpy()))


@dataclass(frozen=True)
class Dataset:
    """What a recipe trains on: the split, its width, its tokens and how samples look."""

    load: Callable[[int, str], data.Split]    # (seed, profile) -> split
    dim: int                                  # features per row, or tokens per sequence
    vocab: int = 0                            # token data: the vocabulary size
    decode: Callable[[Tensor], Tensor] = _pixels  # a sampler's output -> the samples shown
    text: Callable[[Tensor], list[str]] | None = None  # text data: samples -> strings


DATASETS: dict[str, Dataset] = {
    "digits": Dataset(lambda seed, profile: data.digits(seed=seed), 64),
    "mnist": Dataset(lambda seed, profile: data.mnist_subset(seed=seed), convnets.DATA_DIM),
    "digits-binary": Dataset(lambda seed, profile: _digits_binary(seed), 64, vocab=2),
    "chorales": Dataset(lambda seed, profile: chorale_split(CHORALES[profile == "full"]),
                        MELODY_STEPS, vocab=music.HIGH - music.LOW + 2, decode=_melodies),
    "words": Dataset(_word_data, WORD_STEPS, vocab=len(text.WORD_ALPHABET), decode=_tokens,
                     text=_first_words),
    "prose": Dataset(_prose_data, PROSE_STEPS, vocab=len(text.PRINTABLE), decode=_tokens,
                     text=_passages),
}


def load_data(dataset: str, seed: int = 0, profile: str | None = None) -> data.Split:
    """The train/held-out split a recipe trains on: digits (N, 64), mnist (N, 784),
    digits-binary (N, 64) pixels in {0, 1}, chorales (N, 32) melody tokens, words (N, 32)
    letters of packed words or prose (N, 64) characters (token data: labels 0)."""
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(map(repr, DATASETS))}, "
                         f"got {dataset!r}")
    return DATASETS[dataset].load(seed, profile or runtime.profile())


def chorale_split(n: int, length: int = MELODY_STEPS) -> data.Split:
    """Soprano lines of n chorales as token windows (music.tokens), split by tune
    (music.tune_split: Bach set many tunes more than once, and every setting of a tune
    stays on one side): about 80 % of the chorales, the earliest tunes, train (windows
    every 4 steps); the later tunes are held out (windows side by side)."""
    lines = music.load_chorales(n)
    train, held_out = music.tune_split(lines)
    tr = torch.as_tensor(music.tokens(music.windows([lines[i] for i in train], length, hop=4)))
    te = torch.as_tensor(music.tokens(
        music.windows([lines[i] for i in held_out], length, hop=length)))
    return data.Split(tr, torch.zeros(len(tr), dtype=torch.long), te,
                      torch.zeros(len(te), dtype=torch.long))


# ---------------------------------------------------------------- the families, one table
# Each family builds its model (and names the modules its optimisers update), makes its
# step for `train.fit` and draws samples; `build`, `train_recipe` and `Trained.sample` look
# the family up here by the type of the recipe's settings.
def _gan(r: Recipe, ds: Dataset) -> tuple[nn.Module, dict[str, nn.Module]]:
    s, classes = r.settings, 10 if r.conditional else 0
    if s.network == "conv":
        g, d = convnets.ConvGenerator(s.latent_dim, s.hidden), convnets.ConvDiscriminator(s.hidden)
    else:
        g = gan.Generator(s.latent_dim, ds.dim, s.hidden, n_classes=classes, output="sigmoid")
        d = gan.Discriminator(ds.dim, s.hidden, n_classes=classes)
    return gan.GAN(g, d, ema_decay=s.ema_decay), {"discriminator": d, "generator": g}


def _vae(r: Recipe, ds: Dataset) -> tuple[nn.Module, dict[str, nn.Module]]:
    s = r.settings
    model = vae.VAE(vae.VAEConfig(data_dim=ds.dim, latent_dim=s.latent_dim, hidden=s.hidden,
                                  cond_dim=10 if r.conditional else 0, network=s.network))
    return model, {"model": model}


def _diffusion(r: Recipe, ds: Dataset) -> tuple[nn.Module, dict[str, nn.Module]]:
    s, classes = r.settings, 10 if r.conditional else 0
    net = (unet.UNet(s.hidden, n_classes=classes) if s.network == "unet" else
           diffusion.Denoiser(ds.dim, s.hidden, s.blocks, n_classes=classes, dropout=s.dropout))
    model = diffusion.Diffusion(net, s.timesteps, ema_decay=s.ema_decay, data_range=s.data_range)
    return model, {"denoiser": net}


def _flow(r: Recipe, ds: Dataset) -> tuple[nn.Module, dict[str, nn.Module]]:
    s = r.settings
    model = flows.realnvp(ds.dim, s.hidden, s.couplings, s.levels)
    return model, {"model": model}


def _flow_matching(r: Recipe, ds: Dataset) -> tuple[nn.Module, dict[str, nn.Module]]:
    s, classes = r.settings, 10 if r.conditional else 0
    net = diffusion.Denoiser(ds.dim, s.hidden, s.blocks, n_classes=classes, dropout=s.dropout)
    return flow_matching.FlowMatching(net, s.ema_decay, s.data_range), {"velocity": net}


def _inner(r: Recipe) -> tuple[Recipe, Dataset]:
    """A latent recipe's inner generator as a recipe of its own, and its data: the codes."""
    auto = recipe(r.settings.autoencoder)
    return replace(r, settings=r.settings.inner), Dataset(_no_load, auto.settings.latent_dim)


def _no_load(seed: int, profile: str) -> data.Split:
    raise RuntimeError("a latent recipe's codes come from its autoencoder (_latent_codes)")


def _latent(r: Recipe, ds: Dataset) -> tuple[nn.Module, dict[str, nn.Module]]:
    auto = recipe(r.settings.autoencoder)
    autoencoder, _ = FAMILIES[type(auto.settings)].build(auto, DATASETS[auto.dataset])
    inner_r, inner_ds = _inner(r)
    inner, parts = FAMILIES[type(inner_r.settings)].build(inner_r, inner_ds)
    return latent.Latent(autoencoder, inner), parts


def _latent_step(r: Recipe, model: nn.Module, opts: dict) -> train.Step:
    inner_r, _ = _inner(r)
    return FAMILIES[type(inner_r.settings)].step(inner_r, model.inner, opts)


def _latent_codes(r: Recipe, model: nn.Module, x: Tensor, profile: str, device,
                  seed: int) -> Tensor:
    """Train (or load) the autoencoder recipe, freeze it in the model; the codes (N, L)."""
    auto = train_recipe(r.settings.autoencoder, profile, device, seed)
    model.autoencoder.load_state_dict(auto.model.state_dict())
    model.to(checks.device_of(auto.model))
    return model.fit_scale(x).cpu()


def _latent_sample(model: nn.Module, n: int, labels: Tensor | None, seed: int | None,
                   inner: Settings) -> Tensor:
    family = FAMILIES[type(inner)]
    return latent.sample(model, n, labels, seed, sampler=family.sample,
                         **_sample_settings(inner))


def _transformer(r: Recipe, ds: Dataset) -> tuple[nn.Module, dict[str, nn.Module]]:
    s = r.settings
    model = autoregressive.Transformer(ds.vocab, ds.dim, s.dim, s.heads, s.layers, s.dropout)
    return model, {"model": model}


@dataclass(frozen=True)
class Family:
    """One family's part in the recipes: build, step, sample (and how batches look)."""

    name: str
    build: Callable[[Recipe, Dataset], tuple[nn.Module, dict[str, nn.Module]]]
    step: Callable[[Recipe, nn.Module, dict[str, torch.optim.Optimizer]], train.Step]
    sample: Callable[..., Tensor]             # sample(model, n, labels, seed, **settings)
    sample_settings: tuple[str, ...] = ()     # the settings fields `sample` takes
    tokens: bool = False                      # batches of integer tokens
    log_likelihood: Callable[..., Tensor] | None = None  # (model, x, labels) -> (B,) nats
    exact: bool = False                       # log_likelihood exact (else a lower bound)
    prepare: Callable[..., Tensor] | None = None  # (recipe, model, x, profile, device,
    #                                               seed) -> what the step trains on


FAMILIES: dict[type, Family] = {
    GANSettings: Family(
        "gan", _gan, lambda r, m, o: gan.gan_step(m, o["generator"], o["discriminator"],
                                                  r.settings.loss), gan.sample),
    VAESettings: Family(
        "vae", _vae, lambda r, m, o: vae.vae_step(m, o["model"], beta=r.settings.beta),
        vae.sample, log_likelihood=lambda m, x, y: _no_grad(vae.elbo, m, x, y)),
    DiffusionSettings: Family(
        "diffusion", _diffusion,
        lambda r, m, o: diffusion.diffusion_step(
            m, o["denoiser"], p_uncond=r.settings.p_uncond if r.conditional else 0.0,
            min_snr=r.settings.min_snr),
        diffusion.sample, ("steps", "eta", "guidance", "clip")),
    TransformerSettings: Family(
        "autoregressive", _transformer,
        lambda r, m, o: autoregressive.sequence_step(m, o["model"]), autoregressive.sample,
        ("temperature",), tokens=True,
        log_likelihood=lambda m, x, y: autoregressive.log_likelihood(m, x.long()), exact=True),
    FlowSettings: Family(
        "flow", _flow, lambda r, m, o: flows.flow_step(m, o["model"]), flows.sample,
        log_likelihood=lambda m, x, y: _no_grad(_flow_bound, m, x, y)),
    FlowMatchingSettings: Family(
        "flow-matching", _flow_matching,
        lambda r, m, o: flow_matching.flow_matching_step(
            m, o["velocity"], p_uncond=r.settings.p_uncond if r.conditional else 0.0,
            times=r.settings.times),
        flow_matching.sample, ("steps", "method", "guidance", "clip")),
    LatentSettings: Family("latent", _latent, _latent_step, _latent_sample, ("inner",),
                           prepare=_latent_codes),
}
_SAMPLE_SETTING = {"steps": "sample_steps"}   # sampler argument -> settings field


def _sample_settings(settings: Settings) -> dict[str, object]:
    """The keyword arguments of the family's sampler, from the recipe's settings."""
    return {k: getattr(settings, _SAMPLE_SETTING.get(k, k))
            for k in FAMILIES[type(settings)].sample_settings}


def _flow_bound(model: flows.Flow, x: Tensor, labels: None) -> Tensor:
    """log p(x) (B,) of a flow; for grid data the dequantisation bound with one draw of u,
    E_u log p((k + u) / levels) - D log levels <= log P(k) (seeded: the same every call)."""
    if model.levels is None:
        return model.log_prob(x)
    u = flows.dequantize(x.cpu(), model.levels, torch.Generator().manual_seed(0)).to(x.device)
    return model.log_prob(u) - x.shape[1] * math.log(model.levels)


def _no_grad(bound: Callable[..., Tensor], model: nn.Module, x: Tensor,
             labels: Tensor | None) -> Tensor:
    """bound(model, x, labels) (B,) in eval mode without gradients, on the CPU."""
    dev = checks.device_of(model)
    with torch.no_grad(), checks.eval_mode(model):
        return bound(model, x.to(dev), None if labels is None else labels.to(dev)).cpu()


@dataclass
class Trained:
    """A trained recipe: the model (e.g. gan.GAN, vae.VAE), its history and training time."""

    recipe: Recipe
    model: nn.Module
    history: dict[str, list[float]]
    seconds: float
    batches: int = 0      # training compute: epochs x batches per epoch (one step per batch)

    def sample(self, n: int, labels: Tensor | None = None, seed: int = 0) -> Tensor:
        """n samples on the CPU: flat images (n, D) in [0, 1], or melodies of MIDI pitches
        (n, T); labels (n,) for a conditional recipe (default: balanced, shuffled). The same
        seed gives the same samples."""
        r = self.recipe
        if r.conditional and labels is None:
            labels = balanced_labels(n, seed=seed)
        if not r.conditional and labels is not None:
            raise ValueError(f"{r.name} is unconditional: labels must be None")
        family = FAMILIES[type(r.settings)]
        out = family.sample(self.model, n, labels, seed, **_sample_settings(r.settings))
        return DATASETS[r.dataset].decode(out)

    def log_likelihood(self, x: Tensor, labels: Tensor | None = None
                       ) -> tuple[Tensor, bool] | None:
        """log p(x[|labels]) per row of x (N, D) in nats, and whether it is exact (else a
        lower bound: a VAE's ELBO, a flow's dequantisation bound); None for a family without
        one (GAN, diffusion, flow matching and latent generators here)."""
        family = FAMILIES[type(self.recipe.settings)]
        if family.log_likelihood is None:
            return None
        if self.recipe.conditional != (labels is not None):
            raise ValueError(f"{self.recipe.name}: pass labels exactly when the recipe is "
                             f"conditional (conditional={self.recipe.conditional})")
        return family.log_likelihood(self.model, x.reshape(len(x), -1), labels), family.exact


def build(r: Recipe) -> tuple[nn.Module, dict[str, torch.optim.Optimizer]]:
    """The untrained model of a recipe and its optimisers, by the name of what they update
    (Adam, or AdamW where the settings have weight decay)."""
    model, parts = FAMILIES[type(r.settings)].build(r, DATASETS[r.dataset])
    s = r.settings
    opt = ((lambda p: torch.optim.AdamW(p, lr=s.lr, betas=s.betas, weight_decay=s.weight_decay))
           if s.weight_decay else (lambda p: torch.optim.Adam(p, lr=s.lr, betas=s.betas)))
    return model, {name: opt(part.parameters()) for name, part in parts.items()}


def training_rows(r: Recipe, n: int, profile: str) -> int:
    """How many of n training rows recipe r trains on in `profile` (quick: its quick_rows)."""
    return min(n, r.quick_rows) if profile == "quick" and r.quick_rows else n


def train_recipe(name: str, profile: str | None = None, device: torch.device | str | None = None,
                 seed: int = 0, split: data.Split | None = None, callbacks=(),
                 quiet: bool = True, reuse: bool = True) -> Trained:
    """Train recipe `name` as the book does in `profile` (default: the current profile).

    With reuse (and no callbacks), a recipe trained before on the same data, seed, profile,
    device and genai_lib source is loaded from runtime.cache_dir() instead (`saved_path`), with
    its history, its training seconds and the random state training left behind. The cache
    is best effort (`genai_lib.cache`): a damaged entry is moved aside and trained again, an
    unwritable cache gives a warning and the trained model.
    """
    r = recipe(name)
    profile = profile or runtime.profile()
    if profile not in runtime.PROFILES:
        raise ValueError(f"profile must be one of {runtime.PROFILES}, got {profile!r}")
    split = split if split is not None else load_data(r.dataset, profile=profile)
    x, y = split.x_train.reshape(len(split.x_train), -1), split.y_train
    rows = training_rows(r, len(x), profile)
    x, y = x[:rows], y[:rows]
    runtime.seed_everything(seed)
    model, optimizers = build(r)
    path = saved_path(r, profile, seed, x, y, device) if reuse and not callbacks else None
    saved = None if path is None else cache.lookup(
        path, lambda p: _read_saved(p, model, ("model", "history", "seconds", "rng")))
    if saved is not None:
        model.load_state_dict(saved["model"])
        model.to(runtime.device(None if device is None else str(device))).eval()
        checkpoint.set_rng_state(saved["rng"])
        history, seconds = saved["history"], saved["seconds"]
    else:
        history, seconds = _train(r, model, optimizers, x, y, profile, device, seed, callbacks,
                                  quiet)
        if path is not None:
            payload = {"format_version": checkpoint.FORMAT_VERSION, "model": model.state_dict(),
                       "history": history, "seconds": seconds, "rng": checkpoint.rng_state()}
            cache.store(path, lambda f: torch.save(payload, f), f"the trained {name}")
    if getattr(r.settings, "code_prior", 0):  # a VAE's second-stage prior on its codes
        vae.fit_code_prior(model, x, r.settings.code_prior, seed)
    epochs = len(next(iter(history.values()), []))
    return Trained(r, model, history, seconds, epochs * math.ceil(len(x) / r.batch_size))


def _read_saved(path: Path, model: nn.Module, keys: tuple[str, ...]) -> dict:
    """A cached model's checkpoint, checked whole before anything is loaded: readable, with
    every entry of `keys`, weights that fit `model` and are finite, a usable random state
    (a clear ValueError naming what is wrong otherwise)."""
    saved = checkpoint.load(path)
    absent = [k for k in keys if k not in saved]
    if absent:
        raise ValueError(f"no {', '.join(map(repr, absent))} entry")
    differences = checkpoint.state_mismatch(saved["model"], model)
    if differences:
        raise ValueError(f"weights of another model: {'; '.join(differences)}")
    bad = checkpoint.non_finite(saved["model"])
    if bad:
        raise ValueError(f"NaN or inf weights in {', '.join(bad[:3])}"
                         + (f" and {len(bad) - 3} more" if len(bad) > 3 else ""))
    if "history" in keys and not (isinstance(saved["history"], dict) and all(
            isinstance(v, list) for v in saved["history"].values())):
        raise ValueError("the history is not a dict of lists")
    if "seconds" in keys and not isinstance(saved["seconds"], (int, float)):
        raise ValueError(f"the training time is not a number ({saved['seconds']!r})")
    if "rng" in keys:
        checkpoint.check_rng_state(saved["rng"])
    return saved


def _exists(path: Path) -> bool:
    """Whether the file exists (False where its folder cannot even be looked at)."""
    try:
        return path.is_file()
    except OSError:
        return False


def saved_path(r: Recipe, profile: str, seed: int, x: Tensor, y: Tensor,
               device: torch.device | str | None) -> Path:
    """Where train_recipe keeps a trained recipe: named by everything its weights depend on
    (CPU threads aside: they change only the order of float sums)."""
    return _cache_path("recipes", f"{r.name}-{profile}", (r, profile), seed, (x, y), device)


def _cache_path(folder: str, name: str, settings: object, seed: int, tensors: tuple[Tensor, ...],
                device: torch.device | str | None) -> Path:
    """runtime.cache_dir()/folder/name-<hash of settings, training seed, device, torch,
    the genai_lib source and the training tensors>.pt"""
    dev = runtime.device(None if device is None else str(device)).type
    h = hashlib.sha256(repr((settings, runtime.training_seed(seed), dev,
                             torch.__version__)).encode())
    for source in sorted(Path(__file__).parent.rglob("*.py")):  # the genai_lib code
        h.update(source.read_bytes())
    for t in tensors:
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return cache.path(folder, f"{name}-{h.hexdigest()[:16]}.pt")


# ---------------------------------------------------------------- the judges
# One judge per dataset, the same on every page (and in both profiles): a distance between
# sample sets means something only under one judge, so each page loads this one.
JUDGES = {  # dataset: (hidden units, epochs)
    "digits": (128, 30),
    "digits-binary": (128, 30),
    "mnist": (256, 20),
}


def judge(dataset: str, device: torch.device | str | None = None) -> quality.Judge:
    """The judge of `dataset`'s samples (quality.Judge): trained once on its training split
    (load_data) and kept in runtime.cache_dir(), so every page scores with the same model."""
    if dataset not in JUDGES:
        raise ValueError(f"there is no judge for {dataset!r}; the judges are for: "
                         f"{', '.join(JUDGES)}")
    hidden, epochs = JUDGES[dataset]
    split = load_data(dataset)
    x, y = split.x_train.reshape(len(split.x_train), -1).float(), split.y_train
    path = _cache_path("judges", dataset, (hidden, epochs), 0, (x, y), device)
    model = quality.Judge(data_dim=x.shape[1], hidden=hidden) if _exists(path) else None
    saved = None if model is None else cache.lookup(
        path, lambda p: _read_saved(p, model, ("model",)))
    if saved is not None:
        model.load_state_dict(saved["model"])
        return model.to(runtime.device(None if device is None else str(device))).eval()
    model = quality.train_judge(split, epochs=epochs, hidden=hidden, device=device)
    payload = {"format_version": checkpoint.FORMAT_VERSION, "model": model.state_dict()}
    cache.store(path, lambda f: torch.save(payload, f), f"the judge of {dataset}")
    return model


def _warmup_share(total: int) -> float:
    """OneCycleLR's pct_start: 10 % of the updates, but at least 2 of a short run's (torch
    divides by pct_start * total - 1, so that product must not be 1)."""
    return max(0.1, 2 / total) if total >= 4 else 0.3


def _train(r: Recipe, model: nn.Module, optimizers: dict[str, torch.optim.Optimizer],
           x: Tensor, y: Tensor, profile: str, device, seed: int, callbacks,
           quiet: bool) -> tuple[dict[str, list[float]], float]:
    """Train a built recipe on (x, y) with its family's step; returns (history, seconds)."""
    family, epochs = FAMILIES[type(r.settings)], r.epochs[profile == "full"]
    x = x.long() if family.tokens else x
    if family.prepare is not None:
        x = family.prepare(r, model, x, profile, device, seed)
    step = family.step(r, model, optimizers)
    if r.settings.one_cycle:  # up for the first 10 % of the updates, then down to nearly 0
        (optimizer,) = step.optimizers.values()
        total = max(1, epochs * math.ceil(len(x) / r.batch_size))
        step = train.scheduled(step, torch.optim.lr_scheduler.OneCycleLR(
            optimizer, r.settings.lr, total_steps=total, pct_start=_warmup_share(total)))
    start = time.perf_counter()
    history = train.fit(model, (x, y) if r.conditional else x, step, epochs=epochs,
                        batch_size=r.batch_size, device=device, quiet=quiet, seed=seed,
                        callbacks=callbacks)
    return history, time.perf_counter() - start
