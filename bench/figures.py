"""A benchmark's figures as data: what each benchmark returns and ``bench.run_all`` tabulates.

Each benchmark runs in a process of its own (``python -m bench.<name>``); ``--figures PATH`` makes it write
its figures there as JSON, which ``bench.run_all`` reads back with :func:`load`. Standalone, the benchmark
prints them (:func:`describe`) after its own report.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

Measured = TypeVar("Measured")


@dataclass(frozen=True)
class Figure:
    """One row of bench/RESULTS.md: what was measured (``value``) against what (``baseline``, measured in the
    same run), their ``ratio`` as the benchmark states it, the ``target`` and whether it was ``met`` (None: the
    figure has no target)."""

    name: str
    value: str
    baseline: str = ""
    ratio: float | None = None
    target: str = ""
    met: bool | None = None

    @property
    def verdict(self) -> str:
        return {True: "met", False: "MISSED", None: "-"}[self.met]


def parser(description: str, prog: str | None = None) -> argparse.ArgumentParser:
    """A benchmark's argument parser, with the ``--figures PATH`` that ``bench.run_all`` passes."""
    result = argparse.ArgumentParser(prog=prog, description=description)
    result.add_argument("--figures", type=Path, metavar="PATH", help="also write the figures into PATH as JSON")
    return result


def describe(figures: list[Figure]) -> list[str]:
    """The figures as readable lines, for a benchmark's own report."""
    lines = ["figures:"]
    for item in figures:
        beside = [f"baseline: {item.baseline}"] if item.baseline else []
        beside += [] if item.ratio is None else [f"ratio {item.ratio:g}"]
        baseline = f" ({'; '.join(beside)})" if beside else ""
        target = f"; target {item.target}: {item.verdict}" if item.target else ""
        lines.append(f"  {item.name}: {item.value}{baseline}{target}")
    return lines


def publish(report: list[str], figures: list[Figure], path: Path | None) -> None:
    """Print a benchmark's report and its figures and, when ``bench.run_all`` asked for them (``--figures``),
    write the figures to ``path``."""
    print("\n".join([*report, *describe(figures)]), flush=True)
    if path is not None:
        path.write_text(json.dumps([asdict(item) for item in figures], indent=1))


def run_benchmark(
    arguments: argparse.ArgumentParser,
    argv: list[str] | None,
    measure: Callable[[argparse.Namespace], Measured | None],
    report: Callable[[Measured], list[str]],
    figures: Callable[[Measured], list[Figure]],
    passed: Callable[[Measured], bool] = lambda _: True,
) -> int:
    """A benchmark's ``main``: measure with the parsed arguments, then :func:`publish` its report and figures.
    Exit status 1 when ``measure`` returned None (it said why) or the run did not pass (``passed``: a
    benchmark whose run is also a check); a missed target is not a failure."""
    args = arguments.parse_args(argv)
    measured = measure(args)
    if measured is None:
        return 1
    publish(report(measured), figures(measured), args.figures)
    return 0 if passed(measured) else 1


def load(path: Path) -> list[Figure]:
    """The figures a benchmark wrote with :func:`publish`."""
    return [Figure(**item) for item in json.loads(path.read_text())]
