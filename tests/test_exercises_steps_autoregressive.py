"""genai_lib.exercises.autoregressive, the exercise of chapter 9 that writes a step of the
model: multi-head causal attention with a key/value cache (`check_cached_attention`). The
reference answers pass; each typical mistake fails with a message that names it."""

import math

import pytest
import torch
import torch.nn.functional as F

from genai_lib.autoregressive import causal_mask
from genai_lib.exercises.autoregressive import (cached_attention_reference,
                                                check_cached_attention)


def attend(x, w_q, w_k, w_v, heads, cache, *, split="right", merge="right", scale="sqrt d",
           dim=-1, mask="causal", keep="all", attend_over="all", store=("k", "v"),
           transposed=False, values="v", cat_dim=2, new_mask=True):
    """A learner's cached_attention, right by default; each keyword makes one mistake."""
    b, t, width = x.shape
    d = width // heads
    proj = [x @ (w.T if transposed else w) for w in (w_q, w_k, w_v)]
    if values == "x":
        proj[2] = x
    if split == "no transpose":
        q, k, v = (z.reshape(b, heads, t, d) for z in proj)
    elif split == "strided":
        q, k, v = (z.reshape(b, t, d, heads).permute(0, 3, 1, 2) for z in proj)
    else:
        q, k, v = (z.view(b, t, heads, d).transpose(1, 2) for z in proj)
    new_k, new_v = k, v
    if cache:
        k = torch.cat([cache["k"], k], dim=cat_dim)
        v = torch.cat([cache["v"], v], dim=cat_dim)
    if keep == "all":
        cache[store[0]], cache[store[1]] = k, v
    elif keep == "last":  # the cache that forgets: only this call's keys and values
        cache["k"], cache["v"] = new_k, new_v
    elif keep == "unsplit":
        cache["k"], cache["v"] = k.transpose(1, 2).reshape(b, -1, width), v
    elif keep == "rebind":
        cache = {"k": k, "v": v}  # noqa: F841 (the mistake: the caller's dict stays empty)
    if attend_over == "new":
        k, v = new_k, new_v
    s = k.shape[2]
    scores = q @ k.transpose(-2, -1)
    scores = scores / {"sqrt d": math.sqrt(d), "d": d, "sqrt dim": math.sqrt(width),
                       "dim": width, "none": 1.0}[scale]
    full = torch.ones(s, s, dtype=torch.bool)
    allowed = {"causal": full.tril()[s - t:], "ahead": full.tril(1)[s - t:],
               "self excluded": full.tril(-1)[s - t:], "none": full[s - t:],
               "no offset": torch.ones(t, s, dtype=torch.bool).tril(),
               "new only": torch.ones(t, t, dtype=torch.bool).tril()}.get(mask)
    if not new_mask and s > t:
        allowed = full[s - t:]
    if mask == "zero":
        scores = scores * full.tril()[s - t:]
    elif mask != "after":
        scores = scores.masked_fill(~allowed, float("-inf"))
    weights = scores.softmax(dim)
    if mask == "after":
        weights = weights * full.tril()[s - t:]
    y = weights @ v
    if merge == "no transpose":
        return y.reshape(b, t, width)
    return y.transpose(1, 2).reshape(b, t, width)


def solution(x, w_q, w_k, w_v, heads, cache):
    """The reference solution of the chapter's exercise."""
    b, t, dim = x.shape
    q, k, v = ((x @ w).view(b, t, heads, -1).transpose(1, 2)
               for w in (w_q, w_k, w_v))
    if cache:
        k = torch.cat([cache["k"], k], dim=2)
        v = torch.cat([cache["v"], v], dim=2)
    cache["k"], cache["v"] = k, v
    s = k.shape[2]
    mask = causal_mask(s)[s - t:]
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    y = scores.masked_fill(~mask, float("-inf")).softmax(-1) @ v
    return y.transpose(1, 2).reshape(b, t, dim)


def with_sdpa(x, w_q, w_k, w_v, heads, cache, is_causal=False):
    """PyTorch's fused attention with the mask passed in (right), or is_causal=True (wrong with
    a cache: it aligns the mask to the first keys)."""
    b, t, dim = x.shape
    q, k, v = ((x @ w).view(b, t, heads, -1).transpose(1, 2) for w in (w_q, w_k, w_v))
    k = torch.cat([cache["k"], k], dim=2) if cache else k
    v = torch.cat([cache["v"], v], dim=2) if cache else v
    cache.update(k=k, v=v)
    s = k.shape[2]
    y = (F.scaled_dot_product_attention(q, k, v, is_causal=True) if is_causal else
         F.scaled_dot_product_attention(q, k, v, attn_mask=causal_mask(s)[s - t:]))
    return y.transpose(1, 2).reshape(b, t, dim)


