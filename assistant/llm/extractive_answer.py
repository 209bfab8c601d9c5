"""The extractive answer shaped by the question (see assistant.question_shape).

Every block names its paper (short title or first author et al., year) and quotes its
sentences as quotes, each followed by its `[n]`. A quoted sentence whose meaning hangs on the
sentence before it ("However, ...", "To address these concerns, ...") comes with that sentence,
or not at all. Record questions (who wrote X, when, where, an author's papers, how many papers on
Y) are answered from the records given in the sources, cited.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.cite.markers import FINAL_PUNCTUATION, cite_at_end
from assistant.llm.base import SourceText
from assistant.papers import is_marked_untitled
from assistant.question_shape import (
    AUTHOR_PAPERS,
    AUTHORS,
    COMPARE,
    COUNT,
    LIST_CAP,
    SUMMARY,
    VENUE,
    YEAR,
    QuestionShape,
    mentions,
)

HEADER = "Extractive answer (sentences quoted from the retrieved abstracts):"
RECORD_HEADER = "From the library's records:"
SUMMARY_SENTENCES = 3
COMPARE_SENTENCES = 2
# A sentence opening like this leans on the one before it (a contrast, a consequence, a pronoun
# for something named earlier); "This paper/work ..." refers to the paper and stands alone.
DEPENDENT = re.compile(
    r"^[\"“‘(]*(?:however|moreover|furthermore|additionally|in\s+addition|also|thus|hence|therefore|consequently|"
    r"as\s+a\s+result|in\s+contrast|by\s+contrast|on\s+the\s+other\s+hand|nevertheless|nonetheless|instead|"
    r"similarly|likewise|accordingly|meanwhile|finally|further|then|still|yet|besides|specifically|"
    r"in\s+particular|notably|importantly|unfortunately|surprisingly|interestingly|conversely|alternatively|otherwise|"
    r"to\s+(?:this|that)\s+end|to\s+\w+\s+(?:this|these|that|those|such|the\s+above|both)\b|"
    r"(?:this|these|those|such)(?!\s+(?:paper|work|study|article|thesis|letter|report|survey|review|manuscript|abstract)\b)|"
    r"it(?!\s+(?:is|was|has\s+been)\s+(?:\w+\s+)?(?:known|acknowledged|believed|shown|recogni[sz]ed|accepted|established|"
    r"observed|argued|expected|important|necessary|possible|difficult|challenging|common|crucial|essential|unclear|"
    r"well|critical|hard|easy|natural)\b)|its|they|their|them|both|each\s+of\s+(?:them|these)|the\s+former|the\s+latter|here|there|"
    r"in\s+this\s+(?:way|case|setting|context|regard|scenario)|for\s+(?:this|these)\s+reasons?|"
    r"(?:the|our)\s+(?:same|above|aforementioned|resulting|proposed)\s+\w+)\b",
    re.IGNORECASE,
)


def is_dependent(sentence: str) -> bool:
    """Whether the sentence's meaning depends on the one before it."""
    return bool(DEPENDENT.match(sentence.strip()))


def first_author(authors: Sequence[str]) -> str:
    if not authors:
        return ""
    last = authors[0].split()[-1] if authors[0].split() else authors[0]
    return last + (" et al." if len(authors) > 2 else f" and {authors[1].split()[-1]}" if len(authors) == 2 else "")


def short_title(source: SourceText) -> str:
    """The name a researcher uses for the paper: the part before a colon ("Papaya"), else the
    title cut at eight words; "" for a paper with no real title."""
    title = source.title.strip()
    if not title or is_marked_untitled(title):
        return ""
    head = title.split(":")[0].strip()
    if ":" in title and len(head.split()) <= 4:
        return head
    stop = re.search(r"[.?!](?=\s)", title)  # "Where to Begin? On the ...": the first sentence
    if stop and len(title[: stop.end()].split()) <= 8:
        return title[: stop.end()]
    words = title.split()
    return title if len(words) <= 8 else " ".join(words[:8]) + "…"


def attribution(source: SourceText) -> str:
    """**Short title** (First et al., year), or First et al. (year) for an untitled paper."""
    year = str(source.year) if source.year else "n.d."
    name, who = short_title(source), first_author(source.authors)
    if name:
        return f"**{name}** ({who + ', ' if who else ''}{year})"
    if who:
        return f"**{who}** ({year})"
    return f"**Untitled paper [{source.n}]** ({year})"


