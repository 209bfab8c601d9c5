"""Related-work drafts: retrieve the papers on a topic, drop the irrelevant ones (abstaining when
nothing is relevant, as answers do), group them into themes (`assistant.tasks.themes`), write one
paragraph per theme in the register of a related-work section, and the BibTeX of every cited paper.

Citations are `\\cite{key}` (cite_style="latex", keys from `assistant.bibtex.bibtex_keys`) or `[n]`
(cite_style="numeric"). With a generative model each paragraph is written by the model from the
theme's papers (prompts/related_work.txt); with the extractive model it is a templated topic
sentence and one sentence from each paper's abstract, rephrased minimally ("We propose X" ->
"Nguyen et al. \\cite{nguyen2021federated} propose X"). Either way the whole draft goes through
`assistant.cite` (`validate_keys` / `validate`): citations of papers that were not retrieved,
invented keys included, are removed and reported; weakly supported sentences are flagged.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from assistant.answer import ABSTAIN_THRESHOLD, CLOSEST_SHOWN, abstain_reason, choose_model
from assistant.bibtex import bibtex_keys, to_bibtex
from assistant.cite.markers import parse_cite_commands, parse_markers
from assistant.cite.validate import CitedText, validate, validate_keys
from assistant.errors import LitassistError
from assistant.llm.base import Model, Request, SourceText
from assistant.library import Library
from assistant.papers import Paper
from assistant.retrieve import Filters, Hit, search
from assistant.settings import Settings
from assistant.tasks._common import (
    MemoEmbedder,
    generate,
    join_words,
    latex_escape,
    pick_sentences,
    rephrase,
    render_messages,
    time_order,
    to_source,
)
from assistant.tasks.themes import Theme, build_themes, in_sentence
from assistant.text_terms import topic_stopwords

CiteStyle = Literal["latex", "numeric"]
CITE_STYLES = ("latex", "numeric")
MAX_PARAGRAPH_PAPERS = 6  # a larger theme is split (tighter clustering) into several paragraphs
MAX_PARAGRAPHS = 4  # past this, the smallest themes share one last paragraph
# A retrieved paper is kept when its best chunk's cosine to the topic is at least the answer
# abstention threshold and at least RELATIVE_FLOOR of the best paper's.
RELATIVE_FLOOR = 0.5

# Topic sentences. With the extractive model a theme's label is its distinctive terms, so the
# sentence says the papers centre on those terms rather than claiming what they achieve.
OPENERS = (
    "A first group of papers on {topic} centres on {label} {cite}.",
    "A second group centres on {label} {cite}.",
    "A third group centres on {label} {cite}.",
    "Further work on {topic} centres on {label} {cite}.",
)
SINGLE_OPENER = "Prior work on {topic} centres on {label} {cite}."

CITE_INSTRUCTIONS = {
    "latex": (
        "Cite with \\cite{key}, using the key=\"...\" given on each source, for example "
        "\"... on non-IID client data \\cite{zhao2018federated}.\"; several papers: \\cite{key1,key2}. "
        "Use only the keys given above."
    ),
    "numeric": (
        "Cite with the source numbers in square brackets, for example \"... on non-IID client data [3].\"; "
        "several papers: [3, 5]. Use only the numbers given above."
    ),
}


@dataclass
class Paragraph:
    theme: str
    text: str
    paper_ids: list[str]  # the papers this paragraph cites (after validation)
    theme_paper_ids: list[str] = field(default_factory=list)  # the theme's papers

    def to_json(self) -> dict:
        return {"theme": self.theme, "text": self.text, "paper_ids": self.paper_ids}


@dataclass
class RelatedWork:
    topic: str
    cite_style: str
    paragraphs: list[Paragraph]
    bibtex: str
    cited: CitedText | None
    keys: dict[str, str]  # paper id -> BibTeX key, for every relevant retrieved paper
    papers: list[Paper]  # relevant retrieved papers, in rank order
    sources: list[SourceText]
    dropped: list[Hit] = field(default_factory=list)  # retrieved but not relevant enough
    themes: list[Theme] = field(default_factory=list)
    abstained: str | None = None  # why there is no draft
    message: str = ""
    model: str = "extractive"
    generated: bool = False

    @property
    def text(self) -> str:
        return "\n\n".join(p.text for p in self.paragraphs) if self.paragraphs else self.message

    @property
    def removed_citations(self) -> list[dict[str, str]]:
        return self.cited.removed if self.cited else []

    @property
    def unsupported_sentences(self) -> list[str]:
        return self.cited.unsupported_sentences if self.cited else []

    @property
    def citations(self) -> list[dict]:
        if not self.cited:
            return []
        by_id = {p.id: p for p in self.papers}
        return [
            {
                "n": c.n,
                "paper_id": c.paper_id,
                "key": self.keys.get(c.paper_id),
                "title": by_id[c.paper_id].display_title(),
                "authors": by_id[c.paper_id].authors,
                "year": by_id[c.paper_id].year,
            }
            for c in self.cited.citations
        ]

    def to_json(self) -> dict:
        return {
            "topic": self.topic,
            "cite_style": self.cite_style,
            "model": self.model,
            "abstained": self.abstained,
            "message": self.message,
            "paragraphs": [p.to_json() for p in self.paragraphs],
            "text": self.text,
            "bibtex": self.bibtex,
            "citations": self.citations,
            "removed_citations": self.removed_citations,
            "unsupported_sentences": self.unsupported_sentences,
            "retrieved": [{"paper_id": p.id, "key": self.keys.get(p.id), "title": p.display_title()} for p in self.papers],
            "dropped": [
                {"paper_id": h.paper.id, "title": h.paper.display_title(), "similarity": None if h.dense is None else round(h.dense, 4)}
                for h in self.dropped
            ],
        }


# ---- steps ------------------------------------------------------------------------------------

def relevant_hits(hits: list[Hit], threshold: float) -> tuple[list[Hit], list[Hit]]:
    """(kept, dropped): a hit is kept when its dense similarity to the topic reaches `threshold`
    and RELATIVE_FLOOR of the best hit's (a BM25-only hit, with no dense score, is dropped)."""
    dense = [h.dense for h in hits if h.dense is not None]
    if not dense:
        return [], list(hits)
    floor = max(threshold, RELATIVE_FLOOR * max(dense))
    kept = [h for h in hits if h.dense is not None and h.dense >= floor]
    return kept, [h for h in hits if h not in kept]


