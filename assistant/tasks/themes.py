"""Themes: group papers by their title+abstract embeddings and name each group.

Shared by author summaries and related-work drafts.

* Grouping (`cluster_ids`): agglomerative clustering of the chunk-0 embeddings (title + abstract,
  `Library.embeddings_for`) with average linkage on cosine distance and a distance threshold, so the
  number of themes follows the papers instead of being fixed. On all-MiniLM-L6-v2 vectors a
  threshold of 0.6 (average cosine similarity 0.4 between members) separates the seeds' topics
  (federated learning, LLM pre-training, edge networking, ...) without splitting one topic.
  A group larger than `max_size` is split again with a tighter threshold (for paragraphs of a
  readable length); `absorb_singletons` lets a lone paper join its nearest group when it is close.
* Naming (`distinctive_terms`): class-based TF-IDF (c-TF-IDF, as in BERTopic): the words and
  bigrams frequent in one group and rare in the others. With a generative model the groups are
  named in words instead (`prompts/theme_label.txt`, one call for all groups); the terms remain
  the fallback when the model gives no usable label.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from assistant.papers import Paper
from assistant.text_terms import topic_stopwords

DISTANCE_THRESHOLD = 0.6  # average-linkage cosine distance at which groups stop merging
MIN_THRESHOLD = 0.3  # the tightest threshold used when splitting an oversized group
SPLIT_STEP = 0.05
ABSORB_SIMILARITY = 0.45  # a lone paper joins the nearest group when this close to its centroid
LABEL_TERMS = 3
DOMINANT_SHARE = 0.6  # a theme holding more than this share of the papers is split
MIN_DOMINANT = 5  # ... when there are at least this many papers
BIGRAM_SHARE = 0.5
# Words too common in papers to name a theme alone (they still count inside bigrams).
GENERIC_WORDS = frozenset(
    """
    model models modeling modelling data dataset datasets training train trained learning learn
    learned network networks neural deep algorithm algorithms framework frameworks system systems
    accuracy analysis technique techniques setting settings solution solutions application
    applications resulting result process information time number set sets case cases level
    levels type types scale real world effective efficient efficiently state-of-the-art
    comparable development locally potential significant approach widely natively patients
    patient left right group groups
    """.split()
) | frozenset(
    # Verbs abstracts use about anything: never a theme on their own.
    f"{stem}{ending}"
    for stem in """reduc enabl allow requir lead mak appl improv obtain achiev consider focus support
    optimiz optimis increas decreas provid perform outperform exploit leverag captur generat produc
    compar combin extend captur address tackl solv handl estimat measur identif reveal observ
    suggest indicat highlight assum ensur maintain preserv develop deliv offer incorporat integrat
    utiliz utilis adopt benefit motivat inspir rel depend involv affect remain start becom""".split()
    for ending in ("e", "es", "ed", "ing", "s", "", "y", "ies", "ied")
)
MAX_LABEL_WORDS = 8



@dataclass
class Theme:
    label: str
    paper_ids: list[str]
    terms: list[str] = field(default_factory=list)
    label_source: str = "terms"  # "terms" (c-TF-IDF) | "model" | "title" (a one-paper theme)
    summary: str = ""

    def to_json(self) -> dict:
        return {"label": self.label, "paper_ids": self.paper_ids, "terms": self.terms, "summary": self.summary}


# ---- grouping ---------------------------------------------------------------------------------

def _agglomerate(vectors, threshold: float) -> list[int]:
    from sklearn.cluster import AgglomerativeClustering

    model = AgglomerativeClustering(n_clusters=None, distance_threshold=threshold, metric="cosine", linkage="average")
    return [int(label) for label in model.fit(vectors).labels_]


def _split(ids: list[str], vectors: dict[str, Sequence[float]], threshold: float, max_size: int | None) -> list[list[str]]:
    import numpy as np

    if len(ids) == 1:
        return [ids]
    labels = _agglomerate(np.asarray([vectors[i] for i in ids], dtype=float), threshold)
    groups: dict[int, list[str]] = {}
    for pid, label in zip(ids, labels):
        groups.setdefault(label, []).append(pid)
    out: list[list[str]] = []
    for group in groups.values():
        tighter = round(threshold - SPLIT_STEP, 4)
        if max_size and len(group) > max_size and tighter >= MIN_THRESHOLD:
            out.extend(_split(group, vectors, tighter, max_size))
        else:
            out.append(group)
    return out


def cluster_ids(
    ids: Sequence[str],
    vectors: dict[str, Sequence[float]],
    *,
    threshold: float = DISTANCE_THRESHOLD,
    max_size: int | None = None,
) -> list[list[str]]:
    """Groups of `ids` (input order kept inside a group), largest group first.

    Ids without a vector form groups of their own. `max_size`: a larger group is re-clustered with
    a threshold tighter by SPLIT_STEP, down to MIN_THRESHOLD (a very uniform group may stay large)."""
    ids = list(dict.fromkeys(ids))
    with_vectors = [i for i in ids if vectors.get(i) is not None and any(vectors[i])]
    groups = _split(with_vectors, vectors, threshold, max_size) if with_vectors else []
    groups += [[i] for i in ids if i not in set(with_vectors)]
    position = {pid: n for n, pid in enumerate(ids)}
    groups = [sorted(g, key=position.__getitem__) for g in groups]
    return sorted(groups, key=lambda g: (-len(g), position[g[0]]))


def _centroid(group: list[str], vectors: dict[str, Sequence[float]]):
    import numpy as np

    matrix = np.asarray([vectors[i] for i in group], dtype=float)
    centre = matrix.mean(axis=0)
    norm = float(np.linalg.norm(centre))
    return centre / norm if norm else centre


def absorb_singletons(
    groups: list[list[str]],
    vectors: dict[str, Sequence[float]],
    *,
    min_similarity: float = ABSORB_SIMILARITY,
    max_size: int | None = None,
) -> list[list[str]]:
    """Move each one-paper group into the nearest multi-paper group when its cosine to that group's
    centroid is at least `min_similarity` (and the group has room)."""
    import numpy as np

    big = [list(g) for g in groups if len(g) > 1]
    lone = [g[0] for g in groups if len(g) == 1]
    if not big:
        return [list(g) for g in groups]
    centroids = [_centroid(g, vectors) for g in big]
    kept: list[list[str]] = []
    for pid in lone:
        vector = vectors.get(pid)
        if vector is None:
            kept.append([pid])
            continue
        sims = [float(np.dot(c, np.asarray(vector, dtype=float))) for c in centroids]
        order = sorted(range(len(big)), key=lambda i: -sims[i])
        target = next((i for i in order if sims[i] >= min_similarity and (not max_size or len(big[i]) < max_size)), None)
        if target is None:
            kept.append([pid])
        else:
            big[target].append(pid)
    return big + kept


# ---- naming -----------------------------------------------------------------------------------

def paper_text(paper: Paper) -> str:
    """What a paper's theme is judged by: its real title (twice: titles are dense) and abstract."""
    title = paper.title if paper.title and not paper.title_derived else ""
    return f"{title}. {title}. {paper.abstract or paper.full_text[:2000]}"


