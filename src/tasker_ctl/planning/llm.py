"""The model adapter: one ``PlannerRequest`` -> one model request through pydantic-ai.

Part of the ``[planning]`` extra: ``planner.open_planner`` imports this module only when a spec
names a provider, and an ImportError here becomes ``PLANNING_EXTRA_MISSING``.

One call is one HTTP request (plus at most one retry by the provider's SDK): pydantic-ai's
direct request API, no agent loop, no output validation. The fragment's JSON Schema is the one
tool's parameters and a tool call is required (a request naming no tool, a summary of a large
input, is offered none and answers text); the arguments come back as the model wrote them,
and the project's validators judge them. A model that answers text instead has its text returned.

The response body is read through a capped transport (``MAX_BODY_BYTES``): a server that sends
more is cut off, not buffered. The answer kept is at most ``MAX_ANSWER_BYTES``; the rest is
counted in ``PlannerAnswer.truncated_bytes``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import email.utils
import os
import time
from collections.abc import AsyncIterator, Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx2
from pydantic_ai import exceptions as ai_errors
from pydantic_ai.direct import model_request
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    SystemPromptPart,
    TextPart,
    ToolCallPart,
    UserPromptPart,
)
from pydantic_ai.models import Model, ModelRequestParameters
from pydantic_ai.settings import ModelSettings
from pydantic_ai.tools import ToolDefinition

from tasker_ctl.planning.errors import PlannerCallFailed
from tasker_ctl.planning.planner import PlannerAnswer, PlannerRequest, PlannerSpec

MAX_ANSWER_BYTES = 1024 * 1024
"""The most of an answer kept: a fragment at the format's limits is far smaller."""
MAX_BODY_BYTES = 4 * MAX_ANSWER_BYTES
"""The most of a response body read: an answer at the cap, JSON-escaped, with its envelope."""
SDK_RETRIES = 1
# a local server (Ollama, a test server) wants no key, but the SDK refuses to start without one
PLACEHOLDER_API_KEY = "not-needed"
TOOL_DESCRIPTION = (
    "Propose the workflow fragment that fills the planning step. Call this tool exactly once; "
    "its arguments are the whole fragment."
)

_KEY_VARIABLES = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
_T = TypeVar("_T")


