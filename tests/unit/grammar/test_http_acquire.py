"""``acquire`` over HTTP against a real local server: hosts, redirects, statuses, timeouts."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from tasker_ctl.grammar.errors import FailureKind, InvocationError
from tasker_ctl.grammar.http import allowed_hosts, entity_url, http_acquire
from tasker_ctl.template.model import HttpResource


class _Handler(BaseHTTPRequestHandler):
    calls: ClassVar[dict[str, int]] = {}

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        _Handler.calls[path] = _Handler.calls.get(path, 0) + 1
        if path == "/items":
            self._json(200, {"query": query}, {"x-total-count": "42"})
        elif path == "/moved":
            self.send_response(302)
            self.send_header("location", "http://elsewhere.example/items")
            self.end_headers()
        elif path == "/flaky" and _Handler.calls[path] < 3:
            self._json(503, {"error": "busy"})
        elif path == "/flaky":
            self._json(200, ["ok"])
        elif path == "/slow":
            time.sleep(0.5)
            self._json(200, [])
        elif path == "/text":
            body = b"hello"
            self.send_response(200)
            self.send_header("content-type", "text/plain")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif path == "/forbidden":
            self._json(403, {"error": "no"})
        else:
            self._json(404, {"error": "missing"})

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _resource(base_url: str, **extra: Any) -> HttpResource:
    return HttpResource.model_validate({"kind": "http", "base_url": base_url, **extra})


def test_params_limit_and_offset_become_the_query_and_total_count_is_read(base_url: str) -> None:
    got = http_acquire(
        "api",
        _resource(base_url),
        "items",
        {"status": "settled", "tags": ["a"]},
        {"limit": 10, "offset": 5},
    )
    assert got["total_count"] == 42
    query = got["data"]["query"]
    assert "status=settled" in query
    assert "limit=10" in query
    assert "offset=5" in query


def test_a_redirect_is_not_followed(base_url: str) -> None:
    with pytest.raises(InvocationError) as caught:
        http_acquire("api", _resource(base_url), "moved", {}, {})
    assert "redirect" in caught.value.message
    assert not caught.value.retryable


@pytest.mark.parametrize(
    ("entity", "kind", "retryable"),
    [
        ("nothing", FailureKind.RESOURCE_NOT_FOUND, False),
        ("forbidden", FailureKind.EXECUTION, False),
        ("text", FailureKind.EXECUTION, False),
    ],
)
def test_failures_are_coded(base_url: str, entity: str, kind: FailureKind, retryable: bool) -> None:
    with pytest.raises(InvocationError) as caught:
        http_acquire("api", _resource(base_url), entity, {}, {})
    assert caught.value.kind is kind
    assert caught.value.retryable is retryable
    assert "'api'" in caught.value.message


def test_a_timeout_is_retryable_and_names_the_limit(base_url: str) -> None:
    with pytest.raises(InvocationError) as caught:
        http_acquire("api", _resource(base_url), "slow", {}, {"timeout_ms": 100})
    assert caught.value.kind is FailureKind.TIMEOUT
    assert caught.value.retryable


def test_retry_constraints_retry_unavailable_answers(base_url: str) -> None:
    got = http_acquire(
        "api", _resource(base_url), "flaky", {}, {"retry": {"max_attempts": 3, "backoff_ms": 1}}
    )
    assert got["data"] == ["ok"]


def test_an_unreachable_server_is_unavailable_and_retryable() -> None:
    resource = _resource("http://127.0.0.1:9", timeout_ms=500)
    with pytest.raises(InvocationError) as caught:
        http_acquire("api", resource, "items", {}, {})
    assert caught.value.kind in (FailureKind.RESOURCE_UNAVAILABLE, FailureKind.TIMEOUT)
    assert caught.value.retryable


def test_header_from_a_missing_environment_variable_is_named(
    base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TASKER_TEST_TOKEN", raising=False)
    resource = _resource(base_url, headers_from_env={"Authorization": "TASKER_TEST_TOKEN"})
    with pytest.raises(InvocationError) as caught:
        http_acquire("api", resource, "items", {}, {})
    assert "TASKER_TEST_TOKEN" in caught.value.message


def test_entity_paths_are_quoted_under_the_base_url_and_its_host_is_allowed() -> None:
    resource = HttpResource.model_validate(
        {"kind": "http", "base_url": "https://api.example.com/v1/", "allowed_hosts": ["cdn.x"]}
    )
    assert entity_url(resource, "orders/a b") == "https://api.example.com/v1/orders/a%20b"
    with pytest.raises(InvocationError, match="climbs out"):
        entity_url(resource, "../../etc")
    assert allowed_hosts(resource) == {"api.example.com", "cdn.x"}
