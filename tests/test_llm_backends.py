"""Generative backends and the registry, each against a real HTTP server on 127.0.0.1."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import traceback
import types
from pathlib import Path

import pytest

from assistant.settings import load_settings
from assistant.errors import ModelError
from assistant.llm.base import Message, ModelUnreachable, Request
from assistant.llm.registry import available_backends, get_model, model_from_settings, parse_spec
from tests.http_fixtures import (
    FakeServer,
    Gate,
    Handler,
    closed_port_url,
    json_error,
    ollama_chat,
    openai_chat,
    reply_stream,
    stall,
    stall_mid_stream,
)

SHORT = 1.0  # seconds: the timeout used by stall tests
FAKE_KEY = "sk-test-FAKE-0123456789abcdefSECRET"
OLLAMA_CHAT = "/api/chat"
OPENAI_CHAT = "/v1/chat/completions"
MESSAGES = [Message("system", "Answer from the sources."), Message("user", "What is attention?")]


def request(**kwargs: object) -> Request:
    return Request(messages=list(MESSAGES), **kwargs)  # type: ignore[arg-type]


def sent_messages(server: FakeServer) -> list[dict[str, str]]:
    return [{"role": m["role"], "content": m["content"]} for m in server.requests[-1].json()["messages"]]


def expected_messages() -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in MESSAGES]


def error_text(exc: BaseException) -> str:
    """Everything a user or a log could see of an exception: message, repr, traceback."""
    return f"{exc}\n{exc!r}\n" + "".join(traceback.format_exception(exc))


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OLLAMA_HOST", "OPENAI_BASE_URL", "OPENAI_API_KEY", "OPENAI_API_BASE", "OLLAMA_API_KEY",
                 "LITASSIST_MODEL", "LITASSIST_BASE_URL", "LITASSIST_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def ollama(url: str, name: str = "m", timeout: float = 5.0):
    return get_model(f"ollama:{name}", base_url=url, timeout=timeout)


def openai_model(url: str, name: str = "m", key: str | None = FAKE_KEY, timeout: float = 5.0):
    return get_model(f"openai:{name}", base_url=f"{url}/v1", api_key=key, timeout=timeout)


# ---- Ollama -----------------------------------------------------------------------------------

def test_ollama_streams_chunks_in_order_and_sends_our_messages() -> None:
    gate = Gate()
    tokens = ["Attention ", "weighs ", "tokens", " [1]."]
    with FakeServer({OLLAMA_CHAT: ollama_chat(tokens, model="llama3.2:3b", gate=gate)}) as server:
        chunks = ollama(server.url, "llama3.2:3b").stream(request(temperature=0.3, max_tokens=50))
        first = next(chunks)  # arrives while the server still holds the rest back
        gate.open()
        rest = list(chunks)
    assert gate.opened_in_time is True
    assert [first, *rest] == tokens
    body = server.requests[-1].json()
    assert server.requests[-1].path == OLLAMA_CHAT
    assert body["model"] == "llama3.2:3b"
    assert body["stream"] is True
    assert body["options"]["temperature"] == 0.3
    assert body["options"]["num_predict"] == 50
    assert sent_messages(server) == expected_messages()


def test_ollama_complete_joins_the_stream() -> None:
    with FakeServer({OLLAMA_CHAT: ollama_chat(["a", "b", "c"])}) as server:
        assert ollama(server.url).complete(request()) == "abc"
    assert [r.path for r in server.requests] == [OLLAMA_CHAT]  # no extra /api/show round trip


def test_ollama_model_not_found_names_model_status_and_fix() -> None:
    with FakeServer({OLLAMA_CHAT: json_error(404, {"error": "model 'nope' not found"})}) as server:
        with pytest.raises(ModelError) as info:
            list(ollama(server.url, "nope").stream(request()))
    message = str(info.value)
    assert "ollama" in message and server.url in message
    assert "404 Not Found" in message and "model 'nope' not found" in message
    assert "ollama pull nope" in message


def test_ollama_server_error_is_unreachable_with_status() -> None:
    with FakeServer({OLLAMA_CHAT: json_error(500, {"error": "out of memory"})}) as server:
        with pytest.raises(ModelUnreachable) as info:
            list(ollama(server.url).stream(request()))
    assert "500 Internal Server Error" in str(info.value) and "out of memory" in str(info.value)
    assert server.url in str(info.value)


def test_ollama_connection_refused() -> None:
    url = closed_port_url()
    with pytest.raises(ModelUnreachable) as info:
        list(ollama(url).stream(request()))
    assert str(info.value).startswith(f"ollama backend cannot be reached at {url}")
    assert "connection failed" in str(info.value)


@pytest.mark.parametrize("mid_stream", [False, True], ids=["before-reply", "mid-stream"])
def test_ollama_stalled_server_times_out(mid_stream: bool) -> None:
    first_line = json.dumps({"model": "m", "message": {"role": "assistant", "content": "x"}, "done": False})
    with FakeServer({}) as server:
        server.routes[OLLAMA_CHAT] = (
            stall_mid_stream(server, first_line.encode() + b"\n", "application/x-ndjson") if mid_stream
            else stall(server)
        )
        started = time.monotonic()
        with pytest.raises(ModelUnreachable) as info:
            list(ollama(server.url, timeout=SHORT).stream(request()))
        elapsed = time.monotonic() - started
    assert "timed out" in str(info.value) and server.url in str(info.value)
    assert elapsed < SHORT + 3


def test_ollama_error_line_inside_stream() -> None:
    def route(handler: Handler) -> None:
        reply_stream(handler, "application/x-ndjson", [b'{"error": "model crashed"}\n'])

    with FakeServer({OLLAMA_CHAT: route}) as server:
        with pytest.raises(ModelUnreachable, match="model crashed"):
            list(ollama(server.url).stream(request()))


# ---- OpenAI-compatible ------------------------------------------------------------------------

def test_openai_streams_chunks_in_order_with_key_and_messages() -> None:
    gate = Gate()
    tokens = ["Self-", "attention", " relates", " positions [2]."]
    with FakeServer({OPENAI_CHAT: openai_chat(tokens, gate=gate)}) as server:
        chunks = openai_model(server.url, "qwen2.5").stream(request(temperature=0.2, max_tokens=64))
        first = next(chunks)
        gate.open()
        rest = list(chunks)
    assert gate.opened_in_time is True
    assert [first, *rest] == tokens
    sent = server.requests[-1]
    assert sent.path == OPENAI_CHAT
    assert sent.headers["Authorization"] == f"Bearer {FAKE_KEY}"
    body = sent.json()
    assert body["model"] == "qwen2.5" and body["stream"] is True
    assert body["temperature"] == 0.2 and body["max_tokens"] == 64
    assert sent_messages(server) == expected_messages()


def test_openai_without_key_still_works_for_local_servers() -> None:
    with FakeServer({OPENAI_CHAT: openai_chat(["ok"])}) as server:
        assert openai_model(server.url, key=None).complete(request()) == "ok"


def test_openai_auth_error_never_shows_the_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    echo = {"error": {"message": f"Incorrect API key provided: {FAKE_KEY}.", "type": "invalid_request_error",
                      "code": "invalid_api_key"}}
    with FakeServer({OPENAI_CHAT: json_error(401, echo)}) as server:
        model = openai_model(server.url)
        with pytest.raises(ModelError) as info:
            list(model.stream(request()))
    assert server.requests[-1].headers["Authorization"] == f"Bearer {FAKE_KEY}"  # the key was used
    message = str(info.value)
    assert "401 Unauthorized" in message and server.url in message and "API key" in message
    for text in (error_text(info.value), caplog.text, repr(model), model.describe(), str(vars(model))):
        assert FAKE_KEY not in text


@pytest.mark.parametrize("failure", ["refused", "stall"])
def test_openai_transport_errors_never_show_the_key(failure: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with FakeServer({}) as server:
        server.routes[OPENAI_CHAT] = stall(server)
        url = closed_port_url() if failure == "refused" else server.url
        with pytest.raises(ModelUnreachable) as info:
            list(openai_model(url, timeout=SHORT).stream(request()))
    assert FAKE_KEY not in error_text(info.value) and FAKE_KEY not in caplog.text


def test_openai_connection_refused() -> None:
    url = closed_port_url()
    with pytest.raises(ModelUnreachable) as info:
        list(openai_model(url).stream(request()))
    assert str(info.value).startswith(f"openai backend cannot be reached at {url}/v1")
    assert "connection failed" in str(info.value)


@pytest.mark.parametrize("mid_stream", [False, True], ids=["before-reply", "mid-stream"])
def test_openai_stalled_server_times_out(mid_stream: bool) -> None:
    first = b'data: {"id":"c1","object":"chat.completion.chunk","created":0,"model":"m",' \
            b'"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}\n\n'
    with FakeServer({}) as server:
        server.routes[OPENAI_CHAT] = (
            stall_mid_stream(server, first, "text/event-stream") if mid_stream else stall(server)
        )
        started = time.monotonic()
        with pytest.raises(ModelUnreachable) as info:
            list(openai_model(server.url, timeout=SHORT).stream(request()))
        elapsed = time.monotonic() - started
    assert "timed out" in str(info.value) and server.url in str(info.value)
    assert elapsed < SHORT + 3  # no retries


def test_openai_unknown_model_and_server_error() -> None:
    not_found = json_error(404, {"error": {"message": "The model `nope` does not exist", "type": "invalid_request_error"}})
    with FakeServer({OPENAI_CHAT: not_found}) as server:
        with pytest.raises(ModelError) as info:
            list(openai_model(server.url, "nope").stream(request()))
    assert "404 Not Found" in str(info.value) and "does not exist" in str(info.value)
    assert not isinstance(info.value, ModelUnreachable)
    with FakeServer({OPENAI_CHAT: json_error(503, {"error": {"message": "overloaded"}})}) as server:
        with pytest.raises(ModelUnreachable, match="503 Service Unavailable: overloaded"):
            list(openai_model(server.url).stream(request()))


# ---- registry ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("extractive", ("extractive", "")),
        ("", ("extractive", "")),
        ("ollama:llama3.2:3b", ("ollama", "llama3.2:3b")),
        ("  OpenAI:gpt-4o-mini ", ("openai", "gpt-4o-mini")),
        ("llamacpp:/models/x.gguf", ("llamacpp", "/models/x.gguf")),
    ],
)
def test_parse_spec(spec: str, parsed: tuple[str, str]) -> None:
    assert parse_spec(spec) == parsed


@pytest.mark.parametrize("spec", ["gpt4", "hf:some/model", "anthropic:claude"])
def test_unknown_spec_lists_the_valid_forms(spec: str) -> None:
    with pytest.raises(ModelError) as info:
        get_model(spec)
    message = str(info.value)
    assert spec in message
    for form in ("extractive", "ollama:MODEL", "openai:MODEL", "llamacpp:PATH.gguf"):
        assert form in message


@pytest.mark.parametrize("spec", ["ollama:", "openai:  ", "llamacpp:"])
def test_spec_without_a_model_name(spec: str) -> None:
    with pytest.raises(ModelError, match="names no model"):
        get_model(spec)


def test_ollama_base_url_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    assert get_model("ollama:m").base_url == "http://127.0.0.1:11434"
    monkeypatch.setenv("OLLAMA_HOST", "gpu-box:9999")
    assert get_model("ollama:m").base_url == "http://gpu-box:9999"
    monkeypatch.setenv("OLLAMA_HOST", "gpu-box")
    assert get_model("ollama:m").base_url == "http://gpu-box:11434"
    monkeypatch.setenv("OLLAMA_HOST", "https://ollama.example.org/")
    assert get_model("ollama:m").base_url == "https://ollama.example.org"
    assert get_model("ollama:m", base_url="10.0.0.2:1234").base_url == "http://10.0.0.2:1234"


def test_openai_base_url_and_key_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    assert get_model("openai:m").base_url == "https://api.openai.com/v1"
    with FakeServer({OPENAI_CHAT: openai_chat(["ok"])}) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", f"{server.url}/v1")
        monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
        assert get_model("openai:m").complete(request()) == "ok"
        assert server.requests[-1].headers["Authorization"] == "Bearer sk-from-env"
        get_model("openai:m", api_key="sk-from-arg").complete(request())
        assert server.requests[-1].headers["Authorization"] == "Bearer sk-from-arg"
    assert get_model("openai:m", base_url="http://elsewhere:8000/v1/").base_url == "http://elsewhere:8000/v1"


def test_resolve_model_uses_settings_and_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config.toml").write_text('model = "ollama:from-file"\nbase_url = "http://127.0.0.1:5555"\n')
    settings = load_settings(tmp_path)
    model = model_from_settings(settings)
    assert model.name == "ollama:from-file" and model.base_url == "http://127.0.0.1:5555"
    assert model_from_settings(settings, "openai:other").name == "openai:other"
    monkeypatch.setenv("LITASSIST_MODEL", "ollama:from-env")
    assert model_from_settings(load_settings(tmp_path)).name == "ollama:from-env"
    assert model_from_settings(load_settings(tmp_path, model="ollama:from-option")).name == "ollama:from-option"


def test_available_backends_describe_every_spec_form() -> None:
    backends = {b["name"]: b for b in available_backends()}
    assert list(backends) == ["extractive", "ollama", "openai", "llamacpp"]
    assert backends["ollama"]["needs_base_url"] and backends["openai"]["uses_api_key"]
    assert not backends["extractive"]["needs_base_url"]
    for info in backends.values():
        assert parse_spec(str(info["example"]))[0] == info["name"]
        assert info["description"]


def test_registry_imports_no_backend_eagerly() -> None:
    code = ("import sys, assistant.llm.registry; "
            "print(sorted(m for m in sys.modules if m.startswith(('assistant.llm.', 'llama_index', 'openai', 'ollama'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent, env={**os.environ, "PYTHONPATH": "."}).stdout
    assert eval(out) == ["assistant.llm.base", "assistant.llm.registry", "assistant.llm.thinking"]


def test_missing_extractive_module_is_a_model_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "assistant.llm.extractive", None)  # makes the import fail
    with pytest.raises(ModelError, match="extractive"):
        get_model("extractive")


def test_llamacpp_without_the_extra_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model_file = tmp_path / "tiny.gguf"
    model_file.write_bytes(b"GGUF")
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # as if llama-cpp-python were not installed
    with pytest.raises(ModelError) as info:
        get_model(f"llamacpp:{model_file}")
    assert "pip install 'litassist[llamacpp]'" in str(info.value)


class _StubLlama:
    """Stands in for llama_cpp.Llama (no HTTP involved): records calls, streams fixed chunks."""

    calls: list[dict[str, object]] = []

    def __init__(self, model_path: str, **kwargs: object) -> None:
        self.model_path = model_path

    def create_chat_completion(self, **kwargs: object):
        _StubLlama.calls.append(kwargs)
        yield {"choices": [{"delta": {"role": "assistant"}}]}
        for text in ("in-", "process"):
            yield {"choices": [{"delta": {"content": text}}]}


@pytest.fixture
def stub_llama_cpp(monkeypatch: pytest.MonkeyPatch) -> type[_StubLlama]:
    monkeypatch.setitem(sys.modules, "llama_cpp", types.SimpleNamespace(Llama=_StubLlama))
    _StubLlama.calls = []
    return _StubLlama


def test_llamacpp_missing_file_names_the_path(tmp_path: Path, stub_llama_cpp: type[_StubLlama]) -> None:
    missing = tmp_path / "absent.gguf"
    with pytest.raises(ModelError, match="absent.gguf"):
        get_model(f"llamacpp:{missing}")


def test_llamacpp_streams_with_role_dicts(tmp_path: Path, stub_llama_cpp: type[_StubLlama]) -> None:
    model_file = tmp_path / "tiny.gguf"
    model_file.write_bytes(b"GGUF")
    model = get_model(f"llamacpp:{model_file}")
    assert list(model.stream(request(max_tokens=8))) == ["in-", "process"]
    call = stub_llama_cpp.calls[-1]
    assert call["messages"] == expected_messages() and call["stream"] is True and call["max_tokens"] == 8


def test_bad_message_role_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="tool"):
        list(get_model("ollama:m", base_url=closed_port_url()).stream(Request(messages=[Message("tool", "x")])))


# ---- live servers (opt-in) --------------------------------------------------------------------

LIVE_OLLAMA = os.environ.get("LITASSIST_TEST_OLLAMA")
LIVE_OPENAI_URL = os.environ.get("LITASSIST_TEST_OPENAI_BASE_URL")
LIVE_OPENAI_MODEL = os.environ.get("LITASSIST_TEST_OPENAI_MODEL")
LIVE_PROMPT = [Message("user", "Reply with the single word: ready")]


@pytest.mark.slow
@pytest.mark.skipif(not LIVE_OLLAMA, reason="set LITASSIST_TEST_OLLAMA=MODEL to test a running Ollama")
def test_live_ollama(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()  # keep the user's OLLAMA_HOST
    model = get_model(f"ollama:{LIVE_OLLAMA}")
    assert model.complete(Request(messages=LIVE_PROMPT, max_tokens=20)).strip()


@pytest.mark.slow
@pytest.mark.skipif(not (LIVE_OPENAI_URL and LIVE_OPENAI_MODEL),
                    reason="set LITASSIST_TEST_OPENAI_BASE_URL and LITASSIST_TEST_OPENAI_MODEL")
def test_live_openai_compatible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()  # keep the user's OPENAI_API_KEY
    model = get_model(f"openai:{LIVE_OPENAI_MODEL}", base_url=LIVE_OPENAI_URL)
    assert model.complete(Request(messages=LIVE_PROMPT, max_tokens=20)).strip()