class _Cap:
    """How much of a response body has been read, and whether the cap cut it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.exceeded = False


class _CappedStream(httpx2.AsyncByteStream):
    def __init__(self, inner: httpx2.AsyncByteStream, cap: _Cap) -> None:
        self._inner = inner
        self._cap = cap

    async def __aiter__(self) -> AsyncIterator[bytes]:
        seen = 0
        async for chunk in self._inner:
            seen += len(chunk)
            if seen > self._cap.limit:
                # a body without a length: cut where it passes the cap (the SDK may retry
                # once, a read failure being transient to it)
                self._cap.exceeded = True
                raise httpx2.ReadError(f"response body larger than {self._cap.limit} bytes")
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class _CappedTransport(httpx2.AsyncBaseTransport):
    """The default transport, whose response bodies stop at the cap instead of growing."""

    def __init__(self, cap: _Cap) -> None:
        self._inner = httpx2.AsyncHTTPTransport()
        self._cap = cap

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self._inner.handle_async_request(request)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._cap.limit:
            # refused before a byte of it is read, as a status the SDK does not retry
            await response.aclose()
            self._cap.exceeded = True
            return httpx2.Response(status_code=413, json={"error": {"message": "too large"}})
        stream = response.stream
        assert isinstance(stream, httpx2.AsyncByteStream)
        return httpx2.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_CappedStream(stream, self._cap),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


class ModelPlanner:
    """A model reached through pydantic-ai: OpenAI, Anthropic, Ollama or any server speaking
    the OpenAI chat-completions protocol."""

    def __init__(self, spec: PlannerSpec) -> None:
        self.spec = spec.spec
        self.provider = spec.provider
        self.model = spec.model
        self._base_url = spec.base_url

    def propose(self, request: PlannerRequest) -> PlannerAnswer:
        self._check_key()
        cap = _Cap(MAX_BODY_BYTES)
        started = time.monotonic()
        try:
            response = _run(self._request(request, cap))
        except PlannerCallFailed:
            raise
        except Exception as error:
            if cap.exceeded:
                raise PlannerCallFailed(
                    f"{self.spec}: the answer is larger than {MAX_BODY_BYTES} bytes",
                    code="PLANNER_ANSWER_TOO_LARGE",
                    retryable=False,
                    hint="the server ignored max_output_tokens; check the model",
                ) from None
            raise _call_failed(self.spec, error, request.timeout_seconds) from None
        latency_ms = round((time.monotonic() - started) * 1000)
        text = _answer_text(response)
        encoded = text.encode("utf-8")
        truncated = max(0, len(encoded) - MAX_ANSWER_BYTES)
        if truncated:
            text = encoded[:MAX_ANSWER_BYTES].decode("utf-8", "ignore")
        usage = response.usage
        # the OpenAI protocol's usage is optional: pydantic-ai then reports zeros, which no real
        # request has (the prompt alone is tokens)
        reported = usage.input_tokens > 0 or usage.output_tokens > 0
        return PlannerAnswer(
            text=text,
            tokens_in=usage.input_tokens if reported else None,
            tokens_out=usage.output_tokens if reported else None,
            provider=self.provider,
            model=response.model_name or self.model,
            latency_ms=latency_ms,
            truncated_bytes=truncated,
        )

    def _check_key(self) -> None:
        """A provider's API without its key: said before any request, with the variable."""
        variable = _KEY_VARIABLES.get(self.provider)
        if variable is None or self._base_url is not None or os.environ.get(variable):
            return
        raise PlannerCallFailed(
            f"{self.spec}: no API key for {self.provider}",
            retryable=False,
            hint=f"set {variable}, or plan with a local model (ollama:MODEL, "
            "openai:MODEL@URL) or a cassette (replay:FILE)",
        )

    async def _request(self, request: PlannerRequest, cap: _Cap) -> ModelResponse:
        timeout = httpx2.Timeout(request.timeout_seconds)
        async with httpx2.AsyncClient(transport=_CappedTransport(cap), timeout=timeout) as http:
            model = self._model(http, request.timeout_seconds)
            messages: list[ModelMessage] = [
                ModelRequest(
                    parts=[
                        SystemPromptPart(content=request.system),
                        UserPromptPart(content=request.prompt),
                    ]
                )
            ]
            settings: ModelSettings = {
                "max_tokens": request.max_output_tokens,
                "timeout": request.timeout_seconds,
                "max_retries": SDK_RETRIES,
            }
            tools = []
            if request.tool_name:  # a request without a tool (a summary) wants the text
                tools.append(
                    ToolDefinition(
                        name=request.tool_name,
                        description=TOOL_DESCRIPTION,
                        parameters_json_schema=request.tool_schema,
                    )
                )
                settings |= {"tool_choice": "required", "parallel_tool_calls": False}
            return await model_request(
                model,
                messages,
                model_settings=settings,
                model_request_parameters=ModelRequestParameters(
                    function_tools=tools, allow_text_output=True
                ),
                instrument=False,
            )

    def _model(self, http: httpx2.AsyncClient, timeout: float) -> Model:
        if self.provider == "anthropic":
            from anthropic import AsyncAnthropic
            from pydantic_ai.models.anthropic import AnthropicModel
            from pydantic_ai.providers.anthropic import AnthropicProvider

            anthropic_client = AsyncAnthropic(
                max_retries=SDK_RETRIES, timeout=timeout, http_client=http
            )
            return AnthropicModel(
                self.model, provider=AnthropicProvider(anthropic_client=anthropic_client)
            )
        from openai import AsyncOpenAI
        from pydantic_ai.models.openai import OpenAIChatModel
        from pydantic_ai.providers.openai import OpenAIProvider

        api_key = os.environ.get("OPENAI_API_KEY")
        if self._base_url is not None and not api_key:
            api_key = PLACEHOLDER_API_KEY
        openai_client = AsyncOpenAI(
            api_key=api_key,
            base_url=self._base_url,
            max_retries=SDK_RETRIES,
            timeout=timeout,
            http_client=http,
        )
        return OpenAIChatModel(self.model, provider=OpenAIProvider(openai_client=openai_client))


