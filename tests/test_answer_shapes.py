"""The offline answer shaped by the question, on the real seeded store (real embedder, real
Chroma): named things are answered, comparisons get a block per item, record questions are
answered from the records, quotes are attributed and never lean on a sentence not shown."""
from __future__ import annotations

import re

import pytest

from assistant.answer import ask
from assistant.cite.markers import parse_markers
from assistant.llm.base import SourceText
from assistant.llm.extractive_answer import (
    DEPENDENT,
    attribution,
    is_dependent,
    with_antecedents,
)
from assistant.question_shape import (
    AUTHOR_PAPERS,
    AUTHORS,
    COMPARE,
    COUNT,
    GENERAL,
    SUMMARY,
    VENUE,
    YEAR,
    classify,
    mentions,
    name_candidates,
)
from assistant.text_terms import content_terms

QUOTE = re.compile(r"“(.+?)”\s*\[(\d+)\]")


def cited_titles(result) -> list[str]:
    return [c.title for c in result.citations]


def assert_valid(result) -> None:
    retrieved = {r.paper_id for r in result.retrieved}
    assert not result.abstained
    assert result.citations and {c.paper_id for c in result.citations} <= retrieved
    assert result.removed_citations == [] and result.unsupported_sentences == []
    assert {n for m in parse_markers(result.answer) for n in m.numbers} == {c.n for c in result.citations}


def paragraphs(result) -> list[str]:
    return [p for p in result.answer.split("\n\n")[1:] if p.strip()]


# ---- question shapes (pure) -------------------------------------------------------------------

@pytest.mark.parametrize(
    "question, kind, items",
    [
        ("Compare FedBuff and FedSynth", COMPARE, ["FedBuff", "FedSynth"]),
        ("FedBuff vs. FedSynth?", COMPARE, ["FedBuff", "FedSynth"]),
        ("How is FSDP different from DDP?", COMPARE, ["FSDP", "DDP"]),
        ("What is the difference between FedAvg and FedProx?", COMPARE, ["FedAvg", "FedProx"]),
        ("Who wrote the Papaya paper?", AUTHORS, ["Papaya"]),
        ("When was Papaya published?", YEAR, ["Papaya"]),
        ("Where was FedSynth published?", VENUE, ["FedSynth"]),
        ("Which papers did Kshitiz Malik write?", AUTHOR_PAPERS, ["Kshitiz Malik"]),
        ("Papers by John Nguyen", AUTHOR_PAPERS, ["John Nguyen"]),
        ("How many papers on federated learning?", COUNT, ["federated learning"]),
        ("Summarise the FedSynth paper", SUMMARY, ["FedSynth"]),
        ("What is the Llama 3 paper about?", SUMMARY, ["Llama 3"]),
        ("How does federated learning handle privacy?", GENERAL, []),
        # "vs" inside a long question compares clauses, not named things: answered as a question
        ("Metoclopramide by 2 min bolus vs 15 min infusion: does it affect the improvement of headache?", GENERAL, []),
        ("Assessing Outcomes via Phone Interviews Versus Patient Self-Survey in the Clinic: Are We Measuring the Same Thing?",
         GENERAL, []),
    ],
)
def test_classify(question, kind, items):
    shape = classify(question)
    assert (shape.kind, shape.items) == (kind, items)


def test_name_candidates_and_mentions():
    assert name_candidates("What does Opacus offer?") == ["Opacus"]
    assert "FSDP" in name_candidates("how is FSDP different from DDP") and "DDP" in name_candidates("how is FSDP different from DDP")
    assert mentions("Papaya", "Papaya: Practical, Private, and Scalable Federated Learning", "") == 3
    assert mentions("partial model personalization", "Federated Learning with Partial Model Personalization", "") == 2
    assert mentions("DDP", "", "comparable performance to Distributed Data Parallel while") == 1  # spelled out
    assert mentions("Opacus", "", "a library for training with opacus") == 0  # a name as written, not any case
    assert mentions("Tokyo", "", "We study federated learning.") == 0


