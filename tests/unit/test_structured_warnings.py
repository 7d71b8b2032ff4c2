"""A structured call through the real OpenAI client, against the local wire server, warns nothing."""

from __future__ import annotations

import warnings

from langchain_core.messages import HumanMessage

from gentrade.agents.providers import chat_model
from gentrade.agents.schemas import RouteDecision
from gentrade.agents.structured import structured
from gentrade.settings import Settings
from tests.llm_wire import WireServer, structured_json


def test_a_structured_call_emits_no_pydantic_serialization_warning() -> None:
    """Finding: every structured call warned PydanticSerializationUnexpectedValue (a pydantic class given as
    response_format: the SDK's ParsedChatCompletion[None] was dumped with the parsed model in it)."""
    server = WireServer("openai")
    try:
        server.queue(structured_json({"route": "general", "reason": "a question"}))
        settings = Settings(_env_file=None, llm_provider="openai", llm_base_url=server.url, openai_api_key="sk-x")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            decision = structured(chat_model(settings), RouteDecision, [HumanMessage("what is RSI?")])
    finally:
        server.close()
    assert decision == RouteDecision(route="general", reason="a question")
    assert not [w for w in caught if "PydanticSerializationUnexpectedValue" in str(w.message)]
