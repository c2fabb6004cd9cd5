"""Unit tests of genai_lib.autoregressive: causality of WindowMLP and the Transformer,
attention against PyTorch's scaled_dot_product_attention, the key/value cache, the samplers
(seeds, temperature, top-k, cached or not), n-gram counts and probabilities by hand, `nll`,
training on a pattern, and clear errors. Every random draw is seeded, so nothing can flake."""

import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from genai_lib import autoregressive as ar
from genai_lib import train

V, CONTEXT = 5, 8


def transformer(vocab=V, context=CONTEXT, dim=16, heads=4, layers=2, dropout=0.0, seed=0):
    torch.manual_seed(seed)
    return ar.Transformer(vocab, context, dim=dim, heads=heads, layers=layers,
                          dropout=dropout).eval()


def window_mlp(vocab=V, window=3, seed=0):
    torch.manual_seed(seed)
    return ar.WindowMLP(vocab, window=window, dim=8, hidden=32).eval()


def tokens(b=4, t=CONTEXT, vocab=V, seed=0):
    return torch.randint(0, vocab, (b, t), generator=torch.Generator().manual_seed(seed))


def fixed_logits_transformer(bias, context=CONTEXT):
    """A Transformer whose logits are `bias` at every position: head weights zero."""
    model = transformer(vocab=len(bias), context=context)
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
    return model


def greedy_by_hand(model, n, length):
    """Argmax decoding with forward() only: position t's logits ignore x[:, t] (a dummy 0)."""
    seq = torch.zeros(n, 0, dtype=torch.long)
    with torch.no_grad():
        for _ in range(length):
            logits = model(torch.cat([seq, torch.zeros(n, 1, dtype=torch.long)], 1))[:, -1]
            seq = torch.cat([seq, logits.argmax(-1, keepdim=True)], 1)
    return seq


class NGramModule(nn.Module):
    """A bigram NGram as a module: logits = log p(. | previous token) from its counts."""

    def __init__(self, ngram):
        super().__init__()
        assert ngram.order == 2
        self.ngram = ngram
        self.dummy = nn.Parameter(torch.zeros(()))  # nll reads the device from a parameter

    def forward(self, x):
        inp = ar.shift_right(x, self.ngram.vocab)
        table = torch.tensor([[math.log(p) for p in self.ngram.probs((c,))]
                              for c in range(self.ngram.vocab + 1)], dtype=torch.float32)
        return table[inp]


# ---------------------------------------------------------------- tokens, shift, causality

def test_check_tokens_and_shift_right():
    x = torch.tensor([[0, 4, 2], [1, 1, 3]], dtype=torch.int32)
    out = ar.check_tokens(x, V)
    assert out.dtype == torch.long and torch.equal(out, x.long())
    assert ar.check_tokens(torch.zeros(0, 3, dtype=torch.long), V).shape == (0, 3)
    assert torch.equal(ar.shift_right(out, V), torch.tensor([[5, 0, 4], [5, 1, 1]]))


@pytest.mark.parametrize("make", [transformer, window_mlp], ids=["transformer", "window_mlp"])
def test_logits_at_t_depend_only_on_earlier_tokens(make):
    model, x = make(), tokens()
    with torch.no_grad():
        base = model(x)
        assert base.shape == (4, CONTEXT, V) and bool(base.isfinite().all())
        shift = torch.randint(1, V, x.shape, generator=torch.Generator().manual_seed(1))
        for t in range(CONTEXT):
            x2 = x.clone()
            x2[:, t:] = (x[:, t:] + shift[:, t:]) % V  # every token from t on changes
            out = model(x2)
            # positions 0..t read only x[:, :t] (position t predicts x_t): unchanged
            torch.testing.assert_close(out[:, :t + 1], base[:, :t + 1], rtol=0, atol=1e-6)
            if t + 1 < CONTEXT:  # position t + 1 reads x_t, which changed
                assert bool(((out[:, t + 1] - base[:, t + 1]).abs().amax(-1) > 1e-4).all())


def test_transformer_looks_back_to_the_first_token_and_rows_are_independent():
    model, x = transformer(), tokens()
    x2 = x.clone()
    x2[0, 0] = (x[0, 0] + 1) % V
    with torch.no_grad():
        base, out = model(x), model(x2)
    torch.testing.assert_close(out[1:], base[1:], rtol=0, atol=1e-6)  # other rows untouched
    torch.testing.assert_close(out[0, 0], base[0, 0], rtol=0, atol=1e-6)
    assert bool(((out[0, 1:] - base[0, 1:]).abs().amax(-1) > 1e-5).all())  # all later ones


