"""Real models as they behave: thinking (in the content, split anywhere, or in its own field),
the citation styles they write, their reference lists, the server's model list and the context
window, replayed through the real Ollama / OpenAI-compatible backends over real HTTP on
127.0.0.1 and, end to end, through `ask` on the real seeded store."""
from __future__ import annotations

import json

import pytest

from assistant.answer import AnswerResult, ask, ask_stream
from assistant.cite.styles import normalise_citations
from assistant.cite.validate import validate
from assistant.cli import main as cli_main
from assistant.errors import ModelError
from assistant.llm.base import Message, Request, SourceText
from assistant.llm.catalog import list_server_models
from assistant.llm.registry import get_model
from assistant.llm.thinking import Part, ThinkingSplitter, separate
from tests.http_fixtures import (
    FakeServer,
    closed_port_url,
    ollama_chat,
    ollama_tags,
    openai_chat,
    openai_models,
)

OLLAMA_CHAT = "/api/chat"
OPENAI_CHAT = "/v1/chat/completions"
QUESTION = "What context window does Llama 3 support?"
LLAMA3 = "2407.21783"

# How qwen3 / deepseek-r1 write when the thinking comes inside the content. The thinking cites a
# number that was never given ([7]): it must neither show in the answer nor be "removed" from it.
THINKING = (
    "Okay, the user asks about Llama 3's context window. Source [1] says up to 128K tokens; "
    "maybe [7] says more, but I was only given a few sources.【2】"
)
ANSWER = "Llama 3 supports a context window of up to 128K tokens [1]. Its largest model has 405B parameters [1]."
QWEN_OUTPUT = f"<think>\n{THINKING}\n</think>\n\n{ANSWER}"


def pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def parts_of(model, request: Request) -> tuple[str, str]:
    parts = list(model.stream_parts(request))
    out = separate([p.text for p in parts if not p.thinking], [p.text for p in parts if p.thinking])
    return out.answer, out.thinking


def request() -> Request:
    return Request([Message("system", "Answer from the sources."), Message("user", QUESTION)])


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OLLAMA_HOST", "OPENAI_BASE_URL", "OPENAI_API_KEY", "LITASSIST_MODEL", "LITASSIST_BASE_URL",
                 "LITASSIST_API_KEY", "LITASSIST_CONTEXT_WINDOW", "LITASSIST_THINK"):
        monkeypatch.delenv(name, raising=False)


# ---- thinking: the splitter -------------------------------------------------------------------

def test_thinking_split_at_every_position_of_the_stream() -> None:
    for cut in range(1, len(QWEN_OUTPUT)):
        splitter = ThinkingSplitter()
        parts = splitter.feed(QWEN_OUTPUT[:cut]) + splitter.feed(QWEN_OUTPUT[cut:]) + splitter.close()
        out = separate([p.text for p in parts if not p.thinking], [p.text for p in parts if p.thinking])
        assert (out.answer, out.thinking) == (ANSWER, THINKING), cut


def test_thinking_one_character_at_a_time_and_tag_case() -> None:
    splitter = ThinkingSplitter()
    parts = [p for ch in QWEN_OUTPUT.replace("<think>", "<THINK>") for p in splitter.feed(ch)] + splitter.close()
    assert "".join(p.text for p in parts if p.thinking).strip() == THINKING
    assert "".join(p.text for p in parts if not p.thinking).strip() == ANSWER


def test_template_opened_thinking_ends_with_a_lone_close_tag() -> None:
    # deepseek-r1 / qwen3-thinking templates put "<think>\n" in the prompt: the output only closes it
    out = separate([f"{THINKING}\n</think>\n\n{ANSWER}"])
    assert (out.answer, out.thinking) == (ANSWER, THINKING)


def test_output_cut_off_while_thinking_has_no_answer() -> None:
    splitter = ThinkingSplitter()
    parts = splitter.feed("<think>Let me weigh [1] against [2]") + splitter.close()
    assert all(p.thinking for p in parts)
    assert separate([p.text for p in parts if not p.thinking]).answer == ""


def test_a_lone_less_than_sign_is_answer_text() -> None:
    splitter = ThinkingSplitter()
    parts = splitter.feed("Recall < 0.5 and <thin") + splitter.feed("gs> stay [1].") + splitter.close()
    assert "".join(p.text for p in parts) == "Recall < 0.5 and <things> stay [1]."
    assert not any(p.thinking for p in parts)


# ---- thinking through the real backends -------------------------------------------------------

