"""Typical mistakes, across the chapters' checkers: one row per (category, checker).

Each row is a learner's answer; a wrong one must be refused with a message that names the actual
mistake (its key words), a right one must be accepted. The categories are those of the issue
"Checkers, once more": a library routine where the exercise says to write it yourself, a model
that has seen the test set, a sharded gradient that never uses its shards, noise shared across
dimensions, a conceptual answer left None, right answers the checkers used to refuse (a sigmoid
written by hand, a gradient rounded to three decimals), and feedback that named the wrong
mistake (the ±1 perceptron convention, a number given as a string).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import NamedTuple

import numpy as np
import pytest
import scipy.special
import torch
from scipy.special import logsumexp
from torch import nn
from torch.nn import functional as F

from genai_lib import art, data, synthetic, vae
from genai_lib.exercises import Feedback, compare
from genai_lib.exercises import applications_art_music as art_music
from genai_lib.exercises import applications_tabular as tabular
from genai_lib.exercises import backprop, deep, gans, layers, neurons, scaling, vaes
from genai_lib.train import fit
from test_exercises_deep import TinyCNN  # the reference CNN of exercise 4.2

LIBRARY = "library routine where the exercise says: write it yourself"
TEST_SET = "model that has seen the test set"
SHARDS = "sharded gradient that never uses its shards"
SHARED_NOISE = "noise shared across dimensions"
CONCEPT_NONE = "conceptual answer left None"
REFUSED_RIGHT = "right answer that was refused"
WRONG_NAME = "feedback that named the wrong mistake"
CATEGORIES = (LIBRARY, TEST_SET, SHARDS, SHARED_NOISE, CONCEPT_NONE, REFUSED_RIGHT, WRONG_NAME)


class Row(NamedTuple):
    """One answer: its checker's verdict (computed lazily), whether it is right, and the words
    the message must (and must not) contain."""

    id: str
    category: str
    verdict: Callable[[], Feedback]
    ok: bool
    says: tuple[str, ...] = ()
    not_says: tuple[str, ...] = ()


# --- answers that need some code -------------------------------------------------------------

def softmax_scipy_lse(z):
    return np.exp(z - scipy.special.logsumexp(z, axis=1, keepdims=True))


def softmax_imported_lse(z):
    return np.exp(z - logsumexp(z, axis=1, keepdims=True))


def softmax_torch_lse(z):
    t = torch.as_tensor(z)
    return torch.exp(t - torch.logsumexp(t, 1, keepdim=True)).numpy()


def softmax_torch(z):
    return torch.softmax(torch.as_tensor(z), 1).numpy()


def softmax_log_softmax(z):
    return F.log_softmax(torch.as_tensor(z), 1).exp().numpy()


def softmax_import_inside(z):
    from scipy.special import softmax
    return softmax(z, axis=1)


def softmax_logaddexp(z):
    return np.exp(z - np.logaddexp.reduce(z, axis=1, keepdims=True))


def softmax_by_hand(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def balanced_accuracy_sklearn(y_true, y_pred):
    from sklearn.metrics import balanced_accuracy_score
    return balanced_accuracy_score(y_true, y_pred)


def dcr_cdist(query, reference):
    from scipy.spatial.distance import cdist
    return cdist(query, reference).min(axis=1)


def sharded_unused(x, y, w, world):
    """Cuts x into shards, then takes the full-batch gradient anyway."""
    shards = x.chunk(world)  # noqa: F841  (never used)
    w = w.detach().clone().requires_grad_()
    ((x @ w - y) ** 2).mean().backward()
    return w.grad


def sharded_formula(x, y, w, world):
    """Cuts x and y into shards, then the full-batch gradient by its formula."""
    xs, ys = [x[r::world] for r in range(world)], [y[r::world] for r in range(world)]  # noqa: F841
    return 2 * x.T @ (x @ w - y) / len(x)


def sharded_by_rows(x, y, w, world):
    """Right: each shard's gradient from its own rows, then the average."""
    grads = []
    for r in range(world):
        w_r = w.detach().clone().requires_grad_()
        ((x[r::world] @ w_r - y[r::world]) ** 2).mean().backward()
        grads.append(w_r.grad)
    return torch.stack(grads).mean(0)