def topic_words(topic: str) -> list[str]:
    return [w for w in re.findall(r"[a-z][a-z0-9\-]*", topic.lower()) if w not in topic_stopwords()]


def _cite(style: str, keys: list[str], numbers: list[int]) -> str:
    if style == "latex":
        return "\\cite{" + ",".join(keys) + "}"
    return "[" + ", ".join(str(n) for n in numbers) + "]"


def _label_phrase(theme: Theme, topic: str) -> str:
    if theme.label_source == "other":
        return join_words(theme.terms) or "other aspects of " + topic
    if theme.label_source == "title":
        return f"“{theme.label}”"
    return in_sentence(theme.label) if theme.label else topic


class _Draft:
    def __init__(self, topic: str, style: str, papers: list[Paper], keys: dict[str, str], store: Library):
        self.topic = topic
        self.style = style
        self.by_id = {p.id: p for p in papers}
        self.keys = keys
        self.store = store
        self.sources = [to_source(p, n) for n, p in enumerate(papers, start=1)]
        self.n_of = {s.paper_id: s.n for s in self.sources}
        self.framing: list[str] = []  # our own topic sentences (without their citations): not claims

    def cite(self, ids: list[str]) -> str:
        return _cite(self.style, [self.keys[i] for i in ids], [self.n_of[i] for i in ids])

    def theme_sources(self, theme: Theme) -> list[SourceText]:
        wanted = set(theme.paper_ids)
        return [s for s in self.sources if s.paper_id in wanted]


def _extractive_paragraph(draft: _Draft, theme: Theme, position: int, single: bool) -> str:
    ids = theme.paper_ids
    template = SINGLE_OPENER if single else OPENERS[min(position, len(OPENERS) - 1)]
    opener = template.format(topic=draft.topic, label=_label_phrase(theme, draft.topic), cite="")
    draft.framing.append(opener.rstrip(" .").strip())
    say = [template.format(topic=draft.topic, label=_label_phrase(theme, draft.topic), cite=draft.cite(ids))]
    question = " ".join([draft.topic, *theme.terms])
    picked = pick_sentences(question, draft.theme_sources(theme), embedder=draft.store.embedder)
    for pid in ids:  # time order
        for sentence in picked.get(pid, [])[:1]:
            say.append(rephrase(sentence, draft.by_id[pid], draft.cite([pid])))
    return " ".join(say)


def _generated_paragraph(draft: _Draft, theme: Theme, model: Model) -> str:
    from assistant.prompts import format_sources

    sources = draft.theme_sources(theme)
    keys = {s.n: draft.keys[s.paper_id] for s in sources} if draft.style == "latex" else None
    messages = render_messages(
        "related_work",
        topic=draft.topic,
        theme=theme.label,
        n_sources=len(sources),
        sources=format_sources(sources, keys),
        cite_instruction=CITE_INSTRUCTIONS[draft.style],
    )
    request = Request(messages=messages, question=draft.topic, sources=sources, task="related_work")
    return " ".join(generate(model, request).split())


def accept_framing(cited: CitedText, framing: list[str]) -> None:
    """Our own topic sentences ("A second group centres on ...") frame the paragraph; they are
    not claims taken from the abstracts, so the support check does not flag them."""
    for check in cited.sentences:
        if check.citations and any(check.text.startswith(f) for f in framing):
            check.supported, check.reason = True, None
    cited.unsupported_sentences = [c.text for c in cited.sentences if not c.supported]


