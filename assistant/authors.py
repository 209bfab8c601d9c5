"""Author names: how a name typed by a user becomes a store filter."""
from __future__ import annotations

from assistant.papers import name_key


def author_filter_keys(name: str) -> list[str]:
    """The author keys (as `papers.author_keys` stores them) a typed name matches, any one of
    them sufficing: a full name matches exactly (case/accents ignored); a single word matches a
    last name or a partial name (a collection owner like "Jack"); initials ("K. Malik") match by
    last name. Empty when nothing usable was typed."""
    key = name_key(name)
    if not key:
        return []
    tokens = key.split()
    if len(tokens) == 1:
        return [f"last:{tokens[0]}", f"partial:{tokens[0]}"]
    if all(len(t) == 1 for t in tokens[:-1]):
        return [f"last:{tokens[-1]}"]
    return [key]


def author_where(name: str) -> dict:
    """Chroma clause matching papers by an author (the keys of `author_filter_keys`)."""
    clauses = [{"author_keys": {"$contains": k}} for k in author_filter_keys(name) or ["\u2400"]]
    return clauses[0] if len(clauses) == 1 else {"$or": clauses}


# ---- resolving a typed name to a person in the library ----------------------------------------
#
# `resolve_author(store, name)` turns what a user typed into one person:
#   * a full name ("Kshitiz Malik"), case and accents ignored; middle names may be left out;
#   * a last name ("Malik") or initials and a last name ("K. Malik", "K Malik", "Malik, K.");
#   * a first name that is a collection owner ("Jack": the file's papers are stored with
#     `partial_authors=["Jack"]`). When exactly one author in the library has that first name,
#     the owner is taken to be that person (Jack -> Jack Goetz) and the match is reported as
#     inferred (`resolved_from="Jack"`); when none has, the owner stands alone (their collection
#     is all there is); when several have, the name is ambiguous.
# An ambiguous name raises AmbiguousAuthorError listing the candidates; an unknown one raises
# NotFoundError naming close matches. Nothing is guessed silently.
#
# Which papers are the person's: those listing the resolved full name as an author
# (`author_paper_ids`). A collection owner's collection (`collection_paper_ids`) is kept apart:
# a collection is the papers someone gathered, which need not be papers they wrote (the seed
# "Jack" collection holds the Llama 3 paper, whose author list has no Jack), so callers show those
# papers flagged as "in Jack's collection" and do not count their authors as collaborators.

from collections import Counter  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

from assistant.errors import LitassistError, NotFoundError  # noqa: E402

if TYPE_CHECKING:
    from assistant.library import Library


class AmbiguousAuthorError(LitassistError):
    """A typed name matches several people in the library."""

    def __init__(self, name: str, candidates: list[str], how: str = ""):
        self.name = name
        self.candidates = candidates
        shown = "; ".join(candidates[:12]) + (f"; and {len(candidates) - 12} more" if len(candidates) > 12 else "")
        detail = f" ({how})" if how else ""
        super().__init__(
            f"author name {name!r} is ambiguous{detail}: it matches {len(candidates)} people in the library: "
            f"{shown}. Give the full name."
        )


@dataclass
class Resolution:
    """Who a typed name was taken to be, how, and which papers are theirs."""

    query: str
    name: str  # the person's name for display (full name, or the owner's partial name)
    full_name: str | None  # the full author name as written in the library (None: owner only)
    how: str  # "full name" | "last name" | "initials" | "first name" | "collection owner"
    inferred: bool = False  # the full name was inferred, not typed (Jack -> Jack Goetz)
    resolved_from: str | None = None  # what the inference started from ("Jack")
    owner: str | None = None  # the collection owner name that belongs to this person ("Jack")
    author_paper_ids: list[str] = field(default_factory=list)
    collection_paper_ids: list[str] = field(default_factory=list)  # owner's papers not authored
    variants: list[str] = field(default_factory=list)  # other spellings of the name seen
    notes: list[str] = field(default_factory=list)

    @property
    def paper_ids(self) -> list[str]:
        return [*self.author_paper_ids, *self.collection_paper_ids]

    def to_json(self) -> dict:
        return {
            "query": self.query,
            "name": self.name,
            "full_name": self.full_name,
            "how": self.how,
            "inferred": self.inferred,
            "resolved_from": self.resolved_from,
            "owner": self.owner,
            "author_paper_ids": self.author_paper_ids,
            "collection_paper_ids": self.collection_paper_ids,
            "variants": self.variants,
            "notes": self.notes,
        }


