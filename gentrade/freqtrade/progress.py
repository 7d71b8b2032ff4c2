"""How far a running backtest is: Freqtrade's own progress, written by the backtest's process, read by the worker.

Why a file: the backtest runs in a process of its own (or a container) that can write its results folder and
nothing else; the worker polls that folder anyway. Freqtrade reports progress through the callback its
webserver mode uses (``Backtesting(progress_callback=...)``): a phase ("dataload", "analyze", "convert",
"backtest") and the candles done within it. The phases take very different times, so each gets its share of
0..1, measured on ordinary runs (most of the time goes to analysing and looping over candles).

The writer side (:func:`install`) runs inside the backtest's process and imports Freqtrade; the reader side
(:func:`read_progress`) is standard library only.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROGRESS_FILE = ".progress.json"  # in the backtest's results folder; a dot file the result archive ignores
WRITE_EVERY_SECONDS = 0.25
# Each phase's share of the run: (where it starts, where it ends).
PHASES: dict[str, tuple[float, float]] = {
    "startup": (0.0, 0.02),
    "dataload": (0.02, 0.1),
    "analyze": (0.1, 0.4),
    "convert": (0.4, 0.5),
    "backtest": (0.5, 0.99),
}


def phase_progress(phase: str, completed: float | None, total: float | None) -> float | None:
    """The run's progress (0..1) when ``phase`` is ``completed`` of ``total`` done; None for an unknown phase."""
    span = PHASES.get(phase)
    if span is None:
        return None
    start, end = span
    fraction = (completed or 0) / total if total else 0.0
    return start + (end - start) * min(1.0, max(0.0, fraction))


def write_progress(path: Path, value: float) -> None:
    """Replace the progress file atomically, so a reader never sees half of it."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps({"progress": round(value, 4)}))
    os.replace(temporary, path)


def read_progress(results_dir: Path) -> float | None:
    """The progress the backtest last wrote (0..1), or None when it wrote none (yet) or wrote nonsense."""
    try:
        value = json.loads((results_dir / PROGRESS_FILE).read_text()).get("progress")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return None
    return min(1.0, max(0.0, float(value)))


class ProgressWriter:
    """Freqtrade's progress callback: keeps the furthest progress seen and writes it at most every quarter second."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self.clock = clock
        self.best = 0.0
        self.written_at = -math.inf

    def __call__(self, task: Any) -> None:
        value = phase_progress(str(getattr(task, "description", "")), task.completed, task.total)
        if value is None or value <= self.best:
            return
        self.best = value
        now = self.clock()
        if now - self.written_at >= WRITE_EVERY_SECONDS:
            self.written_at = now
            with contextlib.suppress(OSError):  # progress is a courtesy: never fail the backtest for it
                write_progress(self.path, value)


def install(results_dir: Path) -> None:
    """In the backtest's own process, before Freqtrade runs: every ``Backtesting`` reports to the progress file."""
    from freqtrade.optimize import backtesting

    original = backtesting.Backtesting.__init__
    writer = ProgressWriter(results_dir / PROGRESS_FILE)

    def init(self: Any, config: Any, exchange: Any = None, *, progress_callback: Any = None) -> None:
        original(self, config, exchange, progress_callback=progress_callback or writer)

    backtesting.Backtesting.__init__ = init  # type: ignore[method-assign]
