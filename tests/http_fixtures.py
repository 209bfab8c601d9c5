"""Real HTTP servers on 127.0.0.1 for backend tests: fake Ollama / OpenAI-compatible endpoints.

A `FakeServer` maps a path to a route (a function that writes the reply) and records every
request. Routes write close-delimited HTTP/1.0 bodies, flushing each piece, so streaming is real.
"""
from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

STALL_LIMIT = 30.0  # a stalled route never holds a thread longer than this


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


class Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def do_POST(self) -> None:
        self._dispatch()

    def do_GET(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = self.path.split("?", 1)[0]
        self.server.fake.requests.append(Recorded(self.command, path, dict(self.headers.items()), body))
        route = self.server.fake.routes.get(path)
        if route is None:
            reply_json(self, 404, {"error": f"no route {path}"})
        else:
            route(self)

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass


Route = Callable[[Handler], None]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: "FakeServer"


class FakeServer:
    """`with FakeServer({"/api/chat": route}) as server:` serves on `server.url`."""

    def __init__(self, routes: dict[str, Route]):
        self.routes = routes
        self.requests: list[Recorded] = []
        self.release = threading.Event()  # set on exit: stalled and gated routes finish
        self._httpd = _Server(("127.0.0.1", 0), Handler)
        self._httpd.fake = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# ---- reply writers ----------------------------------------------------------------------------

def reply_json(handler: Handler, status: int, payload: Any) -> None:
    data = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def reply_stream(handler: Handler, content_type: str, pieces: Iterable[bytes]) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", content_type)
    handler.end_headers()
    handler.wfile.flush()
    for piece in pieces:
        handler.wfile.write(piece)
        handler.wfile.flush()


class Gate:
    """Holds a stream after its first piece until the test calls `open()`; `opened_in_time`
    tells whether the client got that piece while the rest was still being held back."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.opened_in_time: bool | None = None

    def open(self) -> None:
        self._event.set()

    def hold(self, pieces: list[bytes]) -> Iterator[bytes]:
        yield pieces[0]
        self.opened_in_time = self._event.wait(timeout=5)
        yield from pieces[1:]


# ---- routes -----------------------------------------------------------------------------------

def rechunk(pieces: list[bytes], size: int | None) -> list[bytes]:
    """The same bytes written `size` at a time (None: as given): lines, JSON and UTF-8
    characters then arrive cut at arbitrary points, as they may over a real network."""
    if not size:
        return pieces
    data = b"".join(pieces)
    return [data[i : i + size] for i in range(0, len(data), size)]


def _streamed(content_type: str, pieces: list[bytes], gate: Gate | None, piece_size: int | None = None) -> Route:
    pieces = rechunk(pieces, piece_size)

    def route(handler: Handler) -> None:
        reply_stream(handler, content_type, gate.hold(pieces) if gate else pieces)

    return route


def ollama_chat(
    tokens: list[str], *, model: str = "m", gate: Gate | None = None, thinking: list[str] = (), piece_size: int | None = None
) -> Route:
    """`POST /api/chat` streaming NDJSON lines, one per token, then a `done: true` line. With
    `thinking`, lines carrying `message.thinking` come first (as Ollama sends them when asked
    to `think`)."""
    lines = [
        {"model": model, "created_at": "2024-01-01T00:00:00Z",
         "message": {"role": "assistant", "content": "", "thinking": thought}, "done": False}
        for thought in thinking
    ]
    lines += [
        {"model": model, "created_at": "2024-01-01T00:00:00Z",
         "message": {"role": "assistant", "content": token}, "done": False}
        for token in tokens
    ]
    lines.append({"model": model, "created_at": "2024-01-01T00:00:01Z",
                  "message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop",
                  "prompt_eval_count": 7, "eval_count": len(tokens)})
    return _streamed("application/x-ndjson", [json.dumps(line).encode() + b"\n" for line in lines], gate, piece_size)


def openai_chat(
    tokens: list[str], *, model: str = "m", gate: Gate | None = None, reasoning: list[str] = (), piece_size: int | None = None
) -> Route:
    """`POST /v1/chat/completions` streaming SSE chunks, ending with `data: [DONE]`. With
    `reasoning`, `reasoning_content` deltas come first (as vLLM, SGLang, DeepSeek and llama.cpp's
    server send a reasoning model's thinking)."""
    def chunk(delta: dict[str, object], finish: str | None) -> bytes:
        payload = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": model,
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return b"data: " + json.dumps(payload).encode() + b"\n\n"

    pieces = [chunk({"role": "assistant", "content": None, "reasoning_content": thought}, None) for thought in reasoning]
    pieces += [chunk({"role": "assistant", "content": token}, None) for token in tokens]
    pieces += [chunk({}, "stop"), b"data: [DONE]\n\n"]
    return _streamed("text/event-stream", pieces, gate, piece_size)


def ollama_tags(models: list[dict[str, Any]]) -> Route:
    """`GET /api/tags` as Ollama answers it."""
    return json_error(200, {"models": models})


def openai_models(ids: list[str], owner: str = "library") -> Route:
    """`GET /v1/models` as OpenAI-compatible servers answer it."""
    return json_error(200, {"object": "list", "data": [{"id": i, "object": "model", "created": 0, "owned_by": owner} for i in ids]})


def json_error(status: int, payload: Any) -> Route:
    def route(handler: Handler) -> None:
        reply_json(handler, status, payload)

    return route


def stall(server: FakeServer) -> Route:
    """Read the request, then send nothing until the server shuts down."""
    def route(handler: Handler) -> None:
        server.release.wait(timeout=STALL_LIMIT)

    return route


def stall_mid_stream(server: FakeServer, first_piece: bytes, content_type: str) -> Route:
    """Send headers and one piece of a stream, then nothing until the server shuts down."""
    def pieces() -> Iterator[bytes]:
        yield first_piece
        server.release.wait(timeout=STALL_LIMIT)

    def route(handler: Handler) -> None:
        reply_stream(handler, content_type, pieces())

    return route
