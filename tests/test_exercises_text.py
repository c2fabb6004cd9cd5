"""genai_lib.exercises.text: reference answers (and right variants) pass, typical mistakes fail
with the message that names them."""

import math

import numpy as np
import pytest
import torch

from genai_lib.autoregressive import top_p_filter
from genai_lib.exercises.text import (_score_cases, _top_p_cases, check_merge, check_scores,
                                      check_top_p, scores_reference)
from genai_lib.text import merge

LN2 = math.log(2)


def _raises(*args):
    """A learner's function that fails."""
    raise ZeroDivisionError("division by zero")


# --- merge ------------------------------------------------------------------------------------

def merge_tensor(ids, pair, new):
    """A right variant with tensor ops: where the pair starts, a start right after another
    kept start is cancelled (left to right), the kept starts become new; returns a tensor."""
    x = torch.tensor(ids, dtype=torch.long)
    if len(x) < 2:
        return x
    starts = (x[:-1] == pair[0]) & (x[1:] == pair[1])
    for i in range(1, len(starts)):
        if starts[i - 1]:
            starts[i] = False
    second = torch.zeros(len(x), dtype=torch.bool)
    second[1:] = starts
    out = x.clone()
    out[:-1][starts] = new
    return out[~second]


def merge_recursive(ids, pair, new):
    """A right variant, recursive, returning a tuple."""
    if len(ids) < 2:
        return tuple(ids)
    if (ids[0], ids[1]) == pair:
        return (new, *merge_recursive(ids[2:], pair, new))
    return (ids[0], *merge_recursive(ids[1:], pair, new))


def merge_for(ids, pair, new):
    """A right variant: a for loop with a skip flag, returning a NumPy array."""
    out, skip = [], False
    for i, t in enumerate(ids):
        if skip:
            skip = False
        elif i + 1 < len(ids) and (t, ids[i + 1]) == pair:
            out.append(new)
            skip = True
        else:
            out.append(t)
    return np.array(out, dtype=np.int64)


def test_merge_accepts_right_answers():
    for fn in (merge, merge_tensor, merge_recursive, merge_for):
        verdict = check_merge(fn)
        assert verdict, verdict.message


def _first_only(ids, pair, new):
    """Replaces the first occurrence only."""
    for i in range(len(ids) - 1):
        if (ids[i], ids[i + 1]) == pair:
            return ids[:i] + [new] + ids[i + 2:]
    return ids


def _double_counted(ids, pair, new):
    """Counts overlapping occurrences twice: [a, a, a] -> [new, new]."""
    out = []
    for i, t in enumerate(ids):
        if i + 1 < len(ids) and (t, ids[i + 1]) == pair:
            out.append(new)
        elif i > 0 and (ids[i - 1], t) == pair:
            continue
        else:
            out.append(t)
    return out


def _loop(ids, pair, new, *, step=2, stop=0, both=False, either=False):
    """A while loop over i, right with the defaults; step=1 keeps the second token, stop=1
    drops the tail, both keeps the pair and adds new, either ignores the pair's order."""
    out, i = [], 0
    while i < len(ids) - stop:
        here = tuple(ids[i:i + 2])
        if len(here) == 2 and (here == pair or (either and here == pair[::-1])):
            out += [ids[i], ids[i + 1], new] if both else [new]
            i += step
        else:
            out.append(ids[i])
            i += 1
    return out


def _in_place(ids, pair, new):
    """Right values, but replaces the pair inside the caller's list."""
    i = 0
    while i < len(ids) - 1:
        if (ids[i], ids[i + 1]) == pair:
            ids[i:i + 2] = [new]
        i += 1
    return ids


def _slice_compare(ids, pair, new):
    """Compares a list slice with the tuple pair: never equal."""
    out, i = [], 0
    while i < len(ids):
        if ids[i:i + 2] == pair:
            out.append(new)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def _appended(ids, pair, new):
    """Adds new at the end for each occurrence, keeping the pair."""
    count = len(ids) - len(merge(ids, pair, new))
    return ids + [new] * count


def _right_to_left(ids, pair, new):
    """Reads the list from the end."""
    return merge(ids[::-1], pair[::-1], new)[::-1]


