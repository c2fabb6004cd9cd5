"""Autoregressive models: generate a sequence one token at a time, each from a distribution
over the next token given the ones before (the chain rule of probability).

Shapes: sequences x (B, T) of integer tokens in [0, V); a model reads a start token (index V)
followed by x[:, :-1] and returns logits (B, T, V) for every position at once. The score is
the held-out negative log-likelihood in nats per token (`nll`).

From counting to attention: `NGram` (counts with add-k smoothing), `WindowMLP` (an MLP over
the last k tokens, Bengio et al. 2003), `attention` and `SelfAttention` (queries, keys,
values and the causal mask), and `Transformer` (a small decoder-only transformer, pre-norm
blocks). `sample` draws with temperature and top-k, reusing cached keys and values.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genai_lib import checks, runtime
from genai_lib.models import mlp
from genai_lib.train import Batch, Step


def check_tokens(x: object, vocab: int, name: str = "x") -> Tensor:
    """x: an integer tensor (B, T) with values in [0, vocab); returns it as int64."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch tensor of tokens (B, T), got {type(x).__name__} "
                        f"(convert with torch.as_tensor({name}, dtype=torch.long))")
    if x.dim() != 2:
        raise ValueError(f"{name} must have shape (B, T), got {tuple(x.shape)}")
    if x.is_floating_point() or x.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer tokens (torch.long), got {x.dtype}")
    if x.numel() and (int(x.min()) < 0 or int(x.max()) >= vocab):
        raise ValueError(f"{name} must hold tokens in [0, {vocab - 1}] ({vocab} in the "
                         f"vocabulary), "
                         f"got values in [{int(x.min())}, {int(x.max())}]")
    return x.long()


def shift_right(x: Tensor, start: int) -> Tensor:
    """The model's input: the start token, then x without its last token: (B, T) -> (B, T)."""
    return torch.cat([torch.full_like(x[:, :1], start), x[:, :-1]], dim=1)


