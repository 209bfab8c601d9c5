"""The query path stays light: a search and an ask on a real store import neither torch nor
transformers nor sentence-transformers (the ONNX embedder needs only onnxruntime and tokenizers),
and `--help` imports neither chromadb nor gradio. Each check runs in a fresh interpreter."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "transformers", "sentence_transformers")

PROBE = """
import json, sys
from assistant.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("MODULES=" + json.dumps(sorted(m for m in sys.modules if "." not in m)), file=sys.stderr)
"""


def _imported(args: list[str], env: dict[str, str]) -> set[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, check=False,
                          cwd=ROOT, timeout=300)
    lines = [line for line in done.stderr.splitlines() if line.startswith("MODULES=")]
    assert lines, done.stderr[-2000:]
    return set(json.loads(lines[-1][len("MODULES="):]))


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env.pop("LITASSIST_EMBEDDER", None)  # the default (ONNX int8) embedder
    return env


@pytest.fixture(scope="module")
def store(tmp_path_factory, env) -> Path:
    """A small real store, ingested in its own process (ingest may export the model: torch there)."""
    directory = tmp_path_factory.mktemp("boundary-store")
    seeds = ROOT / "seeds"
    done = subprocess.run([sys.executable, "-m", "assistant", "ingest", "--store", str(directory), str(seeds)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return directory


@pytest.mark.slow
@pytest.mark.parametrize("command", [
    ["search", "federated learning on non-IID data", "-k", "3"],
    ["ask", "How does non-IID data affect federated learning?"],
])
def test_query_path_imports_no_torch(store, env, command):
    modules = _imported([command[0], "--store", str(store), *command[1:], "--json"], env)
    assert "onnxruntime" in modules and "tokenizers" in modules  # it did embed the question
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))


def test_help_imports_no_store_or_ui(env):
    modules = _imported(["--help"], env)
    assert not modules & {"chromadb", "gradio", "llama_index", "onnxruntime", *HEAVY}
