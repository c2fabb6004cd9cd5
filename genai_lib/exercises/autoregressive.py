"""Checkers for the autoregressive chapter: the causal mask, one causal self-attention head,
the held-out NLL of a bigram model with add-k smoothing, and multi-head attention with a
key/value cache (`check_cached_attention`).

Notation (as in `genai_lib.autoregressive`): a mask (T, T) is True where position i may attend
to position j (j <= i); one head is softmax(q k^T / sqrt(d), future masked) v with q = x w_q,
k = x w_k, v = x w_v; the bigram model predicts the first token from the start token `vocab`
and smooths every count with k: p = (count + k) / (count(context) + k * vocab).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from genai_lib.autoregressive import NGram
from genai_lib.exercises import (ATOL, RTOL, Feedback, as_tensor, diagnose, missing_function,
                                 right, same, wrong)


# --- 1. the causal mask ---------------------------------------------------------------------

_BUILD = "torch.ones(t, t, dtype=torch.bool).tril()"


def _mask_pattern(m: Tensor, t: int) -> str | None:
    """Name the pattern of a boolean (t, t) mask if it is a typical mistake, None if right."""
    i = torch.arange(t)
    rows, cols = i[:, None], i[None, :]
    if torch.equal(m, cols <= rows):
        return None
    patterns = [
        (cols >= rows, "your mask is upper triangular: position i looks at j >= i, the future, "
         "and cannot see the tokens before it. A causal mask keeps j <= i, the lower triangle: "
         f"{_BUILD} (tril, not triu)"),
        (cols < rows, "the diagonal is excluded (strictly lower triangular): a token cannot see "
         "itself, and the first position sees nothing at all (its softmax row is all -inf, "
         f"NaN). Keep j <= i, diagonal included: {_BUILD} (tril(), not tril(-1))"),
        (cols > rows, "your mask is True on the future (j > i), the positions to *block*: that is "
         "the opposite convention. This exercise wants True where position i may attend to "
         f"position j: {_BUILD}, i.e. the negation ~mask of yours"),
        (torch.ones(t, t, dtype=torch.bool), "your mask is True everywhere: nothing is masked, "
         f"so every position sees the future. Keep only j <= i: {_BUILD}"),
        (torch.eye(t, dtype=torch.bool), "your mask keeps only the diagonal: each token sees "
         f"only itself, not the ones before it. Keep every j <= i: {_BUILD}"),
    ]
    for pattern, message in patterns:
        if torch.equal(m, pattern):
            return message
    wrong_at = (m != (cols <= rows)).nonzero()[0].tolist()
    i0, j0 = wrong_at
    return (f"the mask is wrong at (i, j) = ({i0}, {j0}): expected {j0 <= i0}, got "
            f"{bool(m[i0, j0])}. Position i may attend to position j exactly when j <= i: "
            f"{_BUILD}")


def check_causal_mask(fn: Callable | None) -> Feedback:
    """Check fn(t) -> (t, t) bool tensor, True where position i may attend to j (j <= i)."""
    start = missing_function("causal_mask", fn, "causal_mask(t)")
    if start is not None:
        return start
    for t in (4, 7, 1):  # the informative sizes first: at t = 1 several mistakes coincide
        try:
            got = fn(t)
        except Exception as err:  # the learner's code failed: say how, on which input
            return wrong(f"`causal_mask` raised {type(err).__name__}: {err} (for t = {t})")
        if got is None:
            return wrong("`causal_mask` returned None: did you forget to `return` the mask?")
        if not isinstance(got, Tensor):
            return wrong(f"`causal_mask` should return a torch tensor, got {type(got).__name__}: "
                         f"build it with torch, e.g. {_BUILD}")
        got = got.detach().cpu()
        if tuple(got.shape) != (t, t):
            return wrong(f"for t = {t} the mask has shape {tuple(got.shape)}, expected ({t}, {t}): "
                         f"one row per query position i, one column per key position j")
        if got.dtype != torch.bool:
            values = got.double()
            if values.isnan().any():
                return wrong(f"the mask (t = {t}) contains NaN: return a bool tensor, {_BUILD}")
            blocked = values <= -1e4  # -inf or a large negative number
            if blocked.any() and bool(((values == 0) | blocked).all()):
                pattern = _mask_pattern(values == 0, t)
                extra = "" if pattern is None else " (and the -inf entries are in the wrong " \
                                                   "place: block only the future, j > i)"
                return wrong(f"that is the additive form of the mask (0 where allowed, -inf "
                             f"where blocked, added to the scores before the softmax). This "
                             f"exercise wants the boolean form: True where position i may "
                             f"attend to position j, {_BUILD}; scores.masked_fill(~mask, "
                             f"float('-inf')) then does the adding{extra}")
            if bool(((values == 0) | (values == 1)).all()):
                pattern = _mask_pattern(values == 1, t)
                fix = (f"return a bool tensor: convert yours with `.bool()` (mask.bool()), or "
                       f"build it as {_BUILD}. masked_fill and ~mask need True/False, not "
                       f"numbers (~ on an integer tensor flips bits: ~1 = -2)")
                if pattern is None:
                    return wrong(f"the 0/1 pattern is right but the mask has dtype {got.dtype}: "
                                 f"{fix}")
                return wrong(f"{pattern}. Also, your mask has dtype {got.dtype}: {fix}")
            return wrong(f"the mask (t = {t}) should hold True/False, got dtype {got.dtype} "
                         f"with values other than 0 and 1: {_BUILD}")
        pattern = _mask_pattern(got, t)
        if pattern is not None:
            return wrong(f"for t = {t}: {pattern}")
    return right("`causal_mask` is True exactly where j <= i: each position sees itself and the "
                 "past, never the future.")


# --- 2. one causal self-attention head ------------------------------------------------------

def _head_inputs() -> list[tuple[Tensor, Tensor, Tensor, Tensor]]:
    """(x (T, d_in), w_q, w_k, w_v (d_in, d)) in float32, d != d_in, T >= 4: seeded so that
    every typical mistake gives different numbers."""
    g = torch.Generator().manual_seed(0)
    out = []
    for t, d_in, d in ((5, 3, 4), (6, 4, 2)):
        x = torch.randn(t, d_in, generator=g)
        w_q, w_k, w_v = (torch.randn(d_in, d, generator=g) for _ in range(3))
        out.append((x, w_q, w_k, w_v))
    return out


def head_reference(x: Tensor, w_q: Tensor, w_k: Tensor, w_v: Tensor) -> Tensor:
    """softmax(q k^T / sqrt(d), future masked) v with q, k, v = x w_q, x w_k, x w_v: (T, d)."""
    q, k, v = x @ w_q, x @ w_k, x @ w_v
    t, d = q.shape
    mask = torch.ones(t, t, dtype=torch.bool).tril()
    scores = (q @ k.T / math.sqrt(d)).masked_fill(~mask, float("-inf"))
    return scores.softmax(-1) @ v


def check_attention_head(fn: Callable | None) -> Feedback:
    """Check fn(x (T, d_in), w_q, w_k, w_v (d_in, d)) -> (T, d), one causal attention head."""
    start = missing_function("attention_head", fn, "attention_head(x, w_q, w_k, w_v)")
    if start is not None:
        return start
    for x, w_q, w_k, w_v in _head_inputs():
        (t, d_in), d = x.shape, w_q.shape[1]
        where = f"for x of shape ({t}, {d_in}) and weights of shape ({d_in}, {d})"
        try:
            got = fn(x.clone(), w_q.clone(), w_k.clone(), w_v.clone())
        except Exception as err:  # the learner's code failed: say how, on which input
            hint = ""
            if isinstance(err, RuntimeError) and "cannot be multiplied" in str(err):
                hint = (f" x is (T, d_in) and each weight is (d_in, d): q = x @ w_q is (T, d), "
                        f"the scores q @ k.T are (T, T), and weights @ v is (T, d)")
            return wrong(f"`attention_head` raised {type(err).__name__}: {err} ({where}).{hint}")
        got = as_tensor("attention_head", got, returns="the output", kind="a tensor (T, d)")
        if isinstance(got, Feedback):
            return got
        if got.isnan().any():
            return wrong(f"{where}: the output contains NaN. A row of scores is entirely -inf "
                         f"(every position masked), so the softmax divides 0 by 0: keep j <= i, "
                         f"the diagonal included, and fill -inf where the mask is False "
                         f"(scores.masked_fill(~mask, float('-inf')))")
        x, w_q, w_k, w_v = x.double(), w_q.double(), w_k.double(), w_v.double()
        q, k, v = x @ w_q, x @ w_k, x @ w_v
        i = torch.arange(t)
        mask = i[None, :] <= i[:, None]
        s = q @ k.T

        def attend(scores: Tensor, values: Tensor = v, m: Tensor | None = mask,
                   dim: int = -1) -> Tensor:
            """softmax(scores, masked) @ values."""
            if m is not None:
                scores = scores.masked_fill(~m, float("-inf"))
            return scores.softmax(dim) @ values

        expected = attend(s / math.sqrt(d))
        mistakes = [
            (attend(s), "the scores are not scaled: divide q @ k.T by sqrt(d) (d = the key size, "
             "q.shape[-1]) before the softmax, so the dot products of d-dimensional vectors do "
             "not grow with d and saturate the softmax"),
            (attend(s / d), "you divided the scores by d: divide by its square root, "
             "math.sqrt(d) (the standard deviation of a dot product of d unit-variance "
             "entries)"),
            (attend(s / math.sqrt(d), m=None), "there is no causal mask: each position also "
             "attends to the later ones, the future it must predict. Set the scores where j > i "
             "to -inf before the softmax: scores.masked_fill(~mask, float('-inf')) with mask = "
             "torch.ones(T, T, dtype=torch.bool).tril()"),
            (attend(s / math.sqrt(d), dim=0), "the softmax runs over the wrong axis (dim=0, "
             "down the columns): each query's row of weights must sum to 1, so take "
             "softmax(dim=-1), over the keys"),
            ((s / math.sqrt(d)).softmax(-1) * mask @ v, "you masked after the softmax: zeroing "
             "the future weights leaves rows that no longer sum to 1. Set the future scores to "
             "-inf *before* the softmax, which then renormalises over the allowed positions"),
            (attend(s / math.sqrt(d), values=x), "you weighted x instead of the values: the "
             "output is weights @ v with v = x @ w_v (the value projection), shape (T, d)"),
            (attend(k @ q.T / math.sqrt(d)), "the scores are transposed: k @ q.T puts the keys "
             "on the rows. Row i must hold query i against every key j: scores = q @ k.T"),
            (attend((s / math.sqrt(d)).masked_fill(~mask, 0.0), m=None), "you set the blocked "
             "scores to 0 (or multiplied the scores by the mask): exp(0) = 1, so the future "
             "still gets weight. Fill them with float('-inf'), whose exp is 0"),
            (attend(s / math.sqrt(d), m=i[None, :] >= i[:, None]), "the mask keeps the future "
             "(j >= i, the upper triangle) instead of the past: use the lower triangle, "
             "torch.ones(T, T, dtype=torch.bool).tril(), and fill -inf where it is False"),
        ]
        verdict = diagnose("attention_head(x, w_q, w_k, w_v)", got, expected, mistakes, where)
        if verdict is not None:
            return verdict
    return right("`attention_head` gives softmax(q k^T / sqrt(d), future masked) v on every "
                 "test input.")


# --- 3. the held-out NLL of a smoothed bigram model -----------------------------------------

def _nll_inputs() -> list[tuple[Tensor, Tensor, int, float]]:
    """(train (N, T), test (M, T), vocab, k): vocab 5, T 6 with pairs the training data never
    shows; then vocab 4 with test rows taken from the training rows (every pair seen, so the
    unsmoothed model stays finite and can be told apart by its value)."""
    g = torch.Generator().manual_seed(0)
    train = torch.randint(0, 5, (8, 6), generator=g)
    test = torch.randint(0, 5, (4, 6), generator=g)
    train2 = torch.randint(0, 4, (6, 5), generator=torch.Generator().manual_seed(8))
    return [(train, test, 5, 0.5), (train2, train2[[0, 3, 5]], 4, 0.3)]


def count_nll_reference(train: Tensor, test: Tensor, vocab: int, k: float) -> float:
    """The held-out NLL in nats per token of `NGram(vocab, order=2, k)` fit on train."""
    return -NGram(vocab, 2, k).fit(train).log_probs(test).mean().item()


def _with_start(x: np.ndarray, vocab: int) -> tuple[np.ndarray, np.ndarray]:
    """(context, token) of every position: the previous token, the start token `vocab` first."""
    prev = np.concatenate([np.full((len(x), 1), vocab), x[:, :-1]], axis=1)
    return prev, x


def _nll_mistakes(train: Tensor, test: Tensor, vocab: int, k: float) -> list[tuple[float, str]]:
    """The value each typical mistake gives on these inputs, with the message that names it."""
    tr, te = train.numpy(), test.numpy()
    counts = np.zeros((vocab + 1, vocab))
    np.add.at(counts, _with_start(tr, vocab), 1)
    totals = counts.sum(1, keepdims=True)
    prev, tok = _with_start(te, vocab)
    with np.errstate(divide="ignore", invalid="ignore"):
        lp = np.log((counts + k) / (totals + k * vocab))[prev, tok]             # (M, T)
        unsmoothed = -np.log(counts / totals)[prev, tok].mean()
        no_kv = -np.log((counts + k) / totals)[prev, tok].mean()
        plus_k = -np.log((counts + k) / (totals + k))[prev, tok].mean()
    tr_prev, tr_tok = _with_start(tr, vocab)
    uni = (np.bincount(tr.ravel(), minlength=vocab) + k) / (tr.size + k * vocab)
    ref = -lp.mean()
    first_uni = lp.copy()
    first_uni[:, 0] = np.log(uni[te[:, 0]])
    p1 = (counts + 1) / (totals + vocab)
    per_token = "the NLL is an average per token: divide the total by the number of tokens, " \
                "M * T (test.numel()), i.e. take the mean over every position of every sequence"
    denominator = ("the smoothed probabilities do not sum to 1 over the vocabulary: adding k to "
                   "each of the `vocab` counts adds k * vocab to the total, so p = (count + k) / "
                   "(count(context) + k * vocab)")
    return [
        (ref / math.log(2), "your value is in bits (log base 2): the NLL here is in nats, "
         "the natural log (np.log / torch.log / math.log, not log2)"),
        (unsmoothed, "you did not smooth the counts (k is ignored): pairs never seen in training "
         "get probability 0 without smoothing, and log 0 = -inf. Add k to every count: "
         "p = (count + k) / (count(context) + k * vocab)"),
        (-np.log(p1)[prev, tok].mean(), "you smoothed with k = 1 (add-one): use the k passed "
         f"in (here k = {k})"),
        (no_kv, denominator),
        (plus_k, denominator),
        (ref * te.shape[1], f"{per_token}. You summed over the positions of each sequence "
         f"(nats per sequence)"),
        (ref * te.size, f"{per_token}. You returned the total over all tokens"),
        (-np.log((counts + k) / (totals + k * vocab))[tr_prev, tr_tok].mean(), "that is the NLL "
         "of the training data: count on `train`, but score the held-out `test` sequences"),
        (-np.log(uni[te]).mean(), "that is a unigram model: each token's probability ignores "
         "the token before it. A bigram model counts pairs (previous token, token) and uses "
         "p(token | previous token)"),
        (-lp[:, 1:].mean(), "you skipped the first token of each sequence: it is predicted too, "
         "from the start context (the start token `vocab`), p(x_0 | start) = (count(start, x_0) "
         "+ k) / (N + k * vocab); average over all M * T tokens"),
        (-first_uni.mean(), "the first token is scored with its unigram probability: predict it "
         "from the start context instead, the start token `vocab` before every sequence, "
         "counted like any other context"),
        (-ref, "your value has the wrong sign: the NLL is *minus* the mean log-probability, a "
         "positive number"),
    ]


def check_count_nll(fn: Callable | None) -> Feedback:
    """Check fn(train (N, T), test (M, T), vocab, k) -> float, the held-out NLL (nats per token)
    of a bigram model with add-k smoothing and a start context for the first token."""
    start = missing_function("count_nll", fn, "count_nll(train, test, vocab, k)")
    if start is not None:
        return start
    for train, test, vocab, k in _nll_inputs():
        where = (f"for train {tuple(train.shape)}, test {tuple(test.shape)}, vocab = {vocab}, "
                 f"k = {k}")
        try:
            got = fn(train.clone(), test.clone(), vocab, k)
        except Exception as err:  # the learner's code failed: say how, on which input
            return wrong(f"`count_nll` raised {type(err).__name__}: {err} ({where})")
        if got is None:
            return wrong("`count_nll` returned None: did you forget to `return` the NLL?")
        try:
            arr = np.asarray(got.detach().cpu() if isinstance(got, Tensor) else got, dtype=float)
        except (TypeError, ValueError, RuntimeError):
            return wrong(f"`count_nll` should return a number, got {type(got).__name__}")
        if arr.size != 1:
            return wrong(f"{where}: `count_nll` returned an array of shape {arr.shape}, not one "
                         f"number: average the negative log-probabilities over every token "
                         f"(.mean()) and return a float")
        value = float(arr.reshape(()))
        mistakes = _nll_mistakes(train, test, vocab, k)
        expected = count_nll_reference(train, test, vocab, k)
        if not math.isfinite(value):
            unsmoothed = next(m for m in mistakes if m[1].startswith("you did not smooth"))
            if value == math.inf and unsmoothed[0] == math.inf:  # -log 0 for an unseen pair
                return wrong(f"{where}: your NLL is {value}: {unsmoothed[1]}")
            return wrong(f"{where}: your NLL is {value}: look for a log of 0 (a probability of "
                         f"0) or a division by zero (a context never counted)")
        for candidate, message in mistakes:
            distinct = not math.isclose(candidate, expected, rel_tol=1e-3, abs_tol=1e-5)
            if distinct and math.isclose(value, candidate, rel_tol=RTOL, abs_tol=ATOL):
                return wrong(f"{where}: {message}")
        if not math.isclose(value, expected, rel_tol=RTOL, abs_tol=ATOL):
            return wrong(f"{where}: the NLL is not right: expected {expected:.6g} nats per "
                         f"token, your answer = {value:.6g}")
    return right("`count_nll` gives the held-out NLL of the add-k bigram model, in nats per "
                 "token, on every test case.")


# --- 4. multi-head causal attention with a key/value cache ----------------------------------


_SPLIT = "z.view(B, T, heads, d).transpose(1, 2)"
_MERGE = "y.transpose(1, 2).reshape(B, T, heads * d)"


def _cache_inputs() -> list[tuple[Tensor, Tensor, Tensor, Tensor, int]]:
    """(x (B, T, dim), w_q, w_k, w_v (dim, dim), heads) in float32: two sizes with d = dim /
    heads > 1 and heads > 1, weights scaled by 1/sqrt(dim) so that the softmax stays soft and
    every typical mistake gives different numbers."""
    g = torch.Generator().manual_seed(0)
    out = []
    for b, t, dim, heads in ((2, 5, 8, 2), (1, 6, 6, 3)):
        x = torch.randn(b, t, dim, generator=g)
        w_q, w_k, w_v = (torch.randn(dim, dim, generator=g) / math.sqrt(dim) for _ in range(3))
        out.append((x, w_q, w_k, w_v, heads))
    return out


def _split_heads(z: Tensor, heads: int, how: str = "right") -> Tensor:
    """(B, T, dim) -> (B, heads, T, d): right, or a typical mistake ('no transpose', a reshape
    that cuts the sequence; 'strided', head i takes every heads-th feature)."""
    b, t, dim = z.shape
    if how == "no transpose":
        return z.reshape(b, heads, t, dim // heads)
    if how == "strided":
        return z.reshape(b, t, dim // heads, heads).permute(0, 3, 1, 2)
    return z.reshape(b, t, heads, dim // heads).transpose(1, 2)


def _attend(q: Tensor, k: Tensor, v: Tensor, *, scale: float | None = None,
            mask: str = "causal", dim: int = -1, merge: str = "right") -> Tensor:
    """Attention of q (B, h, t, d) over k, v (B, h, S, d), the heads merged: (B, t, h d).

    scale: what the scores are divided by (default sqrt(d)); mask: 'causal' (the last t rows
    of the (S, S) lower triangle), 'none', 'ahead' (one position too far: j <= i + 1),
    'no offset' (the first t rows), 'zero' (blocked scores 0), 'after' (weights zeroed after
    the softmax); dim: the softmax's; merge: 'right' or 'no transpose'."""
    b, h, t, d = q.shape
    s = k.shape[2]
    scores = q @ k.transpose(-2, -1) / (math.sqrt(d) if scale is None else scale)
    i = torch.arange(t)[:, None] + (s - t if mask != "no offset" else 0)
    j = torch.arange(s)[None, :]
    allowed = j <= i + (1 if mask == "ahead" else 0)
    if mask == "zero":
        scores = scores.masked_fill(~allowed, 0.0)
    elif mask in ("causal", "ahead", "no offset"):
        scores = scores.masked_fill(~allowed, float("-inf"))
    weights = scores.softmax(dim)
    if mask == "after":
        weights = weights * allowed
    y = weights @ v                                                        # (B, h, t, d)
    if merge == "no transpose":
        return y.reshape(b, t, h * d)
    return y.transpose(1, 2).reshape(b, t, h * d)


