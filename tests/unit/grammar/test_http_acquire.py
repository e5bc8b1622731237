"""``acquire`` over HTTP against a real local server: hosts, addresses, redirects, statuses,
deadlines, size caps and headers from the environment.

The server listens on 127.0.0.1, a loopback address: every request that should reach it is
made with the operator's private-network opt-in (``LOCAL``), and the tests of the opt-in
itself make sure nothing reaches it without one.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasker_ctl.grammar.errors import FailureKind, InvocationError
from tasker_ctl.grammar.http import entity_url, http_acquire
from tasker_ctl.grammar.reach import allowed_hosts
from tasker_ctl.template.model import HttpResource
from tasker_ctl.trust import DEFAULT_MAX_RESPONSE_BYTES, TrustPolicy

LOCAL = TrustPolicy(allow_private_network=True)
FORTY_MB = 40 * 1024 * 1024
SECRET = "s3cr3t-value-that-must-not-leak"


class _Handler(BaseHTTPRequestHandler):
    calls: ClassVar[dict[str, int]] = {}
    seen: ClassVar[dict[str, dict[str, str | None]]] = {}
    sent: ClassVar[dict[str, int]] = {}
    finished: ClassVar[dict[str, threading.Event]] = {}

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        _Handler.calls[path] = _Handler.calls.get(path, 0) + 1
        _Handler.seen[path] = {key: self.headers.get(key) for key in ("Host", "Authorization")}
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
            self._body(b"hello", "text/plain")
        elif path == "/forbidden":
            self._json(403, {"error": "no"})
        elif path == "/echo":
            self._json(200, _Handler.seen[path])
        elif path in ("/huge", "/huge-unannounced"):
            self._stream_forty_megabytes(path, announce=path == "/huge")
        elif path == "/drip":
            self._drip_body()
        elif path == "/drip-headers":
            self._drip_headers()
        elif path == "/bomb":
            self._body(gzip.compress(b"[" + b" " * (5 * 1024 * 1024) + b"]"), encoding="gzip")
        elif path == "/gzipped":
            self._body(gzip.compress(b'{"zipped": true}'), encoding="gzip")
        elif path == "/deep":
            self._body(b"[" * 200_000 + b"]" * 200_000)
        else:
            self._json(404, {"error": "missing"})

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self._body(json.dumps(body).encode(), status=status, headers=headers)

    def _body(
        self,
        data: bytes,
        content_type: str = "application/json",
        *,
        status: int = 200,
        encoding: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        if encoding:
            self.send_header("content-encoding", encoding)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _stream_forty_megabytes(self, path: str, *, announce: bool) -> None:
        _Handler.sent[path] = 0
        chunk = b" " * 65536
        try:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            if announce:
                self.send_header("content-length", str(FORTY_MB))
            self.end_headers()
            while _Handler.sent[path] < FORTY_MB:
                self.wfile.write(chunk)
                _Handler.sent[path] += len(chunk)
        except OSError:
            pass  # the client stopped reading
        finally:
            _Handler.finished.setdefault(path, threading.Event()).set()

    def _drip_body(self) -> None:
        try:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", "1000")
            self.end_headers()
            for _ in range(1000):  # a byte every 50 ms: 50 s for the whole body
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.05)
        except OSError:
            pass

    def _drip_headers(self) -> None:
        try:
            self.wfile.write(b"HTTP/1.0 200 OK\r\n")
            for number in range(1000):  # a header every 50 ms, never the end of them
                self.wfile.write(f"x-drip-{number}: 1\r\n".encode())
                self.wfile.flush()
                time.sleep(0.05)
        except OSError:
            pass

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadingHTTPServer]:
    running = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=running.serve_forever, daemon=True).start()
    try:
        yield running
    finally:
        running.shutdown()
        running.server_close()


@pytest.fixture(scope="module")
def base_url(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def _resource(base_url: str, **extra: Any) -> HttpResource:
    return HttpResource.model_validate(
        {"kind": "http", "base_url": base_url, "allowed_hosts": ["127.0.0.1"], **extra}
    )


def _refused(
    resource: HttpResource,
    entity: str,
    policy: TrustPolicy | None = LOCAL,
    constraints: dict[str, Any] | None = None,
) -> InvocationError:
    with pytest.raises(InvocationError) as raised:
        http_acquire("api", resource, entity, {}, constraints or {}, policy)
    return raised.value


def test_params_limit_and_offset_become_the_query_and_total_count_is_read(base_url: str) -> None:
    got = http_acquire(
        "api",
        _resource(base_url),
        "items",
        {"status": "settled", "tags": ["a"]},
        {"limit": 10, "offset": 5},
        LOCAL,
    )
    assert got["total_count"] == 42
    query = got["data"]["query"]
    assert "status=settled" in query
    assert "limit=10" in query
    assert "offset=5" in query


def test_a_redirect_is_not_followed(base_url: str) -> None:
    error = _refused(_resource(base_url), "moved")
    assert "redirect" in error.message
    assert not error.retryable


@pytest.mark.parametrize(
    ("entity", "kind", "retryable"),
    [
        ("nothing", FailureKind.RESOURCE_NOT_FOUND, False),
        ("forbidden", FailureKind.EXECUTION, False),
        ("text", FailureKind.EXECUTION, False),
    ],
)
def test_failures_are_coded(base_url: str, entity: str, kind: FailureKind, retryable: bool) -> None:
    error = _refused(_resource(base_url), entity)
    assert error.kind is kind
    assert error.retryable is retryable
    assert "'api'" in error.message


def test_a_timeout_is_retryable_and_names_the_limit(base_url: str) -> None:
    error = _refused(_resource(base_url), "slow", constraints={"timeout_ms": 100})
    assert error.kind is FailureKind.TIMEOUT
    assert error.retryable
    assert "100 ms" in error.message


def test_retry_constraints_retry_unavailable_answers(base_url: str) -> None:
    got = http_acquire(
        "api",
        _resource(base_url),
        "flaky",
        {},
        {"retry": {"max_attempts": 3, "backoff_ms": 1}},
        LOCAL,
    )
    assert got["data"] == ["ok"]


def test_an_unreachable_server_is_unavailable_and_retryable() -> None:
    error = _refused(_resource("http://127.0.0.1:9", timeout_ms=500), "items")
    assert error.kind in (FailureKind.RESOURCE_UNAVAILABLE, FailureKind.TIMEOUT)
    assert error.retryable


def test_entity_paths_are_quoted_under_the_base_url_and_only_allowed_hosts_count() -> None:
    resource = HttpResource.model_validate(
        {"kind": "http", "base_url": "https://api.example.com/v1/", "allowed_hosts": ["cdn.x"]}
    )
    assert entity_url(resource, "orders/a b") == "https://api.example.com/v1/orders/a%20b"
    with pytest.raises(InvocationError, match="climbs out"):
        entity_url(resource, "../../etc")
    # the base URL's host is no longer allowed implicitly
    assert allowed_hosts(resource) == {"cdn.x"}


# -- hosts and addresses ------------------------------------------------------------------------


def test_a_host_not_in_allowed_hosts_is_refused_before_anything_is_sent(base_url: str) -> None:
    before = _Handler.calls.get("/items", 0)
    resource = _resource(base_url, allowed_hosts=["api.example.com"])
    error = _refused(resource, "items")
    assert "acquire reaches only allowed_hosts; add '127.0.0.1'" in error.message
    assert not error.retryable
    assert error.details["refusal"] == "ACQUIRE_HOST_NOT_ALLOWED"
    assert _Handler.calls.get("/items", 0) == before


@pytest.mark.parametrize("policy", [None, TrustPolicy()])
def test_loopback_is_refused_without_the_operators_opt_in(
    base_url: str, policy: TrustPolicy | None
) -> None:
    before = _Handler.calls.get("/items", 0)
    error = _refused(_resource(base_url), "items", policy)
    assert "acquire may not connect to 127.0.0.1" in error.message
    assert "private, loopback, link-local or reserved" in error.message
    assert error.hint is not None
    assert "TASKER_ACQUIRE_PRIVATE_NETWORK=1" in error.hint
    assert "--allow-private-network" in error.hint
    assert not error.retryable
    assert _Handler.calls.get("/items", 0) == before


def test_a_name_is_resolved_checked_and_pinned_with_its_host_header(
    server: ThreadingHTTPServer,
) -> None:
    port = server.server_address[1]
    resource = HttpResource.model_validate(
        {"kind": "http", "base_url": f"http://LocalHost:{port}", "allowed_hosts": ["localhost"]}
    )
    error = _refused(resource, "echo", TrustPolicy())
    assert "acquire may not connect to localhost (" in error.message
    # with the opt-in it connects to a checked address (127.0.0.1: the server listens there
    # only, so an IPv6 answer first is passed over) and names the host in the Host header
    got = http_acquire("api", resource, "echo", {}, {}, LOCAL)
    assert got["data"]["Host"] == f"localhost:{port}"


def test_https_is_pinned_to_an_address_with_the_host_name_in_sni(tmp_path: Path) -> None:
    """The request goes to a checked address while TLS names the host: the server sees SNI
    'localhost', and its self-signed certificate is refused as a permanent coded failure."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda _socket, name, _context: names.append(name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        resource = HttpResource.model_validate(
            {
                "kind": "http",
                "base_url": f"https://localhost:{port}",
                "allowed_hosts": ["localhost"],
            }
        )
        error = _refused(resource, "items")
    finally:
        server.shutdown()
        server.server_close()
    assert "certificate of localhost could not be verified" in error.message
    assert not error.retryable
    assert names
    assert set(names) == {"localhost"}