@dataclass
class _Person:
    key: str  # name_key of the full name
    spellings: Counter = field(default_factory=Counter)
    paper_ids: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        # The most frequent spelling; ties go to the one with accents/capitals (more information).
        return max(self.spellings.items(), key=lambda kv: (kv[1], len(kv[0].encode("utf-8")), kv[0]))[0]

    @property
    def tokens(self) -> list[str]:
        return self.key.split()


def _typed_key(name: str) -> str:
    """name_key of what was typed; "Malik, Kshitiz" is read as "Kshitiz Malik"."""
    if name.count(",") == 1:
        last, first = (part.strip() for part in name.split(","))
        if last and first:
            name = f"{first} {last}"
    return name_key(name)


def _people(papers) -> tuple[dict[str, _Person], dict[str, list[str]], dict[str, Counter]]:
    """People by name key, owner key -> paper ids, owner key -> spellings."""
    people: dict[str, _Person] = {}
    owners: dict[str, list[str]] = {}
    owner_spellings: dict[str, Counter] = {}
    for paper in papers:
        for author in paper.authors:
            key = name_key(author)
            if not key:
                continue
            person = people.setdefault(key, _Person(key))
            person.spellings[author.strip()] += 1
            if paper.id not in person.paper_ids:
                person.paper_ids.append(paper.id)
        for partial in paper.partial_authors:
            key = name_key(partial)
            if not key:
                continue
            owners.setdefault(key, [])
            if paper.id not in owners[key]:
                owners[key].append(paper.id)
            owner_spellings.setdefault(key, Counter())[partial.strip()] += 1
    return people, owners, owner_spellings


def _candidate_where(tokens: list[str]) -> dict:
    """A Chroma clause that finds every paper that could hold a match (a superset)."""
    keys = {f"last:{tokens[-1]}", f"first:{tokens[0]}", f"partial:{tokens[0]}", " ".join(tokens)}
    if len(tokens) > 1:
        keys.add(f"partial:{' '.join(tokens)}")
    clauses = [{"author_keys": {"$contains": k}} for k in sorted(keys)]
    return clauses[0] if len(clauses) == 1 else {"$or": clauses}


def _initials_match(initials: list[str], given: list[str]) -> bool:
    """"k" matches ["kshitiz"]; "j m" matches ["john", "michael"]; "j" matches ["john", "michael"]."""
    if not given or len(initials) > len(given):
        return False
    return all(g.startswith(i) for i, g in zip(initials, given))


def _sorted_ids(ids, by_id) -> list[str]:
    def when(pid: str):
        p = by_id[pid]
        return (p.date or (str(p.year) if p.year else "9999"), pid)

    return sorted(dict.fromkeys(ids), key=when)


def _describe(person: _Person) -> str:
    n = len(person.paper_ids)
    return f"{person.name} ({n} paper{'s' if n != 1 else ''})"


def _close_matches(store: Library, typed: str, limit: int = 5) -> list[str]:
    people, owners, owner_spellings = _people(store.papers())
    names = {p.key: p.name for p in people.values()}
    names.update({k: s.most_common(1)[0][0] for k, s in owner_spellings.items()})
    if not names or not typed:
        return []
    from rapidfuzz import fuzz, process

    found = process.extract(typed, list(names), scorer=fuzz.WRatio, limit=limit, score_cutoff=70)
    return [names[key] for key, _score, _i in found]