_TOKEN = r"(?u)\b[a-zA-Z][a-zA-Z0-9\-]*[a-zA-Z0-9]\b"


def _acronym(phrase: str) -> str:
    return "".join(w[0] for w in phrase.split())


def _singular(term: str) -> str:
    words = term.split()
    last = words[-1]
    if len(last) > 3 and last.endswith("ies"):
        last = last[:-3] + "y"
    elif len(last) > 3 and last.endswith("s") and not last.endswith(("ss", "us", "is")):
        last = last[:-1]
    return " ".join([*words[:-1], last])


def distinctive_terms(
    groups: Sequence[Sequence[str]], texts: dict[str, str], *, top: int = LABEL_TERMS, exclude: Iterable[str] = ()
) -> list[list[str]]:
    """c-TF-IDF: for each group, the `top` terms (words or bigrams) most frequent in it relative to
    all groups. tf = term count in the group / words in the group; idf = log(1 + A / f), A the
    average words per group and f the term's count over all groups; the score is then weighted by
    the square root of the share of the group's papers that use the term (a theme is what its
    papers share), and in a group of 2+ papers a term must occur in at least 2 of them (unless no
    term does). Generic words ("model", "data")
    are never a term on their own, only inside a bigram ("federated learning"); a bigram replaces
    its word when it scores at least BIGRAM_SHARE of it; plurals, words inside a chosen bigram and
    acronyms of one ("fl" for "federated learning") are not chosen twice. Terms made only of
    `exclude` words (a related-work topic: every group shares it), or their acronym, are skipped."""
    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer

    docs = [pid for g in groups for pid in g]
    if not docs:
        return [[] for _ in groups]
    vectorizer = CountVectorizer(
        ngram_range=(1, 2), stop_words=sorted(topic_stopwords()), token_pattern=_TOKEN, lowercase=True
    )
    try:
        matrix = vectorizer.fit_transform([texts.get(pid, "") for pid in docs])
    except ValueError:  # empty vocabulary: nothing but stopwords
        return [[] for _ in groups]
    vocab = [str(t) for t in vectorizer.get_feature_names_out()]
    class_counts = []
    doc_support = []
    start = 0
    for g in groups:
        rows = matrix[start : start + len(g)]
        class_counts.append(np.asarray(rows.sum(axis=0)).ravel())
        doc_support.append(np.asarray((rows > 0).sum(axis=0)).ravel())
        start += len(g)
    counts = np.vstack(class_counts).astype(float)
    totals = counts.sum(axis=1, keepdims=True)
    totals[totals == 0] = 1.0
    tf = counts / totals
    frequency = counts.sum(axis=0)
    average = counts.sum() / max(1, len(groups))
    idf = np.log(1.0 + average / np.maximum(frequency, 1.0))
    scores = tf * idf
    topic = [w.lower() for w in exclude if w]
    excluded = set(topic)
    excluded_acronyms = {_acronym(" ".join(topic))} if len(topic) > 1 else set()

    def is_unusable(term: str) -> bool:
        words = term.split()
        if any(w.isdigit() for w in words) or (len(words) == 1 and term in GENERIC_WORDS):
            return True
        return all(w in excluded or _singular(w) in excluded for w in words) or term in excluded_acronyms

    unusable = np.array([is_unusable(t) for t in vocab])
    bigrams_of: dict[str, list[int]] = {}
    for j, term in enumerate(vocab):
        if " " in term:
            for w in term.split():
                bigrams_of.setdefault(w, []).append(j)
    def choose(row) -> list[str]:
        chosen: list[str] = []
        seen: set[str] = set()
        for j in np.argsort(-row, kind="stable"):
            if len(chosen) >= top or row[j] <= 0:
                break
            term = vocab[j]
            if " " not in term:
                # A bigram that carries most of the word's weight says more ("federated learning").
                pairs = [b for b in bigrams_of.get(term, []) if row[b] >= BIGRAM_SHARE * row[j] and not unusable[b]]
                if pairs:
                    term = vocab[max(pairs, key=lambda b: row[b])]
                elif unusable[j]:
                    continue
            elif unusable[j]:
                continue
            words = term.split()
            if term in seen or _singular(term) in seen:
                continue
            if len(words) == 1 and any(term in c.split() or term == _acronym(c) for c in chosen):
                continue
            if len(words) > 1:
                if any(c == _acronym(term) for c in chosen):
                    continue
                chosen = [c for c in chosen if c not in words and _singular(c) not in {_singular(w) for w in words}]
            chosen.append(term)
            seen.update({term, _singular(term)})
        return chosen

    result: list[list[str]] = []
    for index, g in enumerate(groups):
        support = doc_support[index] / max(1, len(g))
        row = scores[index] * np.sqrt(support)
        shared = row.copy()
        if len(g) >= 2:
            shared[doc_support[index] < 2] = 0.0  # what the papers share, not one paper's quirks
        chosen = choose(shared)
        result.append(chosen or choose(row))
    return result