# -- deadlines and sizes --------------------------------------------------------------------------


@pytest.mark.parametrize("entity", ["drip", "drip-headers"])
def test_a_server_dripping_bytes_is_stopped_at_the_deadline(base_url: str, entity: str) -> None:
    started = time.monotonic()
    error = _refused(_resource(base_url, timeout_ms=400), entity)
    elapsed = time.monotonic() - started
    assert error.kind is FailureKind.TIMEOUT
    assert "400 ms" in error.message
    assert elapsed < 2.0, f"held for {elapsed:.1f} s past a 0.4 s deadline"


@pytest.mark.parametrize("entity", ["huge", "huge-unannounced"])
def test_a_forty_megabyte_body_is_refused_at_the_cap_without_reading_it_all(
    base_url: str, entity: str
) -> None:
    _Handler.finished[f"/{entity}"] = threading.Event()
    started = time.monotonic()
    error = _refused(_resource(base_url, timeout_ms=30_000), entity)
    assert time.monotonic() - started < 10
    assert error.kind is FailureKind.EXECUTION
    assert not error.retryable
    assert "10 MiB" in error.message
    assert "the operator's cap" in error.message
    assert error.details["max_response_bytes"] == DEFAULT_MAX_RESPONSE_BYTES
    assert _Handler.finished[f"/{entity}"].wait(10), "the server is still sending"
    assert _Handler.sent[f"/{entity}"] < FORTY_MB


