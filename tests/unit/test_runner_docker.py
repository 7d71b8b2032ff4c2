"""DockerRunner against a fake Docker Engine API, through the real docker-py client.

A small HTTP server answers the endpoints docker-py calls (version, image inspect and pull,
create/start/wait/logs/kill/remove) and records every request: the exact request bodies and the
engine's failure modes, fast. tests/docker runs the runner on a real engine. The client is
a real ``docker.DockerClient`` with a fixed API version (no negotiation request).
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
import requests

from gentrade.freqtrade import pool_entry
from gentrade.freqtrade.forkserver import WARM_MODULES
from gentrade.freqtrade.jobs import BacktestJob, RunnerProblem
from gentrade.freqtrade.market_list import market_list_file
from gentrade.freqtrade.runners import DockerRunner, LocalRunner, build_runner
from gentrade.freqtrade.runners.docker import POOL_ENTRY_SOURCE, PROGRESS_SOURCE, EngineUnsupported
from gentrade.freqtrade.runners.docker_pool import ContainerPool, PoolShape
from gentrade.freqtrade.userdir import USER_DATA_SUBDIRS
from tests.fake_docker_engine import API, IMAGE, LOG_LINES, FakeContainer, FakeEngine, Request

HOST_DATA = "/srv/gentrade/data"


@pytest.fixture
def fake_engine() -> Iterator[FakeEngine]:
    fake = FakeEngine()
    thread = threading.Thread(target=fake.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    threading.Thread(target=fake.tick_forever, daemon=True).start()
    yield fake
    fake.stopped.set()
    for container in fake.containers.values():
        container.removed.set()
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def docker_client(fake_engine: FakeEngine) -> Iterator[docker.DockerClient]:
    value = docker.DockerClient(base_url=fake_engine.url, version=API, timeout=10)
    yield value
    value.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def make_job(data_dir: Path, **changes: Any) -> BacktestJob:
    backtest_id = uuid.UUID("11111111-2222-3333-4444-555555555555")
    user_data = data_dir / "ft_userdata" / "user_alice" / "user_data"
    results = user_data / "backtest_results" / str(backtest_id)
    values: dict[str, Any] = {
        "backtest_id": backtest_id,
        "strategy_name": "RsiDipBuyer",
        "user_data_dir": user_data,
        "config_files": (user_data / "config.json", results / "overrides.json"),
        "datadir": data_dir / "market" / "binance",
        "results_dir": results,
        "timerange": "20260701-20260901",
        "timeframe": "1h",
        "pairs": ("BTC/USDT", "ETH/USDT"),
        "timeout_seconds": 30,
        "memory_mb": 2048,
        "cpus": 1.5,
    }
    values.update(changes)
    market_list = market_list_file(values["datadir"])
    market_list.parent.mkdir(parents=True, exist_ok=True)
    market_list.write_text('{"symbols": []}')
    return BacktestJob(**values)


@dataclass
class RunCalls:
    heartbeats: int = 0
    cancel_after: int | None = None  # heartbeats before should_cancel turns True

    def heartbeat(self) -> None:
        self.heartbeats += 1

    def should_cancel(self) -> bool:
        return self.cancel_after is not None and self.heartbeats >= self.cancel_after


def run_on_fake_engine(
    runner: DockerRunner, job: BacktestJob, calls: RunCalls | None = None, poll: float = 0.05
) -> Any:
    calls = calls or RunCalls()
    return runner.run(job, should_cancel=calls.should_cancel, on_poll=calls.heartbeat, poll_seconds=poll)


def runner_for(docker_client: Any, data_dir: Path, **options: Any) -> DockerRunner:
    return DockerRunner(docker_client, IMAGE, data_dir, HOST_DATA, user="10001:10001", **options)


def assert_removed(fake_engine: FakeEngine) -> None:
    deletes = fake_engine.calls("DELETE")
    assert len(deletes) == 1
    assert deletes[0].query.get("force") == ["True"]
    assert fake_engine.containers == {}


def test_create_body_and_removal_after_success(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path
) -> None:
    fake_engine.run_seconds = 0.3
    job = make_job(data_dir)
    calls = RunCalls()
    outcome = run_on_fake_engine(runner_for(docker_client, data_dir), job, calls)

    assert outcome.succeeded
    assert outcome.exit_code == 0
    assert not outcome.timed_out
    assert not outcome.cancelled
    assert calls.heartbeats >= 2  # wait() timed out at least twice before the exit
    assert job.results_dir.is_dir()  # created by the worker, not by the daemon as root

    [create] = fake_engine.creates()
    assert create.query["name"] == [f"gentrade-backtest-{job.backtest_id}"]
    body = create.body
    results = f"/freqtrade/user_data/backtest_results/{job.backtest_id}"
    assert body["Image"] == IMAGE
    assert body["Entrypoint"][:2] == ["/bin/sh", "-c"]
    assert "--directory /freqtrade/market_data/.exchange 8765" in body["Entrypoint"][2]
    assert body["Entrypoint"][2].endswith('exec "$@"')
    assert body["Cmd"] == [
        "freqtrade",
        "backtesting",
        "--config", "/freqtrade/user_data/config.json",
        "--config", f"{results}/overrides.json",
        "--config", f"{results}/container-exchange.json",
        "--userdir", "/freqtrade/user_data",
        "--datadir", "/freqtrade/market_data",
        "--strategy", "RsiDipBuyer",
        "--timeframe", "1h",
        "--timerange", "20260701-20260901",
        "--cache", "none",
        "--export", "trades",
        "--backtest-directory", results,
    ]  # fmt: skip
    network_config = json.loads((job.results_dir / "container-exchange.json").read_text())
    assert network_config["exchange"]["ccxt_config"]["urls"]["api"]["public"] == "http://127.0.0.1:8765/api/v3"
    assert body["Env"] == ["HOME=/tmp"]  # nothing of the worker's: a writable home only
    assert body["User"] == "10001:10001"
    assert body["WorkingDir"] == "/freqtrade"
    assert body["Labels"] == {"gentrade.backtest": str(job.backtest_id)}
    host = body["HostConfig"]
    assert host["NetworkMode"] == "none"
    assert host["Memory"] == 2048 * 1024 * 1024
    assert host["MemorySwap"] == 2048 * 1024 * 1024
    assert host["NanoCpus"] == 1_500_000_000
    assert host["PidsLimit"] == 256
    assert host["ReadonlyRootfs"] is True
    assert set(host["Tmpfs"]) == {"/tmp"}
    assert host["CapDrop"] == ["ALL"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert not host.get("Binds")
    assert not host.get("Privileged")
    assert sorted(host["Mounts"], key=lambda m: m["Target"]) == [
        {"Target": "/freqtrade/market_data", "Source": f"{HOST_DATA}/market/binance", "Type": "bind", "ReadOnly": True},
        {
            "Target": "/freqtrade/user_data",
            "Source": f"{HOST_DATA}/ft_userdata/user_alice/user_data",
            "Type": "bind",
            "ReadOnly": False,
        },
    ]

    assert fake_engine.calls("POST", "/start")
    assert not fake_engine.calls("POST", "/kill")
    [logs] = fake_engine.calls("GET", "/logs")
    assert logs.query["tail"] == ["60"]
    assert outcome.log_tail.splitlines() == LOG_LINES[-60:]
    assert_removed(fake_engine)


def test_failed_run_reports_exit_code_and_is_removed(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path
) -> None:
    fake_engine.exit_code = 2
    outcome = run_on_fake_engine(runner_for(docker_client, data_dir), make_job(data_dir))

    assert outcome.exit_code == 2
    assert not outcome.succeeded
    assert not outcome.timed_out
    assert "line 79" in outcome.log_tail
    assert not fake_engine.calls("POST", "/kill")
    assert_removed(fake_engine)


def test_out_of_memory_is_named(fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path) -> None:
    fake_engine.exit_code, fake_engine.oom_killed = 137, True
    outcome = run_on_fake_engine(runner_for(docker_client, data_dir), make_job(data_dir, memory_mb=512))

    assert outcome.exit_code == 137
    assert outcome.out_of_memory
    assert "out of memory (limit 512 MiB)" in outcome.log_tail
    assert_removed(fake_engine)


def test_timeout_kills_and_removes(fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path) -> None:
    fake_engine.run_seconds = None
    started = time.monotonic()
    outcome = run_on_fake_engine(runner_for(docker_client, data_dir), make_job(data_dir, timeout_seconds=1))

    assert 1 <= time.monotonic() - started < 5
    assert outcome.timed_out
    assert not outcome.cancelled
    assert outcome.exit_code is None
    assert "timeout of 1 s reached" in outcome.log_tail
    assert len(fake_engine.calls("POST", "/kill")) == 1
    assert_removed(fake_engine)


def test_cancel_kills_and_removes(fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path) -> None:
    fake_engine.run_seconds = None
    calls = RunCalls(cancel_after=1)
    started = time.monotonic()
    outcome = run_on_fake_engine(runner_for(docker_client, data_dir), make_job(data_dir), calls)

    assert time.monotonic() - started < 2
    assert outcome.cancelled
    assert not outcome.timed_out
    assert outcome.exit_code is None
    assert calls.heartbeats == 1
    assert len(fake_engine.calls("POST", "/kill")) == 1
    assert_removed(fake_engine)


def test_an_exception_in_heartbeat_still_removes_the_container(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path
) -> None:
    fake_engine.run_seconds = None

    def heartbeat() -> None:
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError, match="database gone"):
        runner_for(docker_client, data_dir).run(
            make_job(data_dir), should_cancel=lambda: False, on_poll=heartbeat, poll_seconds=0.05
        )
    assert_removed(fake_engine)


def test_engine_gone_mid_run_raises_instead_of_polling_forever(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path
) -> None:
    fake_engine.run_seconds = None
    calls = RunCalls()

    def heartbeat() -> None:
        calls.heartbeat()
        fake_engine.down = True

    started = time.monotonic()
    with pytest.raises(requests.exceptions.ConnectionError):
        runner_for(docker_client, data_dir).run(
            make_job(data_dir), should_cancel=lambda: False, on_poll=heartbeat, poll_seconds=0.05
        )
    assert time.monotonic() - started < 5


def test_leftover_container_of_the_same_backtest_is_replaced(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path
) -> None:
    job = make_job(data_dir)
    stale = fake_engine.add(f"gentrade-backtest-{job.backtest_id}", {"gentrade.backtest": str(job.backtest_id)})
    stale.started_at, stale.run_seconds = time.monotonic(), None  # still running: a crashed worker's

    outcome = run_on_fake_engine(runner_for(docker_client, data_dir), job)

    assert outcome.succeeded
    assert len(fake_engine.creates()) == 2  # 409, then again after removing the leftover
    deletes = fake_engine.calls("DELETE")
    assert len(deletes) == 2
    assert deletes[0].path == f"/containers/{stale.id}"  # the leftover first, then the new one
    assert fake_engine.containers == {}


def test_foreign_container_with_the_name_is_left_alone(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path
) -> None:
    job = make_job(data_dir)
    fake_engine.add(f"gentrade-backtest-{job.backtest_id}", {"something": "else"})

    with pytest.raises(RuntimeError, match="not this backtest's"):
        run_on_fake_engine(runner_for(docker_client, data_dir), job)
    assert not fake_engine.calls("DELETE")
    assert len(fake_engine.containers) == 1


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param(lambda d, j: {"config_files": (*j.config_files, d.parent / "elsewhere.json")}, id="config"),
        pytest.param(lambda d, j: {"config_files": (Path("/etc/passwd"),)}, id="absolute-config"),
        pytest.param(lambda d, j: {"config_files": (j.user_data_dir / ".." / ".." / "x.json",)}, id="dotdot-config"),
        pytest.param(lambda d, j: {"datadir": d.parent / "market"}, id="datadir-outside-data-dir"),
        pytest.param(lambda d, j: {"user_data_dir": d.parent / "ud"}, id="userdir-outside-data-dir"),
        pytest.param(lambda d, j: {"results_dir": d / "market" / "binance" / "r"}, id="results-in-market"),
        pytest.param(lambda d, j: {"results_dir": d / "other"}, id="results-outside-user-data"),
        pytest.param(lambda d, j: {"user_data_dir": j.datadir / "ud"}, id="userdir-inside-market"),
    ],
)
def test_paths_outside_the_mounts_are_refused_before_any_request(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path, changes: Any
) -> None:
    base = make_job(data_dir)
    job = make_job(data_dir, **changes(data_dir, base))

    with pytest.raises(ValueError, match=r"outside|inside"):
        run_on_fake_engine(runner_for(docker_client, data_dir), job)
    assert fake_engine.requests == []


def test_a_symlink_out_of_user_data_is_refused(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path, tmp_path: Path
) -> None:
    job = make_job(data_dir)
    job.user_data_dir.mkdir(parents=True)
    (tmp_path / "secrets").mkdir()
    (job.user_data_dir / "link").symlink_to(tmp_path / "secrets", target_is_directory=True)

    with pytest.raises(ValueError, match="outside"):
        run_on_fake_engine(
            runner_for(docker_client, data_dir),
            make_job(data_dir, config_files=(job.user_data_dir / "link" / "c.json",)),
        )
    assert fake_engine.requests == []


def test_a_container_that_fails_to_start_is_removed(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path
) -> None:
    fake_engine.fail_start = True

    with pytest.raises(docker.errors.APIError, match="OCI runtime create failed"):
        run_on_fake_engine(runner_for(docker_client, data_dir), make_job(data_dir))
    assert_removed(fake_engine)


def test_named_volume_mounts_use_subpaths(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path
) -> None:
    runner = DockerRunner(docker_client, IMAGE, data_dir, data_volume="gentrade-data")
    outcome = run_on_fake_engine(runner, make_job(data_dir))

    assert outcome.succeeded
    host = fake_engine.creates()[0].body["HostConfig"]
    mounts = {m["Target"]: m for m in host["Mounts"]}
    assert mounts["/freqtrade/user_data"]["Type"] == "volume"
    assert mounts["/freqtrade/user_data"]["Source"] == "gentrade-data"
    assert mounts["/freqtrade/user_data"]["VolumeOptions"] == {"Subpath": "ft_userdata/user_alice/user_data"}
    assert mounts["/freqtrade/user_data"]["ReadOnly"] is False
    assert mounts["/freqtrade/market_data"]["VolumeOptions"] == {"Subpath": "market/binance"}
    assert mounts["/freqtrade/market_data"]["ReadOnly"] is True


def test_default_user_and_host_dir_and_client_factory(fake_engine: FakeEngine, data_dir: Path) -> None:
    made: list[docker.DockerClient] = []

    def factory() -> docker.DockerClient:
        made.append(docker.DockerClient(base_url=fake_engine.url, version=API))
        return made[-1]

    runner = DockerRunner(factory, IMAGE, data_dir)
    assert run_on_fake_engine(runner, make_job(data_dir)).succeeded
    assert run_on_fake_engine(runner, make_job(data_dir)).succeeded

    assert len(made) == 2  # one client per run
    body = fake_engine.creates()[0].body
    assert body["User"] == f"{os.getuid()}:{os.getgid()}"
    sources = {m["Source"] for m in body["HostConfig"]["Mounts"]}
    assert sources == {
        str(data_dir.resolve() / "ft_userdata/user_alice/user_data"),
        str(data_dir.resolve() / "market/binance"),
    }


def test_build_runner(data_dir: Path, docker_client: docker.DockerClient) -> None:
    assert isinstance(build_runner("local"), LocalRunner)
    runner = build_runner("docker", client=docker_client, image=IMAGE, data_dir=data_dir, host_data_dir=HOST_DATA)
    assert isinstance(runner, DockerRunner)
    assert runner.image == IMAGE
    with pytest.raises(ValueError, match="unknown Freqtrade runner"):
        build_runner("kubernetes")


def test_an_official_layout_image_gets_its_user_base(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path
) -> None:
    """Freqtrade installed with ``pip --user`` for the image's user: run as the worker's uid, Python must
    still find it, so the container gets that user's ``PYTHONUSERBASE`` (read off the image's PATH)."""
    fake_engine.images[IMAGE] = ["PATH=/home/ftuser/.local/bin:/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"]
    assert run_on_fake_engine(runner_for(docker_client, data_dir), make_job(data_dir)).succeeded
    [create] = fake_engine.creates()
    assert sorted(create.body["Env"]) == ["HOME=/tmp", "PYTHONUSERBASE=/home/ftuser/.local"]


def test_a_missing_image_that_cannot_be_pulled_is_image_missing(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path
) -> None:
    fake_engine.images.clear()
    with pytest.raises(RunnerProblem) as raised:
        run_on_fake_engine(runner_for(docker_client, data_dir), make_job(data_dir))
    assert raised.value.code == "image_missing"
    assert IMAGE in raised.value.message
    assert "make docker-images" in raised.value.message
    assert not fake_engine.creates()


def test_the_engine_check_refuses_engines_too_old(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path
) -> None:
    assert runner_for(docker_client, data_dir).check_engine() == API
    fake_engine.api_version = "1.40"
    with pytest.raises(EngineUnsupported, match=r"API 1\.40; the runner needs 1\.41"):
        runner_for(docker_client, data_dir).check_engine()
    fake_engine.api_version = "1.44"  # volume subpaths are ignored before 1.45: the whole volume would be mounted
    volume_runner = DockerRunner(docker_client, IMAGE, data_dir, data_volume="gentrade-data", user="10001:10001")
    with pytest.raises(EngineUnsupported, match="volume subpaths"):
        volume_runner.check_engine()


# --- the pool of pre-started containers (single-use: container_jobs=1, the runner's default) ---------------------


@pytest.fixture
def pool() -> Iterator[ContainerPool]:
    value = ContainerPool()
    yield value
    value.close()


def pooled_runner(docker_client: Any, data_dir: Path, pool: ContainerPool, **options: Any) -> DockerRunner:
    """Bind mounts from the worker's own paths (the fake engine finds each container's job folder by them)."""
    return DockerRunner(docker_client, IMAGE, data_dir, user="10001:10001", pool_size=1, pool=pool, **options)


def user_files(job: BacktestJob) -> BacktestJob:
    """The user's folder as the worker keeps it: configs, two strategies, an earlier backtest's results;
    and another user's folder beside it."""
    strategies = job.user_data_dir / "strategies"
    strategies.mkdir(parents=True, exist_ok=True)
    (strategies / "RsiDipBuyer.py").write_text("class RsiDipBuyer: ...\n")
    (strategies / "Other.py").write_text("class Other: ...\n")
    (job.user_data_dir / "config.json").write_text('{"base": true}')
    job.results_dir.mkdir(parents=True, exist_ok=True)
    (job.results_dir / "overrides.json").write_text('{"overrides": true}')
    earlier = job.user_data_dir / "backtest_results" / "earlier"
    earlier.mkdir(parents=True, exist_ok=True)
    (earlier / "result.zip").write_text("earlier")
    bob = job.user_data_dir.parents[1] / "user_bob" / "user_data"
    (bob / "strategies").mkdir(parents=True, exist_ok=True)
    (bob / "strategies" / "Secret.py").write_text("bob's\n")
    return job


