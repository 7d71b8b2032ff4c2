"""Metrics without a server: label bounds, error kinds, the token, the worker's metrics server, and
multiprocess mode across forked processes (in a fresh interpreter, as prometheus_client decides it at import)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import openai
import pytest
import requests
from langchain_core.exceptions import OutputParserException
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel, ValidationError

from gentrade.agents.errors import error_kind
from gentrade.metrics import exposition, instruments
from tests.stack.gunicorn import free_port

ROOT = Path(__file__).resolve().parents[2]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def status_error(cls: type[Exception], status: int) -> Exception:
    response = httpx.Response(status, request=httpx.Request("POST", "https://llm.example/v1"))
    return cls("refused", response=response, body=None)  # type: ignore[call-arg]


def validation_error() -> ValidationError:
    class Answer(BaseModel):
        route: str

    with pytest.raises(ValidationError) as caught:
        Answer.model_validate({})
    return caught.value


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (openai.APITimeoutError(request=httpx.Request("POST", "https://llm.example")), "timeout"),
        (TimeoutError("the provider timed out"), "timeout"),
        (status_error(openai.RateLimitError, 429), "rate_limit"),
        (status_error(anthropic.AuthenticationError, 401), "auth"),
        (openai.APIConnectionError(request=httpx.Request("POST", "https://llm.example")), "connection"),
        (status_error(openai.BadRequestError, 400), "bad_request"),
        (status_error(anthropic.OverloadedError, 529), "server_error"),
        (status_error(openai.ConflictError, 409), "api_error"),
        (OutputParserException("not JSON"), "invalid_output"),
        (validation_error(), "invalid_output"),
        (RuntimeError("something else"), "other"),
    ],
)
def test_llm_errors_are_classified_into_a_fixed_set_of_kinds(error: Exception, kind: str) -> None:
    assert error_kind(error) == kind


def test_request_labels_stay_bounded() -> None:
    before = sample("gentrade_http_requests_total", method="other", route="/healthz", status="405")
    instruments.request_served("BREW", "/healthz", 405, None)
    assert sample("gentrade_http_requests_total", method="other", route="/healthz", status="405") == before + 1
    methods = {s.labels.get("method") for family in REGISTRY.collect() for s in family.samples}
    assert "BREW" not in methods


def test_deliveries_that_ran_nothing_are_not_runs() -> None:
    before = sample("gentrade_backtest_run_seconds_count", outcome="finished")
    instruments.backtest_run_ended("busy", 3.0)
    instruments.backtest_run_ended("finished", 3.0)
    assert sample("gentrade_backtest_run_seconds_count", outcome="finished") == before + 1
    assert sample("gentrade_backtest_run_seconds_count", outcome="busy") == 0


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("Bearer s3cret-token", True),
        ("bearer s3cret-token", True),
        ("Bearer s3cret-tokeN", False),
        ("Bearer s3cret", False),
        ("Basic s3cret-token", False),
        ("s3cret-token", False),
        ("", False),
        (None, False),
    ],
)
def test_the_metrics_token_is_a_bearer_token(header: str | None, accepted: bool) -> None:
    assert exposition.token_accepted(header, "s3cret-token") is accepted


@pytest.fixture
def worker_server() -> Iterator[str]:
    port = free_port()
    server = exposition.serve("127.0.0.1", port, "s3cret-token")
    yield f"http://127.0.0.1:{port}/metrics"
    server.shutdown()
    server.server_close()


def test_the_worker_metrics_server_wants_the_token(worker_server: str) -> None:
    refused = requests.get(worker_server, timeout=5)
    assert refused.status_code == 401
    assert set(refused.json()) == {"code", "status", "message", "errors", "request_id"}
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert requests.get(worker_server, headers={"Authorization": "Bearer wrong"}, timeout=5).status_code == 401

    instruments.backtest_picked_up(2.0)
    served = requests.get(worker_server, headers={"Authorization": "Bearer s3cret-token"}, timeout=5)
    assert served.status_code == 200
    names = {family.name for family in text_string_to_metric_families(served.text)}
    assert "gentrade_backtest_queue_wait_seconds" in names


def test_the_worker_metrics_server_answers_healthz_without_the_token(worker_server: str) -> None:
    alive = requests.get(worker_server.replace("/metrics", "/healthz"), timeout=5)
    assert alive.status_code == 200
    assert alive.json() == {"status": "ok"}
    assert "gentrade_" not in alive.text


def run_python(code: str, **env: str) -> str:
    """Run ``code`` in a fresh interpreter (prometheus_client not yet imported); its stdout."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_the_app_does_not_import_prometheus_client_before_a_parent_sets_the_directory(tmp_path: Path) -> None:
    """The gunicorn master and the Celery worker build the app before they set PROMETHEUS_MULTIPROC_DIR."""
    out = run_python(
        f"""
        import sys
        from gentrade import create_app
        from gentrade.settings import Settings
        import gentrade.tasks
        create_app(Settings(_env_file=None, data_dir={str(tmp_path)!r}, worker_metrics_port=9100))
        print("prometheus_client" in sys.modules)
        """
    )
    assert out.strip() == "False"


def test_forked_processes_count_into_one_directory_that_outlives_them() -> None:
    """As under gunicorn and Celery's pool: the parent sets the directory, children count, any scrape sums."""
    out = run_python(
        """
        import os
        from gentrade.metrics import exposition, instruments

        path = exposition.use_multiprocess_dir()
        assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(path)
        from prometheus_client import values  # imported after the directory is set, as in a worker
        assert values.ValueClass._multiprocess
        for _ in range(2):
            pid = os.fork()
            if pid == 0:
                instruments.backtest_run_ended("finished", 12.0)
                os._exit(0)
            os.waitpid(pid, 0)
            exposition.process_exited(pid)
        text = exposition.scrape()[0].decode()
        print([line for line in text.splitlines() if line.startswith("gentrade_backtest_run_seconds_count")])
        exposition.release_multiprocess_dir()
        print(path.exists())
        """
    )
    counts, exists = out.strip().splitlines()
    assert counts == "['gentrade_backtest_run_seconds_count{outcome=\"finished\"} 2.0']"
    assert exists == "False"


def test_a_given_directory_is_emptied_and_kept(tmp_path: Path) -> None:
    given = tmp_path / "prometheus"
    given.mkdir()
    (given / "counter_1.db").write_bytes(b"a previous run")
    out = run_python(
        """
        from gentrade.metrics import exposition

        print(exposition.use_multiprocess_dir())
        exposition.release_multiprocess_dir()
        """,
        PROMETHEUS_MULTIPROC_DIR=str(given),
    )
    assert out.strip() == str(given)
    assert given.is_dir()
    assert list(given.iterdir()) == []


def test_setting_the_directory_after_prometheus_client_was_imported_is_refused() -> None:
    out = run_python(
        """
        import prometheus_client
        from gentrade.metrics import exposition

        try:
            exposition.use_multiprocess_dir()
        except RuntimeError as exc:
            print(exc)
        """
    )
    assert "imported before PROMETHEUS_MULTIPROC_DIR was set" in out


def test_scrapes_have_the_latest_content_type() -> None:
    instruments.request_served("GET", "/healthz", 200, 0.001)
    body, content_type = exposition.scrape()
    assert content_type == CONTENT_TYPE_LATEST
    assert b"gentrade_http_requests_total" in body
