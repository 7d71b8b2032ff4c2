"""DockerRunner on a real Docker engine, with the images `make docker-images` builds offline.

The same backtest as the local runner gives the same result in our image and in one laid out like the
official ``freqtradeorg/freqtrade`` (Freqtrade under ``pip --user``), run as the worker's uid (10001 under root,
as in the project's image) on files the worker wrote with mode 0600. Timeout, cancel and the memory limit
end runs with clear notes; a missing image is ``image_missing``; no container is ever left behind.

Each of those runs three ways: in a container created for the backtest ("cold"), in a pooled one that imported
Freqtrade before the job existed ("pooled"), and in a pooled one that already served a job ("reused"). A pooled
container sees neither the user's folder nor anyone else's, has no network, is replaced when the image changes,
reports progress, and its trades are the cold container's; single-use (``container_jobs=1``) it runs one job
only; reused, nothing of a job (processes, files in its folder, /tmp, /dev/shm, IPC objects) is left for the
next, and a container whose server died, timed out or was cancelled is replaced.

Without an engine (or the images) these tests skip with the reason, except under ``CI=true``, where
they fail (tests/docker_engine.py).
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import time
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
from gentrade.freqtrade.runners.docker import (
    MARKETS_PORT,
    NETWORK_CONFIG,
    POOL_IMAGE_LABEL,
    POOL_LABEL,
    POOL_SLOT_LABEL,
)
from gentrade.freqtrade.runners.docker_pool import ContainerPool, Slot
from gentrade.freqtrade.userdir import USER_DATA_SUBDIRS
from gentrade.samples import draft
from gentrade.services.backtest_runners import runner_problem
from gentrade.services.backtest_runs import failure_of
from gentrade.settings import DEFAULT_FREQTRADE_IMAGE, Settings
from gentrade.strategies.compiler import compile_strategy
from gentrade.strategies.draft import parse_draft
from tests.docker_engine import OFFICIAL_LAYOUT_IMAGE
from tests.freqtrade_env import download, write_configs

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
# A strategy whose indicators write what ``report`` (code filling the dict ``report``) finds to ``probe.json`` in the
# backtest's results folder, then stop the run.
PROBE_STRATEGY = """
import json, os, socket
from freqtrade.strategy import IStrategy
from pandas import DataFrame
{probe}