@pytest.mark.parametrize("size", [1, 3, 7])
def test_ollama_thinking_in_content_split_across_chunks_and_bytes(size: int) -> None:
    route = ollama_chat(pieces(QWEN_OUTPUT, size), piece_size=5)  # tags cut across messages, lines across writes
    with FakeServer({OLLAMA_CHAT: route}) as server:
        model = get_model("ollama:qwen3", base_url=server.url, timeout=5)
        assert parts_of(model, request()) == (ANSWER, THINKING)
        assert model.complete(request()) == ANSWER  # what tasks and the condenser use


def test_ollama_thinking_field_and_think_option() -> None:
    route = ollama_chat(pieces(ANSWER, 4), thinking=pieces(THINKING, 9), piece_size=11)
    with FakeServer({OLLAMA_CHAT: route}) as server:
        model = get_model("ollama:qwen3", base_url=server.url, timeout=5, think="true")
        assert parts_of(model, request()) == (ANSWER, THINKING)
        assert server.requests[-1].json()["think"] is True
        default = get_model("ollama:qwen3", base_url=server.url, timeout=5)
        default.complete(request())
        assert "think" not in server.requests[-1].json()  # unset: the model's own default


def test_bad_think_setting_names_the_setting() -> None:
    with pytest.raises(ModelError, match="LITASSIST_THINK"):
        get_model("ollama:qwen3", base_url="http://127.0.0.1:9", think="maybe")


@pytest.mark.parametrize("reasoning", [True, False])
def test_openai_reasoning_content_deltas_and_think_tags(reasoning: bool) -> None:
    if reasoning:  # vLLM / SGLang / DeepSeek with a reasoning parser
        route = openai_chat(pieces(ANSWER, 5), reasoning=pieces(THINKING, 6), piece_size=13)
    else:  # the same server without one: the tags stay in the content
        route = openai_chat(pieces(QWEN_OUTPUT, 2), piece_size=13)
    with FakeServer({OPENAI_CHAT: route}) as server:
        model = get_model("openai:deepseek-r1", base_url=f"{server.url}/v1", timeout=5)
        assert parts_of(model, request()) == (ANSWER, THINKING)
        assert model.complete(request()) == ANSWER


def test_stop_sequences_reach_both_servers() -> None:
    with FakeServer({OLLAMA_CHAT: ollama_chat(["a"]), OPENAI_CHAT: openai_chat(["a"])}) as server:
        get_model("ollama:m", base_url=server.url, timeout=5).complete(Request([Message("user", "q")], stop=["\n\n"]))
        assert server.requests[-1].json()["options"]["stop"] == ["\n\n"]
        get_model("openai:m", base_url=f"{server.url}/v1", timeout=5).complete(Request([Message("user", "q")], stop=["END"]))
        assert server.requests[-1].json()["stop"] == ["END"]


# ---- citation styles --------------------------------------------------------------------------

SOURCES = [SourceText(n, f"p{n}", f"Paper {n} on federated averaging", ["A. Author"], 2020, "Text.") for n in (1, 2, 3)]


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        ("A claim [1][2].", "A claim [1][2]."),
        ("A claim [1, 2].", "A claim [1, 2]."),
        ("A claim [1-3].", "A claim [1-3]."),
        ("A claim [Source 1].", "A claim [1]."),
        ("A claim (Source 2).", "A claim [2]."),
        ("A claim [Sources 1 and 3].", "A claim [1, 3]."),
        ("A claim (source: 3).", "A claim [3]."),
        ("A claim 【1】 and 【2†source】 and 【3:0†L1-L4】.", "A claim [1] and [2] and [3]."),
        ("A claim[^1].\n\n[^1]: Paper 3 on federated averaging (2020).", "A claim[3]."),
        ("A claim[^a].\n\n[^a]: Source 2.", "A claim[2]."),
        ("A claim[^2].", "A claim[2]."),
        ("A claim [1].\n\nReferences:\n[1] Paper 1 on federated averaging, 2020.", "A claim [1]."),
        ("A claim [2].\n\n**Sources:**\n- Source 2: Paper 2", "A claim [2]."),
        ("A claim [1].\n\n## Bibliography\n1. Paper 1", "A claim [1]."),
    ],
)
def test_citation_styles_normalise_to_ours(written: str, normalised: str) -> None:
    result = normalise_citations(written, SOURCES)
    assert result.text == normalised
    assert result.removed == []


