"""The model that needs no LLM: it answers with the sources' own sentences, each cited.

For any task it splits the request's source texts into sentences, scores each against the
question (embedding cosine mixed with term overlap), picks the best non-redundant ones by MMR
and streams them one by one, every sentence carrying its `[n]`. It says plainly that the answer
is extractive. `extract` is the reusable part (author summaries and related work use it too).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterator, Sequence

from assistant.cite.markers import cite_at_end
from assistant.llm import extractive_answer as shaped
from assistant.llm.base import Model, Request, SourceText
from assistant.papers import is_marked_untitled
from assistant.question_shape import COMPARE, SUMMARY, aliases, classify, name_candidates
from assistant.sentences import cosine_matrix, embed_cached, mmr_select, split_sentences
from assistant.text_terms import content_terms

# Relevance of a sentence to the question: RELEVANCE_COSINE_WEIGHT * cosine + rest * term overlap
# (share of the question's content terms, minus its paper's title terms, that the sentence contains).
# Tuned on sciqa dev (bench/answers.py store; share of answers citing the gold abstract, 104 SciFact
# claims): weight 0.3 -> 0.81, 0.5 -> 0.90, 0.5 + RANK_PRIOR 0.1 -> 0.93, 0.7 + 0.1 -> 0.94. 0.5 is
# kept: at 0.7 the embedding prefers sentences that merely name the question's entity ("...an
# evaluation of Llama 3") over the one that answers it ("...a context window of up to 128K tokens").
RELEVANCE_COSINE_WEIGHT = 0.5
# Sources come in retrieval order; a sentence of the source ranked i-th of k gains
# RANK_PRIOR * (1 - i / k), so retrieval's judgement of the whole paper counts too.
RANK_PRIOR = 0.1
MMR_LAMBDA = 0.7
MIN_SENTENCES = 3
MAX_SENTENCES = 5
MAX_PER_SOURCE = 2
# Past MIN_SENTENCES, a sentence is added only if its relevance is at least this share of the best;
# below MIN_RELATIVE of the best it is never added (an answer may then have fewer sentences).
RELATIVE_FLOOR = 0.8
MIN_RELATIVE = 0.5
MIN_WORDS = 5
COMPARE_SENTENCES = 2
ITEM_BOOST = 0.3  # a compared item's block prefers sentences that name it
NAME_BOOST = 0.1  # an answer prefers sentences holding a name the question uses (FedBuff, Llama 3)
HEADERS = {
    "answer": "Extractive answer (sentences quoted from the retrieved abstracts):",
    "author_summary": "Extractive summary (sentences quoted from the author's abstracts):",
    "related_work": "Extractive draft (sentences quoted from the retrieved abstracts):",
}
DEFAULT_HEADER = "Extractive text (sentences quoted from the sources):"
NOTHING = "Extractive answer: the sources hold no sentence to quote for this."
_BOILERPLATE = re.compile(r"https?://|arxiv admin note|\bcode (is|are) (publicly )?available|©|copyright", re.I)
_NUMERIC_MARKER = re.compile(r"\s*\[\s*\d[\d\s,;\-–—]*\]")
_LATEX_DROP = re.compile(r"\\(footnote|url|cite[a-z]*)\{[^{}]*\}")
_LATEX_ESCAPE = re.compile(r"\\([%&_#$])")  # "40\\%" -> "40%"
_LATEX_KEEP = re.compile(r"\\(emph|textit|textbf|texttt|textsc|mathrm|mathbf|text)\{([^{}]*)\}")


@dataclass
class Extract:
    """One sentence chosen from a source."""

    source_n: int
    paper_id: str
    index: int  # position of the sentence in its source text
    text: str
    relevance: float


def candidate_sentences(source: SourceText) -> list[tuple[int, str]]:
    """(index, sentence) pairs worth quoting: long enough, not boilerplate (links, admin notes).
    Numeric brackets inside a quoted abstract are dropped: they are that paper's own references,
    not our sources, and must not turn into citations."""
    out = []
    for i, sentence in enumerate(split_sentences(source.text)):
        sentence = plain(sentence)
        if len(sentence.split()) >= MIN_WORDS and not _BOILERPLATE.search(sentence):
            out.append((i, sentence))
    return out


def topic_terms(source: SourceText) -> set[str]:
    """Terms of the source's real title: what the whole paper is about, so they say nothing about
    which of its sentences answers a question."""
    title = source.title.strip()
    return set() if not title or is_marked_untitled(title) else content_terms(title)


def plain(sentence: str) -> str:
    """A sentence fit to quote: the paper's own numeric references, footnotes, URLs and \\cite
    commands dropped; text-style LaTeX (\\emph{x}) reduced to its text."""
    sentence = _NUMERIC_MARKER.sub("", sentence)
    previous = None
    while previous != sentence:  # innermost commands first: \\footnote{see \\url{...}}
        previous = sentence
        sentence = _LATEX_DROP.sub("", sentence)
        sentence = _LATEX_KEEP.sub(lambda m: m.group(2), sentence)
    sentence = _LATEX_ESCAPE.sub(r"\1", sentence)
    return " ".join(sentence.split()).replace(" .", ".")


def relevance_scores(
    question: str,
    sentences: Sequence[str],
    vectors: Sequence[Sequence[float]],
    question_vector: Sequence[float],
    topics: Sequence[set[str]] | None = None,
) -> list[float]:
    """RELEVANCE_COSINE_WEIGHT * cosine + the rest * the share of the question's terms the sentence
    contains, not counting terms of its paper's title (`topics[i]`): for "What context window does
    Llama 3 support?" the Llama 3 paper's sentence on its context window should beat the one that
    merely names Llama 3, which the embedding alone prefers."""
    terms = content_terms(question)
    cosines = cosine_matrix([question_vector], vectors)[0] if len(vectors) else []
    scores = []
    for i, (sentence, cos) in enumerate(zip(sentences, cosines)):
        wanted = (terms - topics[i]) if topics else terms
        wanted = wanted or terms
        overlap = len(wanted & content_terms(sentence)) / len(wanted) if wanted else 0.0
        scores.append(RELEVANCE_COSINE_WEIGHT * float(cos) + (1 - RELEVANCE_COSINE_WEIGHT) * overlap)
    return scores


def per_source_limit(n_sources: int, max_sentences: int = MAX_SENTENCES) -> int:
    """At most MAX_PER_SOURCE sentences of one source, unless there are too few sources to fill
    the answer that way."""
    if n_sources * MAX_PER_SOURCE >= MIN_SENTENCES:
        return MAX_PER_SOURCE
    return max(MAX_PER_SOURCE, math.ceil(max_sentences / max(n_sources, 1)))


def extract(
    question: str,
    sources: Sequence[SourceText],
    *,
    embedder=None,
    max_sentences: int = MAX_SENTENCES,
    min_sentences: int = MIN_SENTENCES,
    lam: float = MMR_LAMBDA,
    max_per_source: int | None = None,
    boost: dict[str, float] | None = None,
    exclude: frozenset[str] = frozenset(),
) -> list[Extract]:
    """The sentences to quote for `question`, in reading order: grouped by source in the order the
    sources were given (retrieval rank), in their original order within a source. A chosen
    sentence that leans on the one before it comes with it (or is left out: `with_antecedents`).
    `boost` adds to the relevance of sentences holding a word (a compared item's name); sentences
    in `exclude` (already quoted) are not taken."""
    candidates = [(s, i, text) for s in sources for i, text in candidate_sentences(s) if text not in exclude]
    if not candidates:
        return []
    if embedder is None:
        from assistant.embed import get_embedder

        embedder = get_embedder()
    texts = [c[2] for c in candidates]
    vectors = embed_cached(embedder, [question.strip() or " ", *texts])
    topics = {s.n: topic_terms(s) for s in sources}
    relevance = relevance_scores(question, texts, vectors[1:], vectors[0], [topics[c[0].n] for c in candidates])
    rank = {s.n: i for i, s in enumerate(sources)}
    relevance = [r + RANK_PRIOR * (1 - rank[c[0].n] / len(sources)) for r, c in zip(relevance, candidates)]
    for word, extra in (boost or {}).items():
        holds = re.compile(rf"(?<![\w-]){re.escape(word)}(?!\w)", 0 if any(ch.isupper() for ch in word) else re.I)
        relevance = [r + extra * bool(holds.search(c[2])) for r, c in zip(relevance, candidates)]
    limit = max_per_source if max_per_source is not None else per_source_limit(len(sources), max_sentences)
    chosen = mmr_select(
        relevance,
        cosine_matrix(vectors[1:], vectors[1:]),
        k=max_sentences,
        lam=lam,
        groups=[c[0].n for c in candidates],
        max_per_group=limit,
    )
    best = relevance[chosen[0]] if chosen else 0.0
    chosen = [
        i for rank, i in enumerate(chosen)
        if relevance[i] >= (MIN_RELATIVE if rank < min_sentences else RELATIVE_FLOOR) * best
    ]
    return reading_order(standalone(candidates, chosen, relevance, MIN_RELATIVE * best))


def standalone(
    candidates: list[tuple[SourceText, int, str]], chosen: list[int], relevance: list[float], floor: float = -math.inf,
) -> list[Extract]:
    """The chosen candidates with the sentences they lean on (`extractive_answer.with_antecedents`):
    any for the best sentence, those at least `floor` relevant for the others (context, not
    padding); when that leaves nothing, the best candidate that stands alone."""
    position = {(c[0].n, c[1]): j for j, c in enumerate(candidates)}
    kept: dict[int, None] = {}
    for rank, j in enumerate(chosen):
        n = candidates[j][0].n
        own = {i: k for (m, i), k in position.items() if m == n}
        texts = {i: candidates[k][2] for i, k in own.items()}
        dependent = {i: shaped.is_dependent(t) for i, t in texts.items()}
        allowed = None if rank == 0 else {i for i, k in own.items() if relevance[k] >= floor}
        run = shaped.with_antecedents([candidates[j][1]], texts, dependent, allowed)
        if not run:  # the paper still speaks, by its best sentence that stands alone
            alone = [k for i, k in own.items() if not dependent[i] and relevance[k] >= floor]
            run = [candidates[max(alone, key=relevance.__getitem__)][1]] if alone else []
        for index in run:
            kept[own[index]] = None
    if not kept and candidates:
        alone = [j for j, c in enumerate(candidates) if not shaped.is_dependent(c[2])]
        kept = {max(alone, key=relevance.__getitem__): None} if alone else {}
    return [Extract(candidates[j][0].n, candidates[j][0].paper_id, candidates[j][1], candidates[j][2], relevance[j]) for j in kept]


def reading_order(extracts: list[Extract]) -> list[Extract]:
    """Sources in their given (retrieval) order, sentences in their order within a source."""
    return sorted(extracts, key=lambda e: (e.source_n, e.index))


def question_of(request: Request) -> str:
    if request.question.strip():
        return request.question
    users = [m.content for m in request.messages if m.role == "user"]
    return users[-1] if users else ""


class ExtractiveModel(Model):
    name = "extractive"
    generative = False

    def __init__(self, embedder=None, *, max_sentences: int = MAX_SENTENCES, min_sentences: int = MIN_SENTENCES):
        self.embedder = embedder
        self.max_sentences = max_sentences
        self.min_sentences = min_sentences

    def describe(self) -> str:
        return "extractive (no LLM: quotes the retrieved abstracts)"

    def stream(self, request: Request) -> Iterator[str]:
        question = question_of(request)
        if request.task == "condense":  # nothing to rewrite with: the question stands as it is
            yield question
            return
        if request.task == "answer":
            yield from self._answer(question, request.sources)
            return
        extracts = extract(
            question, request.sources, embedder=self.embedder,
            max_sentences=self.max_sentences, min_sentences=self.min_sentences,
        )
        if not extracts:
            yield NOTHING
            return
        yield HEADERS.get(request.task, DEFAULT_HEADER) + "\n\n"
        for i, e in enumerate(extracts):
            yield ("" if i == 0 else " ") + cite_at_end(e.text, f"[{e.source_n}]")

    def _answer(self, question: str, sources: list[SourceText]) -> Iterator[str]:
        """A question's answer, shaped by its kind: records, a comparison, a summary, or quotes
        grouped by paper."""
        shape = classify(question)
        if shaped.is_record_shape(shape) and sources:
            yield shaped.listing_answer(shape, sources) if shape.kind in ("author_papers", "count") else shaped.record_answer(shape, sources)
            return
        if shape.kind == COMPARE:
            blocks = self._compare(question, shape.items, sources)
        elif shape.kind == SUMMARY:
            blocks = self._summary(shape.item, sources)
        else:
            names = {n: NAME_BOOST for n in name_candidates(question)}
            blocks = self._blocks(extract(
                question, sources, embedder=self.embedder, max_sentences=self.max_sentences, min_sentences=self.min_sentences,
                boost=names,
            ), sources)
        if not blocks:
            yield NOTHING
            return
        yield shaped.HEADER + "\n\n"
        for i, pieces in enumerate(blocks):
            for j, piece in enumerate(pieces):
                yield ("\n\n" if i and not j else " " if j else "") + piece

    @staticmethod
    def _blocks(extracts: list[Extract], sources: list[SourceText]) -> list[list[str]]:
        """One block per paper (pieces to stream: the attributed first quote, then each quote)."""
        by_n = {s.n: s for s in sources}
        grouped: dict[int, list[str]] = {}
        for e in extracts:
            grouped.setdefault(e.source_n, []).append(e.text)
        return [shaped.block(by_n[n], texts) for n, texts in grouped.items()]

    def _compare(self, question: str, items: list[str], sources: list[SourceText]) -> list[list[str]]:
        """One block per compared item: a heading, then the papers that name it, quoted."""
        out = []
        used: set[str] = set()
        for item in items:
            own = shaped.named_sources(item, sources)[:2]
            names = {a for s in own for a in aliases(item, s.text)}
            extracts = extract(
                f"{item} {question}", own, embedder=self.embedder, max_sentences=COMPARE_SENTENCES,
                min_sentences=1, max_per_source=COMPARE_SENTENCES, boost={a: ITEM_BOOST for a in names},
                exclude=frozenset(used),
            ) if own else []
            used.update(e.text for e in extracts)
            if not extracts:
                out.append([f"#### {item}\n\nThe retrieved papers do not {'say more about' if own else 'name'} {item}."])
                continue
            blocks = self._blocks(extracts, sources)
            blocks[0][0] = f"#### {item}\n\n{blocks[0][0]}"
            out.extend(blocks)
        return out

    def _summary(self, item: str, sources: list[SourceText]) -> list[list[str]]:
        """The named paper's key sentences: those closest to the abstract as a whole."""
        found = shaped.named_sources(item, sources) or sources[:1]
        if not found:
            return []
        source = found[0]
        extracts = extract(
            source.text, [source], embedder=self.embedder, max_sentences=shaped.SUMMARY_SENTENCES,
            min_sentences=shaped.SUMMARY_SENTENCES, max_per_source=shaped.SUMMARY_SENTENCES,
        )
        return self._blocks(extracts, sources)