def cached_attention_reference(x: Tensor, w_q: Tensor, w_k: Tensor, w_v: Tensor, heads: int,
                               cache: dict) -> Tensor:
    """Causal multi-head attention of the new positions x (B, t, dim) over the cached ones and
    themselves; appends their keys and values (B, heads, t, d) to cache['k'], cache['v']."""
    q, k, v = (_split_heads(x @ w, heads) for w in (w_q, w_k, w_v))
    if cache:
        k = torch.cat([cache["k"], k], dim=2)
        v = torch.cat([cache["v"], v], dim=2)
    cache["k"], cache["v"] = k, v
    return _attend(q, k, v)


def _whole_mistakes(x: Tensor, w_q: Tensor, w_k: Tensor, w_v: Tensor,
                    heads: int) -> list[tuple[Tensor, str]]:
    """What each typical mistake returns for the whole sequence (an empty cache), with the
    message that names it."""
    dim = x.shape[-1]
    d = dim // heads
    q, k, v = (_split_heads(x @ w, heads) for w in (w_q, w_k, w_v))
    split = {how: [_split_heads(x @ w, heads, how) for w in (w_q, w_k, w_v)]
             for how in ("no transpose", "strided")}
    wrong_axis = (f"the heads are split along the wrong axis: z.view(B, heads, T, d) is a "
                  f"reshape without a transpose, which cuts the *sequence* into {heads} pieces, "
                  f"so a head mixes positions. Split the width: {_SPLIT}")
    return [
        (_attend(*split["no transpose"], merge="no transpose"), wrong_axis + f" (and merge "
         f"back with {_MERGE})"),
        (_attend(*split["no transpose"]), wrong_axis),
        (_attend(q, k, v, merge="no transpose"), f"the heads are merged without the transpose: "
         f"y.reshape(B, T, dim) on y (B, heads, T, d) mixes positions and heads. Move the "
         f"heads back beside the width first: {_MERGE}"),
        (_attend(*split["strided"]), f"head i takes the features i, i + heads, i + 2 heads, "
         f"... (view(B, T, d, heads)): it must take the {d} adjacent features i * d .. "
         f"(i + 1) * d - 1 of q, k and v, {_SPLIT}"),
        (_attend(q, k, v, scale=1.0), "the scores are not scaled: divide q @ k^T by "
         "sqrt(d), d = dim / heads the width of one head"),
        (_attend(q, k, v, scale=float(d)), f"you divided the scores by d = {d}: divide by its "
         f"square root, sqrt(d) (d = dim / heads, one head's width)"),
        (_attend(q, k, v, scale=math.sqrt(dim)), f"you scaled by sqrt(dim) = sqrt({dim}), the "
         f"model's width: each head's dot products add d = dim / heads = {d} terms, so divide "
         f"by sqrt(d), with d = q.shape[-1] after the split"),
        (_attend(q, k, v, scale=float(dim)), f"you divided the scores by dim = {dim}: divide "
         f"by sqrt(d), the square root of one head's width d = dim / heads"),
        (_attend(q, k, v, dim=-2), "the softmax runs over the wrong dimension (dim=-2, the "
         "queries): each query's weights over the keys must sum to 1, softmax(dim=-1)"),
        (_attend(q, k, v, mask="none"), "there is no causal mask: each position also attends "
         "to the later ones, the tokens it must predict. Fill the scores where j > i with -inf "
         "before the softmax"),
        (_attend(q, k, v, mask="ahead"), "the mask is off by one: position i also sees "
         "position i + 1, the very token it predicts. Keep j <= i (tril(), not tril(1))"),
        (_attend(q, k, v, mask="zero"), "you set the blocked scores to 0 (or multiplied the "
         "scores by the mask): exp(0) = 1, so the future still gets weight. Fill them with "
         "float('-inf')"),
        (_attend(q, k, v, mask="after"), "you masked after the softmax: the remaining weights "
         "no longer sum to 1. Fill the future scores with -inf before the softmax"),
        (_attend(*(_split_heads(x @ w.T, heads) for w in (w_q, w_k, w_v))), "you multiplied "
         "by the transposed weights: with the book's row convention q = x @ w_q (dim, dim), "
         "not x @ w_q.T"),
        (_attend(q, k, _split_heads(x, heads)), "you weighted x instead of the values: v = "
         "x @ w_v, split into heads like q and k"),
    ]