def test_what_cannot_be_normalised_is_removed_and_reported() -> None:
    text = "Alpha[^1]. Beta[^9]. Gamma (Source 7).\n\n[^1]: A textbook nobody gave you.\n\nSources:\n[1] Paper 1\n[5] Invented, 2019."
    checked = validate(text, SOURCES, check_support=False)
    assert checked.text == "Alpha. Beta. Gamma."
    reported = {(r["marker"], r["reason"].split(" (")[0]) for r in checked.removed}
    assert reported == {
        ("[^1]", "footnote that names no retrieved source"),
        ("[^9]", "footnote with no definition and no such source"),
        ("[5]", "in the model's own reference list, not a retrieved source"),
        ("[7]", "not a retrieved source"),
    }


def test_a_heading_inside_the_answer_is_not_a_reference_list() -> None:
    text = "Sources:\nFederated averaging trains on devices [1]. It saves bandwidth [2]."
    assert normalise_citations(text, SOURCES).text == text


# ---- end to end: ask() on the real seeded store through the real backends ---------------------

STYLES = {
    "brackets": "Llama 3 supports a context window of up to 128K tokens [1][1]. Its largest model has 405B parameters [1].",
    "source word": "Llama 3 supports a context window of up to 128K tokens [Source 1]. Its largest model has 405B parameters (Source 1).",
    "lenticular": "Llama 3 supports a context window of up to 128K tokens【1】. Its largest model has 405B parameters【1†source】.",
    "footnotes": "Llama 3 supports a context window of up to 128K tokens[^1]. Its largest model has 405B parameters[^1].\n\n"
                 "[^1]: The Llama 3 Herd of Models, 2024.",
}


def check_llama3_answer(result: AnswerResult) -> None:
    assert not result.abstained
    assert [c.paper_id for c in result.citations] == [LLAMA3]
    assert result.answer.count("[1]") == 2 and "Source" not in result.answer and "^" not in result.answer
    assert result.unsupported_sentences == []


@pytest.mark.parametrize("style", sorted(STYLES))
def test_ask_normalises_each_style_through_ollama(seeded_store, style: str) -> None:
    with FakeServer({OLLAMA_CHAT: ollama_chat(pieces(STYLES[style], 4), piece_size=9)}) as server:
        result = ask(QUESTION, store=seeded_store, model=get_model("ollama:m", base_url=server.url, timeout=10))
    check_llama3_answer(result)
    assert result.removed_citations == []


def test_ask_keeps_thinking_apart_and_unchecked(seeded_store) -> None:
    route = ollama_chat(pieces(QWEN_OUTPUT, 3), piece_size=7)
    with FakeServer({OLLAMA_CHAT: route}) as server:
        items = list(ask_stream(QUESTION, store=seeded_store, model=get_model("ollama:qwen3", base_url=server.url, timeout=10)))
    *chunks, result = items
    assert "".join(c.text for c in chunks if isinstance(c, Part)).strip() == THINKING
    assert "".join(c for c in chunks if isinstance(c, str)).strip() == ANSWER
    check_llama3_answer(result)
    assert result.thinking == THINKING
    assert result.removed_citations == []  # the [7] and 【2】 of the thinking are not the answer's
    assert "<think>" not in result.raw_answer and result.to_json()["thinking"] == THINKING


def test_ask_reports_a_bad_number_in_the_models_reference_list(seeded_store) -> None:
    text = STYLES["source word"] + "\n\nReferences:\n[1] The Llama 3 Herd of Models (2024)\n[14] Attention Is All You Need (2017)"
    route = openai_chat(pieces(text, 6), reasoning=pieces(THINKING, 10))
    with FakeServer({OPENAI_CHAT: route}) as server:
        result = ask(QUESTION, store=seeded_store, model=get_model("openai:m", base_url=f"{server.url}/v1", timeout=10))
    check_llama3_answer(result)
    assert "References" not in result.answer and "Attention" not in result.answer
    assert [r["marker"] for r in result.removed_citations] == ["[14]"]
    assert "reference list" in result.removed_citations[0]["reason"]
    assert result.thinking == THINKING


# ---- the context window -----------------------------------------------------------------------

def test_sources_are_trimmed_by_rank_to_fit_the_context_window(seeded_store) -> None:
    with FakeServer({OLLAMA_CHAT: ollama_chat(pieces(STYLES["brackets"], 5))}) as server:
        roomy = ask(QUESTION, store=seeded_store, model=get_model("ollama:m", base_url=server.url, timeout=10), k=6)
        sent_all = server.requests[-1].json()["messages"][-1]["content"]
        tight = get_model("ollama:m", base_url=server.url, timeout=10, context_window=1400)
        result = ask(QUESTION, store=seeded_store, model=tight, k=6)
        sent = server.requests[-1].json()
    assert roomy.sources_trimmed == [] and sent_all.count("<source n=") == 6
    kept = sent["messages"][-1]["content"].count("<source n=")
    assert 1 <= kept < 6
    assert result.sources_trimmed == list(range(kept + 1, 7))  # the lowest-ranked left out
    assert sent["options"]["num_ctx"] == 1400  # and Ollama is told the window we planned for
    assert result.to_json()["sources_trimmed"] == result.sources_trimmed
    check_llama3_answer(result)


