"""The chat model behind the agent, from ``GENTRADE_LLM_PROVIDER``: offline, OpenAI(-compatible) or Anthropic.

The hosted clients retry transient failures (timeouts, rate limits, 5xx) themselves, a bounded
number of times; what still fails reaches the stream as an ``error`` event (a code, see ``errors``). The
structured-output method rides in the model's ``metadata`` (read by ``structured``). ``GENTRADE_LLM_BASE_URL``
points either provider at a gateway or a local server. ``LlmErrors`` counts each
failed model call, by provider and kind, for the metrics.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.chat_models import BaseChatModel
from pydantic import SecretStr

from gentrade.agents.errors import error_kind
from gentrade.agents.structured import METHOD_KEY
from gentrade.metrics import instruments
from gentrade.settings import LlmProvider, Settings

TIMEOUT_SECONDS = 60
MAX_RETRIES = 2
DEFAULT_MODELS = {
    LlmProvider.OPENAI: "gpt-4o-mini",
    LlmProvider.ANTHROPIC: "claude-sonnet-4-6",
}  # 4-5 reached end-of-life 2026-11-30


def chat_model(settings: Settings) -> BaseChatModel:
    provider = settings.llm_provider
    if provider is LlmProvider.OFFLINE:
        from gentrade.agents.offline import OfflineChatModel

        return OfflineChatModel()
    model = settings.llm_model or DEFAULT_MODELS[provider]
    metadata = {METHOD_KEY: str(settings.structured_output)}
    if provider is LlmProvider.OPENAI:
        from langchain_openai import ChatOpenAI

        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
        return ChatOpenAI(
            model=model,
            api_key=key,
            base_url=settings.llm_base_url,
            timeout=TIMEOUT_SECONDS,
            max_retries=MAX_RETRIES,
            streaming=True,
            metadata=metadata,
        )
    from langchain_anthropic import ChatAnthropic

    key = settings.anthropic_api_key.get_secret_value() if settings.anthropic_api_key else "not-needed"
    extra = {"base_url": settings.llm_base_url} if settings.llm_base_url else {}
    return ChatAnthropic(
        model_name=model,
        api_key=SecretStr(key),
        timeout=TIMEOUT_SECONDS,
        max_retries=MAX_RETRIES,
        streaming=True,
        metadata=metadata,
        **extra,
    )


class LlmErrors(BaseCallbackHandler):
    """Counts every failed model call by provider and kind; give it in a run's ``callbacks``."""

    def __init__(self, provider: LlmProvider) -> None:
        self.provider = str(provider)

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        if isinstance(error, Exception):  # not a generator closed early, nor an interrupt
            instruments.llm_failed(self.provider, error_kind(error))