class {name}(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "1h"
    minimal_roi = {{"0": 0.1}}
    stoploss = -0.05

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        report = {{}}
{report}
        with open(os.path.join(str(self.config["exportdirectory"]), "probe.json"), "w") as handle:
            json.dump(report, handle)
        raise RuntimeError("probed")

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe
"""
# What a backtest's container sees of the file system and the network.
SURROUNDINGS = """
        seen = []
        for top in ("/freqtrade", "/tmp", "/home", "/root", "/srv", "/data"):
            for folder, _, files in os.walk(top):
                seen += [os.path.join(folder, name) for name in files]
        report["files"] = sorted(seen)
        report["secret"] = []
        for path in seen:
            try:
                if SECRET in open(path, "rb").read().decode("latin-1"):
                    report["secret"].append(path)
            except OSError:
                pass
        report["interfaces"] = [name for _, name in socket.if_nameindex()]
        for weight in ("/sys/fs/cgroup/cpu/cpu.shares", "/sys/fs/cgroup/cpu.weight"):  # cgroup v1, v2
            if os.path.exists(weight):
                report["cpu_weight"] = open(weight).read().strip()
        mounts = [line.split()[4] for line in open("/proc/self/mountinfo")]
        report["mounts"] = sorted(point for point in mounts if point.startswith("/freqtrade"))
"""
SECRET = "another user's secret 7d1f"
COMPARED = ("total_trades", "profit_total_abs", "wins", "losses", "max_drawdown_abs", "final_balance")
MODES = ["cold", "pooled", "reused"]
CONTAINER_JOBS = 50  # a reused container's: more than any test here runs in one


@dataclass
class DockerWorkspace:
    data_dir: Path
    user_data: Path
    datadir: Path
    configs: tuple[Path, ...]
    backtest_ids: set[str] = field(default_factory=set)  # of this module's jobs (another run may share the engine)

    def strategy(self, name: str, report: str, probe: str = "") -> str:
        """A probe strategy in the user's folder (the worker's file, 0600, as the others); it knows the secret it
        looks for without holding it (reversed)."""
        path = self.user_data / "strategies" / f"{name}.py"
        secret = f"SECRET = {SECRET[::-1]!r}[::-1]"
        path.write_text(PROBE_STRATEGY.format(name=name, report=report, probe=f"{probe}\n{secret}"))
        os.chown(path, WORKER_UID, WORKER_UID)
        path.chmod(0o600)
        return name

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
def workspace(engine: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerWorkspace]:
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
        configs = tuple(write_configs(user_data, PAIRS, exchange.api_url))
        other = data_dir / "ft_userdata" / "user_other" / "user_data"  # another user, same worker
        (other / "strategies").mkdir(parents=True)
        (other / "strategies" / "Theirs.py").write_text(f"# {SECRET}\n")
        (other / "config.json").write_text(json.dumps({"secret": SECRET}))
        for path in [user_data, *user_data.rglob("*"), other, *other.rglob("*")]:
            os.chown(path, WORKER_UID, WORKER_UID)
            path.chmod(0o700 if path.is_dir() else 0o600)
        yield DockerWorkspace(data_dir, user_data, datadir, configs)


@pytest.fixture(scope="module")
def pool(engine: docker.DockerClient) -> Iterator[ContainerPool]:
    """This module's own pool (the process-wide one is the worker's); its idle containers go at the end."""
    value = ContainerPool()
    yield value
    value.close()
    assert [slot.name for slot in value.idle()] == []


@pytest.fixture(scope="module")
def reuse_pool(engine: docker.DockerClient) -> Iterator[ContainerPool]:
    """The reused containers' pool (kept apart from the single-use one's)."""
    value = ContainerPool()
    yield value
    value.close()
    assert [slot.name for slot in value.idle()] == []


def runner(
    workspace: DockerWorkspace,
    image: str = DEFAULT_FREQTRADE_IMAGE,
    pool: ContainerPool | None = None,
    container_jobs: int = 1,
) -> DockerRunner:
    """A cold runner, or a pooled one (one idle container) with ``pool``, single-use unless ``container_jobs``."""
    options: dict[str, Any] = {"pool_size": 1, "pool": pool, "container_jobs": container_jobs} if pool else {}
    return DockerRunner(docker.from_env, image, workspace.data_dir, user=f"{WORKER_UID}:{WORKER_UID}", **options)


def used_runner(workspace: DockerWorkspace, pool: ContainerPool, **job: Any) -> DockerRunner:
    """A runner whose idle pooled container (for jobs like ``job``) has served a job already: a quick one whose
    strategy stops the run at once (a container fresh from the pool, or one a test had replaced, gets one)."""
    reusing = runner(workspace, pool=pool, container_jobs=CONTAINER_JOBS)
    reusing.prestart(workspace.datadir, job.get("memory_mb", 2048), job.get("cpus", 1.0))
    if ready_slot(pool).jobs == 0:
        warm_up = workspace.job(f"warmup-{uuid.uuid4().hex[:6]}", strategy_name=workspace.strategy("Stop", ""), **job)
        assert "RuntimeError: probed" in run_in_docker(reusing, warm_up).log_tail
    assert ready_slot(pool).jobs >= 1
    return reusing


def mode_of(
    workspace: DockerWorkspace, name: str, pool: ContainerPool, reuse_pool: ContainerPool, **job: Any
) -> DockerRunner:
    if name == "reused":
        return used_runner(workspace, reuse_pool, **job)
    return runner(workspace, pool=pool if name == "pooled" else None)


@pytest.fixture(params=MODES)
def mode_runner(
    request: pytest.FixtureRequest, workspace: DockerWorkspace, pool: ContainerPool, reuse_pool: ContainerPool
) -> DockerRunner:
    return mode_of(workspace, request.param, pool, reuse_pool)


def run_in_docker(
    runner: LocalRunner | DockerRunner,
    job: BacktestJob,
    cancel_after: int | None = None,
    progress: list[float] | None = None,
) -> RunOutcome:
    beats: list[None] = []
    return runner.run(
        job,
        should_cancel=lambda: cancel_after is not None and len(beats) >= cancel_after,
        on_poll=lambda: beats.append(None),
        poll_seconds=0.5 if progress is None else 0.1,
        progress=None if progress is None else progress.append,
    )


def rsi_dip_buyer_stats(results_dir: Path) -> dict[str, Any]:
    [archive] = results_dir.glob("*.zip")
    with zipfile.ZipFile(archive) as opened:
        name = next(n for n in opened.namelist() if n.endswith(".json") and "_config" not in n)
        return json.loads(opened.read(name))["strategy"]["RsiDipBuyer"]


def probed(job: BacktestJob, outcome: RunOutcome) -> dict[str, Any]:
    """What a probe strategy reported, in the backtest's results folder (where a pooled run's results come back)."""
    assert "RuntimeError: probed" in outcome.log_tail, outcome.log_tail
    return json.loads((job.results_dir / "probe.json").read_text())


def ready_slot(pool: ContainerPool) -> Slot:
    """The pool's idle container, once it has imported Freqtrade."""
    assert pool.wait_ready(120)
    [slot] = pool.idle()
    return slot


