"""The `litassist` command: argument parsing and printing only; every action is a library call.

Imports are lazy so that `litassist --help` answers at once.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Callable

import assistant  # noqa: F401  (offline environment first)
from assistant.errors import LitassistError
from assistant.cli_render import show_library_messages
from assistant.papers import authors_line
from assistant.search_modes import DEFAULT_SEARCH_MODE, SEARCH_MODES

Handler = Callable[[argparse.Namespace], int]


# ---- output helpers ---------------------------------------------------------------------------

def emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def warn(message: str) -> None:
    print(message, file=sys.stderr)


def progress_bar(args: argparse.Namespace, description: str, minimum: int = 5, unit: str = "paper"):
    """A tqdm bar on stderr for jobs of more than `minimum` items; silent in --json mode.
    Returns `update(done, total, current="")`; `current` names the item at work."""
    state: dict[str, Any] = {"bar": None}

    def update(done: int, total: int, current: str = "") -> None:
        if getattr(args, "json", False) or total <= minimum:
            return
        if state["bar"] is None:
            from tqdm import tqdm

            state["bar"] = tqdm(total=total, desc=description, unit=unit, file=sys.stderr, leave=False)
        bar = state["bar"]
        if current:
            bar.set_postfix_str(os.path.basename(current), refresh=False)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


def settings_from(args: argparse.Namespace):
    """Every setting resolved once: these options > environment > the store's config.toml > default."""
    from assistant.settings import load_settings

    names = ("chroma_url", "embedder", "model", "base_url", "api_key", "context_window", "think")
    options = {name: getattr(args, name, None) for name in names}
    return load_settings(args.store, **options)


def open_library_from(args: argparse.Namespace):
    return settings_and_store(args)[1]


def settings_and_store(args: argparse.Namespace):
    """The resolved settings and the store they name (for the commands that also choose a model)."""
    from assistant.library import open_library_with

    settings = settings_from(args)
    return settings, open_library_with(settings)


def filters_from(args: argparse.Namespace):
    from assistant.retrieve import Filters

    return Filters(
        author=getattr(args, "author", None),
        year_from=getattr(args, "year_from", None),
        year_to=getattr(args, "year_to", None),
        category=getattr(args, "category", None),
        collection=getattr(args, "collection", None),
        tag=getattr(args, "tag", None),
    )


# ---- commands ---------------------------------------------------------------------------------

def cmd_ingest(args: argparse.Namespace) -> int:
    from assistant.ingest.table import parse_columns_option
    from assistant.library import ingest_paths
    from assistant.uploads import copy_into_library

    columns = parse_columns_option(args.columns) if args.columns else None
    store = open_library_from(args)
    paths = copy_into_library(store.store_dir, args.paths, replace=args.replace) if args.copy or args.replace else args.paths
    report = ingest_paths(
        store,
        paths,
        on_reading=progress_bar(args, "reading", unit="file"),
        on_progress=progress_bar(args, "embedding", unit="text"),
        columns=columns,
    )
    for failure in report.failed + report.problems:
        warn(f"error: {failure.path}: {failure.error}")
    for note in report.notes:
        warn(f"note: {note}")
    if args.json:
        emit_json(report.to_json())
    else:
        print(f"files: {report.format_summary()}")
        if report.merge_summary():
            print(report.merge_summary())
        print(
            f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
            + (f"removed {report.removed} (no longer in their files), " if report.removed else "")
            + f"failed {len(report.failed)} file(s), skipped {len(report.problems)} bad entr{'y' if len(report.problems) == 1 else 'ies'}"
        )
    return 0 if report.ok else 1