def perceptron_pm1_prediction(w, b, x, y, lr):
    """The ±1 convention's prediction, sign(z), with the {0, 1} labels of the exercise."""
    y_hat = 1 if x @ w + b >= 0 else -1
    return w + lr * (y - y_hat) * x, b + lr * (y - y_hat)


def perceptron_pm1_rule(w, b, x, y, lr):
    """The ±1 textbook rule: update when y (w.x + b) <= 0."""
    if y * (x @ w + b) <= 0:
        return w + lr * y * x, b + lr * y
    return w.copy(), b


def perceptron_no_lr(w, b, x, y, lr):
    y_hat = 1 if x @ w + b >= 0 else 0
    return w + (y - y_hat) * x, b + (y - y_hat)


SIZES = [64] + [32] * 19 + [10]


class Sigmoids(nn.Module):
    """20 Linear layers with batch normalisation and an activation written out in forward."""

    def __init__(self, activation: Callable):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(SIZES, SIZES[1:]))
        self.norms = nn.ModuleList(nn.BatchNorm1d(b) for b in SIZES[1:-1])
        self.activation = activation

    def forward(self, x):
        for layer, norm in zip(self.layers, self.norms):
            x = self.activation(norm(layer(x)))
        return self.layers[-1](x)


def gradient_flow(activation: Callable) -> Feedback:
    torch.manual_seed(0)
    return deep.check_gradient_flow(Sigmoids(activation))


class Lookup(nn.Module):
    """A "classifier" that looks each image up among stored, labelled ones: training on them in
    the limit. A 1x1 convolution keeps it a CNN with two parameters."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor):
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 1)
        self.register_buffer("images", x.flatten(1))
        self.register_buffer("labels", y)

    def forward(self, img):
        nearest = torch.cdist(img.flatten(1), self.images).argmin(1)
        scores = 10 * F.one_hot(self.labels[nearest], 10).float()
        return scores + 1e-3 * self.conv(img).flatten(1)[:, :10]


def accuracy_trained_on_test() -> Feedback:
    split = data.digits(images=True)
    torch.manual_seed(0)
    model = TinyCNN()
    fit(model, (split.x_test, split.y_test), loss_fn=F.cross_entropy, epochs=40, lr=1e-2,
        batch_size=32, quiet=True, device="cpu")
    return deep.check_accuracy(model)


def accuracy_lookup_all() -> Feedback:
    split = data.digits(images=True)
    return deep.check_accuracy(Lookup(torch.cat([split.x_train, split.x_test]),
                                      torch.cat([split.y_train, split.y_test])))


@cache
def marketing() -> tuple:
    """(x_train, y_train, x_test, y_test, the probabilities of the model fitted on x_train)."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(1500, 3))
    y = (x[:, 0] + rng.normal(scale=1.5, size=1500) > 2.6).astype(int)
    x_tr, y_tr, x_te, y_te = x[:1000], y[:1000], x[1000:], y[1000:]
    prob = LogisticRegression(max_iter=2000).fit(x_tr, y_tr).predict_proba(x_te)[:, 1]
    return x_tr, y_tr, x_te, y_te, prob


def threshold(kind: str) -> Feedback:
    from sklearn.linear_model import LogisticRegression

    x_tr, y_tr, x_te, y_te, prob = marketing()
    if kind == "right":
        y_pred = (prob > y_tr.mean()).astype(int)
    elif kind == "trained on test":
        leak = LogisticRegression(max_iter=2000).fit(x_te, y_te).predict_proba(x_te)[:, 1]
        y_pred = (leak > y_tr.mean()).astype(int)
    elif kind == "labels":
        y_pred = y_te.copy()
    else:  # predictions for the training rows
        model = LogisticRegression(max_iter=2000).fit(x_tr, y_tr)
        y_pred = (model.predict_proba(x_tr)[:, 1] > y_tr.mean()).astype(int)
    return tabular.check_threshold_predictions(y_pred, y_te, baseline=0.5,
                                               reference=(x_tr, y_tr, x_te))


def memorising(noise: Callable | None, noticed_by: str | None = "privacy") -> Feedback:
    g = torch.Generator().manual_seed(0)
    x_train, x_holdout = torch.randn(200, 5, generator=g), torch.randn(100, 5, generator=g)
    torch.manual_seed(1)
    return tabular.check_memorising_generator(x_train + 0.01 * noise(x_train), x_train,
                                              x_holdout, noticed_by)


