"""Retrieval: modes, z-score fusion, filters inside every retriever (never a short post-filtered
top-k), author names by case/accents/last name/collection owner, full texts with many chunks, the
BM25 index against bm25s. On the seeded store and on small synthetic stores written with
`Library.write_prepared` (hand-made vectors: no model run for the papers)."""
from __future__ import annotations

import numpy as np
import pytest

from assistant.papers import Paper, finalise
from assistant.search_modes import SEARCH_MODES
from assistant.retrieve import Candidate, Filters, filters_where, fuse, search
from assistant.chunks import paper_chunks
from assistant.library import Library

# ---- the seeded store (25 papers; Kshitiz Malik on 8; "Jack" owns 2 as a partial name) ---------


def ids_matching(store: Library, filters: Filters) -> set[str]:
    return {p.id for p in store.papers(filters_where(filters))}


@pytest.mark.parametrize("mode", SEARCH_MODES)
def test_each_mode_ranks_papers(seeded_store, mode):
    hits = search(seeded_store, "federated learning with asynchronous aggregation", k=5, mode=mode)
    assert 1 <= len(hits) <= 5
    assert len({h.paper.id for h in hits}) == len(hits)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(h.text for h in hits)


def test_unknown_mode_is_refused(seeded_store):
    with pytest.raises(ValueError, match="unknown search mode"):
        search(seeded_store, "anything", mode="fuzzy")  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", SEARCH_MODES)
@pytest.mark.parametrize("name", ["Kshitiz Malik", "kshitiz MALIK", "Malik", "K. Malik", "KSHITIZ malik"])
def test_author_filter_returns_every_paper_when_fewer_than_k(seeded_store, mode, name):
    expected = ids_matching(seeded_store, Filters(author="Kshitiz Malik"))
    assert 5 < len(expected) < 10  # his own papers and the Llama 3 paper
    hits = search(seeded_store, "language models", k=10, mode=mode, filters=Filters(author=name))
    assert {h.paper.id for h in hits} == expected


@pytest.mark.parametrize("mode", SEARCH_MODES)
def test_first_name_collection_owner(seeded_store, mode):
    owned = {p.id for p in seeded_store.papers() if "Jack" in p.partial_authors}
    assert len(owned) == 2
    hits = search(seeded_store, "federated learning", k=10, mode=mode, filters=Filters(author="Jack"))
    assert {h.paper.id for h in hits} == owned


@pytest.mark.parametrize("mode", SEARCH_MODES)
def test_filter_with_more_matches_than_k_fills_k(seeded_store, mode):
    filters = Filters(year_from=2021)
    matching = ids_matching(seeded_store, filters)
    assert len(matching) > 10
    hits = search(seeded_store, "privacy", k=10, mode=mode, filters=filters)
    assert len(hits) == 10
    assert {h.paper.id for h in hits} <= matching


@pytest.mark.parametrize("mode", SEARCH_MODES)
def test_year_range_and_category(seeded_store, mode):
    filters = Filters(year_from=2019, year_to=2022, category="CS.LG")
    expected = ids_matching(seeded_store, filters)
    assert 0 < len(expected) < 10
    hits = search(seeded_store, "federated", k=10, mode=mode, filters=filters)
    assert {h.paper.id for h in hits} == expected
    assert all(2019 <= (h.paper.year or 0) <= 2022 for h in hits)


@pytest.mark.parametrize("mode", SEARCH_MODES)
def test_filter_nobody_matches(seeded_store, mode):
    assert search(seeded_store, "federated", k=10, mode=mode, filters=Filters(author="Nobody Atall")) == []
    assert search(seeded_store, "federated", k=10, mode=mode, filters=Filters(year_from=2090)) == []


# ---- fusion -------------------------------------------------------------------------------------


def ranking(scores: dict[str, float]):
    ordered = sorted(scores, key=lambda p: -scores[p])
    return {p: Candidate(scores[p], f"{p}#0", i) for i, p in enumerate(ordered, 1)}


def test_fuse_prefers_agreement_and_floors_missing():
    dense = ranking({"a": 0.80, "b": 0.70, "c": 0.40})
    lexical = ranking({"b": 20.0, "a": 18.0, "d": 3.0})
    fused = fuse(dense, lexical)
    assert set(fused) == {"a", "b", "c", "d"}
    assert min(fused["a"], fused["b"]) > max(fused["c"], fused["d"])
    # a paper missing from a list gets that list's lowest z-score
    zd = {p: (v - np.mean([0.8, 0.7, 0.4])) / np.std([0.8, 0.7, 0.4]) for p, v in {"a": 0.8, "b": 0.7, "c": 0.4}.items()}
    zl = {p: (v - np.mean([20.0, 18.0, 3.0])) / np.std([20.0, 18.0, 3.0]) for p, v in {"b": 20.0, "a": 18.0, "d": 3.0}.items()}
    assert fused["d"] == pytest.approx(0.5 * min(zd.values()) + 0.5 * zl["d"])
    assert fused["c"] == pytest.approx(0.5 * zd["c"] + 0.5 * min(zl.values()))
    assert fused["a"] == pytest.approx(0.5 * zd["a"] + 0.5 * zl["a"])


