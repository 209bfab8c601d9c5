"""The chat's modes: what each is called in the page, what its message box asks for, and the kind
of turn it is saved as in a conversation (`assistant.conversations`)."""
from __future__ import annotations

ASK, AUTHOR, RELATED, CITE = "Ask", "Summarise an author", "Draft related work", "Find citations"
MODES = (ASK, AUTHOR, RELATED, CITE)
MODE_PLACEHOLDERS = {
    ASK: "Ask a question about your papers…",
    AUTHOR: "An author's name, e.g. Yann LeCun",
    RELATED: "A topic for a related-work section, e.g. federated learning on non-IID data",
    CITE: "Paste a passage of your draft (LaTeX, Markdown or plain text): each sentence gets the papers that support it",
}
WORKING = {ASK: "Searching the library…", AUTHOR: "Reading this author's papers…", RELATED: "Drafting…", CITE: "Checking each sentence…"}
KIND_OF_MODE = {ASK: "ask", AUTHOR: "author", RELATED: "related_work", CITE: "cite_draft"}
MODE_OF_KIND = {kind: mode for mode, kind in KIND_OF_MODE.items()}
