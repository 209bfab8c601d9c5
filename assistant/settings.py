"""Settings. Precedence: command-line option > environment variable > store config file > default.

The one module that reads litassist's environment variables (`ENV_VARS`, the cache directories);
the llm backends' own conventions (OLLAMA_HOST, OPENAI_BASE_URL, OPENAI_API_KEY) stay with them."""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from assistant.errors import LitassistError
from assistant.resources import resource_dir

PROMPTS_DIR = resource_dir("prompts")
SEEDS_DIR = resource_dir("seeds")
CONFIG_NAME = "config.toml"

# setting name -> environment variable
ENV_VARS = {
    "store": "LITASSIST_HOME",
    "model": "LITASSIST_MODEL",
    "chroma_url": "LITASSIST_CHROMA_URL",
    "base_url": "LITASSIST_BASE_URL",
    "api_key": "LITASSIST_API_KEY",
    "embedder": "LITASSIST_EMBEDDER",
    "context_window": "LITASSIST_CONTEXT_WINDOW",
    "think": "LITASSIST_THINK",
}

DEFAULTS: dict[str, str | None] = {
    "model": "extractive",
    "chroma_url": None,
    "base_url": None,
    "api_key": None,
    "embedder": None,
    "context_window": None,
    "think": None,
}


CACHE_ENV = "LITASSIST_CACHE"  # the per-user cache (exported embedders)
EVAL_CACHE_ENV = "LITASSIST_EVAL_CACHE"  # `litassist eval`'s embedding cache


def environment_value(name: str) -> str | None:
    """The environment variable of setting `name` (ENV_VARS), stripped; None when unset or empty."""
    value = (os.environ.get(ENV_VARS[name]) or "").strip()
    return value or None


def cache_home() -> Path:
    """The per-user cache directory ($LITASSIST_CACHE overrides)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("litassist", appauthor=False))


def eval_cache_dir() -> Path | None:
    """Where `litassist eval` keeps embeddings between runs ($LITASSIST_EVAL_CACHE), if anywhere."""
    env = os.environ.get(EVAL_CACHE_ENV)
    return Path(env).expanduser() if env else None


def default_store_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("litassist", appauthor=False))


def resolve_store_dir(option: str | Path | None = None) -> Path:
    if option:
        return Path(option).expanduser()
    env = os.environ.get(ENV_VARS["store"])
    return Path(env).expanduser() if env else default_store_dir()


def read_config_file(store_dir: Path) -> dict[str, str]:
    path = store_dir / CONFIG_NAME
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise LitassistError(f"{path}: not valid TOML ({exc})") from exc
    return {str(k): str(v) for k, v in data.items() if not isinstance(v, dict)}


SETTING_NAMES = tuple(DEFAULTS)


@dataclass(frozen=True)
class Settings:
    """Every setting, resolved once (`load_settings`) at the edge: the CLI, the web app, the API."""

    store_dir: Path
    model: str = "extractive"
    chroma_url: str | None = None
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    embedder: str | None = None
    context_window: str | None = None  # tokens the model's prompt may fill (generative backends)
    think: str | None = None  # a reasoning model's thinking: true | false | low | medium | high

    def get(self, name: str) -> str | None:
        if name not in SETTING_NAMES:
            raise KeyError(name)
        return getattr(self, name)

    def overridden(self, **values: str | None) -> "Settings":
        """These settings with the given non-empty values taking precedence (e.g. a choice made in
        the chat for one question)."""
        chosen = {k: v for k, v in values.items() if v not in (None, "")}
        unknown = set(chosen) - set(SETTING_NAMES)
        if unknown:
            raise KeyError(", ".join(sorted(unknown)))
        return replace(self, **chosen)  # type: ignore[arg-type]  # names checked above


def load_settings(store: str | Path | None = None, **options: str | None) -> Settings:
    """Resolve every setting once: command-line option > environment variable > the store's
    config.toml > default."""
    unknown = set(options) - set(SETTING_NAMES)
    if unknown:
        raise KeyError(", ".join(sorted(unknown)))
    store_dir = resolve_store_dir(store)
    file_values = read_config_file(store_dir)
    values: dict[str, str | None] = {}
    for name, default in DEFAULTS.items():
        value = options.get(name) or os.environ.get(ENV_VARS[name]) or file_values.get(name) or default
        values[name] = value or None
    values["model"] = values["model"] or str(DEFAULTS["model"])
    return Settings(store_dir=store_dir, **values)  # type: ignore[arg-type]
