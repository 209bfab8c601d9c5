"""Support scoring: how well the sources a sentence cites support it, and whether it needs a citation.

Support score (`support_score`): `SUPPORT_COSINE_WEIGHT * cos + (1 - SUPPORT_COSINE_WEIGHT) * overlap`,
where `cos` is the embedding cosine between the sentence (citations stripped) and the best-matching
sentence of the cited source (title included as a sentence), and `overlap` the share of the
sentence's content terms (stemmed, stopwords removed) found anywhere in the cited source. The
constants are calibrated by `bench/answers.py --calibrate` on SciFact claims from
/work/shared/data/sciqa (each claim vs its gold abstract = supported; vs a random other abstract
and vs the most similar non-gold abstract = unsupported); see the comment at SUPPORT_THRESHOLD.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Protocol

from assistant.cite.markers import strip_markers
from assistant.llm.base import SourceText
from assistant.papers import is_marked_untitled
from assistant.sentences import cosine_matrix, embed_cached, split_sentences
from assistant.text_terms import content_terms

# Calibration (`bench/answers.py --calibrate`; sciqa store, all-MiniLM-L6-v2 onnx-int8): each of the
# 104 SciFact claims is scored against its gold abstract (should be supported), a random other
# abstract and the most similar non-gold abstract (should not). For each cosine weight the threshold
# is the highest that keeps >= 95% of gold pairs supported; the weight with the best AUC against the
# nearest non-gold abstract wins: weight 0.8, threshold 0.49 -> gold pairs flagged 3.8%, random
# abstracts flagged 100% (AUC 0.9999), nearest non-gold flagged 61% (AUC 0.889; these are often on
# the same subject, so the check cannot catch every wrong-but-related citation).
SUPPORT_COSINE_WEIGHT = 0.8
SUPPORT_THRESHOLD = 0.49


class SentenceEmbedder(Protocol):
    def embed(self, texts: list[str]) -> list[list[float]]: ...


@dataclass
class Evidence:
    """How well a cited source supports a citing sentence: `score` (the calibrated support score
    from `cosine`, the best sentence cosine, and `overlap`, the share of claim terms in the whole
    source) and `sentence`, the source sentence to show as support."""

    n: int
    paper_id: str
    sentence: str
    score: float
    cosine: float
    overlap: float



_META = re.compile(
    r"\b(i|we)\s+(could\s+not|couldn't|cannot|can't|did\s+not|didn't|do\s+not|don't)\s+(find|answer|determine|know|say)\b"
    r"|\b(the|these|provided|retrieved)\s+(sources?|abstracts?|papers?|library)\b.*\b(not|no|nothing|none|n't)\b"
    r"|\b(no|none\s+of\s+the)\s+(sources?|abstracts?|papers?)\b"
    r"|^(extractive answer|note|sources?|references?)\b",
    re.IGNORECASE,
)
MIN_CONTENT_TERMS = 3


def is_factual(sentence: str) -> bool:
    """Whether a sentence makes a claim that needs a citation. Not factual: headings (`#`),
    lead-ins ending in ':', questions, statements about the sources or the library themselves
    ("I could not find…", "The sources do not say…"), and short transitions with fewer than
    MIN_CONTENT_TERMS content words."""
    text = strip_markers(sentence).strip(" \t*_>-•")
    if not text or text.startswith("#") or text.endswith((":", "?")):
        return False
    if _META.search(text):
        return False
    return len(content_terms(text)) >= MIN_CONTENT_TERMS


def source_sentences(source: SourceText) -> list[str]:
    """What a citation can be supported by: the title (unless derived) and each text sentence."""
    title = source.title.strip()
    head = [title] if title and not is_marked_untitled(title) else []
    return head + split_sentences(source.text)


def support_score(cos: float, overlap: float) -> float:
    return SUPPORT_COSINE_WEIGHT * cos + (1 - SUPPORT_COSINE_WEIGHT) * overlap


class SupportScorer:
    """Scores claims against sources, embedding each text once."""

    def __init__(self, embedder: SentenceEmbedder | None, sources: Iterable[SourceText]):
        if embedder is None:
            from assistant.embed import get_embedder

            embedder = get_embedder()
        self.embedder = embedder
        self.sources = {s.n: s for s in sources}
        self._sentences = {n: source_sentences(s) for n, s in self.sources.items()}
        self._terms = {n: content_terms(" ".join(ss)) for n, ss in self._sentences.items()}
        self._vectors: dict[int, list[list[float]]] = {}

    def _ensure(self, ns: Iterable[int], claims: list[str]) -> list[list[float]]:
        todo = [n for n in dict.fromkeys(ns) if n not in self._vectors and self._sentences.get(n)]
        texts = [*claims, *(s for n in todo for s in self._sentences[n])]
        vectors = embed_cached(self.embedder, texts) if texts else []
        offset = len(claims)
        for n in todo:
            count = len(self._sentences[n])
            self._vectors[n] = vectors[offset : offset + count]
            offset += count
        return vectors[: len(claims)]

    def _best_sentence(self, n: int, terms: set[str], cosines) -> str:
        """The sentence to show as support: cosine mixed with the claim terms it contains (an
        entity-heavy claim otherwise lands on whichever sentence names the entity)."""
        sentences = self._sentences[n]
        mixed = [
            support_score(float(cos), len(terms & content_terms(sentence)) / len(terms) if terms else 0.0)
            for sentence, cos in zip(sentences, cosines)
        ]
        return sentences[max(range(len(sentences)), key=mixed.__getitem__)]

    def score(self, claims: list[str], cited: list[list[int]]) -> list[list[Evidence]]:
        """For each claim, one Evidence per source it cites (sources with no text are skipped)."""
        claim_vectors = self._ensure((n for ns in cited for n in ns), claims)
        results: list[list[Evidence]] = []
        for claim, vector, ns in zip(claims, claim_vectors, cited):
            terms = content_terms(claim)
            evidence = []
            for n in ns:
                if not self._vectors.get(n):
                    continue
                cosines = cosine_matrix([vector], self._vectors[n])[0]
                cos = float(cosines.max())
                overlap = len(terms & self._terms[n]) / len(terms) if terms else 0.0
                evidence.append(
                    Evidence(n, self.sources[n].paper_id, self._best_sentence(n, terms, cosines), round(support_score(cos, overlap), 4), round(cos, 4), round(overlap, 4))
                )
            results.append(evidence)
        return results
