"""Plumbing shared by the tasks (author summaries, related work): the model, prompts, numbered
sources, and the small rewrites that turn an abstract's sentence into a cited sentence about it."""
from __future__ import annotations

import re
from typing import Sequence

from assistant.cite.markers import cite_at_end
from assistant.llm.base import Message, Model, SourceText
from assistant.papers import Paper

SOURCE_CHARS = 1500  # text of a paper shown to a model (abstract, else the start of the full text)


# ---- model and prompts ------------------------------------------------------------------------

def render_messages(name: str, *, system: bool = False, **values: object) -> list[Message]:
    """The prompt `prompts/<name>.txt` as the user message (after prompts/system.txt if asked)."""
    from assistant.prompts import render_prompt

    messages = [Message("system", render_prompt("system"))] if system else []
    messages.append(Message("user", render_prompt(name, **values)))
    return messages


def generate(model: Model, request) -> str:
    """The model's whole text for `request`, whitespace tidied (paragraphs kept)."""
    text = model.complete(request)
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text or "")]
    return "\n\n".join(p for p in paragraphs if p)


# ---- sources ----------------------------------------------------------------------------------

def source_text(paper: Paper) -> str:
    text = paper.abstract or paper.full_text
    text = " ".join(text.split())
    if len(text) > SOURCE_CHARS:
        text = text[: SOURCE_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return text


def to_source(paper: Paper, n: int, text: str | None = None) -> SourceText:
    return SourceText(n=n, paper_id=paper.id, title=paper.display_title(), authors=list(paper.authors), year=paper.year, text=text or source_text(paper))


def time_order(papers: Sequence[Paper]) -> list[Paper]:
    """Oldest first; undated papers last (by id, for a stable order)."""
    return sorted(papers, key=lambda p: (p.date is None and p.year is None, p.date or (str(p.year) if p.year else ""), p.id))


# ---- cited sentences from abstracts -----------------------------------------------------------

def last_name(author: str) -> str:
    author = author.strip()
    if "," in author:
        return author.split(",", 1)[0].strip()
    parts = author.split()
    if not parts:
        return ""
    # Keep lower-case particles with the last name: "van der Berg", "de la Cruz".
    i = len(parts) - 1
    while i > 0 and parts[i - 1].islower() and parts[i - 1].isalpha():
        i -= 1
    return " ".join(parts[i:])


def author_phrase(paper: Paper) -> str:
    """"Nguyen et al.", "Nguyen and Malik", "Nguyen", or "" when the authors are unknown."""
    names = [last_name(a) for a in paper.authors if last_name(a)]
    if not names:
        return ""
    if len(names) == 1 and not paper.authors_truncated:
        return names[0]
    if len(names) == 2 and not paper.authors_truncated:
        return f"{names[0]} and {names[1]}"
    return f"{names[0]} et al."


def _third_person(verb: str) -> str:
    lower = verb.lower()
    if lower in {"have"}:
        return "has"
    if lower in {"do", "go"}:
        return verb + "es"
    if re.search(r"(s|sh|ch|x|z)$", lower):
        return verb + "es"
    if re.search(r"[^aeiou]y$", lower):
        return verb[:-1] + "ies"
    return verb + "s"


_ADVERBS = (
    "also|further|then|first|now|finally|additionally|empirically|theoretically|formally|experimentally|"
    "systematically|carefully|thus|therefore|subsequently|next|instead|specifically|here|briefly|extensively"
)
# "we VERB" anywhere (the first one), with an optional adverb: "Empirically, we find ..."
_WE = re.compile(rf"\bwe\s+((?:{_ADVERBS})\s+)?([a-z]+)\b", re.IGNORECASE)
# Openers that only say "in this paper" before "we": dropped ("In this paper, we propose" -> "X propose").
_HERE = re.compile(r"^(?:here|in this (?:paper|work|study|article|letter|note|report)|in this|in the present (?:paper|work))\s*,?\s+(?=we\b)", re.IGNORECASE)
_THIS_PAPER = re.compile(r"^(?:in this (?:paper|work)|this (?:paper|work|study|article|letter|note|report|thesis))\s*,?\s+", re.IGNORECASE)
_NOT_VERBS = {"are", "were", "have", "had", "can", "could", "will", "would", "may", "might", "should", "must", "do", "did", "not"}


def rephrase(sentence: str, paper: Paper, cite: str) -> str:
    """An abstract's sentence turned, minimally, into a cited sentence about the paper:
    "We propose X." -> "Nguyen et al. [3] propose X."; "Empirically, we find X." -> "Empirically,
    Nguyen et al. [3] find X."; "This paper presents X." -> "The work of Nguyen et al. [3] presents
    X."; otherwise "we"/"our" become "the authors"/"their" and the citation goes before the full
    stop. The claim itself stays in the abstract's own words."""
    text = " ".join(sentence.split()).strip()
    if not text:
        return ""
    text = _HERE.sub("", text)
    who = author_phrase(paper)
    single = bool(who) and len(paper.authors) == 1 and not paper.authors_truncated
    m = _WE.search(text)
    if m and (m.start() == 0 or text[: m.start()].rstrip().endswith(",") or len(text[: m.start()].split()) <= 4):
        adverb, verb = m.group(1) or "", m.group(2)
        if single:
            irregular = {"are": "is", "were": "was", "have": "has", "do": "does"}
            verb = irregular.get(verb.lower()) or (verb if verb.lower() in _NOT_VERBS else _third_person(verb))
        subject = f"{who} {cite}" if who else f"the authors of {cite}"
        before, after = text[: m.start()], text[m.end():]
        out = f"{before}{subject} {adverb}{verb}{after}"
        return _tidy(before + _swap_pronouns(out[len(before):]))
    m = _THIS_PAPER.match(text)
    if m:
        rest = text[m.end():]
        subject = f"The work of {who} {cite}" if who else f"The work {cite}"
        return _tidy(_swap_pronouns(f"{subject} {rest}"))
    if re.match(r"^Our\s+\w", text):  # "Our experiments show X" -> "In Nguyen et al. [3], the experiments show X"
        where = f"{who} {cite}" if who else cite
        return _tidy(f"In {where}, the " + _swap_pronouns(text[4:]))
    return _tidy(cite_at_end(_swap_pronouns(text), cite))


def _swap_pronouns(text: str) -> str:
    text = re.sub(r"\bOur\b", "Their", text)
    text = re.sub(r"\bour\b", "their", text)
    text = re.sub(r"\bWe\b", "The authors", text)
    text = re.sub(r"\bwe\b", "the authors", text)
    text = re.sub(r"\bourselves\b", "themselves", text)
    text = re.sub(r"(?<=\s)us\b(?=[\s.,;])", "them", text)
    return text


def _tidy(text: str) -> str:
    text = re.sub(r"\s+([,.;:])", r"\1", " ".join(text.split()))
    if text and text[-1] not in ".!?":
        text += "."
    return text[0].upper() + text[1:] if text else text


def latex_escape(text: str) -> str:
    """Text safe in a LaTeX document: bare & % # escaped, and _ outside $math$; \\cite commands,
    math and what is already escaped are left alone."""
    parts = re.split(r"(\$[^$]*\$|\\cite[a-zA-Z]*\*?(?:\[[^\]]*\])*\{[^{}]*\})", text)
    out = []
    for part in parts:
        if part.startswith("$") or part.startswith("\\cite"):
            out.append(part)
        else:
            out.append(re.sub(r"(?<!\\)([&%#_])", r"\\\1", part))
    return "".join(out)


# ---- choosing sentences -------------------------------------------------------------------------

_CONNECTIVE = re.compile(
    r"^(?:however|moreover|furthermore|in addition|additionally|thus|therefore|hence|also|finally|then|"
    r"as a result|consequently|in contrast|similarly|importantly|notably|in particular|specifically|"
    r"to this end|to address this|on the other hand|meanwhile|overall|in summary|in short)\s*,\s*",
    re.IGNORECASE,
)
_DANGLING = re.compile(r"^(?:this|these|those|it|its|they|their|such|the resulting|the proposed|both|here|there)\b", re.IGNORECASE)
CONTRIBUTION_BONUS = 0.08  # "We propose ..." says what the paper does: the sentence a summary wants
DANGLING_PENALTY = 0.15  # "These models ..." needs the sentence before it


def strip_connective(sentence: str) -> str:
    """"However, the server ..." -> "The server ..." (a connective needs the sentence before it)."""
    m = _CONNECTIVE.match(sentence)
    if not m:
        return sentence
    rest = sentence[m.end():]
    return rest[:1].upper() + rest[1:] if rest else sentence


_CONTRIBUTION_VERBS = frozenset(
    """propose proposes present presents introduce introduces develop develops design designs show
    shows demonstrate demonstrates study studies investigate investigates find finds provide provides
    describe describes consider considers analyze analyzes analyse analyses evaluate evaluates
    release releases formulate formulates derive derives establish establishes build builds
    explore explores address addresses extend extends prove proves devise devises""".split()
)
_ANAPHOR_SOON = re.compile(r"^\W*(?:\w+\W+){0,3}(?:this|these|such|it|them)\b", re.IGNORECASE)


def sentence_score(sentence: str, relevance: float) -> float:
    """Relevance, plus a bonus for a sentence stating the paper's contribution ("We propose X"),
    minus a penalty for one that leans on the sentence before it ("These models...", "To exploit
    this, we...")."""
    text = strip_connective(_HERE.sub("", sentence))
    if _THIS_PAPER.match(text):
        return relevance + CONTRIBUTION_BONUS
    if _DANGLING.match(text) or _ANAPHOR_SOON.match(text):
        return relevance - DANGLING_PENALTY
    m = _WE.match(text)
    if m and m.group(2).lower() in _CONTRIBUTION_VERBS and not _ANAPHOR_SOON.match(text[m.end():]):
        return relevance + CONTRIBUTION_BONUS
    return relevance


def leans_back(sentence: str) -> bool:
    """Whether the sentence, even without its leading connective, needs the one before it."""
    from assistant.llm.extractive_answer import is_dependent

    text = strip_connective(sentence)
    return is_dependent(sentence) and is_dependent(text) or bool(_DANGLING.match(text) or _ANAPHOR_SOON.match(text))


def pick_sentences(question: str, sources: Sequence[SourceText], *, embedder, per_source: int = 1, candidates: int = 4) -> dict[str, list[str]]:
    """paper id -> its best `per_source` abstract sentences for `question` (reading order), chosen
    by the extractive model's relevance (`assistant.llm.extractive.extract`, with MMR) and
    preferring sentences that state the paper's contribution over ones that lean on the sentence
    before them. Leading connectives ("However, ") are dropped."""
    from assistant.llm.extractive import extract

    if not sources:
        return {}
    k = len(sources) * candidates
    picks = extract(question, sources, embedder=embedder, max_sentences=k, min_sentences=k, max_per_source=candidates)
    by_paper: dict[str, list] = {}
    for e in picks:
        by_paper.setdefault(e.paper_id, []).append(e)
    out: dict[str, list[str]] = {}
    for pid, extracts in by_paper.items():
        # A sentence that leans on one not shown comes last, whatever its score.
        best = sorted(extracts, key=lambda e: (leans_back(e.text), -sentence_score(e.text, e.relevance)))[:per_source]
        out[pid] = [strip_connective(e.text) for e in sorted(best, key=lambda e: e.index)]
    return out


class MemoEmbedder:
    """An embedder whose `embed` reuses recently computed vectors (`sentences.embed_cached`), so
    sentences embedded to choose them are not embedded again to check citations."""

    def __init__(self, inner):
        self.inner = inner
        self.name = getattr(inner, "name", "embedder")

    def embed(self, texts):
        from assistant.sentences import embed_cached

        return embed_cached(self.inner, list(texts))

    def embed_one(self, text: str):
        return self.embed([text])[0]


def number_list(numbers: Sequence[int]) -> str:
    return "[" + ", ".join(str(n) for n in sorted(dict.fromkeys(numbers))) + "]"


def words_for_count(n: int) -> str:
    small = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
    return small[n] if 0 <= n < len(small) else str(n)


def join_words(items: Sequence[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
