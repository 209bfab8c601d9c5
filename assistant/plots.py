"""Pictures of an author summary: the papers on a timeline by theme, and the co-author network.

Both are drawn from an author summary's JSON (`AuthorSummary.to_json()`, as `litassist author
--json` prints it and as a saved conversation keeps it), so a reopened conversation draws the same
pictures without recomputing anything. PNG files of fixed pixel sizes; matplotlib's Agg canvas
is imported inside the drawing functions (no pyplot, no global figure state: the web app draws
for several users at once). The network is a star with the co-authors on a circle, so it needs
no layout library.

* Timeline: one row per theme (largest first, the order of the summary), a dot per paper at its
  year, numbered as the summary cites it; a band spans each theme's first to last year. Papers of
  a collection owner's collection (not authored) are hollow; undated papers sit in an "n.d." slot.
* Network: the author in the centre, the frequent co-authors around (node size = papers with the
  author, colour = the theme most of those papers belong to); a line joins two co-authors when they
  appear together on the author's papers (width = how many). Co-authors of one paper sit side by
  side on the circle.
"""
from __future__ import annotations

import re
import textwrap
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DPI = 150
TIMELINE_INCHES = (9.0, 4.5)
NETWORK_INCHES = (8.0, 6.0)
TIMELINE_SIZE = (round(TIMELINE_INCHES[0] * DPI), round(TIMELINE_INCHES[1] * DPI))  # pixels
NETWORK_SIZE = (round(NETWORK_INCHES[0] * DPI), round(NETWORK_INCHES[1] * DPI))
PALETTE = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C", "#CCB974", "#64B5CD"]
OTHER_COLOUR = "#9E9E9E"
AUTHOR_COLOUR = "#2F2F2F"
_DRAWING = threading.Lock()  # matplotlib's font and text caches are shared by all threads


@dataclass
class PlotPaper:
    id: str
    title: str
    year: int | None
    theme: int  # index into AuthorPlotData.themes
    collection: bool  # in the owner's collection, not authored
    number: int | None  # the citation number in the summary, if cited


@dataclass
class PlotCollaborator:
    name: str
    count: int
    paper_ids: list[str]


@dataclass
class AuthorPlotData:
    author: str
    owner: str | None
    themes: list[str]
    papers: list[PlotPaper]
    collaborators: list[PlotCollaborator] = field(default_factory=list)

    @classmethod
    def from_summary_json(cls, data: Mapping[str, Any]) -> AuthorPlotData:
        themes = [str(t.get("label") or "") for t in data.get("themes") or []]
        theme_of = {str(pid): i for i, t in enumerate(data.get("themes") or []) for pid in t.get("paper_ids") or []}
        numbers = {str(c.get("paper_id")): c.get("n") for c in data.get("citations") or []}
        papers = []
        for p in data.get("papers") or []:
            pid = str(p.get("id"))
            if pid not in theme_of:
                if "Unthemed" not in themes:
                    themes.append("Unthemed")
                theme_of[pid] = themes.index("Unthemed")
            papers.append(PlotPaper(
                pid, str(p.get("title") or ""), p.get("year") if isinstance(p.get("year"), int) else None,
                theme_of[pid], p.get("relation") == "collection", numbers.get(pid),
            ))
        collaborators = [
            PlotCollaborator(str(c.get("name")), int(c.get("count") or 0), [str(i) for i in c.get("paper_ids") or []])
            for c in data.get("collaborators") or []
        ]
        owner = (data.get("resolution") or {}).get("owner")
        return cls(str(data.get("author") or ""), owner, themes, papers, collaborators)

    def colour(self, theme: int) -> str:
        if self.themes[theme].lower().startswith(("other topics", "unthemed")):
            return OTHER_COLOUR
        return PALETTE[theme % len(PALETTE)]


@dataclass
class AuthorPlots:
    timeline: Path
    network: Path

    def to_json(self) -> dict[str, str]:
        return {"timeline": str(self.timeline), "network": str(self.network)}


def file_stem(author: str) -> str:
    """`kshitiz-malik` for file names."""
    words = re.findall(r"[a-z0-9]+", author.lower())
    return "-".join(words) or "author"