def _no_bounds(ids, pair, new):
    """Reads ids[i + 1] past the end."""
    out, i = [], 0
    while i < len(ids):
        if (ids[i], ids[i + 1]) == pair:
            out.append(new)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def _no_return(ids, pair, new):
    """Builds the list and forgets to return it."""
    merge(ids, pair, new)


@pytest.mark.parametrize("fn, phrases", [
    (_first_only, ["only the first occurrence"]),
    (_double_counted, ["counted twice", "[5, 5, 5]", "expected [8, 5], got [8, 8]"]),
    (lambda ids, pair, new: _loop(ids, pair, new, step=1), ["second token of the pair",
                                                           "i += 2"]),
    (lambda ids, pair, new: _loop(ids, pair, new, stop=1), ["the last token is lost"]),
    (lambda ids, pair, new: _loop(ids, pair, new, either=True), ["order was ignored",
                                                                "[2, 1, 3, 2, 1]"]),
    (lambda ids, pair, new: _loop(ids, pair, new, both=True), ["both tokens of the pair "
                                                              "were kept"]),
    (_in_place, ["changed the list it was given"]),
    (_slice_compare, ["nothing was replaced", "a list slice never equals a tuple"]),
    (_appended, ["appended at the end"]),
    (lambda ids, pair, new: ids + [new], ["appended at the end"]),
    (_right_to_left, ["right to left", "[5, 5, 5]"]),
    (lambda ids, pair, new: [float(t) for t in merge(ids, pair, new)], ["3.0 (float)",
                                                                      "whole number"]),
    (lambda ids, pair, new: torch.tensor([merge(ids, pair, new)]), ["shape (1, 5)"]),
    (lambda ids, pair, new: str(merge(ids, pair, new)), ["got str"]),
    (lambda ids, pair, new: iter(merge(ids, pair, new)), ["got list_iterator"]),
    (_no_bounds, ["raised IndexError", "check i + 1 < len(ids)"]),
    (_no_return, ["returned None"]),
    (lambda ids, pair, new: merge(ids, pair, new)[:-1] if len(ids) > 3 else merge(ids, pair,
                                                                                    new),
     ["expected [3, 9, 4, 9, 5], got [3, 9, 4, 9]"]),
    (_raises, ["raised ZeroDivisionError"]),
])
def test_merge_mistakes(fn, phrases):
    verdict = check_merge(fn)
    assert not verdict
    for phrase in phrases:
        assert phrase in verdict.message, verdict.message


def test_merge_no_function():
    assert "is None" in check_merge(None).message
    assert "should be a function" in check_merge([1, 2]).message


# --- scores -----------------------------------------------------------------------------------

def scores(log_probs, n_chars):
    """Reference solution."""
    nll = -log_probs.mean()
    return torch.exp(nll).item(), (-log_probs.sum() / (n_chars * math.log(2))).item()


def scores_numpy(log_probs, n_chars):
    """A right variant in NumPy with log2: returns NumPy floats in a list."""
    lp = log_probs.numpy()
    return [np.exp(-lp.mean()), -(lp * np.log2(np.e)).sum() / n_chars]


def scores_tensors(log_probs, n_chars):
    """A right variant returning 0-dim tensors, bits per token times tokens per character."""
    bits_per_token = -log_probs.mean() / math.log(2)
    return log_probs.mean().neg().exp(), bits_per_token * log_probs.numel() / n_chars


def test_scores_accepts_right_answers():
    in_one_array = lambda lp, c: torch.tensor(scores(lp, c))  # noqa: E731 (unpacks as a pair)
    for fn in (scores, scores_numpy, scores_tensors, scores_reference, in_one_array):
        verdict = check_scores(fn)
        assert verdict, verdict.message


def _with(ppl=None, bpc=None):
    """A learner's scores with one of the two values computed as ppl(lp, c) / bpc(lp, c)."""
    def fn(lp, c):
        right_ppl, right_bpc = scores(lp, c)
        return (right_ppl if ppl is None else float(ppl(lp.double(), c)),
                right_bpc if bpc is None else float(bpc(lp.double(), c)))
    return fn