def resolve_author(store: Library, name: str) -> Resolution:
    """The one person `name` refers to in `store` (see the comment above for the rules)."""
    typed = _typed_key(name)
    if not typed:
        raise NotFoundError("no author name given")
    tokens = typed.split()
    papers = store.papers(_candidate_where(tokens))
    by_id = {p.id: p for p in papers}
    people, owners, owner_spellings = _people(papers)

    matches: list[_Person]
    how: str
    owner_key: str | None = None
    if len(tokens) == 1:
        t = tokens[0]
        matches, how = [p for p in people.values() if p.key == t], "full name"  # a one-word author
        if not matches:
            matches, how = [p for p in people.values() if len(p.tokens) > 1 and p.tokens[-1] == t], "last name"
        if not matches and t in owners:
            owner_key, how = t, "collection owner"
            matches = [p for p in people.values() if len(p.tokens) > 1 and p.tokens[0] == t]
        elif not matches:
            matches, how = [p for p in people.values() if len(p.tokens) > 1 and p.tokens[0] == t], "first name"
    else:
        matches, how = [p for p in people.values() if p.key == typed], "full name"
        if not matches and all(len(t) == 1 for t in tokens[:-1]):
            matches, how = [
                p for p in people.values()
                if len(p.tokens) > 1 and p.tokens[-1] == tokens[-1] and _initials_match(tokens[:-1], p.tokens[:-1])
            ], "initials"
        if not matches:  # middle names left out or added: "Michael Lathi" ~ "Michael L. Lathi"
            matches, how = [
                p for p in people.values()
                if len(p.tokens) > 1 and p.tokens[-1] == tokens[-1] and p.tokens[0] == tokens[0]
            ], "full name"
        if not matches and typed in owners:  # an owner recorded with a longer partial name
            owner_key, how = typed, "collection owner"

    if len(matches) > 1:
        detail = {
            "last name": f"{len(matches)} authors have the last name {tokens[-1]!r}",
            "initials": "several authors share these initials and last name",
            "collection owner": f"{name!r} owns a collection, and {len(matches)} authors have that first name",
            "first name": f"{len(matches)} authors have the first name {tokens[0]!r}",
        }.get(how, "")
        ranked = sorted(matches, key=lambda p: (-len(p.paper_ids), p.name))
        raise AmbiguousAuthorError(name, [_describe(p) for p in ranked], detail)

    if not matches and owner_key is None:
        close = _close_matches(store, name)
        hint = f" Close matches: {', '.join(close)}." if close else ""
        raise NotFoundError(f"no author named {name!r} in the library ({store.describe()}).{hint}")

    person = matches[0] if matches else None
    notes: list[str] = []
    if person is not None and owner_key is None:
        # The person may also own a collection under their first name (typed "Jack Goetz", files
        # headed "Jack"): that holds only when they are the library's one author with that first
        # name; the collection then belongs to them, flagged as inferred.
        first = person.tokens[0]
        if len(person.tokens) > 1:
            extra = store.papers({"author_keys": {"$contains": f"partial:{first}"}})
            if extra:
                owner_papers = {p.id: p for p in extra}
                by_id.update(owner_papers)
                owners[first] = list(owner_papers)
                owner_spellings[first] = Counter(n for p in extra for n in p.partial_authors if name_key(n) == first)
                namesakes = store.papers({"author_keys": {"$contains": f"first:{first}"}})
                firsts = {name_key(a) for p in namesakes for a in p.authors if name_key(a).split()[:1] == [first]}
                firsts = {k for k in firsts if len(k.split()) > 1}
                if firsts == {person.key}:
                    owner_key = first
                    notes.append(
                        f"the collection of {owner_spellings[first].most_common(1)[0][0]!r} is taken to be "
                        f"{person.name}'s: {person.name} is the only author in the library with that first name"
                    )

    owner = owner_spellings[owner_key].most_common(1)[0][0] if owner_key else None
    author_ids = _sorted_ids(person.paper_ids, by_id) if person else []
    collection_ids = _sorted_ids([i for i in owners.get(owner_key, []) if i not in author_ids], by_id) if owner_key else []
    inferred = person is not None and how in ("collection owner", "first name")
    if inferred and person is not None and how == "collection owner":
        notes.insert(0, f"{name!r} (a collection owner) was taken to be {person.name}, the only author in the library with that first name")
    elif inferred and person is not None:
        notes.insert(0, f"{name!r} was taken to be {person.name}, the only author in the library with that first name")
    elif person is None:
        notes.append(f"{owner!r} is known only as a collection owner: no author in the library has that first name")
    return Resolution(
        query=name,
        name=person.name if person else (owner or name),
        full_name=person.name if person else None,
        how=how,
        inferred=inferred,
        resolved_from=name.strip() if inferred else None,
        owner=owner,
        author_paper_ids=author_ids,
        collection_paper_ids=collection_ids,
        variants=sorted(s for s in (person.spellings if person else {}) if s != (person.name if person else "")),
        notes=notes,
    )
