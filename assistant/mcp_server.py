"""litassist over the Model Context Protocol (the official `mcp` SDK): a library as tools for
agents and editors (Claude Desktop, Cursor, VS Code, Zed, Open WebUI), papers as `paper://ID`
resources. `litassist mcp` serves it over stdio, or streamable HTTP with `--http HOST:PORT`.

Each tool calls the library function its CLI command calls and returns readable text with
numbered sources and, as structured content, the JSON of that command's `--json`. Errors a
user can fix (`LitassistError`) become tool errors carrying our message; nothing else of an
exception reaches the client. The server is read-only unless started with `--allow-writes`,
which adds the `ingest` tool.

Library calls run in a worker thread, one at a time (one process owns an embedded store), while
the event loop sends progress notifications: the call's stages, and a heartbeat on long calls.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Callable, Literal, TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

import assistant
from assistant import mcp_text
from assistant.settings import Settings
from assistant.errors import LitassistError, NotFoundError
from assistant.mcp_schemas import (
    AnswerOutput,
    AuthorSummaryOutput,
    DraftSupportOutput,
    IngestOutput,
    PaperOutput,
    RelatedWorkOutput,
    SearchOutput,
)

if TYPE_CHECKING:
    from assistant.library import Library

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_TEXT_CHARS = 4_000  # a query, question or topic
MAX_NAME_CHARS = 300  # an author name, a paper id, a model spec
MAX_DRAFT_CHARS = 20_000
HEARTBEAT_SECONDS = 2.0
MIN_PROGRESS_GAP = 0.5  # stage reports closer together than this wait (the last one is sent when the call ends)

READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False)
INSTRUCTIONS = (
    "Tools over the user's own paper library. Every citation in a result names a paper in the library "
    "(readable as the resource paper://ID); quote them as given and never cite a paper the tools did not return. "
    "An answer that abstained means the library holds nothing on the question."
)


@dataclass
class ServerOptions:
    settings: Settings  # resolved once, as for the CLI and the web app
    allow_writes: bool = False


# ---- the library, in a worker thread --------------------------------------------------------

class LibraryWorker:
    """The store, opened on first use (a failure is reported and retried on the next call), and
    the lock that runs one library call at a time."""

    def __init__(self, options: ServerOptions):
        self.options = options
        self._store = None
        self._lock = threading.Lock()

    def _open(self):
        if self._store is None:
            from assistant.library import open_library_with

            self._store = open_library_with(self.options.settings)
        return self._store

    def call(self, job: Callable[[Any], T], *, needs_papers: bool = True) -> T:
        with self._lock:
            store = self._open()
            if needs_papers and store.count_chunks() == 0:
                raise LitassistError(
                    f"the library at {store.describe()} is empty: add papers with `litassist ingest FILES...`"
                    + (" or the ingest tool" if self.options.allow_writes else "")
                )
            return job(store)


def warm_up(library: LibraryWorker) -> None:
    """In the background: open the store, load the embedding model and the BM25 index, so the
    first tool call does not wait for them (a failure is left for that call to report)."""
    from assistant.retrieve import search

    def load() -> None:
        try:
            library.call(lambda store: search(store, "warm up", k=1), needs_papers=False)
        except Exception as exc:
            log.debug("warm-up failed: %s", exc)

    threading.Thread(target=load, name="litassist-warm-up", daemon=True).start()


class Progress:
    """Progress notifications of one tool call. The progress value is a step count that only
    grows (there is no total: stages differ in kind); the message says what is being done."""

    def __init__(self, ctx: Context, stage: str):
        self.ctx = ctx
        self.stage = stage
        self.step = 0
        self.started = self.last = time.monotonic()
        self.unsent: str | None = None  # the latest stage, when it came moments after the last report

    async def send(self, message: str) -> None:
        self.step += 1
        self.last = time.monotonic()
        self.unsent = None
        await self.ctx.report_progress(self.step, None, message)

    def report(self, stage: str) -> None:
        """From the worker thread: a new stage (held back if the last report was moments ago)."""
        self.stage = stage
        if time.monotonic() - self.last >= MIN_PROGRESS_GAP:
            anyio.from_thread.run(self.send, stage)
        else:
            self.unsent = stage

    async def flush(self) -> None:
        """Send the last stage if it was held back (a fast call still says where it ended)."""
        if self.unsent is not None:
            await self.send(self.unsent)

    async def heartbeat(self) -> None:
        while True:
            await anyio.sleep(HEARTBEAT_SECONDS)
            if time.monotonic() - self.last >= HEARTBEAT_SECONDS:
                await self.send(f"{self.stage} ({time.monotonic() - self.started:.0f} s)")


async def run_in_library(
    library: LibraryWorker, ctx: Context, stage: str, job: Callable[[Any, Progress], T], *, needs_papers: bool = True
) -> T:
    """`job(store, progress)` in a worker thread, with progress notifications meanwhile. A
    LitassistError becomes a ToolError with its message; another exception is logged here, on
    stderr, and the client learns only its type and message."""
    progress = Progress(ctx, stage)
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["value"] = library.call(lambda store: job(store, progress), needs_papers=needs_papers)
        except LitassistError as exc:
            outcome["error"] = str(exc)
        except Exception as exc:
            log.exception("litassist: a tool call failed")
            outcome["error"] = f"internal error ({type(exc).__name__}: {exc}); the server's log has the details"

    await progress.send(stage)
    async with anyio.create_task_group() as group:
        group.start_soon(progress.heartbeat)
        await anyio.to_thread.run_sync(work)
        group.cancel_scope.cancel()
    await progress.flush()
    if "error" in outcome:
        raise ToolError(outcome["error"])
    return outcome["value"]


def result(text: str, data: dict) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


def check_length(label: str, value: str | None, limit: int) -> None:
    if value is not None and len(value) > limit:
        raise ToolError(f"the {label} is {len(value):,} characters; the limit is {limit:,}")


def check_text(label: str, value: str, limit: int = MAX_TEXT_CHARS) -> str:
    check_length(label, value, limit)
    if not value.strip():
        raise ToolError(f"no {label} given")
    return value


def make_filters(**values: Any):
    """Search filters; `collection` and `tag` need a litassist whose filters know them."""
    from assistant.retrieve import Filters

    given = {name: value for name, value in values.items() if value not in (None, "")}
    for name, value in given.items():
        if isinstance(value, str):
            check_length(name, value, MAX_NAME_CHARS)
    known = {f.name for f in fields(Filters)}
    unknown = [name for name in given if name not in known]
    if unknown:
        raise ToolError(
            f"filtering by {' and '.join(unknown)} is not available in this litassist version "
            f"(its filters are: {', '.join(sorted(known))})"
        )
    return Filters(**given)


# ---- argument types (their descriptions are the tools' documentation) -------------------------

Query = Annotated[str, Field(description="what to look for, in words", json_schema_extra={"maxLength": MAX_TEXT_CHARS})]
K = Annotated[int, Field(ge=1, le=50, description="how many papers to return")]
Author = Annotated[str | None, Field(description="only papers by this author: full name, last name or a collection owner's first name")]
YearFrom = Annotated[int | None, Field(description="only papers from this year on")]
YearTo = Annotated[int | None, Field(description="only papers up to this year")]
Category = Annotated[str | None, Field(description="only papers in this arXiv category, e.g. cs.LG")]
Collection = Annotated[str | None, Field(description="only papers in this (Zotero) collection, with its subcollections")]
Tag = Annotated[str | None, Field(description="only papers with this tag")]
ModelSpec = Annotated[
    str | None,
    Field(description="extractive | ollama:MODEL | openai:MODEL | llamacpp:PATH.gguf; default: the server's model"),
]


# ---- the server -----------------------------------------------------------------------------

def cite_draft_result(store: Library, text: str, progress: Progress) -> tuple[str, dict]:
    """The one call site of the draft-citation task: (readable text, structured content)."""
    import io

    from assistant.cli_render import print_draft_citations
    from assistant.tasks.cite_draft import cite_draft

    def on_sentence(done: int, total: int) -> None:
        progress.report(f"checked sentence {done} of {total}")

    found = cite_draft(text, store=store, on_progress=on_sentence)
    readable = io.StringIO()
    print_draft_citations(found, stream=readable)
    return readable.getvalue(), found.to_json()


def build_server(options: ServerOptions, *, warm: bool = False) -> MCPServer:
    """An MCP server over the library `options` names, opened on the first call (or at once, in
    the background, with `warm`)."""
    library = LibraryWorker(options)
    if warm:
        warm_up(library)
    writes = " It can add files to the library (ingest)." if options.allow_writes else (
        " It is read-only: adding papers needs `litassist ingest`, or this server started with --allow-writes."
    )
    server = MCPServer(
        "litassist", title="litassist: your paper library", version=assistant.__version__,
        instructions=INSTRUCTIONS + writes, log_level="WARNING",
    )
    add_finding_tools(server, library)
    add_answering_tools(server, library, options)
    add_drafting_tools(server, library, options)
    if options.allow_writes:
        add_ingest_tool(server, library)
    return server


def call_settings(options: ServerOptions, model: str | None) -> Settings:
    """The server's settings, with the model a call asked for (when it asked for one)."""
    check_length("model", model, MAX_NAME_CHARS)
    return options.settings.overridden(model=model)