def exists(engine: docker.DockerClient, container_id: str) -> bool:
    try:
        engine.containers.get(container_id)
    except docker.errors.NotFound:
        return False
    return True


@pytest.fixture(autouse=True)
def no_backtest_container_left(engine: docker.DockerClient, workspace: DockerWorkspace) -> Iterator[None]:
    """No backtest's container (cold, or pooled and named after its backtest) outlives its run."""
    yield
    # The low-level list: no inspect per container, which a removal meanwhile would turn into a 404.
    found = engine.api.containers(all=True, filters={"name": "gentrade-backtest-"})
    left = [name.lstrip("/") for container in found for name in container.get("Names", [])]
    assert [name for name in left if name.removeprefix("gentrade-backtest-") in workspace.backtest_ids] == []


def test_the_engine_is_accepted(workspace: DockerWorkspace) -> None:
    assert runner(workspace).check_engine() >= "1.41"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("image", [DEFAULT_FREQTRADE_IMAGE, OFFICIAL_LAYOUT_IMAGE])
def test_a_backtest_in_a_container_matches_the_local_runner(
    workspace: DockerWorkspace, pool: ContainerPool, reuse_pool: ContainerPool, image: str, mode: str
) -> None:
    local_job = workspace.job(f"local-{uuid.uuid4().hex[:6]}")
    local = run_in_docker(LocalRunner(), local_job)
    assert local.succeeded, local.log_tail

    job = workspace.job(f"docker-{uuid.uuid4().hex[:6]}")
    if mode == "reused":
        reusing = runner(workspace, image, reuse_pool, CONTAINER_JOBS)
        assert run_in_docker(reusing, workspace.job(f"first-{uuid.uuid4().hex[:6]}")).succeeded
        outcome = run_in_docker(reusing, job)
        reuse_pool.close()  # the next test's image is another
    else:
        outcome = run_in_docker(runner(workspace, image, pool if mode == "pooled" else None), job)

    assert outcome.succeeded, outcome.log_tail
    expected, got = rsi_dip_buyer_stats(local_job.results_dir), rsi_dip_buyer_stats(job.results_dir)
    assert got["total_trades"] > 0
    assert {key: got[key] for key in COMPARED} == {key: expected[key] for key in COMPARED}
    written = [path for path in job.results_dir.rglob("*") if path.name != NETWORK_CONFIG]  # the worker's own
    assert written
    assert {path.stat().st_uid for path in written} == {WORKER_UID}  # the worker's files, not the image user's


def test_timeout_ends_the_container(workspace: DockerWorkspace, mode_runner: DockerRunner) -> None:
    """A strategy that takes a minute (a warm backtest of the default one is done in under a second)."""
    sleeper = workspace.strategy("Sleeper", "        time.sleep(60)", "import time")
    job = workspace.job(f"timeout-{uuid.uuid4().hex[:6]}", timeout_seconds=3, strategy_name=sleeper)
    outcome = run_in_docker(mode_runner, job)
    assert outcome.timed_out
    assert outcome.exit_code is None
    assert "timeout of 3 s reached" in outcome.log_tail


