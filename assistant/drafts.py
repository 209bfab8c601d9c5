"""A researcher's draft (LaTeX, Markdown or plain text) as sentences with their places in it,
and the draft written back with citations inserted.

Pure text handling, no model. The draft is *masked* first: a copy of the same length in which
what is not prose (LaTeX preamble, comments, display math, figures, tables, code, headings,
Markdown front matter and fences) is blanked, and the sentence punctuation inside what must not
be split (inline math, command arguments, links, existing citations) is neutralised. Sentences
are found in the mask, so their offsets index the original text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from assistant.sentences import ABBREVIATIONS

DraftFormat = Literal["latex", "markdown", "text"]
FORMATS: tuple[str, ...] = ("latex", "markdown", "text")

# LaTeX environments whose content is not prose to cite.
SKIPPED_ENVIRONMENTS = (
    "equation", "equation*", "align", "align*", "gather", "gather*", "multline", "multline*", "eqnarray",
    "eqnarray*", "displaymath", "math", "figure", "figure*", "table", "table*", "tabular", "tabular*",
    "verbatim", "lstlisting", "minted", "tikzpicture", "algorithm", "algorithmic", "thebibliography",
    "comment", "filecontents",
)
# Commands whose argument is a heading or a label, not a sentence.
_LATEX_HEADING = re.compile(
    r"\\(?:part|chapter|section|subsection|subsubsection|paragraph|subparagraph|title|author|date|"
    r"caption|label|bibliography|bibliographystyle|include|input|usepackage|documentclass|maketitle|"
    r"tableofcontents|newcommand|renewcommand|def)\*?(?:\[[^\]]*\])?(?:\{(?:[^{}]|\{[^{}]*\})*\})*"
)
_LATEX_COMMENT = re.compile(r"(?<!\\)%.*")
_LATEX_ENV = re.compile(r"\\(begin|end)\{([^{}]+)\}")
_LATEX_DISPLAY_MATH = re.compile(r"\$\$.*?\$\$|\\\[.*?\\\]", re.S)
_LATEX_INLINE_MATH = re.compile(r"(?<!\\)\$[^$]+(?<!\\)\$|\\\(.*?\\\)", re.S)
_LATEX_ARGUMENT = re.compile(r"\\[a-zA-Z]+\*?(?:\[[^\]]*\])*\{[^{}]*\}")
_LATEX_ITEM = re.compile(r"\\item\b(?:\[[^\]]*\])?")
CITE_COMMAND = re.compile(r"\\(?:cite|citep|citet|parencite|textcite|autocite)\*?(?:\[[^\]]*\])*\{([^{}]*)\}")

_MD_FRONT_MATTER = re.compile(r"\A---\n.*?\n(?:---|\.\.\.)\n", re.S)
_MD_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.S | re.M)
_MD_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_MD_HEADING = re.compile(r"^ {0,3}(#{1,6}\s.*|[=-]{3,}\s*)$", re.M)
_MD_TABLE_ROW = re.compile(r"^\s*\|.*$", re.M)
_MD_INDENTED_CODE = re.compile(r"(?:^(?: {4}|\t).*\n?)+", re.M)
_MD_MATH_BLOCK = re.compile(r"\$\$.*?\$\$", re.S)
_MD_INLINE = re.compile(r"`[^`\n]+`|(?<!\\)\$[^$\n]+\$|\]\([^)\s]*\)|<https?://[^>]*>|https?://\S+")
PANDOC_CITATION = re.compile(r"\[(?:[^\[\]]*?;\s*)?-?@[\w:.#$%&\-+?<>~/]+(?:[^\[\]]*)\]")
_PANDOC_KEY = re.compile(r"-?@([\w:.#$%&\-+?<>~/]*[\w])")
_MD_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*+]|\d{1,3}[.)])[ \t]+", re.M)

_BOUNDARY = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s|$)")
_NEUTRAL = str.maketrans({".": "\u2024", "!": "\u01c3", "?": "\u0294"})  # look-alikes, never a boundary


@dataclass
class DraftSentence:
    """One sentence of a draft: where it is (`start`:`end` in the draft, `end` after its closing
    punctuation), its prose for retrieval, and the keys it already cites."""

    start: int
    end: int
    source: str  # the sentence as written
    text: str  # plain prose: commands, math delimiters and citations removed
    cited_keys: list[str] = field(default_factory=list)


def detect_format(name: str | None, text: str) -> DraftFormat:
    """From the file name's extension, else from the content."""
    suffix = Path(name).suffix.lower() if name else ""
    if suffix in (".tex", ".latex", ".ltx"):
        return "latex"
    if suffix in (".md", ".markdown", ".rmd", ".qmd", ".pandoc"):
        return "markdown"
    if suffix in (".txt", ".text"):
        return "text"
    if re.search(r"\\(documentclass|begin\{document\}|section\{|cite[tp]?\{)", text):
        return "latex"
    if re.search(r"^#{1,6}\s|\[@[\w:]|^```", text, re.M):
        return "markdown"
    return "text"