def add_finding_tools(server: MCPServer, library: LibraryWorker) -> None:
    """`search`, `get_paper` and the `paper://ID` resources."""

    @server.tool(annotations=READ_ONLY, structured_output=True)
    async def search(
        query: Query, ctx: Context, k: K = 10, author: Author = None, year_from: YearFrom = None,
        year_to: YearTo = None, category: Category = None, collection: Collection = None, tag: Tag = None,
    ) -> Annotated[CallToolResult, SearchOutput]:
        """Find papers in the library (hybrid BM25 + dense retrieval). Returns the papers, best
        first, numbered, with a snippet of the passage that matched; structured content: `results`,
        the JSON of `litassist search --json`."""
        from assistant.result_json import search_json
        from assistant.retrieve import search as search_library

        check_text("query", query)
        filters = make_filters(author=author, year_from=year_from, year_to=year_to, category=category, collection=collection, tag=tag)
        hits = await run_in_library(library, ctx, "searching the library", lambda store, _: search_library(store, query, k=k, filters=filters))
        return result(mcp_text.search_text(query, hits), {"results": search_json(hits)})

    @server.tool(annotations=READ_ONLY, structured_output=True)
    async def get_paper(
        paper_id: Annotated[str, Field(description="the paper's id (arXiv id, doi:..., or the id search returned) or a source's own id")],
        ctx: Context,
    ) -> Annotated[CallToolResult, PaperOutput]:
        """One paper's record: title, authors, date, ids, abstract and the files it was read from.
        Structured content: the JSON of `litassist show ID --json`."""
        check_text("paper id", paper_id, MAX_NAME_CHARS)
        paper = await run_in_library(library, ctx, "reading the paper", lambda store, _: store.get(paper_id.strip()))
        return result(mcp_text.paper_text(paper), paper.to_dict())

    @server.resource("paper://{+paper_id}", name="paper", title="A paper in the library", mime_type="text/plain")
    async def paper_resource(paper_id: str) -> str:
        """A paper's record as text: title, id, authors, date, ids, abstract, source files."""
        try:
            return await anyio.to_thread.run_sync(
                lambda: library.call(lambda store: mcp_text.paper_text(store.get(paper_id)), needs_papers=False)
            )
        except NotFoundError as exc:
            raise ResourceNotFoundError(str(exc)) from None
        except LitassistError as exc:
            raise ResourceError(str(exc)) from None


