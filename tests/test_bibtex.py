"""BibTeX export: keys, entry fields, honest entries for untitled papers, and a round trip through
bibtexparser."""
from __future__ import annotations

import bibtexparser
import pytest

from assistant.bibtex import base_key, bibtex_keys, bibtex_name, to_bibtex
from assistant.papers import Paper, finalise


def paper(**fields) -> Paper:
    return finalise(Paper(**fields))


def parse(text: str):
    library = bibtexparser.parse_string(text)
    assert not library.failed_blocks, library.failed_blocks
    return {e.key: e for e in library.entries}


def test_key_shape():
    p = paper(title="Federated Learning with Buffered Asynchronous Aggregation", authors=["John Nguyen", "Kshitiz Malik"], year=2021,
              abstract="We study buffered asynchronous aggregation for federated learning at scale.")
    assert base_key(p) == "nguyen2021federated"
    q = paper(title="On the Impact of Pre-Training", authors=["Jianyu Wang"], year=2022, abstract="Pre-training study.")
    assert base_key(q) == "wang2022impact"  # stopwords skipped
    r = paper(title="Ünïcode Names", authors=["José Álvarez"], abstract="x" * 50)
    assert base_key(r) == "alvarezndunicode"


def test_colliding_keys_get_stable_suffixes():
    a = paper(title="Federated learning one", authors=["John Nguyen"], year=2021, abstract="first abstract about federated training")
    b = paper(title="Federated learning two", authors=["John Nguyen"], year=2021, abstract="second abstract about federated training")
    keys = bibtex_keys([a, b])
    assert sorted(keys.values()) == ["nguyen2021federateda", "nguyen2021federatedb"]
    assert bibtex_keys([b, a]) == keys  # by paper id, not input order
    first = min((a, b), key=lambda p: p.id)
    assert keys[first.id] == "nguyen2021federateda"


def test_names_are_last_comma_first():
    assert bibtex_name("Kshitiz Malik") == "Malik, Kshitiz"
    assert bibtex_name("Michael L. Lathi") == "Lathi, Michael L."
    assert bibtex_name("Ludwig van Beethoven") == "van Beethoven, Ludwig"
    assert bibtex_name("Martin Luther King Jr.") == "King, Jr., Martin Luther"
    assert bibtex_name("Malik, K.") == "Malik, K."
    assert bibtex_name("Plato") == "Plato"


def test_entry_fields_and_round_trip():
    p = paper(
        title="Papaya: Practical, Private & Scalable Federated Learning",
        authors=["Dzmitry Huba", "John Nguyen", "Kshitiz Malik"], authors_truncated=True,
        date="2021-11-08", arxiv_id="2111.04877", categories=["cs.LG", "cs.DC"],
        abstract="Cross-device federated learning at 100% scale with secure_aggregation.",
    )
    d = paper(title="Internet access in villages", authors=["A B"], year=2023, doi="10.1145/3530190.3534809",
              abstract="We measure internet access in rural villages over two years.")
    entries = parse(to_bibtex([p, d]))
    e = entries["huba2021papaya"]
    assert e.entry_type == "misc"
    assert e["title"] == "{Papaya: Practical, Private \\& Scalable Federated Learning}"
    assert e["author"] == "Huba, Dzmitry and Nguyen, John and Malik, Kshitiz and others"
    assert (e["eprint"], e["archivePrefix"], e["primaryClass"], e["year"]) == ("2111.04877", "arXiv", "cs.LG", "2021")
    f = entries["b2023internet"]
    assert f.entry_type == "article" and f["doi"] == "10.1145/3530190.3534809"


def test_untitled_paper_gets_no_made_up_title():
    p = paper(abstract="Federated learning enables resource-constrained edge compute devices to learn a shared model "
                       "for prediction while keeping the training data local.", partial_authors=["Jack"])
    assert p.title_derived
    entries = parse(to_bibtex([p]))
    (entry,) = entries.values()
    assert "title" not in entry.fields_dict
    assert "author" not in entry.fields_dict  # "Jack" is a collection owner, not an author
    assert entry["note"].startswith("Untitled in source; begins: Federated learning enables")
    assert "Jack" in entry["note"]


def test_given_keys_are_kept():
    a = paper(title="Federated learning one", authors=["John Nguyen"], year=2021, abstract="first abstract about federated training")
    b = paper(title="Federated learning two", authors=["John Nguyen"], year=2021, abstract="second abstract about federated training")
    c = paper(title="Federated learning three", authors=["John Nguyen"], year=2021, abstract="third abstract about federated training")
    keys = bibtex_keys([a, b, c])
    # Export only one of the colliding papers: it keeps the key the text cites.
    only = [p for p in (a, b, c) if keys[p.id].endswith("b")]
    entries = parse(to_bibtex(only, keys=keys))
    assert set(entries) == {keys[only[0].id]}
    # A paper without a given key never takes a used one.
    entries = parse(to_bibtex([a, b], keys={a.id: "nguyen2021federated"}))
    assert len(entries) == 2 and "nguyen2021federated" in entries
    with pytest.raises(ValueError):
        to_bibtex([a, b], keys={a.id: "same", b.id: "same"})


def test_seed_library_exports_cleanly(seeded_store):
    papers = seeded_store.papers()
    entries = parse(to_bibtex(papers))
    assert len(entries) == len(papers) == 25
    llama = entries["dubey2024llama"]
    assert llama["author"].startswith("Dubey, Abhimanyu and Jauhri, Abhinav")
    assert llama["eprint"] == "2407.21783"
