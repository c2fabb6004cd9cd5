"""genai_lib.exercises.autoregressive: reference answers pass, typical mistakes fail with the
right message."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from genai_lib.autoregressive import NGram, attention, causal_mask
from genai_lib.exercises.autoregressive import (check_attention_head, check_causal_mask,
                                                check_count_nll, count_nll_reference,
                                                head_reference)


def _raises(*args):
    """A learner's function that fails."""
    raise ZeroDivisionError("division by zero")


# --- causal_mask ------------------------------------------------------------------------------

def mask_solution(t: int) -> torch.Tensor:
    """Reference solution: True on and below the diagonal."""
    return torch.ones(t, t, dtype=torch.bool).tril()


def test_causal_mask_accepts_right_answers():
    assert check_causal_mask(mask_solution)
    assert check_causal_mask(causal_mask)
    assert check_causal_mask(lambda t: torch.arange(t)[None, :] <= torch.arange(t)[:, None])


@pytest.mark.parametrize("fn, phrase", [
    (lambda t: torch.ones(t, t, dtype=torch.bool).triu(), "looks at j >= i, the future"),
    (lambda t: torch.ones(t, t, dtype=torch.bool).tril(-1), "the diagonal is excluded"),
    (lambda t: torch.ones(t, t, dtype=torch.bool).triu(1), "the opposite convention"),
    (lambda t: torch.ones(t, t, dtype=torch.bool), "nothing is masked"),
    (lambda t: torch.eye(t, dtype=torch.bool), "only the diagonal"),
    (lambda t: torch.ones(t, t).tril(), "convert yours with `.bool()`"),
    (lambda t: torch.ones(t, t, dtype=torch.long).tril(), "dtype torch.int64"),
    (lambda t: torch.ones(t, t).triu(), "(tril, not triu). Also, your mask has dtype"),
    (lambda t: torch.full((t, t), float("-inf")).triu(1), "the additive form of the mask"),
    (lambda t: torch.full((t, t), -1e9).triu(1), "wants the boolean form"),
    (lambda t: torch.full((t, t), float("-inf")).tril(-1), "in the wrong place"),
    (lambda t: 2 * torch.ones(t, t).tril(), "values other than 0 and 1"),
    (lambda t: torch.ones(t, t, dtype=torch.bool).tril()[:-1], "expected"),
    (lambda t: torch.ones(1, t, t, dtype=torch.bool).tril(), "has shape (1,"),
    (lambda t: np.tril(np.ones((t, t), dtype=bool)), "should return a torch tensor"),
    (lambda t: mask_solution(t) ^ (torch.arange(t)[:, None] == 3) & (torch.arange(t) == 0),
     "wrong at (i, j) = (3, 0)"),
    (lambda t: None, "forget to `return`"),
    (_raises, "raised ZeroDivisionError"),
])
def test_causal_mask_mistakes(fn, phrase):
    verdict = check_causal_mask(fn)
    assert not verdict
    assert phrase in verdict.message, verdict.message


def test_causal_mask_no_function():
    assert not check_causal_mask(None)
    assert "is None" in check_causal_mask(None).message
    assert "should be a function" in check_causal_mask(mask_solution(3)).message


# --- attention_head ---------------------------------------------------------------------------

