"""Settings: development needs nothing; production names every missing variable."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gentrade.settings import (
    DEFAULT_FREQTRADE_IMAGE,
    ConfigurationError,
    Environment,
    FreqtradeRunner,
    LlmProvider,
    load_settings,
)

PRODUCTION = {
    "GENTRADE_ENV": "production",
    "GENTRADE_DATABASE_URL": "postgresql://gentrade:secret@db.internal:5432/gentrade",
    "GENTRADE_BROKER_URL": "amqp://gentrade:secret@mq.internal:5672//",
    "GENTRADE_CLERK_JWKS_URL": "https://clerk.gentrade.example/.well-known/jwks.json",
    "GENTRADE_CLERK_WEBHOOK_SECRET": "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=",
}
REQUIRED_IN_PRODUCTION = [
    "GENTRADE_DATABASE_URL",
    "GENTRADE_BROKER_URL",
    "GENTRADE_CLERK_JWKS_URL",
    "GENTRADE_CLERK_WEBHOOK_SECRET",
]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No ``.env`` from the repository and no variable from the developer's shell."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.upper().startswith("GENTRADE_") or name.upper() in {"OPENAI_API_KEY", "ANTHROPIC_API_KEY"}:
            monkeypatch.delenv(name)
    return tmp_path


def set_env(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_defaults_need_no_setting(tmp_path: Path) -> None:
    settings = load_settings()

    assert settings.env is Environment.DEVELOPMENT
    assert not settings.is_production
    assert settings.llm_provider is LlmProvider.OFFLINE
    assert settings.freqtrade_runner is FreqtradeRunner.LOCAL
    assert settings.freqtrade_image == DEFAULT_FREQTRADE_IMAGE
    assert settings.resolved_data_dir == (tmp_path / "data").resolve()
    assert settings.sqlalchemy_url == f"sqlite:///{(tmp_path / 'data').resolve() / 'gentrade.db'}"
    assert settings.clerk_authorized_parties == []
    assert settings.cors_origins == ["http://localhost:3000"]
    assert not settings.uses_clerk_keys
    assert settings.jwt_leeway_seconds == 10


def test_dotenv_in_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "GENTRADE_LLM_PROVIDER=anthropic\nANTHROPIC_API_KEY=sk-ant\nGENTRADE_DATA_DIR=elsewhere\n", encoding="utf-8"
    )

    settings = load_settings()

    assert settings.llm_provider is LlmProvider.ANTHROPIC
    assert settings.resolved_data_dir == (tmp_path / "elsewhere").resolve()


def test_environment_overrides_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("GENTRADE_LLM_PROVIDER=anthropic\nOPENAI_API_KEY=sk-test\n", encoding="utf-8")
    monkeypatch.setenv("GENTRADE_LLM_PROVIDER", "openai")

    assert load_settings().llm_provider is LlmProvider.OPENAI


@pytest.mark.parametrize("via", ["environment", "argument"])
def test_production_with_nothing_set_names_every_missing_variable(monkeypatch: pytest.MonkeyPatch, via: str) -> None:
    overrides = {}
    if via == "environment":
        monkeypatch.setenv("GENTRADE_ENV", "production")
    else:
        overrides["env"] = "production"

    with pytest.raises(ConfigurationError) as caught:
        load_settings(**overrides)

    for name in REQUIRED_IN_PRODUCTION:
        assert name in str(caught.value)


def test_production_fully_configured_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, PRODUCTION)

    settings = load_settings()

    assert settings.is_production
    assert settings.uses_clerk_keys
    assert settings.sqlalchemy_url == "postgresql+psycopg://gentrade:secret@db.internal:5432/gentrade"
    assert settings.effective_broker_url == PRODUCTION["GENTRADE_BROKER_URL"]
    assert settings.clerk_webhook_secret is not None
    assert settings.clerk_webhook_secret.get_secret_value() == PRODUCTION["GENTRADE_CLERK_WEBHOOK_SECRET"]


def test_production_accepts_a_pem_key_instead_of_a_jwks_url(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, {k: v for k, v in PRODUCTION.items() if k != "GENTRADE_CLERK_JWKS_URL"})
    monkeypatch.setenv("GENTRADE_CLERK_JWT_KEY", "-----BEGIN PUBLIC KEY-----\\nMIIB...\\n-----END PUBLIC KEY-----")

    assert load_settings().uses_clerk_keys


@pytest.mark.parametrize("missing", REQUIRED_IN_PRODUCTION)
def test_production_names_exactly_the_missing_variable(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    set_env(monkeypatch, {k: v for k, v in PRODUCTION.items() if k != missing})

    with pytest.raises(ConfigurationError, match=missing) as caught:
        load_settings()

    for present in set(REQUIRED_IN_PRODUCTION) - {missing}:
        assert present not in str(caught.value)


def test_secrets_are_not_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, PRODUCTION)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-live-very-secret")

    settings = load_settings()

    for text in (str(settings), repr(settings)):
        assert PRODUCTION["GENTRADE_CLERK_WEBHOOK_SECRET"] not in text
        assert "sk-live-very-secret" not in text


def test_openai_in_production_without_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, PRODUCTION)
    monkeypatch.setenv("GENTRADE_LLM_PROVIDER", "openai")

    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        load_settings()


def test_openai_in_production_with_key_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, PRODUCTION)
    monkeypatch.setenv("GENTRADE_LLM_PROVIDER", "openai")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")

    settings = load_settings()

    assert settings.openai_api_key is not None
    assert settings.openai_api_key.get_secret_value() == "sk-test"


def test_anthropic_in_production_without_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, PRODUCTION)
    monkeypatch.setenv("GENTRADE_LLM_PROVIDER", "anthropic")

    with pytest.raises(ConfigurationError, match="ANTHROPIC_API_KEY"):
        load_settings()


def test_a_hosted_provider_without_its_key_fails_at_start_up_in_development_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Finding: a missing Anthropic key was a bare AssertionError on the first turn."""
    monkeypatch.setenv("GENTRADE_LLM_PROVIDER", "anthropic")
    with pytest.raises(ConfigurationError, match="ANTHROPIC_API_KEY"):
        load_settings()
    monkeypatch.setenv("GENTRADE_LLM_PROVIDER", "openai")
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        load_settings()
    monkeypatch.setenv("GENTRADE_LLM_BASE_URL", "http://127.0.0.1:8000/v1")  # a local server needs no key
    assert load_settings().structured_output == "json_schema"


