"""One typed settings object, read from the ``GENTRADE_*`` environment (and ``.env``).

Development (the embedded default) needs no setting at all. Production
(``GENTRADE_ENV=production``) refuses to start without the settings that must never fall
back to a local default, and the error names each missing variable.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATA_DIR = Path("data")
DEFAULT_FREQTRADE_IMAGE = "gentrade/freqtrade:2026.9"  # built by `make docker-images`
PRODUCTION_BROKER_URL = "amqp://guest:guest@127.0.0.1:5672//"
DEFAULT_CORS_ORIGINS = ("http://localhost:3000",)  # the web frontend's development server


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class LlmProvider(StrEnum):
    OFFLINE = "offline"
    OPENAI = "openai"
    ANTHROPIC = "anthropic"


class StructuredOutput(StrEnum):
    """How a hosted model is asked for structured output (``GENTRADE_LLM_STRUCTURED_OUTPUT``)."""

    JSON_SCHEMA = "json_schema"
    FUNCTION_CALLING = "function_calling"
    JSON_MODE = "json_mode"


class StrategyCodegen(StrEnum):
    COMPILE = "compile"
    LLM = "llm"


class FreqtradeRunner(StrEnum):
    LOCAL = "local"
    DOCKER = "docker"


class ConfigurationError(RuntimeError):
    """Start-up must stop: a setting is missing or invalid. The message names it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GENTRADE_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        env_ignore_empty=True,  # ``GENTRADE_X=`` (a copied .env.example) means "use the default"
        frozen=True,
    )

    env: Environment = Environment.DEVELOPMENT
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str | None = None
    broker_url: str | None = None
    task_queue: str = Field(default="gentrade", pattern=r"^[A-Za-z0-9._-]{1,100}$")  # one per environment
    log_level: str = "INFO"

    clerk_jwks_url: str | None = None
    clerk_jwt_key: SecretStr | None = None
    clerk_issuer: str | None = None
    clerk_authorized_parties: Annotated[list[str], NoDecode] = Field(default_factory=list)
    clerk_webhook_secret: SecretStr | None = None
    jwt_leeway_seconds: int = Field(default=10, ge=0, le=300)
    jwks_cache_seconds: int = Field(default=300, ge=1)
    jwks_min_refresh_seconds: int = Field(default=30, ge=0)

    llm_provider: LlmProvider = LlmProvider.OFFLINE
    llm_model: str | None = None
    llm_base_url: str | None = None
    # Unset: json_schema (strict) for OpenAI, function calling (tool use) for Anthropic.
    llm_structured_output: StructuredOutput | None = None
    openai_api_key: SecretStr | None = Field(default=None, validation_alias=AliasChoices("OPENAI_API_KEY"))
    anthropic_api_key: SecretStr | None = Field(default=None, validation_alias=AliasChoices("ANTHROPIC_API_KEY"))

    # Agent turns: a keep-alive comment after this many idle seconds (proxies cut silent streams), turns one
    # user may start per minute and run at once, and tokens a user's turns may spend per UTC day on a hosted
    # model (0: no budget; the offline model has none).
    agent_keepalive_seconds: float = Field(default=10, gt=0, le=55)
    agent_turns_per_minute: int = Field(default=10, ge=1)
    agent_concurrent_turns: int = Field(default=2, ge=1, le=32)
    agent_daily_tokens: int = Field(default=500_000, ge=0)

    strategy_codegen: StrategyCodegen = StrategyCodegen.COMPILE
    codegen_max_repairs: int = Field(default=2, ge=0, le=5)

    freqtrade_runner: FreqtradeRunner = FreqtradeRunner.LOCAL
    freqtrade_image: str = DEFAULT_FREQTRADE_IMAGE
    exchange_api_url: str | None = None
    # Where the Docker daemon sees the data folder (the docker runner bind-mounts from there).
    docker_host_data_dir: Path | None = None
    # Containers each worker process keeps started, Freqtrade imported, each waiting for one backtest (0: a new
    # container per backtest, which then imports Freqtrade itself).
    docker_pool_size: int = Field(default=1, ge=0, le=8)

    backtest_timeout_seconds: int = Field(default=900, ge=10)
    # The local runner forks each backtest from a server that imported Freqtrade once (False: a new interpreter).
    backtest_warm_start: bool = True
    # One ``freqtrade download-data`` run (a hanging exchange): killed after this, then retried with back-off.
    backtest_download_timeout_seconds: int = Field(default=900, ge=5)
    backtest_memory_mb: int = Field(default=2048, ge=256)
    backtest_cpus: float = Field(default=1.0, gt=0)
    backtest_max_days: int = Field(default=730, ge=1)
    backtest_max_active_per_user: int = Field(default=3, ge=1)
    backtest_max_attempts: int = Field(default=3, ge=1)
    backtest_stale_seconds: int = Field(default=60, ge=2)  # no heartbeat this long: the worker is gone
    # A finished backtest's result archive is kept in PostgreSQL up to this size (any API host serves it).
    result_archive_max_mb: int = Field(default=64, ge=1, le=512)

    max_request_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Browser origins allowed to call the API (CORS); comma-separated in the environment.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=lambda: list(DEFAULT_CORS_ORIGINS))
    # Per process. A gevent worker serves many requests at once: fewer connections than concurrent
    # requests makes them queue for the pool (measured: p99 of seconds at 32 per worker). Keep
    # processes x (pool + overflow) under PostgreSQL's max_connections.
    db_pool_size: int = Field(default=20, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)

    # Prometheus metrics. With a token, scrapes must send ``Authorization: Bearer <token>``; without one the
    # API's /metrics is open in development and absent (404) in production.
    metrics_token: SecretStr | None = None
    # The Celery worker serves its pool's metrics over HTTP here; unset, it serves none.
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    worker_metrics_host: str = "0.0.0.0"  # noqa: S104 - a container's port, reached by Prometheus from outside it

    @field_validator("clerk_authorized_parties", "cors_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql", "postgres://", "sqlite")):
            raise ValueError("must be a postgresql:// or sqlite:/// URL")
        return value

    @model_validator(mode="after")
    def _codegen_needs_a_model(self) -> Settings:
        if self.strategy_codegen is StrategyCodegen.LLM and self.llm_provider is LlmProvider.OFFLINE:
            raise ValueError("GENTRADE_STRATEGY_CODEGEN=llm needs GENTRADE_LLM_PROVIDER=openai or anthropic")
        return self

    @model_validator(mode="after")
    def _hosted_model_needs_a_key(self) -> Settings:
        """In every environment: a hosted provider without its key fails at start-up, not on the first turn."""
        if self.llm_provider is LlmProvider.OPENAI and not (self.openai_api_key or self.llm_base_url):
            raise ValueError("GENTRADE_LLM_PROVIDER=openai needs OPENAI_API_KEY (or GENTRADE_LLM_BASE_URL)")
        if self.llm_provider is LlmProvider.ANTHROPIC and not (self.anthropic_api_key or self.llm_base_url):
            raise ValueError("GENTRADE_LLM_PROVIDER=anthropic needs ANTHROPIC_API_KEY (or GENTRADE_LLM_BASE_URL)")
        if self.llm_provider is LlmProvider.ANTHROPIC and self.llm_structured_output is StructuredOutput.JSON_MODE:
            raise ValueError("GENTRADE_LLM_STRUCTURED_OUTPUT=json_mode is not offered by Anthropic")
        return self

    @property
    def structured_output(self) -> StructuredOutput:
        """The method in use: the setting, or the provider's default."""
        if self.llm_structured_output is not None:
            return self.llm_structured_output
        if self.llm_provider is LlmProvider.ANTHROPIC:
            return StructuredOutput.FUNCTION_CALLING
        return StructuredOutput.JSON_SCHEMA

    @model_validator(mode="after")
    def _production_requirements(self) -> Settings:
        if self.env is not Environment.PRODUCTION:
            return self
        missing = [
            name
            for name, present in (
                ("GENTRADE_DATABASE_URL", self.database_url),
                ("GENTRADE_BROKER_URL", self.broker_url),
                ("GENTRADE_CLERK_JWKS_URL or GENTRADE_CLERK_JWT_KEY", self.clerk_jwks_url or self.clerk_jwt_key),
                ("GENTRADE_CLERK_WEBHOOK_SECRET", self.clerk_webhook_secret),
            )
            if not present
        ]
        if missing:
            raise ValueError("production requires " + ", ".join(missing))
        return self

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def uses_clerk_keys(self) -> bool:
        """True when real Clerk keys are configured: development keys are then never accepted."""
        return bool(self.clerk_jwks_url or self.clerk_jwt_key)

    @property
    def resolved_data_dir(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @property
    def sqlalchemy_url(self) -> str:
        """The configured URL with the driver this app uses (psycopg 3 for PostgreSQL)."""
        url = self.database_url or f"sqlite:///{self.resolved_data_dir / 'gentrade.db'}"
        for prefix in ("postgresql+psycopg2://", "postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url

    @property
    def effective_broker_url(self) -> str:
        """RabbitMQ in production; in development, without one, a SQLite queue that needs no server."""
        if self.broker_url:
            return self.broker_url
        if self.is_production:
            return PRODUCTION_BROKER_URL
        return f"sqla+sqlite:///{self.resolved_data_dir / 'celery-broker.sqlite'}"


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning validation errors into one message that names each variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"])
            name = f"GENTRADE_{field.upper()}" if field else ""
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{name}: {message}" if name else message)
        raise ConfigurationError("invalid configuration: " + "; ".join(problems)) from None