def test_cancel_ends_the_container(workspace: DockerWorkspace, mode_runner: DockerRunner) -> None:
    sleeper = workspace.strategy("Sleeper", "        time.sleep(60)", "import time")
    outcome = run_in_docker(
        mode_runner, workspace.job(f"cancel-{uuid.uuid4().hex[:6]}", strategy_name=sleeper), cancel_after=1
    )
    assert outcome.cancelled
    assert outcome.seconds < 30


@pytest.mark.parametrize("mode", MODES[:2])
def test_the_memory_limit_ends_a_run_that_exceeds_it(
    workspace: DockerWorkspace, pool: ContainerPool, mode: str
) -> None:
    """64 MiB: in a pooled container, the server's own import of Freqtrade runs out (its container dies)."""
    limited = runner(workspace, pool=pool if mode == "pooled" else None)
    outcome = run_in_docker(limited, workspace.job(f"memory-{uuid.uuid4().hex[:6]}", memory_mb=64))
    assert not outcome.succeeded
    assert outcome.out_of_memory
    assert "out of memory (limit 64 MiB)" in outcome.log_tail


@pytest.mark.parametrize("mode", MODES[:2])
def test_a_missing_image_is_image_missing(workspace: DockerWorkspace, pool: ContainerPool, mode: str) -> None:
    missing = runner(workspace, "gentrade/no-such-freqtrade:0", pool if mode == "pooled" else None)
    with pytest.raises(RunnerProblem) as raised:
        run_in_docker(missing, workspace.job(f"missing-{uuid.uuid4().hex[:6]}"))
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


@pytest.mark.parametrize("mode", MODES)
def test_strategy_code_in_a_container_reaches_nothing_but_the_market_list(
    engine: docker.DockerClient, workspace: DockerWorkspace, pool: ContainerPool, reuse_pool: ContainerPool, mode: str
) -> None:
    """A listener on every host address, which a container on Docker's default bridge does reach (the
    control), is out of reach of a backtest's strategy code; only the market list on its loopback answers."""
    listener = socket.create_server(("0.0.0.0", 0))
    port = listener.getsockname()[1]
    gateway = bridge_gateway(engine)
    host_address = socket.gethostbyname(socket.gethostname())
    targets = [(gateway, port), (host_address, port), ("127.0.0.1", port), ("127.0.0.1", MARKETS_PORT)]
    strategy = workspace.strategy("NetworkProbe", f"        report.update(probe({targets!r}))", PROBE)
    try:
        control = engine.containers.run(
            DEFAULT_FREQTRADE_IMAGE, ["-c", f"{PROBE}\nprint(json.dumps(probe({targets!r})))"],
            entrypoint=["python3"], network_mode="bridge", remove=True,
        )  # fmt: skip
        assert json.loads(control)[f"{gateway}:{port}"] == "connected"

        job = workspace.job(f"probe-{uuid.uuid4().hex[:6]}", strategy_name=strategy)
        outcome = run_in_docker(mode_of(workspace, mode, pool, reuse_pool), job)
    finally:
        listener.close()
    assert probed(job, outcome) == {
        f"{gateway}:{port}": "OSError",
        f"{host_address}:{port}": "OSError",
        f"127.0.0.1:{port}": "ConnectionRefusedError",
        f"127.0.0.1:{MARKETS_PORT}": "connected",
    }