# ---- masking ----------------------------------------------------------------------------------

class _Mask:
    def __init__(self, text: str):
        self.chars = list(text)

    def blank(self, start: int, end: int, fill: str = " ") -> None:
        for i in range(start, end):
            if self.chars[i] != "\n":
                self.chars[i] = fill
        if fill == "\n" and end > start:  # a blanked block also ends the paragraph around it
            self.chars[start] = "\n"
            self.chars[end - 1] = "\n"

    def blank_all(self, pattern: re.Pattern[str], text: str, fill: str = " ") -> None:
        for m in pattern.finditer(text):
            self.blank(m.start(), m.end(), fill)

    def protect(self, pattern: re.Pattern[str], text: str) -> None:
        for m in pattern.finditer(text):
            for i in range(m.start(), m.end()):
                self.chars[i] = self.chars[i].translate(_NEUTRAL)

    def text(self) -> str:
        return "".join(self.chars)


def _latex_mask(text: str) -> str:
    mask = _Mask(text)
    mask.blank_all(_LATEX_COMMENT, text)
    masked = mask.text()  # comments gone before anything else is read
    begin = masked.find("\\begin{document}")
    if begin >= 0:
        mask.blank(0, begin + len("\\begin{document}"), "\n")
    end = masked.find("\\end{document}")
    if end >= 0:
        mask.blank(end, len(text), "\n")
    masked = mask.text()
    for name in SKIPPED_ENVIRONMENTS:
        env = re.compile(r"\\begin\{" + re.escape(name) + r"\}.*?\\end\{" + re.escape(name) + r"\}", re.S)
        mask.blank_all(env, masked, "\n")
    mask.blank_all(_LATEX_DISPLAY_MATH, masked, "\n")
    mask.blank_all(_LATEX_HEADING, masked, "\n")
    mask.blank_all(_LATEX_ENV, masked, "\n")  # itemize, abstract...: their content stays
    mask.blank_all(_LATEX_ITEM, masked, "\n")
    mask.protect(_LATEX_INLINE_MATH, masked)
    mask.protect(_LATEX_ARGUMENT, masked)
    mask.protect(CITE_COMMAND, masked)
    return mask.text()


