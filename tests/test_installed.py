"""litassist installed as a package, not run from the repository: the wheel is built, installed
into a new venv that is not the repo's editable install (the dependencies come from the repo's
venv, so nothing is downloaded), and from there `litassist ask` gives a cited answer on the seeds
and `litassist serve` on an empty store seeds 25 papers and answers in the chat."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
QUESTION = "What context window does Llama 3 support?"

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin/ of a new venv with the built wheel installed (--no-deps)."""
    root = tmp_path_factory.mktemp("installed")
    # built from a copy: an in-tree build/ left by an earlier build could carry deleted modules
    source = root / "source"
    shutil.copytree(REPO, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "bench"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(root / "dist"), str(source)],
        check=True, cwd=root, capture_output=True, text=True,
    )
    [wheel] = (root / "dist").glob("litassist-*.whl")
    env_dir = root / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    site = next((env_dir / "lib").glob("python3*/site-packages"))
    # the repo venv's packages after the new venv's own: its editable litassist is not picked up,
    # because that needs its .pth hook, which only runs for real site dirs
    (site / "_repo_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(env_dir / "bin" / "python"), "install", "-q", "--no-deps", str(wheel)],
        check=True, capture_output=True, text=True,
    )
    return env_dir / "bin"


def run_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITASSIST_") and k != "PYTHONPATH"}
    env["LITASSIST_CACHE"] = os.environ.get("LITASSIST_CACHE", "")
    if not env["LITASSIST_CACHE"]:
        env.pop("LITASSIST_CACHE")
    env["HOME"] = os.environ.get("HOME", str(tmp_path))
    return env


def litassist(bin_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(bin_dir / "litassist"), *args], cwd=cwd, env=run_env(cwd), capture_output=True, text=True, timeout=600)


def test_the_wheel_carries_prompts_and_seeds(installed, tmp_path):
    probe = subprocess.run(
        [str(installed / "python"), "-c",
         "import assistant, json; from assistant.settings import PROMPTS_DIR, SEEDS_DIR; "
         "print(json.dumps([assistant.__file__, str(PROMPTS_DIR), sorted(p.name for p in SEEDS_DIR.iterdir())]))"],
        cwd=tmp_path, env=run_env(tmp_path), capture_output=True, text=True, check=True,
    )
    module, prompts, seeds = json.loads(probe.stdout)
    assert str(REPO) not in module and "site-packages" in module
    assert "site-packages" in prompts and len(seeds) == 5


def test_installed_ask_gives_a_cited_answer(installed, tmp_path):
    store = tmp_path / "store"
    seeds = subprocess.run(
        [str(installed / "python"), "-c", "from assistant.settings import SEEDS_DIR; print(SEEDS_DIR)"],
        cwd=tmp_path, env=run_env(tmp_path), capture_output=True, text=True, check=True,
    ).stdout.strip()
    ingest = litassist(installed, "ingest", "--store", str(store), "--json", seeds, cwd=tmp_path)
    assert ingest.returncode == 0, ingest.stderr
    assert json.loads(ingest.stdout)["added"] == 25
    answer = litassist(installed, "ask", "--store", str(store), "--json", QUESTION, cwd=tmp_path)
    assert answer.returncode == 0, answer.stderr
    data = json.loads(answer.stdout)
    assert data["citations"] and "2407.21783" in {c["paper_id"] for c in data["citations"]}


def test_installed_serve_seeds_an_empty_store_and_answers(installed, tmp_path):
    port = free_port()
    server = subprocess.Popen(
        [str(installed / "litassist"), "serve", "--store", str(tmp_path / "store"), "--port", str(port)],
        cwd=tmp_path, env=run_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        client = wait_for_app(f"http://127.0.0.1:{port}/", server)
        deadline = time.monotonic() + 300
        while not client.predict("", "", "", "", api_name="/list_papers")[1].startswith("25 paper"):
            assert time.monotonic() < deadline, "the seeds were not ingested in time"
            time.sleep(2)
        job = client.submit(message=QUESTION, mode="Ask", author="", year_from="", year_to="", category="", api_name="/ask")
        final = job.result()
        text = json.dumps(final)
        assert "error" not in text.lower()[:2000] and "[1]" in text and "2407.21783" in text
    finally:
        server.terminate()
        server.wait(timeout=30)


def wait_for_app(url: str, server: subprocess.Popen):
    from gradio_client import Client

    deadline = time.monotonic() + 240
    while True:
        if server.poll() is not None:
            pytest.fail(f"litassist serve exited: {server.stdout.read() if server.stdout else ''}")
        try:
            return Client(url, verbose=False)
        except Exception:
            assert time.monotonic() < deadline, "litassist serve did not come up"
            time.sleep(1)
