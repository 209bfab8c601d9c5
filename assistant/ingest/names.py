"""Person names in author lists, and splitting a title that runs straight into its author list.

Author pages print `The Llama 3 Herd of ModelsAaron Grattafiori, Abhimanyu Dubey et al.`: the
title and the first author are glued together. `split_title_authors` finds the split point: the
author list must parse as comma-separated plausible person names, and the first author must start
at a glued boundary (`ModelsAaron` -> `Models` | `Aaron`) with a plain given name.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

PARTICLES = frozenset(
    "van von der den de del della dello di da das do dos du la le las los bin ibn al el ter ten y zu af av".split()
)
# Surnames may carry an inner capital after one of these (McMahan, MacKay, DeVito, LeCun, O'Neil).
INNER_CAPITAL_PREFIXES = ("Mc", "Mac", "De", "Di", "Da", "Du", "Le", "La", "Van", "Von", "Del", "Fitz", "O'", "D'", "O’", "D’")
SUFFIXES = frozenset({"Jr", "Jr.", "Sr", "Sr.", "II", "III", "IV"})
_ET_AL = re.compile(r"[,;]?\s*(?:et\s+al\.?|and\s+others|\.\.\.|…)\s*$", re.I)
_SEPARATOR = re.compile(r"\s*[,;]\s*(?:(?:and|&)\s+)?|\s+(?:and|&)\s+")
_APOSTROPHES = "'’"
_ENDS_WITH_SEPARATOR = re.compile(r"(?:[,;&]|\band)$")  # a title never ends where a name list goes on


@dataclass
class TitleAuthors:
    title: str
    authors: list[str]
    truncated: bool


# ---- tokens -------------------------------------------------------------------------------------

def _is_lower_word(word: str) -> bool:
    return bool(word) and word.isalpha() and word.islower()


def _is_plain_word(word: str) -> bool:
    """`John`, `Xiaocheng`, `Ça`: a capital then lower-case letters (apostrophes allowed)."""
    letters = [c for c in word if c not in _APOSTROPHES]
    return (
        len(letters) >= 2
        and word[0].isupper()
        and all(c.isalpha() for c in letters)
        and all(c.islower() for c in letters[1:])
    )


def _is_surname_word(word: str) -> bool:
    """A plain word, or a known prefix plus a plain word (`McMahan`, `DeVito`, `O'Neil`)."""
    if _is_plain_word(word):
        return True
    return any(
        word.startswith(prefix) and _is_plain_word(word[len(prefix):]) for prefix in INNER_CAPITAL_PREFIXES
    )


def _is_hyphenated(word: str, part_ok: Callable[[str], bool]) -> bool:
    """`Al-Dahle`, `Jean-Pierre`, `Jean-baptiste`: the first part must satisfy `part_ok`."""
    parts = word.split("-")
    if not all(parts):
        return False
    return part_ok(parts[0]) and all(part_ok(p) or _is_lower_word(p) for p in parts[1:])


def is_initial(token: str) -> bool:
    """`J`, `J.`, `A.J.`, `J.-P.`"""
    letters = token.replace(".", "").replace("-", "")
    if not letters or not all(c.isalpha() and c.isupper() for c in letters):
        return False
    if len(letters) == 1:
        return True
    return len(letters) <= 3 and token.count(".") == len(letters)


def is_name_word(token: str) -> bool:
    return _is_hyphenated(token, _is_surname_word)


def is_given_name(token: str) -> bool:
    """A first token that can start a name right after a glued title: no inner capitals."""
    return is_initial(token) or _is_hyphenated(token, _is_plain_word)


# ---- names --------------------------------------------------------------------------------------

def is_plausible_name(name: str, *, min_words: int = 2, max_words: int = 4) -> bool:
    """A person's name: capitalised words and initials, particles (van der, de) inside only."""
    tokens = name.split()
    if tokens and tokens[-1] in SUFFIXES and len(tokens) > 1:
        tokens = tokens[:-1]
    if not tokens or not (is_name_word(tokens[0]) or is_initial(tokens[0])):
        return False
    if not is_name_word(tokens[-1]) and not (len(tokens) == 1 and is_initial(tokens[0])):
        return False
    words = 0
    for token in tokens:
        if token.lower() in PARTICLES and token.islower():
            continue
        if not (is_name_word(token) or is_initial(token)):
            return False
        words += 1
    return min_words <= words <= max_words


def strip_et_al(text: str) -> tuple[str, bool]:
    """Remove a trailing `et al.` (or `and others`); say whether the list was truncated."""
    stripped = _ET_AL.sub("", text.strip())
    return stripped.strip(), stripped != text.strip()


def split_names(text: str) -> tuple[list[str], bool]:
    """`A B, C D and E F et al.` -> (["A B", "C D", "E F"], True)."""
    body, truncated = strip_et_al(text)
    names = [" ".join(part.split()) for part in _SEPARATOR.split(body)]
    return [n for n in names if n], truncated


def _names_ok(names: list[str]) -> bool:
    """The first author must be a full name; later ones may be single names (mononyms)."""
    if not names or not is_plausible_name(names[0]) or not is_given_name(names[0].split()[0]):
        return False
    return all(is_plausible_name(n, min_words=1, max_words=5) for n in names[1:])


# ---- title + authors ----------------------------------------------------------------------------

def _glued_positions(text: str) -> list[int]:
    """Capitals that follow a non-space character (not a hyphen/apostrophe inside a word)."""
    return [
        i for i in range(1, len(text))
        if text[i].isupper() and not text[i - 1].isspace() and text[i - 1] not in "-'’"
    ]


def _spaced_positions(text: str) -> list[int]:
    return [i for i in range(1, len(text)) if text[i].isupper() and text[i - 1].isspace()]


def _try_split(text: str, position: int) -> list[str] | None:
    title = text[:position].strip()
    if not any(c.isalnum() for c in title) or _ENDS_WITH_SEPARATOR.search(title):
        return None
    names, _ = split_names(text[position:])
    return names if _names_ok(names) else None


def split_title_authors(text: str) -> TitleAuthors | None:
    """Split `TitleFirst Author, Second Author et al.`; None when no split gives a name list.

    Glued boundaries are tried left to right (the leftmost one whose suffix is a clean name list
    wins, so a surname like `MacArthur` is never split); only when there is none does a
    space-separated boundary count, tried right to left (shortest plausible first name).
    """
    body, truncated = strip_et_al(text)
    for positions in (_glued_positions(body), list(reversed(_spaced_positions(body)))):
        for position in positions:
            names = _try_split(body, position)
            if names is not None:
                return TitleAuthors(title=" ".join(body[:position].split()), authors=names, truncated=truncated)
    return None
