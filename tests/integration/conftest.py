"""Fixtures of the integration tests: the backtest pipeline, real gunicorn servers (races need real
concurrency), a spy on the Freqtrade check, the app pointed at a scripted hosted model (``hosted``) or
generating code with one (``llm_app``), and the local runners' workspace.

The pipeline: the API publishes to the real RabbitMQ, a real ``celery -A gentrade.tasks worker`` process runs
stock Freqtrade on candles downloaded from the local exchange stand-in, and the API reads the outcome. A test
asks for ``api`` (and ``worker``, ``backtest_app``, ``exchange`` ... when it needs them); the fixtures are
module-scoped, so each test module gets its own exchange stand-in and worker, and a module changes the
worker's settings by overriding ``worker_settings``. The processes start through ``tests/stack``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient

from gentrade import create_app
from gentrade.exchange_sim import ExchangeSimulator
from gentrade.runtime import EXTENSION_KEY
from gentrade.settings import DEFAULT_FREQTRADE_IMAGE
from gentrade.tasks.celery_app import remove_queue
from tests.backtests import settle
from tests.clerk import AUTHORIZED_PARTY
from tests.docker_engine import OFFICIAL_LAYOUT_IMAGE, require_docker
from tests.llm_wire import WireServer
from tests.local_runner import LocalWorkspace, local_workspace_in
from tests.services import require_rabbitmq
from tests.settings import TASK_QUEUE, production_settings
from tests.spies import Calls, spy_on_checks
from tests.stack.environment import settings_env
from tests.stack.exchange import exchange_config
from tests.stack.gunicorn import gunicorn
from tests.stack.worker import Worker, running_worker

# --- the backtest pipeline -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def exchange() -> Iterator[ExchangeSimulator]:
    with ExchangeSimulator(exchange_config()) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def broker_url() -> str:
    return require_rabbitmq()


@pytest.fixture(scope="module")
def backtest_app(
    app: Flask,
    postgres_url: str,
    broker_url: str,
    data_dir: Path,
    clerk_key: rsa.RSAPrivateKey,
    exchange: ExchangeSimulator,
) -> Iterator[Flask]:
    """The API as deployed, publishing to RabbitMQ (the session ``app`` has migrated the database).
    The session's own queue is deleted afterwards."""
    env = settings_env(postgres_url, broker_url, data_dir, clerk_key, exchange.api_url)
    overrides = {key.removeprefix("GENTRADE_").lower(): value for key, value in env.items()}
    for key in (
        "env",
        "data_dir",
        "database_url",
        "broker_url",
        "clerk_jwt_key",
        "clerk_issuer",
        "clerk_webhook_secret",
    ):
        overrides.pop(key)
    overrides["clerk_authorized_parties"] = [AUTHORIZED_PARTY]
    backtest_application = create_app(
        production_settings(data_dir, postgres_url, clerk_key, broker_url=broker_url, **overrides)
    )
    celery = backtest_application.extensions["celery"]
    celery.control.purge()
    yield backtest_application
    remove_queue(celery, TASK_QUEUE)


@pytest.fixture(scope="module")
def worker_settings(
    postgres_url: str, broker_url: str, data_dir: Path, clerk_key: rsa.RSAPrivateKey, exchange: ExchangeSimulator
) -> dict[str, str]:
    """The worker's settings; a test module overrides this fixture to change some."""
    return settings_env(postgres_url, broker_url, data_dir, clerk_key, exchange.api_url)


@pytest.fixture(scope="module")
def worker(
    backtest_app: Flask, worker_settings: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Worker]:
    with running_worker(worker_settings, tmp_path_factory) as running:
        yield running


@pytest.fixture
def api(backtest_app: Flask, client: FlaskClient, worker: Worker) -> Iterator[FlaskClient]:
    """A client of the RabbitMQ-publishing app, on a clean database (``client`` cleans it).

    Afterwards, before ``client`` cleans up, whatever the test left running is stopped and waited for
    (``settle``): a backtest's task still in the worker while the next ``TRUNCATE`` runs can deadlock with it.
    """
    yield backtest_app.test_client()
    settle(backtest_app, worker)


# --- gunicorn servers ---------------------------------------------------------------------------