def test_dependent_sentences():
    for text in ["However, the role of AMPK in fibrosis is not well understood.", "To address these concerns, we propose X.",
                 "These results show a gain.", "To exploit this, we select clients.", "It outperforms the baseline."]:
        assert is_dependent(text), text
    for text in ["This paper presents Llama 3.", "In this work, we focus on non-IID data.", "Our largest model has 405B parameters.",
                 "It is widely acknowledged that large models help.", "We propose FedBuff."]:
        assert not is_dependent(text), text
    sentences = {0: "We propose X.", 1: "However, X is slow.", 3: "Moreover, it fails.", 5: "Thus it works."}
    dependent = {i: bool(DEPENDENT.match(t)) for i, t in sentences.items()}
    # 1 comes with its antecedent 0; 3 and 5 have no standalone sentence before them: left out
    assert with_antecedents([1, 3, 5], sentences, dependent) == [0, 1]


def test_attribution_names_the_paper():
    titled = SourceText(2, "p", "FedSynth: Gradient Compression via Synthetic Data", ["Shengyuan Hu", "Jack Goetz", "Kshitiz Malik"], 2022, "")
    assert attribution(titled) == "**FedSynth** (Hu et al., 2022)"
    untitled = SourceText(3, "q", "[untitled] Federated learning enables…", ["Ana López", "Wei Chen"], 2019, "")
    assert attribution(untitled) == "**López and Chen** (2019)"
    anonymous = SourceText(4, "r", "[untitled] We introduce Opacus…", [], None, "")
    assert attribution(anonymous) == "**Untitled paper [4]** (n.d.)"


# ---- answers on the seeds ---------------------------------------------------------------------

@pytest.mark.parametrize(
    "question, word",
    [("What does Opacus offer?", "Opacus"), ("What is P4L?", "P4L"), ("What is FURL?", "FURL"), ("Tell me about FedBuff", "FedBuff")],
)
def test_named_things_are_answered(seeded_store, question, word):
    result = ask(question, store=seeded_store)
    assert_valid(result)
    assert word in result.named or any(word in n for n in result.named)
    cited = seeded_store.get(result.citations[0].paper_id)
    assert word in f"{cited.title} {cited.abstract}"


@pytest.mark.parametrize(
    "question, written",
    [("fsdp vs ddp", "FSDP"), ("compare fedbuff and fedsynth", "FedBuff"), ("who wrote papaya?", "Papaya")],
)
def test_names_typed_in_lower_case_are_answered(seeded_store, question, written):
    """People type names in lower case: a compared or asked-about name is still the name the library
    writes ("FSDP", "FedBuff"). (A lower-case word elsewhere in a question is not taken for a name:
    "gold" and "team" are acronyms in sciqa, GOLD and TEAM, and ordinary words too.)"""
    result = ask(question, store=seeded_store)
    assert_valid(result)
    assert not result.abstained and result.citations
    cited = seeded_store.get(result.citations[0].paper_id)
    assert written in f"{cited.title} {cited.abstract}"


@pytest.mark.parametrize(
    "question",
    ["Compare Bach and Vivaldi", "Which papers did Wolfgang Mozart write?", "Who wrote the novel Pride and Prejudice?",
     "When was the Eiffel Tower built?", "Summarise the history of the Roman Empire"],
)
def test_off_topic_shaped_questions_still_abstain(seeded_store, question):
    result = ask(question, store=seeded_store)
    assert result.abstained and result.citations == []


def test_general_answer_groups_quotes_by_attributed_paper(seeded_store):
    result = ask("How does federated learning handle privacy?", store=seeded_store)
    assert_valid(result)
    seen: set[int] = set()
    for paragraph in paragraphs(result):
        assert paragraph.startswith("**"), paragraph  # names its paper first
        quotes = QUOTE.findall(paragraph)
        assert quotes and len({n for _t, n in quotes}) == 1  # one paper per block
        seen.add(int(quotes[0][1]))
        for i, (text, _n) in enumerate(quotes):
            assert not is_dependent(text) or i > 0, text  # leans only on the quote shown before it
        assert not QUOTE.sub("", paragraph).count("“")
    assert len(seen) == len(paragraphs(result))


def test_dangling_opener_comes_with_its_antecedent_or_not_at_all(seeded_store):
    for question in ["What does FedBuff show under differential privacy?", "What are the concerns about federated learning privacy?"]:
        result = ask(question, store=seeded_store)
        for paragraph in paragraphs(result):
            quotes = [t for t, _n in QUOTE.findall(paragraph)]
            for previous, text in zip([None, *quotes], quotes):
                if is_dependent(text):
                    assert previous is not None, text
                    abstract = " ".join(seeded_store.get(c.paper_id).abstract for c in result.citations)
                    assert abstract.find(previous.rstrip(".")) < abstract.find(text.rstrip("."))