def _run(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coroutine`` to its end from synchronous code, in a loop of its own (in a thread of
    its own when the caller's thread already runs a loop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _answer_text(response: ModelResponse) -> str:
    """The first tool call's arguments as written, else the message's text."""
    for part in response.parts:
        if isinstance(part, ToolCallPart):
            return part.args if isinstance(part.args, str) else part.args_as_json_str()
    return "".join(part.content for part in response.parts if isinstance(part, TextPart))


def _retry_after(error: Exception) -> float | None:
    """The wait a provider asked for: pydantic-ai's reading of it, else the Retry-After (or
    retry-after-ms) header in seconds or as an HTTP date."""
    given = getattr(error, "retry_after", None)
    if isinstance(given, int | float) and given >= 0:
        return float(given)
    headers = getattr(error, "headers", None) or {}
    lowered = {str(name).lower(): str(value) for name, value in dict(headers).items()}
    try:
        if "retry-after-ms" in lowered:
            return max(0.0, float(lowered["retry-after-ms"]) / 1000)
        if "retry-after" in lowered:
            return max(0.0, float(lowered["retry-after"]))
    except ValueError:
        pass
    if "retry-after" in lowered:
        try:
            when = email.utils.parsedate_to_datetime(lowered["retry-after"])
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    return None


def _call_failed(spec: str, error: Exception, timeout: float) -> PlannerCallFailed:
    """A failed call as a coded error: rate limits, timeouts, server and transport failures may
    pass on a later call; a refused request (authentication, a bad request) will not."""
    status = getattr(error, "status_code", None)
    retry_after = _retry_after(error)
    if isinstance(error, ai_errors.ModelRateLimitError) or status == 429:
        return PlannerCallFailed(
            f"{spec}: rate limited" + (f", retry after {retry_after:g} s" if retry_after else ""),
            code="PLANNER_RATE_LIMITED",
            retryable=True,
            retry_after=float(retry_after) if retry_after is not None else None,
        )
    if isinstance(error, ai_errors.ModelTimeoutError | ai_errors.ModelRequestTimeout):
        return PlannerCallFailed(
            f"{spec}: no answer within {timeout:g} s",
            code="PLANNER_TIMEOUT",
            retryable=True,
            hint="raise the planning step's timeout_seconds, or try a faster model",
        )
    if isinstance(error, ai_errors.ModelQuotaExceededError):
        return PlannerCallFailed(
            f"{spec}: quota exceeded: {error}",
            retryable=False,
            hint="the provider's account has no quota left",
        )
    if isinstance(error, ai_errors.ModelRequestRejectedError) or (
        isinstance(status, int) and 400 <= status < 500
    ):
        return PlannerCallFailed(
            f"{spec}: the request was refused: {error}",
            retryable=False,
            hint="check the model's name and the provider's API key (OPENAI_API_KEY, "
            "ANTHROPIC_API_KEY)",
        )
    if isinstance(error, ai_errors.ModelAPIError | ai_errors.UnexpectedModelBehavior):
        return PlannerCallFailed(f"{spec}: the call failed: {error}", retryable=True)
    if isinstance(error, ai_errors.UserError):
        return PlannerCallFailed(f"{spec}: {error}", retryable=False)
    return PlannerCallFailed(
        f"{spec}: the call failed: {error.__class__.__name__}: {error}", retryable=False
    )
