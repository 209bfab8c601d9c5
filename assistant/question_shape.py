"""What kind of question is asked, and which names it mentions: pure text rules, no model.

The answer path uses the shape to retrieve the right papers (a named paper, an author's papers,
every paper on a topic) and the extractive model uses it to compose the answer (one block per
compared item, a record answer, a paper's key sentences). `mentions` tells whether a paper's
record holds a name the question uses (FedBuff, FSDP, Papaya, "Llama 3").
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.papers import is_marked_untitled
from assistant.text_terms import content_terms

GENERAL = "general"
COMPARE = "compare"
SUMMARY = "summary"
AUTHORS = "authors"  # who wrote X
YEAR = "year"  # when was X published
VENUE = "venue"  # where was X published
AUTHOR_PAPERS = "author_papers"  # which papers did A write
COUNT = "count"  # how many papers on Y
RECORD_KINDS = frozenset({AUTHORS, YEAR, VENUE})
# Most papers a count or an author's list is answered from (the answer says "at least" past it).
LIST_CAP = 60

_END = r"\s*[?.!]*\s*$"
_PATTERNS: list[tuple[str, re.Pattern]] = [
    (AUTHORS, re.compile(r"^\s*who\s+(?:wrote|authored|writes|are\s+the\s+authors\s+of|is\s+the\s+author\s+of|were\s+the\s+authors\s+of)\s+(?P<a>.+?)" + _END, re.IGNORECASE)),
    (AUTHORS, re.compile(r"^\s*(?:what|which)\s+(?:are|were)\s+the\s+authors\s+of\s+(?P<a>.+?)" + _END, re.IGNORECASE)),
    (AUTHORS, re.compile(r"^\s*(?:the\s+)?authors?\s+of\s+(?P<a>.+?)" + _END, re.IGNORECASE)),
    (YEAR, re.compile(r"^\s*when\s+(?:was|were|did)\s+(?P<a>.+?)\s+(?:published|written|released|come\s+out|appear|out)" + _END, re.IGNORECASE)),
    (YEAR, re.compile(r"^\s*(?:in\s+)?what\s+year\s+(?:was|were|did)\s+(?P<a>.+?)\s+(?:published|written|released|come\s+out|appear)" + _END, re.IGNORECASE)),
    (VENUE, re.compile(r"^\s*where\s+(?:was|were|did)\s+(?P<a>.+?)\s+(?:published|appear)" + _END, re.IGNORECASE)),
    (VENUE, re.compile(r"^\s*(?:in\s+)?(?:which|what)\s+(?:venue|journal|conference)\s+(?:was|were|did)\s+(?P<a>.+?)\s+(?:published|appear|presented)" + _END, re.IGNORECASE)),
    (AUTHOR_PAPERS, re.compile(r"^\s*(?:which|what)\s+papers?\s+(?:did|has|have|does)\s+(?P<a>.+?)\s+(?:write|written|wrote|author|authored|publish|published|co-?author(?:ed)?)" + _END, re.IGNORECASE)),
    (AUTHOR_PAPERS, re.compile(r"^\s*what\s+(?:has|did)\s+(?P<a>.+?)\s+(?:written|write|published|publish)" + _END, re.IGNORECASE)),
    (AUTHOR_PAPERS, re.compile(r"^\s*(?:list\s+|show\s+)?(?:the\s+|all\s+)?papers\s+(?:by|of|from|written\s+by)\s+(?P<a>.+?)" + _END, re.IGNORECASE)),
    (COUNT, re.compile(r"^\s*how\s+many\s+(?:papers|articles|abstracts|works)\s+(?:(?:are\s+there|do\s+i\s+have|does\s+the\s+library\s+(?:hold|have)|are)\s+)?(?:on|about|in|mention(?:ing)?|concern(?:ing)?|deal(?:ing)?\s+with|with)\s+(?P<a>.+?)" + _END, re.IGNORECASE)),
    (SUMMARY, re.compile(r"^\s*(?:please\s+)?(?:summari[sz]e|give\s+(?:me\s+)?a\s+summary\s+of|tl;?dr(?:\s+of)?|summary\s+of)\s+(?P<a>.+?)" + _END, re.IGNORECASE)),
    (SUMMARY, re.compile(r"^\s*what\s+is\s+(?:the\s+)?(?P<a>.+?)\s+(?:paper|article)\s+about" + _END, re.IGNORECASE)),
    (COMPARE, re.compile(r"^\s*compare\s+(?P<a>.+?)\s+(?:and|with|to|vs\.?|versus)\s+(?P<b>.+?)" + _END, re.IGNORECASE)),
    (COMPARE, re.compile(r"^\s*(?:what\s+(?:is|are)\s+)?(?:the\s+)?differences?\s+between\s+(?P<a>.+?)\s+and\s+(?P<b>.+?)" + _END, re.IGNORECASE)),
    (COMPARE, re.compile(r"^\s*how\s+(?:is|are|does|do)\s+(?P<a>.+?)\s+(?:differ(?:ent)?\s+from|compare\s+(?:to|with)|differ\s+from)\s+(?P<b>.+?)" + _END, re.IGNORECASE)),
    (COMPARE, re.compile(r"^\s*(?P<a>.+?)\s+(?:vs\.?|versus)\s+(?P<b>.+?)" + _END, re.IGNORECASE)),
]
_LEADING = re.compile(r"^(?:the|a|an|paper|article|work)\s+", re.IGNORECASE)
_TRAILING = re.compile(r"\s+(?:paper|article|work|method|approach|model|library|system|framework)s?$", re.IGNORECASE)
_QUOTES = "\"'“”‘’`"
# A token that is a name whatever its position: an acronym of 3+ letters (FSDP; two-letter ones
# such as NO or DP are too often plain words or generic), a camel-case word (FedBuff, PyTorch) or
# letters mixed with digits (P4L, GPT-4).
_NAME_TOKEN = re.compile(r"^(?:[A-Z]{3,}[A-Za-z]*s?|[A-Z]{2}[a-z][A-Za-z]*|[A-Z]?[a-z]+[A-Z][A-Za-z]*|(?=[A-Za-z\-]*\d)(?=[\w\-]*[A-Za-z])[A-Za-z][\w\-]*)$")
_TOKEN = re.compile(r"[A-Za-z][\w\-]*(?:\s+\d+(?:\.\d+)?\b)?")


_ACRONYM = re.compile(r"^[A-Z]{2,6}s?$")


def _spelled_out(acronym: str, text: str) -> str:
    """How `text` writes the acronym out in capitalised words ("Distributed Data Parallel" for
    DDP), or ""."""
    words = r"[\s\-]+".join(rf"{c}[a-z]+" for c in acronym)
    m = re.search(rf"(?<![\w\-]){words}(?![\w])", text)
    return m.group() if m else ""


def aliases(name: str, text: str) -> list[str]:
    """The name, and its spelled-out form when it is an acronym that `text` spells out."""
    spelled = _spelled_out(name.rstrip("s"), text) if _ACRONYM.match(name) else ""
    return [name, spelled] if spelled else [name]


@dataclass
class QuestionShape:
    kind: str = GENERAL
    items: list[str] = field(default_factory=list)  # what is compared / the paper or author asked about / the topic counted

    @property
    def item(self) -> str:
        return self.items[0] if self.items else ""


def clean_item(text: str) -> str:
    """A named thing as typed, without quotes, articles and a trailing "paper"/"method"."""
    text = text.strip().strip(_QUOTES).strip()
    for _ in range(2):
        text = _LEADING.sub("", text).strip().strip(_QUOTES).strip()
    text = _TRAILING.sub("", text).strip().strip(_QUOTES).strip()
    return text.rstrip("?.!,;: ")


# Compared items are names ("FedBuff", "Distributed Data Parallel"), not clauses: a long question
# that happens to hold "vs" ("2 min bolus vs 15 min infusion: does it affect ...?") is a question.
MAX_COMPARED_WORDS = 6


def _names_a_thing(item: str) -> bool:
    return len(item.split()) <= MAX_COMPARED_WORDS and not any(c in item for c in ":?;")


def classify(question: str) -> QuestionShape:
    """The question's shape: the first pattern that matches, else GENERAL."""
    text = " ".join(question.split())
    for kind, pattern in _PATTERNS:
        m = pattern.match(text)
        if not m:
            continue
        items = [clean_item(v) for v in m.groupdict().values() if v]
        if kind == COMPARE and not all(_names_a_thing(i) for i in items):
            continue
        if all(items):
            return QuestionShape(kind, items)
    return QuestionShape(GENERAL, [])


