"""Local servers that speak OpenAI's Chat Completions and Anthropic's Messages protocols over HTTP.

Why: the agent must be tested against the wire formats the real APIs speak (streamed SSE chunks, tool
calls, ``response_format``, ``finish_reason: length``, refusals, error JSON), through the real LangChain
clients. Each server answers from a queue of canned replies, one per request, rendered streamed or not as
the request asks, and records every request body so a test can assert what was sent.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

PIECES = 3  # a streamed text or JSON argument arrives in this many deltas


@dataclass
class Reply:
    """One answer: text, a tool call (name and its arguments as JSON text), a refusal, and why it stopped."""

    text: str | None = None
    tool: tuple[str, str] | None = None
    refusal: str | None = None
    finish: str | None = None  # finish_reason (OpenAI) / stop_reason (Anthropic); None: the natural one


@dataclass
class Failure:
    """An HTTP error in the provider's error JSON."""

    status: int
    kind: str
    message: str


def text(value: str) -> Reply:
    return Reply(text=value)


def structured_json(value: Any, finish: str | None = None) -> Reply:
    """A ``response_format`` answer: the JSON as the message's content."""
    return Reply(text=value if isinstance(value, str) else json.dumps(value), finish=finish)


def tool(name: str, args: Any) -> Reply:
    return Reply(tool=(name, args if isinstance(args, str) else json.dumps(args)))


