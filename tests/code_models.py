"""Scripted chat models for the LLM code path (``GENTRADE_STRATEGY_CODEGEN=llm``): LangChain's fake chat
model answering from a script and recording every prompt it was sent."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatResult
from pydantic import Field


class RecordingModel(GenericFakeChatModel):
    """Answers from a script and keeps every prompt it was sent. No tool calling: plain text."""

    prompts: list[list[BaseMessage]] = Field(default_factory=list)

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        self.prompts.append(list(messages))
        return super()._generate(messages, *args, **kwargs)


class RecordingToolModel(RecordingModel):
    """The same, able to bind tools, so LangChain's ``with_structured_output`` works with it."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> RecordingToolModel:
        return self


def recording_model(*answers: AIMessage | str, tools: bool = True) -> RecordingModel:
    model_class = RecordingToolModel if tools else RecordingModel
    return model_class(messages=iter(answers))


def use_code_model(monkeypatch: pytest.MonkeyPatch, answers: list[str]) -> RecordingModel:
    """The strategies service's model for this test: it answers with ``answers`` as fenced code, in turn."""
    model = RecordingModel(messages=iter([AIMessage(content=f"```python\n{answer}```") for answer in answers]))
    monkeypatch.setattr("gentrade.services.strategies.chat_model", lambda settings: model)
    return model
