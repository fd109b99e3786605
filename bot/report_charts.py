"""Report charts as SVG, drawn by matplotlib on the server (Agg, no GUI), labels in Vietnamese."""
from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from typing import Callable

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402  (after choosing the backend)

# Text stays text in the SVG: the browser's fonts draw the Vietnamese marks, and labels can be read and found.
STYLE = {"svg.fonttype": "none", "font.family": "DejaVu Sans", "font.size": 9}
_drawing = threading.Lock()  # matplotlib's shared state (rcParams, font cache) is not thread-safe


@dataclass(frozen=True)
class Series:
    label: str
    values: list[float | None]


def _svg(draw: Callable[[Figure], None], title: str) -> bytes:
    with _drawing, matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(7.2, 3.2), layout="constrained")
        draw(figure)
        figure.suptitle(title, fontsize=11, fontweight="bold")
        out = io.BytesIO()
        figure.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()


def _short_days(days: list[str]) -> list[str]:
    return [f"{day[8:10]}/{day[5:7]}" for day in days]


def _empty(axes, message: str = "Không có dữ liệu trong khoảng thời gian này") -> None:
    axes.text(0.5, 0.5, message, ha="center", va="center", transform=axes.transAxes, color="#666")
    axes.set_xticks([])
    axes.set_yticks([])


def stacked_days(title: str, days: list[str], series: list[Series], ylabel: str) -> bytes:
    """Bars per day, one stacked segment per series (e.g. per channel)."""
    def draw(figure: Figure) -> None:
        axes = figure.add_subplot()
        if not any(v for s in series for v in s.values):
            return _empty(axes)
        positions = range(len(days))
        bottom = [0.0] * len(days)
        for one in series:
            values = [v or 0 for v in one.values]
            axes.bar(positions, values, bottom=bottom, label=one.label)
            bottom = [b + v for b, v in zip(bottom, values)]
        axes.set_xticks(list(positions), _short_days(days), rotation=45 if len(days) > 10 else 0)
        axes.set_ylabel(ylabel)
        axes.legend(loc="upper left", fontsize=8)
    return _svg(draw, title)


def lines_days(title: str, days: list[str], series: list[Series], ylabel: str, percent: bool = False) -> bytes:
    """One line per series over the days; gaps where a day has no value."""
    def draw(figure: Figure) -> None:
        axes = figure.add_subplot()
        if not any(v is not None for s in series for v in s.values):
            return _empty(axes)
        for one in series:
            axes.plot(_short_days(days), [float("nan") if v is None else v for v in one.values], marker="o", label=one.label)
        if percent:
            axes.set_ylim(0, 105)
        axes.set_ylabel(ylabel)
        axes.tick_params(axis="x", rotation=45 if len(days) > 10 else 0)
        axes.legend(loc="lower left", fontsize=8)
    return _svg(draw, title)


def ranked_bars(title: str, labels: list[str], values: list[float | None], xlabel: str, limit_x: float | None = None) -> bytes:
    """Horizontal bars, first label on top (rankings, per-field indexes, factor averages)."""
    def draw(figure: Figure) -> None:
        axes = figure.add_subplot()
        if not labels:
            return _empty(axes)
        shown = [label if len(label) <= 48 else label[:47] + "…" for label in labels]
        numbers = [v or 0 for v in values]
        bars = axes.barh(range(len(shown)), numbers, color="#1f6fb2")
        axes.set_yticks(range(len(shown)), shown)
        axes.invert_yaxis()
        axes.bar_label(bars, labels=["—" if v is None else f"{v:g}" for v in values], padding=3, fontsize=8)
        axes.set_xlabel(xlabel)
        if limit_x:
            axes.set_xlim(0, limit_x)
    return _svg(draw, title)
