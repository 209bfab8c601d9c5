"""How a paper is stored: its chunks, their ids, and the metadata each chunk carries.

A chunk id is `<paper id>#<index>`; chunk 0 (title + abstract) carries the paper record, later
chunks are ~200-token pieces of a full text. Everything that builds or reads a chunk id goes
through `chunk_id`, `paper_id_of_chunk` and `is_record_chunk`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from assistant.groups import collection_keys, tag_keys
from assistant.papers import Paper, author_keys, full_text_pages, merge_keys, name_key

CHUNK_TOKENS = 200  # all-MiniLM-L6-v2 reads at most 256 word pieces
KEY_FIELD_PREFIX = "key_"  # each merge key is also a scalar field `key_<kind>` on chunk 0


@dataclass
class Chunk:
    id: str
    paper_id: str
    index: int
    text: str
    page: int | None = None  # the PDF page a full-text chunk comes from


def chunk_id(paper_id: str, index: int) -> str:
    return f"{paper_id}#{index}"


def paper_id_of_chunk(chunk: str) -> str:
    return chunk.rsplit("#", 1)[0]


def is_record_chunk(chunk: str) -> bool:
    """True for chunk 0, the one holding the paper record (its title and abstract)."""
    return chunk.endswith("#0")


def paper_chunks(paper: Paper) -> list[Chunk]:
    """Chunk 0 is title + abstract; a full text adds ~200-token chunks (citations still point at
    the paper), split page by page when the text records its pages, so each knows its page."""
    head = paper.abstract or paper.full_text[:1500].strip()
    if paper.title and not paper.title_derived:
        head = f"{paper.title}\n{head}"
    chunks = [Chunk(chunk_id(paper.id, 0), paper.id, 0, head)]
    if paper.full_text:
        from llama_index.core.node_parser import SentenceSplitter  # heavy: only for full texts

        splitter = SentenceSplitter(chunk_size=CHUNK_TOKENS, chunk_overlap=30)
        for page, page_text in full_text_pages(paper.full_text):
            for text in splitter.split_text(page_text):
                index = len(chunks)
                chunks.append(Chunk(chunk_id(paper.id, index), paper.id, index, text, page))
    return chunks


def filter_metadata(paper: Paper) -> dict[str, Any]:
    """Fields retrieval filters on, stored on every chunk (lists are Chroma array metadata)."""
    meta: dict[str, Any] = {"paper_id": paper.id}
    if paper.year is not None:
        meta["year"] = int(paper.year)
    keys = author_keys(paper.authors) + [f"partial:{name_key(n)}" for n in paper.partial_authors]
    if keys:
        meta["author_keys"] = keys
    if paper.categories:
        meta["categories"] = [c.lower() for c in paper.categories]
    if paper.collections:
        meta["collections"] = collection_keys(paper.collections)
    if paper.tags:
        meta["tags"] = tag_keys(paper.tags)
    return meta


def chunk_metadata(paper: Paper, chunk: Chunk, n_chunks: int, keys: set[str] | None = None) -> dict[str, Any]:
    """The metadata stored with one chunk of `paper` (`keys`: its merge keys, when known)."""
    if chunk.index == 0:
        return record_metadata(paper, n_chunks, keys)
    return {**filter_metadata(paper), "chunk": chunk.index, **({"page": chunk.page} if chunk.page else {})}


def record_metadata(paper: Paper, n_chunks: int, keys: set[str] | None = None) -> dict[str, Any]:
    keys = merge_keys(paper) if keys is None else keys
    meta = filter_metadata(paper)
    meta.update(
        chunk=0,
        n_chunks=n_chunks,
        record=json.dumps(paper.to_dict(with_full_text=True), ensure_ascii=False),
        merge_keys=sorted(keys) or [f"id:{paper.id}"],
        aliases=paper.aliases or [paper.id],
    )
    paths = source_paths(paper)
    if paths:
        meta["source_paths"] = paths
    # Each merge key also as a scalar field (a paper has at most one of each kind), so finding
    # stored duplicates is one indexed `$in` per kind instead of a `$contains` scan per key.
    for key in keys:
        meta[KEY_FIELD_PREFIX + key.split(":", 1)[0]] = key
    return meta


def source_paths(paper: Paper) -> list[str]:
    return sorted({s.path for s in paper.sources if s.path})
