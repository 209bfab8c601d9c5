"""Author summaries: who the name is, their papers in time order, themes, how the work moved
between them, frequent collaborators, and a short summary paragraph in which every sentence
cites the author's papers (checked by `assistant.cite`).

Which papers count (see `assistant.authors.resolve_author`): the papers that list the resolved
full name as an author; for a collection owner ("Jack", taken to be Jack Goetz) also the papers of
their collection, listed and themed with the rest but flagged as "in Jack's collection" and never
counted as co-authored (their authors are not the person's collaborators).

With a generative model the summary paragraph is written by the model from the numbered papers and
the computed facts (prompts/author_summary.txt) and the themes are named in words
(prompts/theme_label.txt); with the extractive model it is composed from templated sentences about
the computed facts and the abstracts' own sentences. Either way it goes through `cite.validate`:
invented citations are removed and reported, weakly supported sentences flagged.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

from assistant.authors import Resolution, resolve_author
from assistant.answer import choose_model
from assistant.cite.markers import strip_markers
from assistant.cite.validate import CitedText, validate
from assistant.llm.base import Model, Request, SourceText
from assistant.errors import NotFoundError
from assistant.library import Library
from assistant.papers import Paper, name_key
from assistant.retrieve import Filters, select
from assistant.settings import Settings
from assistant.tasks._common import (
    MemoEmbedder,
    generate,
    join_words,
    number_list,
    pick_sentences,
    rephrase,
    render_messages,
    time_order,
    to_source,
    words_for_count,
)
from assistant.tasks.themes import Theme, build_themes, in_sentence, span, years_of

MAX_THEME_SIZE = 8  # a larger theme is split with a tighter clustering threshold
MAX_THEMES = 6  # past this, the smallest themes are shown together as "Other topics"
TOP_COLLABORATORS = 10
MAX_PROMPT_SOURCES = 30  # papers shown to a generative model
MAX_CITED_PER_SENTENCE = 6


@dataclass
class Collaborator:
    name: str
    count: int
    paper_ids: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"name": self.name, "count": self.count, "paper_ids": self.paper_ids}


@dataclass
class AuthorSummary:
    author: str
    resolution: Resolution
    papers: list[Paper]  # time order: authored papers and, for an owner, their collection
    themes: list[Theme]
    collaborators: list[Collaborator]
    summary: str
    cited: CitedText
    sources: list[SourceText]
    model: str = "extractive"
    generated: bool = False  # True when a generative model wrote the summary paragraph

    @property
    def resolved_from(self) -> str | None:
        return self.resolution.resolved_from

    @property
    def collection_ids(self) -> set[str]:
        return set(self.resolution.collection_paper_ids)

    def relation(self, paper_id: str) -> str:
        return "collection" if paper_id in self.collection_ids else "author"

    @property
    def citations(self) -> list[dict]:
        by_id = {p.id: p for p in self.papers}
        return [
            {
                "n": c.n,
                "paper_id": c.paper_id,
                "title": by_id[c.paper_id].display_title() if c.paper_id in by_id else "",
                "year": by_id[c.paper_id].year if c.paper_id in by_id else None,
            }
            for c in self.cited.citations
        ]

    @property
    def bibtex(self) -> str:
        """BibTeX of every listed paper (authored and collection), oldest first."""
        from assistant.bibtex import to_bibtex

        return to_bibtex(self.papers)

    def timeline(self) -> list[dict]:
        """Per year (oldest first, undated last): the papers and the themes they belong to."""
        theme_of = {pid: t.label for t in self.themes for pid in t.paper_ids}
        years: dict[int | None, list[str]] = {}
        for p in self.papers:
            years.setdefault(p.year, []).append(p.id)
        order = sorted(years, key=lambda y: (y is None, y or 0))
        return [
            {"year": y, "paper_ids": years[y], "themes": list(dict.fromkeys(theme_of[i] for i in years[y] if i in theme_of))}
            for y in order
        ]

    def theme_years(self, theme: Theme) -> list[int]:
        by_id = {p.id: p for p in self.papers}
        return years_of(by_id[i] for i in theme.paper_ids)

    def to_json(self) -> dict:
        owner = self.resolution.owner
        papers = []
        for p in self.papers:
            data = p.to_dict()
            data["relation"] = self.relation(p.id)
            if data["relation"] == "collection":
                data["in_collection_of"] = owner
            papers.append(data)
        themes = []
        for t in self.themes:
            years = self.theme_years(t)
            themes.append({
                "label": t.label,
                "paper_ids": t.paper_ids,
                "summary": t.summary,
                "terms": t.terms,
                "first_year": years[0] if years else None,
                "last_year": years[-1] if years else None,
            })
        return {
            "author": self.author,
            "resolved_from": self.resolved_from,
            "resolution": self.resolution.to_json(),
            "model": self.model,
            "papers": papers,
            "themes": themes,
            "timeline": self.timeline(),
            "collaborators": [c.to_json() for c in self.collaborators],
            "summary": self.summary,
            "citations": self.citations,
            "removed_citations": self.cited.removed,
            "unsupported_sentences": self.cited.unsupported_sentences,
        }


# ---- facts ------------------------------------------------------------------------------------

def collaborators(resolution: Resolution, papers: dict[str, Paper], limit: int = TOP_COLLABORATORS) -> list[Collaborator]:
    """Co-authors over the person's authored papers, most frequent first. Ties: the one first
    worked with earlier. Author lists cut short by "et al." make counts lower bounds."""
    own = {name_key(resolution.full_name)} if resolution.full_name else set()
    counts: Counter[str] = Counter()
    spelling: dict[str, Counter] = {}
    shared: dict[str, list[str]] = {}
    first_seen: dict[str, int] = {}
    for position, pid in enumerate(resolution.author_paper_ids):
        for author in dict.fromkeys(papers[pid].authors):
            key = name_key(author)
            if not key or key in own:
                continue
            counts[key] += 1
            spelling.setdefault(key, Counter())[author] += 1
            shared.setdefault(key, []).append(pid)
            first_seen.setdefault(key, position)
    ranked = sorted(counts, key=lambda k: (-counts[k], first_seen[k], k))
    # One huge author list (a 500-author report) must not fill the list with one-off names.
    repeat = [k for k in ranked if counts[k] > 1]
    if len(repeat) < limit:
        small = [k for k in ranked if counts[k] == 1 and len(papers[shared[k][0]].authors) <= 20]
        repeat += small[: limit - len(repeat)]
    return [Collaborator(spelling[k].most_common(1)[0][0], counts[k], shared[k]) for k in repeat[:limit]]


def _papers_phrase(n: int) -> str:
    return f"{words_for_count(n)} paper{'s' if n != 1 else ''}"


def _label_phrase(theme: Theme) -> str:
    """How a theme reads inside a sentence: its terms ("federated learning, clients and
    aggregation") unless a model named it in words."""
    if theme.label_source == "other":
        return "other topics" + (f" (such as {join_words(theme.terms)})" if theme.terms else "")
    if theme.label_source == "title":
        return f"“{theme.label}”"
    return in_sentence(theme.label)


def _years_phrase(years: list[int], undated: int = 0) -> str:
    if not years:
        return "(undated)"
    when = f"in {years[0]}" if years[0] == years[-1] else f"from {years[0]} to {years[-1]}"
    return when + (f" ({words_for_count(undated)} undated)" if undated else "")


def _undated(ctx: "_Context", ids: Sequence[str]) -> int:
    return sum(1 for i in ids if not ctx.by_id[i].year)


def _cite(numbers: Sequence[int], limit: int = MAX_CITED_PER_SENTENCE) -> str:
    numbers = list(dict.fromkeys(numbers))
    if len(numbers) > limit:  # keep the ends of a long run (first and latest work)
        numbers = numbers[: limit - 1] + numbers[-1:]
    return number_list(numbers)


# ---- the summary paragraph --------------------------------------------------------------------

class _Context:
    def __init__(self, resolution: Resolution, papers: list[Paper], themes: list[Theme], collabs: list[Collaborator], store: Library):
        self.metadata: list[str] = []  # templated sentences stating record facts (counts, years, names)
        self.resolution = resolution
        self.papers = papers
        self.by_id = {p.id: p for p in papers}
        self.n_of = {p.id: n for n, p in enumerate(papers, start=1)}
        self.themes = themes
        self.collabs = collabs
        self.store = store
        self.sources = [to_source(p, self.n_of[p.id]) for p in papers]

    def fact(self, sentence: str) -> str:
        self.metadata.append(sentence)
        return sentence

    def numbers(self, ids: Sequence[str]) -> list[int]:
        return sorted(self.n_of[i] for i in ids if i in self.n_of)

    def theme_years(self, theme: Theme) -> list[int]:
        return years_of(self.by_id[i] for i in theme.paper_ids)

    def theme_of(self, pid: str) -> Theme | None:
        return next((t for t in self.themes if pid in t.paper_ids), None)


def _best_sentences(ctx: _Context, question: str, ids: Sequence[str], k: int) -> list[tuple[str, str]]:
    """Up to k (paper id, sentence), one a paper, from the papers' abstracts for `question`."""
    wanted = set(ids)
    sources = [s for s in ctx.sources if s.paper_id in wanted]
    if not sources or k <= 0:
        return []
    picked = pick_sentences(question, sources, embedder=ctx.store.embedder)
    # The papers whose best sentence is most relevant first: `extract` ranks papers that way.
    return [(pid, texts[0]) for pid, texts in picked.items() if texts][:k]


def _theme_summary(ctx: _Context, theme: Theme) -> str:
    """"Seven papers from 2019 to 2022 concern federated learning, ... [1, ...]. Nguyen et al. [3]
    propose ..." (numbers are source numbers; `validate` renumbers them)."""
    years = ctx.theme_years(theme)
    n = len(theme.paper_ids)
    head = ctx.fact(f"{_papers_phrase(n).capitalize()} {_years_phrase(years, _undated(ctx, theme.paper_ids))} {'concern' if n != 1 else 'concerns'} {_label_phrase(theme)} {number_list(ctx.numbers(theme.paper_ids))}.")
    picked = _best_sentences(ctx, " ".join([theme.label, *theme.terms]), theme.paper_ids, 1)
    body = [rephrase(text, ctx.by_id[pid], f"[{ctx.n_of[pid]}]") for pid, text in picked]
    return " ".join([head, *body])


def _extractive_summary(ctx: _Context) -> str:
    """Templated sentences about the computed facts (each citing the papers it counts) and the
    abstracts' own sentences for the main themes, each citing its paper."""
    r = ctx.resolution
    say: list[str] = []
    authored = [i for i in r.author_paper_ids if i in ctx.n_of]
    collection = [i for i in r.collection_paper_ids if i in ctx.n_of]
    if authored:
        years = years_of(ctx.by_id[i] for i in authored)
        ends = [authored[0], authored[-1]]
        say.append(ctx.fact(
            f"{r.full_name} is an author of {_papers_phrase(len(authored))} in this library, "
            f"published {_years_phrase(years, _undated(ctx, authored))} {_cite(ctx.numbers(ends))}."
        ))
    if collection:
        years = years_of(ctx.by_id[i] for i in collection)
        if authored:
            say.append(ctx.fact(
                f"{r.owner}'s collection adds {_papers_phrase(len(collection))} that do not list {r.full_name} "
                f"as an author, published {_years_phrase(years, _undated(ctx, collection))} {_cite(ctx.numbers(collection))}."
            ))
        else:
            say.append(ctx.fact(
                f"{r.owner}'s collection in this library holds {_papers_phrase(len(collection))}, "
                f"published {_years_phrase(years, _undated(ctx, collection))} {_cite(ctx.numbers(collection))}."
            ))
    themes = ctx.themes
    if len(themes) == 1:
        t = themes[0]
        say.append(ctx.fact(f"All of them concern {_label_phrase(t)} {_cite(ctx.numbers(t.paper_ids))}."))
    elif themes:
        shown = themes[:4]
        parts = [f"{_label_phrase(t)} ({_papers_phrase(len(t.paper_ids))})" for t in shown]
        more = f", among {words_for_count(len(themes))} themes in all" if len(themes) > len(shown) else ""
        firsts = [ctx.numbers(t.paper_ids)[0] for t in shown]
        say.append(ctx.fact(f"The papers fall into themes on {'; '.join(parts[:-1])}; and {parts[-1]}{more} {_cite(firsts)}."))
    dated = [p for p in ctx.papers if p.year]
    if len({p.year for p in dated}) > 1:
        first, last = dated[0], dated[-1]
        t_first, t_last = ctx.theme_of(first.id), ctx.theme_of(last.id)
        if t_first is not None and t_last is not None and t_first is not t_last:
            say.append(ctx.fact(
                f"The earliest paper ({first.year}) belongs to the theme {_label_phrase(t_first)} {_cite([ctx.n_of[first.id]])}, "
                f"the most recent ({last.year}) to {_label_phrase(t_last)} {_cite([ctx.n_of[last.id]])}."
            ))
        elif t_first is not None:
            say.append(ctx.fact(
                f"The work on {_label_phrase(t_first)} runs from {first.year} to {last.year} "
                f"{_cite([ctx.n_of[first.id], ctx.n_of[last.id]])}."
            ))
    for theme in themes[:2]:
        for pid, text in _best_sentences(ctx, " ".join([theme.label, *theme.terms]), theme.paper_ids, 1):
            say.append(rephrase(text, ctx.by_id[pid], f"[{ctx.n_of[pid]}]"))
    top = [c for c in ctx.collabs if c.count > 1][:3] or ctx.collabs[:2]
    if top:
        names = [f"{c.name} ({_papers_phrase(c.count)})" for c in top]
        shared = sorted({n for c in top for n in ctx.numbers(c.paper_ids)})
        lead = "The most frequent co-authors are" if len(top) > 1 else "The most frequent co-author is"
        say.append(ctx.fact(f"{lead} {join_words(names)} {_cite(shared)}."))
    return " ".join(say)


def _facts(ctx: _Context) -> str:
    r = ctx.resolution
    lines = []
    if r.full_name:
        years = years_of(ctx.by_id[i] for i in r.author_paper_ids)
        lines.append(f"- {r.full_name} is an author of {len(r.author_paper_ids)} of these papers ({span(years)}): {_cite(ctx.numbers(r.author_paper_ids), 99)}.")
    if r.collection_paper_ids:
        lines.append(
            f"- Papers {_cite(ctx.numbers(r.collection_paper_ids), 99)} are in {r.owner}'s collection"
            + (f" and do not list {r.full_name} as an author; do not call them {r.full_name}'s own work." if r.full_name else "; their authorship is not recorded.")
        )
    for t in ctx.themes:
        lines.append(f"- Theme \"{t.label}\": papers {_cite(ctx.numbers(t.paper_ids), 99)}, {span(ctx.theme_years(t))}.")
    if ctx.collabs:
        lines.append("- Most frequent co-authors: " + "; ".join(f"{c.name} ({c.count} papers: {_cite(ctx.numbers(c.paper_ids), 99)})" for c in ctx.collabs[:5]) + ".")
    return "\n".join(lines)


def _prompt_sources(ctx: _Context) -> list[SourceText]:
    if len(ctx.sources) <= MAX_PROMPT_SOURCES:
        return ctx.sources
    # Round-robin over themes so every theme is shown; time order kept in the prompt.
    chosen: list[str] = []
    queues = [list(t.paper_ids) for t in ctx.themes]
    while len(chosen) < MAX_PROMPT_SOURCES and any(queues):
        for q in queues:
            if q and len(chosen) < MAX_PROMPT_SOURCES:
                chosen.append(q.pop(0))
    keep = set(chosen)
    return [s for s in ctx.sources if s.paper_id in keep]


def _generated_summary(ctx: _Context, model: Model, name: str) -> str:
    from assistant.prompts import format_sources

    shown = _prompt_sources(ctx)
    messages = render_messages(
        "author_summary", system=True, author=name, n_sources=len(ctx.sources), sources=format_sources(shown), facts=_facts(ctx)
    )
    request = Request(messages=messages, question=f"Summarise the work of {name}.", sources=shown, task="author_summary")
    return " ".join(generate(model, request).split())


def accept_record_facts(cited: CitedText, facts: Sequence[str]) -> None:
    """Sentences we composed from the records (counts, years, co-authors) are checked against the
    records, not the abstracts: when they are cited they count as supported. Everything else keeps
    the abstract-based support check of `cite.validate`."""
    stated = {" ".join(strip_markers(f).split()) for f in facts}
    for check in cited.sentences:
        if check.citations and " ".join(strip_markers(check.text).split()) in stated:
            check.supported, check.reason = True, None
    cited.unsupported_sentences = [c.text for c in cited.sentences if not c.supported]


# ---- entry point ------------------------------------------------------------------------------

def _narrow(resolution: Resolution, store: Library, filters: Filters) -> None:
    """Keep only the author's papers the filters admit; an error when none is left."""
    admitted = set(select(store, filters).paper_ids())
    kept_authored = [i for i in resolution.author_paper_ids if i in admitted]
    kept_owned = [i for i in resolution.collection_paper_ids if i in admitted]
    dropped = len(resolution.paper_ids) - len(kept_authored) - len(kept_owned)
    label = filters.label()
    if not kept_authored and not kept_owned:
        raise NotFoundError(
            f"none of the {len(resolution.paper_ids)} papers of {resolution.name} in the library matches the filters ({label})"
        )
    resolution.author_paper_ids, resolution.collection_paper_ids = kept_authored, kept_owned
    if dropped:
        resolution.notes.append(f"filtered ({label}): {dropped} of the author's papers left out")


def summarize_author(
    name: str,
    *,
    store,
    model: str | Model | None = None,
    settings: Settings | None = None,
    filters: Filters | None = None,
) -> AuthorSummary:
    """Summarise the work of the author `name` (see the module docstring). Raises NotFoundError
    for an unknown name and AmbiguousAuthorError (listing the candidates) for an ambiguous one.

    `filters` narrow the author's papers (years, category; an author filter keeps the papers
    written with that co-author); the resolution notes say so."""
    resolution = resolve_author(store, name)
    if filters is not None and not filters.is_empty():
        _narrow(resolution, store, filters)
    llm = choose_model(model, store, settings)
    records = store.get_many(resolution.paper_ids)
    papers = time_order([records[i] for i in resolution.paper_ids if i in records])
    resolution.author_paper_ids = [p.id for p in papers if p.id in set(resolution.author_paper_ids)]
    resolution.collection_paper_ids = [p.id for p in papers if p.id in set(resolution.collection_paper_ids)]
    vectors = store.embeddings_for([p.id for p in papers])
    labeller = llm if llm.generative else None
    themes = build_themes(papers, vectors, model=labeller, max_size=MAX_THEME_SIZE, absorb=True, max_themes=MAX_THEMES)
    by_id = {p.id: p for p in papers}
    for theme in themes:  # papers of a theme in time order
        theme.paper_ids = [p.id for p in papers if p.id in set(theme.paper_ids)]
    collabs = collaborators(resolution, by_id)
    ctx = _Context(resolution, papers, themes, collabs, store)

    summary_text = ""
    if llm.generative and papers:
        summary_text = _generated_summary(ctx, llm, resolution.name)
    generated = bool(summary_text)
    if not summary_text:
        summary_text = _extractive_summary(ctx)
    theme_texts = [_theme_summary(ctx, t) for t in themes]
    # One validation for the paragraph and the theme summaries, so numbers agree across them.
    blocks = [summary_text, *theme_texts]
    cited = validate("\n\n".join(blocks), ctx.sources, embedder=MemoEmbedder(store.embedder))
    accept_record_facts(cited, ctx.metadata)
    parts = cited.text.split("\n\n")
    if len(parts) != len(blocks):  # cannot happen with one-line blocks; never mis-assign
        parts = [cited.text] + [""] * len(theme_texts)
    for theme, text in zip(themes, parts[1:]):
        theme.summary = text
    return AuthorSummary(
        author=resolution.name,
        resolution=resolution,
        papers=papers,
        themes=themes,
        collaborators=collabs,
        summary=parts[0],
        cited=cited,
        sources=ctx.sources,
        model=llm.name,
        generated=generated,
    )