def author_plots(summary: Any, directory: str | Path, stem: str | None = None) -> AuthorPlots:
    """Write `<stem>-timeline.png` and `<stem>-coauthors.png` into `directory` (created if
    needed) for an AuthorSummary or its JSON; returns their paths."""
    data = AuthorPlotData.from_summary_json(summary if isinstance(summary, Mapping) else summary.to_json())
    folder = Path(directory).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    stem = stem or file_stem(data.author)
    plots = AuthorPlots(folder / f"{stem}-timeline.png", folder / f"{stem}-coauthors.png")
    with _DRAWING:
        draw_timeline(data, plots.timeline)
        draw_network(data, plots.network)
    return plots


def _figure(inches: tuple[float, float]):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=inches, dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def _spread(count: int, width: float = 0.56) -> list[float]:
    """x offsets for `count` dots sharing one year and theme."""
    if count <= 1:
        return [0.0]
    step = min(0.2, width / (count - 1))
    return [(i - (count - 1) / 2) * step for i in range(count)]


def draw_timeline(data: AuthorPlotData, path: Path) -> None:
    figure = _figure(TIMELINE_INCHES)
    ax = figure.add_subplot()
    years = sorted({p.year for p in data.papers if p.year})
    undated = [p for p in data.papers if not p.year]
    first, last = (years[0], years[-1]) if years else (0, 0)
    nd_x = last + 1.5 if years else 0
    rows = len(data.themes)
    groups: dict[tuple[int, float], list[PlotPaper]] = {}
    for p in data.papers:
        groups.setdefault((p.theme, float(p.year) if p.year else nd_x), []).append(p)
    for i in range(rows):
        y = rows - 1 - i
        theme_years = [p.year for p in data.papers if p.theme == i and p.year]
        if theme_years and max(theme_years) > min(theme_years):
            ax.plot([min(theme_years), max(theme_years)], [y, y], color=data.colour(i), alpha=0.18, linewidth=14, solid_capstyle="round", zorder=1)
    for (theme, x), members in groups.items():
        y = rows - 1 - theme
        colour = data.colour(theme)
        for offset, p in zip(_spread(len(members)), members):
            ax.scatter([x + offset], [y], s=190, zorder=3, linewidths=1.8,
                       facecolors="white" if p.collection else colour, edgecolors=colour)
            if p.number is not None:
                ax.text(x + offset, y, str(p.number), ha="center", va="center", fontsize=7.5, zorder=4,
                        color=colour if p.collection else "white", fontweight="bold")
    ticks: list[float] = [float(y) for y in range(first, last + 1)] if years else []
    if len(ticks) > 14:
        step = -(-len(ticks) // 12)
        ticks = ticks[::step]
    labels = [str(int(t)) for t in ticks]
    if undated:
        ticks.append(nd_x)
        labels.append("n.d.")
        if years:
            ax.axvline(last + 0.75, color="#BBBBBB", linestyle="--", linewidth=0.8)
    ax.set_xticks(ticks, labels)
    ax.set_xlim((first - 0.7 if years else nd_x - 1), (nd_x + 0.7 if undated else last + 0.7))
    counts = [sum(1 for p in data.papers if p.theme == i) for i in range(rows)]
    names = [textwrap.fill(textwrap.shorten(f"{t} ({c})", 60, placeholder="…"), 30) for t, c in zip(data.themes, counts)]
    ax.set_yticks(range(rows), names[::-1])
    for label, i in zip(ax.get_yticklabels(), reversed(range(rows))):
        label.set_color(data.colour(i))
    ax.set_ylim(-0.6, max(rows - 0.4, 0.6))
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", length=0, labelsize=9)
    ax.grid(axis="x", color="#EEEEEE", zorder=0)
    span = f", {first}–{last}" if years and first != last else (f", {first}" if years else "")
    count = f"{len(data.papers)} paper{'s' if len(data.papers) != 1 else ''}"
    ax.set_title(f"{data.author}: {count} by theme{span}", fontsize=12, loc="left", pad=10)
    note = "numbers as cited in the summary"
    if any(p.collection for p in data.papers):
        note += f" · hollow: in {data.owner or 'the owner'}'s collection, not authored"
    figure.text(0.99, 0.015, note, ha="right", va="bottom", fontsize=7.5, color="#777777")
    figure.subplots_adjust(left=0.25, right=0.97, top=0.88, bottom=0.12)
    figure.savefig(path, format="png", dpi=DPI)


def _dominant_theme(data: AuthorPlotData, paper_ids: list[str]) -> int | None:
    by_id = {p.id: p.theme for p in data.papers}
    themes = [by_id[i] for i in paper_ids if i in by_id]
    return max(set(themes), key=lambda t: (themes.count(t), -t)) if themes else None


def _ring(data: AuthorPlotData) -> list[PlotCollaborator]:
    """Co-authors in their order around the circle: by theme, then by the first paper they share
    with the author (so co-authors of one paper sit side by side), then by count."""
    order = {p.id: i for i, p in enumerate(data.papers)}

    def first_paper(c: PlotCollaborator) -> int:
        return min((order[i] for i in c.paper_ids if i in order), default=len(order))

    return sorted(data.collaborators, key=lambda c: (_dominant_theme(data, c.paper_ids) or 0, first_paper(c), -c.count, c.name))


def draw_network(data: AuthorPlotData, path: Path) -> None:
    import math

    figure = _figure(NETWORK_INCHES)
    ax = figure.add_axes((0.0, 0.04, 1.0, 0.86))
    ax.set_axis_off()
    centre = data.author or "author"
    ring = _ring(data)
    pos = {c.name: (math.cos(math.pi / 2 - 2 * math.pi * i / len(ring)), math.sin(math.pi / 2 - 2 * math.pi * i / len(ring))) for i, c in enumerate(ring)}
    top = max((c.count for c in ring), default=1)
    for i, a in enumerate(ring):  # co-authors who wrote with the author together
        for b in ring[i + 1:]:
            shared = len(set(a.paper_ids) & set(b.paper_ids))
            if shared:
                (xa, ya), (xb, yb) = pos[a.name], pos[b.name]
                ax.plot([xa, xb], [ya, yb], color="#D3D8DE", linewidth=0.8 + 2.0 * shared / top, zorder=1)
    for c in ring:
        x, y = pos[c.name]
        ax.plot([0, x], [0, y], color="#9AA5B1", linewidth=1.0 + 3.0 * c.count / top, zorder=2)
    ax.scatter([0], [0], s=1500, color=AUTHOR_COLOUR, zorder=3)
    ax.text(0, -0.2, centre, ha="center", va="top", fontsize=10.5, fontweight="bold", zorder=5,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 2})
    for c in ring:
        theme = _dominant_theme(data, c.paper_ids)
        x, y = pos[c.name]
        ax.scatter([x], [y], s=200 + 700 * c.count / top, zorder=3, edgecolors="white", linewidths=1.5,
                   color=data.colour(theme) if theme is not None else OTHER_COLOUR)
        ha = "left" if x > 0.2 else ("right" if x < -0.2 else "center")
        va = "bottom" if y > 0.2 else ("top" if y < -0.2 else "center")
        name = textwrap.shorten(c.name, 26, placeholder="…")
        ax.text(x * 1.16 + (0.04 if ha == "left" else -0.04 if ha == "right" else 0), y * 1.16 if ha == "center" else y, f"{name} ({c.count})", ha=ha, va=va, fontsize=9, zorder=4)
    if not ring:
        ax.text(0, -0.55, "no co-authors recorded in this library", ha="center", fontsize=10, color="#777777")
    ax.set_xlim(-2.35, 2.35)
    ax.set_ylim(-1.35, 1.35)
    ax.set_aspect("equal")
    figure.suptitle(f"{centre}: frequent co-authors", fontsize=12, x=0.03, ha="left", y=0.965)
    figure.text(0.03, 0.905, "line width and circle size: papers written together", fontsize=8, color="#777777")
    used = sorted({t for t in (_dominant_theme(data, c.paper_ids) for c in ring) if t is not None})[:6]
    for row, theme in enumerate(used):
        figure.text(0.03, 0.025 + 0.035 * (len(used) - 1 - row), "● " + textwrap.shorten(data.themes[theme], 70, placeholder="…"),
                    color=data.colour(theme), fontsize=8)
    figure.savefig(path, format="png", dpi=DPI)