@pytest.mark.parametrize("fn, phrases", [
    (_with(ppl=lambda lp, c: lp.mean().exp()), ["the sign is wrong", "exp(-mean log p)"]),
    (_with(ppl=lambda lp, c: 2 ** -lp.mean()), ["you used 2 ** (...)", "natural logs"]),
    (_with(ppl=lambda lp, c: 10 ** -lp.mean()), ["you used 10 ** (...)"]),
    (_with(ppl=lambda lp, c: (-lp.sum()).exp()), ["comes from the sum", "*mean*"]),
    (_with(ppl=lambda lp, c: -lp.mean()), ["its exp"]),
    (_with(ppl=lambda lp, c: math.exp(-lp.sum() / c)), ["perplexity per character"]),
    (_with(ppl=lambda lp, c: (-lp).exp().mean()), ["not the mean of the exps"]),
    (_with(ppl=lambda lp, c: (-lp[0].mean()).exp()), ["only the first row"]),
    (_with(ppl=lambda lp, c: (-lp.mean(-1)).exp().mean()), ["perplexities of the rows"]),
    (_with(bpc=lambda lp, c: -lp.sum() / (lp.numel() * LN2)), ["bits per *token*",
                                                               "n_chars = 61"]),
    (_with(bpc=lambda lp, c: -lp.mean() / LN2), ["bits per *token*"]),
    (_with(bpc=lambda lp, c: -lp.sum() / c), ["nats per character", "divide by ln 2"]),
    (_with(bpc=lambda lp, c: -lp.sum() / (c * math.log(10))), ["divided by ln 10"]),
    (_with(bpc=lambda lp, c: -lp.sum() / c * math.log10(math.e)), ["divided by ln 10"]),
    (_with(bpc=lambda lp, c: -lp.sum() / (c * LN2 * LN2)), ["divided by ln 2 twice"]),
    (_with(bpc=lambda lp, c: -lp.sum() * LN2 / c), ["multiplied by ln 2"]),
    (_with(bpc=lambda lp, c: lp.sum() / (c * LN2)), ["the sign is wrong", "positive"]),
    (_with(bpc=lambda lp, c: -lp.sum() / LN2), ["the total in bits"]),
    (_with(bpc=lambda lp, c: -lp.mean() / (c * LN2)), ["divided by both"]),
    (_with(bpc=lambda lp, c: -lp.mean() / LN2 * c / lp.numel()), ["characters per token"]),
    (_with(bpc=lambda lp, c: -lp[0].sum() / (c * LN2)), ["only the first row"]),
    (lambda lp, c: scores(lp, c)[::-1], ["the two values are swapped"]),
    (lambda lp, c: scores(lp, c)[0], ["returned one float", "return perplexity, "
                                                            "bits_per_char"]),
    (lambda lp, c: torch.tensor(scores(lp, c)[0]), ["returned one Tensor"]),
    (lambda lp, c: (*scores(lp, c), 0.0), ["returned 3 values"]),
    (lambda lp, c: ((-lp.mean(-1)).exp(), scores(lp, c)[1]), ["has shape (3,)",
                                                               "not one number"]),
    (lambda lp, c: (scores(lp, c)[0], None), ["bits per character (second value) is None"]),
    (lambda lp, c: ("5.2", scores(lp, c)[1]), ["the string '5.2'"]),
    (lambda lp, c: (math.inf, scores(lp, c)[1]), ["is inf"]),
    (lambda lp, c: (scores(lp, c)[0] * 1.01, scores(lp, c)[1]), ["perplexity is not right"]),
    (lambda lp, c: None, ["returned None"]),
    (_raises, ["raised ZeroDivisionError"]),
])
def test_scores_mistakes(fn, phrases):
    verdict = check_scores(fn)
    assert not verdict
    for phrase in phrases:
        assert phrase in verdict.message, verdict.message


def test_scores_cases_tell_tokens_from_characters():
    for log_probs, n_chars in _score_cases():
        assert log_probs.numel() != n_chars


def test_scores_no_function():
    assert "is None" in check_scores(None).message


