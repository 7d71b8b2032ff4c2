"""DockerRunner on a real Docker engine, with the images `make docker-images` builds offline.

The same backtest as the local runner gives the same result in our image and in one laid out like the
official ``freqtradeorg/freqtrade`` (Freqtrade under ``pip --user``), run as the worker's uid (10001 under root,
as in the project's image) on files the worker wrote with mode 0600. Timeout, cancel and the memory limit
end runs with clear notes; a missing image is ``image_missing``; no container is ever left behind.

Without an engine (or the images) these tests skip with the reason, except under ``CI=true``, where
they fail (tests/docker_engine.py).
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker
import pytest

from gentrade import create_app
from gentrade.exchange_sim import ExchangeSimulator, SimulatorConfig
from gentrade.freqtrade.jobs import BacktestJob, RunnerProblem, RunOutcome
from gentrade.freqtrade.market_list import ensure_market_list
from gentrade.freqtrade.runners import DockerRunner, LocalRunner
from gentrade.freqtrade.runners.docker import LABEL, MARKETS_PORT, NETWORK_CONFIG
from gentrade.services.backtest_runs import runner_problem
from gentrade.settings import DEFAULT_FREQTRADE_IMAGE, Settings
from gentrade.strategies.compiler import compile_strategy
from gentrade.strategies.draft import parse_draft
from tests.docker_engine import OFFICIAL_LAYOUT_IMAGE, require_docker
from tests.freqtrade_env import download, write_configs
from tests.samples import draft

PAIRS = ["BTC/USDT", "ETH/USDT"]
# The project image's worker user when we may act as it (root: CI); else our own uid, as a worker would run.
WORKER_UID = 10001 if os.geteuid() == 0 else os.geteuid()
# Strategy code that tries each address it is given and reports what it reached, in the run's log.
PROBE = """
import json, os, socket

def probe(targets):
    reached = {}
    for host, port in targets:
        try:
            socket.create_connection((host, port), timeout=2).close()
            reached[f"{host}:{port}"] = "connected"
        except OSError as exc:
            reached[f"{host}:{port}"] = type(exc).__name__
    return reached
"""
NETWORK_PROBE_STRATEGY = f"""
from freqtrade.strategy import IStrategy
from pandas import DataFrame
{PROBE}