def module_server(
    postgres_url: str,
    data_dir: Path,
    clerk_key: rsa.RSAPrivateKey,
    tmp_path_factory: pytest.TempPathFactory,
    app: str = "wsgi:app",
    **env: str,
) -> Iterator[str]:
    """One server per module (tests clean the database through ``client``); a small pool, the machine is shared."""
    log_path = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    with gunicorn(
        postgres_url, data_dir, clerk_key, log_path, app=app, GENTRADE_DB_POOL_SIZE="10", GENTRADE_DB_MAX_OVERFLOW="5",
        **env,
    ) as url:  # fmt: skip
        yield url


@pytest.fixture(scope="module")
def small_server(
    app: Flask,
    postgres_url: str,
    data_dir: Path,
    clerk_key: rsa.RSAPrivateKey,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    yield from module_server(postgres_url, data_dir, clerk_key, tmp_path_factory)


@pytest.fixture(scope="module")
def slow_server(
    app: Flask,
    postgres_url: str,
    data_dir: Path,
    clerk_key: rsa.RSAPrivateKey,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """The app with an agent model that takes 2 s per call (``tests.slow_agent_wsgi``), keep-alives every 0.5 s."""
    yield from module_server(
        postgres_url, data_dir, clerk_key, tmp_path_factory, app="tests.slow_agent_wsgi:app", SLOW_MODEL_SECONDS="2",
        GENTRADE_AGENT_KEEPALIVE_SECONDS="0.5",
    )  # fmt: skip


@pytest.fixture
def own_server(
    client: FlaskClient, postgres_url: str, data_dir: Path, clerk_key: rsa.RSAPrivateKey, tmp_path: Path
) -> Iterator[tuple[str, Path]]:
    """A server of the test's own (its URL and log), on a clean database and data folder."""
    log_path = tmp_path / "gunicorn.log"
    with gunicorn(postgres_url, data_dir, clerk_key, log_path) as url:
        yield url, log_path


@pytest.fixture
def url(small_server: str, client: FlaskClient) -> str:
    """The server's URL, on a clean database and data folder."""
    return small_server


@pytest.fixture
def check_calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    """Counts the Freqtrade checks a test's requests run, in process and in a child (the real ones run)."""
    return spy_on_checks(monkeypatch)


# --- hosted models ------------------------------------------------------------------------------


@pytest.fixture
def hosted(
    request: pytest.FixtureRequest,
    app: Flask,
    postgres_url: str,
    data_dir: Path,
    clerk_key: rsa.RSAPrivateKey,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[WireServer]:
    """The app's settings pointed at a local wire server (``GENTRADE_LLM_PROVIDER``, ``_BASE_URL``, a dummy key)."""
    provider, _, method = request.param.partition(":")
    server = WireServer(provider)
    settings = production_settings(
        data_dir,
        postgres_url,
        clerk_key,
        llm_provider=provider,
        llm_base_url=server.url,
        llm_structured_output=method or None,
        **{f"{provider}_api_key": "sk-dummy"},
    )
    runtime = app.extensions[EXTENSION_KEY]
    monkeypatch.setitem(app.extensions, EXTENSION_KEY, dataclasses.replace(runtime, settings=settings))
    yield server
    server.close()


# --- the local runners' workspace ----------------------------------------------------------------


@pytest.fixture(scope="module")
def local_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalWorkspace]:
    with local_workspace_in(tmp_path_factory.mktemp("runner")) as workspace:
        yield workspace


# --- the LLM code path --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def llm_app(app: Flask, postgres_url: str, data_dir: Path, clerk_key: rsa.RSAPrivateKey) -> Flask:
    """The app with ``GENTRADE_STRATEGY_CODEGEN=llm`` (one repair); a test scripts the model (``use_code_model``)."""
    settings = production_settings(
        data_dir,
        postgres_url,
        clerk_key,
        llm_provider="openai",
        openai_api_key="sk-test-not-used",
        strategy_codegen="llm",
        codegen_max_repairs=1,
    )
    return create_app(settings)


@pytest.fixture(scope="module")
def engine() -> Iterator[docker.DockerClient]:
    """The real Docker engine, with the images ``make docker-images`` builds (skips without them, fails under
    ``CI=true``)."""
    client = require_docker(DEFAULT_FREQTRADE_IMAGE, OFFICIAL_LAYOUT_IMAGE)
    yield client
    client.close()
