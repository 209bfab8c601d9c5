"""Find citations for a draft: splitting drafts (pure), and `litassist cite-draft` end to end on
the seeded store (real Chroma, real embedder)."""
from __future__ import annotations

import io
import json
import re
import shutil
import sys

import pytest

from assistant.drafts import detect_format, insert_citations, split_draft

LLAMA = "Llama 3 is a herd of language models whose largest model is a dense Transformer with 405B parameters and a context window of up to 128K tokens."
NON_IID = "The accuracy of federated learning drops sharply when the local data of the clients is non-IID."
PENGUINS = "Emperor penguins breed during the Antarctic winter and the males incubate the single egg on their feet."

LATEX = r"""\documentclass{article}
\usepackage{amsmath} % Not prose. Ignore me.
\begin{document}
\section{Introduction. Overview}
@LLAMA@
We write $x_i = 0.5$ for e.g. the mean, which keeps \ref{sec.2} intact. % comment. Not a sentence.
\begin{equation}
  a = b. C = d.
\end{equation}
@NON_IID@
@PENGUINS@
Why would anyone care?
\end{document}
""".replace("@LLAMA@", LLAMA).replace("@NON_IID@", NON_IID).replace("@PENGUINS@", PENGUINS)

MARKDOWN = f"""---
title: My draft. Really
---
# Related work. Draft

{LLAMA} {NON_IID}

```python
print("Not. A. Sentence.")
```

- {PENGUINS}
"""


# ---- splitting (pure) ---------------------------------------------------------------------------

def test_latex_sentences_skip_preamble_comments_math_and_headings():
    sentences = split_draft(LATEX, "latex")
    texts = [s.text for s in sentences]
    assert texts[0] == LLAMA
    assert texts[1].startswith("We write x_i = 0.5 for e.g. the mean")  # not split at "e.g." or inside math/\ref
    assert texts[2:] == [NON_IID, PENGUINS, "Why would anyone care?"]
    assert not any("Ignore" in t or "comment" in t or "Overview" in t or "C = d" in t for t in texts)
    for s in sentences:  # offsets index the original text
        assert LATEX[s.start : s.end] == s.source


def test_markdown_sentences_skip_front_matter_headings_and_code():
    texts = [s.text for s in split_draft(MARKDOWN, "markdown")]
    assert texts == [LLAMA, NON_IID, PENGUINS]


def test_existing_citations_are_read_and_extended():
    draft = "Transformers rely on attention [@vaswani2017]. Nothing here.\n"
    first = split_draft(draft, "markdown")[0]
    assert first.cited_keys == ["vaswani2017"] and first.text == "Transformers rely on attention."
    assert insert_citations(draft, [(first, ["smith2020a"])], "markdown").startswith(
        "Transformers rely on attention [@vaswani2017; @smith2020a]. Nothing")
    tex = "Attention helps~\\cite{vaswani2017}. More text."
    s = split_draft(tex, "latex")[0]
    assert s.cited_keys == ["vaswani2017"]
    assert insert_citations(tex, [(s, ["b"])], "latex") == "Attention helps~\\cite{vaswani2017,b}. More text."


def test_format_detection():
    assert detect_format("a.tex", "") == "latex"
    assert detect_format("notes.md", "") == "markdown"
    assert detect_format(None, "\\section{Intro} text") == "latex"
    assert detect_format(None, "# Title\n\nText [@key].") == "markdown"
    assert detect_format(None, "Just some words.") == "text"


# ---- the CLI on the seeded store ------------------------------------------------------------------

@pytest.fixture
def run(capsys):
    from assistant.cli import main

    def invoke(*args: str, store, check: bool = True):
        code = main([*args[:1], "--store", str(store), *args[1:]])
        out = capsys.readouterr()
        if check and code != 0:
            raise AssertionError(f"exit {code}\nstdout:{out.out}\nstderr:{out.err}")
        return code, out.out, out.err

    return invoke


@pytest.fixture
def cli_store(seeded_store_dir, tmp_path):
    target = tmp_path / "store"
    shutil.copytree(seeded_store_dir, target)
    return target


def _by_text(data: dict) -> dict[str, dict]:
    return {" ".join(s["text"].split()): s for s in data["sentences"]}


def _check_supported_and_unsupported(data: dict) -> dict[str, dict]:
    sentences = _by_text(data)
    llama, penguins = sentences[LLAMA], sentences[PENGUINS]
    assert llama["status"] == "supported"
    top = llama["suggestions"][0]
    assert set(top) == {"paper_id", "title", "citation_key", "support", "supporting_sentence", "page"}
    assert "Llama 3" in top["title"] and "405B" in top["supporting_sentence"] and top["page"] is None
    supports = [x["support"] for x in llama["suggestions"]]
    assert supports == sorted(supports, reverse=True) and len(supports) <= 3
    assert penguins["status"] == "none" and penguins["suggestions"] == [] and penguins["inserted"] == []
    return sentences


