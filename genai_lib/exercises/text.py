"""Checkers for the text section (chapter 9.1, "Text, one token at a time"): one merge of
byte-pair encoding, the two scores of a language model on held-out text, and nucleus (top-p)
filtering of the logits before a token is drawn.

Notation (as in `genai_lib.text` and `genai_lib.autoregressive`): a text is a list of token
ids; merge(ids, pair, new) replaces every occurrence of the adjacent pair (a, b), read left to
right and never overlapping, by the token `new` ([a, a, a] -> [new, a]). A model gives each of
the N tokens x_t of a held-out text of C characters the probability p(x_t | x_<t); with log the
natural log, the perplexity per token is exp(-(1/N) sum_t log p) and the bits per character
-(sum_t log p) / (C ln 2) (a token covers several characters, so N != C). Top-p keeps, in each
row of logits (B, V), the smallest set of the likeliest tokens whose probabilities
softmax(logits) sum to at least p (the token that crosses p kept, the likeliest always) and
sets the other logits to -inf, in the vocabulary's order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from genai_lib.autoregressive import top_p_filter
from genai_lib.exercises import (ATOL, RTOL, Feedback, as_tensor, missing_function, right, same,
                                 string_instead_of_number, wrong)
from genai_lib.text import merge as merge_reference

# --- 1. one merge of byte-pair encoding ---------------------------------------------------

Ids = list[int]
Pair = tuple[int, int]


def _merge_cases() -> list[tuple[Ids, Pair, int]]:
    """(ids, pair, new): an ordinary list with two occurrences first (where most mistakes
    show), the pair at the very end, runs of a repeated token (overlapping occurrences), the
    pair reversed, the pair absent, then the empty, one- and two-token lists."""
    return [
        ([3, 1, 2, 4, 1, 2, 5], (1, 2), 9),
        ([4, 1, 2, 3, 1, 2], (1, 2), 9),
        ([5, 5, 5], (5, 5), 8),
        ([2, 5, 5, 5, 5], (5, 5), 8),
        ([5, 5, 5, 5, 5, 1], (5, 5), 8),
        ([2, 1, 3, 2, 1], (1, 2), 9),
        ([2, 1, 2, 3], (1, 2), 9),
        ([3, 4, 3, 0], (1, 2), 9),
        ([], (1, 2), 9),
        ([1], (1, 2), 9),
        ([1, 2], (1, 2), 9),
    ]


def _scan(ids: Ids, pair: Pair, new: int, *, skip: int = 2, tail: bool = True,
          both: bool = False, either: bool = False) -> Ids:
    """A left-to-right merge, right with the defaults; else a typical mistake: skip=1 (the
    second token kept), tail=False (the loop stops at len - 1), both (the pair kept and new
    added), either (the pair's order ignored)."""
    out, i = [], 0
    while i < len(ids) - (0 if tail else 1):
        here = tuple(ids[i:i + 2])
        if len(here) == 2 and (here == pair or (either and here == pair[::-1])):
            out += [ids[i], ids[i + 1], new] if both else [new]
            i += skip
        else:
            out.append(ids[i])
            i += 1
    return out


def _every_start(ids: Ids, pair: Pair, new: int) -> Ids:
    """Overlapping occurrences counted twice: every position where the pair starts becomes
    new, and a token that only ends a pair goes ([a, a, a] -> [new, new])."""
    starts = {i for i in range(len(ids) - 1) if (ids[i], ids[i + 1]) == pair}
    return [new if i in starts else t for i, t in enumerate(ids)
            if i in starts or i - 1 not in starts]


def _first_only(ids: Ids, pair: Pair, new: int) -> Ids:
    """Only the first occurrence replaced."""
    for i in range(len(ids) - 1):
        if (ids[i], ids[i + 1]) == pair:
            return ids[:i] + [new] + ids[i + 2:]
    return list(ids)


def _merge_mistakes() -> list[tuple[Callable[[Ids, Pair, int], Ids], str]]:
    """(a mistaken merge, the message that names the mistake and the fix)."""
    return [
        (lambda ids, pair, new: list(ids), "nothing was replaced: the list came back "
         "unchanged. Compare two adjacent tokens as a tuple, (ids[i], ids[i + 1]) == pair (a "
         "list slice never equals a tuple: ids[i:i + 2] == (1, 2) is always False)"),
        (_first_only, "only the first occurrence of the pair was replaced: keep reading to "
         "the end of the list after a match (no return or break at the first one)"),
        (lambda ids, pair, new: _scan(ids, pair, new, skip=1), "after a match the second "
         "token of the pair is still there: new replaces both tokens, so jump over both "
         "(i += 2, not i += 1)"),
        (lambda ids, pair, new: _scan(ids, pair, new, both=True), "both tokens of the pair "
         "were kept and new added after them: new *replaces* the pair, one token where there "
         "were two"),
        (lambda ids, pair, new: ids + [new] * (len(ids) - len(merge_reference(ids, pair, new))),
         "new was appended at the end of the list: it goes where the pair stood, in its "
         "place, and the two tokens of the pair go"),
        (lambda ids, pair, new: ids + [new], "new was appended at the end of the list: it goes "
         "where the pair stood, in its place, and the two tokens of the pair go"),
        (lambda ids, pair, new: _scan(ids, pair, new, tail=False), "the last token is lost "
         "when it is not part of a pair: a loop `while i < len(ids) - 1` (so that ids[i + 1] "
         "exists) never appends it. Loop while i < len(ids) and test i + 1 < len(ids) before "
         "looking at the pair"),
        (_every_start, "overlapping occurrences were counted twice: in [a, a, a] the pair "
         "(a, a) starts at 0 and at 1, but once the first two tokens are merged the third "
         "stands alone, [new, a]. Read left to right and after a match jump over both tokens "
         "(i += 2)"),
        (lambda ids, pair, new: _scan(ids[::-1], pair[::-1], new)[::-1], "you merged from "
         "right to left: read the list left to right, so [a, a, a] becomes [new, a], not "
         "[a, new]"),
        (lambda ids, pair, new: _scan(ids, pair, new, either=True), "the pair's order was "
         "ignored: (b, a) is another pair than (a, b) ('ht' is not 'th'), so replace only "
         "ids[i] == a followed by ids[i + 1] == b"),
    ]


def _as_ids(got: object) -> Ids | Feedback:
    """What a learner's merge returned as a list of ints, or a failing Feedback: None, not a
    sequence, or entries that are not whole numbers."""
    if got is None:
        return wrong("`merge` returned None: did you forget to `return` the new list? "
                     "(ids.append and ids.insert change a list in place and return None)")
    if isinstance(got, (Tensor, np.ndarray)):
        if got.ndim != 1:
            return wrong(f"`merge` returned an array of shape {tuple(got.shape)}: return one "
                         f"flat list of token ids")
        got = got.tolist()
    if isinstance(got, (str, bytes)) or not isinstance(got, Sequence):
        return wrong(f"`merge` should return a list of token ids, got {type(got).__name__}: "
                     f"build it with out = [] and out.append(...), and return out")
    out = []
    for item in got:
        if isinstance(item, Tensor) and item.numel() == 1:
            item = item.item()
        if isinstance(item, bool) or not isinstance(item, (int, np.integer)):
            return wrong(f"`merge` returned {item!r} ({type(item).__name__}) among the ids: "
                         f"every entry should be a token id, a whole number (int)")
        out.append(int(item))
    return out


def check_merge(fn: Callable | None) -> Feedback:
    """Check fn(ids: list[int], pair: (a, b), new: int) -> list[int]: every occurrence of
    the pair, read left to right and never overlapping, replaced by new; ids unchanged."""
    start = missing_function("merge", fn, "merge(ids, pair, new)")
    if start is not None:
        return start
    for ids, pair, new in _merge_cases():
        where = f"for ids = {ids}, pair = {pair}, new = {new}"
        given = list(ids)
        try:
            got = fn(given, pair, new)
        except Exception as err:  # the learner's code failed: say how, on which input
            hint = (" The loop reads past the end: check i + 1 < len(ids) before looking at "
                    "ids[i + 1]" if isinstance(err, IndexError) else "")
            return wrong(f"`merge` raised {type(err).__name__}: {err} ({where}).{hint}")
        out = _as_ids(got)
        if isinstance(out, Feedback):
            return wrong(f"{where}: {out.message}")
        expected = merge_reference(ids, pair, new)
        if out != expected:
            for mistake, message in _merge_mistakes():
                candidate = mistake(list(ids), pair, new)
                if candidate != expected and out == candidate:
                    return wrong(f"{where}: {message} (expected {expected}, got {out})")
            return wrong(f"{where}: expected {expected}, got {out}. Read the list left to "
                         f"right; where ids[i], ids[i + 1] is the pair append new and move on by "
                         f"two, else append ids[i] and move on by one")
        if given != ids:
            return wrong(f"{where}: `merge` changed the list it was given (it is now {given}): "
                         f"build and return a new list (out = [] ... out.append), so that the "
                         f"caller's tokens stay as they were")
    return right("`merge` replaces every occurrence of the pair, left to right and without "
                 "overlaps, by the new token, and leaves the list it was given unchanged.")


# --- 2. perplexity and bits per character on held-out text -------------------------------

LN2 = math.log(2)


def _score_cases() -> list[tuple[Tensor, int]]:
    """(log_probs, n_chars): natural-log probabilities of every token of a held-out text, in
    several shapes and dtypes, with more characters than tokens (a token covers several)."""
    g = torch.Generator().manual_seed(3)
    out = []
    for shape, n_chars, dtype in (((3, 7), 61, torch.float32), ((12,), 29, torch.float64),
                                  ((2, 3, 4), 50, torch.float32)):
        log_probs = -(0.3 + 2.7 * torch.rand(shape, generator=g, dtype=torch.float64))
        out.append((log_probs.to(dtype), n_chars))
    return out


def scores_reference(log_probs: Tensor, n_chars: int) -> tuple[float, float]:
    """(perplexity per token, bits per character) = (exp(-mean log p), -sum log p / (C ln 2))."""
    lp = log_probs.double()
    return math.exp(-lp.mean().item()), -lp.sum().item() / (n_chars * LN2)


def _score_mistakes(log_probs: Tensor, n_chars: int) -> tuple[list, list]:
    """(perplexity mistakes, bits-per-character mistakes): (value, message) each."""
    lp = log_probs.double()
    n, total = lp.numel(), -lp.sum().item()       # N tokens, -sum log p (nats)
    nll = total / n                                 # nats per token
    first = -lp[0] if lp.dim() > 1 else -lp[:1]  # the negative log p of one row
    chars = (f"the score is per *character*, and the text has n_chars = {n_chars} characters "
             f"but {n} tokens (a token covers several characters): divide the total, "
             f"-sum(log p), by n_chars * ln 2")
    row = ("you used only the first row: the scores are over every token of the text, all "
           "rows together (log_probs.mean() and log_probs.sum(), over all dimensions)")
    perplexity = [
        (math.exp(-nll), "the sign is wrong: perplexity = exp(-mean log p), a number >= 1 "
         "(log p is negative; exp(+mean log p) is its inverse, below 1)"),
        (2 ** nll, "you used 2 ** (...): log_probs are natural logs, so perplexity = "
         "exp(-mean log p) (2 ** goes with log2)"),
        (10 ** nll, "you used 10 ** (...): log_probs are natural logs, so perplexity = "
         "exp(-mean log p)"),
        (math.exp(min(total, 700.0)), "the perplexity comes from the sum: it is exp of the "
         "*mean* negative log-probability per token, exp(-log_probs.mean())"),
        (nll, "that is the mean negative log-probability (the cross-entropy in nats per "
         "token): the perplexity is its exp, exp(-log_probs.mean())"),
        (math.exp(total / n_chars), "that is a perplexity per character (the mean over the "
         f"{n_chars} characters): the perplexity here is per token, exp of the mean over the "
         f"{n} tokens, exp(-log_probs.mean())"),
        ((-lp).exp().mean().item(), "you averaged exp(-log p) over the tokens: the "
         "perplexity is the exp of the mean, exp(-log_probs.mean()), not the mean of the exps"),
        (math.exp(first.mean().item()), row),
        (lp.mean(-1).neg().exp().mean().item(), "you averaged the perplexities of the "
         "rows: take one mean over every token, exp(-log_probs.mean())"),
    ]
    bits = [
        (total / (n * LN2), "that is bits per *token* (divided by the number of tokens); "
         + chars),
        (total / n_chars, "that is nats per character: log_probs are natural logs, so "
         "divide by ln 2 to get bits, -sum(log p) / (n_chars * ln 2)"),
        (total / (n_chars * math.log(10)), "you divided by ln 10 (log base 10, 'digits' "
         "per character): bits are log base 2, so divide by ln 2, -sum(log p) / (n_chars * "
         "ln 2)"),
        (total / (n_chars * LN2 ** 2), "you divided by ln 2 twice: -sum(log p) / (n_chars * "
         "ln 2), once"),
        (total * LN2 / n_chars, "you multiplied by ln 2: nats become bits by *dividing* by "
         "ln 2 (one bit = ln 2 nats), -sum(log p) / (n_chars * ln 2)"),
        (-total / (n_chars * LN2), "the sign is wrong: bits per character = -sum(log p) / "
         "(n_chars * ln 2), a positive number"),
        (total / LN2, "that is the total in bits: divide it by the number of characters, "
         "-sum(log p) / (n_chars * ln 2)"),
        (total / (n * n_chars * LN2), "you divided by both the number of tokens and the "
         "number of characters: -sum(log p) / (n_chars * ln 2), the sum over tokens divided "
         "by the characters only"),
        (nll * n_chars / (n * LN2), "you multiplied bits per token by characters per token: "
         "bits per character = bits per token * tokens per character, i.e. -sum(log p) / "
         "(n_chars * ln 2)"),
        (first.sum().item() / (n_chars * LN2), row),
    ]
    return perplexity, bits


def _score(value: object, name: str) -> float | Feedback:
    """One of the learner's two scores as a float, or a failing Feedback."""
    if value is None:
        return wrong(f"{name} is None: compute it and return it")
    text = string_instead_of_number(name, value)
    if text is not None:
        return text
    try:
        arr = np.asarray(value.detach().cpu() if isinstance(value, Tensor) else value,
                         dtype=float)
    except (TypeError, ValueError, RuntimeError):
        return wrong(f"{name} should be a number, got {type(value).__name__}")
    if arr.size != 1:
        return wrong(f"{name} has shape {arr.shape}, not one number: the scores are over every "
                     f"token of the text, so reduce over all dimensions (log_probs.mean() and "
                     f"log_probs.sum() with no dim) and return a float")
    return float(arr.reshape(()))


def _close(a: float, b: float) -> bool:
    """Whether two scores agree up to float32 rounding."""
    return math.isclose(a, b, rel_tol=RTOL, abs_tol=ATOL)


def check_scores(fn: Callable | None) -> Feedback:
    """Check fn(log_probs (any shape), n_chars) -> (perplexity, bits_per_char): exp(-mean
    log p) per token and -sum log p / (n_chars ln 2), log p natural logs."""
    start = missing_function("scores", fn, "scores(log_probs, n_chars)")
    if start is not None:
        return start
    for log_probs, n_chars in _score_cases():
        where = (f"for log_probs of shape {tuple(log_probs.shape)} ({log_probs.numel()} tokens) "
                 f"and n_chars = {n_chars}")
        try:
            got = fn(log_probs.clone(), n_chars)
        except Exception as err:  # the learner's code failed: say how, on which input
            return wrong(f"`scores` raised {type(err).__name__}: {err} ({where})")
        if got is None:
            return wrong("`scores` returned None: did you forget to `return perplexity, "
                         "bits_per_char`?")
        if isinstance(got, (Tensor, np.ndarray)) and got.ndim == 1 and len(got) == 2:
            got = tuple(got)  # a pair in one array unpacks like a tuple
        if not isinstance(got, (tuple, list)):
            return wrong(f"`scores` returned one {type(got).__name__}: return the pair, "
                         f"`return perplexity, bits_per_char`")
        if len(got) != 2:
            return wrong(f"`scores` returned {len(got)} values: return exactly two, "
                         f"(perplexity, bits_per_char)")
        values = []
        for value, name in zip(got, ("the perplexity (first value)",
                                     "bits per character (second value)")):
            value = _score(value, name)
            if isinstance(value, Feedback):
                return wrong(f"{where}: {value.message}")
            values.append(value)
        ppl, bpc = values
        want_ppl, want_bpc = scores_reference(log_probs, n_chars)
        if _close(ppl, want_bpc) and _close(bpc, want_ppl):
            return wrong(f"{where}: the two values are swapped: return (perplexity, "
                         f"bits_per_char), the perplexity first")
        mistakes = _score_mistakes(log_probs, n_chars)
        for value, want, name, candidates in ((ppl, want_ppl, "perplexity", mistakes[0]),
                                              (bpc, want_bpc, "bits per character",
                                               mistakes[1])):
            if not math.isfinite(value):
                return wrong(f"{where}: the {name} is {value}: look for an exp of a large "
                             f"number (the sum, not the mean) or a log of 0")
            if _close(value, want):
                continue
            for candidate, message in candidates:
                distinct = not math.isclose(candidate, want, rel_tol=1e-3, abs_tol=1e-5)
                if distinct and _close(value, candidate):
                    return wrong(f"{where}: {message} (expected {want:.6g}, got {value:.6g})")
            return wrong(f"{where}: the {name} is not right: expected {want:.6g}, your "
                         f"answer = {value:.6g}")
    return right("`scores` gives the perplexity per token, exp(-mean log p), and the bits per "
                 "character, -sum log p / (n_chars ln 2), on every test text.")


# --- 3. nucleus (top-p) filtering ---------------------------------------------------------

_FILL = "logits.masked_fill(drop, float('-inf'))"


def _top_p_cases() -> list[tuple[Tensor, float, str]]:
    """(logits (B, V), p, a description for messages): random rows whose nuclei differ in size
    and whose sorted order differs from the vocabulary's, with p far from every cumulative
    sum; p so small that only the likeliest token stays; logits = log of binary fractions with
    p exactly at a cumulative sum; p = 1; one row at three temperatures."""
    g = torch.Generator().manual_seed(21)
    logits = 1.5 * torch.randn(4, 7, generator=g)
    # exp(-ln 2) and exp(-2 ln 2) round to exactly 1/2 and 1/4 (float32 and float64), and
    # the exps of row 0 sum to 2: its probabilities 1/8, 1/4, 1/2, 1/8 come out exact
    ln2 = math.log(2)
    exact = torch.tensor([[-2 * ln2, -ln2, 0.0, -2 * ln2],
                          [math.log(q) for q in (0.25, 0.125, 0.4375, 0.1875)]],
                         dtype=torch.float64)
    row = 1.2 * torch.randn(1, 6, generator=g)
    return [
        (logits, 0.8, "for logits of shape (4, 7), p = 0.8"),
        (logits, 0.05, "for logits of shape (4, 7), p = 0.05 (the likeliest token alone "
         "reaches it)"),
        (exact, 0.75, "for logits (2, 4) with the probabilities [0.125, 0.25, 0.5, 0.125] "
         "and [0.25, 0.125, 0.4375, 0.1875], p = 0.75 (in row 0 the two likeliest sum to "
         "0.5 + 0.25 = 0.75 exactly)"),
        (logits, 1.0, "for logits of shape (4, 7), p = 1 (every token stays)"),
        (torch.cat([row / 0.5, row, row / 2]), 0.8, "for one row of logits divided by the "
         "temperatures 0.5, 1 and 2 (the filter takes the logits as given), p = 0.8"),
    ]


def _drop(values: Tensor, p: float, rule: str = "before >= p",
          descending: bool = True) -> tuple[Tensor, Tensor]:
    """(drop mask in the vocabulary's order, drop mask in sorted order) when the tokens are
    sorted by `values` and dropped by `rule` on the running sums ('before' is the mass of
    the tokens sorted ahead, 'cum' that with the token's own): right with the defaults."""
    sorted_values, order = values.sort(-1, descending=descending)
    cum = sorted_values.cumsum(-1)
    before = cum - sorted_values
    dropped = {"before >= p": before >= p, "before > p": before > p, "cum > p": cum > p,
               "cum >= p": cum >= p}[rule]
    return dropped.scatter(-1, order, dropped), dropped


def _top_p_mistakes(logits: Tensor, p: float) -> list[tuple[Tensor, str]]:
    """(candidate result, message) for the typical mistakes of a top-p filter."""
    x = logits.double()
    probs = x.softmax(-1)
    right_drop, sorted_drop = _drop(probs, p)

    def keep(drop: Tensor) -> Tensor:
        return x.masked_fill(drop, float("-inf"))

    crossing = ("the token that crosses p was dropped: you kept only the tokens whose running "
                "sum stays below p, so the kept mass is less than p (and a row whose likeliest "
                "token alone exceeds p keeps nothing). Keep a token while the mass of the "
                "likelier ones before it is below p: drop where cumsum - probs >= p")
    sort_back = ("the mask was made in sorted order but never put back in the vocabulary's "
                 "order: sorting moves the tokens, so scatter the sorted mask back with the "
                 "sort's indices, drop = sorted_drop.scatter(-1, order, sorted_drop), then "
                 + _FILL)
    probabilities = ("you returned probabilities: the filter returns *logits*, the kept ones "
                     "unchanged and -inf elsewhere (" + _FILL + "); the sampler takes the "
                     "softmax afterwards")
    whole = ("the filter ran over the whole batch at once: each row is its own distribution, "
             "so take the softmax, the sort and the running sum along the last dimension "
             "(dim=-1), row by row")
    found = [
        (keep(_drop(probs, p, "cum > p")[0]), crossing),
        (keep(_drop(probs, p, "cum >= p")[0]), crossing),
        (keep(_drop(probs, p, "before > p")[0]), "one token too many at the boundary: when "
         "the likelier tokens already sum to exactly p, the next one is not needed (the "
         "smallest set reaching p). Drop where the mass before a token is >= p, not > p"),
        (keep(_drop(x, p)[0]), "you summed the logits, not the probabilities: take "
         "probs = logits.softmax(-1) first, then sort and accumulate those"),
        (keep(_drop(x, p, "cum > p")[0]), "you summed the logits, not the probabilities: take "
         "probs = logits.softmax(-1) first, then sort and accumulate those"),
        (keep(_drop(x.exp(), p)[0]), "the probabilities are not normalised: exp(logits) does "
         "not sum to 1, use logits.softmax(-1)"),
        (keep(_drop(probs, p, descending=False)[0]), "you sorted in ascending order, so the "
         "nucleus is made of the *unlikeliest* tokens: sort with descending=True"),
        (keep(_drop(probs, p, "cum > p", descending=False)[0]), "you sorted in ascending "
         "order, so the nucleus is made of the *unlikeliest* tokens: sort with "
         "descending=True"),
        (x.sort(-1, descending=True).values.masked_fill(sorted_drop, float("-inf")),
         "the result is in sorted order (likeliest first): the tokens must stay where they "
         "are in the vocabulary. Make the mask in sorted order, put it back with the sort's "
         "indices, drop = sorted_drop.scatter(-1, order, sorted_drop), and fill the logits "
         "you were given, " + _FILL),
        (x.masked_fill(sorted_drop, float("-inf")), sort_back),
        (x.masked_fill(sorted_drop.gather(-1, x.sort(-1, descending=True).indices),
                       float("-inf")), "the sorted mask went back with gather, which applies "
         "the permutation once more instead of undoing it: use scatter, "
         "drop = sorted_drop.scatter(-1, order, sorted_drop)"),
        (keep(probs < p), "you kept the tokens whose own probability is at least p: top-p "
         "keeps the likeliest tokens until their probabilities *together* reach p (sort, "
         "running sum)"),
        (keep(probs <= p), "you kept the tokens whose own probability is above p: top-p "
         "keeps the likeliest tokens until their probabilities *together* reach p (sort, "
         "running sum)"),
        (probs.masked_fill(right_drop, 0.0), probabilities),
        (probs.masked_fill(right_drop, float("-inf")), probabilities),
        (keep(right_drop).softmax(-1), probabilities),
        (keep(right_drop).log_softmax(-1), "you returned log-probabilities (renormalised over "
         "the nucleus): return the logits themselves, unchanged where kept, " + _FILL),
        (x.log_softmax(-1).masked_fill(right_drop, float("-inf")), "you returned "
         "log-probabilities (log_softmax): return the logits themselves, unchanged where "
         "kept, " + _FILL),
        (x.masked_fill(right_drop, 0.0), "the dropped logits are 0, not -inf: exp(0) = 1, "
         "so they keep a share of the probability. Fill with float('-inf'), " + _FILL),
        (_drop_flat(x, p), whole),
        (x.masked_fill(_drop(x.flatten().softmax(0).view_as(x), p)[0], float("-inf")), whole),
        (keep(_drop(x.softmax(0), p)[0]), "the softmax ran down the columns (dim=0), across "
         "the batch: each row is one distribution over the vocabulary, softmax(dim=-1)"),
    ]
    for k in range(1, x.shape[-1]):
        cut = x.topk(k, dim=-1).values[:, -1:]
        found.append((keep(x < cut), f"you kept the {k} likeliest tokens of every row (top-k "
                      f"with k = {k}): top-p keeps as many as it takes for their probabilities "
                      f"to reach p, a number that varies from row to row"))
    return found


def _drop_flat(x: Tensor, p: float) -> Tensor:
    """The right filter applied to the whole batch flattened into one row."""
    return x.masked_fill(_drop(x.reshape(1, -1).softmax(-1), p)[0].view_as(x), float("-inf"))


def _scale(got: Tensor, logits: Tensor) -> float | None:
    """c if every finite entry of the result is c times the logit there (c not near 1, at
    least two entries), else None: a temperature applied inside the filter."""
    x = logits.double()
    finite = torch.isfinite(got) & (x.abs() > 1e-3)
    if finite.sum() < 2:
        return None
    ratio = got[finite] / x[finite]
    c = ratio[0].item()
    if abs(c - 1) < 0.02 or not torch.allclose(ratio, torch.full_like(ratio, c), rtol=RTOL):
        return None
    return c


def _values_verdict(got: Tensor, logits: Tensor, kept: Tensor, where: str) -> Feedback:
    """A failing Feedback for a result that keeps the right tokens with the wrong values."""
    x = logits.double()
    shift = (got - x).masked_fill(~kept, 0.0)
    per_row = shift.sum(-1, keepdim=True) / kept.sum(-1, keepdim=True)
    if torch.allclose(shift, per_row * kept, rtol=RTOL, atol=ATOL):
        return wrong(f"{where}: the right tokens are kept, but their logits are shifted by a "
                     f"constant per row (log-probabilities?): return the logits themselves, "
                     f"unchanged where kept, {_FILL}")
    if bool(((got[kept] >= 0) & (got[kept] <= 1)).all()):
        return wrong(f"{where}: the right tokens are kept, but with values in [0, 1] "
                     f"(probabilities?): return the logits, unchanged where kept, {_FILL}")
    return wrong(f"{where}: the right tokens are kept, but their logits changed: return them "
                 f"unchanged, {_FILL}")


def _kept_verdict(got: Tensor, expected: Tensor, logits: Tensor, p: float,
                  where: str) -> Feedback | None:
    """A failing Feedback describing the first row whose kept tokens are wrong, else None."""
    want, kept = torch.isfinite(expected), torch.isfinite(got)
    if torch.equal(kept, want):
        return None
    r = int((kept != want).any(-1).nonzero()[0])
    probs = logits.double()[r].softmax(-1)
    shown = ", ".join(f"{v:.3g}" for v in probs.tolist())
    if not kept[r].any():
        return wrong(f"{where}: row {r} keeps no token at all (every logit -inf, the softmax "
                     f"then gives NaN): the likeliest token always stays, and the token that "
                     f"crosses p too. Row {r}'s probabilities are [{shown}]")
    return wrong(f"{where}: row {r} keeps the tokens {kept[r].nonzero().flatten().tolist()}, "
                 f"but the nucleus is {want[r].nonzero().flatten().tolist()}: the likeliest "
                 f"tokens, most likely first, until their probabilities (row {r}: [{shown}]) "
                 f"sum to at least p = {p}")


def check_top_p(fn: Callable | None) -> Feedback:
    """Check fn(logits (B, V), p) -> (B, V): the logits with -inf outside each row's nucleus,
    the smallest set of likeliest tokens whose probabilities sum to at least p."""
    start = missing_function("top_p_filter", fn, "top_p_filter(logits, p)")
    if start is not None:
        return start
    for logits, p, where in _top_p_cases():
        try:
            got = fn(logits.clone(), p)
        except Exception as err:  # the learner's code failed: say how, on which input
            return wrong(f"`top_p_filter` raised {type(err).__name__}: {err} ({where})")
        if isinstance(got, Tensor) and got.dtype == torch.bool:
            return wrong(f"{where}: you returned a boolean mask: apply it to the logits, "
                         f"{_FILL} (drop is True outside the nucleus)")
        got = as_tensor("top_p_filter", got, returns="the filtered logits",
                        kind="a tensor (B, V) of logits")
        if isinstance(got, Feedback):
            return got
        if tuple(got.shape) != tuple(logits.shape):
            return wrong(f"{where}: the result has shape {tuple(got.shape)}, expected "
                         f"{tuple(logits.shape)}: one row of logits per row of the input, the "
                         f"vocabulary in its order, {_FILL}")
        if got.isnan().any():
            return wrong(f"{where}: the result contains NaN: look for a softmax of a row that "
                         f"is all -inf, or an -inf times 0")
        expected = top_p_filter(logits, p).double()
        huge = torch.isfinite(got) & (got <= -1e4)  # a large negative number for -inf
        if huge.any():
            fill = got[huge][0].item()
            got = got.masked_fill(huge, float("-inf"))
            if same(got, expected):
                return wrong(f"{where}: the dropped logits hold a large negative number "
                             f"({fill:.4g}), not -inf: fill with float('-inf') so that their "
                             f"probability is exactly 0 (and stays 0 whatever is done to the "
                             f"logits next), {_FILL}")
        for candidate, message in _top_p_mistakes(logits, p):
            distinct = not same(candidate, expected, rtol=1e-3, atol=1e-5)
            if distinct and same(got, candidate):
                empty = (candidate == float("-inf")).all(-1).nonzero().flatten().tolist()
                also = (f" (and row {empty[0]} keeps no token at all: a softmax over a row "
                        f"of -inf is NaN)" if empty else "")
                return wrong(f"{where}: {message}{also}")
        c = _scale(got, logits)
        if c is not None:
            return wrong(f"{where}: the logits you return are {c:.4g} times the ones given (a "
                         f"temperature inside the filter?): the sampler divides by the "
                         f"temperature *before* filtering; the filter takes the logits as "
                         f"given and returns them unchanged where kept, {_FILL}")
        verdict = _kept_verdict(got, expected, logits, p, where)
        if verdict is not None:
            return verdict
        if not same(got, expected):
            return _values_verdict(got, logits, torch.isfinite(expected), where)
    return right("`top_p_filter` keeps, row by row, the smallest set of likeliest tokens whose "
                 "probabilities reach p (the crossing token included), in the vocabulary's "
                 "order, and sets the other logits to -inf.")
