"""The book's trained generators as named recipes: one place for data, sizes, optimiser and
epochs per profile, shared by the chapters and by `python -m genai_lib.generate`.

Each recipe is justified by a measured table in its chapter (05b for the GANs, 06 for the
VAEs, 06a for MNIST, 06b for diffusion, 06d for the autoregressive models). `train_recipe`
trains one; `Trained.sample(n)` draws flat images (n, D) in [0, 1] on the CPU (melodies of
MIDI pitches for chorales-transformer).
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genai_lib import autoregressive, checkpoint, convnets, data, diffusion, gan, music, runtime
from genai_lib import train
from genai_lib import quality, unet, vae
from genai_lib.quality import balanced_labels


@dataclass(frozen=True)
class Recipe:
    """How one generator is built and trained. epochs: (quick profile, full profile)."""

    name: str
    dataset: str                      # "digits" (8x8), "mnist" (28x28), "digits-binary", "chorales"
    family: str                       # "gan", "vae", "diffusion" or "autoregressive"
    epochs: tuple[int, int]
    batch_size: int
    lr: float
    latent_dim: int
    hidden: int                       # MLP width, or channels of a conv network
    conditional: bool = False
    network: str = "mlp"              # or "conv" (GAN, VAE), "unet" (diffusion)
    betas: tuple[float, float] = (0.9, 0.999)   # Adam's
    ema_decay: float | None = None    # GAN: average of the generator's weights
    beta: float = 1.0                 # VAE: weight of the KL term
    code_prior: int = 0               # VAE: mixture components fitted to the codes (0: N(0, I))
    quick_rows: int | None = None     # quick profile: train on the first rows only
    timesteps: int = 250              # diffusion: T, the steps of the forward process
    blocks: int = 3                   # diffusion: residual blocks of the MLP denoiser
    dropout: float = 0.0              # diffusion: dropout inside the denoiser's blocks
    sample_steps: int | None = None   # diffusion: DDIM steps (None: all T, ancestral)
    eta: float = 0.0                  # diffusion: DDIM's noise (1: as random as DDPM)
    guidance: float = 1.0             # diffusion: classifier-free guidance scale w
    heads: int = 4                    # autoregressive: attention heads per block
    temperature: float = 1.0          # autoregressive: sampling temperature
    about: str = ""


_GAN = dict(family="gan", lr=3e-3, betas=(0.0, 0.99), ema_decay=0.99, batch_size=128)
RECIPES: dict[str, Recipe] = {r.name: r for r in (
    Recipe("digits-gan", "digits", epochs=(30, 200), latent_dim=32, hidden=512, **_GAN,
           about="MLP GAN, batch 128, Adam(3e-3, betas 0/0.99), EMA of G"),
    Recipe("digits-cgan", "digits", epochs=(30, 300), latent_dim=32, hidden=256,
           conditional=True, **_GAN, about="conditional MLP GAN, same training as digits-gan"),
    Recipe("digits-vae", "digits", "vae", epochs=(30, 200), batch_size=64, lr=1e-3,
           latent_dim=16, hidden=256, beta=0.1, code_prior=10,
           about="MLP VAE, 16-D code, beta 0.1, a 10-component mixture prior on the codes"),
    Recipe("digits-cvae", "digits", "vae", epochs=(30, 200), batch_size=64, lr=1e-3,
           latent_dim=16, hidden=256, beta=0.05, conditional=True,
           about="conditional MLP VAE, 16-D code, beta 0.05"),
    Recipe("mnist-gan", "mnist", epochs=(2, 100), latent_dim=64, hidden=512,
           quick_rows=1000, **{**_GAN, "lr": 2e-3},
           about="MLP GAN on 28x28 (the digits-gan training), EMA of G"),
    Recipe("mnist-dcgan", "mnist", epochs=(2, 30), latent_dim=64, hidden=32, network="conv",
           quick_rows=1000, **{**_GAN, "lr": 2e-3},
           about="DCGAN-style conv GAN on 28x28, EMA of G"),
    Recipe("mnist-vae", "mnist", "vae", epochs=(2, 30), batch_size=64, lr=1e-3,
           latent_dim=16, hidden=32, network="conv", beta=0.1, code_prior=10, quick_rows=1000,
           about="conv VAE on 28x28, 16-D code, beta 0.1, mixture prior on the codes"),
    Recipe("digits-diffusion", "digits", "diffusion", epochs=(60, 1000), batch_size=128,
           lr=4e-3, latent_dim=0, hidden=256, dropout=0.1, ema_decay=0.999,
           sample_steps=50, eta=1.0,
           about="MLP denoiser, T 250 cosine, min-SNR 5 loss, one-cycle lr, 50 DDIM steps"),
    Recipe("digits-diffusion-cond", "digits", "diffusion", epochs=(60, 500), batch_size=128,
           lr=4e-3, latent_dim=0, hidden=256, dropout=0.1, ema_decay=0.999, conditional=True,
           sample_steps=50,
           about="the same, told the label (dropped 10 % of the time); DDIM, guidance 1"),
    Recipe("mnist-diffusion", "mnist", "diffusion", epochs=(1, 8), batch_size=64, lr=2e-3,
           latent_dim=0, hidden=16, network="unet", ema_decay=0.995, quick_rows=256,
           sample_steps=25, eta=1.0,
           about="small U-Net denoiser on 28x28, T 250 cosine, 25 DDIM steps"),
    Recipe("digits-autoregressive", "digits-binary", "autoregressive", epochs=(2, 60),
           batch_size=64, lr=2e-3, latent_dim=0, hidden=64, blocks=2, dropout=0.25,
           betas=(0.9, 0.99), quick_rows=400,
           about="transformer over the 64 binarised pixels, one at a time"),
    Recipe("chorales-transformer", "chorales", "autoregressive", epochs=(2, 8), batch_size=64,
           lr=2e-3, latent_dim=0, hidden=96, blocks=3, dropout=0.1, betas=(0.9, 0.99),
           about="transformer over soprano lines, 32 eighth notes, 29 tokens"),
)}

CHORALES = (40, 150)    # chorales parsed: quick, full profile (the first 80 % train)
MELODY_STEPS = 32       # tokens per chorale window (eighth notes)


def recipe(name: str) -> Recipe:
    """The recipe called `name`; a clear error listing the known ones otherwise."""
    if name not in RECIPES:
        raise KeyError(f"unknown recipe {name!r}; the recipes are: {', '.join(RECIPES)}")
    return RECIPES[name]


def load_data(dataset: str, seed: int = 0, profile: str | None = None) -> data.Split:
    """The train/held-out split a recipe trains on: digits (N, 64), mnist (N, 784),
    digits-binary (N, 64) pixels in {0, 1}, or chorales (N, 32) melody tokens (labels 0)."""
    if dataset == "digits":
        return data.digits(seed=seed)
    if dataset == "mnist":
        return data.mnist_subset(seed=seed)
    if dataset == "digits-binary":
        d = data.digits(seed=seed)
        return data.Split((d.x_train > 0.5).float(), d.y_train, (d.x_test > 0.5).float(),
                          d.y_test)
    if dataset == "chorales":
        return chorale_split(CHORALES[(profile or runtime.profile()) == "full"])
    raise ValueError(f"dataset must be 'digits', 'mnist', 'digits-binary' or 'chorales', "
                     f"got {dataset!r}")


def chorale_split(n: int, length: int = MELODY_STEPS) -> data.Split:
    """Soprano lines of n chorales as token windows (music.tokens): the first 80 % of the
    chorales train (windows every 4 steps), the rest are held out (windows side by side)."""
    lines = music.load_chorales(n)
    cut = int(0.8 * n)
    tr = torch.as_tensor(music.tokens(music.windows(lines[:cut], length, hop=4)))
    te = torch.as_tensor(music.tokens(music.windows(lines[cut:], length, hop=length)))
    return data.Split(tr, torch.zeros(len(tr), dtype=torch.long), te,
                      torch.zeros(len(te), dtype=torch.long))


@dataclass
class Trained:
    """A trained recipe: the model (gan.GAN or vae.VAE), its history and training time."""

    recipe: Recipe
    model: nn.Module
    history: dict[str, list[float]]
    seconds: float
    prior: object = field(default=None, repr=False)   # VAE: a fitted code mixture, or None
    batches: int = 0      # training compute: epochs x batches per epoch (one step per batch)

    @property
    def generator(self) -> nn.Module:
        """The network that draws samples: the GAN's averaged generator if it has one."""
        if self.recipe.family == "vae":
            return self.model
        if self.recipe.family == "diffusion":
            return self.model.net
        if self.recipe.family == "autoregressive":
            return self.model
        return self.model.ema.module if self.model.ema is not None else self.model.generator

    def sample(self, n: int, labels: Tensor | None = None, seed: int = 0) -> Tensor:
        """n samples (n, D) in [0, 1] on the CPU; labels (n,) for a conditional recipe
        (default: balanced, shuffled). The same seed gives the same samples."""
        if self.recipe.conditional and labels is None:
            labels = balanced_labels(n, seed=seed)
        if not self.recipe.conditional and labels is not None:
            raise ValueError(f"{self.recipe.name} is unconditional: labels must be None")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            if self.recipe.family == "gan":
                out = gan.sample(self.generator, n, labels=labels)
            elif self.recipe.family == "autoregressive":
                length = MELODY_STEPS if self.recipe.dataset == "chorales" else 64
                out = autoregressive.sample(self.model, n, length,
                                            temperature=self.recipe.temperature, seed=seed)
                if self.recipe.dataset == "chorales":  # melodies of MIDI pitches
                    return torch.as_tensor(music.from_tokens(out.numpy()))
                out = out.float()
            elif self.recipe.family == "diffusion":
                r = self.recipe
                out = diffusion.to_pixels(diffusion.sample(
                    self.model, n, labels, steps=r.sample_steps, guidance=r.guidance, eta=r.eta,
                    seed=seed))
            else:
                c = None if labels is None else F.one_hot(labels.long(), 10).float()
                out = vae.sample(self.model, n, c, prior=self.prior, seed=seed)
        return out.clamp(0, 1).cpu()