def add_answering_tools(server: MCPServer, library: LibraryWorker, options: ServerOptions) -> None:
    """`ask` and `author_summary`."""

    @server.tool(annotations=READ_ONLY, structured_output=True)
    async def ask(
        question: Annotated[str, Field(description="the question", json_schema_extra={"maxLength": MAX_TEXT_CHARS})],
        ctx: Context, model: ModelSpec = None, k: Annotated[int | None, Field(ge=1, le=30, description="papers to retrieve")] = None,
        author: Author = None, year_from: YearFrom = None, year_to: YearTo = None, category: Category = None,
        collection: Collection = None, tag: Tag = None,
    ) -> Annotated[CallToolResult, AnswerOutput]:
        """Answer a question from the library's papers. Every citation [n] is checked against the
        papers retrieved for it (an invented one is removed and reported); when the library holds
        nothing on the question the answer says so (`abstained`) and names the closest papers.
        Returns the answer, its numbered references and flags; structured content: the JSON of
        `litassist ask --json`."""
        check_text("question", question)
        filters = make_filters(author=author, year_from=year_from, year_to=year_to, category=category, collection=collection, tag=tag)
        settings = call_settings(options, model)

        def answer(store: Library, progress: Progress):
            from assistant.answer import ask_stream

            written, final = 0, None
            for item in ask_stream(question, store=store, filters=filters, k=k, settings=settings):
                if isinstance(item, str):
                    written += len(item)
                    progress.report(f"the model has written {written:,} characters")
                else:
                    final = item
            return final

        answered = await run_in_library(library, ctx, "retrieving papers and answering", answer)
        from assistant.cli_render import print_answer

        return result(mcp_text.printed(print_answer, answered, streamed=False), answered.to_json())

    @server.tool(annotations=READ_ONLY, structured_output=True)
    async def author_summary(
        name: Annotated[str, Field(description="the author: full name, last name, initials, or a collection owner's first name")],
        ctx: Context, model: ModelSpec = None,
    ) -> Annotated[CallToolResult, AuthorSummaryOutput]:
        """Summarise an author's work in the library: how the name was resolved, a cited summary,
        themes, timeline, frequent co-authors and the numbered papers. An unknown name fails with
        the close matches; an ambiguous one lists the candidates. Structured content: the JSON of
        `litassist author NAME --json`."""
        from assistant.tasks.author import summarize_author

        check_text("author name", name, MAX_NAME_CHARS)
        settings = call_settings(options, model)
        summary = await run_in_library(
            library, ctx, f"summarising the work of {name.strip()}", lambda store, _: summarize_author(name, store=store, settings=settings)
        )
        from assistant.cli_render import print_author_summary

        return result(mcp_text.printed(print_author_summary, summary), summary.to_json())


