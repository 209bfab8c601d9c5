"""`litassist eval`: a tiny corpus and queries through the CLI (--json and the table), the metric
arithmetic, and the embedding cache that lets repeated evaluations skip the model."""
from __future__ import annotations

import json

import pytest

from assistant.cli import main
from assistant.evaluate import aggregate, format_report, score_ranking

CORPUS = [
    ("c1", "Coral bleaching under marine heatwaves", "Sea surface temperature anomalies drive coral bleaching on reefs; we survey 40 reefs after the 2016 heatwave."),
    ("c2", "Sourdough fermentation microbiology", "Lactic acid bacteria and wild yeasts in sourdough starters shape bread acidity and flavour."),
    ("c3", "Glacier retreat in the Alps", "Alpine glaciers lost a third of their volume since 1980 according to repeated laser altimetry."),
    ("c4", "Bee colony collapse and neonicotinoids", "Neonicotinoid pesticide exposure impairs honeybee foraging and colony growth in field trials."),
    ("c5", "Volcanic ash and aviation safety", "Jet engines ingesting volcanic ash suffer melting glass deposits; we model safe ash concentrations."),
    ("c6", "Octopus camouflage", "Octopuses change skin colour and texture within milliseconds using chromatophores for camouflage."),
]
QUERIES = [
    ("Does sourdough starter yeast affect bread acidity?", ["c2"], "food"),
    ("neonicotinoid pesticides harm honeybee colonies", ["c4"], "bio"),
    ("how fast can an octopus change its skin colour", ["c6"], "bio"),
    ("coral reefs bleaching after marine heatwave", ["c1"], "bio"),
]


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.setenv("LITASSIST_EVAL_CACHE", str(tmp_path / "cache"))
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"id": i, "title": t, "abstract": a}) + "\n" for i, t, a in CORPUS))
    queries = tmp_path / "queries.jsonl"
    queries.write_text("".join(json.dumps({"query": q, "relevant": r, "task": t}) + "\n" for q, r, t in QUERIES))
    return corpus, queries, tmp_path / "cache"


def run_json(capsys, *argv: str) -> dict:
    assert main(["eval", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("mode", ["hybrid", "bm25", "dense"])
def test_eval_json(files, capsys, mode):
    corpus, queries, _ = files
    report = run_json(capsys, "--corpus", str(corpus), "--queries", str(queries), "--mode", mode)
    assert report["mode"] == mode
    assert report["n"] == 4
    assert set(report["by_task"]) == {"food", "bio"}
    assert report["by_task"]["bio"]["n"] == 3 and report["by_task"]["food"]["n"] == 1
    for scope in [report, *report["by_task"].values()]:
        assert set(scope) >= {"n", "recall@1", "recall@5", "recall@10", "mrr@10"}
        assert 0.0 <= scope["recall@1"] <= scope["recall@5"] <= scope["recall@10"] <= 1.0
    # every query names its document's distinctive words: all found first
    assert report["recall@1"] == 1.0 and report["mrr@10"] == 1.0


def test_eval_table_limit_and_cache(files, capsys, monkeypatch):
    corpus, queries, cache = files
    assert main(["eval", "--corpus", str(corpus), "--queries", str(queries), "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert "overall" in out and "food" in out and "mrr@10" in out
    assert list(cache.rglob("*.npz")), "vectors were cached"

    # a second evaluation finds every vector in the cache: the model is never loaded
    import assistant.embed

    def no_model(backend):
        raise AssertionError("the model should not be needed")

    monkeypatch.setattr(assistant.embed, "load_model", no_model)
    report = run_json(capsys, "--corpus", str(corpus), "--queries", str(queries), "--limit", "2")
    assert report["n"] == 2


def test_eval_reports_a_bad_file(files, capsys, tmp_path):
    corpus, _, _ = files
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"query": "fine", "relevant": ["c1"]}\nnot json\n')
    assert main(["eval", "--corpus", str(corpus), "--queries", str(bad)]) == 2
    assert f"{bad}:2" in capsys.readouterr().err
    assert main(["eval", "--corpus", str(tmp_path / "missing.jsonl"), "--queries", str(bad)]) == 2
    assert "missing.jsonl" in capsys.readouterr().err


def test_metrics_arithmetic():
    scores = score_ranking(["x", "a", "y", "b"] + [f"z{i}" for i in range(10)], {"a", "b", "q"})
    assert scores["recall@1"] == 0.0
    assert scores["recall@5"] == pytest.approx(2 / 3)
    assert scores["recall@10"] == pytest.approx(2 / 3)
    assert scores["mrr@10"] == pytest.approx(0.5)
    assert score_ranking(["z"] * 10 + ["a"], {"a"})["mrr@10"] == 0.0
    report = aggregate([("t1", score_ranking(["a"], {"a"})), ("t2", score_ranking(["b", "a"], {"a"}))])
    assert report["n"] == 2 and report["mrr@10"] == pytest.approx(0.75)
    assert report["by_task"]["t2"]["recall@1"] == 0.0
    text = format_report(report)
    assert "t1" in text and "t2" in text and "0.7500" in text


def test_vector_cache_round_trip_and_torn_shard(tmp_path):
    from assistant.embed import VectorCache

    cache = VectorCache(tmp_path, "model/backend")
    cache.put(["alpha", "beta"], [[1.0, 0.0], [0.0, 1.0]])
    (cache.directory / "torn.npz").write_bytes(b"not a zip")
    fresh = VectorCache(tmp_path, "model/backend")
    assert fresh.get(["beta", "gamma", "alpha"]) == [[0.0, 1.0], None, [1.0, 0.0]]
    assert VectorCache(tmp_path, "other/backend").get(["alpha"]) == [None]