def build(r: Recipe) -> tuple[nn.Module, dict[str, torch.optim.Optimizer]]:
    """The untrained model of a recipe and its optimisers, by the name of what they update."""
    dim = 64 if r.dataset == "digits" else convnets.DATA_DIM
    classes = 10 if r.conditional else 0
    adam = lambda m: torch.optim.Adam(m.parameters(), lr=r.lr, betas=r.betas)  # noqa: E731
    if r.family == "autoregressive":
        vocab, context = ((music.HIGH - music.LOW + 2, MELODY_STEPS) if r.dataset == "chorales"
                          else (2, 64))
        model = autoregressive.Transformer(vocab, context, r.hidden, r.heads, r.blocks,
                                           r.dropout)
        return model, {"model": torch.optim.AdamW(model.parameters(), lr=r.lr, betas=r.betas,
                                                  weight_decay=0.05)}
    if r.family == "diffusion":
        net = (unet.UNet(r.hidden, n_classes=classes) if r.network == "unet" else
               diffusion.Denoiser(dim, r.hidden, r.blocks, n_classes=classes, dropout=r.dropout))
        model = diffusion.Diffusion(net, r.timesteps, ema_decay=r.ema_decay)
        return model, {"denoiser": adam(net)}
    if r.family == "vae":
        model = vae.VAE(vae.VAEConfig(data_dim=dim, latent_dim=r.latent_dim, hidden=r.hidden,
                                      cond_dim=classes, network=r.network))
        return model, {"model": adam(model)}
    if r.network == "conv":
        g, d = convnets.ConvGenerator(r.latent_dim, r.hidden), convnets.ConvDiscriminator(r.hidden)
    else:
        g = gan.Generator(r.latent_dim, dim, r.hidden, n_classes=classes, output="sigmoid")
        d = gan.Discriminator(dim, r.hidden, n_classes=classes)
    model = gan.GAN(g, d, ema_decay=r.ema_decay)
    return model, {"discriminator": adam(d), "generator": adam(g)}


