"""What went wrong with the agent's model, as one stable code: the only thing a client is told.

Why: the provider's message (and the exception's class) can carry internals, quotas or prompt text, so it
goes to the log; the client gets a code it can act on (retry later, fix the key) and the request id. The
same classification labels the metrics, so the dashboard and the client never disagree.
"""

from __future__ import annotations

# Exception class names (OpenAI's and Anthropic's clients share theirs, httpx, LangChain, pydantic), checked
# along the exception's class hierarchy, most specific first; anything else is "other".
ERROR_KINDS = {
    "LlmError": "",  # an LlmError says its own kind (below)
    "APITimeoutError": "timeout",
    "TimeoutException": "timeout",
    "TimeoutError": "timeout",
    "RateLimitError": "rate_limit",
    "AuthenticationError": "auth",
    "PermissionDeniedError": "auth",
    "APIConnectionError": "connection",
    "TransportError": "connection",
    "ConnectionError": "connection",
    "BadRequestError": "bad_request",
    "NotFoundError": "bad_request",
    "UnprocessableEntityError": "bad_request",
    "InternalServerError": "server_error",
    "OverloadedError": "server_error",
    "APIStatusError": "api_error",
    "APIError": "api_error",
    "LengthFinishReasonError": "invalid_output",
    "ContentFilterFinishReasonError": "invalid_output",
    "ModelRefusalError": "invalid_output",
    "OutputParserException": "invalid_output",
    "ValidationError": "invalid_output",
}
OTHER = "other"
# What the client is told, per kind.
CODES = {
    "timeout": "llm_timeout",
    "rate_limit": "llm_rate_limited",
    "auth": "llm_auth",
    "connection": "llm_unavailable",
    "server_error": "llm_unavailable",
    "api_error": "llm_unavailable",
    "bad_request": "llm_bad_request",
    "invalid_output": "llm_bad_output",
    OTHER: "llm_error",
}


class LlmError(Exception):
    """A model failure of our own making (the model's answers never became valid output)."""

    kind = OTHER

    @property
    def code(self) -> str:
        return CODES[self.kind]


class LlmBadOutput(LlmError):
    """The model kept answering with output that does not parse, validate, fit or was refused."""

    kind = "invalid_output"


def error_kind(error: BaseException) -> str:
    """The kind of a failed model call: ``timeout``, ``rate_limit``, ``auth``, ... or ``other``."""
    for cls in type(error).__mro__:
        kind = ERROR_KINDS.get(cls.__name__)
        if kind == "":
            return error.kind  # type: ignore[attr-defined]
        if kind is not None:
            return kind
    return OTHER


def error_code(error: BaseException) -> str:
    """The stable code a client is shown for a failed turn (``llm_rate_limited``, ``llm_auth``, ...)."""
    return CODES[error_kind(error)]