def test_a_window_too_small_for_one_source_is_a_clear_error(seeded_store) -> None:
    with FakeServer({OLLAMA_CHAT: ollama_chat(["x"])}) as server:
        tiny = get_model("ollama:m", base_url=server.url, timeout=10, context_window=300)
        with pytest.raises(ModelError, match="context window of 300 tokens.*--context-window"):
            ask(QUESTION, store=seeded_store, model=tiny)
        assert server.requests == []  # nothing was sent to be cut by the server
    with pytest.raises(ModelError, match="at least 256"):
        get_model("ollama:m", context_window="lots")


# ---- the server's models ----------------------------------------------------------------------

TAGS = [
    {"name": "qwen3:8b", "model": "qwen3:8b", "modified_at": "2025-05-01T00:00:00Z", "size": 5225388164, "digest": "abc",
     "details": {"format": "gguf", "family": "qwen3", "families": ["qwen3"], "parameter_size": "8.2B", "quantization_level": "Q4_K_M"}},
    {"name": "llama3.2:latest", "model": "llama3.2:latest", "modified_at": "2025-01-01T00:00:00Z", "size": 2019393189,
     "digest": "def", "details": {"format": "gguf", "family": "llama", "parameter_size": "3.2B", "quantization_level": "Q4_K_M"}},
]


def test_list_ollama_models_from_api_tags() -> None:
    with FakeServer({"/api/tags": ollama_tags(TAGS)}) as server:
        models = list_server_models("ollama", base_url=server.url)
        assert server.requests[-1].method == "GET"
    assert [m.name for m in models] == ["llama3.2:latest", "qwen3:8b"]
    assert models[1].detail == "qwen3 8.2B Q4_K_M" and models[1].size == 5225388164


def test_list_openai_models_from_v1_models() -> None:
    with FakeServer({"/v1/models": openai_models(["gpt-4o-mini", "deepseek-r1"])}) as server:
        models = list_server_models("openai", base_url=f"{server.url}/v1", api_key="sk-test")
        assert server.requests[-1].headers.get("Authorization") == "Bearer sk-test"
    assert [m.name for m in models] == ["deepseek-r1", "gpt-4o-mini"]


def test_listing_errors_name_backend_and_url() -> None:
    url = closed_port_url()
    with pytest.raises(ModelError, match=f"ollama backend cannot be reached at {url}"):
        list_server_models("ollama", base_url=url, timeout=3)
    with pytest.raises(ModelError, match="no server to list models from"):
        list_server_models("llamacpp")


def test_cli_models_json(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    with FakeServer({"/api/tags": ollama_tags(TAGS)}) as server:
        assert cli_main(["models", "ollama", "--base-url", server.url, "--store", str(tmp_path), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [m["spec"] for m in listed] == ["ollama:llama3.2:latest", "ollama:qwen3:8b"]


def test_cli_ask_json_has_thinking_and_trimming(capsys: pytest.CaptureFixture[str], seeded_store_dir, tmp_path) -> None:
    import shutil

    store = tmp_path / "store"
    shutil.copytree(seeded_store_dir, store)
    with FakeServer({OLLAMA_CHAT: ollama_chat(pieces(QWEN_OUTPUT, 5))}) as server:
        code = cli_main(["ask", QUESTION, "--store", str(store), "--model", "ollama:qwen3", "--base-url", server.url,
                         "--context-window", "1400", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["thinking"] == THINKING and data["answer"] == ANSWER
    assert data["sources_trimmed"]


def test_openai_stream_cut_before_finishing_is_an_error_not_a_short_answer() -> None:
    from tests.http_fixtures import reply_stream

    def cut(handler) -> None:  # what llama.cpp's server does when it fails after streaming began
        chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                 "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Llama 3"}, "finish_reason": None}]}
        reply_stream(handler, "text/event-stream", [b"data: " + json.dumps(chunk).encode() + b"\n\n"])

    with FakeServer({OPENAI_CHAT: cut}) as server, pytest.raises(ModelError, match="ended before the model finished.*--context-window"):
        get_model("openai:m", base_url=f"{server.url}/v1", timeout=5).complete(request())