def training_rows(r: Recipe, n: int, profile: str) -> int:
    """How many of n training rows recipe r trains on in `profile` (quick: its quick_rows)."""
    return min(n, r.quick_rows) if profile == "quick" and r.quick_rows else n


def train_recipe(name: str, profile: str | None = None, device: torch.device | str | None = None,
                 seed: int = 0, split: data.Split | None = None, callbacks=(),
                 quiet: bool = True, reuse: bool = True) -> Trained:
    """Train recipe `name` as the book does in `profile` (default: the current profile).

    With reuse (and no callbacks), a recipe trained before on the same data, seed, profile,
    device and genai_lib source is loaded from runtime.cache_dir() instead (`saved_path`), with
    its history, its training seconds and the random state training left behind.
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
    if path is not None and path.exists():
        saved = checkpoint.load(path)
        model.load_state_dict(saved["model"])
        model.to(runtime.device(None if device is None else str(device))).eval()
        checkpoint.set_rng_state(saved["rng"])
        history, seconds = saved["history"], saved["seconds"]
    else:
        history, seconds = _train(r, model, optimizers, x, y, profile, device, seed, callbacks,
                                  quiet)
        if path is not None:
            checkpoint.save(path, {"model": model.state_dict(), "history": history,
                                   "seconds": seconds, "rng": checkpoint.rng_state()})
    prior = vae.fit_code_prior(model, x, r.code_prior, seed) if r.code_prior else None
    epochs = len(next(iter(history.values()), []))
    return Trained(r, model, history, seconds, prior, epochs * math.ceil(len(x) / r.batch_size))


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
    return runtime.cache_dir() / folder / f"{name}-{h.hexdigest()[:16]}.pt"


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
    if path.exists():
        model = quality.Judge(data_dim=x.shape[1], hidden=hidden)
        model.load_state_dict(checkpoint.load(path)["model"])
        return model.to(runtime.device(None if device is None else str(device))).eval()
    model = quality.train_judge(split, epochs=epochs, hidden=hidden, device=device)
    checkpoint.save(path, {"model": model.state_dict()})
    return model


def _train(r: Recipe, model: nn.Module, optimizers: dict[str, torch.optim.Optimizer],
           x: Tensor, y: Tensor, profile: str, device, seed: int, callbacks,
           quiet: bool) -> tuple[dict[str, list[float]], float]:
    """Train a built recipe on (x, y) with its step; returns (history, seconds)."""
    if r.family == "gan":  # a conditional GAN reads labels, a conditional VAE one-hot codes
        batches = (x, y) if r.conditional else x
        step = gan.gan_step(model.generator, model.discriminator, optimizers["generator"],
                            optimizers["discriminator"], r.latent_dim, "ns", ema=model.ema)
    elif r.family == "autoregressive":  # tokens: pixels 0/1 or melody classes
        batches = x.long()
        step = one_cycle(autoregressive.sequence_step(model, optimizers["model"]), r,
                         r.epochs[profile == "full"], len(x))
    elif r.family == "diffusion":  # on the scale [-1, 1]; a conditional denoiser reads labels
        batches = (diffusion.to_signal(x), y) if r.conditional else diffusion.to_signal(x)
        step = diffusion_step(model, optimizers["denoiser"], r, r.epochs[profile == "full"],
                              len(x))
    else:
        batches = (x, F.one_hot(y, 10).float()) if r.conditional else x
        step = vae.vae_step(model, optimizers["model"], beta=r.beta)
    start = time.perf_counter()
    history = train.fit(model, batches, step, epochs=r.epochs[profile == "full"],
                        batch_size=r.batch_size, device=device, quiet=quiet, seed=seed,
                        callbacks=callbacks)
    return history, time.perf_counter() - start


def _one_cycle(optimizer: torch.optim.Optimizer, r: Recipe, epochs: int, rows: int):
    """A one-cycle learning rate: up for the first 10 % of the updates, then down to nearly 0."""
    total = max(1, epochs * math.ceil(rows / r.batch_size))
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, r.lr, total_steps=total, pct_start=0.1)


def one_cycle(step: train.Step, r: Recipe, epochs: int, rows: int) -> train.Step:
    """`step` (with one optimiser), followed by one step of a one-cycle learning-rate schedule."""
    (optimizer,) = step.optimizers.values()
    schedule = _one_cycle(optimizer, r, epochs, rows)

    def scheduled(batch: train.Batch) -> dict[str, Tensor]:
        logs = step(batch)
        schedule.step()
        return logs

    return train.Step(scheduled, step.optimizers)


def diffusion_step(model: diffusion.Diffusion, optimizer: torch.optim.Optimizer, r: Recipe,
                   epochs: int, rows: int) -> train.Step:
    """The book's diffusion training: min-SNR 5 loss, a one-cycle learning rate, labels
    dropped 10 % of the time."""
    return diffusion.diffusion_step(model, optimizer, p_uncond=0.1 if r.conditional else 0.0,
                                    min_snr=5.0, scheduler=_one_cycle(optimizer, r, epochs, rows))
