"""One agent turn as LangChain's v2 stream events: what ``astream_events(version="v2")`` yields and LangServe
sends from ``/stream_events``, built from the graph's synchronous stream.

Why not ``astream_events`` itself: it is async only (langchain-core has no synchronous v1/v2 path), and
running the graph on an event loop would need async checkpointers and an event loop beside gevent's.
The graph's own synchronous stream already carries every piece (model tokens with their run, the draft
tool's call and result), so this module only gives them the v2 shape: the root graph's start and end,
``on_chat_model_stream`` for the answer's tokens, and ``on_tool_start``/``on_tool_end`` for the draft
tool, whose run id is its tool call id. Messages stay LangChain message objects; the wire serialises
them as LangServe does (``model_dump``).
"""

from __future__ import annotations

import uuid
from typing import Any

from langchain_core.messages import AIMessageChunk, ToolMessage
from langchain_core.runnables.schema import StandardStreamEvent
from langchain_core.utils.utils import LC_ID_PREFIX

from gentrade.agents.schemas import DRAFT_TOOL_NAME

GRAPH_NAME = "LangGraph"
_RUN_IDS = uuid.UUID("6f1d3f5e-2b1a-4c55-9d0e-7b7c2a1f4e10")  # namespace: message ids -> stable run ids


class StreamEvents:
    """The v2 events of one turn; each method returns one event in the order the turn produces them."""

    def __init__(self, run_id: uuid.UUID, metadata: dict[str, Any], model_name: str) -> None:
        self.run_id = str(run_id)
        self.metadata = metadata
        self.model_name = model_name

    def _event(self, event: str, name: str, run_id: str, data: dict[str, Any], **metadata: Any) -> StandardStreamEvent:
        root = run_id == self.run_id
        return StandardStreamEvent(
            event=event,
            name=name,
            run_id=run_id,
            tags=[],
            metadata=self.metadata | metadata,
            data=data,  # type: ignore[typeddict-item]
            parent_ids=[] if root else [self.run_id],
        )

    def start(self, graph_input: dict[str, Any]) -> StandardStreamEvent:
        return self._event("on_chain_start", GRAPH_NAME, self.run_id, {"input": graph_input})

    def token(self, chunk: AIMessageChunk, node: str) -> StandardStreamEvent:
        return self._event(
            "on_chat_model_stream",
            self.model_name,
            model_run_id(chunk),
            {"chunk": chunk},
            langgraph_node=node,
            ls_model_name=self.model_name,
        )

    def tool_start(self, call_id: str, args: dict[str, Any]) -> StandardStreamEvent:
        return self._event("on_tool_start", DRAFT_TOOL_NAME, call_id, {"input": args}, langgraph_node="tools")

    def tool_end(self, call_id: str, args: dict[str, Any], result: ToolMessage) -> StandardStreamEvent:
        data = {"input": args, "output": result}
        return self._event("on_tool_end", DRAFT_TOOL_NAME, call_id, data, langgraph_node="tools")

    def end(self, output: dict[str, Any]) -> StandardStreamEvent:
        return self._event("on_chain_end", GRAPH_NAME, self.run_id, {"output": output})


def model_run_id(chunk: AIMessageChunk) -> str:
    """The model run a chunk came from: LangChain names a chunk after its run (``lc_run--<uuid>``) unless the
    provider gave the message an id of its own; then a stable id is derived from that."""
    message_id = chunk.id or ""
    prefix = f"{LC_ID_PREFIX}-"
    if message_id.startswith(prefix):
        return message_id.removeprefix(prefix)
    return str(uuid.uuid5(_RUN_IDS, message_id))