def _clean_label(text: str) -> str:
    text = re.sub(r"\\cite[a-zA-Z]*\{[^}]*\}|\[\d[\d,\s\-–]*\]", "", text)
    text = text.strip().strip("*_#\"'`“”‘’").strip()
    text = re.sub(r"^(label|theme)\s*:\s*", "", text, flags=re.I).strip().rstrip(".")
    words = text.split()
    if not words or len(words) > MAX_LABEL_WORDS:
        return ""
    return " ".join(words)


def parse_labels(text: str, count: int) -> dict[int, str]:
    """`"1: Federated optimisation\\n2: ..."` -> {1: "Federated optimisation", ...} (1-based)."""
    labels: dict[int, str] = {}
    for line in text.splitlines():
        m = re.match(r"^\s*[*\-#]*\s*(?:group|theme)?\s*(\d+)\s*[:.)\-–]\s*(.+)$", line, flags=re.I)
        if not m:
            continue
        n = int(m.group(1))
        label = _clean_label(m.group(2))
        if 1 <= n <= count and label and n not in labels:
            labels[n] = label
    return labels


def terms_label(terms: list[str], papers: list[Paper], taken: Iterable[str] = (), shared: Iterable[str] = ()) -> tuple[str, str]:
    """A one-paper theme is named by the paper's real title; others by a heading made of their
    terms (`heading`), different from the labels in `taken`, and not from a term other themes
    share (`shared`) while it has another."""
    if len(papers) == 1 and papers[0].title and not papers[0].title_derived:
        return papers[0].title, "title"
    own = [t for t in terms if t not in set(shared)]
    label = heading(own or terms, [paper_text(p) for p in papers], taken)
    return (label, "terms") if label else ("Other work", "terms")


