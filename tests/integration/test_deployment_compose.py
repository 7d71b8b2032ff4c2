"""The production deployment on the real engine: `docker-compose.yml` as a sysadmin runs it.

A folder like a sysadmin's: the project's `docker-compose.yml` unchanged, a `.env` with the secrets,
and a `docker-compose.override.yml` that adds the exchange stand-in (there is no exchange offline).
PostgreSQL and RabbitMQ come from the offline-built stand-in images (`POSTGRES_IMAGE`,
`RABBITMQ_IMAGE`); migrate, API, worker and beat from `gentrade-backend:local`. The worker runs each
backtest as a sibling Freqtrade container through the host's Docker socket
(`GENTRADE_FREQTRADE_RUNNER=docker`, set by the compose file). The demo's journey then runs over HTTP:
webhook, chat, two agent turns, deploy, a backtest to `finished`. Debian's `docker-compose` (1.29)
runs it; `make docker-images` installs it and builds the images.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from gentrade import demo, devkeys
from gentrade.freqtrade.runners.docker import LABEL
from gentrade.settings import DEFAULT_FREQTRADE_IMAGE
from tests.docker_engine import docker_unavailable, require_docker

ROOT = Path(__file__).resolve().parents[2]
BACKEND_IMAGE = "gentrade-backend:local"
POSTGRES_IMAGE = "gentrade/postgres-standin:15"
RABBITMQ_IMAGE = "gentrade/rabbitmq-standin:3.10"
SOCKET = Path("/var/run/docker.sock")
APP_UID = 10001  # the backend image's user (Dockerfile)
EXCHANGE_PORT = 8900
WORKER_METRICS_PORT = 9100  # docker-compose.yml
METRICS_TOKEN = secrets.token_hex(16)

# What a sysadmin adds for this offline host: the exchange stand-in, reachable as "exchange".
OVERRIDE = {
    "version": "3.8",
    "services": {
        "exchange": {
            "image": BACKEND_IMAGE,
            "command": ["python", "-m", "gentrade.exchange_sim", "--host", "0.0.0.0", "--port", str(EXCHANGE_PORT)],
            "healthcheck": {"disable": True},
        }
    },
}


@dataclass
class Deployment:
    base_url: str
    keys_dir: Path
    data_dir: Path
    compose: list[str]
    project: str

    def logs(self) -> str:
        result = subprocess.run(
            [*self.compose, "logs", "--no-color", "--tail", "40"], capture_output=True, text=True, check=False
        )
        return result.stdout[-12000:]

    def container(self, service: str) -> Any:
        return docker.from_env().containers.get(f"{self.project}_{service}_1")

    def health(self, service: str) -> str | None:
        """Docker's health status of the service's container (None: no health check)."""
        return self.container(service).attrs["State"].get("Health", {}).get("Status")

    def metrics(self, url: str) -> dict[str, float]:
        """A Prometheus scrape, with the metrics token, as {sample with labels: value}."""
        response = requests.get(url, headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10)
        assert response.status_code == 200, response.text
        return {
            family.name + "|" + sample.name + str(sorted(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples
        }


def env_file(keys_dir: Path, data_dir: Path, api_port: int) -> str:
    public_key = devkeys.public_key_pem(keys_dir).decode().strip().replace("\n", "\\n")
    values = {
        "POSTGRES_PASSWORD": secrets.token_hex(16),
        "RABBITMQ_PASSWORD": secrets.token_hex(16),
        "DOCKER_GID": str(SOCKET.stat().st_gid),
        "GENTRADE_HOST_DATA_DIR": str(data_dir),
        "API_PORT": str(api_port),
        "POSTGRES_IMAGE": POSTGRES_IMAGE,
        "RABBITMQ_IMAGE": RABBITMQ_IMAGE,
        "GENTRADE_CLERK_JWT_KEY": f'"{public_key}"',
        "GENTRADE_CLERK_WEBHOOK_SECRET": devkeys.webhook_secret(keys_dir),
        "GENTRADE_EXCHANGE_API_URL": f"http://exchange:{EXCHANGE_PORT}/api/v3",
        "GUNICORN_WORKERS": "2",
        "GENTRADE_METRICS_TOKEN": METRICS_TOKEN,
    }
    return "".join(f"{name}={value}\n" for name, value in values.items())


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    require_docker(DEFAULT_FREQTRADE_IMAGE, BACKEND_IMAGE, POSTGRES_IMAGE, RABBITMQ_IMAGE).close()
    executable = shutil.which("docker-compose")
    if executable is None:
        docker_unavailable("docker-compose is missing: `make docker-images` installs Debian's")
    if not SOCKET.is_socket():
        docker_unavailable(f"the worker needs the engine's socket at {SOCKET}")
    work = tmp_path_factory.mktemp("deployment")
    keys_dir, data_dir = work / "keys", work / "data"
    keys_dir.mkdir()
    data_dir.mkdir()
    if os.geteuid() == 0:
        os.chown(data_dir, APP_UID, APP_UID)
    else:
        data_dir.chmod(0o777)
    shutil.copy(ROOT / "docker-compose.yml", work / "docker-compose.yml")
    (work / "docker-compose.override.yml").write_text(json.dumps(OVERRIDE, indent=2))
    api_port = demo.free_port()
    (work / ".env").write_text(env_file(keys_dir, data_dir, api_port))
    project = f"gentradedeploy{secrets.token_hex(4)}"
    compose = [executable, "--project-directory", str(work), "--project-name", project, "--no-ansi"]
    deployment = Deployment(f"http://127.0.0.1:{api_port}", keys_dir, data_dir, compose, project)
    try:
        up = subprocess.run(
            [*compose, "up", "--detach", "--no-build"], cwd=work, capture_output=True, text=True, timeout=300
        )
        assert up.returncode == 0, f"docker-compose up failed:\n{up.stderr[-4000:]}\n{deployment.logs()}"
        assert demo.wait_until_ready(deployment.base_url, 120), f"the API never became ready:\n{deployment.logs()}"
        yield deployment
    finally:
        subprocess.run(
            [*compose, "down", "--volumes", "--remove-orphans", "--timeout", "20"],
            cwd=work, capture_output=True, timeout=180, check=False,
        )  # fmt: skip
        if os.geteuid() == 0:  # the containers' files belong to their users; the temp folder is ours
            shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def journey(deployment: Deployment) -> tuple[demo.Api, str]:
    """The demo's journey, once, over HTTP: the trader's client and Clerk id."""
    clerk_id = f"user_deploy{secrets.token_hex(4)}"
    api = demo.Api(deployment.base_url, devkeys.mint_token(deployment.keys_dir, clerk_id))
    try:
        demo.journey(api, deployment.keys_dir, clerk_id, deployment.base_url)
    except (demo.DemoFailed, requests.RequestException) as exc:
        pytest.fail(f"the journey failed: {exc}\n{deployment.logs()}")
    return api, clerk_id


def test_the_demo_journey_through_the_production_containers(
    deployment: Deployment, journey: tuple[demo.Api, str]
) -> None:
    api, clerk_id = journey
    backtests = api.call("GET", "/api/v1/backtests", 200)
    assert [b["status"] for b in backtests] == ["finished", "finished"]  # the draft's, then the coach's revision
    engine = docker.from_env()
    results = deployment.data_dir / "ft_userdata" / f"user_{clerk_id}" / "user_data" / "backtest_results"
    for backtest in backtests:
        # Each run was a sibling container of the worker's, gone now; its results are on the host's folder.
        assert engine.containers.list(all=True, filters={"label": f"{LABEL}={backtest['id']}"}) == []
        archives = list((results / backtest["id"]).glob("*.zip"))
        assert len(archives) == 1
        assert archives[0].stat().st_uid == APP_UID  # written by the Freqtrade container as the worker's user


def test_the_compose_health_checks_pass(deployment: Deployment) -> None:
    deadline = time.monotonic() + 60
    while {deployment.health("api"), deployment.health("worker")} != {"healthy"} and time.monotonic() < deadline:
        time.sleep(2)
    assert deployment.health("api") == "healthy", deployment.logs()  # /readyz
    assert deployment.health("worker") == "healthy", deployment.logs()  # the metrics server's /healthz
    assert deployment.health("postgres") == "healthy"
    assert deployment.health("rabbitmq") == "healthy"


@pytest.mark.usefixtures("journey")
def test_the_api_and_the_worker_serve_their_metrics(deployment: Deployment) -> None:
    """The API counted the journey's requests and turns, the worker its backtest (behind the token)."""
    api = deployment.metrics(f"{deployment.base_url}/metrics")
    assert api["gentrade_backtests|gentrade_backtests[('state', 'finished')]"] >= 1
    assert api["gentrade_agent_turns|gentrade_agent_turns_total[('outcome', 'completed')]"] >= 2
    created = "gentrade_http_requests|gentrade_http_requests_total[('method', 'POST'), ('route', '/api/v1/backtests'), ('status', '202')]"  # noqa: E501
    assert api[created] >= 1
    assert requests.get(f"{deployment.base_url}/metrics", timeout=10).status_code == 401

    networks = deployment.container("worker").attrs["NetworkSettings"]["Networks"]
    worker = f"http://{next(iter(networks.values()))['IPAddress']}:{WORKER_METRICS_PORT}/metrics"
    pool = deployment.metrics(worker)
    assert pool["gentrade_backtest_run_seconds|gentrade_backtest_run_seconds_count[('outcome', 'finished')]"] >= 1
    assert pool["gentrade_backtest_queue_wait_seconds|gentrade_backtest_queue_wait_seconds_count[]"] >= 1
    assert requests.get(worker, timeout=10).status_code == 401
