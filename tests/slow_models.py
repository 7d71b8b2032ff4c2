"""Chat models for the stream tests: LangChain's fake chat model made slow (each call waits, as a slow
provider does), with scripted structured outputs and scripted failures, reporting token usage.

A helper module, not a test module: the in-process tests and the gunicorn app (``tests.slow_agent_wsgi``)
both use it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.runnables import Runnable, RunnableLambda

from gentrade.agents.schemas import RouteDecision


class SlowModel(GenericFakeChatModel):
    """Waits ``delay`` seconds before each answer. ``structured`` scripts the structured outputs in order (an
    exception is raised instead); ``fail_streaming`` makes the streamed answer fail; ``tokens`` is reported
    as the streamed answer's ``usage_metadata``."""

    delay: float = 0.0
    structured: list[Any] = []
    fail_streaming: Exception | None = None
    tokens: int = 0

    def with_structured_output(self, schema: Any, **kwargs: Any) -> Runnable:
        def answer(_: Any) -> Any:
            time.sleep(self.delay)
            value = self.structured.pop(0)
            if isinstance(value, Exception):
                raise value
            assert isinstance(value, schema), (value, schema)
            return value

        return RunnableLambda(answer)

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        time.sleep(self.delay)
        if self.fail_streaming is not None:
            raise self.fail_streaming
        yield from super()._stream(*args, **kwargs)
        if self.tokens:
            usage = {"input_tokens": self.tokens - 1, "output_tokens": 1, "total_tokens": self.tokens}
            yield ChatGenerationChunk(message=AIMessageChunk(content="", usage_metadata=usage))


def slow_model(delay: float, answer: str = "A slow answer.", **fields: Any) -> SlowModel:
    """A model for one general-question turn (routed to ``general``), unless ``structured`` says otherwise."""
    fields.setdefault("structured", [RouteDecision(route="general", reason="a question")])
    return SlowModel(messages=iter([AIMessage(content=answer)]), delay=delay, **fields)


def per_turn(make: Callable[[], SlowModel]) -> Callable[[Any], SlowModel]:
    """A ``chat_model(settings)`` stand-in: a fresh model for every turn."""
    return lambda settings: make()