def _pieces(value: str) -> list[str]:
    size = max(1, -(-len(value) // PIECES))
    return [value[i : i + size] for i in range(0, len(value), size)] or [""]


@dataclass
class WireServer:
    """A scripted provider on 127.0.0.1 (a free port), in a thread; ``requests`` holds the bodies received."""

    protocol: str  # "openai" or "anthropic"
    script: list[Reply | Failure] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    # Anthropic: whether a conversation may end with an assistant message (a prefill). The default model,
    # claude-sonnet-4-6, answers 400 to one, as every Claude model from 4.6 on does.
    prefill: bool = False

    def __post_init__(self) -> None:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        """The base URL for the client (OpenAI's adds ``/chat/completions``, Anthropic's ``/v1/messages``)."""
        port = self._httpd.server_address[1]
        return f"http://127.0.0.1:{port}/v1" if self.protocol == "openai" else f"http://127.0.0.1:{port}"

    def queue(self, *replies: Reply | Failure) -> None:
        self.script.extend(replies)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def messages(self, index: int) -> list[dict[str, Any]]:
        return self.requests[index]["messages"]

    def refusal(self, body: dict[str, Any]) -> Failure | None:
        """The 400 the real server answers a request it does not accept, before any scripted reply is used."""
        last = (body.get("messages") or [{}])[-1]
        if self.protocol == "anthropic" and not self.prefill and last.get("role") == "assistant":
            message = (
                "This model does not support assistant message prefill. The conversation must end with a user message."
            )
            return Failure(400, "invalid_request_error", message)
        return None

    def next_reply(self) -> Reply | Failure:
        if not self.script:
            return Failure(418, "invalid_request_error", "no scripted reply left")
        return self.script.pop(0)


def _handler(server: WireServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            server.requests.append(body)
            server.headers.append({k.lower(): v for k, v in self.headers.items()})
            reply = server.refusal(body) or server.next_reply()
            render = _OpenAI if server.protocol == "openai" else _Anthropic
            if isinstance(reply, Failure):
                self._send(reply.status, render.error(reply), {"retry-after-ms": "1"})
            elif body.get("stream"):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for chunk in render.events(reply, body):
                    self.wfile.write(chunk.encode())
                    self.wfile.flush()
            else:
                self._send(200, render.message(reply, body))

        def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


class _OpenAI:
    """Chat Completions: ``chat.completion`` objects, ``chat.completion.chunk`` SSE ending in ``[DONE]``."""

    @staticmethod
    def error(failure: Failure) -> dict[str, Any]:
        return {"error": {"message": failure.message, "type": failure.kind, "param": None, "code": failure.kind}}

    @staticmethod
    def _finish(reply: Reply) -> str:
        return reply.finish or ("tool_calls" if reply.tool else "stop")

    @staticmethod
    def message(reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text, "refusal": reply.refusal}
        if reply.tool:
            call = {"id": f"call_{uuid.uuid4().hex[:12]}", "type": "function"}
            message["tool_calls"] = [call | {"function": {"name": reply.tool[0], "arguments": reply.tool[1]}}]
        choice = {"index": 0, "message": message, "finish_reason": _OpenAI._finish(reply), "logprobs": None}
        return _OpenAI._envelope("chat.completion", body) | {"choices": [choice], "usage": _OpenAI._usage()}

    @staticmethod
    def events(reply: Reply, body: dict[str, Any]) -> Iterator[str]:
        def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
            choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
            return f"data: {json.dumps(_OpenAI._envelope('chat.completion.chunk', body) | {'choices': [choice]})}\n\n"

        yield chunk({"role": "assistant", "content": "", "refusal": None})
        for piece in _pieces(reply.text) if reply.text else []:
            yield chunk({"content": piece})
        for piece in _pieces(reply.refusal) if reply.refusal else []:
            yield chunk({"refusal": piece})
        if reply.tool:
            name, arguments = reply.tool
            call = {"index": 0, "id": f"call_{uuid.uuid4().hex[:12]}", "type": "function"}
            yield chunk({"tool_calls": [call | {"function": {"name": name, "arguments": ""}}]})
            for piece in _pieces(arguments):
                yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
        yield chunk({}, _OpenAI._finish(reply))
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = _OpenAI._envelope("chat.completion.chunk", body) | {"choices": [], "usage": _OpenAI._usage()}
            yield f"data: {json.dumps(usage)}\n\n"
        yield "data: [DONE]\n\n"

    @staticmethod
    def _envelope(kind: str, body: dict[str, Any]) -> dict[str, Any]:
        return {"id": "chatcmpl-wire", "object": kind, "created": 1_700_000_000, "model": body.get("model", "m")}

    @staticmethod
    def _usage() -> dict[str, int]:
        return {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}


class _Anthropic:
    """Messages: a ``message`` object, or the SSE events ``message_start`` ... ``message_stop``."""

    @staticmethod
    def error(failure: Failure) -> dict[str, Any]:
        return {"type": "error", "error": {"type": failure.kind, "message": failure.message}}

    @staticmethod
    def _blocks(reply: Reply) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = []
        if reply.text:
            blocks.append({"type": "text", "text": reply.text})
        if reply.tool:
            blocks.append({"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:12]}", "name": reply.tool[0]})
        return blocks

    @staticmethod
    def _stop(reply: Reply) -> str:
        return reply.finish or ("tool_use" if reply.tool else "end_turn")

    @staticmethod
    def message(reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
        blocks = _Anthropic._blocks(reply)
        for block in blocks:
            if block["type"] == "tool_use":
                block["input"] = json.loads(reply.tool[1]) if reply.tool else {}
        return _Anthropic._message(body) | {"content": blocks, "stop_reason": _Anthropic._stop(reply)}

    @staticmethod
    def events(reply: Reply, body: dict[str, Any]) -> Iterator[str]:
        def event(kind: str, data: dict[str, Any]) -> str:
            return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n"

        yield event("message_start", {"message": _Anthropic._message(body) | {"content": [], "stop_reason": None}})
        for index, block in enumerate(_Anthropic._blocks(reply)):
            if block["type"] == "text":
                yield event("content_block_start", {"index": index, "content_block": {"type": "text", "text": ""}})
                deltas = [{"type": "text_delta", "text": piece} for piece in _pieces(block["text"])]
            else:
                yield event("content_block_start", {"index": index, "content_block": block | {"input": {}}})
                arguments = reply.tool[1] if reply.tool else "{}"
                deltas = [{"type": "input_json_delta", "partial_json": piece} for piece in _pieces(arguments)]
            for delta in deltas:
                yield event("content_block_delta", {"index": index, "delta": delta})
            yield event("content_block_stop", {"index": index})
        stop = {"stop_reason": _Anthropic._stop(reply), "stop_sequence": None}
        yield event("message_delta", {"delta": stop, "usage": {"output_tokens": 5}})
        yield event("message_stop", {})

    @staticmethod
    def _message(body: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": "msg_wire",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "claude"),
            "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 1},
        }


def wire_draft(draft: dict[str, Any]) -> dict[str, Any]:
    """A draft as a model fills the strict-mode encoding: the ROI table as ``{key, value}`` entries."""
    roi = [{"key": minutes, "value": ratio} for minutes, ratio in draft.get("minimal_roi", {}).items()]
    return {**copy.deepcopy(draft), "minimal_roi": roi, "startup_candle_count": draft.get("startup_candle_count")}


def sent_text(body: dict[str, Any]) -> str:
    """All the text a request gave the model, one part a line: Anthropic's ``system`` field, then each message's
    content (a string, or its text blocks)."""

    def parts(content: Any) -> list[str]:
        if isinstance(content, str):
            return [content]
        return [str(part.get("text", "")) for part in content or [] if isinstance(part, dict)]

    texts = parts(body.get("system"))
    for message in body.get("messages", []):
        texts += parts(message.get("content"))
    return "\n".join(texts)


# --- a scripted server's turn, and what the app sent it ------------------------------------------------

# The app's settings pointed at a wire server of each provider (the ``hosted`` fixture, tests/integration/conftest.py).
openai = pytest.mark.parametrize("hosted", ["openai"], indirect=True)
anthropic = pytest.mark.parametrize("hosted", ["anthropic"], indirect=True)
both = pytest.mark.parametrize("hosted", ["openai", "anthropic"], indirect=True)


def structured_answer(server: WireServer, name: str, value: Any, finish: str | None = None) -> Reply:
    """A structured answer as this provider gives it by default: JSON content (OpenAI), a tool call (Anthropic)."""
    if server.protocol == "openai":
        return structured_json(value, finish)
    return dataclasses.replace(tool(name, value), finish=finish)


def sent_schema(body: dict[str, Any]) -> dict[str, Any]:
    """The schema a request asked the model to fill (response_format, or the forced tool's parameters)."""
    if "response_format" in body:
        return body["response_format"]["json_schema"]["schema"]
    first = body["tools"][0]
    return first["function"]["parameters"] if "function" in first else first["input_schema"]


def last_user_text(body: dict[str, Any]) -> str:
    content = body["messages"][-1]["content"]
    return content if isinstance(content, str) else " ".join(part.get("text", "") for part in content)