class NetworkProbe(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "1h"
    minimal_roi = {{"0": 0.1}}
    stoploss = -0.05

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        targets = json.loads(open("/freqtrade/user_data/targets.json").read())
        raise RuntimeError("PROBE " + json.dumps(probe(targets)))

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe
"""
COMPARED = ("total_trades", "profit_total_abs", "wins", "losses", "max_drawdown_abs", "final_balance")


@pytest.fixture(scope="module")
def engine() -> Iterator[docker.DockerClient]:
    client = require_docker(DEFAULT_FREQTRADE_IMAGE, OFFICIAL_LAYOUT_IMAGE)
    yield client
    client.close()


@dataclass
class Workspace:
    data_dir: Path
    user_data: Path
    datadir: Path
    configs: tuple[Path, ...]
    backtest_ids: set[str] = field(default_factory=set)  # of this module's jobs (another run may share the engine)

    def job(self, name: str, **changes: Any) -> BacktestJob:
        values: dict[str, Any] = {
            "backtest_id": uuid.uuid4(),
            "strategy_name": "RsiDipBuyer",
            "user_data_dir": self.user_data,
            "config_files": self.configs,
            "datadir": self.datadir,
            "results_dir": self.user_data / "backtest_results" / name,
            "timerange": "20260701-20260901",
            "timeframe": "1h",
            "pairs": tuple(PAIRS),
            "timeout_seconds": 180,
        }
        values.update(changes)
        self.backtest_ids.add(str(values["backtest_id"]))
        # The worker (root here, uid 10001 deployed) makes the folder as the uid its containers run as.
        values["results_dir"].mkdir(parents=True)
        os.chown(values["results_dir"], WORKER_UID, WORKER_UID)
        return BacktestJob(**values)


@pytest.fixture(scope="module")
def workspace(engine: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A worker's data folder: one user's strategies and configs (0600, the worker's), the shared market
    data and the market list the worker cached. The stand-in listens on the host's loopback only: the
    containers never reach it (they have no network), the local runner does."""
    data_dir = tmp_path_factory.mktemp("docker-data")
    config = SimulatorConfig(pairs=tuple(PAIRS), now=datetime(2026, 11, 1, tzinfo=UTC))
    with ExchangeSimulator(config) as exchange:
        datadir = data_dir / "market_data" / "binance"
        download(datadir, PAIRS, "1h", "20260601-20260901", exchange.api_url, data_dir / "work")
        ensure_market_list(datadir, exchange.api_url)
        user_data = data_dir / "ft_userdata" / "user_test" / "user_data"
        strategies = user_data / "strategies"
        strategies.mkdir(parents=True)
        rsi_only = draft(entry_conditions={"all": [{"left": "rsi", "op": "<", "right": 30}]})
        (strategies / "RsiDipBuyer.py").write_text(compile_strategy(parse_draft(rsi_only)))
        (strategies / "NetworkProbe.py").write_text(NETWORK_PROBE_STRATEGY)
        configs = tuple(write_configs(user_data, PAIRS, exchange.api_url))
        for path in [user_data, *user_data.rglob("*")]:
            os.chown(path, WORKER_UID, WORKER_UID)
            path.chmod(0o700 if path.is_dir() else 0o600)
        yield Workspace(data_dir, user_data, datadir, configs)


def runner(workspace: Workspace, image: str = DEFAULT_FREQTRADE_IMAGE) -> DockerRunner:
    return DockerRunner(docker.from_env, image, workspace.data_dir, user=f"{WORKER_UID}:{WORKER_UID}")


def run(runner: LocalRunner | DockerRunner, job: BacktestJob, cancel_after: int | None = None) -> RunOutcome:
    beats: list[None] = []
    return runner.run(
        job,
        should_cancel=lambda: cancel_after is not None and len(beats) >= cancel_after,
        heartbeat=lambda: beats.append(None),
        poll_seconds=0.5,
    )


def stats(results_dir: Path) -> dict[str, Any]:
    [archive] = results_dir.glob("*.zip")
    with zipfile.ZipFile(archive) as opened:
        name = next(n for n in opened.namelist() if n.endswith(".json") and "_config" not in n)
        return json.loads(opened.read(name))["strategy"]["RsiDipBuyer"]


@pytest.fixture(autouse=True)
def no_container_left(engine: docker.DockerClient, workspace: Workspace) -> Iterator[None]:
    yield
    left = [c.name for c in engine.containers.list(all=True, filters={"label": LABEL})]
    assert [name for name in left if name.removeprefix("gentrade-backtest-") in workspace.backtest_ids] == []


def test_the_engine_is_accepted(workspace: Workspace) -> None:
    assert runner(workspace).check_engine() >= "1.41"


@pytest.mark.parametrize("image", [DEFAULT_FREQTRADE_IMAGE, OFFICIAL_LAYOUT_IMAGE])
def test_a_backtest_in_a_container_matches_the_local_runner(workspace: Workspace, image: str) -> None:
    local_job = workspace.job(f"local-{uuid.uuid4().hex[:6]}")
    local = run(LocalRunner(), local_job)
    assert local.succeeded, local.log_tail

    job = workspace.job(f"docker-{uuid.uuid4().hex[:6]}")
    outcome = run(runner(workspace, image), job)

    assert outcome.succeeded, outcome.log_tail
    expected, got = stats(local_job.results_dir), stats(job.results_dir)
    assert got["total_trades"] > 0
    assert {key: got[key] for key in COMPARED} == {key: expected[key] for key in COMPARED}
    written = [path for path in job.results_dir.rglob("*") if path.name != NETWORK_CONFIG]  # the worker's own
    assert written
    assert {path.stat().st_uid for path in written} == {WORKER_UID}  # the worker's files, not the image user's


def test_timeout_ends_the_container(workspace: Workspace) -> None:
    outcome = run(runner(workspace), workspace.job("timeout", timeout_seconds=2))
    assert outcome.timed_out
    assert outcome.exit_code is None
    assert "timeout of 2 s reached" in outcome.log_tail


def test_cancel_ends_the_container(workspace: Workspace) -> None:
    outcome = run(runner(workspace), workspace.job("cancel"), cancel_after=1)
    assert outcome.cancelled
    assert outcome.seconds < 30


def test_the_memory_limit_ends_a_run_that_exceeds_it(workspace: Workspace) -> None:
    outcome = run(runner(workspace), workspace.job("memory", memory_mb=64))
    assert not outcome.succeeded
    assert outcome.out_of_memory
    assert "out of memory (limit 64 MiB)" in outcome.log_tail


def test_a_missing_image_is_image_missing(workspace: Workspace) -> None:
    with pytest.raises(RunnerProblem) as raised:
        run(runner(workspace, "gentrade/no-such-freqtrade:0"), workspace.job("missing"))
    assert raised.value.code == "image_missing"
    assert "make docker-images" in raised.value.message


def test_a_worker_without_a_usable_engine_is_told_why(
    engine: docker.DockerClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the worker checks when it starts (and refuses to start on): nothing to say with this engine."""
    app = create_app(Settings(_env_file=None, data_dir=tmp_path, freqtrade_runner="docker"))
    with app.app_context():
        assert runner_problem() is None
        monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")  # nothing listens there
        problem = runner_problem()
    assert problem is not None
    assert problem.startswith("the Docker engine: ")


def bridge_gateway(engine: docker.DockerClient) -> str:
    """The host's address on Docker's default bridge: the configured gateway, else (an engine that reports
    only the subnet, as a freshly started dockerd may) the subnet's first address, which Docker gives the host."""
    config = engine.networks.get("bridge").attrs["IPAM"]["Config"][0]
    return config.get("Gateway") or str(next(ipaddress.ip_network(config["Subnet"]).hosts()))


def test_strategy_code_in_a_container_reaches_nothing_but_the_market_list(
    engine: docker.DockerClient, workspace: Workspace
) -> None:
    """A listener on every host address, which a container on Docker's default bridge does reach (the
    control), is out of reach of a backtest's strategy code; only the market list on its loopback answers."""
    listener = socket.create_server(("0.0.0.0", 0))
    port = listener.getsockname()[1]
    gateway = bridge_gateway(engine)
    host_address = socket.gethostbyname(socket.gethostname())
    targets = [(gateway, port), (host_address, port), ("127.0.0.1", port), ("127.0.0.1", MARKETS_PORT)]
    (workspace.user_data / "targets.json").write_text(json.dumps(targets))
    os.chown(workspace.user_data / "targets.json", WORKER_UID, WORKER_UID)
    try:
        control = engine.containers.run(
            DEFAULT_FREQTRADE_IMAGE, ["-c", f"{PROBE}\nprint(json.dumps(probe({targets!r})))"],
            entrypoint=["python3"], network_mode="bridge", remove=True,
        )  # fmt: skip
        assert json.loads(control)[f"{gateway}:{port}"] == "connected"

        outcome = run(runner(workspace), workspace.job("probe", strategy_name="NetworkProbe"))
    finally:
        listener.close()
    line = [line for line in outcome.log_tail.splitlines() if "RuntimeError: PROBE " in line][-1]
    reached = json.loads(line.split("PROBE ", 1)[1])
    assert reached == {
        f"{gateway}:{port}": "OSError",
        f"{host_address}:{port}": "OSError",
        f"127.0.0.1:{port}": "ConnectionRefusedError",
        f"127.0.0.1:{MARKETS_PORT}": "connected",
    }