def test_fuse_with_one_empty_list_keeps_the_other_order():
    dense = ranking({"a": 0.9, "b": 0.5, "c": 0.1})
    fused = fuse(dense, {})
    assert sorted(fused, key=lambda p: -fused[p]) == ["a", "b", "c"]
    assert fuse({}, {}) == {}


def test_fuse_single_item_lists():
    fused = fuse(ranking({"a": 0.3}), ranking({"b": 4.0}))
    assert fused == {"a": 0.0, "b": 0.0}


# ---- synthetic stores ---------------------------------------------------------------------------

DIM = 384


def unit(vector: np.ndarray) -> list[float]:
    return (vector / np.linalg.norm(vector)).astype(np.float32).tolist()


def make_paper(i: int, **fields) -> Paper:
    fields.setdefault("title", f"Synthetic study number {i} of widget calibration")
    fields.setdefault("abstract", f"We report experiment {i} on widget calibration in sample batch {i * 7}.")
    return finalise(Paper(**fields))


def write(store: Library, papers: list[Paper], rng: np.random.Generator, near: dict[str, np.ndarray] | None = None) -> None:
    """Write papers with random vectors; papers named in `near` get that vector for every chunk."""
    near = near or {}
    vectors: list[list[float]] = []
    for p in papers:
        for _ in paper_chunks(p):
            base = near.get(p.id)
            vectors.append(unit(base + 0.01 * rng.standard_normal(DIM)) if base is not None else unit(rng.standard_normal(DIM)))
    store.write_prepared(papers, vectors)


@pytest.fixture
def author_store(empty_store):
    """40 papers: "José Núñez" on 4, "Ana Núñez" on 25, owner "Jack" on 3, years 2000-2039."""
    rng = np.random.default_rng(7)
    papers = []
    for i in range(40):
        authors = [f"Person{i} Example"]
        if i < 4:
            authors.append("José Núñez")
        elif i < 29:
            authors.append("Ana Núñez")
        papers.append(
            make_paper(
                i,
                authors=authors,
                partial_authors=["Jack"] if i in (5, 17, 33) else [],
                date=str(2000 + i),
                categories=["stat.ML"] if i % 2 else ["cs.LG"],
            )
        )
    write(empty_store, papers, rng)
    empty_store.test_papers = papers  # type: ignore[attr-defined]
    return empty_store


@pytest.mark.parametrize("mode", SEARCH_MODES)
@pytest.mark.parametrize(
    "name, expected",
    [
        ("José Núñez", 4),
        ("jose nunez", 4),
        ("JOSÉ NUNEZ", 4),
        ("J. Nunez", 29),  # initials: by last name
        ("nunez", 29),
        ("Núñez", 29),
        ("Ana Nunez", 25),
        ("jack", 3),
    ],
)
def test_author_names_case_accents_last_and_owner(author_store, mode, name, expected):
    hits = search(author_store, "widget calibration experiment", k=10, mode=mode, filters=Filters(author=name))
    assert len(hits) == min(expected, 10)
    key = name.lower().replace("é", "e").replace("ú", "u").replace("ñ", "n").split()[-1]
    for h in hits:
        names = [*h.paper.authors, *h.paper.partial_authors]
        folded = [n.lower().replace("é", "e").replace("ú", "u").replace("ñ", "n") for n in names]
        assert any(n.split()[-1] == key for n in folded)


@pytest.mark.parametrize("mode", SEARCH_MODES)
def test_filters_combine(author_store, mode):
    filters = Filters(author="nunez", year_from=2010, year_to=2019, category="stat.ml")
    expected = {p.id for i, p in enumerate(author_store.test_papers) if 10 <= i <= 19 and i % 2 and i < 29}
    hits = search(author_store, "widget", k=10, mode=mode, filters=filters)
    assert {h.paper.id for h in hits} == expected