class NGram:
    """An n-gram model: p(x_t | previous n-1 tokens) from counts, with add-k smoothing,
    (count(context, token) + k) / (count(context) + k V). Contexts before the start are padded
    with the start token V. The counts are kept as sorted integer codes (numpy), so fitting
    and scoring a million tokens takes a second."""

    def __init__(self, vocab: int, order: int = 2, k: float = 0.1) -> None:
        if order < 1 or k <= 0:
            raise ValueError(f"need order >= 1 and k > 0, got order={order}, k={k}")
        if (vocab + 1) ** (order - 1) * vocab >= 2 ** 62:
            raise ValueError(f"a {order}-gram over {vocab} tokens has too many contexts to "
                             f"code in 64 bits: use a lower order")
        self.vocab, self.order, self.k = vocab, order, k
        self._pairs = self._pair_counts = self._ctx = self._ctx_counts = np.zeros(0, np.int64)

    def _codes(self, x: Tensor) -> np.ndarray:
        """Each position's (order - 1)-token context as one integer: (B, T) -> (B, T)."""
        n, t = self.order - 1, x.shape[1]
        pad = F.pad(x, (n, 0), value=self.vocab).numpy().astype(np.int64)
        code = np.zeros(x.shape, np.int64)
        for j in range(n):
            code = code * (self.vocab + 1) + pad[:, j:j + t]
        return code

    def fit(self, x: Tensor) -> NGram:
        """Count every (context, next token) pair in x (B, T), replacing earlier counts."""
        x = check_tokens(x, self.vocab)
        code = self._codes(x)
        self._pairs, self._pair_counts = np.unique(code * self.vocab + x.numpy(),
                                                   return_counts=True)
        self._ctx, self._ctx_counts = np.unique(code, return_counts=True)
        return self

    @staticmethod
    def _lookup(keys: np.ndarray, counts: np.ndarray, wanted: np.ndarray) -> np.ndarray:
        """counts[keys == wanted], 0 where a wanted key was never counted."""
        i = np.minimum(np.searchsorted(keys, wanted), max(len(keys) - 1, 0))
        if not len(keys):
            return np.zeros(wanted.shape)
        return np.where(keys[i] == wanted, counts[i], 0).astype(np.float64)

    @property
    def counts(self) -> dict[tuple[int, ...], np.ndarray]:
        """{context tuple: counts of the next token (V,)} for every context seen."""
        out: dict[tuple[int, ...], np.ndarray] = {}
        for key, c in zip(self._pairs.tolist(), self._pair_counts.tolist()):
            code, token = divmod(key, self.vocab)
            ctx = []
            for _ in range(self.order - 1):
                code, digit = divmod(code, self.vocab + 1)
                ctx.append(digit)
            out.setdefault(tuple(reversed(ctx)), np.zeros(self.vocab))[token] += c
        return out

    def probs(self, context: tuple[int, ...]) -> np.ndarray:
        """p(next token | context) (V,)."""
        code = 0
        for token in context:
            code = code * (self.vocab + 1) + int(token)
        lo, hi = np.searchsorted(self._pairs, [code * self.vocab, (code + 1) * self.vocab])
        c = np.zeros(self.vocab)
        c[self._pairs[lo:hi] - code * self.vocab] = self._pair_counts[lo:hi]
        return (c + self.k) / (c.sum() + self.k * self.vocab)

    def log_probs(self, x: Tensor) -> Tensor:
        """log p(x_t | context) for every position: (B, T) -> (B, T)."""
        x = check_tokens(x, self.vocab)
        code = self._codes(x)
        pair = self._lookup(self._pairs, self._pair_counts, code * self.vocab + x.numpy())
        total = self._lookup(self._ctx, self._ctx_counts, code)
        return torch.from_numpy(np.log((pair + self.k) / (total + self.k * self.vocab)))

    def sample(self, n: int, length: int, temperature: float = 1.0, seed: int = 0) -> Tensor:
        """n sequences (n, length) drawn token by token (temperature 0: the most likely)."""
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature!r}")
        rng = np.random.default_rng(seed)
        out = np.empty((n, length), dtype=np.int64)
        for i in range(n):
            context = [self.vocab] * (self.order - 1)
            for t in range(length):
                p = self.probs(tuple(context[len(context) - self.order + 1:]) if self.order > 1
                               else ())
                if temperature == 0:
                    out[i, t] = int(p.argmax())
                else:
                    logp = np.log(p) / temperature
                    p = np.exp(logp - logp.max())  # no underflow: the largest term is 1
                    out[i, t] = rng.choice(self.vocab, p=p / p.sum())
                context.append(int(out[i, t]))
        return torch.from_numpy(out)


class WindowMLP(nn.Module):
    """Bengio et al. (2003): embed the last `window` tokens, concatenate, an MLP to the next
    token's logits. (B, T) -> (B, T, V), the window padded with the start token."""

    def __init__(self, vocab: int, window: int = 4, dim: int = 32, hidden: int = 256) -> None:
        super().__init__()
        self.vocab, self.window = vocab, window
        self.embed = nn.Embedding(vocab + 1, dim)
        self.net = mlp([window * dim, hidden, vocab], "tanh")

    def forward(self, x: Tensor) -> Tensor:
        """Logits for every position of x (B, T): (B, T, V)."""
        inp = shift_right(check_tokens(x, self.vocab), self.vocab)
        padded = F.pad(inp, (self.window - 1, 0), value=self.vocab)        # (B, T + w - 1)
        ctx = padded.unfold(1, self.window, 1)                             # (B, T, w)
        return self.net(self.embed(ctx).flatten(2))


def causal_mask(t: int, device: torch.device | str | None = None) -> Tensor:
    """True where position i may look at position j (j <= i): (t, t) lower-triangular bool."""
    return torch.ones(t, t, dtype=torch.bool, device=device).tril()


def attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None) -> Tensor:
    """softmax(q k^T / sqrt(d) + mask) v: (..., T, d), (..., S, d), (..., S, d) -> (..., T, d).

    mask (T, S) bool: False entries get -inf before the softmax (the token cannot look there).
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])              # (..., T, S)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return scores.softmax(-1) @ v


class SelfAttention(nn.Module):
    """Causal multi-head self-attention: (B, T, dim) -> (B, T, dim).

    cache: a dict that keeps the keys and values of earlier positions, so that sampling feeds
    one new token at a time instead of the whole prefix.
    """

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim ({dim}) must be divisible by heads ({heads})")
        self.heads = heads
        self.qkv, self.out = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)

    def forward(self, x: Tensor, cache: dict | None = None) -> Tensor:
        """(B, T, dim) -> (B, T, dim); with a cache, x holds only the new positions."""
        b, t, d = x.shape
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2)
                   for z in self.qkv(x).chunk(3, dim=-1))                  # (B, h, T, d/h)
        past = 0
        if cache is not None:
            if "k" in cache:
                past = cache["k"].shape[2]
                k, v = torch.cat([cache["k"], k], 2), torch.cat([cache["v"], v], 2)
            cache["k"], cache["v"] = k, v
        mask = causal_mask(past + t, x.device)[past:]                      # (T, past + T)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.out(y.transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    """A pre-norm transformer block: x + attention(norm(x)), then x + MLP(norm(x))."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, heads)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim),
                                 nn.Dropout(dropout))

    def forward(self, x: Tensor, cache: dict | None = None) -> Tensor:
        """(B, T, dim) -> (B, T, dim)."""
        x = x + self.attn(self.norm1(x), cache)
        return x + self.mlp(self.norm2(x))


class Transformer(nn.Module):
    """A decoder-only transformer over sequences of `context` tokens: (B, T) -> (B, T, V)."""

    def __init__(self, vocab: int, context: int, dim: int = 64, heads: int = 4,
                 layers: int = 2, dropout: float = 0.0) -> None:
        super().__init__()
        self.vocab, self.context = vocab, context
        self.token = nn.Embedding(vocab + 1, dim)                          # + the start token
        self.position = nn.Embedding(context, dim)
        self.blocks = nn.ModuleList(Block(dim, heads, dropout) for _ in range(layers))
        self.norm, self.head = nn.LayerNorm(dim), nn.Linear(dim, vocab)

    def step(self, inp: Tensor, start: int = 0, caches: list | None = None) -> Tensor:
        """Logits for input tokens inp (B, T) at positions start.. start + T - 1: (B, T, V)."""
        if start + inp.shape[1] > self.context:
            raise ValueError(f"positions {start}..{start + inp.shape[1] - 1} exceed the "
                             f"model's context of {self.context}")
        pos = torch.arange(start, start + inp.shape[1], device=inp.device)
        h = self.token(inp) + self.position(pos)
        for i, block in enumerate(self.blocks):
            h = block(h, None if caches is None else caches[i])
        return self.head(self.norm(h))

    def forward(self, x: Tensor) -> Tensor:
        """Logits for every position of x (B, T), T <= context: (B, T, V)."""
        x = check_tokens(x, self.vocab)
        if x.shape[1] > self.context:
            raise ValueError(f"sequences are {x.shape[1]} tokens long, the model's context is "
                             f"{self.context}: build it with context >= {x.shape[1]}")
        return self.step(shift_right(x, self.vocab))


def token_log_probs(model: nn.Module, x: Tensor, batch_size: int = 512) -> Tensor:
    """log p(x_t | x_<t) of every token of x (B, T), in nats: (B, T) on the CPU (eval mode,
    no gradients)."""
    dev = checks.device_of(model)
    out = []
    with torch.no_grad(), checks.eval_mode(model):
        for i in range(0, len(x), batch_size):
            xb = x[i:i + batch_size].to(dev)
            out.append(-F.cross_entropy(model(xb).transpose(1, 2), xb, reduction="none").cpu())
    return torch.cat(out)


def log_likelihood(model: nn.Module, x: Tensor, batch_size: int = 512) -> Tensor:
    """Exact log-likelihood log p(x) of each sequence x (B, T), in nats: (B,) on the CPU
    (eval mode, no gradients): the sum of the log-probabilities of its tokens."""
    return token_log_probs(model, x, batch_size).sum(1)