def test_a_pooled_container_sees_no_user_folder_and_has_no_network(
    engine: docker.DockerClient, workspace: DockerWorkspace, pool: ContainerPool
) -> None:
    """Before its job, a pooled container mounts its own empty folder and the market data, nothing else, with the
    cold container's lock-down; with its job, it sees only what that job reads: not the user's other strategies
    or results, nothing of another user, and no network but loopback."""
    strategy = workspace.strategy("FolderProbe", SURROUNDINGS)
    earlier = workspace.job(f"earlier-{uuid.uuid4().hex[:6]}")
    (earlier.results_dir / "earlier-result.json").write_text("{}")
    pooled = runner(workspace, pool=pool)
    pooled.prestart(workspace.datadir, 2048, 1.0)
    slot = ready_slot(pool)
    attrs = engine.containers.get(slot.container_id).attrs
    host = attrs["HostConfig"]
    assert sorted((m["Source"], m["Destination"], m["RW"]) for m in attrs["Mounts"]) == sorted(
        [
            (str(slot.user_data), "/freqtrade/user_data", True),
            (str(workspace.datadir), "/freqtrade/market_data", False),
        ]
    )
    assert host["NetworkMode"] == "none"
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["PidsLimit"] == 256
    assert host["Memory"] == 2048 * 1024 * 1024
    assert host["CpuShares"] == 2  # while it waits; a backtest's weight once it has one
    assert attrs["Config"]["User"] == f"{WORKER_UID}:{WORKER_UID}"
    image_env = engine.images.get(DEFAULT_FREQTRADE_IMAGE).attrs["Config"]["Env"]
    assert set(attrs["Config"]["Env"]) - set(image_env) == {"HOME=/tmp"}  # the image's own, and a home

    job = workspace.job(f"folders-{uuid.uuid4().hex[:6]}", strategy_name=strategy)
    outcome = run_in_docker(pooled, job)

    report = probed(job, outcome)
    results = f"/freqtrade/user_data/backtest_results/{job.results_dir.name}"
    assert report["secret"] == []
    seen = [path for path in report["files"] if path.startswith("/freqtrade/user_data/")]
    assert [path for path in seen if ".progress.json" not in path] == sorted([
        "/freqtrade/user_data/.gentrade-job.log",
        "/freqtrade/user_data/.ready",
        "/freqtrade/user_data/config.json",
        "/freqtrade/user_data/offline.json",
        f"/freqtrade/user_data/strategies/{strategy}.py",
        f"{results}/{NETWORK_CONFIG}",
    ])  # fmt: skip
    assert report["interfaces"] == ["lo"]
    assert report["cpu_weight"] in ("1024", "39")  # a cold container's: Docker's default shares (as a v2 weight)
    assert report["mounts"] == ["/freqtrade/market_data", "/freqtrade/user_data"]
    assert not exists(engine, slot.container_id)
    assert not slot.folder.exists()


def test_a_pooled_container_runs_one_job_only_on_a_real_engine(
    engine: docker.DockerClient, workspace: DockerWorkspace, pool: ContainerPool
) -> None:
    """Each job gets a container no job ran in before; the used one ends with its job and is removed, and a fresh
    one takes its place."""
    pooled = runner(workspace, pool=pool)
    used = []
    for _ in range(2):
        pooled.prestart(workspace.datadir, 2048, 1.0)
        slot = ready_slot(pool)
        used.append(slot.container_id)
        assert run_in_docker(pooled, workspace.job(f"single-{uuid.uuid4().hex[:6]}")).succeeded
        assert not exists(engine, slot.container_id)
    assert used[0] != used[1]
    [replacement] = [ready_slot(pool)]
    assert replacement.container_id not in used
    assert engine.containers.get(replacement.container_id).status == "running"


def test_an_idle_pooled_container_is_replaced_when_the_image_changes(
    engine: docker.DockerClient, workspace: DockerWorkspace, pool: ContainerPool
) -> None:
    """The image tag is rebuilt (here: moved to another image) while a container of the old one waits: the next
    job removes it and runs in a container of the new image."""
    tag = f"gentrade/pool-test:{uuid.uuid4().hex[:8]}"
    repository, version = tag.split(":")
    old, new = engine.images.get(DEFAULT_FREQTRADE_IMAGE), engine.images.get(OFFICIAL_LAYOUT_IMAGE)
    old.tag(repository, version)
    try:
        pooled = runner(workspace, tag, pool)
        pooled.prestart(workspace.datadir, 2048, 1.0)
        stale = ready_slot(pool)
        assert engine.containers.get(stale.container_id).labels[POOL_IMAGE_LABEL] == old.id

        new.tag(repository, version)
        job = workspace.job(f"retagged-{uuid.uuid4().hex[:6]}")
        outcome = run_in_docker(pooled, job)

        assert outcome.succeeded, outcome.log_tail
        assert not exists(engine, stale.container_id)
        replacement = ready_slot(pool)
        assert engine.containers.get(replacement.container_id).labels[POOL_IMAGE_LABEL] == new.id
        assert rsi_dip_buyer_stats(job.results_dir)["total_trades"] > 0
    finally:
        pool.close()
        engine.images.remove(tag, noprune=True)