def test_filtered_bm25_reaches_papers_without_query_words(empty_store):
    """A filtered BM25 search ranks the filter's papers: those sharing no word follow."""
    rng = np.random.default_rng(3)
    papers = [
        make_paper(0, authors=["Mira Solberg"], abstract="Quantum annealing schedules for spin glasses."),
        make_paper(1, authors=["Mira Solberg"], abstract="Bird migration timing across the Baltic coast."),
        make_paper(2, authors=["Mira Solberg"], abstract="Soil bacteria under long drought."),
        make_paper(3, authors=["Other Person"], abstract="Quantum annealing for portfolio choice."),
    ]
    write(empty_store, papers, rng)
    hits = search(empty_store, "quantum annealing", k=10, mode="bm25", filters=Filters(author="Solberg"))
    assert [h.paper.id for h in hits][0] == papers[0].id
    assert {h.paper.id for h in hits} == {p.id for p in papers[:3]}
    unfiltered = search(empty_store, "quantum annealing", k=10, mode="bm25")
    assert {h.paper.id for h in unfiltered} == {papers[0].id, papers[3].id}


@pytest.mark.parametrize("mode", SEARCH_MODES)
def test_many_chunks_of_one_paper_do_not_crowd_out_others(empty_store, embedder, mode):
    """A full text's 60+ chunks all nearest the query (and full of its words) still leave room
    for k distinct papers: the retrievers look deeper instead of returning a short list."""
    rng = np.random.default_rng(11)
    query = "lattice gauge theory confinement"
    q = np.asarray(embedder.embed_one(query), dtype=np.float32)
    sentence = "Lattice gauge theory confinement is studied with lattice gauge theory methods. "
    long_paper = make_paper(
        0, title="Confinement on the lattice", abstract="Lattice gauge theory confinement.", full_text=sentence * 900
    )
    assert len(paper_chunks(long_paper)) > 60
    others = [
        make_paper(i, abstract=f"Notes {i} on lattice gauge theory and confinement in model {i}.", authors=["Ida Berg"])
        for i in range(1, 16)
    ]
    write(empty_store, [long_paper, *others], rng, near={long_paper.id: q})
    hits = search(empty_store, query, k=10, mode=mode)
    assert len(hits) == 10
    assert len({h.paper.id for h in hits}) == 10
    top = hits[0] if mode != "bm25" else next(h for h in hits if h.paper.id == long_paper.id)
    assert top.paper.id == long_paper.id
    if top.chunk_id != f"{long_paper.id}#0":
        assert "lattice gauge theory" in top.text.lower()  # the passage that matched, not the abstract


def test_hit_fields(seeded_store):
    (hit,) = search(seeded_store, "Llama 3 herd of models", k=1)
    assert hit.paper.id == "2407.21783"
    assert hit.dense is not None and -1.0 <= hit.dense <= 1.0
    assert hit.lexical is not None and hit.lexical > 0
    assert set(hit.ranks) == {"dense", "bm25"}
    assert hit.chunk_id == "2407.21783#0"


# ---- the BM25 index -----------------------------------------------------------------------------

TEXTS = [
    "The Llama 3 Herd of Models\nModern artificial intelligence systems are powered by foundation models.",
    "Federated learning with buffered asynchronous aggregation (FedBuff) scales to 100,000 clients.",
    "Über-fast naïve Bayes: café-style tokenisation, e-mail, U.S.A. and 3.5% of x_y tokens",
    "",
    "a I of the and",
    "x_1 a1 1a ß ŒUVRE naïve—co-op's 2nd-order β-cells ǅ ١٢٣ 日本語テキスト _ __ a_b",
]


def test_tokenize_matches_bm25s():
    import bm25s
    import Stemmer

    from assistant.text_terms import tokenize

    expected = bm25s.tokenize(TEXTS, stopwords="en", stemmer=Stemmer.Stemmer("english"), return_ids=False, show_progress=False)
    assert tokenize(TEXTS) == [list(t) for t in expected]


def test_bm25_scores_match_bm25s(empty_store):
    import bm25s

    from assistant.lexical import K1, B
    from assistant.text_terms import tokenize

    rng = np.random.default_rng(5)
    papers = [make_paper(i, abstract=text + f" item {i}") for i, text in enumerate(TEXTS[:3] + ["Foundation models and federated clients.", "Naive Bayes for e-mail."])]
    write(empty_store, papers, rng)
    chunk_texts = {p.id: paper_chunks(p)[0].text for p in papers}
    reference = bm25s.BM25(k1=K1, b=B)
    doc_ids = list(chunk_texts)
    reference.index(tokenize([chunk_texts[d] for d in doc_ids]), show_progress=False)
    for query in ["foundation models", "federated clients aggregation", "naive bayes e-mail"]:
        expected = dict(zip(doc_ids, reference.get_scores([t for t in tokenize([query])[0] if t in reference.vocab_dict])))
        got = {pid: score for pid, _cid, score in empty_store.lexical.search_papers(query, 10)}
        assert set(got) == {d for d, s in expected.items() if s > 0}
        for pid, score in got.items():
            assert score == pytest.approx(expected[pid], rel=1e-5)