def add_drafting_tools(server: MCPServer, library: LibraryWorker, options: ServerOptions) -> None:
    """`related_work` and `cite_draft`."""

    @server.tool(annotations=READ_ONLY, structured_output=True)
    async def related_work(
        topic: Annotated[str, Field(description="the topic of the related-work section", json_schema_extra={"maxLength": MAX_TEXT_CHARS})],
        ctx: Context,
        cite_style: Annotated[Literal["latex", "numeric"], Field(description="\\cite{key} with BibTeX keys, or [n]")] = "latex",
        max_papers: Annotated[int, Field(ge=1, le=40, description="papers to retrieve at most")] = 12,
        model: ModelSpec = None, author: Author = None, year_from: YearFrom = None, year_to: YearTo = None,
        category: Category = None, collection: Collection = None, tag: Tag = None,
    ) -> Annotated[CallToolResult, RelatedWorkOutput]:
        """Draft related-work paragraphs on a topic from the library, grouped by theme, with the
        BibTeX of every cited paper. Nothing relevant in the library: no draft (`abstained`), and
        the closest papers. Structured content: the JSON of `litassist related-work --json`."""
        from assistant.tasks.related_work import draft_related_work

        check_text("topic", topic)
        filters = make_filters(author=author, year_from=year_from, year_to=year_to, category=category, collection=collection, tag=tag)
        settings = call_settings(options, model)
        draft = await run_in_library(
            library, ctx, "drafting related work",
            lambda store, _: draft_related_work(topic, store=store, max_papers=max_papers, cite_style=cite_style, filters=filters, settings=settings),
        )
        from assistant.cli_render import print_related_work

        return result(mcp_text.printed(print_related_work, draft), draft.to_json())

    @server.tool(annotations=READ_ONLY, structured_output=True)
    async def cite_draft(
        text: Annotated[str, Field(description="the draft: sentences to find supporting papers for", json_schema_extra={"maxLength": MAX_DRAFT_CHARS})],
        ctx: Context,
    ) -> Annotated[CallToolResult, DraftSupportOutput]:
        """For each sentence of a draft that makes a claim, the library papers that support it,
        with the supporting sentence of each; a claim no paper supports is listed as such."""
        check_text("draft text", text, MAX_DRAFT_CHARS)
        readable, data = await run_in_library(library, ctx, "finding papers for the draft", lambda store, progress: cite_draft_result(store, text, progress))
        return result(readable, data)