def nll(model: nn.Module, x: Tensor, batch_size: int = 512) -> float:
    """Mean negative log-likelihood of x (B, T) in nats per token (eval mode, no gradients)."""
    return -log_likelihood(model, x, batch_size).sum().item() / x.numel()


def sequence_step(model: nn.Module, optimizer: torch.optim.Optimizer) -> Step:
    """The step function for `train.fit`: batches of sequences (B, T), cross-entropy of every
    next token; reports nats per token."""

    def step(batch: Batch) -> dict[str, Tensor]:
        x = batch[0]
        loss = F.cross_entropy(model(x).flatten(0, 1), x.flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return {"loss": loss.detach()}

    return Step(step, {"model": optimizer})


def top_p_filter(logits: Tensor, p: float) -> Tensor:
    """Nucleus (top-p) filtering, Holtzman et al. 2020: logits (B, V) with -inf outside the
    smallest set of likeliest tokens whose probabilities sum to at least p (never empty)."""
    if not 0 < p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {p!r}")
    probs, order = logits.softmax(-1).sort(-1, descending=True)
    before = probs.cumsum(-1) - probs  # the mass of the likelier tokens
    drop = (before >= p).scatter(-1, order, before >= p)  # back to vocabulary order
    return logits.masked_fill(drop, float("-inf"))


def _pick(logits: Tensor, temperature: float, top_k: int | None, gen: torch.Generator,
          top_p: float | None = None) -> Tensor:
    """One token per row from logits (B, V): temperature 0 is the most likely token."""
    if temperature == 0:
        return logits.argmax(-1)
    logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        cut = logits.topk(top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < cut, float("-inf"))
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    probs = logits.softmax(-1).cpu()
    return torch.multinomial(probs, 1, generator=gen).squeeze(1).to(logits.device)


@torch.no_grad()
def sample(model: Transformer, n: int, labels: Tensor | None = None, seed: int | None = None,
           *, length: int | None = None, temperature: float = 1.0, top_k: int | None = None,
           top_p: float | None = None, cache: bool = True) -> Tensor:
    """n sequences (n, length) of tokens drawn one at a time, on the model's device.

    length: tokens per sequence (default: the model's context). temperature divides the
    logits (below 1: safer, above 1: wilder; 0: always the most likely token); top_k keeps
    only the k most likely tokens; top_p keeps the smallest set of likeliest tokens whose
    probabilities (after the temperature) sum to at least top_p. cache=True feeds one new token per step and reuses the
    keys and values of the earlier ones; cache=False runs the whole prefix again every step
    (the same tokens, slower). labels: None (the transformers here are unconditional).
    seed: the draws' (None: the global random state).
    """
    if labels is not None:
        raise ValueError("this transformer is unconditional: labels must be None")
    checks.positive_int("n", n)
    length = model.context if length is None else length
    if (isinstance(temperature, bool) or not isinstance(temperature, numbers.Real)
            or not 0 <= temperature < float("inf")):
        raise ValueError(f"temperature must be a finite number >= 0 (1: the model's own "
                         f"probabilities, 0: always the likeliest token), got {temperature!r}")
    if top_k is not None:
        checks.positive_int("top_k", top_k)
    if top_p is not None and not (isinstance(top_p, (int, float)) and 0 < top_p <= 1):
        raise ValueError(f"top_p must be a number in (0, 1] (1 keeps every token), "
                         f"got {top_p!r}")
    if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= model.context:
        raise ValueError(f"length must be an integer in [1, {model.context}] (the model's "
                         f"context), got {length!r}")
    dev = checks.device_of(model)
    gen = runtime.generator(seed)
    seq = torch.full((n, 1), model.vocab, dtype=torch.long, device=dev)   # the start token
    caches = [{} for _ in model.blocks] if cache else None
    with checks.eval_mode(model):
        for t in range(length):
            if cache:
                logits = model.step(seq[:, -1:], start=t, caches=caches)[:, -1]
            else:
                logits = model.step(seq, start=0)[:, -1]
            seq = torch.cat([seq, _pick(logits, temperature, top_k, gen, top_p)[:, None]], dim=1)
    return seq[:, 1:]
