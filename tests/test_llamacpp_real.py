"""The `llamacpp:` backend (llama-cpp-python's `Llama`) and the `openai:` backend against
llama-cpp-python's own OpenAI-compatible server, with a tiny GGUF model the test writes itself
(tests/gguf_factory.py): real GGUF loading, the GGUF's own chat template, real tokenizer,
streaming, stop strings and context-overflow errors. The model answers every chat with a script
written as a reasoning model writes (a `<think>` block whose tags fall across tokens, then a
cited answer), so what llama.cpp streams is what a qwen3-like model would send."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from assistant.answer import ask
from assistant.errors import ModelError
from assistant.llm.base import Message, Request
from assistant.llm.catalog import list_server_models
from assistant.llm.registry import get_model
from assistant.llm.thinking import separate
from tests.gguf_factory import script_tokens, write_tiny_llama

llama_cpp = pytest.importorskip(
    "llama_cpp",
    reason="llama-cpp-python is not installed: scripts/test builds its wheel (pip wheel llama-cpp-python, "
    "pinned in constraints.txt) and installs it with the llamacpp extra",
)

THINKING = "The user asks about Llama 3; source [7] was never given."
ANSWER = "Llama 3 supports a context window of up to 128K tokens [1]. Its largest model has 405B parameters [1]."
# the tags cut inside, across tokens, as a tokenizer may cut them
PIECES = ["<th", "ink>\n", *script_tokens(THINKING), "\n</", "think>", "\n\n", *script_tokens(ANSWER)]
QUESTION = "What context window does Llama 3 support?"
LLAMA3 = "2407.21783"
SERVER_CONTEXT = 1024
STARTUP_LIMIT = 120.0  # seconds for the server to load and answer /v1/models


def chat(text: str = QUESTION, **kwargs: object) -> Request:
    return Request([Message("system", "Answer from the sources."), Message("user", text)], **kwargs)  # type: ignore[arg-type]


def answer_and_thinking(model, request: Request) -> tuple[str, str, int]:
    parts = list(model.stream_parts(request))
    out = separate([p.text for p in parts if not p.thinking], [p.text for p in parts if p.thinking])
    return out.answer, out.thinking, len(parts)


@pytest.fixture(scope="module")
def gguf_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_llama(tmp_path_factory.mktemp("gguf") / "tiny-reasoner.gguf", PIECES, context_length=8192)


# ---- in-process: llama_cpp.Llama --------------------------------------------------------------

@pytest.fixture(scope="module")
def local_model(gguf_path: Path):
    return get_model(f"llamacpp:{gguf_path}", context_window=4096)


def test_llamacpp_streams_the_script_through_the_gguf_chat_template(local_model) -> None:
    answer, thinking, count = answer_and_thinking(local_model, chat())
    assert (answer, thinking) == (ANSWER, THINKING)
    assert count >= 10  # streamed token by token, not in one piece
    # the GGUF's own Jinja template formatted the prompt (the chain starts at its final newline)
    assert local_model._loaded().chat_format == "chat_template.default"


def test_llamacpp_counts_tokens_with_the_models_tokenizer(local_model) -> None:
    text = "Federated averaging, 128K tokens."
    assert local_model.count_tokens(text) >= len(text.encode())  # byte-level vocabulary: no estimate


def test_llamacpp_stop_strings(local_model) -> None:
    assert local_model.complete(chat(stop=["405B"])) == "Llama 3 supports a context window of up to 128K tokens [1]. Its largest model has"


def test_llamacpp_context_overflow_is_a_clear_error(gguf_path: Path) -> None:
    small = get_model(f"llamacpp:{gguf_path}", context_window=256)
    with pytest.raises(ModelError, match=r"needs \d+ tokens but the context window is 256.*--context-window"):
        small.complete(chat("word " * 200))


def test_ask_with_llamacpp_fits_the_window_with_the_real_tokenizer(seeded_store, gguf_path: Path) -> None:
    model = get_model(f"llamacpp:{gguf_path}", context_window=4096)
    result = ask(QUESTION, store=seeded_store, model=model, k=6)
    assert not result.abstained
    assert result.answer == ANSWER and result.thinking == THINKING
    assert [c.paper_id for c in result.citations] == [LLAMA3]
    assert result.removed_citations == []  # the thinking's [7] is not checked
    assert result.sources_trimmed and result.sources_trimmed == list(range(7 - len(result.sources_trimmed), 7))


# ---- over HTTP: python -m llama_cpp.server ----------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server(gguf_path: Path, tmp_path_factory: pytest.TempPathFactory):
    pytest.importorskip("sse_starlette", reason="llama-cpp-python's server extra is not installed (pip install 'litassist[llamacpp]')")
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_path), "--model_alias", "tiny-reasoner",
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(SERVER_CONTEXT), "--n_threads", "1",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + STARTUP_LIMIT
        while True:
            if process.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not answer within {STARTUP_LIMIT:g} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_server_lists_its_model(llama_server: str) -> None:
    assert [m.name for m in list_server_models("openai", base_url=llama_server)] == ["tiny-reasoner"]


def test_openai_backend_streams_from_llama_cpp_server(llama_server: str) -> None:
    model = get_model("openai:tiny-reasoner", base_url=llama_server, timeout=60, context_window=SERVER_CONTEXT)
    answer, thinking, count = answer_and_thinking(model, chat())
    assert (answer, thinking) == (ANSWER, THINKING)
    assert count >= 10
    assert model.complete(chat(stop=["405B"])).endswith("Its largest model has")


def test_openai_backend_context_overflow_on_llama_cpp_server(llama_server: str) -> None:
    # a window set larger than the server's: the server fails once streaming has begun, and the
    # error says what to set instead of passing a cut or empty answer on
    model = get_model("openai:tiny-reasoner", base_url=llama_server, timeout=60, context_window=8192)
    with pytest.raises(ModelError, match=r"openai backend .*--context-window"):
        model.complete(chat("word " * 400))


def test_ask_through_llama_cpp_server_trims_to_the_configured_window(seeded_store, llama_server: str) -> None:
    model = get_model("openai:tiny-reasoner", base_url=llama_server, timeout=60, context_window=SERVER_CONTEXT)
    with pytest.raises(ModelError, match="even with one source"):
        # byte-level tokens: not even one abstract fits 1024, and we say so before the server cuts it
        ask(QUESTION, store=seeded_store, model=model)