def cmd_watch(args: argparse.Namespace) -> int:
    import signal
    import threading

    from assistant.watch import watch

    store = open_library_from(args)

    def on_round(round_) -> None:
        report = round_.report
        if args.json:
            emit_json({"ingest": report.to_json() if report else None, "forgotten": round_.forgotten,
                       "removed": round_.removed, "error": round_.error or None})
            sys.stdout.flush()
            return
        if round_.error:
            warn(f"error: {round_.error}")
        for failure in (report.failed + report.problems) if report else []:
            warn(f"error: {failure.path}: {failure.error}")
        for note in report.notes if report else []:
            warn(f"note: {note}")
        for path in round_.forgotten:
            print(f"forgot {path} (deleted)")
        if report:
            print(f"{report.format_summary()}: added {report.added}, updated {report.updated}, "
                  f"unchanged {report.unchanged}, removed {report.removed + len(round_.removed)}", flush=True)
        elif round_.removed:
            print(f"removed {len(round_.removed)} paper(s)", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # `kill`: finish the write under way, then stop
    if not args.json:
        print(f"watching {', '.join(args.paths)} (Ctrl-C stops; safe at any moment)", file=sys.stderr)
    watch(store, args.paths, on_round=on_round, debounce_ms=args.debounce, stop=stop)
    if not args.json:
        print("stopped watching", file=sys.stderr)
    return 0


def cmd_papers(args: argparse.Namespace) -> int:
    from assistant.retrieve import filters_where

    store = open_library_from(args)
    papers = store.papers(filters_where(filters_from(args)))
    if args.json:
        emit_json([p.to_dict() for p in papers])
        return 0
    for p in papers:
        print(f"{p.id:<22} {p.year or '----'}  {p.display_title()[:90]}")
        print(f"{'':<28}{authors_line(p.authors, p.authors_truncated)}")
    print(f"{len(papers)} paper(s)")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    store = open_library_from(args)
    paper = store.get(args.id)
    if args.json:
        emit_json(paper.to_dict())
        return 0
    print(paper.display_title())
    print(f"id: {paper.id}" + (f"  (also: {', '.join(paper.aliases)})" if paper.aliases else ""))
    print(f"authors: {authors_line(paper.authors, paper.authors_truncated, limit=12)}")
    if paper.partial_authors:
        print(f"partial names (collection owners): {', '.join(paper.partial_authors)}")
    date = paper.date or (str(paper.year) if paper.year else "unknown")
    print(f"date: {date}" + (" (year inferred)" if paper.year_inferred else ""))
    for label, value in (
        ("arXiv", paper.arxiv_id),
        ("DOI", paper.doi),
        ("categories", ", ".join(paper.categories)),
        ("affiliations", ", ".join(paper.affiliations)),
        ("comments", paper.comments),
        ("versions", ", ".join(paper.versions)),
        ("code", "yes" if paper.has_code else ""),
        ("venue", paper.venue),
        ("citation key", paper.citation_key or ""),
        ("collections", ", ".join(paper.collections)),
        ("tags", ", ".join(paper.tags)),
    ):
        if value:
            print(f"{label}: {value}")
    print(f"\n{paper.abstract}\n")
    print("sources:")
    for s in paper.sources:
        print(f"  {s.path}" + (f":{s.line}" if s.line else "") + f"  (entry {s.entry}, {s.format})")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from assistant.retrieve import search

    store = open_library_from(args)
    hits = search(store, args.query, k=args.k, mode=args.mode, filters=filters_from(args))
    if args.json:
        from assistant.result_json import search_json

        emit_json(search_json(hits))
        return 0
    if not hits:
        print("no matching papers")
    for rank, h in enumerate(hits, 1):
        print(f"{rank:>2}. {h.paper.display_title()[:100]}  [{h.paper.id}, {h.paper.year or 'n.d.'}]")
        print(f"    {authors_line(h.paper.authors, h.paper.authors_truncated)}")
        print(f"    {h.snippet()}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    store = open_library_from(args)
    stats = store.stats()
    if args.json:
        emit_json(stats)
    else:
        for key, value in stats.items():
            print(f"{key}: {value}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from assistant.library import forget_files

    if not args.ids and not args.file:
        raise LitassistError("nothing to remove: give paper ids, or --file PATH for the papers read from a file")
    store = open_library_from(args)
    removed = store.remove(args.ids) if args.ids else []
    detached: list[str] = []
    if args.file:
        gone, detached = forget_files(store, args.file)
        removed += gone
    if args.json:
        emit_json({"removed": removed, "detached": detached})
    else:
        print(f"removed {len(removed)} paper(s): {', '.join(removed)}")
        if detached:
            print(f"kept {len(detached)} paper(s) other files also hold, without that file: {', '.join(detached)}")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from assistant.answer import AnswerResult, ask_stream
    from assistant.cli_render import end_thinking, print_answer, print_thinking

    settings, store = settings_and_store(args)
    result = None
    thinking = False  # streaming a reasoning model's thinking (to stderr, apart from the answer)
    seen_thinking = False
    for item in ask_stream(args.question, store=store, settings=settings, filters=filters_from(args), k=args.k):
        if isinstance(item, AnswerResult):
            result = item
        elif args.json:
            continue
        elif isinstance(item, str):
            if thinking:
                end_thinking()
                thinking = False
            sys.stdout.write(item)
            sys.stdout.flush()
        else:
            print_thinking(item.text, first=not seen_thinking)
            thinking = seen_thinking = True
    if thinking:
        end_thinking()
    assert result is not None
    if args.json:
        emit_json(result.to_json())
    else:
        print_answer(result)
    return 0


def cmd_author(args: argparse.Namespace) -> int:
    from assistant.cli_render import print_author_summary
    from assistant.tasks.author import summarize_author

    settings, store = settings_and_store(args)
    summary = summarize_author(args.name, store=store, settings=settings, filters=filters_from(args))
    plots = None
    if args.plot:
        from assistant.plots import author_plots

        plots = author_plots(summary, args.plot)
    if args.json:
        emit_json({**summary.to_json(), **({"plots": plots.to_json()} if plots else {})})
    else:
        print_author_summary(summary)
        if plots:
            print(f"\nplots: {plots.timeline}  {plots.network}")
    return 0


def cmd_related_work(args: argparse.Namespace) -> int:
    from assistant.cli_render import print_related_work
    from assistant.tasks.related_work import draft_related_work

    settings, store = settings_and_store(args)
    draft = draft_related_work(
        args.topic, store=store, settings=settings, max_papers=args.max_papers, cite_style=args.cite_style,
        filters=filters_from(args),
    )
    if args.bib:
        from pathlib import Path

        Path(args.bib).write_text(draft.bibtex, encoding="utf-8")
    if args.json:
        emit_json(draft.to_json())
    else:
        print_related_work(draft, bib_path=args.bib)
    return 0


def cmd_cite_draft(args: argparse.Namespace) -> int:
    from pathlib import Path

    from assistant.cli_render import print_draft_citations
    from assistant.tasks.cite_draft import cite_draft, read_draft

    name, text = read_draft(args.file)
    store = open_library_from(args)
    result = cite_draft(
        text, store=store, fmt=args.format, name=None if args.file == "-" else name, filters=filters_from(args),
        on_progress=progress_bar(args, "checking sentences", unit="sentence"),
    )
    if args.out:
        Path(args.out).write_text(result.text, encoding="utf-8")
    if args.bib:
        Path(args.bib).write_text(result.bibtex, encoding="utf-8")
    if args.json:
        emit_json(result.to_json())
    else:
        print_draft_citations(result, out_path=args.out, bib_path=args.bib)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from assistant.evaluate import evaluate, format_report

    report = evaluate(args.corpus, args.queries, mode=args.mode, show_progress=not args.json, limit=args.limit)
    if args.json:
        emit_json(report)
    else:
        print(format_report(report))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from ui.app import serve

    auth = args.auth or os.environ.get("LITASSIST_AUTH")
    serve(settings_from(args), host=args.host, port=args.port, auth=auth, seed=not args.no_seed, watch_paths=args.watch)
    return 0


def cmd_mcp(args: argparse.Namespace) -> int:
    from assistant.mcp_server import ServerOptions, serve_mcp

    options = ServerOptions(settings=settings_from(args), allow_writes=args.allow_writes)
    serve_mcp(options, http=args.http)
    return 0


# ---- saved conversations ----------------------------------------------------------------------

def cmd_conversations(args: argparse.Namespace) -> int:
    """`litassist conversations [list|export ID|rename ID TITLE|delete ID]` over the store's saved chats."""
    from assistant.settings import resolve_store_dir
    from assistant.conversations import Conversations

    chats = Conversations(resolve_store_dir(args.store))
    action = args.action or "list"
    if action == "list":
        found = chats.list()
        if args.json:
            emit_json([c.to_json() for c in found])
            return 0
        for c in found:
            print(f"{c.id}  {c.updated[:16].replace('T', ' ')}  {c.turns:>3} answer(s)  {c.title}")
        print(f"{len(found)} conversation(s) in {chats.folder}")
        return 0
    if not args.id:
        raise LitassistError(f"`litassist conversations {action}` needs a conversation id (see `litassist conversations`)")
    if action == "export":
        return _export_conversation(args, chats)
    if action == "rename":
        if not args.title:
            raise LitassistError("`litassist conversations rename ID TITLE` needs the new title")
        renamed = chats.rename(args.id, " ".join(args.title))
        if args.json:
            emit_json(renamed.summary().to_json())
        else:
            print(f"renamed {renamed.id}: {renamed.title}")
        return 0
    chats.delete(args.id)
    if args.json:
        emit_json({"deleted": args.id})
    else:
        print(f"deleted conversation {args.id}")
    return 0


def _export_conversation(args: argparse.Namespace, chats: Any) -> int:
    from pathlib import Path

    from assistant.conversation_export import export_markdown

    conversation = chats.open(args.id)
    markdown = export_markdown(conversation, answer=args.answer)
    if args.output:
        Path(args.output).write_text(markdown, encoding="utf-8")
    if args.json:
        emit_json({"id": conversation.id, "title": conversation.title, "answer": args.answer, "file": args.output, "markdown": markdown})
    elif args.output:
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(markdown)
    return 0


# ---- parser -----------------------------------------------------------------------------------

def _add_filters(parser: argparse.ArgumentParser, *, by_author: bool = True) -> None:
    if by_author:
        parser.add_argument("--author", help="only papers by this author (full name, last name or first-name owner)")
    parser.add_argument("--year-from", type=int, metavar="YEAR")
    parser.add_argument("--year-to", type=int, metavar="YEAR")
    parser.add_argument("--category", help="arXiv category, e.g. cs.LG")
    parser.add_argument("--collection", metavar="NAME",
                        help="only papers in this reference-manager collection (name or path; subcollections included)")
    parser.add_argument("--tag", metavar="NAME", help="only papers with this tag")


def _add_model(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="extractive | ollama:MODEL | openai:MODEL | llamacpp:PATH.gguf (env LITASSIST_MODEL)")
    parser.add_argument("--base-url", help="model endpoint (Ollama or OpenAI-compatible)")
    parser.add_argument("--api-key", help="API key for an OpenAI-compatible endpoint (env OPENAI_API_KEY)")
    parser.add_argument("--context-window", metavar="TOKENS",
                        help="the model's context window; sources are trimmed to fit (env LITASSIST_CONTEXT_WINDOW; default 8192)")
    parser.add_argument("--think", metavar="true|false|low|medium|high",
                        help="Ollama's think option for reasoning models (env LITASSIST_THINK; default: the model's own)")


def cmd_models(args: argparse.Namespace) -> int:
    from assistant.llm.catalog import list_server_models
    from assistant.llm.registry import parse_spec

    settings = settings_from(args)
    backend = args.backend or parse_spec(settings.get("model") or "extractive")[0]
    models = list_server_models(backend, base_url=settings.get("base_url"), api_key=settings.get("api_key"))
    if args.json:
        emit_json([{"spec": f"{backend}:{m.name}", **m.to_json()} for m in models])
        return 0
    if not models:
        print(f"the {backend} server offers no models")
    for m in models:
        size = f", {m.size / 1e9:.1f} GB" if m.size else ""
        print(f"{backend}:{m.name}" + (f"  ({m.detail}{size})" if m.detail or size else ""))
    return 0


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", help="store directory (env LITASSIST_HOME; default: per-user data dir)")
    common.add_argument("--chroma-url", help="use a Chroma server, e.g. http://127.0.0.1:8000 (env LITASSIST_CHROMA_URL)")
    common.add_argument(
        "--embedder", choices=("onnx-int8", "onnx", "torch"),
        help="embedding backend (env LITASSIST_EMBEDDER; default: the store's own, else onnx-int8)",
    )
    common.add_argument("--debug", action="store_true", help="show stack traces")

    parser = argparse.ArgumentParser(prog="litassist", description="Ask your paper library; every citation a real paper.")
    parser.add_argument("--version", action="version", version=f"litassist {assistant.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, handler: Handler, help_text: str, json_flag: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        if json_flag:
            p.add_argument("--json", action="store_true", help="machine-readable output")
        p.set_defaults(handler=handler)
        return p

    p = command("ingest", cmd_ingest, "add files or folders of papers to the library")
    p.add_argument("paths", nargs="+")
    p.add_argument("--columns", help="CSV/TSV column mapping, e.g. title=Name,abstract=Text,authors=Writers")
    p.add_argument("--copy", action="store_true", help="keep copies of the files in the store's uploads/ folder and read those")
    p.add_argument("--replace", action="store_true", help="--copy, a file named like an earlier copy being its new version")
    p = command("watch", cmd_watch, "keep the library in step with folders, exports and Zotero libraries as they change")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--debounce", type=int, default=1600, metavar="MS", help="wait this long for a burst of changes to end")
    p = command("papers", cmd_papers, "list the papers in the library")
    _add_filters(p)
    p = command("show", cmd_show, "show one paper's record")
    p.add_argument("id")
    p = command("search", cmd_search, "find papers (hybrid BM25 + dense by default)")
    p.add_argument("query")
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--mode", choices=SEARCH_MODES, default=DEFAULT_SEARCH_MODE)
    _add_filters(p)
    command("stats", cmd_stats, "library statistics")
    p = command("remove", cmd_remove, "remove papers by id, or every paper read from a file")
    p.add_argument("ids", nargs="*")
    p.add_argument("--file", action="append", default=[], metavar="PATH",
                   help="forget this file (may be deleted already): its papers go unless another file holds them")
    p = command("ask", cmd_ask, "answer a question from the library, with citations")
    p.add_argument("question")
    p.add_argument("-k", type=int, default=None, help="papers to retrieve")
    _add_model(p)
    _add_filters(p)
    p = command("author", cmd_author, "summarise an author's work")
    p.add_argument("name")
    _add_filters(p, by_author=False)
    p.add_argument("--plot", metavar="DIR", help="also draw the timeline by theme and the co-author network as PNG files in DIR")
    _add_model(p)
    p = command("related-work", cmd_related_work, "draft related-work paragraphs with BibTeX")
    p.add_argument("topic")
    p.add_argument("--bib", help="write the BibTeX of cited papers to this file")
    p.add_argument("--max-papers", type=int, default=12)
    p.add_argument("--cite-style", choices=["latex", "numeric"], default="latex")
    _add_model(p)
    _add_filters(p)
    p = command("cite-draft", cmd_cite_draft, "find citations in the library for each sentence of a draft")
    p.add_argument("file", help="the draft: .tex, .md or plain text; - reads stdin")
    p.add_argument("--format", choices=["latex", "markdown", "text"], help="default: from the extension, else the content")
    p.add_argument("--out", metavar="PATH", help="write the draft with citations inserted to this file")
    p.add_argument("--bib", metavar="PATH", help="write the BibTeX of the inserted citations to this file")
    _add_filters(p)
    p = command("eval", cmd_eval, "measure retrieval on a corpus and queries (recall@k, MRR@10)")
    p.add_argument("--corpus", required=True)
    p.add_argument("--queries", required=True)
    p.add_argument("--mode", choices=SEARCH_MODES, default=DEFAULT_SEARCH_MODE)
    p.add_argument("--limit", type=int, default=None, help="only the first N queries")
    p = command("conversations", cmd_conversations, "list, export (Markdown), rename or delete saved chats")
    p.add_argument("action", nargs="?", choices=["list", "export", "rename", "delete"], help="default: list")
    p.add_argument("id", nargs="?", help="conversation id (from `litassist conversations`)")
    p.add_argument("title", nargs="*", help="the new title (rename)")
    p.add_argument("--answer", type=int, metavar="N", help="export only answer N (counted from 1)")
    p.add_argument("-o", "--output", metavar="FILE", help="export: write the Markdown to FILE")
    p = command("models", cmd_models, "list the models an Ollama or OpenAI-compatible server offers")
    p.add_argument("backend", nargs="?", choices=["ollama", "openai"], help="default: the backend of the configured model")
    p.add_argument("--base-url", help="the server (default: OLLAMA_HOST / OPENAI_BASE_URL or the backend's default)")
    p.add_argument("--api-key", help="API key for an OpenAI-compatible endpoint (env OPENAI_API_KEY)")
    p = command("serve", cmd_serve, "start the web chat", json_flag=False)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--auth", help="USER:PASS to require a login (env LITASSIST_AUTH)")
    p.add_argument("--no-seed", action="store_true", help="do not ingest the bundled seeds into an empty store")
    p.add_argument("--watch", action="append", default=[], metavar="PATH",
                   help="keep the library in step with this folder, export or Zotero library (repeatable)")
    _add_model(p)
    p = command("mcp", cmd_mcp, "serve the library to MCP clients (Claude Desktop, editors, agents) over stdio", json_flag=False)
    p.add_argument("--http", metavar="HOST:PORT", help="serve streamable HTTP at http://HOST:PORT/mcp instead (HOST defaults to 127.0.0.1)")
    p.add_argument("--allow-writes", action="store_true", help="add the ingest tool (the server is read-only without it)")
    _add_model(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    show_library_messages()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except LitassistError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