def _markdown_mask(text: str) -> str:
    mask = _Mask(text)
    for pattern in (_MD_FRONT_MATTER, _MD_FENCE, _MD_HTML_COMMENT, _MD_MATH_BLOCK, _MD_HEADING, _MD_TABLE_ROW):
        mask.blank_all(pattern, mask.text(), "\n")
    masked = mask.text()
    for m in _MD_INDENTED_CODE.finditer(masked):  # indented code, unless it continues a list item
        before = masked[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        if not before.strip() and not _MD_LIST_ITEM.match(m.group()):
            mask.blank(m.start(), m.end(), "\n")
    mask.protect(_MD_INLINE, mask.text())
    mask.protect(PANDOC_CITATION, mask.text())
    for m in _MD_LIST_ITEM.finditer(mask.text()):  # each list item is a paragraph of its own
        mask.blank(m.start(), m.end(), "\n")
    return mask.text()


def masked_prose(text: str, fmt: DraftFormat) -> str:
    if fmt == "latex":
        return _latex_mask(text)
    if fmt == "markdown":
        return _markdown_mask(text)
    return text


# ---- sentences --------------------------------------------------------------------------------

def _ends_with_abbreviation(piece: str) -> bool:
    word = re.search(r"([A-Za-z][A-Za-z.]*)\.*$", piece.rstrip(".!?\"'”’)] "))
    if not word:
        return False
    token = word.group(1).lower().rstrip(".")
    return token in ABBREVIATIONS or (len(token) == 1 and word.group(1)[0].isupper())


def _sentence_spans(masked: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for block in re.finditer(r"(?:[^\n]|\n(?![ \t]*\n))+", masked):
        start = block.start()
        for m in _BOUNDARY.finditer(masked, block.start(), block.end()):
            following = masked[m.end() : block.end()].lstrip()[:1]
            if following and not (following.isupper() or following.isdigit() or following in "\"'“‘([\\$"):
                continue
            if m.group().startswith(".") and _ends_with_abbreviation(masked[start : m.start() + 1]):
                continue
            spans.append((start, m.end()))
            start = m.end()
        spans.append((start, block.end()))
    out = []
    for start, end in spans:
        piece = masked[start:end]
        lead, trail = len(piece) - len(piece.lstrip()), len(piece) - len(piece.rstrip())
        if piece.strip():
            out.append((start + lead, end - trail))
    return out


def _latex_prose(source: str) -> str:
    text = CITE_COMMAND.sub("", source)
    text = re.sub(r"\\(?:ref|eqref|cref|Cref|autoref|label|footnote|url|href)\*?\{[^{}]*\}", "", text)
    text = re.sub(r"\\[a-zA-Z]+\*?(?:\[[^\]]*\])*\{([^{}]*)\}", r"\1", text)  # \emph{x} -> x
    text = re.sub(r"\\[a-zA-Z]+\*?", " ", text)
    text = text.replace("~", " ").replace("$", "").replace("{", "").replace("}", "")
    text = re.sub(r"\\([%&_#])", r"\1", text)
    return text


def _markdown_prose(source: str) -> str:
    text = PANDOC_CITATION.sub("", source)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links and images: their text
    text = re.sub(r"(\*\*|__|\*|_|`)", "", text)
    return text.replace("$", "")


def cited_keys_in(source: str, fmt: DraftFormat) -> list[str]:
    if fmt == "latex":
        return [k.strip() for m in CITE_COMMAND.finditer(source) for k in m.group(1).split(",") if k.strip()]
    return [k for m in PANDOC_CITATION.finditer(source) for k in _PANDOC_KEY.findall(m.group())]


def split_draft(text: str, fmt: DraftFormat) -> list[DraftSentence]:
    """The draft's prose sentences in order (headings, code, comments, math and figures skipped;
    LaTeX commands and inline math never split)."""
    masked = masked_prose(text, fmt)
    sentences = []
    for start, end in _sentence_spans(masked):
        source = text[start:end]
        if fmt == "latex":
            prose = _latex_prose(source)
        elif fmt == "markdown":
            prose = _markdown_prose(source)
        else:
            prose = PANDOC_CITATION.sub("", source)
        prose = re.sub(r"\s+([.,;:!?])", r"\1", " ".join(prose.split()))
        if any(ch.isalpha() for ch in prose):
            sentences.append(DraftSentence(start, end, source, prose, cited_keys_in(source, fmt)))
    return sentences


# ---- writing citations back -------------------------------------------------------------------

def citation_markup(keys: list[str], fmt: DraftFormat) -> str:
    """`~\\cite{a,b}` (LaTeX) or ` [@a; @b]` (Markdown, Pandoc; also used for plain text)."""
    if fmt == "latex":
        return "~\\cite{" + ",".join(keys) + "}"
    return " [" + "; ".join(f"@{k}" for k in keys) + "]"


def insertion_point(draft: str, sentence: DraftSentence) -> int:
    """Where a sentence's citation goes: before its closing punctuation and quotes."""
    end = sentence.end
    while end > sentence.start and draft[end - 1] in ".!?\"'”’":
        end -= 1
    return end if end > sentence.start else sentence.end


def _merged(before: str, keys: list[str], fmt: DraftFormat) -> str | None:
    """`before` with `keys` added to the citation it ends with, or None when it ends with none."""
    pattern = CITE_COMMAND if fmt == "latex" else PANDOC_CITATION
    last = None
    for last in pattern.finditer(before):
        pass
    if last is None or before[last.end() :].strip():
        return None
    close = last.end() - 1  # the closing } or ]
    extra = "," + ",".join(keys) if fmt == "latex" else "".join(f"; @{k}" for k in keys)
    return before[:close] + extra + before[close:]


def insert_citations(draft: str, additions: list[tuple[DraftSentence, list[str]]], fmt: DraftFormat) -> str:
    """The draft with each sentence's new keys cited at its insertion point (added to a citation
    that already ends the sentence)."""
    out, position = [], 0
    for sentence, keys in sorted(additions, key=lambda a: a[0].start):
        if not keys:
            continue
        at = insertion_point(draft, sentence)
        merged = _merged(draft[sentence.start : at], keys, fmt)
        out.append(draft[position : sentence.start])
        out.append(merged if merged is not None else draft[sentence.start : at] + citation_markup(keys, fmt))
        position = at
    out.append(draft[position:])
    return "".join(out)
