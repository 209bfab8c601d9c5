"""Retrieval shaped by the question: the papers a question names, an author's papers, every
paper on a counted topic, on top of the ordinary hybrid search.

`retrieve` returns the hits to answer from and the names the library was found to hold; a
question that names something the library holds is never abstained on (assistant.answer).
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.question_shape import (
    AUTHOR_PAPERS,
    COMPARE,
    COUNT,
    GENERAL,
    LIST_CAP,
    RECORD_KINDS,
    SUMMARY,
    QuestionShape,
    classify,
    mentions,
    name_candidates,
)
from assistant.retrieve import Filters, Hit, search
from assistant.text_terms import content_terms
from assistant.library import Library

NAME_DEPTH = 5  # hits searched for one name
_PERSON = re.compile(r"\b[A-Z][a-z]+(?:[\s\-][A-Z]\.?)?(?:\s+[A-Z][a-z]+(?:-[A-Z][a-z]+)?)+\b")
# Plain capitalised words count as a name only where the paper's record holds them strongly (in
# its title) or they are rare in ordinary questions (not a first word, at least this long).
MIN_PLAIN_NAME = 4


@dataclass
class Retrieval:
    shape: QuestionShape
    hits: list[Hit]
    named: list[str] = field(default_factory=list)  # names of the question the library holds
    author: str | None = None  # the author whose papers are listed


def _strength(name: str, hit: Hit) -> int:
    return mentions(name, hit.paper.title if not hit.paper.title_derived else "", hit.paper.abstract)


def _written_as_name(name: str, hit: Hit) -> bool:
    """A name typed in lower case ("fsdp", "fedbuff") that the paper writes as an acronym or a
    camel-case name ("FSDP", "FedBuff")."""
    if not name.islower() or " " in name:
        return False
    text = f"{hit.paper.title}\n{hit.paper.abstract}"
    pattern = re.compile(r"(?<![\w\-])" + re.escape(name) + r"(?![\w])", re.IGNORECASE)
    return any(_is_strong_name(m.group()) for m in pattern.finditer(text))


def introduces(name: str, text: str) -> bool:
    """Whether `text` introduces `name` as the name of something ("We introduce Opacus, a ...",
    "called Papaya", "Papaya (a system)", "Opacus is a library"): a capitalised word that is
    merely used ("in sub-Saharan Africa", "World Health Organization") is no name the paper holds."""
    n = re.escape(name)
    patterns = (
        rf"\b(?:introduc\w*|present\w*|propos\w*|call\w*|nam\w*|dub\w*|term\w*|releas\w*)\s+(?:\w+\s+){{0,2}}{n}\s*(?:[,(:]|is\s+an?\b)",
        rf"\b{n},\s*(?:an?)\s",
        rf"\(\s*{n}\s*\)",
    )
    return any(re.search(p, text) for p in patterns)


def _is_strong_name(name: str) -> bool:
    """An acronym, camel-case or alphanumeric token, or a multi-word name."""
    from assistant.question_shape import _NAME_TOKEN

    return bool(_NAME_TOKEN.match(name.split()[0])) or " " in name


def papers_named(store: Library, name: str, hits: Sequence[Hit] = (), filters: Filters | None = None) -> list[Hit]:
    """Hits whose record holds `name`, strongest first (title opening, title, text); searched
    for when the question's own hits hold none."""
    if not name:
        return []
    found = [(s, i, h) for i, h in enumerate(hits) if (s := _strength(name, h))]
    if not found:
        found = [(s, i, h) for i, h in enumerate(search(store, name, k=NAME_DEPTH, filters=filters)) if (s := _strength(name, h))]
    if not _is_strong_name(name):  # "Papaya: ..." opening a title, "Opacus" where a paper introduces it
        found = [
            f for f in found
            if f[0] >= 3 or _written_as_name(name, f[2]) or (len(name) >= MIN_PLAIN_NAME and introduces(name, f[2].paper.abstract))
        ]
    found.sort(key=lambda f: (-f[0], f[1]))
    return [h for _s, _i, h in found]


def _merge(first: Sequence[Hit], rest: Sequence[Hit], k: int) -> list[Hit]:
    seen: set[str] = set()
    out = []
    for hit in [*first, *rest]:
        if hit.paper.id not in seen:
            seen.add(hit.paper.id)
            out.append(hit)
    return out[: max(k, len(first))]


def _author_hits(store: Library, question: str, name: str, filters: Filters | None, k: int) -> list[Hit]:
    base = filters or Filters()
    wanted = Filters(author=name, year_from=base.year_from, year_to=base.year_to, category=base.category)
    try:
        return search(store, question, k=k, filters=wanted)
    except Exception:  # noqa: BLE001 - a name the facet cannot use is simply no author
        return []


def _people_in(question: str, filters: Filters | None) -> list[str]:
    if filters is not None and filters.author:
        return []
    return list(dict.fromkeys(m.group() for m in _PERSON.finditer(question)))


def _topic_hits(store: Library, topic: str, filters: Filters | None) -> list[Hit]:
    """Every paper (up to LIST_CAP) whose title or abstract holds all the topic's content terms."""
    terms = content_terms(topic)
    hits = search(store, topic, k=LIST_CAP, filters=filters)
    return [h for h in hits if terms and terms <= content_terms(f"{h.paper.title} {h.paper.abstract}")]


def retrieve(store: Library, question: str, *, k: int, filters: Filters | None = None, listing: bool = True) -> Retrieval:
    """The hits to answer `question` from. `listing` (a model that can take many sources) lets an
    author's papers or a counted topic bring up to LIST_CAP papers."""
    shape = classify(question)
    hits = search(store, question, k=k, filters=filters)
    if shape.kind == AUTHOR_PAPERS:
        authored = _author_hits(store, shape.item, shape.item, filters, LIST_CAP if listing else k)
        if authored:
            return Retrieval(shape, authored, [shape.item], shape.item)
    if shape.kind == COUNT and listing:
        counted = _topic_hits(store, shape.item, filters)
        if counted:
            return Retrieval(shape, counted, [shape.item])
    named: list[str] = []
    first: list[Hit] = []
    if shape.kind in (COMPARE, SUMMARY) or shape.kind in RECORD_KINDS:
        for item in shape.items:
            found = papers_named(store, item, hits, filters)
            if found:
                named.append(item)
                first.extend(found[: 2 if shape.kind == COMPARE else 1])
    for name in name_candidates(question):
        if name in named or any(name.lower() in n.lower() for n in named):
            continue
        found = papers_named(store, name, hits, filters)
        if found:
            named.append(name)
            first.extend(found[:1])
    for person in _people_in(question, filters):
        authored = _author_hits(store, question, person, filters, k)
        if authored:
            named.append(person)
            first.extend(authored[:2])
    if shape.kind == GENERAL:  # retrieval's order stands; a named paper it missed leads
        missing = [h for h in first if h.paper.id not in {x.paper.id for x in hits}]
        return Retrieval(shape, _merge(missing, hits[: max(k - len(missing), 0)], k), named)
    return Retrieval(shape, _merge(first, hits, k), named)