def head(x: torch.Tensor, w_q: torch.Tensor, w_k: torch.Tensor,
         w_v: torch.Tensor) -> torch.Tensor:
    """Reference solution: one causal self-attention head."""
    q, k, v = x @ w_q, x @ w_k, x @ w_v
    t, d = q.shape
    scores = q @ k.T / math.sqrt(d)
    scores = scores.masked_fill(~torch.ones(t, t, dtype=torch.bool).tril(), float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def _parts(x, w_q, w_k, w_v):
    """q, k, v, the causal mask and sqrt(d), for the mistaken heads below."""
    q, k, v = x @ w_q, x @ w_k, x @ w_v
    return q, k, v, torch.ones(len(x), len(x), dtype=torch.bool).tril(), math.sqrt(q.shape[1])


def _unscaled(x, w_q, w_k, w_v):
    """No 1/sqrt(d)."""
    q, k, v, m, _ = _parts(x, w_q, w_k, w_v)
    return (q @ k.T).masked_fill(~m, float("-inf")).softmax(-1) @ v


def _by_d(x, w_q, w_k, w_v):
    """Divides by d instead of sqrt(d)."""
    q, k, v, m, r = _parts(x, w_q, w_k, w_v)
    return (q @ k.T / r ** 2).masked_fill(~m, float("-inf")).softmax(-1) @ v


def _unmasked(x, w_q, w_k, w_v):
    """No causal mask."""
    q, k, v, _, r = _parts(x, w_q, w_k, w_v)
    return (q @ k.T / r).softmax(-1) @ v


def _dim0(x, w_q, w_k, w_v):
    """Softmax down the columns."""
    q, k, v, m, r = _parts(x, w_q, w_k, w_v)
    return (q @ k.T / r).masked_fill(~m, float("-inf")).softmax(0) @ v


def _mask_after(x, w_q, w_k, w_v):
    """Zeroes the future weights after the softmax."""
    q, k, v, m, r = _parts(x, w_q, w_k, w_v)
    return (q @ k.T / r).softmax(-1).masked_fill(~m, 0.0) @ v


def _no_values(x, w_q, w_k, w_v):
    """Weights x instead of v."""
    q, k, _, m, r = _parts(x, w_q, w_k, w_v)
    return (q @ k.T / r).masked_fill(~m, float("-inf")).softmax(-1) @ x


def _transposed(x, w_q, w_k, w_v):
    """k q^T instead of q k^T."""
    q, k, v, m, r = _parts(x, w_q, w_k, w_v)
    return (k @ q.T / r).masked_fill(~m, float("-inf")).softmax(-1) @ v


def _zero_fill(x, w_q, w_k, w_v):
    """Multiplies the scores by the mask (blocked scores 0, not -inf)."""
    q, k, v, m, r = _parts(x, w_q, w_k, w_v)
    return (q @ k.T / r * m).softmax(-1) @ v


def _upper(x, w_q, w_k, w_v):
    """Keeps the upper triangle."""
    q, k, v, m, r = _parts(x, w_q, w_k, w_v)
    return (q @ k.T / r).masked_fill(~m.T, float("-inf")).softmax(-1) @ v


def _inverted_fill(x, w_q, w_k, w_v):
    """Fills -inf where the mask is True."""
    q, k, v, m, r = _parts(x, w_q, w_k, w_v)
    return (q @ k.T / r).masked_fill(m, float("-inf")).softmax(-1) @ v


def _renormalised(x, w_q, w_k, w_v):
    """Masks after the softmax, then renormalises the rows (right)."""
    q, k, v, m, r = _parts(x, w_q, w_k, w_v)
    w = (q @ k.T / r).softmax(-1) * m
    return w / w.sum(-1, keepdim=True) @ v


def test_attention_head_accepts_right_answers():
    assert check_attention_head(head)
    assert check_attention_head(head_reference)
    assert check_attention_head(lambda x, wq, wk, wv: F.scaled_dot_product_attention(
        x @ wq, x @ wk, x @ wv, is_causal=True))
    assert check_attention_head(lambda x, wq, wk, wv: attention(
        x @ wq, x @ wk, x @ wv, causal_mask(len(x))))
    assert check_attention_head(_renormalised)  # masking after the softmax, then renormalising
    assert check_attention_head(lambda *a: head(*(z.double() for z in a)).numpy())


@pytest.mark.parametrize("fn, phrase", [
    (_unscaled, "the scores are not scaled"),
    (_by_d, "you divided the scores by d"),
    (_unmasked, "there is no causal mask"),
    (_dim0, "the softmax runs over the wrong axis"),
    (_mask_after, "you masked after the softmax"),
    (_no_values, "you weighted x instead of the values"),
    (_transposed, "the scores are transposed"),
    (_zero_fill, "set the blocked scores to 0"),
    (_upper, "the mask keeps the future"),
    (_inverted_fill, "contains NaN"),
    (lambda x, wq, wk, wv: x @ wq.T, "q = x @ w_q is (T, d)"),  # shapes do not fit
    (lambda x, wq, wk, wv: head(x, wq, wk, wv)[None], "has shape"),
    (lambda x, wq, wk, wv: head(x, wq, wk, wv) + 0.01, "is not right at index"),
    (lambda x, wq, wk, wv: "out", "should return a tensor"),
    (lambda x, wq, wk, wv: None, "forget to `return`"),
    (_raises, "raised ZeroDivisionError"),
])
def test_attention_head_mistakes(fn, phrase):
    verdict = check_attention_head(fn)
    assert not verdict
    assert phrase in verdict.message, verdict.message


def test_attention_head_no_function():
    assert not check_attention_head(None)
    assert "should be a function" in check_attention_head(torch.zeros(3)).message


# --- count_nll --------------------------------------------------------------------------------

def count_nll(train: torch.Tensor, test: torch.Tensor, vocab: int, k: float) -> float:
    """Reference solution: the library's bigram model."""
    return -NGram(vocab, 2, k).fit(train).log_probs(test).mean().item()


def count_nll_by_hand(train, test, vocab, k):
    """A correct alternative: a (vocab + 1, vocab) count table, the start token as row vocab."""
    def pairs(x):
        start = torch.full((len(x), 1), vocab)
        return torch.cat([start, x[:, :-1]], 1).flatten(), x.flatten()
    counts = torch.zeros(vocab + 1, vocab, dtype=torch.float64)
    counts.index_put_(pairs(train), torch.ones(train.numel(), dtype=torch.float64),
                      accumulate=True)
    probs = (counts + k) / (counts.sum(1, keepdim=True) + k * vocab)
    return -probs[pairs(test)].log().mean()


def _counts(train, vocab, k, start=True, kv=True):
    """A learner's count table (rows: contexts, the start token last), optionally flawed."""
    c = np.zeros((vocab + 1, vocab))
    x = train.numpy()
    prev = np.concatenate([np.full((len(x), 1), vocab), x[:, :-1]], 1)
    if not start:
        prev, x = prev[:, 1:], x[:, 1:]
    np.add.at(c, (prev, x), 1)
    return (c + k) / (c.sum(1, keepdims=True) + (k * vocab if kv else 0))


def _lp(probs, test, vocab):
    """log p of every test token (M, T) under a count table."""
    x = test.numpy()
    prev = np.concatenate([np.full((len(x), 1), vocab), x[:, :-1]], 1)
    with np.errstate(divide="ignore"):
        return np.log(probs[prev, x])


def _unsmoothed(train, test, vocab, k):
    """No smoothing (k ignored)."""
    return -_lp(_counts(train, vocab, 0.0), test, vocab).mean()


def _skip_first(train, test, vocab, k):
    """No start context: skips position 0."""
    return -_lp(_counts(train, vocab, k, start=False), test, vocab)[:, 1:].mean()


def _unigram(train, test, vocab, k):
    """Ignores the previous token."""
    p = (np.bincount(train.numpy().ravel(), minlength=vocab) + k) / (train.numel() + k * vocab)
    return -np.log(p[test.numpy()]).mean()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_count_nll_accepts_right_answers():
    assert check_count_nll(count_nll)
    assert check_count_nll(count_nll_reference)
    assert check_count_nll(count_nll_by_hand)  # returns a 0-d tensor
    assert check_count_nll(lambda tr, te, v, k: -_lp(_counts(tr, v, k), te, v).mean())


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("fn, phrase", [
    (lambda tr, te, v, k: count_nll(tr, te, v, k) / math.log(2), "in bits (log base 2)"),
    (_unsmoothed, "get probability 0 without smoothing"),
    (lambda tr, te, v, k: count_nll(tr, te, v, 1.0), "you smoothed with k = 1"),
    (lambda tr, te, v, k: -_lp(_counts(tr, v, k, kv=False), te, v).mean(),
     "do not sum to 1"),
    (lambda tr, te, v, k: -NGram(v, 2, k).fit(tr).log_probs(te).sum(1).mean().item(),
     "You summed over the positions of each sequence"),
    (lambda tr, te, v, k: -NGram(v, 2, k).fit(tr).log_probs(te).sum().item(),
     "You returned the total over all tokens"),
    (lambda tr, te, v, k: count_nll(tr, tr, v, k), "that is the NLL of the training data"),
    (_unigram, "that is a unigram model"),
    (_skip_first, "you skipped the first token"),
    (lambda tr, te, v, k: -NGram(v, 2, k).fit(tr).log_probs(te)[:, 1:].mean().item(),
     "you skipped the first token"),
    (lambda tr, te, v, k: -count_nll(tr, te, v, k), "wrong sign"),
    (lambda tr, te, v, k: -NGram(v, 2, k).fit(tr).log_probs(te), "returned an array of shape"),
    (lambda tr, te, v, k: count_nll(tr, te, v, k) + 0.01, "the NLL is not right"),
    (lambda tr, te, v, k: count_nll(tr, te, 5, k), "vocab = 4"),  # a hard-coded vocabulary
    (lambda tr, te, v, k: float("nan"), "look for a log of 0"),
    (lambda tr, te, v, k: "nll", "should return a number"),
    (lambda tr, te, v, k: None, "forget to `return`"),
    (_raises, "raised ZeroDivisionError"),
])
def test_count_nll_mistakes(fn, phrase):
    verdict = check_count_nll(fn)
    assert not verdict
    assert phrase in verdict.message, verdict.message


def test_count_nll_no_function():
    assert not check_count_nll(None)
    assert "should be a function" in check_count_nll(1.87).message


def test_messages_render():
    assert repr(check_causal_mask(mask_solution)).startswith("✓")
    assert check_count_nll(None)._repr_markdown_().startswith("✗")