def _check_cache(cache: object, shape: tuple[int, ...], expected: dict, t: int,
                 where: str) -> Feedback | None:
    """A failing Feedback if the learner's cache does not hold the expected keys and values of
    all `shape[2]` positions so far (B, heads, S, d), else None."""
    b, h, s, d = shape
    if not isinstance(cache, dict) or "k" not in cache or "v" not in cache:
        return wrong(f"{where}: after the call the cache has no 'k' and 'v': store the keys "
                     f"and values in the dict that was passed in, cache['k'], cache['v'] = k, v "
                     f"(binding a new dict to the name `cache` leaves the caller's empty)")
    got = {}
    for name in ("k", "v"):
        value = as_tensor(f"cache['{name}']", cache[name], kind="a tensor (B, heads, S, d)")
        if isinstance(value, Feedback):
            return wrong(f"{where}: {value.message}")
        got[name] = value
    if tuple(got["k"].shape) != shape or tuple(got["v"].shape) != shape:
        found = tuple(got["k"].shape)
        if s > t and found == (b, h, t, d):
            return wrong(f"{where}: the cache stores only the last key and value (this call's "
                         f"{t}), so later tokens forget the earlier ones. Append the new ones "
                         f"to the old along the positions axis and store all of them: "
                         f"k = torch.cat([cache['k'], k], dim=2), then cache['k'] = k (the "
                         f"same for v)")
        return wrong(f"{where}: cache['k'] has shape {found}, expected {shape} = (B, heads, "
                     f"S, d) after {s} positions: keep the keys split into heads, "
                     f"{_SPLIT}, and concatenate along the positions, dim=2")
    for name, other in (("k", "v"), ("v", "k")):
        what = "keys" if name == "k" else "values"
        if not same(got[name], expected[name]):
            if same(got[name], expected[other]):
                return wrong(f"{where}: cache['{name}'] holds the wrong tensor: store the keys "
                             f"k = x @ w_k under 'k' and the values v = x @ w_v under 'v'")
            return wrong(f"{where}: cache['{name}'] does not hold the {what} x @ w_{name} of "
                         f"every position so far, split into heads ({_SPLIT}), oldest first")
    return None