@pytest.mark.parametrize("mode", MODES[1:])
def test_a_pooled_run_gives_the_cold_run_s_trades_and_reports_progress(
    workspace: DockerWorkspace, pool: ContainerPool, reuse_pool: ContainerPool, mode: str
) -> None:
    """Pooled, and reused: a container that ran a backtest already gives the same trades again."""
    cold_job = workspace.job(f"cold-{uuid.uuid4().hex[:6]}")
    assert run_in_docker(runner(workspace), cold_job).succeeded
    pooled = mode_of(workspace, mode, pool, reuse_pool)
    pooled.prestart(workspace.datadir, 2048, 1.0)
    ready_slot(reuse_pool if mode == "reused" else pool)
    if mode == "reused":  # a full backtest first, in the same container
        assert run_in_docker(pooled, workspace.job(f"before-{uuid.uuid4().hex[:6]}")).succeeded

    job = workspace.job(f"pooled-{uuid.uuid4().hex[:6]}")
    reported: list[float] = []
    started = time.monotonic()
    outcome = run_in_docker(pooled, job, progress=reported)

    assert outcome.succeeded, outcome.log_tail
    cold, warm = rsi_dip_buyer_stats(cold_job.results_dir), rsi_dip_buyer_stats(job.results_dir)
    assert warm["total_trades"] > 0
    assert warm["trades"] == cold["trades"]
    assert {key: warm[key] for key in COMPARED} == {key: cold[key] for key in COMPARED}
    assert reported, f"no progress in {time.monotonic() - started:.1f} s"
    assert reported == sorted(reported)
    assert 0 < reported[-1] <= 1
    assert (job.results_dir / ".progress.json").exists()


def test_pooled_containers_of_a_stopped_worker_are_swept(
    engine: docker.DockerClient, workspace: DockerWorkspace
) -> None:
    """A worker that died stops touching its containers' leases: another worker's sweep removes them and their
    folders, and leaves a live worker's alone."""
    dead, alive = ContainerPool(), ContainerPool()
    pooled = runner(workspace, pool=dead)
    pooled.prestart(workspace.datadir, 2048, 1.0)
    orphan = ready_slot(dead)
    runner(workspace, pool=alive).prestart(workspace.datadir, 2048, 1.0)
    kept = ready_slot(alive)
    try:
        dead._stop.set()  # its owner died: nobody touches its lease any more
        os.utime(orphan.folder / "lease", (0, 0))  # long ago

        assert pooled.sweep(engine, keep={kept.name}) == 1

        assert not exists(engine, orphan.container_id)
        assert not orphan.folder.exists()
        assert exists(engine, kept.container_id)
        labels = engine.containers.get(kept.container_id).labels
        assert labels[POOL_LABEL] == pooled.pool_identity
        assert labels[POOL_SLOT_LABEL] == kept.name
    finally:
        dead.close()
        alive.close()


# --- reused containers: nothing of a job is left for the next ------------------------------------------------------
# A first job's strategy leaves what it can: processes (a new session, a double fork), files in /tmp, /dev/shm, its
# job folder and results folder, a System V shared-memory segment; then stops the run.
LEAVER = """
        import ctypes, subprocess
        subprocess.Popen(["sleep", "600"], start_new_session=True)
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                with open("/tmp/daemon-alive", "w") as alive:
                    alive.write(str(os.getpid()))
                while True:
                    time.sleep(1)
            os._exit(0)
        for path in ("/tmp/left.txt", "/dev/shm/left.txt", "/freqtrade/user_data/left.txt",
                     "/freqtrade/user_data/strategies/Left.py", str(self.config["exportdirectory"]) + "/left.json"):
            with open(path, "w") as handle:
                handle.write(SECRET)
        os.makedirs("/tmp/folder/inner")
        os.chmod("/tmp/folder", 0)
        os.symlink("..", "/freqtrade/user_data/up")  # to the slot's folder (its lease) as the worker sees it
        os.symlink("/freqtrade/market_data", "/freqtrade/user_data/strategies/market")
        os.symlink("/freqtrade/market_data", "/tmp/market")
        os.chmod("/freqtrade/user_data/strategies", 0)
        report["shm"] = ctypes.CDLL(None).shmget(0x5EC2E7, 4096, 0o1600)
        time.sleep(0.5)
        report["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
"""
# The next job's strategy reports what it finds of the container besides itself.
FINDER = """
        me = os.getpid()
        report["processes"] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) != me:
                try:
                    line = open(f"/proc/{entry}/cmdline", "rb").read().replace(b"\\0", b" ")
                    report["processes"][entry] = line.decode()[:80]
                except OSError:
                    pass
        found = []
        for top in ("/tmp", "/dev/shm", "/freqtrade/user_data"):
            for folder, folders, files in os.walk(top):
                found += [os.path.join(folder, name) for name in files + folders]
        report["found"] = sorted(found)
        report["shm"] = open("/proc/sysvipc/shm").read().splitlines()[1:]
        files = [path for path in found if os.path.isfile(path)]
        report["secret"] = [path for path in files if SECRET in open(path, errors="replace").read()]
"""


