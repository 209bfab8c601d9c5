"""The MCP server as a client sees it: `litassist mcp` over stdio on the bundled seeds.

    python bench/mcp_calls.py [--calls 30] [--store DIR]

Prints: seconds from launch to an initialised session, the first `search` (it waits for the
warm-up: store, embedding model, BM25 index), then p50/p95 ms per tool call over stdio, beside
`search()` called in this process (the protocol's own cost is the difference).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, percentiles, table

QUERIES = [
    "non-IID data in federated learning", "buffered asynchronous aggregation", "long context language models",
    "pre-training and initialization", "secure aggregation and differential privacy", "active learning of clients",
]


async def measure(store: Path, calls: int) -> dict[str, list[float]]:
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(
        command=sys.executable, args=["-m", "assistant", "mcp", "--store", str(store)],
        env={"PYTHONPATH": str(ROOT), **{k: v for k, v in os.environ.items() if k.startswith(("LITASSIST_", "HF_"))}},
    )
    samples: dict[str, list[float]] = {"launch + initialise (s)": [], "first search (s)": []}
    start = time.perf_counter()
    async with stdio_client(params, errlog=open(os.devnull, "w")) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            samples["launch + initialise (s)"].append(time.perf_counter() - start)
            t = time.perf_counter()
            await session.call_tool("search", {"query": "federated learning"})
            samples["first search (s)"].append(time.perf_counter() - t)
            for tool, arguments in (
                ("search", lambda i: {"query": QUERIES[i % len(QUERIES)], "k": 10}),
                ("get_paper", lambda i: {"paper_id": "h1aee8f5b149d2067"}),
                ("ask", lambda i: {"question": f"What is known about {QUERIES[i % len(QUERIES)]}?"}),
            ):
                name = f"{tool} over stdio (ms)"
                samples[name] = []
                for i in range(calls):
                    t = time.perf_counter()
                    result = await session.call_tool(tool, arguments(i))
                    samples[name].append((time.perf_counter() - t) * 1000)
                    assert not result.is_error, result.content
    return samples


def in_process(store: Path, calls: int) -> list[float]:
    from assistant.retrieve import search
    from assistant.library import open_library

    library = open_library(store)
    search(library, "warm up", k=1)
    samples = []
    for i in range(calls):
        t = time.perf_counter()
        search(library, QUERIES[i % len(QUERIES)], k=10)
        samples.append((time.perf_counter() - t) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--store", help="an existing store (default: the seeds, ingested into a temporary one)")
    args = parser.parse_args()

    import anyio

    with tempfile.TemporaryDirectory(prefix="litassist-mcp-") as tmp:
        store = Path(args.store) if args.store else Path(tmp) / "store"
        if not args.store:
            from assistant.library import ingest_paths
            from assistant.library import open_library

            ingest_paths(open_library(store), [ROOT / "seeds"])
        samples = anyio.run(measure, store, args.calls)
        samples["search() in this process (ms)"] = in_process(store, args.calls)
    rows = []
    for name, values in samples.items():
        if len(values) == 1:
            rows.append([name, f"{values[0]:.1f}", ""])
        else:
            p50, p95 = percentiles(values)
            rows.append([name, f"{p50:.1f}", f"{p95:.1f}"])
    print(table(["measure", "p50 (or the one value)", "p95"], rows))


if __name__ == "__main__":
    main()