def test_a_compressed_body_is_decoded_no_further_than_the_cap(base_url: str) -> None:
    small = TrustPolicy(allow_private_network=True, max_response_bytes=1024 * 1024)
    assert http_acquire("api", _resource(base_url), "gzipped", {}, {}, small)["data"] == {
        "zipped": True
    }
    error = _refused(_resource(base_url), "bomb", small)
    assert "inflates to more than the 1 MiB" in error.message
    assert not error.retryable


def test_deeply_nested_json_is_a_coded_failure(base_url: str) -> None:
    error = _refused(_resource(base_url), "deep")
    assert error.kind is FailureKind.EXECUTION
    assert "did not return JSON" in error.message


# -- invalid URLs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "base",
    [
        "http://127.0.0.1:99999",
        "http://exa mple.com",
        "http://[::1",
        "http://" + "a" * 70 + ".example",
        "http://xn--a.example",
        "ftp://127.0.0.1",
        "http:///nohost",
        "http://user:password@127.0.0.1",
        "http://127.0.0.1\x00.example",
    ],
)
def test_an_invalid_base_url_is_a_coded_failure(base: str) -> None:
    resource = HttpResource.model_validate(
        {"kind": "http", "base_url": base, "allowed_hosts": ["127.0.0.1", "xn--a.example"]}
    )
    error = _refused(resource, "items", constraints={"timeout_ms": 2000})
    assert not error.retryable or error.kind is FailureKind.RESOURCE_UNAVAILABLE


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(entity=st.text(min_size=1, max_size=40))
def test_any_entity_is_fetched_or_a_coded_failure(base_url: str, entity: str) -> None:
    # a coded failure (an unknown entity is a 404) is fine; any other exception fails the test
    with contextlib.suppress(InvocationError):
        http_acquire("api", _resource(base_url), entity, {}, {"timeout_ms": 2000}, LOCAL)


# -- headers from the environment -----------------------------------------------------------------


def test_a_variable_not_on_the_allow_list_is_refused_and_its_value_never_shown(
    base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOUD_SECRET_KEY", SECRET)
    before = _Handler.calls.get("/echo", 0)
    resource = _resource(base_url, headers_from_env={"Authorization": "CLOUD_SECRET_KEY"})
    error = _refused(resource, "echo")
    assert "CLOUD_SECRET_KEY" in error.message
    assert "not allowed" in error.message
    assert error.hint is not None
    assert "TASKER_ACQUIRE_ENV=CLOUD_SECRET_KEY" in error.hint
    assert "--allow-env CLOUD_SECRET_KEY" in error.hint
    assert SECRET not in f"{error.message} {error.hint} {error.details}"
    assert not error.retryable
    assert _Handler.calls.get("/echo", 0) == before
    allowed = TrustPolicy(allow_private_network=True, env_allow=frozenset({"CLOUD_SECRET_KEY"}))
    got = http_acquire("api", resource, "echo", {}, {}, allowed)
    assert got["data"]["Authorization"] == SECRET


def test_an_allowed_variable_that_is_unset_is_named(
    base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TASKER_TEST_TOKEN", raising=False)
    policy = TrustPolicy(allow_private_network=True, env_allow=frozenset({"TASKER_TEST_TOKEN"}))
    resource = _resource(base_url, headers_from_env={"Authorization": "TASKER_TEST_TOKEN"})
    error = _refused(resource, "items", policy)
    assert "TASKER_TEST_TOKEN" in error.message
    assert "is not set" in error.message


def test_a_value_a_header_cannot_carry_is_refused_without_showing_it(
    base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOUD_SECRET_KEY", SECRET + "\r\nX-Injected: 1")
    policy = TrustPolicy(allow_private_network=True, env_allow=frozenset({"CLOUD_SECRET_KEY"}))
    resource = _resource(base_url, headers_from_env={"Authorization": "CLOUD_SECRET_KEY"})
    error = _refused(resource, "echo", policy)
    assert "CLOUD_SECRET_KEY" in error.message
    assert SECRET not in f"{error.message} {error.hint}"