def the_only_processes_are_the_server_s(report: dict[str, Any]) -> None:
    """Besides the job's own process: PID 1 (the server) and the market-list server, nothing."""
    processes = report["processes"]
    assert "1" in processes
    others = {pid: line for pid, line in processes.items() if pid != "1"}
    assert [line for line in others.values() if "http.server" not in line] == [], processes
    assert len(others) <= 1, processes


def test_nothing_of_a_job_is_left_for_the_next_in_a_reused_container(
    engine: docker.DockerClient, workspace: DockerWorkspace, reuse_pool: ContainerPool
) -> None:
    reusing = used_runner(workspace, reuse_pool)
    slot = ready_slot(reuse_pool)
    leaver = workspace.strategy("Leaver", LEAVER, "import time")
    first = workspace.job(f"leaver-{uuid.uuid4().hex[:6]}", strategy_name=leaver)
    left = probed(first, run_in_docker(reusing, first))
    assert left["shm"] >= 0  # the segment was made
    assert (first.results_dir / "left.json").read_text() == SECRET  # its results are its user's, as any job's

    assert ready_slot(reuse_pool).container_id == slot.container_id  # the same container, clean and idle again
    assert sorted(p.name for p in slot.user_data.iterdir()) == sorted([".ready", *USER_DATA_SUBDIRS])
    assert (slot.folder / "lease").is_file()  # the links were removed, not followed
    assert sorted(p.name for p in workspace.datadir.iterdir())
    finder = workspace.strategy("Finder", FINDER)
    second = workspace.job(f"finder-{uuid.uuid4().hex[:6]}", strategy_name=finder)
    found = probed(second, run_in_docker(reusing, second))

    assert engine.containers.get(slot.container_id).status == "running"  # it served both
    the_only_processes_are_the_server_s(found)
    assert found["shm"] == []
    assert found["secret"] == []
    tmp = [path for path in found["found"] if not path.startswith("/freqtrade/")]
    assert tmp == []
    job_files = [
        path.removeprefix("/freqtrade/user_data/") for path in found["found"] if path.startswith("/freqtrade/")
    ]
    assert "left.txt" not in job_files
    assert "strategies/Left.py" not in job_files
    assert not [path for path in job_files if path.startswith(f"backtest_results/{first.results_dir.name}")]
    assert not (second.results_dir / "left.json").exists()


def test_a_job_that_tries_to_kill_its_server_fails_cleanly_and_the_next_is_served(
    engine: docker.DockerClient, workspace: DockerWorkspace, reuse_pool: ContainerPool
) -> None:
    """PID 1 of its PID namespace, the server ignores what a job of the same uid may send it (signals it has no
    handler for, SIGINT ignored); a job that stops the run all the same fails cleanly, and the next runs clean."""
    reusing = used_runner(workspace, reuse_pool)
    slot = ready_slot(reuse_pool)
    killer = workspace.strategy(
        "Killer",
        """
        import signal
        report["sent"] = []
        for pid in (1, os.getppid()):
            for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL):
                try:
                    os.kill(pid, number)
                    report["sent"].append([pid, int(number)])
                except OSError as exc:
                    report["sent"].append([pid, type(exc).__name__])
""",
    )
    job = workspace.job(f"killer-{uuid.uuid4().hex[:6]}", strategy_name=killer)
    outcome = run_in_docker(reusing, job)
    assert not outcome.succeeded
    assert probed(job, outcome)["sent"]  # it sent them, and got on to stop the run itself

    finder = workspace.strategy("Finder", FINDER)
    after = workspace.job(f"after-kill-{uuid.uuid4().hex[:6]}", strategy_name=finder)
    found = probed(after, run_in_docker(reusing, after))
    the_only_processes_are_the_server_s(found)
    assert ready_slot(reuse_pool).container_id == slot.container_id  # the server survived: the same container