def test_cite_draft_latex_json_inserts_cite_and_bibtex(run, cli_store, tmp_path):
    draft = tmp_path / "draft.tex"
    draft.write_text(LATEX, encoding="utf-8")
    out, bib = tmp_path / "cited.tex", tmp_path / "refs.bib"
    _, stdout, _ = run("cite-draft", str(draft), "--json", "--out", str(out), "--bib", str(bib), store=cli_store)
    data = json.loads(stdout)
    assert data["format"] == "latex"
    sentences = _check_supported_and_unsupported(data)
    key = sentences[LLAMA]["inserted"][0]
    assert key == sentences[LLAMA]["suggestions"][0]["citation_key"]
    cited = out.read_text(encoding="utf-8")
    assert cited == data["text"]
    assert LLAMA[:-1] + "~\\cite{" + key in cited  # before the full stop
    assert PENGUINS in cited  # untouched: nothing supports it
    assert "Why would anyone care?" in cited and not _by_text(data)["Why would anyone care?"]["claim"]
    entries = re.findall(r"@\w+\{([^,]+),", bib.read_text(encoding="utf-8"))
    inserted = {k for s in data["sentences"] for k in s["inserted"]}
    assert set(entries) == inserted and key in entries
    # everything else of the draft is kept byte for byte
    assert re.sub(r"~\\cite\{[^}]*\}", "", cited) == LATEX


def test_cite_draft_markdown_uses_pandoc_citations(run, cli_store, tmp_path):
    draft = tmp_path / "draft.md"
    draft.write_text(MARKDOWN, encoding="utf-8")
    _, stdout, _ = run("cite-draft", str(draft), "--json", store=cli_store)
    data = json.loads(stdout)
    assert data["format"] == "markdown"
    sentences = _check_supported_and_unsupported(data)
    key = sentences[LLAMA]["inserted"][0]
    assert f"[@{key}" in data["text"] and "\\cite" not in data["text"]
    assert 'print("Not. A. Sentence.")' in data["text"]


def test_cite_draft_reads_stdin_and_prints_a_report(run, cli_store, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(f"{LLAMA} {PENGUINS}\n".encode())))
    _, stdout, _ = run("cite-draft", "-", store=cli_store)
    assert "[✓ supported]" in stdout and "[✗ none]" in stdout
    assert "nothing in the library supports this sentence" in stdout
    assert "---- draft with citations ----" in stdout and "[@" in stdout
    assert "---- BibTeX ----" in stdout and "@article{" in stdout or "@misc{" in stdout


def test_cite_draft_bad_input_names_the_file(run, cli_store, tmp_path):
    missing = tmp_path / "nope.tex"
    code, _, err = run("cite-draft", str(missing), store=cli_store, check=False)
    assert code == 2 and f"{missing}: no such file" in err
    binary = tmp_path / "x.md"
    binary.write_bytes(b"\x00\x01\x02binary")
    code, _, err = run("cite-draft", str(binary), store=cli_store, check=False)
    assert code == 2 and "x.md: binary file" in err
    latin = tmp_path / "l.txt"
    latin.write_bytes("Caf\xe9 au lait is good.\n".encode("latin-1"))
    code, _, err = run("cite-draft", str(latin), store=cli_store, check=False)
    assert code == 2 and "l.txt:1: not UTF-8" in err


def test_chat_mode_reports_progress_then_the_result(seeded_store):
    from assistant.tasks.cite_draft import DraftCitations
    from ui.chat import cite_with_progress

    items = list(cite_with_progress(seeded_store, f"{LLAMA} {PENGUINS}", None, interval=0.0))
    assert items[:-1] == ["Checking sentence 1 of 2…", "Checking sentence 2 of 2…"]
    assert isinstance(items[-1], DraftCitations) and items[-1].counts() == {"supported": 1, "weak": 0, "none": 1}


def test_chat_mode_raises_the_library_error():
    from assistant.errors import LitassistError
    from ui.chat import cite_with_progress

    with pytest.raises(LitassistError, match="the library cannot be read"):
        list(cite_with_progress(_BrokenStore(), LLAMA, None))


class _BrokenStore:
    """A store whose every use fails with a user error."""

    def __getattr__(self, name):
        from assistant.errors import LitassistError

        raise LitassistError("the library cannot be read")