def memorised(measure: str | None) -> Feedback:
    x_train = torch.rand(50, 64, generator=torch.Generator().manual_seed(0))
    return gans.check_memorised(x_train[:10].repeat_interleave(45, dim=0), x_train, n=450,
                                measure=measure)


DW, DB = backprop.hand_gradient()
PLAN = {"per_rank_batch": 64, "steps_per_epoch": 195, "rows_dropped": 80}
HCORR = lambda img: float(np.corrcoef(img[:, :-1].ravel(), img[:, 1:].ravel())[0, 1])  # noqa: E731

# --- the table ---------------------------------------------------------------------------------

ROWS = [
    # a library routine where the exercise says "write it yourself"
    Row("softmax: scipy.special.logsumexp", LIBRARY,
        lambda: layers.check_softmax(softmax_scipy_lse), False, ("library log-sum-exp",
                                                                   "logsumexp", "yourself")),
    Row("softmax: logsumexp imported from scipy", LIBRARY,
        lambda: layers.check_softmax(softmax_imported_lse), False, ("log-sum-exp", "yourself")),
    Row("softmax: torch.logsumexp", LIBRARY,
        lambda: layers.check_softmax(softmax_torch_lse), False, ("log-sum-exp", "logsumexp")),
    Row("softmax: torch.softmax", LIBRARY,
        lambda: layers.check_softmax(softmax_torch), False, ("library softmax", "yourself")),
    Row("softmax: F.log_softmax", LIBRARY,
        lambda: layers.check_softmax(softmax_log_softmax), False, ("library softmax",
                                                                     "log_softmax")),
    Row("softmax: imported inside the function", LIBRARY,
        lambda: layers.check_softmax(softmax_import_inside), False, ("library softmax",)),
    Row("softmax: np.logaddexp.reduce", LIBRARY,
        lambda: layers.check_softmax(softmax_logaddexp), False, ("log-sum-exp", "logaddexp")),
    Row("softmax: written by hand", LIBRARY,
        lambda: layers.check_softmax(softmax_by_hand), True),
    Row("KL: gaussian_kl called", LIBRARY,
        lambda: vaes.check_gaussian_kl(lambda mu, lv: vae.gaussian_kl(mu, lv)), False,
        ("`my_kl`", "gaussian_kl", "yourself")),
    Row("KL: torch.distributions.kl_divergence", LIBRARY,
        lambda: vaes.check_gaussian_kl(lambda mu, lv: torch.distributions.kl_divergence(
            torch.distributions.Normal(mu, (0.5 * lv).exp()),
            torch.distributions.Normal(0.0, 1.0)).sum(1)), False, ("kl_divergence",)),
    Row("reparameterise: the library's reparameterize", LIBRARY,
        lambda: vaes.check_reparameterize(lambda mu, lv: vae.reparameterize(mu, lv)), False,
        ("reparameterize", "yourself")),
    Row("reparameterise: Normal(...).rsample()", LIBRARY,
        lambda: vaes.check_reparameterize(lambda mu, lv: torch.distributions.Normal(
            mu, (0.5 * lv).exp()).rsample()), False, ("rsample", "yourself")),
    Row("balanced accuracy: scikit-learn", LIBRARY,
        lambda: tabular.check_balanced_accuracy(balanced_accuracy_sklearn), False,
        ("sklearn", "balanced_accuracy_score", "yourself")),
    Row("dcr: scipy's cdist", LIBRARY, lambda: tabular.check_dcr(dcr_cdist), False,
        ("cdist", "NumPy")),
    Row("dcr: the library's distance_to_closest_record", LIBRARY,
        lambda: tabular.check_dcr(lambda q, r: synthetic.distance_to_closest_record(q, r)),
        False, ("distance_to_closest_record",)),
    Row("marginals: the library's independent_marginals", LIBRARY,
        lambda: tabular.check_independent_marginals(
            lambda x, n, seed: synthetic.independent_marginals(x, n, seed)), False,
        ("independent_marginals", "yourself")),
    Row("correlation by hand: art.neighbour_correlation", LIBRARY,
        lambda: art_music.check_horizontal_correlation(
            lambda img: art.neighbour_correlation(img)), False, ("neighbour_correlation",)),
    Row("correlation by hand: np.corrcoef", LIBRARY,
        lambda: art_music.check_horizontal_correlation(HCORR), True),

    # a model that has seen the test set
    Row("digits CNN trained on the test set", TEST_SET, accuracy_trained_on_test, False,
        ("trained on the test",)),
    Row("digits lookup of train and test images", TEST_SET, accuracy_lookup_all, False,
        ("1.000", "trained on the test images")),
    Row("threshold: model fitted on the test rows", TEST_SET,
        lambda: threshold("trained on test"), False, ("trained on the test set",)),
    Row("threshold: y_pred is y_test", TEST_SET, lambda: threshold("labels"), False,
        ("identical to the test labels",)),
    Row("threshold: predictions for the training rows", TEST_SET,
        lambda: threshold("train rows"), False, ("*training* row", "x_test")),
    Row("threshold: the right predictions", TEST_SET, lambda: threshold("right"), True),

    # a "sharded" gradient that never uses its shards
    Row("shards cut, full-batch gradient taken", SHARDS,
        lambda: scaling.check_sharded_gradient(sharded_unused), False,
        ("never uses them", "all the rows", "matmul")),
    Row("shards cut, full-batch formula", SHARDS,
        lambda: scaling.check_sharded_gradient(sharded_formula), False, ("never uses them",)),
    Row("each shard's own gradient, averaged", SHARDS,
        lambda: scaling.check_sharded_gradient(sharded_by_rows), True),

    # noise shared across dimensions
    Row("reparameterise: one eps per example (B, 1)", SHARED_NOISE,
        lambda: vaes.check_reparameterize(
            lambda mu, lv: mu + torch.exp(0.5 * lv) * torch.randn(mu.shape[0], 1)), False,
        ("correlated", "shared across the latent dimensions", "randn_like")),
    Row("reparameterise: one eps per entry", SHARED_NOISE,
        lambda: vaes.check_reparameterize(
            lambda mu, lv: mu + torch.exp(0.5 * lv) * torch.randn_like(mu)), True),
    Row("memorising generator: one offset per row", SHARED_NOISE,
        lambda: memorising(lambda x: torch.randn(len(x), 1)), False,
        ("noise is shared", "every column", "randn_like")),
    Row("memorising generator: one offset for all", SHARED_NOISE,
        lambda: memorising(lambda x: torch.randn(1)), False, ("noise is shared",)),
    Row("memorising generator: the same noise in every row", SHARED_NOISE,
        lambda: memorising(lambda x: torch.randn(x.shape[1])), False,
        ("noise is shared", "every row")),
    Row("memorising generator: noise per entry", SHARED_NOISE,
        lambda: memorising(torch.randn_like), True),

    # a conceptual answer left None while the computed part is right
    Row("memorised digits, `measure` None", CONCEPT_NONE, lambda: memorised(None), False,
        ("`measure` is None", "rows are right")),
    Row("memorised digits, `measure` answered", CONCEPT_NONE, lambda: memorised("recall"), True),
    Row("memorising generator, `noticed_by` None", CONCEPT_NONE,
        lambda: memorising(torch.randn_like, None), False, ("`noticed_by` is None",)),
    Row("hand gradient with dL_dw None", CONCEPT_NONE,
        lambda: backprop.check_hand_gradient((None, DB)), False, ("`dL_dw`", "is None")),
    Row("shard plan with a value None", CONCEPT_NONE,
        lambda: scaling.check_shard_plan({**PLAN, "rows_dropped": None}), False,
        ("`plan['rows_dropped']` is None",)),

    # right answers that were refused
    Row("gradient flow: sigmoid as 1 / (1 + exp(-z))", REFUSED_RIGHT,
        lambda: gradient_flow(lambda z: 1 / (1 + torch.exp(-z))), True),
    Row("gradient flow: sigmoid as (1 + tanh(z / 2)) / 2", REFUSED_RIGHT,
        lambda: gradient_flow(lambda z: (1 + torch.tanh(z / 2)) / 2), True),
    Row("gradient flow: torch.special.expit", REFUSED_RIGHT,
        lambda: gradient_flow(torch.special.expit), True),
    Row("gradient flow: ReLU written out is no sigmoid", REFUSED_RIGHT,
        lambda: gradient_flow(lambda z: z.clamp(min=0)), False, ("keep a sigmoid",)),
    Row("hand gradient rounded to 3 decimals", REFUSED_RIGHT,
        lambda: backprop.check_hand_gradient((round(DW, 3), round(DB, 3))), True),
    Row("hand gradient rounded to 4 decimals", REFUSED_RIGHT,
        lambda: backprop.check_hand_gradient((round(DW, 4), round(DB, 4))), True),
    Row("hand gradient rounded to 2 decimals", REFUSED_RIGHT,
        lambda: backprop.check_hand_gradient((round(DW, 2), round(DB, 2))), False,
        ("rounded too coarsely", "three decimals")),

    # feedback that named the wrong mistake
    Row("perceptron: ±1 prediction sign(z)", WRONG_NAME,
        lambda: neurons.check_perceptron_update(perceptron_pm1_prediction), False,
        ("±1", "0 or 1"), ("left out the learning rate",)),
    Row("perceptron: ±1 rule, update when y z <= 0", WRONG_NAME,
        lambda: neurons.check_perceptron_update(perceptron_pm1_rule), False,
        ("±1", "{-1, +1}", "0 or 1"), ("unchanged",)),
    Row("perceptron: the learning rate left out", WRONG_NAME,
        lambda: neurons.check_perceptron_update(perceptron_no_lr), False,
        ("left out the learning rate",), ("±1",)),
    Row("shard plan: the string '64'", WRONG_NAME,
        lambda: scaling.check_shard_plan({**PLAN, "per_rank_batch": "64"}), False,
        ("`plan['per_rank_batch']` is the string '64'", "give the number 64"),
        ("expected 64",)),
    Row("parameter count: the string '211'", WRONG_NAME,
        lambda: layers.check_param_count("211"), False, ("string '211'", "number 211")),
    Row("parameter count (chapter 4): the string '17226'", WRONG_NAME,
        lambda: deep.check_parameter_count("17226"), False, ("string '17226'",)),
    Row("largest learning rate: the string '0.2'", WRONG_NAME,
        lambda: backprop.check_max_learning_rate("0.2"), False, ("string '0.2'",)),
    Row("hand gradient: strings", WRONG_NAME,
        lambda: backprop.check_hand_gradient((str(round(DW, 4)), str(round(DB, 4)))), False,
        ("holds the string",)),
    Row("neuron output: the string '0.2689'", WRONG_NAME,
        lambda: neurons.check_neuron_output("0.2689"), False, ("`y` is the string",)),
    Row("gate bias: a string", WRONG_NAME,
        lambda: neurons.check_gate([-1.0, -1.0], "1.5"), False, ("`b` is the string '1.5'",)),
    Row("newsvendor order: a string", WRONG_NAME,
        lambda: tabular.check_newsvendor_order("112.5"), False, ("`order` is the string",)),
    Row("balanced accuracy returns an f-string", WRONG_NAME,
        lambda: tabular.check_balanced_accuracy(
            lambda y, p: f"{np.mean([np.mean(p[y == k] == k) for k in np.unique(y)]):.3f}"),
        False, ("returned the string",)),
    Row("midi_to_hz returns a string", WRONG_NAME,
        lambda: art_music.check_midi_to_hz(lambda p: str(440 * 2 ** ((p - 69) / 12))), False,
        ("returned the string '440.0'",)),
    Row("melody of strings", WRONG_NAME,
        lambda: art_music.check_melody(["60"] * 16), False, ("`melody` holds the string",)),
    Row("js returns a string", WRONG_NAME,
        lambda: gans.check_js_divergence(lambda p, q: str(gans.js_divergence(p, q))), False,
        ("`js` returned the string",)),
    Row("compare: a string for a number", WRONG_NAME, lambda: compare("x", "64", 64), False,
        ("`x` is the string '64'", "give the number 64")),
]


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.category[:12]}: {r.id}" for r in ROWS])
def test_typical_mistake(row: Row):
    verdict = row.verdict()
    assert isinstance(verdict, Feedback)
    assert verdict.ok is row.ok, verdict.message
    for words in row.says:
        assert words in verdict.message, (words, verdict.message)
    for words in row.not_says:
        assert words not in verdict.message, (words, verdict.message)


def test_every_category_has_a_wrong_and_a_right_row():
    for category in CATEGORIES:
        rows = [r for r in ROWS if r.category == category]
        assert any(not r.ok for r in rows), category
        assert any(r.ok for r in rows) or category == WRONG_NAME, category


def test_ids_are_unique():
    assert len({r.id for r in ROWS}) == len(ROWS)