# --- top_p_filter -----------------------------------------------------------------------------

def top_p(logits, p):
    """Reference solution: sort, running sum, drop where the likelier mass reaches p."""
    probs, order = logits.softmax(-1).sort(-1, descending=True)
    drop_sorted = probs.cumsum(-1) - probs >= p
    drop = drop_sorted.scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))


def top_p_loop(logits, p):
    """A right variant: a Python loop over the rows and the tokens, likeliest first."""
    out = torch.full_like(logits, float("-inf"))
    for r, row in enumerate(logits):
        probs = row.softmax(-1).tolist()
        total = 0.0
        for i in sorted(range(len(probs)), key=lambda i: -probs[i]):
            out[r, i] = row[i]
            total += probs[i]
            if total >= p:
                break
    return out


def top_p_ascending(logits, p):
    """A right variant (Hugging Face's): sorted ascending, drop the tokens whose running sum
    stays within 1 - p, never the likeliest."""
    probs, order = logits.softmax(-1).sort(-1)
    drop_sorted = probs.cumsum(-1) <= 1 - p
    drop_sorted[..., -1] = False
    return logits.masked_fill(drop_sorted.scatter(-1, order, drop_sorted), float("-inf"))


def top_p_numpy(logits, p):
    """A right variant in NumPy, the drop mask put back with an inverse permutation."""
    x = logits.numpy()
    probs = np.exp(x - x.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    order = np.argsort(-probs, axis=-1, kind="stable")
    sorted_probs = np.take_along_axis(probs, order, -1)
    drop_sorted = np.cumsum(sorted_probs, -1) - sorted_probs >= p
    drop = np.take_along_axis(drop_sorted, np.argsort(order, -1), -1)
    return np.where(drop, -np.inf, x)


def test_top_p_accepts_right_answers():
    for fn in (top_p_filter, top_p, top_p_loop, top_p_ascending, top_p_numpy):
        verdict = check_top_p(fn)
        assert verdict, (fn.__name__, verdict.message)


def test_top_p_cases_are_informative():
    """The sorted order differs from the vocabulary's in every row, the nuclei of the first
    case differ in size, and the boundary case sums exactly to p."""
    cases = _top_p_cases()
    for logits, _, _ in cases:
        order = logits.softmax(-1).argsort(-1, descending=True)
        assert not (order == torch.arange(logits.shape[-1])).all(-1).any()
    sizes = torch.isfinite(top_p_filter(cases[0][0], cases[0][1])).sum(-1)
    assert len(set(sizes.tolist())) >= 3
    exact, p, _ = cases[2]
    for dtype in (torch.float32, torch.float64):
        probs = exact.to(dtype).softmax(-1)[0].sort(descending=True).values
        assert probs[:2].sum().item() == p


def _sorted_drop(logits, p, keep="before < p", descending=True, values=None):
    """(sorted logits, sorted probabilities' drop mask, order) for the mistaken filters."""
    values = logits.softmax(-1) if values is None else values
    probs, order = values.sort(-1, descending=descending)
    cum = probs.cumsum(-1)
    kept = {"before < p": cum - probs < p, "cum <= p": cum <= p, "cum < p": cum < p}[keep]
    return ~kept, order


def _filter(keep="before < p", descending=True, values=None, fill=float("-inf")):
    """A learner's filter sorting `values` (default the probabilities) and keeping by `keep`."""
    def fn(logits, p):
        v = None if values is None else values(logits)
        drop, order = _sorted_drop(logits, p, keep, descending, v)
        return logits.masked_fill(drop.scatter(-1, order, drop), fill)
    return fn


def _boundary_extra(logits, p):
    """Hugging Face's older rule: remove where cumsum > p, shifted right by one (the token
    whose likelier mass is exactly p stays too)."""
    probs, order = logits.softmax(-1).sort(-1, descending=True)
    remove = probs.cumsum(-1) > p
    remove[..., 1:] = remove[..., :-1].clone()
    remove[..., 0] = False
    return logits.masked_fill(remove.scatter(-1, order, remove), float("-inf"))


def _sorted_result(logits, p):
    """Returns the sorted logits, masked."""
    values, _ = logits.sort(-1, descending=True)
    drop, _ = _sorted_drop(logits, p)
    return values.masked_fill(drop, float("-inf"))


def _no_scatter(logits, p):
    """Applies the sorted mask to the unsorted logits."""
    drop, _ = _sorted_drop(logits, p)
    return logits.masked_fill(drop, float("-inf"))


def _gather(logits, p):
    """Puts the sorted mask back with gather instead of scatter."""
    drop, order = _sorted_drop(logits, p)
    return logits.masked_fill(drop.gather(-1, order), float("-inf"))


def _top_k(logits, p):
    """Keeps the two likeliest tokens."""
    cut = logits.topk(2, dim=-1).values[:, -1:]
    return logits.masked_fill(logits < cut, float("-inf"))


def _flattened(logits, p):
    """The right filter on the whole batch as one row."""
    return top_p(logits.reshape(1, -1), p).view_as(logits)


def _columns(logits, p):
    """Softmax over dim=0."""
    return _filter(values=lambda x: x.softmax(0))(logits, p)


@pytest.mark.parametrize("fn, phrases", [
    (_filter("cum <= p"), ["the token that crosses p was dropped", "kept mass is less"]),
    (_filter("cum < p"), ["the token that crosses p was dropped"]),
    (_boundary_extra, ["one token too many at the boundary", "p = 0.75", "not > p"]),
    (_filter(values=lambda x: x), ["you summed the logits"]),
    (_filter(values=lambda x: x.exp()), ["not normalised"]),
    (_filter(descending=False), ["ascending", "*unlikeliest*"]),
    (_sorted_result, ["the result is in sorted order", "scatter"]),
    (_no_scatter, ["never put back in the vocabulary's order", "scatter"]),
    (_gather, ["gather", "use scatter"]),
    (lambda x, p: x.masked_fill(x.softmax(-1) < p, float("-inf")), ["own probability"]),
    (_top_k, ["top-k with k = 2", "varies from row to row"]),
    (lambda x, p: top_p(x, p).softmax(-1), ["you returned probabilities"]),
    (lambda x, p: x.softmax(-1).masked_fill(~torch.isfinite(top_p(x, p)), 0.0),
     ["you returned probabilities"]),
    (lambda x, p: top_p(x, p).log_softmax(-1), ["log-probabilities"]),
    (lambda x, p: top_p(x, p) - 3.0, ["shifted by a constant per row"]),
    (_filter(fill=0.0), ["the dropped logits are 0, not -inf", "exp(0) = 1"]),
    (_filter(fill=-1e9), ["large negative number", "float('-inf')"]),
    (_filter(fill=torch.finfo(torch.float32).min), ["large negative number"]),
    (_flattened, ["whole batch at once", "row by row"]),
    (_columns, ["down the columns (dim=0)"]),
    (lambda x, p: top_p(x / 0.7, p), ["times the ones given", "temperature"]),
    (lambda x, p: top_p(x, p) / 0.7, ["times the ones given", "temperature"]),
    (lambda x, p: torch.isfinite(top_p(x, p)), ["boolean mask"]),
    (lambda x, p: top_p(x, p)[0], ["has shape (7,)"]),
    (lambda x, p: top_p(x, min(p + 0.1, 1.0)), ["row 0 keeps the tokens", "the nucleus is"]),
    (lambda x, p: top_p(x, p).index_fill(0, torch.tensor([1]), float("-inf")),
     ["row 1 keeps no token at all"]),
    (lambda x, p: torch.full_like(x, float("-inf")), ["own probability", "keeps no token"]),
    (lambda x, p: top_p(x, p) * float("nan"), ["contains NaN"]),
    (lambda x, p: None, ["returned None"]),
    (_raises, ["raised ZeroDivisionError"]),
])
def test_top_p_mistakes(fn, phrases):
    verdict = check_top_p(fn)
    assert not verdict
    for phrase in phrases:
        assert phrase in verdict.message, verdict.message


def test_top_p_no_function():
    assert "is None" in check_top_p(None).message
    assert "should be a function" in check_top_p(0.9).message
