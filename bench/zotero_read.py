"""How long reading a Zotero library takes: `python bench/zotero_read.py [--items 5000]`.

Builds a `zotero.sqlite` from Zotero's real schema (tests/zotero_factory.py) with N journal
articles (three authors, a collection, two tags, a citation key and a stored PDF with a full-text
cache each), then times `parse_file` on it (copy of the database included) and prints the figures.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.ingest import parse_file  # noqa: E402
from tests.zotero_factory import ZoteroLibrary  # noqa: E402


def build(folder: Path, n: int) -> Path:
    z = ZoteroLibrary(folder)
    z.db.execute("PRAGMA synchronous=OFF")  # building fast; the reader copies the file either way
    parent = z.add_collection("Thesis")
    child = z.add_collection("Chapter 2", parent)
    for i in range(n):
        item = z.add_item("journalArticle", {
            "title": f"Study number {i} of federated optimisation", "abstractNote": f"We study case {i}. " * 20,
            "date": f"{2000 + i % 25}-05-00 May {2000 + i % 25}", "DOI": f"10.1000/bench.{i}",
            "publicationTitle": "Journal of Benchmarks", "extra": f"Citation Key: bench{i}"},
            [("Ann", f"Author{i % 300}"), ("Bo", "Second"), ("Cy", f"Third{i % 50}")])
        z.collect(child if i % 2 else parent, item)
        z.tag(item, f"topic-{i % 40}", "to-read")
        z.add_attachment(item, "imported_file", "paper.pdf", data=b"%PDF-1.4 stub", ft_cache=f"Full text {i}. " * 200)
    z.close()
    return folder / "zotero.sqlite"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        db = build(Path(tmp) / "Zotero", args.items)
        built = time.perf_counter() - start
        start = time.perf_counter()
        result = parse_file(db)
        took = time.perf_counter() - start
        size = db.stat().st_size
    print(f"built {args.items} items in {built:.1f} s; database {size / 1e6:.1f} MB")
    print(f"parse_file: {len(result.papers)} papers in {took:.2f} s ({1000 * took / max(1, len(result.papers)):.2f} ms per item)")


if __name__ == "__main__":
    main()
