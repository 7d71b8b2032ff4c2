"""The tokens a turn spent, summed from each model call's ``usage_metadata`` (what a hosted provider bills).

LangChain's own ``UsageMetadataCallbackHandler`` keeps only calls whose response names its model, which
not every provider or OpenAI-compatible server does; a budget must count them all.
"""

from __future__ import annotations

import threading
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, LLMResult


class TokenCount(BaseCallbackHandler):
    """Give it in a run's ``callbacks``; ``total`` is the tokens (input + output) of every model call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total = 0

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        for generations in response.generations:
            for generation in generations:
                message = generation.message if isinstance(generation, ChatGeneration) else None
                usage = message.usage_metadata if isinstance(message, AIMessage) else None
                if usage:
                    with self._lock:
                        self.total += int(usage.get("total_tokens", 0))