def test_compare_gives_one_block_per_item(seeded_store):
    result = ask("Compare FedBuff and FedSynth", store=seeded_store)
    assert_valid(result)
    assert result.question_kind == COMPARE
    blocks = re.split(r"^#### ", result.answer, flags=re.MULTILINE)[1:]
    assert [b.split("\n", 1)[0] for b in blocks] == ["FedBuff", "FedSynth"]
    for item, block in zip(["FedBuff", "FedSynth"], blocks):
        numbers = {int(n) for _t, n in QUOTE.findall(block)}
        papers = [seeded_store.get(c.paper_id) for c in result.citations if c.n in numbers]
        assert papers and all(item in f"{p.title} {p.abstract}" for p in papers)


def test_compare_acronyms_in_one_paper(seeded_store):
    result = ask("How is FSDP different from DDP?", store=seeded_store)
    assert_valid(result)
    blocks = re.split(r"^#### ", result.answer, flags=re.MULTILINE)[1:]
    assert len(blocks) == 2
    ddp_quotes = [t for t, _n in QUOTE.findall(blocks[1])]
    assert any("Distributed Data Parallel" in q for q in ddp_quotes)
    fsdp_quotes = [t for t, _n in QUOTE.findall(blocks[0])]
    assert not set(ddp_quotes) & set(fsdp_quotes)  # each block says something of its own


def test_who_wrote_is_answered_from_the_record(seeded_store):
    result = ask("Who wrote the Papaya paper?", store=seeded_store)
    assert_valid(result)
    papaya = seeded_store.get(result.citations[0].paper_id)
    assert papaya.title.startswith("Papaya")
    for author in papaya.authors[:3]:
        assert author in result.answer
    assert str(papaya.year) in result.answer and "[1]" in result.answer


def test_year_and_venue_from_the_record(seeded_store):
    year = ask("When was Papaya published?", store=seeded_store)
    assert_valid(year)
    assert "was published in 2021 [1]." in year.answer
    venue = ask("Where was FedSynth published?", store=seeded_store)
    assert_valid(venue)
    assert "FedSynth" in venue.answer and "no venue" in venue.answer


def test_an_authors_papers_are_listed_from_the_records(seeded_store):
    result = ask("Which papers did Kshitiz Malik write?", store=seeded_store)
    assert_valid(result)
    expected = {p.id for p in seeded_store.papers() if "Kshitiz Malik" in p.authors}
    assert {c.paper_id for c in result.citations} == expected
    assert f"The library holds {len(expected)} papers by Kshitiz Malik:" in result.answer
    assert result.answer.count("\n- ") == len(expected)


def test_counting_papers_on_a_topic(seeded_store):
    result = ask("How many papers on federated learning?", store=seeded_store)
    assert_valid(result)
    terms = content_terms("federated learning")
    expected = {p.id for p in seeded_store.papers() if terms <= content_terms(f"{p.title} {p.abstract}")}
    assert {c.paper_id for c in result.citations} == expected
    assert f"The library holds {len(expected)} papers whose title or abstract mentions federated learning:" in result.answer


def test_summarise_a_named_paper(seeded_store):
    result = ask("Summarise the FedSynth paper", store=seeded_store)
    assert_valid(result)
    assert result.question_kind == SUMMARY
    (block,) = paragraphs(result)
    assert block.startswith("**FedSynth** (Hu et al., 2022): “")
    assert len(QUOTE.findall(block)) >= 2 and {c.title for c in result.citations} == {seeded_store.get(result.citations[0].paper_id).title}


def test_a_plain_capitalised_word_is_a_name_only_where_a_paper_introduces_it():
    from assistant.shaped_retrieval import introduces

    assert introduces("Opacus", "We introduce Opacus, a free, open-source PyTorch library.")
    assert introduces("Papaya", "In this paper we present Papaya, a system for federated learning.")
    assert not introduces("Africa", "Malaria burden in sub-Saharan Africa remains high.")
    assert not introduces("World", "Guidelines of the World Health Organization were followed.")