def add_ingest_tool(server: MCPServer, library: LibraryWorker) -> None:
    @server.tool(annotations=WRITES, structured_output=True)
    async def ingest(
        paths: Annotated[list[str], Field(min_length=1, description="files or folders (read recursively) on the server's machine")],
        ctx: Context,
    ) -> Annotated[CallToolResult, IngestOutput]:
        """Add files of papers to the library (BibTeX, CSV/TSV, JSONL, arXiv exports, abstract lists,
        PDFs; the format is detected). Re-reading a file brings the library up to date with it.
        Structured content: the JSON of `litassist ingest --json`."""
        from assistant.library import ingest_paths

        targets: list[str | Path] = list(paths)

        def write(store: Library, progress: Progress):
            return ingest_paths(
                store, targets,
                on_reading=lambda done, total, current: progress.report(f"reading file {done + 1} of {total}: {current}" if current else "files read"),
                on_progress=lambda done, total: progress.report(f"embedded {done:,} of {total:,} texts"),
            )

        report = await run_in_library(library, ctx, "ingesting", write, needs_papers=False)
        return result(mcp_text.ingest_text(report), report.to_json())


# ---- transports -----------------------------------------------------------------------------

def parse_http(value: str) -> tuple[str, int]:
    """`HOST:PORT`, `:PORT` or `PORT` (host 127.0.0.1); an IPv6 host in brackets."""
    host, _, port = value.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or int(port) > 65535:
        raise LitassistError(f"--http {value!r}: expected HOST:PORT, e.g. 127.0.0.1:8765")
    return host, int(port)


async def serve_http(server: MCPServer, host: str, port: int) -> None:
    """Streamable HTTP at http://HOST:PORT/mcp; the socket is bound here so port 0 works and the
    address printed is the real one."""
    import socket

    import uvicorn

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        # Listening before the address is printed: a client that connects while uvicorn starts
        # waits in the backlog instead of being refused.
        sock.listen(128)
    except OSError as exc:
        raise LitassistError(f"--http {host}:{port}: cannot listen there ({exc.strerror})") from None
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    log.info("litassist MCP server: http://%s:%s/mcp", shown, bound)
    if host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("warning: listening on %s: anyone who can reach it can read the library (there is no login)", host)
    app = server.streamable_http_app(host=host)
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    await uvicorn.Server(config).serve(sockets=[sock])


def serve_mcp(options: ServerOptions, http: str | None = None) -> None:
    """Run the server until stdin closes (stdio) or it is interrupted (HTTP)."""
    address = parse_http(http) if http else None
    server = build_server(options, warm=True)
    if address is None:
        anyio.run(server.run_stdio_async)
    else:
        anyio.run(serve_http, server, *address)