def _raises(*args):
    """A learner's function that fails."""
    raise ZeroDivisionError("division by zero")


def test_cached_attention_accepts_right_answers():
    assert check_cached_attention(solution)
    assert check_cached_attention(cached_attention_reference)
    assert check_cached_attention(attend)
    assert check_cached_attention(with_sdpa)
    assert check_cached_attention(
        lambda x, *rest: solution(x.double(), *(r.double() for r in rest[:3]), *rest[3:]))


def mistake(**how):
    """The learner's function with one mistake."""
    return lambda *args: attend(*args, **how)


@pytest.mark.parametrize("fn, phrases", [
    (mistake(split="no transpose", merge="no transpose"), ["split along the wrong axis",
                                                           "without a transpose"]),
    (mistake(split="no transpose"), ["split along the wrong axis"]),
    (mistake(merge="no transpose"), ["merged without the transpose"]),
    (mistake(split="strided"), ["features i, i + heads", "adjacent features"]),
    (mistake(scale="none"), ["not scaled"]),
    (mistake(scale="d"), ["divided the scores by d = 4", "sqrt(d)"]),
    (mistake(scale="sqrt dim"), ["sqrt(dim) = sqrt(8)", "d = dim / heads"]),
    (mistake(scale="dim"), ["divided the scores by dim = 8"]),
    (mistake(dim=-2), ["softmax runs over the wrong dimension"]),
    (mistake(mask="none"), ["no causal mask"]),
    (mistake(mask="ahead"), ["off by one", "position i + 1"]),
    (mistake(mask="self excluded"), ["NaN", "off by one", "must see itself"]),
    (mistake(mask="zero"), ["blocked scores to 0"]),
    (mistake(mask="after"), ["masked after the softmax"]),
    (mistake(transposed=True), ["transposed weights"]),
    (mistake(values="x"), ["weighted x instead of the values"]),
    (mistake(keep="last"), ["stores only the last key", "one token at a time"]),
    (mistake(keep="last", attend_over="new"), ["stores only the last key"]),
    (mistake(attend_over="new"), ["attends only over its own new tokens"]),
    (mistake(mask="no offset"), ["mask of the new tokens is off", "causal_mask(S)[S - t:]"]),
    (mistake(mask="new only"), ["raised RuntimeError", "causal_mask(S)[S - t:]",
                                "chunks of 3 then 2"]),
    (lambda *args: with_sdpa(*args, is_causal=True), ["mask of the new tokens is off",
                                                      "is_causal=True"]),
    (mistake(new_mask=False), ["see one another without a mask", "chunks of 3 then 2"]),
    (mistake(keep="nothing"), ["has no 'k' and 'v'"]),
    (mistake(keep="rebind"), ["has no 'k' and 'v'", "binding a new dict"]),
    (mistake(store=("v", "k")), ["cache['k'] holds the wrong tensor"]),
    (mistake(keep="unsplit"), ["cache['k'] has shape (2, 5, 8)", "(B, heads, S, d)"]),
    (mistake(cat_dim=1), ["raised RuntimeError", "dim=2"]),
    (lambda *args: solution(*args)[:, None], ["has shape (2, 1, 5, 8)", "merge the heads"]),
    (lambda *args: solution(*args) + 0.01, ["is not right at index"]),
    (lambda *args: "out", ["should return a tensor"]),
    (lambda *args: None, ["forget to `return`"]),
    (_raises, ["raised ZeroDivisionError"]),
])
def test_cached_attention_mistakes(fn, phrases):
    verdict = check_cached_attention(fn)
    assert not verdict
    for phrase in phrases:
        assert phrase in verdict.message, verdict.message


def test_cached_attention_no_function():
    assert "is None" in check_cached_attention(None).message
    assert "should be a function" in check_cached_attention(torch.zeros(3)).message


def test_reference_matches_the_library():
    """The checker's reference is the library's attention: the same output as
    ar.SelfAttention with its projections as the three matrices (no output projection)."""
    from genai_lib.autoregressive import SelfAttention

    torch.manual_seed(0)
    layer = SelfAttention(8, 2)
    torch.nn.init.zeros_(layer.qkv.bias)
    layer.out.weight.data, layer.out.bias.data = torch.eye(8), torch.zeros(8)
    w_q, w_k, w_v = layer.qkv.weight.T.chunk(3, dim=1)
    x = torch.randn(2, 5, 8)
    with torch.no_grad():
        expected = layer(x)
    assert torch.allclose(cached_attention_reference(x, w_q, w_k, w_v, 2, {}), expected,
                          atol=1e-5)
