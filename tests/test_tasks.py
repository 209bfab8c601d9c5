"""Author summaries and related-work drafts on the real seeds (real store, real embedder), with the
built-in extractive model and with a scripted stand-in for a generative model."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.scripted_model import ScriptedModel

# The seven papers of Kshitiz Malik's author page (seeds/001_...). He is also listed, 103rd of
# 529, on "The Llama 3 Herd of Models" (seeds/003_...), so the library holds eight papers by him.
MALIK_PAGE_TITLES = {
    "Active Federated Learning",
    "Federated User Representation Learning",
    "Federated Learning with Buffered Asynchronous Aggregation",
    "Papaya: Practical, Private, and Scalable Federated Learning",
    "FedSynth: Gradient Compression via Synthetic Data in Federated Learning",
    "Federated Learning with Partial Model Personalization",
    "Where to Begin? On the Impact of Pre-Training and Initialization in Federated Learning",
}
LLAMA3 = "2407.21783"
CITE = re.compile(r"\\cite\{([^}]*)\}")


def titles(store, ids):
    records = store.get_many(ids)
    return {records[i].title for i in ids}


# ---- name resolution --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def malik(seeded_store):
    from assistant.authors import resolve_author

    return resolve_author(seeded_store, "Kshitiz Malik")


def test_full_name_gets_the_authors_papers(seeded_store, malik):
    assert malik.full_name == "Kshitiz Malik"
    assert malik.how == "full name" and not malik.inferred and malik.resolved_from is None
    ids = malik.author_paper_ids
    assert len(ids) == len(set(ids)) == 8
    found = titles(seeded_store, ids)
    assert MALIK_PAGE_TITLES <= found
    assert found - MALIK_PAGE_TITLES == {"The Llama 3 Herd of Models"}
    assert malik.collection_paper_ids == []


@pytest.mark.parametrize("typed", ["kshitiz malik", "KSHITIZ MALIK", "Malik", "K. Malik", "K Malik", "Malik, Kshitiz", "Malik, K."])
def test_name_variants_resolve_the_same(seeded_store, malik, typed):
    from assistant.authors import resolve_author

    r = resolve_author(seeded_store, typed)
    assert r.full_name == "Kshitiz Malik"
    assert set(r.author_paper_ids) == set(malik.author_paper_ids)


def test_accents_are_ignored(seeded_store):
    from assistant.authors import resolve_author

    assert resolve_author(seeded_store, "Kshítiz Målik").full_name == "Kshitiz Malik"


def test_first_name_collection_owner_is_inferred(seeded_store):
    from assistant.authors import resolve_author

    r = resolve_author(seeded_store, "Jack")
    assert r.full_name == "Jack Goetz"
    assert r.inferred and r.resolved_from == "Jack" and r.owner == "Jack"
    assert r.how == "collection owner"
    assert titles(seeded_store, r.author_paper_ids) == {
        "Active Federated Learning",
        "Federated User Representation Learning",
        "FedSynth: Gradient Compression via Synthetic Data in Federated Learning",
    }
    # Jack's collection: the Llama 3 paper and the untitled non-IID federated-learning paper.
    assert LLAMA3 in r.collection_paper_ids and len(r.collection_paper_ids) == 2
    assert not set(r.collection_paper_ids) & set(r.author_paper_ids)
    assert any("Jack Goetz" in note for note in r.notes)


def test_full_name_also_finds_the_owners_collection(seeded_store):
    from assistant.authors import resolve_author

    r = resolve_author(seeded_store, "Jack Goetz")
    assert r.full_name == "Jack Goetz" and not r.inferred and r.owner == "Jack"
    assert len(r.author_paper_ids) == 3 and len(r.collection_paper_ids) == 2


def test_owner_without_a_namesake_stands_alone(seeded_store):
    from assistant.authors import resolve_author

    r = resolve_author(seeded_store, "sid")
    assert r.full_name is None and r.owner == "Sid" and r.name == "Sid"
    assert r.author_paper_ids == [] and len(r.collection_paper_ids) == 6
    assert not r.inferred


def test_unknown_name_is_a_clear_error(seeded_store):
    from assistant.errors import NotFoundError
    from assistant.authors import resolve_author

    with pytest.raises(NotFoundError) as err:
        resolve_author(seeded_store, "Kshitz Malk")
    message = str(err.value)
    assert "Kshitz Malk" in message and "no author" in message
    assert "Close matches: Kshitiz Malik" in message
    with pytest.raises(NotFoundError, match="no author named 'Zebediah Quux'"):
        resolve_author(seeded_store, "Zebediah Quux")


def test_ambiguous_last_name_lists_candidates(seeded_store):
    from assistant.authors import AmbiguousAuthorError, resolve_author

    with pytest.raises(AmbiguousAuthorError) as err:
        resolve_author(seeded_store, "A. Yang")
    assert set(err.value.candidates) == {"Amy Yang (1 paper)", "Aobo Yang (1 paper)"}
    assert "ambiguous" in str(err.value) and "Amy Yang" in str(err.value)


@pytest.fixture
def small_store(empty_store):
    from assistant.papers import Paper, finalise

    def paper(title, authors, year, owner=None):
        return finalise(Paper(
            title=title, authors=authors, year=year, partial_authors=[owner] if owner else [],
            abstract=f"{title}. We study {title.lower()} with a new method and report results on benchmarks.",
        ))

    empty_store.write([
        paper("Graph neural networks for molecules", ["Ana López", "Bo Chen"], 2020),
        paper("Message passing on crystals", ["Juan Lopez", "Bo Chen"], 2021),
        paper("Protein structure transformers", ["Maria Rossi", "Ana López"], 2022),
        paper("Sparse attention for proteins", ["Maria Bianchi"], 2023),
        paper("A reading list item", ["Zoe Park"], 2019, owner="Maria"),
        paper("Another reading list item", ["Zoe Park"], 2018, owner="Kim"),
    ])
    return empty_store


def test_ambiguity_on_a_small_store(small_store):
    from assistant.authors import AmbiguousAuthorError, resolve_author

    with pytest.raises(AmbiguousAuthorError) as err:
        resolve_author(small_store, "Lopez")
    assert [c.split(" (")[0] for c in err.value.candidates] == ["Ana López", "Juan Lopez"]
    # A collection owner whose first name two authors share is not guessed either.
    with pytest.raises(AmbiguousAuthorError) as err:
        resolve_author(small_store, "Maria")
    assert {c.split(" (")[0] for c in err.value.candidates} == {"Maria Rossi", "Maria Bianchi"}
    assert "owns a collection" in str(err.value)
    ana = resolve_author(small_store, "A. Lopez")  # initials settle it; accents ignored
    assert ana.full_name == "Ana López" and ana.how == "initials" and len(ana.author_paper_ids) == 2
    assert resolve_author(small_store, "ana lopez").full_name == "Ana López"
    kim = resolve_author(small_store, "Kim")
    assert kim.full_name is None and kim.owner == "Kim" and len(kim.collection_paper_ids) == 1


# ---- author summaries (extractive) ------------------------------------------------------------

@pytest.fixture(scope="module")
def malik_summary(seeded_store):
    from assistant.tasks.author import summarize_author

    return summarize_author("Kshitiz Malik", store=seeded_store, model="extractive")


def _every_sentence_cited(cited) -> None:
    for check in cited.sentences:
        if check.factual:
            assert check.citations, f"uncited sentence: {check.text}"


def test_author_summary_papers_themes_collaborators(malik_summary):
    s = malik_summary
    assert s.author == "Kshitiz Malik" and s.resolved_from is None
    assert len(s.papers) == 8
    dates = [p.date or str(p.year) for p in s.papers]
    assert dates == sorted(dates), "papers are in time order"
    # Seven of the eight are federated learning: one theme holding most papers is split (issue 13),
    # into themes that never mix them with the Llama 3 paper.
    by_title = {p.id: p.title for p in s.papers}
    fl = [t for t in s.themes if {by_title[i] for i in t.paper_ids} <= MALIK_PAGE_TITLES]
    assert len(fl) >= 2 and {by_title[i] for t in fl for i in t.paper_ids} == MALIK_PAGE_TITLES
    assert all(len(t.paper_ids) <= 0.6 * len(s.papers) for t in s.themes)
    labels = [t.label for t in s.themes]
    assert len(set(labels)) == len(labels) and not any("," in label for label in labels)
    assert sorted(i for t in s.themes for i in t.paper_ids) == sorted(p.id for p in s.papers)
    top = {c.name: c.count for c in s.collaborators[:2]}
    assert top == {"Jack Goetz": 3, "John Nguyen": 3}
    assert all(c.name != "Kshitiz Malik" for c in s.collaborators)


def test_author_summary_is_cited_and_valid(malik_summary):
    s = malik_summary
    assert s.summary and re.search(r"\[\d", s.summary)
    _every_sentence_cited(s.cited)
    ids = {p.id for p in s.papers}
    assert s.citations and all(c["paper_id"] in ids for c in s.citations)
    assert [c["n"] for c in s.citations] == list(range(1, len(s.citations) + 1))
    assert s.cited.removed == []
    for theme in s.themes:
        assert theme.summary and re.search(r"\[\d", theme.summary)
        numbers = {int(n) for m in re.findall(r"\[([\d, ]+)\]", theme.summary) for n in m.split(",")}
        cited_ids = {c["paper_id"] for c in s.citations if c["n"] in numbers}
        assert cited_ids == set(theme.paper_ids), "a theme summary cites exactly its papers"


def test_author_summary_json(malik_summary):
    data = json.loads(json.dumps(malik_summary.to_json()))
    assert {"author", "resolved_from", "papers", "themes", "collaborators", "summary", "citations"} <= set(data)
    assert data["author"] == "Kshitiz Malik" and data["resolved_from"] is None
    assert all(p["relation"] == "author" for p in data["papers"])
    assert all({"label", "paper_ids", "summary"} <= set(t) for t in data["themes"])
    assert data["collaborators"][0] == {"name": "Jack Goetz", "count": 3, "paper_ids": data["collaborators"][0]["paper_ids"]}
    assert [row["year"] for row in data["timeline"]] == [2019, 2021, 2022, 2024]


def test_author_summary_of_an_inferred_owner(seeded_store):
    from assistant.tasks.author import summarize_author

    s = summarize_author("Jack", store=seeded_store, model="extractive")
    data = s.to_json()
    assert data["author"] == "Jack Goetz" and data["resolved_from"] == "Jack"
    relations = {p["id"]: p["relation"] for p in data["papers"]}
    assert relations[LLAMA3] == "collection"
    assert sum(r == "author" for r in relations.values()) == 3
    assert all(p.get("in_collection_of") == "Jack" for p in data["papers"] if p["relation"] == "collection")
    # Collection papers' authors are not collaborators (no Llama 3 authors here).
    assert {c["name"] for c in data["collaborators"]} <= {"Kshitiz Malik", "Duc Bui", "Shengyuan Hu"}
    assert "Jack's collection" in data["summary"]
    _every_sentence_cited(s.cited)


def test_author_summary_unknown_name(seeded_store):
    from assistant.errors import NotFoundError
    from assistant.tasks.author import summarize_author

    with pytest.raises(NotFoundError, match="no author named"):
        summarize_author("Nobody Atall", store=seeded_store, model="extractive")


# ---- author summaries (scripted generative model) ---------------------------------------------

def test_author_summary_prompt_and_invented_citation(seeded_store, malik):
    from assistant.tasks.author import summarize_author

    model = ScriptedModel(replies=[
        "1: Cross-device federated learning\n2: Open foundation models",
        "Kshitiz Malik works on federated learning with client data kept on devices [1]. "
        "He also built a time machine [42].",
    ])
    s = summarize_author("Kshitiz Malik", store=seeded_store, model=model)
    assert [r.task for r in model.requests] == ["label", "author_summary"]
    label_prompt = model.requests[0].messages[-1].content
    assert "Active Federated Learning" in label_prompt and "The Llama 3 Herd of Models" in label_prompt
    request = model.requests[1]
    assert {src.paper_id for src in request.sources} == set(malik.author_paper_ids)
    assert [src.n for src in request.sources] == list(range(1, 9))
    prompt = request.messages[-1].content
    for p in s.papers:
        assert p.title in prompt
    assert "Jack Goetz" in prompt  # the computed facts (collaborators) are in the prompt
    assert request.messages[0].role == "system"
    assert {"Cross-device federated learning", "Open foundation models"} <= {t.label for t in s.themes}
    assert s.generated and "[42]" not in s.summary and "time machine" in s.summary
    assert s.cited.removed == [{"marker": "[42]", "reason": "not a retrieved source (only [1]-[8] were given)"}]
    assert any("time machine" in u for u in s.cited.unsupported_sentences)


# ---- related work -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fl_draft(seeded_store):
    from assistant.tasks.related_work import draft_related_work

    return draft_related_work("federated learning", store=seeded_store, model="extractive")


def test_related_work_latex_and_bibtex(seeded_store, fl_draft):
    import bibtexparser

    from assistant.retrieve import search

    d = fl_draft
    assert d.abstained is None and d.paragraphs
    library = bibtexparser.parse_string(d.bibtex)
    assert not library.failed_blocks
    bib_keys = {e.key for e in library.entries}
    text_keys = {k.strip() for m in CITE.findall(d.text) for k in m.split(",")}
    assert text_keys and text_keys == bib_keys
    retrieved = {h.paper.id for h in search(seeded_store, "federated learning", k=12)}
    cited = {c["paper_id"] for c in d.citations}
    assert cited <= retrieved
    assert {d.keys[i] for i in cited} == bib_keys
    _every_sentence_cited(d.cited)
    assert d.removed_citations == []
    for paragraph in d.paragraphs:
        assert paragraph.theme and paragraph.paper_ids
        assert CITE.search(paragraph.text)
    assert len(d.paragraphs) >= 2
    # Titles are only real titles: an untitled paper gets a note, never a made-up title.
    by_key = {e.key: e for e in library.entries}
    for c in d.citations:
        paper = seeded_store.get(c["paper_id"])
        entry = by_key[c["key"]]
        if paper.title_derived:
            assert "title" not in entry.fields_dict and "Untitled in source" in entry["note"]
        else:
            assert paper.title in entry["title"]


def test_related_work_json(fl_draft):
    data = json.loads(json.dumps(fl_draft.to_json()))
    assert {"topic", "paragraphs", "bibtex", "citations"} <= set(data)
    assert data["topic"] == "federated learning"
    assert all({"theme", "text", "paper_ids"} <= set(p) for p in data["paragraphs"])
    assert all(c["key"] for c in data["citations"])


def test_related_work_numeric(seeded_store):
    import bibtexparser

    from assistant.tasks.related_work import draft_related_work

    d = draft_related_work("federated learning", store=seeded_store, model="extractive", cite_style="numeric", max_papers=6)
    assert "\\cite" not in d.text
    numbers = sorted({int(n) for m in re.findall(r"\[([\d, ]+)\]", d.text) for n in m.split(",")})
    assert numbers == list(range(1, len(d.citations) + 1)) and len(numbers) <= 6
    assert len(bibtexparser.parse_string(d.bibtex).entries) == len(d.citations)
    _every_sentence_cited(d.cited)


def test_related_work_abstains_off_topic(seeded_store):
    from assistant.tasks.related_work import draft_related_work

    d = draft_related_work("protein folding in yeast", store=seeded_store, model="extractive")
    assert d.abstained and d.paragraphs == [] and d.bibtex == "" and d.citations == []
    assert "Nothing in the library is relevant" in d.text


class KeyEchoModel(ScriptedModel):
    """Writes each related-work paragraph from its prompt: one real citation (the first source's
    key or number) and one invented one; answers label requests with fixed labels."""

    def stream(self, request):
        self.requests.append(request)
        prompt = request.messages[-1].content
        if request.task == "label":
            count = int(re.search(r"exactly (\d+) lines", prompt).group(1))
            yield "\n".join(f"{i}: Scripted theme {i}" for i in range(1, count + 1))
            return
        key = re.search(r'key="([^"]+)"', prompt)
        if key:
            yield (f"Federated learning trains a shared model without collecting client data \\cite{{{key.group(1)}}}. "
                   "A famous paper solved it all \\cite{fake2020paper}.")
        else:
            n = re.search(r'<source n="(\d+)"', prompt).group(1)
            yield f"Federated learning trains a shared model without collecting client data [{n}]. A famous paper solved it all [42]."


def test_related_work_scripted_latex(seeded_store):
    import bibtexparser

    from assistant.tasks.related_work import draft_related_work

    model = KeyEchoModel()
    d = draft_related_work("federated learning", store=seeded_store, model=model, max_papers=8)
    paragraph_requests = [r for r in model.requests if r.task == "related_work"]
    assert len(paragraph_requests) == len(d.paragraphs) >= 1
    retrieved = {p.id for p in d.papers}
    shown = set()
    for request, theme in zip(paragraph_requests, d.themes):
        ids = {s.paper_id for s in request.sources}
        assert ids == set(theme.paper_ids) and ids <= retrieved
        shown |= ids
        prompt = request.messages[-1].content
        for s in request.sources:
            assert f'key="{d.keys[s.paper_id]}"' in prompt
        assert "federated learning" in prompt and theme.label in prompt
    assert shown == retrieved
    assert [p.theme for p in d.paragraphs] == [f"Scripted theme {i}" for i in range(1, len(d.paragraphs) + 1)]
    assert "fake2020paper" not in d.text
    assert d.removed_citations == [{"marker": "\\cite{fake2020paper}", "reason": "unknown citation key 'fake2020paper' (not a retrieved source)"}]
    assert any("famous paper" in u for u in d.unsupported_sentences)
    bib_keys = {e.key for e in bibtexparser.parse_string(d.bibtex).entries}
    assert "fake2020paper" not in bib_keys
    assert bib_keys == {k.strip() for m in CITE.findall(d.text) for k in m.split(",")}


def test_related_work_scripted_numeric(seeded_store):
    from assistant.tasks.related_work import draft_related_work

    model = KeyEchoModel()
    d = draft_related_work("federated learning", store=seeded_store, model=model, cite_style="numeric", max_papers=8)
    assert "[42]" not in d.text
    assert {r["marker"] for r in d.removed_citations} == {"[42]"}
    numbers = sorted({int(n) for m in re.findall(r"\[([\d, ]+)\]", d.text) for n in m.split(",")})
    assert numbers == list(range(1, len(d.citations) + 1))
    assert not any('key="' in r.messages[-1].content for r in model.requests if r.task == "related_work")


# ---- printing ---------------------------------------------------------------------------------

def test_printers(malik_summary, fl_draft, capsys):
    from assistant.cli_render import print_author_summary, print_related_work

    print_author_summary(malik_summary)
    out = capsys.readouterr().out
    assert "Kshitiz Malik" in out and "Themes" in out and "Frequent co-authors" in out
    assert "Active Federated Learning" in out
    print_related_work(fl_draft, bib_path="refs.bib")
    out = capsys.readouterr().out
    assert "\\cite{" in out and "written to refs.bib" in out


# ---- CLI end to end ---------------------------------------------------------------------------

@pytest.fixture
def cli_store(seeded_store_dir, tmp_path):
    target = tmp_path / "store"
    shutil.copytree(seeded_store_dir, target)
    return target


def litassist(*args: str, cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("LITASSIST_MODEL", None)
    proc = subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=900)
    return proc


@pytest.mark.slow
def test_cli_author_and_related_work(cli_store, tmp_path):
    import bibtexparser

    proc = litassist("author", "Kshitiz Malik", "--json", "--store", str(cli_store), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["author"] == "Kshitiz Malik" and len(data["papers"]) == 8
    labels = [t["label"] for t in data["themes"]]
    assert len(labels) >= 2 and len(set(labels)) == len(labels) and not any("," in label for label in labels)

    bib = tmp_path / "out.bib"
    proc = litassist("related-work", "federated learning", "--bib", str(bib), "--json", "--store", str(cli_store), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert bib.read_text(encoding="utf-8") == data["bibtex"]
    keys = {e.key for e in bibtexparser.parse_file(str(bib)).entries}
    assert keys == {c["key"] for c in data["citations"]}
    cited = {k.strip() for p in data["paragraphs"] for m in CITE.findall(p["text"]) for k in m.split(",")}
    assert cited == keys

    proc = litassist("author", "Nobody Atall", "--store", str(cli_store), cwd=tmp_path)
    assert proc.returncode == 2 and "no author named 'Nobody Atall'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_author_summary_bibtex(malik_summary):
    import bibtexparser

    library = bibtexparser.parse_string(malik_summary.bibtex)
    assert not library.failed_blocks and len(library.entries) == 8
    assert "dubey2024llama" in {e.key for e in library.entries}


# ---- theme labels and framing (issue 13) --------------------------------------------------------

def test_theme_labels_read_as_headings(seeded_store):
    from assistant.tasks.related_work import draft_related_work

    d = draft_related_work("federated learning", store=seeded_store, model="extractive", cite_style="numeric")
    labels = [t.label for t in d.themes]
    assert len(labels) >= 2 and len(set(labels)) == len(labels)
    for label in labels:
        assert "," not in label and label[:1].isupper() and len(label.split()) <= 6, label
    assert d.unsupported_sentences == []  # our topic sentences frame the paragraphs; they are not claims


def test_heading_is_a_phrase_and_distinct():
    from assistant.tasks.themes import heading, in_sentence

    texts = ["Buffered asynchronous aggregation for FL. Asynchronous aggregation scales.", "Asynchronous aggregation with privacy."]
    assert heading(["asynchronous aggregation", "privacy"], texts) == "Asynchronous aggregation"
    assert heading(["asynchronous aggregation", "privacy"], texts, taken=["Asynchronous aggregation"]) == "Privacy"
    assert heading(["llm", "pretraining"], ["LLM pretraining diverges.", "Noisy data in LLM pretraining."]) == "LLM pretraining"
    assert in_sentence("Asynchronous aggregation") == "asynchronous aggregation" and in_sentence("LLM pretraining") == "LLM pretraining"
