"""Settings. Precedence: command-line option > environment variable > store config file > default."""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import LitassistError

REPO_ROOT = Path(__file__).resolve().parent.parent
PROMPTS_DIR = REPO_ROOT / "prompts"
SEEDS_DIR = REPO_ROOT / "seeds"
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


@dataclass
class Settings:
    store_dir: Path
    values: dict[str, str | None]

    def get(self, name: str) -> str | None:
        return self.values.get(name)


def load_settings(store: str | Path | None = None, **options: str | None) -> Settings:
    """Resolve every setting once, honouring the documented precedence."""
    store_dir = resolve_store_dir(store)
    file_values = read_config_file(store_dir)
    values: dict[str, str | None] = {}
    for name, default in DEFAULTS.items():
        env_name = ENV_VARS.get(name)
        value = options.get(name)
        if value is None and env_name:
            value = os.environ.get(env_name) or None
        if value is None:
            value = file_values.get(name)
        values[name] = value if value is not None else default
    return Settings(store_dir=store_dir, values=values)