def test_bm25_index_survives_reopen(author_store, embedder):
    reopened = Library(author_store.store_dir, embedder=embedder)
    before = [h.paper.id for h in search(author_store, "widget calibration 12", k=5, mode="bm25")]
    assert [h.paper.id for h in search(reopened, "widget calibration 12", k=5, mode="bm25")] == before


def test_write_prepared_checks_vector_count(empty_store):
    with pytest.raises(ValueError, match="vectors"):
        empty_store.write_prepared([make_paper(1)], [])


# ---- filters on the in-memory facets agree with Chroma, survive reopen, removal and rebuild ------


FILTER_CASES = [
    Filters(author="nunez"),
    Filters(author="José Núñez"),
    Filters(author="jack"),
    Filters(year_from=2030),
    Filters(year_to=2003),
    Filters(year_from=2010, year_to=2012, category="cs.lg"),
    Filters(category="STAT.ML", author="Person7 Example"),
    Filters(author="no such person"),
]


def facet_ids(store: Library, filters: Filters) -> set[str]:
    from assistant.retrieve import select

    return set(select(store, filters).paper_ids())


@pytest.mark.parametrize("filters", FILTER_CASES, ids=str)
def test_facets_select_what_chroma_where_selects(author_store, filters):
    assert facet_ids(author_store, filters) == ids_matching(author_store, filters)


def test_facets_survive_reopen_remove_and_rebuild(author_store, embedder):
    import shutil

    filters = Filters(author="José Núñez")
    expected = ids_matching(author_store, filters)
    reopened = Library(author_store.store_dir, embedder=embedder)
    assert facet_ids(reopened, filters) == expected

    gone = sorted(expected)[0]
    reopened.remove([gone])
    assert facet_ids(reopened, filters) == expected - {gone}
    assert gone not in {h.paper.id for h in search(reopened, "widget", k=10, filters=filters)}

    shutil.rmtree(reopened.local_dir / "bm25")  # lost: rebuilt from Chroma, facets included
    rebuilt = Library(author_store.store_dir, embedder=embedder)
    for case in FILTER_CASES:
        assert facet_ids(rebuilt, case) == ids_matching(rebuilt, case)


def test_a_store_with_the_facets_inside_its_bm25_index_opens_fine(author_store, embedder):
    """Stores saved before the facets had their own file kept them in bm25/index.npz (format 3):
    such a store opens, rebuilds the index and the facets from Chroma once, and saves both apart."""
    from assistant import lexical
    from assistant.saved_arrays import save_npz

    bm25 = author_store.local_dir / "bm25"
    with np.load(bm25 / "index.npz") as data:
        old = {k: data[k] for k in data.files}
    old["format"] = np.asarray(3, dtype=np.int64)
    with np.load(bm25 / "facets.npz") as data:
        old.update({k: data[k] for k in data.files if k.startswith("facet_")})
    save_npz(bm25 / "index.npz", old)
    (bm25 / "facets.npz").unlink()
    reopened = Library(author_store.store_dir, embedder=embedder)
    for case in FILTER_CASES:
        assert facet_ids(reopened, case) == ids_matching(reopened, case)
    assert reopened.check() == []
    with np.load(bm25 / "index.npz") as data:
        assert int(data["format"]) == lexical.FORMAT and not any(k.startswith("facet_") for k in data.files)
    assert (bm25 / "facets.npz").exists()


def test_facets_follow_a_merge_that_adds_an_author(author_store):
    """Re-ingesting a paper with more authors updates its facets (the write path passes them)."""
    first = author_store.test_papers[35]
    assert first.id not in facet_ids(author_store, Filters(author="Grace Hopper"))
    richer = Paper.from_dict(first.to_dict())
    richer.authors = [*first.authors, "Grace Hopper"]
    richer.sources = []
    author_store.write([richer])
    assert facet_ids(author_store, Filters(author="grace hopper")) == {first.id}
    assert [h.paper.id for h in search(author_store, "widget", k=10, filters=Filters(author="Hopper"))] == [first.id]


def test_exact_small_id_query_agrees_with_chroma(seeded_store, embedder):
    vector = embedder.embed_one("federated learning on mobile devices")
    ids = [f"{p.id}#0" for p in seeded_store.papers()][:12]
    exact = seeded_store.dense_query(vector, 5, ids=ids, texts=True)
    result = seeded_store.chroma.collection.query(query_embeddings=[vector], n_results=5, ids=ids, include=["distances"])
    assert [h.chunk_id for h in exact] == result["ids"][0]
    for hit, distance in zip(exact, result["distances"][0]):
        assert hit.similarity == pytest.approx(1.0 - distance, abs=1e-4)
        assert hit.text
