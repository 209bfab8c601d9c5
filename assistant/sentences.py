"""Small text tools shared by answers, author summaries and related work: a sentence splitter,
cosine similarity, and MMR selection (content terms and their overlap: `assistant.text_terms`).

Pure functions, no model: callers bring their own vectors (`assistant.embed`).
"""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from typing import Hashable, Sequence

# Words before a full stop that do not end a sentence.
ABBREVIATIONS = frozenset(
    "e.g i.e al cf vs etc fig figs eq eqs sec ref refs no nos approx resp incl dr mr mrs ms prof st jr sr viz ca".split()
)
# A candidate boundary: sentence punctuation, closing quotes/brackets, then whitespace.
_BOUNDARY = re.compile(r"[.!?]+[\"'”’)\]]*\s+")
# A full stop with no space after it between a lower-case word and a capitalised one
# ("poorly understood.In this work"): two sentences glued together by a lost space.
_GLUED = re.compile(r"(?<=[a-z]{2}[.!?])(?=[A-Z][a-z])")
# Citation markers that a writer put after the full stop ("... data. [2] Next ...") belong to the
# sentence before: numeric brackets and LaTeX \cite commands.
LEADING_CITATIONS = re.compile(r"^(?:\s*(?:\[\s*\d[\d\s,;\-–—]*\]|\\cite[a-zA-Z]*\*?\{[^{}]*\}))+")
_LIST_NUMBER = re.compile(r"[-*•]?\s*\(?\d{1,3}[.)]")


def _ends_with_abbreviation(text: str) -> bool:
    word = re.search(r"([A-Za-z][A-Za-z.]*)\.*$", text.rstrip(".!?\"'”’)] "))
    if not word:
        return False
    token = word.group(1).lower().rstrip(".")
    # A single capital letter before the stop is an initial ("J. Smith"), not a sentence end.
    return token in ABBREVIATIONS or (len(token) == 1 and word.group(1)[0].isupper())


def _split_block(block: str) -> list[str]:
    pieces: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(block):
        following = block[match.end() : match.end() + 1]
        if not following or not (following.isupper() or following.isdigit() or following in "\"'“‘([\\"):
            continue
        candidate = block[start : match.end()]
        if match.group().startswith(".") and _ends_with_abbreviation(block[start : match.start() + 1]):
            continue
        if _LIST_NUMBER.fullmatch(candidate.strip()):  # "1. First point" is one item, not two
            continue
        pieces.append(candidate.strip())
        start = match.end()
    tail = block[start:].strip()
    if tail:
        pieces.append(tail)
    return pieces


def _attach_leading_citations(pieces: list[str]) -> list[str]:
    out: list[str] = []
    for piece in pieces:
        lead = LEADING_CITATIONS.match(piece)
        if lead and out:
            out[-1] = f"{out[-1]} {lead.group().strip()}"
            piece = piece[lead.end() :].strip()
        if piece:
            out.append(piece)
    return out


def split_sentences(text: str) -> list[str]:
    """Sentences of `text`, in order. Lines are separate blocks (list items, headings); inside a
    block a sentence ends at . ! or ? followed by space and a capital, digit, quote or bracket,
    unless the word before is a known abbreviation or an initial. Citation markers written after
    a full stop stay with the sentence they follow."""
    pieces: list[str] = []
    for block in re.split(r"\n+", text):
        block = _GLUED.sub(" ", " ".join(block.split()))
        if block:
            pieces.extend(_split_block(block))
    return _attach_leading_citations(pieces)


# ---- vectors and selection --------------------------------------------------------------------

def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Dot product: the embedder returns unit vectors."""
    return float(sum(x * y for x, y in zip(a, b)))


def cosine_matrix(a: Sequence[Sequence[float]], b: Sequence[Sequence[float]]):
    """len(a) x len(b) numpy array of cosines between unit vectors."""
    import numpy as np

    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    return np.asarray(a, dtype=float) @ np.asarray(b, dtype=float).T


def mmr_select(
    relevance: Sequence[float],
    similarity,
    *,
    k: int,
    lam: float = 0.7,
    groups: Sequence[Hashable] | None = None,
    max_per_group: int | None = None,
    min_relevance: float | None = None,
) -> list[int]:
    """Maximal marginal relevance: indices of up to `k` items, chosen one at a time by
    `lam * relevance - (1 - lam) * max similarity to those already chosen`.

    `similarity[i][j]` is item-item similarity. With `groups`, at most `max_per_group` items of one
    group are taken; items below `min_relevance` are never taken.
    """
    chosen: list[int] = []
    per_group: dict[Hashable, int] = {}
    candidates = [i for i in range(len(relevance)) if min_relevance is None or relevance[i] >= min_relevance]
    while candidates and len(chosen) < k:
        def gain(i: int) -> float:
            redundancy = max((float(similarity[i][j]) for j in chosen), default=0.0)
            return lam * relevance[i] - (1 - lam) * redundancy

        best = max(candidates, key=gain)
        candidates.remove(best)
        if groups is not None and max_per_group is not None:
            if per_group.get(groups[best], 0) >= max_per_group:
                continue
            per_group[groups[best]] = per_group.get(groups[best], 0) + 1
        chosen.append(best)
    return chosen


# ---- a small process-wide memo of sentence vectors --------------------------------------------
# Answering embeds the same abstract sentences twice (extractive selection, then the support check);
# this memo keeps the most recent ones so the second pass is free.
_MEMO_SIZE = 8192
_memo: "OrderedDict[tuple[str, str], list[float]]" = OrderedDict()
_memo_lock = threading.Lock()


def embed_cached(embedder, texts: Sequence[str]) -> list[list[float]]:
    """`embedder.embed(texts)`, reusing vectors of texts embedded recently by the same embedder."""
    space = str(getattr(embedder, "name", id(embedder)))
    with _memo_lock:
        found = [_memo.get((space, t)) for t in texts]
    missing = list(dict.fromkeys(t for t, v in zip(texts, found) if v is None))
    fresh = dict(zip(missing, embedder.embed(missing))) if missing else {}
    with _memo_lock:
        for text, vector in fresh.items():
            _memo[(space, text)] = vector
        while len(_memo) > _MEMO_SIZE:
            _memo.popitem(last=False)
    return [v if v is not None else fresh[t] for t, v in zip(texts, found)]