def test_structured_output_method_defaults_per_provider_and_can_be_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENTRADE_LLM_PROVIDER", "anthropic")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant")
    assert load_settings().structured_output == "function_calling"
    monkeypatch.setenv("GENTRADE_LLM_STRUCTURED_OUTPUT", "json_schema")
    assert load_settings().structured_output == "json_schema"
    monkeypatch.setenv("GENTRADE_LLM_STRUCTURED_OUTPUT", "xml")
    with pytest.raises(ConfigurationError, match="GENTRADE_LLM_STRUCTURED_OUTPUT"):
        load_settings()


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("https://a.example, https://b.example", ["https://a.example", "https://b.example"]),
        ("https://a.example", ["https://a.example"]),
        (" https://a.example ,,https://b.example, ", ["https://a.example", "https://b.example"]),
        ("", []),
    ],
)
def test_authorized_parties_are_read_comma_separated(
    monkeypatch: pytest.MonkeyPatch, raw: str, parsed: list[str]
) -> None:
    monkeypatch.setenv("GENTRADE_CLERK_AUTHORIZED_PARTIES", raw)

    assert load_settings().clerk_authorized_parties == parsed


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("https://app.example, http://localhost:3000", ["https://app.example", "http://localhost:3000"]),
        ("https://app.example", ["https://app.example"]),
        (" https://a.example ,,https://b.example, ", ["https://a.example", "https://b.example"]),
        ("", ["http://localhost:3000"]),  # empty means unset: the default
        (",", []),  # no origin at all: no browser page may call the API
    ],
)
def test_cors_origins_are_read_comma_separated(monkeypatch: pytest.MonkeyPatch, raw: str, parsed: list[str]) -> None:
    monkeypatch.setenv("GENTRADE_CORS_ORIGINS", raw)

    assert load_settings().cors_origins == parsed


def test_cors_origins_accept_a_list_argument() -> None:
    assert load_settings(cors_origins=["https://a.example"]).cors_origins == ["https://a.example"]


def test_authorized_parties_accept_a_list_argument() -> None:
    assert load_settings(clerk_authorized_parties=["https://a.example"]).clerk_authorized_parties == [
        "https://a.example"
    ]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@db:5432/gentrade", "postgresql+psycopg://u:p@db:5432/gentrade"),
        ("postgres://u:p@db:5432/gentrade", "postgresql+psycopg://u:p@db:5432/gentrade"),
        ("postgresql+psycopg2://u:p@db/gentrade", "postgresql+psycopg://u:p@db/gentrade"),
        ("postgresql+psycopg://u:p@db/gentrade", "postgresql+psycopg://u:p@db/gentrade"),
        ("sqlite:////var/lib/gentrade/gentrade.db", "sqlite:////var/lib/gentrade/gentrade.db"),
    ],
)
def test_database_url_gets_the_psycopg_driver(monkeypatch: pytest.MonkeyPatch, url: str, expected: str) -> None:
    monkeypatch.setenv("GENTRADE_DATABASE_URL", url)

    assert load_settings().sqlalchemy_url == expected


@pytest.mark.parametrize("url", ["mysql://u:p@db/gentrade", "mongodb://db/gentrade", "db.internal:5432"])
def test_unknown_database_scheme_is_refused(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("GENTRADE_DATABASE_URL", url)

    with pytest.raises(ConfigurationError, match="GENTRADE_DATABASE_URL") as caught:
        load_settings()

    assert "u:p" not in str(caught.value)  # the credentials in the URL are not echoed


def test_unknown_database_scheme_is_refused_as_argument() -> None:
    with pytest.raises(ConfigurationError, match="GENTRADE_DATABASE_URL"):
        load_settings(database_url="mysql://db/gentrade")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GENTRADE_ENV", "staging"),
        ("GENTRADE_LLM_PROVIDER", "gpt"),
        ("GENTRADE_FREQTRADE_RUNNER", "kubernetes"),
        ("GENTRADE_JWT_LEEWAY_SECONDS", "3600"),
        ("GENTRADE_JWT_LEEWAY_SECONDS", "-1"),
        ("GENTRADE_MAX_REQUEST_BYTES", "ten"),
    ],
)
def test_invalid_values_name_their_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ConfigurationError, match=name):
        load_settings()


def test_settings_are_frozen() -> None:
    settings = load_settings()

    with pytest.raises(Exception, match="frozen"):
        settings.env = Environment.PRODUCTION  # type: ignore[misc]


def test_empty_variables_mean_unset(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A copied .env.example leaves many variables empty: they fall back to their defaults."""
    for name in ("GENTRADE_DATABASE_URL", "GENTRADE_CLERK_JWKS_URL", "GENTRADE_CLERK_JWT_KEY", "GENTRADE_LLM_PROVIDER"):
        monkeypatch.setenv(name, "")
    settings = load_settings(data_dir=tmp_path)
    assert settings.sqlalchemy_url.startswith("sqlite:///")
    assert not settings.uses_clerk_keys
    assert settings.llm_provider == "offline"
