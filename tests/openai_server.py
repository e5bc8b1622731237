"""A loopback server speaking the OpenAI chat-completions protocol, answering from a script.

Tests of every layer drive the real client path against it (``openai:MODEL@<base_url>``)::

    with OpenAIServer([{"tool_arguments": '{"fragment_version": "1.0"}'}]) as server:
        planner = open_planner(f"openai:test-model@{server.base_url}")

or take the ``openai_server`` fixture (registered from tests/conftest.py) and ``push`` entries.

Script entries, answered in order (an exhausted script answers 500):

- ``{"tool_arguments": "<json text>"}``: one tool call with these arguments, as written;
- ``{"text": "..."}``: a message with text and no tool call;
- ``{"status": 429, "retry_after": 2}``: an error status (with a Retry-After header);
- ``{"delay": 1.5, ...}``: wait before answering (a slow model; closing the server ends it);
- ``{"omit_usage": true, ...}``: no ``usage`` in the response; ``{"usage": {...}}``: this one;
  ``{"max_usage": true, ...}``: the most a provider could bill (every request byte a token,
  the whole answer room the request allowed);
- ``{"model": "..."}``: the model named in the response (the request's by default);
- ``{"body_bytes": N}``: an answer whose tool arguments are N bytes (an enormous body);
  with ``"no_length": true`` the body has no Content-Length (it ends with the connection).

Every request body received is kept in ``requests`` (parsed JSON), with its size in bytes in
``request_sizes``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import pytest

CHAT_PATH = "/v1/chat/completions"
DEFAULT_USAGE = {"prompt_tokens": 120, "completion_tokens": 40, "total_tokens": 160}


class OpenAIServer:
    """A chat-completions server on 127.0.0.1 (a free port), in a thread of its own."""

    def __init__(self, script: Sequence[dict[str, Any]] = ()) -> None:
        self._script: list[dict[str, Any]] = list(script)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self.requests: list[dict[str, Any]] = []
        self.request_sizes: list[int] = []
        self._server = _QuietServer(("127.0.0.1", 0), _handler_class(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def spec(self, model: str = "test-model") -> str:
        """The planner spec that reaches this server."""
        return f"openai:{model}@{self.base_url}"

    def push(self, *entries: dict[str, Any]) -> None:
        with self._lock:
            self._script.extend(entries)

    def _next(self) -> dict[str, Any] | None:
        with self._lock:
            return self._script.pop(0) if self._script else None

    def _record(self, raw: bytes) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(raw)
        with self._lock:
            self.requests.append(body)
            self.request_sizes.append(len(raw))
        return body

    def start(self) -> OpenAIServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (a timeout test) resets its connection: not a failure


def _answer(entry: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": None}
    finish_reason = "stop"
    arguments = entry.get("tool_arguments")
    if "body_bytes" in entry:
        arguments = '{"padding": "' + "x" * int(entry["body_bytes"]) + '"}'
    if arguments is not None:
        tools = request.get("tools") or [{"function": {"name": "propose_fragment"}}]
        message["tool_calls"] = [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": tools[0]["function"]["name"], "arguments": arguments},
            }
        ]
        finish_reason = "tool_calls"
    else:
        message["content"] = entry.get("text", "")
    body: dict[str, Any] = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": entry.get("model", request.get("model", "test-model")),
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
    }
    if entry.get("max_usage"):
        # the most a provider could bill: every byte of the request a token, and the whole
        # answer room the request allowed
        room = request.get("max_completion_tokens") or request.get("max_tokens") or 0
        sent = len(json.dumps(request).encode())
        body["usage"] = {
            "prompt_tokens": sent,
            "completion_tokens": room,
            "total_tokens": sent + room,
        }
    elif not entry.get("omit_usage"):
        body["usage"] = entry.get("usage", DEFAULT_USAGE)
    return body


def _handler_class(server: OpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # a test's output is not the place for access logs

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path != CHAT_PATH:
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            request = server._record(raw)
            entry = server._next()
            if entry is None:
                self._send(500, {"error": {"message": "the test server's script is exhausted"}})
                return
            if entry.get("delay") and server._closing.wait(float(entry["delay"])):
                return
            status = int(entry.get("status", 200))
            if status != 200:
                headers = {}
                if "retry_after" in entry:
                    headers["Retry-After"] = str(entry["retry_after"])
                error = {"message": f"scripted status {status}", "type": "test", "code": None}
                self._send(status, {"error": error}, headers)
                return
            self._send(200, _answer(entry, request), unsized=bool(entry.get("no_length")))

        def _send(
            self,
            status: int,
            body: dict[str, Any],
            headers: dict[str, str] | None = None,
            *,
            unsized: bool = False,
        ) -> None:
            data = json.dumps(body).encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if unsized:  # the body ends when the connection does
                    self.send_header("Connection", "close")
                    self.close_connection = True
                else:
                    self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test): nothing to answer

    return Handler


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """A running server with an empty script: ``push`` its answers."""
    with OpenAIServer() as server:
        yield server