def quote(sentence: str, n: int) -> str:
    """The sentence in quotation marks, with its full stop inside, then ` [n]`."""
    text = sentence.strip()
    if not FINAL_PUNCTUATION.search(text):
        text += "."
    return f"“{text}” [{n}]"


def block(source: SourceText, sentences: Sequence[str]) -> list[str]:
    """The paper's attribution and its quotes, as pieces to stream (one quote each)."""
    quotes = [quote(s, source.n) for s in sentences]
    return [f"{attribution(source)}: {quotes[0]}", *quotes[1:]] if quotes else []


def with_antecedents(
    indices: Sequence[int], sentences: dict[int, str], dependent: dict[int, bool], allowed: set[int] | None = None,
) -> list[int]:
    """The chosen sentence positions, each dependent one preceded by the sentences it leans on
    (back to one that stands alone, each in `allowed` when given: relevant enough to show); a
    dependent sentence with no such run is left out."""
    keep: set[int] = set()
    for i in indices:
        run = [i]
        j = i
        while dependent.get(j) and (j - 1) in sentences and (allowed is None or (j - 1) in allowed) and len(run) < 3:
            j -= 1
            run.append(j)
        if dependent.get(j):
            continue
        keep.update(run)
    return sorted(keep)


# ---- record answers ---------------------------------------------------------------------------

def record_sentence(source: SourceText) -> str:
    """What the record says about a paper, as one sentence (answer.build_sources adds the same
    sentence to a record question's source text, so the citation check finds it there)."""
    title = source.title.strip()
    name = title if title and not is_marked_untitled(title) else "This untitled paper"
    authors = _names(source.authors) if source.authors else "authors not recorded"
    year = f"in {source.year}" if source.year else "in an unrecorded year"
    return f"{name} was written by {authors} and published {year}."


def _names(authors: Sequence[str], limit: int = 8) -> str:
    shown = list(authors[:limit])
    if len(authors) > limit:
        return ", ".join(shown) + f" and {len(authors) - limit} others"
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def named_sources(item: str, sources: Sequence[SourceText]) -> list[SourceText]:
    """Sources whose record holds `item`, strongest first."""
    scored = [(mentions(item, s.title, s.text), -i, s) for i, s in enumerate(sources)]
    return [s for m, _i, s in sorted(scored, key=lambda t: (-t[0], -t[1])) if m]


def record_answer(shape: QuestionShape, sources: Sequence[SourceText]) -> str:
    """Who wrote / when / where, answered from the named paper's record."""
    source = (named_sources(shape.item, sources) or list(sources[:1]))[0]
    line = record_sentence(source)
    if shape.kind == YEAR and source.year:
        line = f"{line.split(' was written by ')[0]} was published in {source.year}."
    text = cite_at_end(line, f"[{source.n}]")
    if shape.kind == VENUE:
        text += " The library has no venue on record for it."
    return f"{RECORD_HEADER}\n\n{text}"


def list_line(source: SourceText) -> str:
    title = source.title.strip()
    who = first_author(source.authors)
    detail = ", ".join(x for x in (who, str(source.year) if source.year else "") if x)
    return f"- {title}" + (f" ({detail})" if detail else "") + f" [{source.n}]"


def listing_answer(shape: QuestionShape, sources: Sequence[SourceText]) -> str:
    """An author's papers, or every paper on a topic, newest first, each cited."""
    ordered = sorted(sources, key=lambda s: (-(s.year or 0), s.n))
    n = len(ordered)
    count = f"at least {n}" if n >= LIST_CAP else str(n)
    plural = "paper" if n == 1 else "papers"
    if shape.kind == AUTHOR_PAPERS:
        lead = f"The library holds {count} {plural} by {shape.item}:"
    else:
        lead = f"The library holds {count} {plural} whose title or abstract mentions {shape.item}:"
    return "\n".join([RECORD_HEADER, "", lead, *[list_line(s) for s in ordered]])


def is_record_shape(shape: QuestionShape) -> bool:
    return shape.kind in (AUTHORS, YEAR, VENUE, AUTHOR_PAPERS, COUNT)


__all__ = [
    "COMPARE",
    "HEADER",
    "SUMMARY",
    "attribution",
    "block",
    "is_dependent",
    "listing_answer",
    "named_sources",
    "record_answer",
    "record_sentence",
    "with_antecedents",
]
