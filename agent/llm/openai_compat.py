"""The OpenAI-compatible chat provider (OpenAI, vLLM, SGLang, Ollama, OpenRouter).

Retries are the client's job (``max_retries=0`` here), so backoff and
Retry-After handling are the same for every provider.
"""

from __future__ import annotations

from typing import Any

import openai

from cudarwin.agent.llm.errors import ProviderConfigError, RequestRejected, TransientError
from cudarwin.agent.llm.providers import Endpoint
from cudarwin.agent.llm.request import ChatReply, ChatRequest


class OpenAICompatible:
    """Chat completions through the ``openai`` package."""

    def __init__(self, endpoint: Endpoint):
        self.endpoint = endpoint
        self._client = openai.AsyncOpenAI(
            base_url=endpoint.base_url or None,
            api_key=endpoint.api_key or "none",  # local servers accept any key
            timeout=endpoint.timeout,
            max_retries=0,
        )

    async def complete(self, request: ChatRequest) -> ChatReply:
        try:
            resp = await self._client.chat.completions.create(**_params(request))
        except openai.APITimeoutError as err:
            raise TransientError(f"timeout after {self.endpoint.timeout:g}s: {err}") from None
        except openai.APIConnectionError as err:
            raise TransientError(f"connection failed to {self.endpoint.base_url or 'api.openai.com'}: {err}") from None
        except openai.APIStatusError as err:
            raise _status_error(err, request) from None
        if not resp.choices:
            raise TransientError("the server answered with no choices")
        choice = resp.choices[0]
        usage = resp.usage
        return ChatReply(
            text=choice.message.content or "",
            finish_reason=choice.finish_reason or "stop",
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
        )

    async def aclose(self) -> None:
        await self._client.close()


def _params(request: ChatRequest) -> dict[str, Any]:
    params: dict[str, Any] = {
        "model": request.model,
        "messages": [{"role": m.role, "content": m.content} for m in request.messages],
    }
    for name in ("temperature", "top_p", "max_tokens", "seed"):
        value = getattr(request, name)
        if value is not None:
            params[name] = value
    if request.extra:
        params["extra_body"] = dict(request.extra)
    return params


def _status_error(err: openai.APIStatusError, request: ChatRequest) -> Exception:
    status = err.status_code
    if status == 429 or status >= 500 or status == 408:
        return TransientError(f"HTTP {status}: {err.message}", _retry_after(err))
    if status in (401, 403):
        return ProviderConfigError(
            f"the server refused the API key for model {request.model!r} (HTTP {status})",
            hint="check the environment variable named by llm.models.<name>.api_key_env",
        )
    if status == 404:
        return ProviderConfigError(
            f"model {request.model!r} or endpoint not found (HTTP 404): {err.message}",
            hint="check llm.models.<name>.model and base_url",
        )
    return RequestRejected(f"HTTP {status}: {err.message}")


def _retry_after(err: openai.APIStatusError) -> float | None:
    headers = getattr(err.response, "headers", None) or {}
    for name in ("retry-after-ms", "retry-after"):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value)
        except ValueError:
            return None  # an HTTP date: fall back to the exponential schedule
        return seconds / 1000 if name.endswith("ms") else seconds
    return None

