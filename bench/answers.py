"""Answer benchmark on sciqa and the seeds: do extractive answers cite the right paper, only
real ones, and read well?

    /work/venv/bin/python bench/answers.py [--limit N] [--calibrate] [--no-seeds] [--json]

Builds (once) a store of /work/shared/data/sciqa/corpus.jsonl under
bench/out/sciqa-<corpus hash>-<embedder backend>/ (embeddings cached there too, so reruns are quick;
the backend is LITASSIST_EMBEDDER or the product default), then answers the dev queries with the
extractive model and reports:
  - gold cited: share of answers whose citations include the query's gold abstract
  - citation validity: share of citations that point at a paper retrieved for the question (must be 100%)
  - abstain rate on deliberately unrelated questions (UNRELATED below), false-abstain rate on dev queries
  - p50 seconds per answer
  - dangling / unattributed sentence rate: quoted sentences that open by leaning on a sentence
    not shown ("However, ...", "To address these concerns, ...") and sentences speaking in an
    unnamed first person outside a block that names its paper.
It also asks the bundled seeds (seeds/) SEED_QUESTIONS, short questions as researchers ask them
(names, acronyms, comparisons, records, topics; each expects an answer citing a paper whose title
or text holds a given word) and SEED_OFF_TOPIC (must abstain), and reports the same rates there.
With --calibrate it also recomputes the two thresholds from data:
  - support (assistant.cite.SUPPORT_THRESHOLD / SUPPORT_COSINE_WEIGHT): SciFact claims scored against
    their gold abstract (supported), a random other abstract and the most similar non-gold abstract
    (unsupported); the threshold is the highest one that still keeps >= 95% of gold pairs supported.
  - abstain (assistant.answer.ABSTAIN_THRESHOLD): `relevance_evidence` (best hit's 0.7 * cosine +
    0.3 * question-term coverage) for the dev queries vs for UNRELATED; the threshold is the
    midpoint between the highest unrelated question and the 1st percentile of dev queries.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from assistant.evaluate import build_store, read_jsonl  # noqa: E402

DATA = Path("/work/shared/data/sciqa")
OUT = REPO / "bench" / "out"
SUPPORT_MIN_RECALL = 0.95
WEIGHTS = (0.4, 0.5, 0.6, 0.7, 0.8, 1.0)

# Questions no paper in a science corpus answers: trivia, sport, cooking, travel, arts, hobbies.
UNRELATED = [
    "What is the boiling point of tungsten?",
    "Who won the 1998 World Cup?",
    "How do I make a sourdough starter?",
    "What is the best recipe for chocolate chip cookies?",
    "Who wrote the novel Pride and Prejudice?",
    "What is the capital of Australia?",
    "How many players are on a rugby union team?",
    "When did the Berlin Wall fall?",
    "What is the tallest mountain in Africa?",
    "How do I change a flat tyre on a bicycle?",
    "Which planet has the most moons?",
    "What year did the Titanic sink?",
    "How long should I boil an egg for a soft yolk?",
    "Who painted the ceiling of the Sistine Chapel?",
    "What is the exchange rate between the euro and the yen?",
    "How do you play the Sicilian Defence in chess?",
    "What is the plot of the film Casablanca?",
    "Which band released the album Abbey Road?",
    "How do I repot an orchid?",
    "What is the speed of sound in dry air at 20 degrees Celsius?",
    "Who was the first emperor of Rome?",
    "How many lines does a sonnet have?",
    "What is the best way to learn to juggle?",
    "What time zone is Tokyo in?",
    "How long is a marathon?",
    "What is the leg before wicket rule in cricket?",
    "How do I season a cast iron pan?",
    "What is the melting point of gold?",
    "Who composed The Four Seasons?",
    "Which country has the longest coastline?",
]


# Short researcher questions about the seeds: (question, a word the cited papers must hold).
SEED_QUESTIONS = [
    ("What does Opacus offer?", "Opacus"),
    ("How is FSDP different from DDP?", "FSDP"),
    ("Compare FedBuff and FedSynth", "FedSynth"),
    ("FedBuff vs FedSynth", "FedBuff"),
    ("Who wrote the Papaya paper?", "Papaya"),
    ("When was Papaya published?", "Papaya"),
    ("Where was FedSynth published?", "FedSynth"),
    ("Who are the authors of Active Federated Learning?", "Active Federated Learning"),
    ("Which papers did Kshitiz Malik write?", "Malik"),
    ("Papers by John Nguyen", "Nguyen"),
    ("How many papers on federated learning?", "federated"),
    ("How many papers are about autonomous driving?", "autonomous driving"),
    ("Summarise the FedSynth paper", "FedSynth"),
    ("What is the Llama 3 paper about?", "Llama 3"),
    ("What is FURL?", "FURL"),
    ("What is P4L?", "P4L"),
    ("What does ALIBI do?", "ALIBI"),
    ("What is Llama Guard?", "Llama Guard"),
    ("What context window does Llama 3 support?", "Llama 3"),
    ("How does FedBuff aggregate updates?", "FedBuff"),
    ("What is partial model personalization?", "personalization"),
    ("Difference between partial and full model personalization", "personalization"),
    ("Does pre-training help federated learning?", "pre-training"),
    ("How is privacy handled in federated learning?", "privacy"),
    ("What causes loss divergence in LLM pretraining?", "divergence"),
    ("How do you scale context length of foundation models?", "context"),
    ("What is serverless computing?", "Serverless"),
    ("How accurate is federated learning on non-IID data?", "non-IID"),
    ("What is Papaya?", "Papaya"),
    ("How does active federated learning choose clients?", "Active Federated Learning"),
]
SEED_OFF_TOPIC = [
    "What is the boiling point of tungsten?",
    "Who won the 1998 World Cup?",
    "How do I make a sourdough starter?",
    "Who wrote the novel Pride and Prejudice?",
    "What is the capital of Australia?",
    "When did the Berlin Wall fall?",
    "How do I repot an orchid?",
    "Who painted the Sistine Chapel ceiling?",
    "Compare Bach and Vivaldi",
    "Which band released Abbey Road?",
    "How many moons does Jupiter have?",
    "What is the plot of Casablanca?",
    "How long is a marathon?",
    "What is the best way to learn to juggle?",
    "How do I season a cast iron pan?",
    "Who was the first emperor of Rome?",
    "What time zone is Tokyo in?",
    "Summarise the history of the Roman Empire",
    "How many players are on a rugby team?",
    "Which papers did Wolfgang Mozart write?",
]
FIRST_PERSON = re.compile(r"\b(we|our|ours|us)\b", re.I)
QUOTE = re.compile(r"“(.+?)”\s*\[(\d+)\]")


@dataclass
class Bench:
    store: object
    corpus: dict[str, dict]  # corpus id -> row
    paper_of: dict[str, str]  # corpus id -> stored paper id
    corpus_of: dict[str, str]  # stored paper id -> corpus id


def corpus_hash(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()[:12]


def open_bench(corpus_path: Path) -> Bench:
    """The corpus store, built on first use and reused while the corpus is unchanged."""
    from assistant.embed import Embedder, default_backend
    from assistant.library import Library

    rows = read_jsonl(corpus_path, ("id",))
    backend = default_backend()  # LITASSIST_EMBEDDER, else the product default
    base = OUT / f"sciqa-{corpus_hash(corpus_path)}-{backend}"
    done = base / "complete"
    if done.exists():
        store = Library(base / "store", embedder=Embedder(backend, cache_dir=base / "cache"))
    else:
        print(f"building the corpus store in {base} (once) ...", file=sys.stderr)
        store, _ = build_store(rows, base / "store", cache_dir=base / "cache", show_progress=True)
        done.write_text("ok\n")
    paper_of: dict[str, str] = {}
    for paper in store.papers():
        for alias in [paper.id, *paper.aliases]:
            paper_of[alias] = paper.id
    corpus = {str(r["id"]): r for r in rows}
    corpus_of = {pid: cid for cid, pid in paper_of.items() if cid in corpus}
    return Bench(store, corpus, paper_of, corpus_of)


# ---- calibration ------------------------------------------------------------------------------

def _support_features(bench: Bench, claim: str, corpus_id: str) -> tuple[float, float]:
    """(best-sentence cosine, term overlap with the whole source) of a claim against an abstract,
    computed exactly as assistant.cite does."""
    from assistant.cite.support import SupportScorer
    from assistant.llm.base import SourceText

    row = bench.corpus[corpus_id]
    source = SourceText(1, corpus_id, row.get("title") or "", [], None, row.get("abstract") or "")
    evidence = SupportScorer(bench.store.embedder, [source]).score([claim], [[1]])[0]
    return (evidence[0].cosine, evidence[0].overlap) if evidence else (0.0, 0.0)


def calibrate_support(bench: Bench, queries: list[dict]) -> dict:
    from assistant.retrieve import search

    rng = random.Random(13)
    ids = sorted(bench.corpus)
    pairs: dict[str, list[tuple[float, float]]] = {"gold": [], "random": [], "nearest non-gold": []}
    claims = [q for q in queries if q.get("task") == "scifact"]
    for q in claims:
        gold = str(q["relevant"][0])
        hits = search(bench.store, q["query"], k=5)
        nearest = next((bench.corpus_of[h.paper.id] for h in hits if bench.corpus_of.get(h.paper.id) != gold), None)
        pairs["gold"].append(_support_features(bench, q["query"], gold))
        pairs["random"].append(_support_features(bench, q["query"], rng.choice([i for i in ids if i != gold])))
        if nearest:
            pairs["nearest non-gold"].append(_support_features(bench, q["query"], nearest))

    def auc(pos: list[float], neg: list[float]) -> float:
        wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
        return wins / (len(pos) * len(neg)) if pos and neg else 0.0

    table = []
    for w in WEIGHTS:
        scored = {name: [w * c + (1 - w) * o for c, o in rows] for name, rows in pairs.items()}
        ordered = sorted(scored["gold"])
        threshold = ordered[int((1 - SUPPORT_MIN_RECALL) * len(ordered))] if ordered else 0.0
        threshold = int(threshold * 100) / 100  # round down to 0.01: recall stays >= the target
        table.append(
            {
                "cosine_weight": w,
                "auc_vs_random": round(auc(scored["gold"], scored["random"]), 4),
                "auc_vs_nearest": round(auc(scored["gold"], scored["nearest non-gold"]), 4),
                "threshold": threshold,
                **{f"flagged {name}": round(sum(s < threshold for s in v) / len(v), 4) for name, v in scored.items() if v},
            }
        )
    best = max(table, key=lambda row: (row["auc_vs_nearest"], row["auc_vs_random"]))
    return {"claims": len(claims), "by_weight": table, "chosen": best}


def calibrate_abstain(bench: Bench, queries: list[dict]) -> dict:
    from assistant.answer import DEFAULT_K, relevance_evidence
    from assistant.retrieve import search

    def tops(questions: list[str]) -> list[float]:
        return [relevance_evidence(q, search(bench.store, q, k=DEFAULT_K)) for q in questions]

    dev = sorted(tops([q["query"] for q in queries]))
    unrelated = sorted(tops(UNRELATED))
    p1 = dev[int(0.01 * len(dev))]
    threshold = round((p1 + unrelated[-1]) / 2, 2) if p1 > unrelated[-1] else round(p1, 2)
    return {
        "dev evidence": {"min": round(dev[0], 4), "p1": round(p1, 4), "p5": round(dev[int(0.05 * len(dev))], 4), "median": round(statistics.median(dev), 4)},
        "unrelated evidence": {"max": round(unrelated[-1], 4), "median": round(statistics.median(unrelated), 4)},
        "threshold": threshold,
        "false_abstain_at_threshold": round(sum(t < threshold for t in dev) / len(dev), 4),
        "unrelated_abstain_at_threshold": round(sum(t < threshold for t in unrelated) / len(unrelated), 4),
    }


# ---- how answers read -------------------------------------------------------------------------

def _follows(abstract_sentences: list[str], previous: str | None, current: str) -> bool:
    """Whether `previous` is the sentence just before `current` in the abstract."""
    if previous is None:
        return False
    try:
        i = abstract_sentences.index(current)
    except ValueError:
        return False
    return i > 0 and abstract_sentences[i - 1] == previous


def reading_faults(result, store) -> tuple[int, int]:
    """(sentences, dangling or unattributed ones) of an answer. A quote is dangling when it opens
    by leaning on a sentence (assistant.llm.extractive_answer.DEPENDENT) that is not the quote
    before it; a sentence outside quotes that speaks in the first person, or a quote in a block
    that does not open by naming its paper, is unattributed. Answers without quotation marks
    (older answers) count every content sentence as an unattributed quote."""
    from assistant.llm.extractive import candidate_sentences
    from assistant.llm.extractive_answer import is_dependent
    from assistant.sentences import split_sentences

    if result.abstained:
        return 0, 0
    paper_of = {c.n: c.paper_id for c in result.citations}
    sentences_of: dict[str, list[str]] = {}

    def abstract(n: int) -> list[str]:
        pid = paper_of.get(n)
        if pid and pid not in sentences_of:
            from assistant.llm.base import SourceText

            paper = store.get(pid)
            sentences_of[pid] = [t for _i, t in candidate_sentences(SourceText(n, pid, "", [], None, paper.abstract))]
        return sentences_of.get(pid, [])

    total = faults = 0
    paragraphs = [p for p in result.answer.split("\n\n") if p.strip()][1:]
    quoted = "“" in result.answer
    for paragraph in paragraphs:
        if paragraph.startswith("#"):
            continue
        if not quoted:  # the old shape: bare sentences, each cited
            previous = None
            for sentence in split_sentences(paragraph):
                total += 1
                bare = re.sub(r"\s*\[\d+\]", "", sentence)
                faults += bool(is_dependent(bare) or FIRST_PERSON.search(bare))
            continue
        quotes = QUOTE.findall(paragraph)
        attributed = paragraph.startswith("**")
        previous = None
        for text, n in quotes:
            total += 1
            dangling = is_dependent(text) and not _follows(abstract(int(n)), previous, text)
            faults += bool(dangling or not attributed)
            previous = text
        outside = QUOTE.sub("", paragraph)
        for sentence in split_sentences(outside):
            if FIRST_PERSON.search(sentence):
                total += 1
                faults += 1
    return total, faults


# ---- answers ----------------------------------------------------------------------------------

def run_answers(bench: Bench, queries: list[dict]) -> dict:
    from assistant.answer import ask
    from assistant.llm.registry import get_model

    model = get_model("extractive")
    seconds: list[float] = []
    gold_cited = gold_retrieved = answered = 0
    citations = valid = 0
    sentences = faults = 0
    by_task: dict[str, list[int]] = {}
    for i, q in enumerate(queries, 1):
        if i % 25 == 0:
            print(f"answers: {i}/{len(queries)} dev queries", file=sys.stderr, flush=True)
        start = time.perf_counter()
        result = ask(q["query"], store=bench.store, model=model)
        seconds.append(time.perf_counter() - start)
        total, bad = reading_faults(result, bench.store)
        sentences += total
        faults += bad
        gold = {bench.paper_of.get(str(r), f"missing:{r}") for r in q["relevant"]}
        retrieved = {r.paper_id for r in result.retrieved}
        cited = {c.paper_id for c in result.citations}
        hit = bool(gold & cited)
        answered += not result.abstained
        gold_cited += hit
        gold_retrieved += bool(gold & retrieved)
        citations += len(result.citations) + len(result.removed_citations)
        valid += sum(c.paper_id in retrieved for c in result.citations)
        by_task.setdefault(str(q.get("task") or "all"), []).append(hit)
    abstained_unrelated = 0
    for question in UNRELATED:
        start = time.perf_counter()
        abstained_unrelated += ask(question, store=bench.store, model=model).abstained
        seconds.append(time.perf_counter() - start)
    n = len(queries)
    return {
        "queries": n,
        "gold cited": round(gold_cited / n, 4) if n else 0.0,
        "gold retrieved (k=6)": round(gold_retrieved / n, 4) if n else 0.0,
        "gold cited by task": {t: round(sum(v) / len(v), 4) for t, v in sorted(by_task.items())},
        "citation validity": round(valid / citations, 4) if citations else 1.0,
        "citations": citations,
        "false abstain (dev)": round((n - answered) / n, 4) if n else 0.0,
        "dangling/unattributed": round(faults / sentences, 4) if sentences else 0.0,
        "answer sentences": sentences,
        "abstain (unrelated)": round(abstained_unrelated / len(UNRELATED), 4),
        "unrelated questions": len(UNRELATED),
        "p50 seconds per answer": round(statistics.median(seconds), 3),
    }


def open_seeds() -> object:
    """A store of the bundled seeds under bench/out/seeds-<hash>-<backend> (built once)."""
    from assistant.embed import Embedder, default_backend
    from assistant.library import ingest_paths
    from assistant.library import Library

    seeds = REPO / "seeds"
    digest = hashlib.sha1(b"".join(p.read_bytes() for p in sorted(seeds.iterdir()) if p.is_file())).hexdigest()[:12]
    base = OUT / f"seeds-{digest}-{default_backend()}"
    store = Library(base / "store", embedder=Embedder(default_backend(), cache_dir=base / "cache"))
    if not (base / "complete").exists():
        ingest_paths(store, [seeds])
        (base / "complete").write_text("ok\n")
    return store


def run_seeds(store) -> dict:
    """SEED_QUESTIONS (must answer, citing a paper that holds the expected word) and
    SEED_OFF_TOPIC (must abstain) on the seeds store."""
    from assistant.answer import ask
    from assistant.llm.registry import get_model

    model = get_model("extractive")
    seconds: list[float] = []
    false_abstain: list[str] = []
    missed: list[str] = []
    sentences = faults = citations = valid = 0
    for question, word in SEED_QUESTIONS:
        start = time.perf_counter()
        result = ask(question, store=store, model=model)
        seconds.append(time.perf_counter() - start)
        if result.abstained:
            false_abstain.append(question)
            continue
        retrieved = {r.paper_id for r in result.retrieved}
        citations += len(result.citations) + len(result.removed_citations)
        valid += sum(c.paper_id in retrieved for c in result.citations)
        papers = [store.get(c.paper_id) for c in result.citations]
        if not any(word.lower() in f"{p.title} {p.abstract} {' '.join(p.authors)}".lower() for p in papers):
            missed.append(question)
        total, bad = reading_faults(result, store)
        sentences += total
        faults += bad
    abstained = 0
    for question in SEED_OFF_TOPIC:
        start = time.perf_counter()
        abstained += ask(question, store=store, model=model).abstained
        seconds.append(time.perf_counter() - start)
    n = len(SEED_QUESTIONS)
    return {
        "questions": n,
        "false abstain": round(len(false_abstain) / n, 4),
        "falsely abstained": false_abstain,
        "cites the named paper": round((n - len(false_abstain) - len(missed)) / n, 4),
        "missed": missed,
        "dangling/unattributed": round(faults / sentences, 4) if sentences else 0.0,
        "answer sentences": sentences,
        "citation validity": round(valid / citations, 4) if citations else 1.0,
        "abstain (off-topic)": round(abstained / len(SEED_OFF_TOPIC), 4),
        "off-topic questions": len(SEED_OFF_TOPIC),
        "p50 seconds per answer": round(statistics.median(seconds), 3),
    }


def print_table(title: str, rows: dict) -> None:
    print(f"\n{title}")
    print("-" * len(title))
    for key, value in rows.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in value.items())
        print(f"{key:<28} {value}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DATA / "corpus.jsonl")
    parser.add_argument("--queries", type=Path, default=DATA / "dev_queries.jsonl")
    parser.add_argument("--limit", type=int, default=None, help="only the first N dev queries")
    parser.add_argument("--every", type=int, default=1, help="only every K-th dev query (a sample across tasks)")
    parser.add_argument("--calibrate", action="store_true", help="also recompute the support and abstain thresholds")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-seeds", action="store_true", help="skip the short questions on the seeds")
    parser.add_argument("--no-sciqa", action="store_true", help="skip sciqa (only the seeds)")
    args = parser.parse_args(argv)

    from assistant.answer import ABSTAIN_THRESHOLD
    from assistant.cite.support import SUPPORT_COSINE_WEIGHT, SUPPORT_THRESHOLD

    report: dict = {
        "settings": {
            "support threshold": SUPPORT_THRESHOLD,
            "support cosine weight": SUPPORT_COSINE_WEIGHT,
            "abstain threshold": ABSTAIN_THRESHOLD,
        }
    }
    if not args.no_sciqa:
        bench = open_bench(args.corpus)
        queries = read_jsonl(args.queries, ("query", "relevant"))
        queries = queries[:: max(1, args.every)]
        if args.limit is not None:
            queries = queries[: args.limit]
        if args.calibrate:
            report["support calibration"] = calibrate_support(bench, queries)
            report["abstain calibration"] = calibrate_abstain(bench, queries)
        report["answers (extractive)"] = run_answers(bench, queries)
    if not args.no_seeds:
        report["seeds (short questions)"] = run_seeds(open_seeds())
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
        return 0
    print_table("settings in use", report["settings"])
    if "support calibration" in report:
        support = report["support calibration"]
        print(f"\nsupport calibration ({support['claims']} SciFact claims; threshold keeps >= {SUPPORT_MIN_RECALL:.0%} of gold pairs)")
        header = ["cosine_weight", "auc_vs_random", "auc_vs_nearest", "threshold", "flagged gold", "flagged random", "flagged nearest non-gold"]
        print("  ".join(f"{h:>14}" for h in header))
        for row in support["by_weight"]:
            print("  ".join(f"{row.get(h, ''):>14}" for h in header))
        print(f"chosen: {support['chosen']}")
        print_table("abstain calibration (relevance evidence of the retrieved papers)", report["abstain calibration"])
    if "answers (extractive)" in report:
        print_table("answers (extractive model, sciqa dev)", report["answers (extractive)"])
    if "seeds (short questions)" in report:
        print_table("short questions on the seeds (extractive model)", report["seeds (short questions)"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