def _surface(term: str, texts: Sequence[str]) -> str:
    """The term as the papers write it: acronyms and names keep their capitals ("LLM", "FedBuff"),
    other words are lower case."""
    pattern = re.compile(r"(?<![\w-])" + r"[\s\-]+".join(re.escape(w) for w in term.split()) + r"(?![\w-])", re.I)
    words = []
    found = [m.group() for t in texts for m in pattern.finditer(t)]
    for i, word in enumerate(term.split()):
        forms = [f.split()[i] if len(f.split()) > i else word for f in found]
        kept = [f for f in forms if any(c.isupper() for c in f[1:]) or f.isupper()]
        words.append(max(set(kept), key=kept.count) if kept and len(kept) * 2 >= len(forms) else word.lower())
    return " ".join(words)


def _phrase(term: str, texts: Sequence[str]) -> str:
    """A one-word term made a phrase by the word most often beside it in the group's texts when
    at least two papers use that pair ("compression" -> "gradient compression")."""
    if " " in term:
        return term
    stop = topic_stopwords()
    pairs: dict[str, set[int]] = {}
    uses: Counter = Counter()
    for i, text in enumerate(texts):
        tokens = re.findall(r"[A-Za-z][A-Za-z0-9\-]*", text.lower())
        for a, b in zip(tokens, tokens[1:]):
            if term in (a, b, _singular(a), _singular(b)) and a != b and a not in stop and b not in stop and not a.isdigit():
                other = b if term in (a, _singular(a)) else a
                if other in GENERIC_WORDS and other not in ("model", "models", "data", "learning", "training"):
                    continue
                pairs.setdefault(f"{a} {b}", set()).add(i)
                uses[f"{a} {b}"] += 1
    best = max(pairs.items(), key=lambda kv: (len(kv[1]), uses[kv[0]], kv[0]), default=None)
    # Titles count twice in paper_text: a pair used 3+ times is more than one passing mention.
    return best[0] if best and (len(best[1]) >= 2 or uses[best[0]] >= 3) else term


def in_sentence(label: str) -> str:
    """A heading as it reads inside a sentence: "Asynchronous aggregation" -> "asynchronous
    aggregation"; "LLM pretraining" keeps its capitals."""
    first = label.split(" ", 1)[0]
    if any(c.isupper() for c in first[1:]) or first.isupper():
        return label
    return label[:1].lower() + label[1:]


def heading(terms: Sequence[str], texts: Sequence[str], taken: Iterable[str] = ()) -> str:
    """A label a researcher would write as a heading ("Asynchronous aggregation", "Privacy and
    user representations"): the best term as a phrase, joined by a second when it is one word;
    never a label already `taken` by another theme."""
    used = {t.lower() for t in taken}
    phrases = list(dict.fromkeys(_surface(_phrase(t, texts), texts) for t in terms))
    for i, first in enumerate(phrases):
        label = first
        if " " not in first:
            second = next((p for p in phrases[i + 1:] if " " in p and p.lower() not in first.lower()), "")
            label = f"{first} and {second}" if second else first
        label = label[:1].upper() + label[1:]
        if label.lower() not in used:
            return label
    return ""


def model_labels(model, groups: list[list[Paper]], terms: list[list[str]]) -> dict[int, str]:
    """One model call naming every group (prompts/theme_label.txt); {} when the model gives none."""
    from assistant.llm.base import Request
    from assistant.tasks._common import render_messages

    blocks = []
    for n, (papers, group_terms) in enumerate(zip(groups, terms), start=1):
        lines = [f"Group {n} (distinctive terms: {', '.join(group_terms) or 'none'})"]
        for p in papers[:8]:
            lines.append(f"- {p.display_title()}" + (f" ({p.year})" if p.year else ""))
        blocks.append("\n".join(lines))
    messages = render_messages("theme_label", groups="\n\n".join(blocks), count=str(len(groups)))
    text = model.complete(Request(messages=messages, task="label", max_tokens=40 * len(groups) + 20, temperature=0.0))
    return parse_labels(text, len(groups))