def name_candidates(question: str) -> list[str]:
    """Words of the question that may name a paper, method or person: acronyms and camel-case
    words anywhere, capitalised words past the first word, and "Llama 3"-style name + number."""
    found: list[str] = []
    tokens = list(_TOKEN.finditer(question))
    for i, m in enumerate(tokens):
        word = m.group().split()[0]
        if _NAME_TOKEN.match(word):
            found.append(m.group() if m.group() != word else word)
        elif word[0].isupper() and i > 0 and len(word) > 2:
            found.append(m.group())
    return list(dict.fromkeys(found))


def _word_pattern(name: str, case_sensitive: bool) -> re.Pattern:
    parts = [re.escape(p) for p in name.split()]
    return re.compile(r"(?<![\w\-])" + r"[\s\-]*".join(parts) + r"(?![\w])", 0 if case_sensitive else re.IGNORECASE)


def mentions(name: str, title: str, text: str) -> int:
    """How strongly a paper's record holds `name`: 3 its title opens with it ("Papaya: ..."),
    2 its title holds it, 1 its text holds it (an acronym or capitalised name as written; a
    lower-case phrase in any case, all of its content words), 0 not at all."""
    name = name.strip()
    if not name:
        return 0
    title = title.strip()
    if is_marked_untitled(title):
        title = ""
    loose = _word_pattern(name, case_sensitive=False)
    if title and loose.match(title.split(":")[0].strip()) and len(name) >= 3 and ":" in title:
        head = title.split(":")[0].strip()
        if loose.fullmatch(head):
            return 3
    if title and loose.search(title):
        return 2
    exact = _word_pattern(name, case_sensitive=any(c.isupper() for c in name))
    if exact.search(text) or (_ACRONYM.match(name) and _spelled_out(name.rstrip("s"), f"{title} {text}")):
        return 1
    if " " in name and not any(c.isupper() for c in name):  # a topic phrase: all its terms
        terms = content_terms(name)
        if terms and terms <= content_terms(f"{title} {text}"):
            return 1
    return 0
