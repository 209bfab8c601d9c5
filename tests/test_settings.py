"""Settings are resolved once, the same way for the CLI, the web app and the Python API:
option > environment variable > the store's config.toml > default. Checked for every setting,
and from the web app's side: `litassist serve` uses the store's config.toml like the CLI does."""
from __future__ import annotations

import shutil

import pytest

from assistant.settings import DEFAULTS, ENV_VARS, SETTING_NAMES, load_settings
from assistant.errors import LitassistError
from tests.http_fixtures import FakeServer, closed_port_url, openai_chat

VALUES = {
    "model": ("ollama:from-option", "ollama:from-env", "ollama:from-config"),
    "chroma_url": ("http://127.0.0.1:1/option", "http://127.0.0.1:1/env", "http://127.0.0.1:1/config"),
    "base_url": ("http://option.invalid", "http://env.invalid", "http://config.invalid"),
    "api_key": ("sk-option", "sk-env", "sk-config"),
    "embedder": ("torch", "onnx", "onnx-int8"),
    "context_window": ("4096", "16384", "32768"),
    "think": ("high", "false", "low"),
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ENV_VARS.values():
        monkeypatch.delenv(name, raising=False)


def write_config(store_dir, **values) -> None:
    store_dir.mkdir(parents=True, exist_ok=True)
    (store_dir / "config.toml").write_text("".join(f'{k} = "{v}"\n' for k, v in values.items()), encoding="utf-8")


def test_every_setting_is_covered():
    assert set(VALUES) == set(SETTING_NAMES) == set(DEFAULTS)


@pytest.mark.parametrize("name", sorted(VALUES))
def test_precedence_option_env_config_default(name, tmp_path, monkeypatch):
    option, env, config = VALUES[name]
    assert load_settings(tmp_path).get(name) == DEFAULTS[name]
    write_config(tmp_path, **{name: config})
    assert load_settings(tmp_path).get(name) == config
    monkeypatch.setenv(ENV_VARS[name], env)
    assert load_settings(tmp_path).get(name) == env
    assert load_settings(tmp_path, **{name: option}).get(name) == option


def test_the_store_directory_itself(tmp_path, monkeypatch):
    monkeypatch.setenv("LITASSIST_HOME", str(tmp_path / "env"))
    assert load_settings().store_dir == tmp_path / "env"
    assert load_settings(tmp_path / "option").store_dir == tmp_path / "option"


def test_the_key_is_never_in_the_settings_repr(tmp_path):
    assert "sk-secret" not in repr(load_settings(tmp_path, api_key="sk-secret"))


# ---- the web app's side -----------------------------------------------------------------------

def test_web_app_uses_the_store_config_for_the_embedder(tmp_path):
    from ui.app import create_app

    store_dir = tmp_path / "store"
    write_config(store_dir, embedder="onnx")
    app = create_app(load_settings(store_dir), seed=False)
    assert app.library.embedder.name.endswith("onnx"), app.library.embedder.name
    assert app.library.stored_embedder == app.library.embedder.name


def test_web_app_reports_the_configured_chroma_server(tmp_path):
    from ui.app import create_app

    url = closed_port_url()
    write_config(tmp_path, chroma_url=url)
    with pytest.raises(LitassistError) as info:
        create_app(load_settings(tmp_path), seed=False)
    assert url.split("//")[1] in str(info.value)


def test_web_app_answers_with_model_url_and_key_from_config_and_env(seeded_store_dir, tmp_path, monkeypatch):
    """model and base URL in config.toml, the key in the environment: the chat's question reaches
    that server, as that model, with that key, when the chat leaves the model fields empty."""
    from gradio_client import Client

    from tests.test_ui_client import free_port
    from ui.app import create_app, launch

    store_dir = tmp_path / "store"
    shutil.copytree(seeded_store_dir, store_dir)
    with FakeServer({"/v1/chat/completions": openai_chat(["Llama 3 supports 128K tokens [1]."])}) as server:
        write_config(store_dir, model="openai:from-config", base_url=f"{server.url}/v1")
        monkeypatch.setenv("LITASSIST_API_KEY", "sk-from-env")
        app = create_app(load_settings(store_dir), seed=False)
        port = free_port()
        launch(app.demo, host="127.0.0.1", port=port, block=False, quiet=True)
        try:
            client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            job = client.submit(
                message="What context window does Llama 3 support?", mode="Ask", author="", year_from="",
                year_to="", category="", api_name="/ask",
            )
            job.result()
        finally:
            app.demo.close()
        chats = [r for r in server.requests if r.path == "/v1/chat/completions"]
    assert chats, "the configured server was never asked"
    assert chats[-1].json()["model"] == "from-config"
    assert chats[-1].headers["Authorization"] == "Bearer sk-from-env"


def test_author_mode_honours_year_filters(seeded_store):
    from assistant.retrieve import Filters
    from assistant.tasks.author import summarize_author

    every = summarize_author("Kshitiz Malik", store=seeded_store)
    recent = summarize_author("Kshitiz Malik", store=seeded_store, filters=Filters(year_from=2024))
    assert len(recent.papers) < len(every.papers)
    assert recent.papers and all((p.year or 0) >= 2024 for p in recent.papers)
    assert any("filtered" in note for note in recent.resolution.notes)
    with pytest.raises(LitassistError, match="matches the filters"):
        summarize_author("Kshitiz Malik", store=seeded_store, filters=Filters(year_to=1990))