def test_window_mlp_sees_exactly_the_last_window_tokens():
    model, x = window_mlp(window=3), tokens()
    x2 = x.clone()
    x2[:, 0] = (x[:, 0] + 1) % V
    with torch.no_grad():
        base, out = model(x), model(x2)
    diff = (out - base).abs().amax(-1)  # (B, T)
    assert bool((diff[:, 1:4] > 1e-4).all())  # positions 1..3 have x_0 in their window of 3
    assert float(diff[:, 0].max()) == 0 and float(diff[:, 4:].max()) == 0


def test_transformer_step_with_caches_matches_forward():
    model, x = transformer(), tokens()
    inp = ar.shift_right(x, V)
    caches = [{} for _ in model.blocks]
    with torch.no_grad():
        full = model(x)
        parts = [model.step(inp[:, :3], 0, caches)]
        parts += [model.step(inp[:, t:t + 1], t, caches) for t in range(3, CONTEXT)]
    torch.testing.assert_close(torch.cat(parts, 1), full, rtol=1e-5, atol=1e-5)
    assert all(c["k"].shape == c["v"].shape == (4, 4, CONTEXT, 4) for c in caches)


# ---------------------------------------------------------------- attention and the cache

def qkv(b=2, h=3, t=6, s=6, d=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(b, h, t, d, generator=g), torch.randn(b, h, s, d, generator=g),
            torch.randn(b, h, s, d, generator=g))


def test_causal_mask():
    m = ar.causal_mask(4)
    assert m.dtype == torch.bool and m.shape == (4, 4)
    assert m.tolist() == [[True, False, False, False], [True, True, False, False],
                          [True, True, True, False], [True, True, True, True]]


def test_attention_matches_scaled_dot_product_attention():
    q, k, v = qkv()
    sdpa = F.scaled_dot_product_attention
    torch.testing.assert_close(ar.attention(q, k, v), sdpa(q, k, v))
    causal = ar.attention(q, k, v, ar.causal_mask(6))
    torch.testing.assert_close(causal, sdpa(q, k, v, is_causal=True))
    torch.testing.assert_close(causal, sdpa(q, k, v, attn_mask=ar.causal_mask(6)))
    assert not torch.allclose(causal, ar.attention(q, k, v))  # the mask matters
    # new queries after a prefix (T=2 queries, S=6 keys): the last rows of the causal mask
    q2 = q[:, :, -2:]
    mask = ar.causal_mask(6)[4:]
    torch.testing.assert_close(ar.attention(q2, k, v, mask), sdpa(q2, k, v, attn_mask=mask))
    torch.testing.assert_close(ar.attention(q2, k, v, mask), causal[:, :, -2:])
    # a non-causal mask (every row keeps at least one key), by hand in float64
    keep = torch.rand(6, 6, generator=torch.Generator().manual_seed(2)) < 0.5
    keep[:, 0] = True
    torch.testing.assert_close(ar.attention(q, k, v, keep), sdpa(q, k, v, attn_mask=keep))
    qd, kd, vd = q.double(), k.double(), v.double()
    scores = (qd @ kd.transpose(-2, -1) / 2.0).masked_fill(~keep, -math.inf)
    torch.testing.assert_close(ar.attention(qd, kd, vd, keep), scores.softmax(-1) @ vd)


def test_attention_row_i_is_plain_attention_over_the_first_i_plus_1_keys():
    q, k, v = qkv(b=1, h=2, d=8)
    out = ar.attention(q, k, v, ar.causal_mask(6))
    for i in range(6):
        alone = ar.attention(q[:, :, i:i + 1], k[:, :, :i + 1], v[:, :, :i + 1])
        torch.testing.assert_close(out[:, :, i:i + 1], alone)