def test_a_reused_container_whose_server_died_fails_the_job_and_is_replaced(
    engine: docker.DockerClient, workspace: DockerWorkspace, reuse_pool: ContainerPool
) -> None:
    """The container ends during a job (its server killed from outside: what a job could do no other way): the
    job fails as in a cold container that died, the container is removed, the next job gets a fresh one."""
    reusing = used_runner(workspace, reuse_pool)
    slot = ready_slot(reuse_pool)
    sleeper = workspace.strategy("Sleeper", "        time.sleep(60)", "import time")
    job = workspace.job(f"server-dies-{uuid.uuid4().hex[:6]}", strategy_name=sleeper)
    beats: list[None] = []

    def heartbeat() -> None:
        beats.append(None)
        if len(beats) == 2:
            engine.api.kill(slot.container_id)

    outcome = reusing.run(job, should_cancel=lambda: False, on_poll=heartbeat, poll_seconds=0.5)

    assert not outcome.succeeded
    assert outcome.exit_code == 137
    assert not outcome.out_of_memory
    assert outcome.seconds < 30
    assert not exists(engine, slot.container_id)
    assert not slot.folder.exists()
    fresh = ready_slot(reuse_pool)
    assert fresh.container_id != slot.container_id
    assert fresh.jobs == 0


@pytest.mark.parametrize("ending", ["timeout", "cancel"])
def test_a_timeout_or_cancel_in_a_reused_container_replaces_it(
    engine: docker.DockerClient, workspace: DockerWorkspace, reuse_pool: ContainerPool, ending: str
) -> None:
    reusing = used_runner(workspace, reuse_pool)
    slot = ready_slot(reuse_pool)
    sleeper = workspace.strategy("Sleeper", "        time.sleep(60)", "import time")
    job = workspace.job(f"{ending}-{uuid.uuid4().hex[:6]}", strategy_name=sleeper, timeout_seconds=3)
    outcome = run_in_docker(reusing, job, cancel_after=2 if ending == "cancel" else None)
    assert outcome.timed_out == (ending == "timeout")
    assert outcome.cancelled == (ending == "cancel")
    assert outcome.exit_code is None
    assert not exists(engine, slot.container_id)
    assert ready_slot(reuse_pool).container_id != slot.container_id


def test_an_out_of_memory_job_in_a_reused_container_is_resource_limit_and_the_next_runs_clean(
    engine: docker.DockerClient, workspace: DockerWorkspace, reuse_pool: ContainerPool
) -> None:
    """The container's OOM killer takes the job's child (it asked to be first), not the server: the job ends out of
    memory (``resource_limit``), the container is clean and serves the next job."""
    limits = {"memory_mb": 900}
    reusing = used_runner(workspace, reuse_pool, **limits)
    slot = ready_slot(reuse_pool)
    hog = workspace.strategy(
        "Hog", "        hog = [bytearray(b'x') * (1 << 20) for _ in range(4096)]\n        report['size'] = len(hog)"
    )
    job = workspace.job(f"hog-{uuid.uuid4().hex[:6]}", strategy_name=hog, **limits)
    outcome = run_in_docker(reusing, job)
    assert not outcome.succeeded
    assert outcome.out_of_memory, outcome.log_tail
    assert "out of memory (limit 900 MiB)" in outcome.log_tail
    assert failure_of(outcome, job)[0] == "resource_limit"

    normal = workspace.job(f"after-hog-{uuid.uuid4().hex[:6]}", **limits)
    after = run_in_docker(reusing, normal)
    assert after.succeeded, after.log_tail
    assert rsi_dip_buyer_stats(normal.results_dir)["total_trades"] > 0
    assert ready_slot(reuse_pool).container_id == slot.container_id  # the server survived: the same container
    reuse_pool.close()  # the next tests' containers have the default limits
