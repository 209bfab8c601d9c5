"""Words, stems and stopwords: the one tokeniser setup, the one Snowball stemmer, the stopword lists.

- `tokenize`: BM25 tokens, bm25s's (lower-case `\\b\\w\\w+\\b` words, its English stopword list,
  Snowball stemming), with a stem cache because bm25s's own loop is slow on large libraries.
- `content_terms`: the content words of a text as stems, for the overlap of a claim with its
  evidence (answers, the support check, question shapes).
- Three stopword lists, each a superset of the one before: `bm25_stopwords` (bm25s's),
  `content_stopwords` (+ words that frame a paper or a question), `topic_stopwords` (+ scikit-learn's
  English list and words that name no theme).
"""
from __future__ import annotations

import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import Iterable

_BM25_WORD = re.compile(r"\w{2,}")  # = bm25s's r"(?u)\b\w\w+\b" (maximal word runs of 2+), 30% faster
_CONTENT_WORD = re.compile(r"[A-Za-z][A-Za-z0-9\-']*|\d+(?:[.,]\d+)*[A-Za-z%]*")
_stem_cache: dict[str, str] = {}
_stem_lock = threading.Lock()
_stemmer_obj = None

# Words that frame a question rather than say what it is about.
QUESTION_WORDS = frozenset(
    "what which who whom whose when where why how does do did is are was were be been explain describe "
    "tell give list compare much many kind kinds type types way ways know anything something".split()
)
_PAPER_FRAMING_WORDS = frozenset(
    "we our us this these those paper study work results show shows shown propose proposed present "
    "also however using use used based new can may might could would one two".split()
)
# Words of abstracts that name no theme.
_TOPIC_FRAMING_WORDS = frozenset(
    """
    paper papers work works study studies propose proposes proposed present presents presented
    approach approaches method methods methodology result results show shows shown demonstrate
    demonstrates novel new existing different various provide provides based using use used uses
    achieve achieves achieved significant significantly improve improves improved improvement
    problem problems task tasks performance et al arxiv state art including include includes
    introduce introduces introduced however also well able furthermore moreover thus
    specifically particular order way ways key main recent recently first second large small
    high low better best experiments experimental evaluate evaluation evaluations compared
    """.split()
)


def stem_all(words: Iterable[str]) -> dict[str, str]:
    """Snowball stems of `words`, memoised across calls (the vocabulary of a library is small)."""
    global _stemmer_obj
    with _stem_lock:
        new = [w for w in set(words) if w not in _stem_cache]
        if new:
            if _stemmer_obj is None:
                import Stemmer

                _stemmer_obj = Stemmer.Stemmer("english")
            _stem_cache.update(zip(new, _stemmer_obj.stemWords(new)))
        return _stem_cache


def bm25s_stopwords_en() -> tuple[str, ...]:
    """bm25s's English stopwords, read from its `stopwords.py` (a plain tuple) without running
    the bm25s package's __init__, which imports scipy: ~1 s of every command's start."""
    import importlib.util
    import sys

    if "bm25s" not in sys.modules:
        package = importlib.util.find_spec("bm25s")
        locations = list(package.submodule_search_locations or []) if package else []
        spec = importlib.util.spec_from_file_location("_litassist_bm25s_stopwords", Path(locations[0]) / "stopwords.py") if locations else None
        if spec and spec.loader:
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return tuple(module.STOPWORDS_EN)
    from bm25s.stopwords import STOPWORDS_EN

    return tuple(STOPWORDS_EN)


@lru_cache(maxsize=1)
def bm25_stopwords() -> frozenset[str]:
    return frozenset(bm25s_stopwords_en())


@lru_cache(maxsize=1)
def content_stopwords() -> frozenset[str]:
    return bm25_stopwords() | _PAPER_FRAMING_WORDS | QUESTION_WORDS


@lru_cache(maxsize=1)
def topic_stopwords() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | content_stopwords() | _TOPIC_FRAMING_WORDS


def tokenize(texts: list[str]) -> list[list[str]]:
    """Stemmed, stopword-free tokens of each text (the same tokens as `bm25s.tokenize(texts,
    stopwords="en", stemmer=Stemmer("english"))`)."""
    stop = bm25_stopwords()
    words = [[w for w in _BM25_WORD.findall((t or "").lower()) if w not in stop] for t in texts]
    stems = stem_all(w for ws in words for w in ws)
    return [[stems[w] for w in ws] for ws in words]


def content_terms(text: str) -> set[str]:
    """Lower-cased, stemmed words of `text` without stopwords (numbers such as "128k" kept)."""
    stop = content_stopwords()
    tokens: list[str] = []
    for word in _CONTENT_WORD.findall(text):
        word = word.lower().strip("-'")
        tokens.append(word)
        if "-" in word:  # "non-IID" also counts as "non" and "iid"
            tokens.extend(word.split("-"))
    tokens = [t for t in tokens if t and t not in stop and (len(t) > 1 or t.isdigit())]
    stems = stem_all(tokens)
    return {stems[t] for t in tokens}


def term_overlap(claim: str | set[str], evidence: str | set[str]) -> float:
    """Share of the claim's content terms that the evidence contains (0 when the claim has none)."""
    c = claim if isinstance(claim, set) else content_terms(claim)
    e = evidence if isinstance(evidence, set) else content_terms(evidence)
    return len(c & e) / len(c) if c else 0.0
