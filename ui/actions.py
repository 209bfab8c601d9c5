"""Everything one app's events do, grouped by what they act on. No retrieval, prompting or
citation logic lives in `ui/`: the handlers call the library and render its typed results.

- `chat` (`ui.chat`): a request in one of the modes, streamed, shown and saved;
- `library` (`ui.library_actions`): the Library tab and the status line;
- `turns` (`ui.turns`): a result as the chat shows it (also for reopened conversations);
- `conversations`: the library's saved conversations (`ui.conversation_panel` shows them).
"""
from __future__ import annotations

from assistant.conversations import Conversations
from assistant.settings import Settings, load_settings
from assistant.library import Library
from ui.chat import ChatActions
from ui.library_actions import LibraryActions
from ui.status import LibraryStatus
from ui.turns import TurnBuilder


class Actions:
    def __init__(
        self,
        store: Library,
        *,
        default_model: str | None = None,
        status: LibraryStatus | None = None,
        settings: Settings | None = None,
    ):
        self.store = store
        self.status = status or LibraryStatus()
        self.conversations = Conversations(store.store_dir)
        self.turns = TurnBuilder(store)
        self.chat = ChatActions(
            store, self.turns, self.conversations, default_model=default_model or "extractive",
            settings=settings or load_settings(store.store_dir),
        )
        self.library = LibraryActions(store, self.status)