def _cited_ids(text: str, style: str, cited: CitedText, key_to_id: dict[str, str]) -> list[str]:
    if style == "latex":
        ids = [key_to_id[t] for m in parse_cite_commands(text) for t in m.tokens if t in key_to_id]
    else:
        by_n = {c.n: c.paper_id for c in cited.citations}
        ids = [by_n[n] for m in parse_markers(text) for n in m.numbers if n in by_n]
    return list(dict.fromkeys(ids))


def _abstain(topic: str, style: str, reason: str, hits: list[Hit], llm: Model) -> RelatedWork:
    lines = [f"Nothing in the library is relevant to {topic!r} ({reason}), so there is no related work to draft."]
    if hits:
        lines.append("Closest papers in the library (not about the topic):")
        for h in hits[:CLOSEST_SHOWN]:
            lines.append(f"- {h.paper.display_title()} ({h.paper.year or 'n.d.'})")
    return RelatedWork(
        topic=topic, cite_style=style, paragraphs=[], bibtex="", cited=None, keys={}, papers=[], sources=[],
        dropped=list(hits), abstained=reason, message="\n".join(lines), model=llm.name,
    )


# ---- entry point ------------------------------------------------------------------------------

def draft_related_work(
    topic: str,
    *,
    store,
    model: str | Model | None = None,
    max_papers: int = 12,
    cite_style: CiteStyle = "latex",
    filters: Filters | None = None,
    settings: Settings | None = None,
) -> RelatedWork:
    """A related-work draft on `topic` from at most `max_papers` retrieved papers (see the module
    docstring), with the BibTeX of every paper it cites."""
    topic = " ".join(topic.split())
    if not topic:
        raise LitassistError("no topic given for the related-work draft")
    if cite_style not in CITE_STYLES:
        raise LitassistError(f"unknown citation style {cite_style!r}: use one of {', '.join(CITE_STYLES)}")
    if max_papers < 1:
        raise LitassistError(f"max_papers must be at least 1 (got {max_papers})")
    llm = choose_model(model, store, settings)
    hits = search(store, topic, k=max_papers, filters=filters)
    reason = abstain_reason(hits, filters, question=topic)
    kept, dropped = relevant_hits(hits, ABSTAIN_THRESHOLD)
    if reason or not kept:
        return _abstain(topic, cite_style, reason or "no retrieved paper is close enough to the topic", hits, llm)

    papers = [h.paper for h in kept]
    keys = bibtex_keys(papers)
    draft = _Draft(topic, cite_style, papers, keys, store)
    vectors = store.embeddings_for([p.id for p in papers])
    themes = build_themes(
        papers, vectors, model=llm if llm.generative else None, max_size=MAX_PARAGRAPH_PAPERS, absorb=True,
        max_themes=MAX_PARAGRAPHS, exclude=topic_words(topic),
    )
    for theme in themes:
        theme.paper_ids = [p.id for p in time_order([draft.by_id[i] for i in theme.paper_ids])]

    texts = []
    generated = False
    for position, theme in enumerate(themes):
        text = _generated_paragraph(draft, theme, llm) if llm.generative else ""
        generated = generated or bool(text)
        texts.append(text or _extractive_paragraph(draft, theme, position, single=len(themes) == 1))
    if cite_style == "latex":
        texts = [t.replace("et al. \\cite", "et al.~\\cite") for t in texts]

    embedder = MemoEmbedder(store.embedder)
    joined = "\n\n".join(texts)
    if cite_style == "latex":
        cited = validate_keys(joined, {keys[s.paper_id]: s for s in draft.sources}, embedder=embedder)
    else:
        cited = validate(joined, draft.sources, embedder=embedder)
    accept_framing(cited, draft.framing)
    parts = cited.text.split("\n\n")
    if len(parts) != len(texts):  # paragraphs are single lines, so this cannot happen; never mis-assign
        parts = [cited.text]
        themes = [Theme(label=", ".join(t.label for t in themes), paper_ids=[i for t in themes for i in t.paper_ids])]
    key_to_id = {k: pid for pid, k in keys.items()}
    paragraphs = []
    for theme, text in zip(themes, parts):
        if cite_style == "latex":
            text = latex_escape(text)
        paragraphs.append(Paragraph(theme.label, text, _cited_ids(text, cite_style, cited, key_to_id), list(theme.paper_ids)))

    cited_papers = [draft.by_id[c.paper_id] for c in cited.citations]
    return RelatedWork(
        topic=topic,
        cite_style=cite_style,
        paragraphs=paragraphs,
        bibtex=to_bibtex(cited_papers, keys={p.id: keys[p.id] for p in cited_papers}),
        cited=cited,
        keys=keys,
        papers=papers,
        sources=draft.sources,
        dropped=dropped,
        themes=themes,
        model=llm.name,
        generated=generated,
    )
