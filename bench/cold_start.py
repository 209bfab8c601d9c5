"""Cold start: what each command costs a fresh process, beside the bare imports it cannot avoid.

    python bench/cold_start.py [--store DIR] [--rounds 3] [--json out.json]
    python bench/cold_start.py --tree /path/to/other/checkout --no-serve   # the same commands, before/after

Baseline: `python -c "import chromadb, onnxruntime, tokenizers, numpy"`, measured in the same run,
interleaved with the commands (the machine may be shared, so each figure is the median of
`--rounds`). Commands, on a store of the bundled seeds (ingested first if `--store` is empty):
`search`, `ask` (extractive), `stats`, `--help`, and `serve` until it has answered a question
(started on a free port, polled with gradio_client until /ask returns); `import gradio` alone is
timed too, as the floor under `serve`. Wall time and peak RSS of
each, and wall time as a ratio to the baseline (goals: search <= 1.5x, ask <= 2x, serve <= 3x);
then the heaviest imports of `search` and `ask` (`python -X importtime`).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREE = [ROOT]  # the checkout whose `assistant` the commands run (--tree)
PYTHON = sys.executable
QUESTION = "How much does non-IID data hurt federated learning?"
GOALS = {"search": 1.5, "ask": 2.0, "serve": 3.0}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(TREE[0]), env.get("PYTHONPATH", "")) if p)
    return env


def run_measured(argv: list[str]) -> tuple[float, float]:
    """(wall s, peak RSS MB) of one child process run to its end."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env(), cwd=TREE[0])
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.read().decode()[-1500:] if proc.stderr else ''}")
    return wall, usage.ru_maxrss / 1024.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def _asked(url: str) -> bool:
    """Whether the app at `url` answered one question through /ask."""
    import httpx
    from gradio_client import Client

    try:
        if httpx.get(url, timeout=1).status_code != 200:
            return False
    except httpx.HTTPError:
        return False
    client = Client(url, verbose=False)
    args = {"message": QUESTION, "mode": "Ask", "author": "", "year_from": "", "year_to": "", "category": ""}
    try:
        client.predict(api_name="/ask", **args)
    except (TypeError, ValueError):  # the UI's inputs changed: the question alone
        client.predict(QUESTION, api_name="/ask")
    return True


def run_serve(store: Path) -> tuple[float, float]:
    """(s until `litassist serve` answered a question, its peak RSS MB)."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    started = time.perf_counter()
    proc = subprocess.Popen(
        [PYTHON, "-m", "assistant", "serve", "--store", str(store), "--port", str(port), "--no-seed"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(), cwd=TREE[0], start_new_session=True,
    )
    try:
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"litassist serve exited with {proc.returncode}")
            if _asked(url):
                return time.perf_counter() - started, _peak_rss_mb(proc.pid)
            if time.perf_counter() - started > 300:
                raise SystemExit("litassist serve did not answer within 300 s")
            time.sleep(0.1)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def commands(store: Path) -> dict[str, list[str]]:
    cli = [PYTHON, "-m", "assistant"]
    return {
        "baseline": [PYTHON, "-c", "import chromadb, onnxruntime, tokenizers, numpy"],
        "gradio": [PYTHON, "-c", "import gradio"],
        "--help": cli + ["--help"],
        "stats": cli + ["stats", "--store", str(store)],
        "search": cli + ["search", "--store", str(store), "federated learning on non-IID data", "-k", "10"],
        "ask": cli + ["ask", "--store", str(store), QUESTION],
    }


def top_imports(argv: list[str], n: int) -> list[tuple[str, float]]:
    """The `n` top-level imports of a command with the largest cumulative time (s)."""
    done = subprocess.run([argv[0], "-X", "importtime", *argv[1:]], capture_output=True, text=True, env=_env(), cwd=TREE[0], check=False)
    rows = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| ( *)(\S+)", line)
        if match and len(match.group(2)) <= 2:  # a module imported by our code or one level below
            rows.append((match.group(3), int(match.group(1)) / 1e6))
    return sorted(rows, key=lambda r: -r[1])[:n]


def ensure_store(store: Path) -> None:
    if (store / "chroma").exists():
        return
    print(f"ingesting the seeds into {store} ...", file=sys.stderr, flush=True)
    subprocess.run([PYTHON, "-m", "assistant", "ingest", "--store", str(store), str(ROOT / "seeds")],
                   check=True, env=_env(), cwd=TREE[0], stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, default=None, help="a store of the seeds (made if empty)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-serve", action="store_true")
    parser.add_argument("--top", type=int, default=12, help="heaviest imports to list")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--tree", type=Path, default=ROOT, help="run the commands of this checkout")
    args = parser.parse_args()
    TREE[0] = args.tree.resolve()

    store = args.store or Path(tempfile.mkdtemp(prefix="litassist-cold-")) / "store"
    ensure_store(store)
    todo = commands(store)
    for argv in todo.values():  # warm the page cache: every round then starts equally cold
        run_measured(argv)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in [*todo, *([] if args.no_serve else ["serve"])]}
    for round_no in range(args.rounds):
        for name, argv in todo.items():
            samples[name].append(run_measured(argv))
        if not args.no_serve:
            samples["serve"].append(run_serve(store))
        print(f"round {round_no + 1}: " + ", ".join(f"{k} {v[-1][0]:.2f} s" for k, v in samples.items()),
              file=sys.stderr, flush=True)

    base = statistics.median(w for w, _ in samples["baseline"])
    results = {}
    print(f"cold start, median of {args.rounds} rounds ({os.cpu_count()} cpus, load avg {os.getloadavg()[0]:.1f}):")
    print(f"{'command':<10}{'wall s':>8}{'x baseline':>12}{'goal':>7}{'peak RSS MB':>13}")
    for name, rows in samples.items():
        wall = statistics.median(w for w, _ in rows)
        rss = max(r for _, r in rows)
        goal = f"{GOALS[name]:.1f}x" if name in GOALS else ""
        results[name] = {"wall_s": round(wall, 3), "ratio": round(wall / base, 2), "peak_rss_mb": round(rss)}
        print(f"{name:<10}{wall:>8.2f}{wall / base:>11.2f}x{goal:>7}{rss:>13.0f}")
    for name in ("search", "ask"):
        top = top_imports(todo[name], args.top)
        results[name]["top_imports"] = top
        print(f"\nheaviest imports of `{name}` (cumulative s, -X importtime):")
        print("  " + ", ".join(f"{module} {seconds:.2f}" for module, seconds in top))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