def test_self_attention_cache_one_token_at_a_time_matches_full_sequence():
    torch.manual_seed(0)
    sa = ar.SelfAttention(8, 2)
    x = torch.randn(3, 7, 8)
    with torch.no_grad():
        full = sa(x)
        cache = {}
        one = torch.cat([sa(x[:, i:i + 1], cache) for i in range(7)], 1)
        assert cache["k"].shape == cache["v"].shape == (3, 2, 7, 4)
        cache2 = {}
        chunks = torch.cat([sa(x[:, :2], cache2), sa(x[:, 2:5], cache2), sa(x[:, 5:], cache2)], 1)
        # the layer is causal: the first 4 outputs ignore the last 3 inputs
        torch.testing.assert_close(sa(x[:, :4]), full[:, :4], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(one, full, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(chunks, full, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- samplers

@pytest.mark.parametrize("temperature, top_k", [(1.0, None), (0.7, 3), (1.5, 2)])
def test_cached_and_uncached_samplers_draw_the_same_tokens(temperature, top_k):
    model = transformer()
    kw = dict(temperature=temperature, top_k=top_k, seed=3)
    a = ar.sample(model, 16, length=CONTEXT, cache=True, **kw)
    b = ar.sample(model, 16, length=CONTEXT, cache=False, **kw)
    assert a.shape == (16, CONTEXT) and a.dtype == torch.long and a.device.type == "cpu"
    assert int(a.min()) >= 0 and int(a.max()) < V
    assert torch.equal(a, b)
    assert len(set(map(tuple, a.tolist()))) > 1  # it does sample


def test_same_seed_same_samples_different_seeds_differ():
    model = transformer()
    a = ar.sample(model, 8, length=6, seed=5)
    assert torch.equal(a, ar.sample(model, 8, length=6, seed=5))
    assert not torch.equal(a, ar.sample(model, 8, length=6, seed=6))
    assert torch.equal(a[:, :4], ar.sample(model, 8, length=4, seed=5))  # a prefix of a longer run


def test_cached_sampler_feeds_one_token_per_step(monkeypatch):
    model, calls = transformer(), []
    real = model.step

    def spy(inp, start=0, caches=None):
        calls.append((inp.shape[1], start, caches is not None))
        return real(inp, start, caches)

    monkeypatch.setattr(model, "step", spy)
    ar.sample(model, 2, length=5, cache=True)
    assert calls == [(1, t, True) for t in range(5)]
    calls.clear()
    ar.sample(model, 2, length=5, cache=False)
    assert calls == [(t + 1, 0, False) for t in range(5)]


@pytest.mark.parametrize("cache", [True, False])
def test_temperature_zero_is_greedy_and_top_k_1_too(cache):
    model = transformer(seed=1)
    greedy = greedy_by_hand(model, 3, CONTEXT)
    for seed in (0, 1):
        assert torch.equal(ar.sample(model, 3, length=CONTEXT, temperature=0, seed=seed, cache=cache),
                           greedy)
        assert torch.equal(ar.sample(model, 3, length=CONTEXT, top_k=1, seed=seed, cache=cache), greedy)
        assert torch.equal(
            ar.sample(model, 3, length=CONTEXT, temperature=0.3, top_k=1, seed=seed, cache=cache), greedy)


def test_top_k_and_temperature_frequencies_with_controlled_logits():
    bias = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])
    model = fixed_logits_transformer(bias)
    with torch.no_grad():
        out = model(tokens(vocab=6))
    torch.testing.assert_close(out, bias.expand_as(out))  # the logits are under control

    def freq(x):
        return torch.bincount(x.flatten(), minlength=6).double() / x.numel()

    for temperature in (1.0, 2.0, 0.5):
        f = freq(ar.sample(model, 500, length=CONTEXT, temperature=temperature, seed=0))
        torch.testing.assert_close(f, (bias.double() / temperature).softmax(0), rtol=0,
                                   atol=0.025)
    for k, temperature in ((2, 1.0), (3, 0.5)):
        x = ar.sample(model, 500, length=CONTEXT, temperature=temperature, top_k=k, seed=1)
        assert set(x.unique().tolist()) == set(range(6 - k, 6))  # only the k most likely
        want = torch.zeros(6, dtype=torch.float64)
        want[6 - k:] = (bias[6 - k:].double() / temperature).softmax(0)
        torch.testing.assert_close(freq(x), want, rtol=0, atol=0.025)
    big = ar.sample(model, 500, length=CONTEXT, top_k=10, seed=0)  # k >= V keeps them all
    assert torch.equal(big, ar.sample(model, 500, length=CONTEXT, seed=0))
    assert bool((ar.sample(model, 4, length=CONTEXT, temperature=0) == 5).all())


def test_sample_restores_the_training_mode():
    model = transformer(dropout=0.5).train()
    a = ar.sample(model, 4, length=6, seed=0)
    assert model.training
    assert torch.equal(a, ar.sample(model.eval(), 4, length=6, seed=0))  # dropout was off


# ---------------------------------------------------------------- probabilities, n-grams, nll

def test_softmax_of_logits_sums_to_one():
    for model in (transformer(), window_mlp()):
        with torch.no_grad():
            p = model(tokens()).double().softmax(-1)
        torch.testing.assert_close(p.sum(-1), torch.ones(4, CONTEXT, dtype=torch.float64))


def test_ngram_counts_and_log_probs_by_hand():
    ng = ar.NGram(3, order=2, k=0.5).fit(torch.tensor([[0, 1, 0], [0, 1, 1]]))
    counts = {c: a.tolist() for c, a in ng.counts.items()}
    assert counts == {(3,): [2, 0, 0], (0,): [0, 2, 0], (1,): [1, 1, 0]}  # 3: the start
    denom = 2 + 0.5 * 3
    for c, want in [((3,), [2.5, 0.5, 0.5]), ((0,), [0.5, 2.5, 0.5]), ((1,), [1.5, 1.5, 0.5]),
                    ((2,), [1 / 3 * denom] * 3)]:  # (2,) was never seen: uniform
        p = ng.probs(c)
        assert p.shape == (3,) and math.isclose(p.sum(), 1.0, rel_tol=1e-12)
        assert p.tolist() == pytest.approx([w / denom for w in want], rel=1e-12)
    lp = ng.log_probs(torch.tensor([[0, 1, 0], [0, 1, 1], [2, 2, 0]]))
    a, b, c = math.log(2.5 / 3.5), math.log(1.5 / 3.5), math.log(1 / 3)
    want = torch.tensor([[a, a, b], [a, a, b], [math.log(0.5 / 3.5), c, c]], dtype=torch.float64)
    assert lp.dtype == torch.float64
    torch.testing.assert_close(lp, want, rtol=1e-12, atol=1e-12)


def test_ngram_probs_sum_to_one_everywhere():
    ng = ar.NGram(V, order=3, k=0.1).fit(tokens(b=20, seed=3))
    for context in [*ng.counts, (0, 0), (V, 4), (4, 4)]:
        assert math.isclose(ng.probs(context).sum(), 1.0, rel_tol=1e-12)


def test_ngram_order_1_ignores_the_context():
    x = torch.tensor([[0, 1, 2, 2], [2, 2, 1, 2]])
    ng = ar.NGram(3, order=1, k=1.0).fit(x)
    assert list(ng.counts) == [()] and ng.counts[()].tolist() == [1, 2, 5]
    p = ng.probs(())
    assert p.tolist() == pytest.approx([2 / 11, 3 / 11, 6 / 11], rel=1e-12)
    y = torch.tensor([[0, 1, 2], [1, 0, 2], [2, 2, 2]])
    lp = ng.log_probs(y)
    torch.testing.assert_close(lp, torch.from_numpy(p).log()[y], rtol=1e-12, atol=1e-12)
    assert lp[0, 2] == lp[1, 2] == lp[2, 2]  # the same token, whatever came before


def test_ngram_order_3_pads_with_the_start_token():
    ng = ar.NGram(3, order=3, k=0.1).fit(torch.tensor([[0, 1, 2, 0]]))
    counts = {c: a.tolist() for c, a in ng.counts.items()}
    assert counts == {(3, 3): [1, 0, 0], (3, 0): [0, 1, 0], (0, 1): [0, 0, 1],
                      (1, 2): [1, 0, 0]}
    lp = ng.log_probs(torch.tensor([[0, 1, 2, 0]]))
    want = math.log(1.1 / 1.3)  # every context was seen once, with the right token
    torch.testing.assert_close(lp, torch.full((1, 4), want, dtype=torch.float64))


def test_ngram_sample():
    pattern = torch.tensor([[0, 1, 2] * 4] * 3)
    ng = ar.NGram(3, order=2, k=0.01).fit(pattern)
    assert torch.equal(ng.sample(4, 12, temperature=0.2, seed=0), pattern[:1].expand(4, 12))
    loose = ar.NGram(3, order=2, k=5.0).fit(pattern)
    a = loose.sample(6, 10, seed=1)
    assert a.shape == (6, 10) and a.dtype == torch.long
    assert torch.equal(a, loose.sample(6, 10, seed=1))
    assert not torch.equal(a, loose.sample(6, 10, seed=2))
    uni = ar.NGram(3, order=1, k=1.0).fit(torch.tensor([[0, 1, 2, 2], [2, 2, 1, 2]]))
    f = torch.bincount(uni.sample(400, 10, seed=0).flatten(), minlength=3).double() / 4000
    torch.testing.assert_close(f, torch.from_numpy(uni.probs(())), rtol=0, atol=0.025)


def test_nll_is_the_mean_cross_entropy():
    model, x = transformer(), tokens(b=7)
    with torch.no_grad():
        logp = model(x).double().log_softmax(-1)
    want = -logp.gather(-1, x[..., None]).mean().item()
    assert ar.nll(model, x, batch_size=3) == pytest.approx(want, rel=1e-5)  # 3 + 3 + 1 rows
    assert ar.nll(model, x) == pytest.approx(want, rel=1e-5)
    uniform = fixed_logits_transformer(torch.zeros(V))
    assert ar.nll(uniform, x) == pytest.approx(math.log(V), rel=1e-6)


def test_nll_of_fixed_logits_equals_minus_the_ngram_log_probs():
    data, x = tokens(b=30, seed=4), tokens(b=5, seed=5)
    ng = ar.NGram(V, order=2, k=0.3).fit(data)
    assert ar.nll(NGramModule(ng), x, batch_size=2) == pytest.approx(
        -ng.log_probs(x).mean().item(), rel=1e-5)


def test_nll_is_deterministic_and_restores_the_training_mode():
    model, x = transformer(dropout=0.5).train(), tokens()
    a = ar.nll(model, x)
    assert model.training and a == ar.nll(model, x)  # eval mode inside: no dropout
    assert ar.nll(model.eval(), x) == a and not model.training


# ---------------------------------------------------------------- training

def test_training_learns_a_repeating_pattern():
    n, t = 96, 9
    phase = torch.arange(n) % 3
    x = (phase[:, None] + torch.arange(t)) % 3  # 0,1,2,0,... from a random-looking start
    torch.manual_seed(0)
    model = ar.Transformer(3, t, dim=16, heads=2, layers=1)
    before = ar.nll(model, x)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    hist = train.fit(model, (x,), ar.sequence_step(model, opt), optimizer=opt, epochs=25,
                     batch_size=32, device="cpu", quiet=True)
    assert len(hist["loss"]) == 25 and all(math.isfinite(v) for v in hist["loss"])
    floor = math.log(3) / t  # the first token is uniform over the 3 phases; the rest is fixed
    after = ar.nll(model, x)
    assert before > 0.9 and floor - 1e-3 < after < floor + 0.01
    g = ar.sample(model, 2, length=t, temperature=0)
    assert torch.equal(g[0], (g[0, 0] + torch.arange(t)) % 3)  # greedy follows the pattern
    s = ar.sample(model, 30, length=t, temperature=0.5, seed=0)  # 0.5: no 1-in-300 slips
    assert torch.equal(s[:, 1:], (s[:, :-1] + 1) % 3)  # every sample follows it
    assert set(s[:, 0].tolist()) == {0, 1, 2}  # from all three starts


def test_training_on_one_phase_brings_nll_near_zero():
    t = 9
    x = (torch.arange(t) % 3).expand(64, t).clone()
    torch.manual_seed(0)
    model = ar.Transformer(3, t, dim=16, heads=2, layers=1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    train.fit(model, (x,), ar.sequence_step(model, opt), optimizer=opt, epochs=15,
              batch_size=32, device="cpu", quiet=True)
    assert ar.nll(model, x) < 0.02
    assert torch.equal(ar.sample(model, 3, length=t, temperature=0), x[:3])
    assert torch.equal(ar.sample(model, 3, length=t, temperature=0, cache=False), x[:3])


# ---------------------------------------------------------------- bad input

BAD = [
    ("check float", lambda: ar.check_tokens(torch.zeros(2, 3), V), TypeError,
     "x must hold integer tokens (torch.long), got torch.float32"),
    ("check bool", lambda: ar.check_tokens(torch.zeros(2, 3, dtype=torch.bool), V), TypeError,
     "integer tokens"),
    ("check 1-D", lambda: ar.check_tokens(torch.zeros(3, dtype=torch.long), V), ValueError,
     "x must have shape (B, T), got (3,)"),
    ("check too high", lambda: ar.check_tokens(torch.tensor([[0, 5]]), V), ValueError,
     "x must hold tokens in [0, 4] (5 in the vocabulary), got values in [0, 5]"),
    ("check negative", lambda: ar.check_tokens(torch.tensor([[-1, 2]]), V), ValueError,
     "got values in [-1, 2]"),
    ("check list", lambda: ar.check_tokens([[0, 1]], V), TypeError,
     "x must be a torch tensor of tokens (B, T), got list"),
    ("check name", lambda: ar.check_tokens([[0, 1]], V, name="seq"), TypeError,
     "torch.as_tensor(seq, dtype=torch.long)"),
    ("transformer start token as input", lambda: transformer()(torch.tensor([[0, V]])),
     ValueError, "x must hold tokens in [0, 4]"),
    ("transformer float", lambda: transformer()(torch.zeros(1, 3)), TypeError, "integer tokens"),
    ("transformer too long", lambda: transformer()(tokens(t=CONTEXT + 1)), ValueError,
     "sequences are 9 tokens long, the model's context is 8"),
    ("window float", lambda: window_mlp()(torch.zeros(1, 3)), TypeError, "integer tokens"),
    ("window out of range", lambda: window_mlp()(torch.tensor([[7]])), ValueError,
     "tokens in [0, 4]"),
    ("attention dim heads", lambda: ar.SelfAttention(10, 3), ValueError,
     "dim (10) must be divisible by heads (3)"),
    ("transformer dim heads", lambda: ar.Transformer(V, 4, dim=10, heads=4), ValueError,
     "dim (10) must be divisible by heads (4)"),
    ("sample negative temperature", lambda: ar.sample(transformer(), 2, length=4, temperature=-0.5),
     ValueError, "temperature must be a finite number >= 0 (1: the model's own probabilities, 0: always the likeliest token), got -0.5"),
    ("sample top_k 0", lambda: ar.sample(transformer(), 2, length=4, top_k=0), ValueError,
     "top_k must be a positive integer, got 0"),
    ("sample too long", lambda: ar.sample(transformer(), 2, length=CONTEXT + 1), ValueError,
     "length must be an integer in [1, 8] (the model's context), got 9"),
    ("sample length 0", lambda: ar.sample(transformer(), 2, length=0), ValueError,
     "length must be an integer in [1, 8]"),
    ("ngram order 0", lambda: ar.NGram(V, order=0), ValueError,
     "need order >= 1 and k > 0, got order=0"),
    ("ngram k 0", lambda: ar.NGram(V, k=0), ValueError, "need order >= 1 and k > 0"),
    ("ngram k negative", lambda: ar.NGram(V, k=-1.0), ValueError, "k=-1.0"),
    ("ngram fit out of range", lambda: ar.NGram(V).fit(torch.tensor([[0, V]])), ValueError,
     "tokens in [0, 4]"),
    ("ngram log_probs list", lambda: ar.NGram(V).log_probs([[0, 1]]), TypeError,
     "must be a torch tensor"),
]


@pytest.mark.parametrize("call, exc, phrase", [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_gives_clear_errors(call, exc, phrase):
    with pytest.raises(exc) as info:
        call()
    assert phrase in str(info.value)


def test_ngram_sample_temperatures():
    """Temperature 0 takes the likeliest token; tiny temperatures do not underflow; < 0 fails."""
    import pytest as _pytest

    x = torch.tensor([[0, 1, 2, 0, 1, 2], [0, 1, 2, 0, 1, 1]])
    model = ar.NGram(50, order=2, k=0.1).fit(x)
    greedy = model.sample(3, 6, temperature=0, seed=0)
    assert greedy.tolist() == [[0, 1, 2, 0, 1, 2]] * 3
    assert model.sample(2, 4, temperature=0.005, seed=0).shape == (2, 4)
    with _pytest.raises(ValueError, match="temperature must be >= 0"):
        model.sample(2, 4, temperature=-1.0)