def freqtrade_writes(container: FakeContainer) -> None:
    """What Freqtrade writes in a pooled container's results folder: results, progress, and (the strategy's
    doing) a link out."""
    assert container.job_folder is not None
    request = json.loads((container.job_folder / "request.json").read_text())
    results = container.job_folder / Path(request["progress"]).relative_to("/freqtrade/user_data")
    (results / "backtest-result-2026.zip").write_text("result")
    (results / ".last_result.json").write_text('{"latest_backtest": "backtest-result-2026.zip"}')
    (results / ".progress.json").write_text('{"progress": 0.5}')
    (results / "overrides.json").write_text('{"changed": "by the strategy"}')
    (results / "link").symlink_to("/etc/passwd")


def pool_creates(fake_engine: FakeEngine) -> list[Request]:
    return [r for r in fake_engine.creates() if r.query["name"][0].startswith("gentrade-pool-")]


def test_a_pooled_container_is_locked_down_like_a_cold_one_and_mounts_no_user_folder(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path, pool: ContainerPool
) -> None:
    job = make_job(data_dir)
    run_on_fake_engine(runner_for(docker_client, data_dir), job)  # a cold one, to compare with
    [cold] = fake_engine.creates()
    runner = pooled_runner(docker_client, data_dir, pool)

    runner.prestart(job.datadir, job.memory_mb, job.cpus)
    assert pool.wait_ready(10)

    [create] = pool_creates(fake_engine)
    [slot] = pool.idle()
    body = create.body
    assert create.query["name"] == [f"gentrade-pool-{slot.name}"]
    assert slot.folder == data_dir.resolve() / "docker-pool" / slot.name
    assert body["Entrypoint"] == ["python3", "-c", POOL_ENTRY_SOURCE]
    assert body["Cmd"] == [PROGRESS_SOURCE, "/freqtrade/market_data/.exchange", "/freqtrade/user_data", "8765"]
    assert sorted(body["HostConfig"]["Mounts"], key=lambda m: m["Target"]) == [
        {"Target": "/freqtrade/market_data", "Source": str(job.datadir.resolve()), "Type": "bind", "ReadOnly": True},
        {"Target": "/freqtrade/user_data", "Source": str(slot.user_data), "Type": "bind", "ReadOnly": False},
    ]
    host = body["HostConfig"]
    assert host["CpuShares"] == 2  # while it waits: its warm-up yields to running backtests
    assert host["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "1m", "max-file": "1"}}  # its reports
    without = {key: value for key, value in host.items() if key not in ("Mounts", "CpuShares", "LogConfig")}
    assert without == {key: value for key, value in cold.body["HostConfig"].items() if key != "Mounts"}
    for key in ("Env", "User", "WorkingDir", "NetworkDisabled"):
        assert body.get(key) == cold.body.get(key)
    assert body["Labels"] == {
        "gentrade.pool": str(data_dir.resolve() / "docker-pool"),
        "gentrade.pool.image": fake_engine.image_ids[IMAGE],
        "gentrade.pool.shape": runner.shape_hash(slot_shape(runner, job)),
        "gentrade.pool.slot": slot.name,
    }
    assert sorted(path.name for path in slot.user_data.iterdir()) == sorted([".ready", *USER_DATA_SUBDIRS])
    assert (slot.folder / "lease").is_file()  # beside the mounted folder, out of the container's reach


def slot_shape(runner: DockerRunner, job: BacktestJob) -> PoolShape:
    return PoolShape(engine_image_id(runner), (("HOME", "/tmp"),), job.datadir.resolve(), job.memory_mb, job.cpus)


def engine_image_id(runner: DockerRunner) -> str:
    docker_client, _ = runner.pool_client()
    return str(docker_client.images.get(IMAGE).id)


def test_a_pooled_run_hands_over_only_the_job_and_takes_the_results_back(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path, pool: ContainerPool
) -> None:
    fake_engine.run_seconds, fake_engine.on_job = 0.3, freqtrade_writes
    job = user_files(make_job(data_dir))
    runner = pooled_runner(docker_client, data_dir, pool)
    runner.prestart(job.datadir, job.memory_mb, job.cpus)
    assert pool.wait_ready(10)
    [slot] = pool.idle()
    staged: dict[str, str] = {}

    def progress(value: float) -> None:  # while it runs: what the container was given
        staged.update(
            (str(path.relative_to(slot.user_data)), path.read_text())
            for path in slot.user_data.rglob("*")
            if path.is_file() and not path.is_symlink()
        )
        reported.append(value)

    reported: list[float] = []
    outcome = runner.run(job, should_cancel=lambda: False, on_poll=lambda: None, poll_seconds=0.05, progress=progress)

    assert outcome.succeeded
    assert reported
    assert reported[-1] == 0.5
    results = f"backtest_results/{job.backtest_id}"
    assert sorted(staged) == sorted([
        ".ready", "config.json", "strategies/RsiDipBuyer.py",
        f"{results}/overrides.json", f"{results}/container-exchange.json",
        f"{results}/backtest-result-2026.zip", f"{results}/.last_result.json", f"{results}/.progress.json",
    ])  # fmt: skip
    updates = fake_engine.calls("POST", f"/containers/{slot.container_id}/update")
    assert [u.body for u in updates] == [{"CpuShares": 1024}]  # a backtest's weight, as a cold container's
    order = [
        r.path.rsplit("/", 1)[-1]
        for r in fake_engine.requests
        if r.path.startswith(f"/containers/{slot.container_id}/")
    ]
    assert order.index("update") < order.index("logs")  # before the request, so before the job
    [request] = fake_engine.containers_seen[slot.container_id].requests_seen
    cold_command = runner.container_options(job)["command"]
    assert request == {"args": cold_command[1:], "progress": f"/freqtrade/user_data/{results}"}
    # the pooled container was renamed after its backtest, used, and removed
    renames = fake_engine.calls("POST", "/rename")
    assert [r.query["name"] for r in renames] == [[f"gentrade-backtest-{job.backtest_id}"]]
    assert renames[0].path == f"/containers/{slot.container_id}/rename"
    assert fake_engine.calls("DELETE")[0].path == f"/containers/{slot.container_id}"
    assert not slot.folder.exists()
    # the results are the user's; a link the strategy made and the worker's own inputs are not taken
    assert sorted(path.name for path in job.results_dir.iterdir()) == sorted([
        "overrides.json", "container-exchange.json", "backtest-result-2026.zip", ".last_result.json", ".progress.json",
    ])  # fmt: skip
    assert (job.results_dir / "overrides.json").read_text() == '{"overrides": true}'
    assert (job.results_dir / "backtest-result-2026.zip").read_text() == "result"
    # a replacement waits for the next job
    assert pool.wait_ready(10)
    [replacement] = pool.idle()
    assert replacement.container_id != slot.container_id
    assert len(pool_creates(fake_engine)) == 2


def test_a_pooled_container_runs_one_job_only(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path, pool: ContainerPool
) -> None:
    runner = pooled_runner(docker_client, data_dir, pool)
    used = []
    for _ in range(3):
        job = make_job(data_dir, backtest_id=uuid.uuid4())
        assert pool.wait_ready(10)
        used += [slot.container_id for slot in pool.idle()]
        assert run_on_fake_engine(runner, job).succeeded
    assert pool.wait_ready(10)
    assert len(used) == 2  # the first job found no pool yet: it made its own container
    assert len(set(used)) == 2
    assert len(pool_creates(fake_engine)) == 4  # three jobs, one replacement waiting
    assert len(fake_engine.containers) == 1
    assert all(len(fake_engine.calls("DELETE", f"/containers/{c}")) == 1 for c in used)


def test_an_idle_container_of_another_image_or_settings_is_replaced(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path, pool: ContainerPool
) -> None:
    runner = pooled_runner(docker_client, data_dir, pool)
    job = make_job(data_dir)
    runner.prestart(job.datadir, job.memory_mb, job.cpus)
    assert pool.wait_ready(10)
    [old] = pool.idle()

    fake_engine.image_ids[IMAGE] = "sha256:" + "1" * 64  # the tag was rebuilt
    assert run_on_fake_engine(runner, job).succeeded

    assert len(fake_engine.calls("DELETE", f"/containers/{old.container_id}")) == 1
    assert not fake_engine.calls("POST", f"/containers/{old.container_id}/rename")
    assert pool.wait_ready(10)
    [_, used, _] = pool_creates(fake_engine)  # the old one, the job's (made at once), the replacement
    assert used.body["Labels"]["gentrade.pool.image"] == "sha256:" + "1" * 64
    [current] = pool.idle()
    assert current.image_id == "sha256:" + "1" * 64
    other = make_job(data_dir, backtest_id=uuid.uuid4(), memory_mb=1024)  # the settings changed
    assert run_on_fake_engine(runner, other).succeeded
    assert len(fake_engine.calls("DELETE", f"/containers/{current.container_id}")) == 1
    assert pool.wait_ready(10)
    assert [c.body["HostConfig"]["Memory"] // 2**20 for c in pool_creates(fake_engine)[-2:]] == [1024, 1024]


def test_an_idle_container_that_exited_is_replaced(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path, pool: ContainerPool
) -> None:
    runner = pooled_runner(docker_client, data_dir, pool)
    job = make_job(data_dir)
    runner.prestart(job.datadir, job.memory_mb, job.cpus)
    assert pool.wait_ready(10)
    [dead] = pool.idle()
    fake_engine.containers[dead.container_id].killed = True  # it died while it waited

    assert run_on_fake_engine(runner, job).succeeded
    assert len(fake_engine.calls("DELETE", f"/containers/{dead.container_id}")) == 1
    assert not dead.folder.exists()
    assert not fake_engine.calls("POST", f"/containers/{dead.container_id}/rename")


@pytest.mark.parametrize("container_jobs", [1, 5])
@pytest.mark.parametrize("ending", ["timeout", "cancel", "oom", "failed"])
def test_a_pooled_run_ends_as_a_cold_one(
    fake_engine: FakeEngine,
    docker_client: docker.DockerClient,
    data_dir: Path,
    pool: ContainerPool,
    ending: str,
    container_jobs: int,
) -> None:
    """Single-use or reusable: the same outcome. A reusable container whose server reported the end (a failure,
    out of memory) serves the next job; one killed (timeout, cancel) is replaced."""
    fake_engine.run_seconds = None if ending in ("timeout", "cancel") else 0.1
    fake_engine.exit_code, fake_engine.oom_killed = (
        (137, True) if ending == "oom" else (2, False) if ending == "failed" else (0, False)
    )
    runner = pooled_runner(docker_client, data_dir, pool, container_jobs=container_jobs)
    job = make_job(data_dir, timeout_seconds=1, memory_mb=512)
    outcome = run_on_fake_engine(runner, job, RunCalls(cancel_after=1 if ending == "cancel" else None))
    used = fake_engine.calls("POST", "/rename")[0].path.split("/")[2]  # the container named after the backtest
    kept = container_jobs > 1 and ending in ("oom", "failed")
    assert (used in fake_engine.containers) == kept
    assert (used in [slot.container_id for slot in pool.idle()]) == kept

    assert not outcome.succeeded
    assert outcome.timed_out == (ending == "timeout")
    assert outcome.cancelled == (ending == "cancel")
    note = {"timeout": "timeout of 1 s reached", "cancel": "cancelled", "oom": "out of memory (limit 512 MiB)"}
    if ending in note:
        assert f"[gentrade] killed: {note[ending]}" in outcome.log_tail
    assert outcome.exit_code == {"timeout": None, "cancel": None, "oom": 137, "failed": 2}[ending]
    assert len(fake_engine.calls("POST", "/kill")) == (1 if ending in ("timeout", "cancel") else 0)
    assert "line 79" in outcome.log_tail
    pool.close()
    assert fake_engine.containers == {}
    assert not (data_dir / "docker-pool").exists() or list((data_dir / "docker-pool").iterdir()) == []


def test_a_missing_image_is_image_missing_before_any_pooled_container(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path, pool: ContainerPool
) -> None:
    fake_engine.images.clear()
    with pytest.raises(RunnerProblem) as raised:
        run_on_fake_engine(pooled_runner(docker_client, data_dir, pool), make_job(data_dir))
    assert raised.value.code == "image_missing"
    assert not fake_engine.creates()


def test_a_leftover_named_after_the_backtest_is_replaced_by_the_pooled_one(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path, pool: ContainerPool
) -> None:
    """A worker that died while its pooled container ran this backtest: the next attempt removes that one."""
    job = make_job(data_dir)
    identity = str(data_dir.resolve() / "docker-pool")
    stale = fake_engine.add(f"gentrade-backtest-{job.backtest_id}", {"gentrade.pool": identity})
    stale.started_at, stale.run_seconds = time.monotonic(), None

    assert run_on_fake_engine(pooled_runner(docker_client, data_dir, pool), job).succeeded
    assert fake_engine.calls("DELETE")[0].path == f"/containers/{stale.id}"
    assert len(fake_engine.calls("POST", "/rename")) == 2  # 409, then again once the leftover is gone


def test_a_foreign_container_with_the_backtest_s_name_stops_a_pooled_run(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path, pool: ContainerPool
) -> None:
    job = make_job(data_dir)
    foreign = fake_engine.add(f"gentrade-backtest-{job.backtest_id}", {"gentrade.pool": "/another/data/docker-pool"})

    with pytest.raises(RuntimeError, match="not this backtest's"):
        run_on_fake_engine(pooled_runner(docker_client, data_dir, pool), job)
    assert foreign.id in fake_engine.containers
    assert pool.wait_ready(10)
    [replacement] = pool.idle()
    assert set(fake_engine.containers) == {foreign.id, replacement.container_id}  # the one it took went all the same


def test_only_the_job_s_own_files_are_staged_and_no_link_is_followed(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path, pool: ContainerPool
) -> None:
    """The strategy file is a link to another user's: nothing of it reaches the container."""
    job = user_files(make_job(data_dir))
    strategy = job.user_data_dir / "strategies" / "RsiDipBuyer.py"
    strategy.unlink()
    strategy.symlink_to(job.user_data_dir.parents[1] / "user_bob" / "user_data" / "strategies" / "Secret.py")
    (job.user_data_dir / "strategies" / "Other.py").unlink()
    fake_engine.run_seconds = 0.2
    seen: list[str] = []

    def look(container: FakeContainer) -> None:
        assert container.job_folder is not None
        seen.extend(p.read_text() for p in container.job_folder.rglob("*.py"))

    fake_engine.on_job = look
    assert run_on_fake_engine(pooled_runner(docker_client, data_dir, pool), job).succeeded
    assert seen == []


def test_job_folders_in_the_pool_s_folder_are_refused(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path, pool: ContainerPool
) -> None:
    inside = data_dir / "docker-pool" / ("a" * 32) / "user_data"
    with pytest.raises(ValueError, match="pool"):
        run_on_fake_engine(
            pooled_runner(docker_client, data_dir, pool),
            make_job(data_dir, user_data_dir=inside, results_dir=inside / "r"),
        )
    assert fake_engine.requests == []


def test_the_sweep_removes_what_stopped_workers_left_and_nothing_else(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path, pool: ContainerPool
) -> None:
    runner = pooled_runner(docker_client, data_dir, pool)
    identity = str(data_dir.resolve() / "docker-pool")

    def slot(name: str, lease_age: float | None, labels: dict[str, str] | None = None) -> FakeContainer:
        folder = data_dir / "docker-pool" / name
        (folder / "user_data").mkdir(parents=True)
        if lease_age is not None:
            (folder / "lease").touch()
            os.utime(folder / "lease", (time.time() - lease_age, time.time() - lease_age))
        return fake_engine.add(
            f"gentrade-pool-{name}", labels or {"gentrade.pool": identity, "gentrade.pool.slot": name}
        )

    dead = slot("a" * 32, lease_age=3600)
    alive = slot("b" * 32, lease_age=1)
    mine = slot("c" * 32, lease_age=3600)  # this process's own: never swept
    other_data = fake_engine.add(
        "gentrade-pool-other", {"gentrade.pool": "/other/docker-pool", "gentrade.pool.slot": "d" * 32}
    )
    no_lease = slot("e" * 32, lease_age=None)  # a folder just made, its lease not yet
    stray = data_dir / "docker-pool" / ("f" * 32)  # a worker died before its container existed
    stray.mkdir()
    (stray / "lease").touch()
    os.utime(stray / "lease", (0, 0))
    os.utime(data_dir / "docker-pool" / ("e" * 32), (time.time(), time.time()))

    assert runner.sweep(docker_client, keep={"c" * 32}) == 1

    assert set(fake_engine.containers) == {alive.id, mine.id, other_data.id, no_lease.id}
    assert dead.id not in fake_engine.containers
    assert sorted(p.name for p in (data_dir / "docker-pool").iterdir()) == ["b" * 32, "c" * 32, "e" * 32]


def test_a_dead_owner_s_busy_container_is_swept_too(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path, pool: ContainerPool
) -> None:
    """Renamed after its backtest, it still carries its slot's labels: a stale lease removes it all the same."""
    runner = pooled_runner(docker_client, data_dir, pool)
    identity = str(data_dir.resolve() / "docker-pool")
    name = "a" * 32
    (data_dir / "docker-pool" / name).mkdir(parents=True)
    busy = fake_engine.add(f"gentrade-backtest-{uuid.uuid4()}", {"gentrade.pool": identity, "gentrade.pool.slot": name})
    busy.started_at, busy.run_seconds = time.monotonic(), None
    os.utime(data_dir / "docker-pool" / name, (0, 0))

    assert runner.sweep(docker_client, keep=set()) == 1
    assert fake_engine.containers == {}


def test_the_stale_time_follows_the_worker_s_but_has_a_floor(
    docker_client: docker.DockerClient, data_dir: Path
) -> None:
    assert DockerRunner(docker_client, IMAGE, data_dir).pool_stale_seconds == 60
    assert DockerRunner(docker_client, IMAGE, data_dir, pool_stale_seconds=300).pool_stale_seconds == 300
    assert DockerRunner(docker_client, IMAGE, data_dir, pool_stale_seconds=2).pool_stale_seconds == 20
    with pytest.raises(ValueError, match="pool_size"):
        DockerRunner(docker_client, IMAGE, data_dir, pool_size=-1)


def test_leases_are_touched_while_the_owner_lives(
    fake_engine: FakeEngine,
    docker_client: docker.DockerClient,
    data_dir: Path,
    pool: ContainerPool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("gentrade.freqtrade.runners.docker_pool.STALE_SECONDS", 1.0)  # touched every second
    runner = pooled_runner(docker_client, data_dir, pool, pool_stale_seconds=1.0)
    runner.prestart(make_job(data_dir).datadir, 2048, 1.5)
    assert pool.wait_ready(10)
    [slot] = pool.idle()
    os.utime(slot.folder / "lease", (0, 0))
    deadline = time.monotonic() + 5
    while (slot.folder / "lease").stat().st_mtime == 0:
        assert time.monotonic() < deadline, "the lease was not touched"
        time.sleep(0.05)


def test_close_removes_the_idle_containers_and_their_folders(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path, pool: ContainerPool
) -> None:
    runner = pooled_runner(docker_client, data_dir, pool)
    runner.prestart(make_job(data_dir).datadir, 2048, 1.5)
    assert pool.wait_ready(10)
    [slot] = pool.idle()

    pool.close()

    assert fake_engine.containers == {}
    assert not slot.folder.exists()
    assert pool.idle() == []


def test_a_forked_process_leaves_its_parent_s_containers_alone(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path, pool: ContainerPool
) -> None:
    """Celery's pool processes fork from the worker: a child makes its own containers, never uses or removes the
    parent's (its ``close`` does nothing to them either)."""
    runner = pooled_runner(docker_client, data_dir, pool)
    job = make_job(data_dir)
    runner.prestart(job.datadir, job.memory_mb, job.cpus)
    assert pool.wait_ready(10)
    [parents] = pool.idle()
    pool._owner = -1  # as seen from a forked child: the owner is another process

    assert run_on_fake_engine(runner, job).succeeded

    assert parents.container_id in fake_engine.containers
    assert not fake_engine.calls("POST", f"/containers/{parents.container_id}/rename")
    assert not fake_engine.calls("DELETE", f"/containers/{parents.container_id}")
    assert parents.folder.exists()


def test_a_pool_size_of_zero_runs_cold(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path
) -> None:
    runner = DockerRunner(docker_client, IMAGE, data_dir, pool_size=0, pool=ContainerPool())
    runner.prestart(make_job(data_dir).datadir, 2048, 1.0)  # nothing to start
    assert run_on_fake_engine(runner, make_job(data_dir)).succeeded
    assert [r.query["name"][0] for r in fake_engine.creates()] == [
        f"gentrade-backtest-{make_job(data_dir).backtest_id}"
    ]
    assert not (data_dir / "docker-pool").exists()


def test_the_entry_warms_what_the_fork_server_warms() -> None:
    """The pooled container imports what the local runner's fork server imports, the application's module aside
    (it is not in the image)."""
    assert tuple(m for m in WARM_MODULES if not m.startswith("gentrade.")) == pool_entry.WARM_MODULES


def test_the_replacement_starts_while_the_job_runs(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path, pool: ContainerPool
) -> None:
    """A worker with a queue: the next job finds a container that imported Freqtrade during this one."""
    fake_engine.run_seconds = 1.0
    runner = pooled_runner(docker_client, data_dir, pool)
    job = make_job(data_dir)
    runner.prestart(job.datadir, job.memory_mb, job.cpus)
    assert pool.wait_ready(10)
    [first] = pool.idle()
    idle_during: list[list[str]] = []

    def heartbeat() -> None:
        idle_during.append([slot.container_id for slot in pool.idle()])

    runner.run(job, should_cancel=lambda: False, on_poll=heartbeat, poll_seconds=0.1)

    waiting = [ids for ids in idle_during if ids]
    assert waiting, "no replacement while the job ran"
    assert first.container_id not in waiting[-1]


# --- reusable containers: the slot's life cycle ----------------------------------------------------------------------


def test_a_container_serves_its_jobs_then_is_replaced(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path, pool: ContainerPool
) -> None:
    """Three jobs in one container: between them it is renamed back, idle again and its folder empty; the third
    (its last) starts the replacement, and the container goes after it."""
    fake_engine.run_seconds, fake_engine.on_job = 0.1, freqtrade_writes
    runner = pooled_runner(docker_client, data_dir, pool, container_jobs=3)
    runner.prestart(make_job(data_dir).datadir, 2048, 1.5)
    assert pool.wait_ready(10)
    [slot] = pool.idle()
    container = fake_engine.containers[slot.container_id]
    for number in range(1, 4):
        job = user_files(make_job(data_dir, backtest_id=uuid.uuid4()))
        outcome = run_on_fake_engine(runner, job)
        assert outcome.succeeded
        assert "line 79" in outcome.log_tail  # the job's own log
        assert (job.results_dir / "backtest-result-2026.zip").read_text() == "result"
        assert len(container.requests_seen) == number
        if number < 3:
            assert [s.container_id for s in pool.idle()] == [slot.container_id]
            assert container.name == f"gentrade-pool-{slot.name}"
            assert container.body["HostConfig"]["CpuShares"] == 2
            assert sorted(p.name for p in slot.user_data.iterdir()) == sorted([".ready", *USER_DATA_SUBDIRS])
            assert len(pool_creates(fake_engine)) == 1  # no replacement while it has jobs left
    assert slot.container_id not in fake_engine.containers
    assert not slot.folder.exists()
    assert pool.wait_ready(10)
    [replacement] = pool.idle()
    assert replacement.container_id != slot.container_id
    assert replacement.jobs == 0
    assert len(pool_creates(fake_engine)) == 2
    renames = [r.query["name"][0] for r in fake_engine.calls("POST", f"/containers/{slot.container_id}/rename")]
    assert renames[:2] == [renames[0], f"gentrade-pool-{slot.name}"]
    assert len(renames) == 5  # named after each backtest, and back after the first two
    updates = [u.body["CpuShares"] for u in fake_engine.calls("POST", f"/containers/{slot.container_id}/update")]
    assert updates == [1024, 2, 1024, 2, 1024]


def test_a_container_that_dies_during_a_job_fails_it_and_is_replaced(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path, pool: ContainerPool
) -> None:
    fake_engine.run_seconds = None  # the job never ends on its own: its server dies

    def die(container: FakeContainer) -> None:
        container.killed = True

    fake_engine.on_job = die
    runner = pooled_runner(docker_client, data_dir, pool, container_jobs=5)
    runner.prestart(make_job(data_dir).datadir, 2048, 1.5)
    assert pool.wait_ready(10)
    [slot] = pool.idle()
    outcome = run_on_fake_engine(runner, make_job(data_dir))
    assert outcome.exit_code == 137
    assert not outcome.out_of_memory
    assert not outcome.timed_out
    assert "line 79" in outcome.log_tail  # no job log: the container's
    assert slot.container_id not in fake_engine.containers
    assert not slot.folder.exists()
    assert pool.wait_ready(10)
    [replacement] = pool.idle()
    assert replacement.container_id != slot.container_id


def test_a_container_left_unclean_is_not_reused(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path, pool: ContainerPool
) -> None:
    """The server could not empty its scratch space: the job's outcome stands, the container goes."""

    def unclean(container: FakeContainer) -> None:
        container.clean = False

    fake_engine.run_seconds, fake_engine.on_job = 0.05, unclean
    runner = pooled_runner(docker_client, data_dir, pool, container_jobs=5)
    runner.prestart(make_job(data_dir).datadir, 2048, 1.5)
    assert pool.wait_ready(10)
    [slot] = pool.idle()
    assert run_on_fake_engine(runner, make_job(data_dir)).succeeded
    assert slot.container_id not in fake_engine.containers
    assert pool.wait_ready(10)
    assert [s.container_id for s in pool.idle()] != [slot.container_id]


def test_a_forged_exit_hint_does_not_end_the_job(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path, pool: ContainerPool
) -> None:
    """The job writes the server's hint file itself: the worker asks the container's log, which has no report
    yet, and waits for the real end."""

    def forge(container: FakeContainer) -> None:
        assert container.job_folder is not None
        (container.job_folder / ".gentrade-exit").write_text("1")

    fake_engine.run_seconds, fake_engine.on_job = 0.6, forge
    runner = pooled_runner(docker_client, data_dir, pool, container_jobs=5)
    runner.prestart(make_job(data_dir).datadir, 2048, 1.5)
    assert pool.wait_ready(10)
    outcome = run_on_fake_engine(runner, make_job(data_dir), poll=0.2)
    assert outcome.succeeded
    assert outcome.seconds >= 0.6
    # the log is asked each poll and, once the hint changed, every 50 ms: no busy loop on a forged hint
    assert len(fake_engine.calls("GET", "/logs")) <= outcome.seconds / 0.05 + outcome.seconds / 0.2 + 2


def test_a_reusable_container_is_not_reused_by_another_shape(
    fake_engine: FakeEngine, docker_client: docker.DockerClient, data_dir: Path, pool: ContainerPool
) -> None:
    """A used container waits idle; a job with other settings removes it, as any idle container of another shape."""
    runner = pooled_runner(docker_client, data_dir, pool, container_jobs=5)
    assert run_on_fake_engine(runner, make_job(data_dir)).succeeded
    [used] = pool.idle()
    assert used.jobs == 1
    assert run_on_fake_engine(runner, make_job(data_dir, backtest_id=uuid.uuid4(), memory_mb=1024)).succeeded
    assert used.container_id not in fake_engine.containers


def test_container_jobs_must_be_one_or_more(docker_client: docker.DockerClient, data_dir: Path) -> None:
    with pytest.raises(ValueError, match="container_jobs"):
        DockerRunner(docker_client, IMAGE, data_dir, pool_size=1, container_jobs=0)


def test_the_entry_removes_what_a_job_left_without_following_links(tmp_path: Path) -> None:
    """What the server empties after a job (and the worker, the job folder): folders without any mode, links
    removed, never followed."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("not the job's")
    left = tmp_path / "left"
    (left / "locked" / "inner").mkdir(parents=True)
    (left / "locked" / "inner" / "file").write_text("x")
    (left / "link").symlink_to(outside)
    (left / "locked" / "link").symlink_to(outside / "keep.txt")
    (left / "locked" / "inner").chmod(0)
    (left / "locked").chmod(0)
    outside.chmod(0o755)

    pool_entry.remove(left)
    pool_entry.remove(tmp_path / "missing")

    assert not left.exists()
    assert (outside / "keep.txt").read_text() == "not the job's"
    assert oct(outside.stat().st_mode & 0o777) == oct(0o755)


def test_the_entry_reads_the_cgroup_s_oom_kills(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    v1 = tmp_path / "memory.oom_control"
    v1.write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")
    monkeypatch.setattr(pool_entry, "OOM_COUNTERS", (str(tmp_path / "memory.events"), str(v1)))
    assert pool_entry.oom_kills() == 3
    monkeypatch.setattr(pool_entry, "OOM_COUNTERS", (str(tmp_path / "none"),))
    assert pool_entry.oom_kills() == 0