def name_themes(groups: list[list[str]], papers: dict[str, Paper], *, model=None, exclude: Iterable[str] = ()) -> list[Theme]:
    """A Theme per group: c-TF-IDF terms; a generative model's words when it gives them."""
    texts = {pid: paper_text(papers[pid]) for g in groups for pid in g}
    terms = distinctive_terms(groups, texts, exclude=exclude)
    group_papers = [[papers[pid] for pid in g] for g in groups]
    from_model: dict[int, str] = {}
    if model is not None and getattr(model, "generative", False) and groups:
        from_model = model_labels(model, group_papers, terms)
    counts = Counter(t for group_terms in terms for t in set(group_terms))
    shared = {t for t, c in counts.items() if c > 1}
    themes: list[Theme] = []
    for n, (g, group_terms, members) in enumerate(zip(groups, terms, group_papers), start=1):
        if n in from_model:
            label, source = from_model[n], "model"
        else:
            label, source = terms_label(group_terms, members, [t.label for t in themes], shared)
        themes.append(Theme(label=label, paper_ids=list(g), terms=group_terms, label_source=source))
    return themes


OTHER_LABEL = "Other topics"


def build_themes(
    papers: Iterable[Paper],
    vectors: dict[str, Sequence[float]],
    *,
    model=None,
    threshold: float = DISTANCE_THRESHOLD,
    max_size: int | None = None,
    absorb: bool = False,
    max_themes: int | None = None,
    exclude: Iterable[str] = (),
) -> list[Theme]:
    """Cluster `papers` by `vectors` and name the groups (see the module docstring). With
    `max_themes`, the groups past the largest `max_themes - 1` become one last theme, OTHER_LABEL
    (label_source "other"), so scattered work does not become a list of one-paper themes."""
    by_id = {p.id: p for p in papers}
    groups = cluster_ids(list(by_id), vectors, threshold=threshold, max_size=max_size)
    if absorb:
        groups = absorb_singletons(groups, vectors, max_size=max_size)
    split = split_dominant(groups, vectors, threshold)
    if absorb and len(split) > len(groups):  # the parts of a split group take back their lone papers
        cap = int(DOMINANT_SHARE * len(by_id))
        split = absorb_singletons(split, vectors, max_size=min(max_size or cap, cap))
    groups = split
    groups.sort(key=lambda g: -len(g))  # stable: ties keep their order
    lumped = bool(max_themes) and len(groups) > max_themes  # type: ignore[operator]
    if lumped:
        keep = max(1, max_themes - 1)  # type: ignore[operator]
        position = {pid: n for n, pid in enumerate(by_id)}
        rest = sorted((pid for g in groups[keep:] for pid in g), key=position.__getitem__)
        groups = [*groups[:keep], rest]
    themes = name_themes(groups, by_id, model=model, exclude=exclude)
    if lumped:
        themes[-1].label, themes[-1].label_source = OTHER_LABEL, "other"
    return themes


def split_dominant(groups: list[list[str]], vectors: dict[str, Sequence[float]], threshold: float) -> list[list[str]]:
    """A group holding most (over DOMINANT_SHARE) of MIN_DOMINANT+ papers says little as one theme:
    it is clustered again, tighter by SPLIT_STEP each time, until it falls into parts of 2+
    papers (down to MIN_THRESHOLD; a group too uniform to split stays whole)."""
    total = sum(len(g) for g in groups)
    if total < MIN_DOMINANT:
        return groups
    out = []
    for group in groups:
        parts = [group]
        tighter = round(threshold - SPLIT_STEP, 4)
        while len(group) > DOMINANT_SHARE * total and tighter >= MIN_THRESHOLD and all(vectors.get(i) is not None for i in group):
            parts = _split(group, vectors, tighter, None)
            if sum(len(p) >= 2 for p in parts) >= 2:
                break
            parts = [group]
            tighter = round(tighter - SPLIT_STEP, 4)
        out.extend(parts)
    return out


def years_of(papers: Iterable[Paper]) -> list[int]:
    return sorted({p.year for p in papers if p.year})


def span(years: list[int]) -> str:
    if not years:
        return "undated"
    return str(years[0]) if years[0] == years[-1] else f"{years[0]}–{years[-1]}"