def check_cached_attention(fn: Callable | None) -> Feedback:
    """Check fn(x (B, t, dim), w_q, w_k, w_v (dim, dim), heads, cache) -> (B, t, dim): causal
    multi-head attention of t new positions over the cached ones and themselves, appending
    their keys and values (B, heads, t, d) to cache['k'] and cache['v']. It is called on the
    whole sequence with an empty cache, then one token at a time, then in chunks of 3 and 2."""
    signature = "cached_attention(x, w_q, w_k, w_v, heads, cache)"
    start = missing_function("cached_attention", fn, signature)
    if start is not None:
        return start
    for x, w_q, w_k, w_v, heads in _cache_inputs():
        b, t_all, dim = x.shape
        d = dim // heads
        xd, wd = x.double(), [w.double() for w in (w_q, w_k, w_v)]
        full = cached_attention_reference(xd, *wd, heads, {})
        size = f"x (B, T, dim) = {tuple(x.shape)}, heads = {heads}"
        for chunks in ([t_all], [1] * t_all, [3, t_all - 3]):
            cache, ref_cache, s = {}, {}, 0
            how = ("the whole sequence, an empty cache" if len(chunks) == 1 else
                   "one token at a time" if chunks[0] == 1 else
                   f"chunks of {chunks[0]} then {chunks[1]} tokens")
            for t in chunks:
                part = x[:, s:s + t]
                s += t
                where = f"for {size}, fed {how} (positions {s - t}..{s - 1})"
                try:
                    got = fn(part.clone(), w_q.clone(), w_k.clone(), w_v.clone(), heads, cache)
                except Exception as err:  # the learner's code failed: say how, on which input
                    hint = ""
                    if s > t and isinstance(err, RuntimeError):
                        cached = f"{s - t} position{'s' if s - t > 1 else ''}"
                        hint = (f" With {cached} cached and t = {t} new: k and v are "
                                f"(B, heads, S, d) = ({b}, {heads}, {s}, {d}) after "
                                f"torch.cat([cache['k'], k], dim=2), the scores are (B, heads, "
                                f"t, S), and the mask is (t, S), the last t rows of the (S, S) "
                                f"causal mask: causal_mask(S)[S - t:]")
                    return wrong(f"`cached_attention` raised {type(err).__name__}: {err} "
                                 f"({where}).{hint}")
                got = as_tensor("cached_attention", got, returns="the output",
                                kind="a tensor (B, t, dim)")
                if isinstance(got, Feedback):
                    return got
                if tuple(got.shape) != (b, t, dim):
                    return wrong(f"{where}: the output has shape {tuple(got.shape)}, expected "
                                 f"({b}, {t}, {dim}) = (B, t, dim): merge the heads back, "
                                 f"{_MERGE}")
                if got.isnan().any():
                    return wrong(f"{where}: the output contains NaN: a position has all its "
                                 f"scores at -inf (it may see nothing), so the softmax divides 0 "
                                 f"by 0. Is the mask off by one? A token must see itself, j <= i "
                                 f"(tril(), not tril(-1)), and -inf goes where the mask is False")
                q, k, v = (_split_heads(part.double() @ w, heads) for w in wd)
                expected = cached_attention_reference(part.double(), *wd, heads, ref_cache)
                mistakes = (_whole_mistakes(xd, *wd, heads) if len(chunks) == 1 else [
                    (_attend(q, k, v, mask="causal"), "each call attends only over its own new "
                     "tokens: the cached keys and values are not used. Concatenate the cached "
                     "ones before the new ones, torch.cat([cache['k'], k], dim=2), and attend "
                     "over all of them"),
                    (_attend(q, ref_cache["k"], ref_cache["v"], mask="no offset"), "the mask "
                     "of the new tokens is off: with S positions in all, the t new ones are "
                     "positions S - t .. S - 1, so their rows of the mask are the *last* t rows "
                     "of the (S, S) causal mask, causal_mask(S)[S - t:] (is_causal=True of "
                     "F.scaled_dot_product_attention takes the first t rows: pass attn_mask=)"),
                    (_attend(q, ref_cache["k"], ref_cache["v"], mask="none"), "the new tokens "
                     "see one another without a mask: within a chunk, token i must not see the "
                     "later ones. Use the last t rows of the (S, S) causal mask"),
                ])
                # the whole sequence: the output first (it names the mistake best); later
                # calls: the cache first (a cache that forgets explains a wrong output)
                verdicts = [lambda: diagnose("cached_attention(...)", got, expected, mistakes,
                                             where),
                            lambda: _check_cache(cache, (b, heads, s, d), ref_cache, t, where)]
                for verdict in (verdicts if len(chunks) == 1 else verdicts[::-1]):
                    found = verdict()
                    if found is not None:
                        return found
    return right("`cached_attention` splits the heads, masks the future, attends over the "
                 "cached keys and values and the new ones, and keeps all of them in the cache: "
                 "fed whole, one token at a time or in chunks, it gives the same rows.")
