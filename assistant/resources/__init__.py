"""Files shipped inside the package: the prompt templates and the bundled seed papers.

In the repository they live at the top (`prompts/`, `seeds/`); the links here put them inside the
package, so an editable install and an installed wheel find them the same way."""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from assistant.errors import LitassistError


def resource_dir(name: str) -> Path:
    """The shipped folder `name` ("prompts" or "seeds") on disk."""
    found = files(__name__) / name
    if not isinstance(found, Path) or not found.is_dir():
        raise LitassistError(f"the package's {name}/ folder is missing ({found}); reinstall litassist")
    return found
