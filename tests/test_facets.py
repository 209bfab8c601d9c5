"""Paper facets on their own: terms from chunk metadata, selection, persistence."""
from __future__ import annotations

import numpy as np

from assistant.facets import Facets, facet_terms, pack_strings, unpack_strings

META = {
    "p1": {"year": 2019, "author_keys": ["lee|a"], "categories": ["q-bio.pe"], "tags": ["reefs"]},
    "p2": {"year": 2023, "author_keys": ["chen|b"], "collections": ["thesis"]},
    "p3": {"author_keys": ["lee|a", "diaz|c"]},  # no year
}


def built(order: list[str]) -> Facets:
    facets = Facets()
    facets.update(META)
    facets.build(order)
    return facets


def selected(facets: Facets, order: list[str], **kwargs) -> set[str]:
    return {order[i] for i in np.flatnonzero(facets.select(**kwargs)).tolist()}


def test_facet_terms_name_each_kind():
    assert facet_terms(META["p1"]) == ["a:lee|a", "c:q-bio.pe", "t:reefs"]
    assert facet_terms(META["p2"]) == ["a:chen|b", "k:thesis"]


def test_select_by_year_and_groups_of_terms():
    order = ["p1", "p2", "p3"]
    facets = built(order)
    assert selected(facets, order) == {"p1", "p2", "p3"}
    assert selected(facets, order, year_from=2020) == {"p2"}
    assert selected(facets, order, year_to=2020) == {"p1"}  # a paper without a year fails a bound
    assert selected(facets, order, any_of=[["a:lee|a"]]) == {"p1", "p3"}
    assert selected(facets, order, any_of=[["a:lee|a", "a:chen|b"], ["c:q-bio.pe"]]) == {"p1"}
    assert selected(facets, order, any_of=[["a:nobody"]]) == set()


def test_build_forgets_papers_no_longer_indexed():
    facets = built(["p1", "p2"])
    assert set(facets.papers) == {"p1", "p2"}


def test_arrays_round_trip_and_rebuild_for_another_numbering():
    order = ["p1", "p2", "p3"]
    saved = built(order).to_arrays()
    again = Facets.from_arrays(saved, order)
    assert selected(again, order, any_of=[["a:lee|a"]]) == {"p1", "p3"}
    assert set(again.papers) == {"p1", "p2", "p3"}
    other = ["p3", "p1"]  # a numbering the saved arrays do not fit: rebuilt
    rebuilt = Facets.from_arrays(saved, other)
    assert selected(rebuilt, other, any_of=[["a:lee|a"]]) == {"p1", "p3"}


def test_packed_strings_round_trip():
    assert unpack_strings(pack_strings(["a", "ü#1", "b"])) == ["a", "ü#1", "b"]
    assert unpack_strings(pack_strings([])) == []
