"""Shared set-up for benchmarks: an app on a private PostgreSQL schema, tokens, statistics."""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from flask import Flask
from flask_migrate import upgrade

from bench.figures import Figure, parser
from gentrade import create_app, devkeys
from gentrade.settings import Settings

POSTGRES_URL = os.environ.get("GENTRADE_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def bench_app(schema: str, **settings: Any) -> Iterator[tuple[Flask, Path]]:
    """A development-mode app (development tokens) on PostgreSQL schema ``schema``, dropped afterwards;
    ``settings`` override the defaults."""
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
    with tempfile.TemporaryDirectory(prefix="gentrade-bench-") as folder:
        data_dir = Path(folder)
        url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
        app = create_app(Settings(_env_file=None, data_dir=data_dir, database_url=url, log_level="WARNING", **settings))
        with app.app_context():
            upgrade()
        try:
            yield app, data_dir
        finally:
            from gentrade.extensions import db

            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def bearer(data_dir: Path, clerk_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {devkeys.mint_token(data_dir, clerk_id)}"}


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summary(samples: list[float]) -> str:
    return (
        f"p50 {percentile(samples, 0.5) * 1000:7.1f} ms   p95 {percentile(samples, 0.95) * 1000:7.1f} ms   "
        f"mean {statistics.fmean(samples) * 1000:7.1f} ms"
    )


def p50_p95(samples: list[float]) -> str:
    """A latency figure's value: "p50 X ms, p95 Y ms"."""
    return f"p50 {percentile(samples, 0.5) * 1000:.1f} ms, p95 {percentile(samples, 0.95) * 1000:.1f} ms"


def runner_parser(description: str) -> argparse.ArgumentParser:
    """A backtest benchmark's arguments: ``--figures`` and ``--runner local|docker``."""
    result = parser(description)
    result.add_argument(
        "--runner",
        choices=("local", "docker"),
        default="local",
        help="the worker's runner; docker: measured against `docker run` of the stock image",
    )
    return result


@dataclass
class AgainstStockTool:
    """A backtest benchmark's measurement against the stock tool of its ``--runner``: the ``freqtrade`` CLI, or
    ``docker run`` of the stock image for the docker runner. ``ratio``: the service's time over the tool's."""

    runner: str

    @property
    def ratio(self) -> float:
        raise NotImplementedError

    @property
    def tool(self) -> str:
        return "stock CLI" if self.runner == "local" else "docker run of the stock image"

    @property
    def label(self) -> str:
        """Added to the figures' names: which runner the service used."""
        return "" if self.runner == "local" else ", docker runner"

    def ratio_line(self, name: str, digits: int, target: float) -> str:
        verdict = "met" if self.ratio <= target else "MISSED"
        return f"{name}: {self.ratio:.{digits}f}   target <= {target}: {verdict}"

    def figure(self, name: str, value: str, baseline: str, target: float) -> Figure:
        """The figure, its baseline named after the tool; met at or under ``target``."""
        return Figure(f"{name}{self.label}", value, f"{self.tool} {baseline}", round(self.ratio, 3),
                      f"ratio <= {target}", self.ratio <= target)  # fmt: skip
