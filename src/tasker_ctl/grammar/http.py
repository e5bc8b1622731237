"""``acquire`` over HTTP: GET a resource's entity from a host the template and the operator allow.

A resource is declared in the template (``resources: {name: {kind: http, base_url, ...}}``);
the entity is a path under its base URL and the evaluated ``params`` become the query string.
What the template says is untrusted, so before anything is sent:

* the base URL's host must be in ``allowed_hosts`` (``tasker_ctl.grammar.reach``);
* ``headers_from_env`` reads only variables on the operator's allow-list
  (``TrustPolicy.env_allow``), and their values never appear in a message;
* the host is resolved here and EVERY address it resolves to is checked with
  ``TrustPolicy.address_refusal`` (private, loopback, link-local and reserved addresses need the
  operator's opt-in); the request then goes to a checked address, with the host name in the
  ``Host`` header and, for https, in the TLS SNI (``sni_hostname``), so certificates are still
  checked against the name while a second DNS answer cannot send the request elsewhere.

Proxies and ``.netrc`` from the environment are ignored, redirects are not followed, the body is
read only up to ``TrustPolicy.max_response_bytes``, and ``timeout_ms`` is a deadline for the
whole acquire (resolution, connection, every read, retries): a watchdog shuts the connection
when it passes, so a server that drips a byte a second cannot hold the step. Every failure is
an ``InvocationError``: unreachable, 5xx and 429 are retryable, 404 names the missing entity,
the rest are permanent.
"""

from __future__ import annotations

import ipaddress
import json
import os
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from tasker_ctl.grammar.errors import BodyTooLarge, BodyUndecodable, FailureKind, InvocationError
from tasker_ctl.grammar.http_wire import (
    ACCEPT_ENCODING,
    Watchdog,
    decode_body,
    read_capped,
    resolve,
)
from tasker_ctl.grammar.reach import BaseUrl, http_refusals, parse_base_url
from tasker_ctl.storable import human_size
from tasker_ctl.template.model import HttpResource
from tasker_ctl.trust import TrustPolicy

# the longest a connection may take to open, within the deadline
CONNECT_TIMEOUT_SECONDS = 10.0


def entity_url(resource: HttpResource, entity: str) -> str:
    """The entity's URL under the base URL; ``.`` and ``..`` segments could climb out of it."""
    parts = [part for part in entity.strip("/").split("/") if part]
    if any(part in (".", "..") for part in parts):
        raise InvocationError(
            FailureKind.CONFIG_VALIDATION,
            f"entity '{entity}' climbs out of the resource's base URL",
            retryable=False,
        )
    base = resource.base_url.rstrip("/")
    path = "/".join(quote(part, safe="") for part in parts)
    return f"{base}/{path}" if path else base


def http_acquire(
    name: str,
    resource: HttpResource,
    entity: str,
    params: Mapping[str, Any],
    constraints: Mapping[str, Any],
    policy: TrustPolicy | None = None,
) -> dict[str, Any]:
    """GET the entity; returns ``{"data": <JSON body>, "total_count": int | None}``.

    ``policy`` is the operator's grant; without one nothing beyond the template is granted.
    """
    policy = policy if policy is not None else TrustPolicy()
    refusals = http_refusals(name, resource)
    if refusals:
        raise refusals[0].error()
    base = parse_base_url(resource.base_url)
    assert isinstance(base, BaseUrl)  # http_refusals refuses every other answer
    headers, secrets = _headers(name, resource, policy)
    request = _Request(
        name=name,
        base=base,
        url=entity_url(resource, entity),
        entity=entity,
        query=_query(params, constraints),
        headers=headers,
        secrets=secrets,
        max_bytes=policy.max_response_bytes,
        timeout_ms=int(constraints.get("timeout_ms") or resource.timeout_ms),
    )
    deadline = time.monotonic() + request.timeout_ms / 1000
    retry = constraints.get("retry") or {}
    attempts = max(int(retry.get("max_attempts") or 1), 1)
    backoff = max(int(retry.get("backoff_ms") or 0), 0) / 1000
    last: InvocationError | None = None
    for attempt in range(attempts):
        if attempt:
            pause = backoff * attempt
            if time.monotonic() + pause >= deadline:
                break
            time.sleep(pause)
        try:
            return _get(request, policy, deadline)
        except InvocationError as error:
            if not error.retryable or time.monotonic() >= deadline:
                raise
            last = error
    assert last is not None
    raise last


@dataclass(frozen=True)
class _Request:
    name: str
    base: BaseUrl
    url: str
    entity: str
    query: dict[str, str]
    headers: dict[str, str]
    secrets: tuple[str, ...]
    max_bytes: int
    timeout_ms: int

    def failure(
        self,
        kind: FailureKind,
        what: str,
        *,
        retryable: bool | None = None,
        hint: str | None = None,
    ) -> InvocationError:
        message = f"resource '{self.name}': GET {self.url} {what}"
        for secret in self.secrets:  # a header's value from the environment never shows
            message = message.replace(secret, "***")
        return InvocationError(kind, message, hint=hint, retryable=retryable)


def _headers(
    name: str, resource: HttpResource, policy: TrustPolicy
) -> tuple[dict[str, str], tuple[str, ...]]:
    headers = dict(resource.headers)
    secrets = []
    for header, variable in resource.headers_from_env.items():
        if variable not in policy.env_allow:
            raise InvocationError(
                FailureKind.CONFIG_VALIDATION,
                f"resource '{name}': header {header} reads environment variable {variable}, "
                "which the operator has not allowed acquire to send",
                hint=f"the operator allows it with TASKER_ACQUIRE_ENV={variable} (or "
                f"--allow-env {variable} on tasker-ctl worker and run)",
                retryable=False,
            )
        value = os.environ.get(variable)
        if value is None:
            raise InvocationError(
                FailureKind.RESOURCE_UNAVAILABLE,
                f"resource '{name}': environment variable {variable} (header {header}) is not set",
                retryable=False,
            )
        if not value.isascii() or not value.isprintable():
            raise InvocationError(
                FailureKind.CONFIG_VALIDATION,
                f"resource '{name}': environment variable {variable} (header {header}) holds "
                "characters a header cannot carry (line breaks, control or non-ASCII characters)",
                retryable=False,
            )
        headers[header] = value
        if value:
            secrets.append(value)
    return headers, tuple(secrets)


def _query(params: Mapping[str, Any], constraints: Mapping[str, Any]) -> dict[str, str]:
    query = {key: _query_value(value) for key, value in params.items() if value is not None}
    for key in ("limit", "offset"):
        if constraints.get(key) is not None:
            query[key] = str(constraints[key])
    return query


def _get(request: _Request, policy: TrustPolicy, deadline: float) -> dict[str, Any]:
    addresses = _addresses(request, deadline)
    for address in addresses:
        refusal = policy.address_refusal(address)
        if refusal is not None:
            shown = request.base.host + (f" ({address})" if address != request.base.host else "")
            raise InvocationError(
                FailureKind.EXECUTION,
                f"resource '{request.name}': acquire may not connect to {shown}: {refusal}",
                hint="an operator whose workers may reach their own network allows it with "
                "TASKER_ACQUIRE_PRIVATE_NETWORK=1 (or --allow-private-network on tasker-ctl "
                "worker and run)",
                retryable=False,
                details={"refusal": "ACQUIRE_ADDRESS_NOT_ALLOWED"},
            )
    unreachable: InvocationError | None = None
    for address in addresses:
        try:
            return _send(request, address, deadline)
        except _Unreachable as error:
            unreachable = error.failure  # try the host's next address
    assert unreachable is not None
    raise unreachable


def _addresses(request: _Request, deadline: float) -> list[str]:
    """The host's addresses (a literal address is itself), resolved within the deadline."""
    host = request.base.host
    if _is_address(host):
        return [host]
    try:
        return resolve(host, request.base.port, deadline - time.monotonic())
    except TimeoutError:
        raise request.failure(FailureKind.TIMEOUT, _timed_out(request)) from None
    except OSError as error:
        raise request.failure(FailureKind.RESOURCE_UNAVAILABLE, f"failed: {error}") from None


# Beside its use, not in grammar.errors: raised and caught inside this module only, where the
# InvocationError it carries is raised once no address of the host is left.
class _Unreachable(Exception):
    """This address could not be connected to; the host may have others."""

    def __init__(self, failure: InvocationError) -> None:
        super().__init__(failure.message)
        self.failure = failure


def _send(request: _Request, address: str, deadline: float) -> dict[str, Any]:
    """GET the entity from ``address``, the host's name in the Host header and SNI."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise request.failure(FailureKind.TIMEOUT, _timed_out(request))
    base = request.base
    default_port = 443 if base.scheme == "https" else 80
    host = f"[{base.host}]" if ":" in base.host else base.host
    headers = {
        **request.headers,
        "Host": host if base.port == default_port else f"{host}:{base.port}",
        "Accept-Encoding": ACCEPT_ENCODING,
    }
    watchdog = Watchdog(remaining)
    extensions: dict[str, Any] = {"trace": watchdog.trace}
    if base.scheme == "https" and not _is_address(base.host):
        extensions["sni_hostname"] = base.host
    timeout = httpx.Timeout(remaining, connect=min(CONNECT_TIMEOUT_SECONDS, remaining))
    try:
        pinned = httpx.URL(request.url).copy_with(host=address.replace("%", "%25"))
        with (
            watchdog,
            httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client,
        ):
            sent = client.build_request(
                "GET", pinned, params=request.query, headers=headers, extensions=extensions
            )
            response = client.send(sent, stream=True)
            try:
                return _answer(request, response, deadline)
            finally:
                response.close()
    except httpx.ConnectTimeout:
        raise _Unreachable(
            request.failure(FailureKind.TIMEOUT, f"timed out connecting to {address}")
        ) from None
    except httpx.ConnectError as error:
        if watchdog.fired:  # the deadline passed during the TLS handshake
            raise request.failure(FailureKind.TIMEOUT, _timed_out(request)) from None
        certificate = _certificate_error(error)
        if certificate is not None:  # the same on every address, and on a retry
            raise request.failure(
                FailureKind.EXECUTION,
                f"failed: the certificate of {base.host} could not be verified "
                f"({certificate.verify_message or certificate})",
                hint="the server must present a certificate for the host name, from a CA the "
                "worker trusts",
                retryable=False,
            ) from None
        raise _Unreachable(
            request.failure(FailureKind.RESOURCE_UNAVAILABLE, f"failed: {error}")
        ) from None
    except httpx.TimeoutException:
        raise request.failure(FailureKind.TIMEOUT, _timed_out(request)) from None
    except httpx.TransportError as error:
        if watchdog.fired:
            raise request.failure(FailureKind.TIMEOUT, _timed_out(request)) from None
        permanent = isinstance(error, httpx.UnsupportedProtocol | httpx.LocalProtocolError)
        raise request.failure(
            FailureKind.EXECUTION if permanent else FailureKind.RESOURCE_UNAVAILABLE,
            f"failed: {type(error).__name__}: {error}",
            retryable=False if permanent else None,
        ) from None
    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, httpx.CookieConflict) as error:
        # an invalid URL (from the base URL or the entity), a decoding error, ...
        raise request.failure(
            FailureKind.EXECUTION, f"failed: {type(error).__name__}: {error}", retryable=False
        ) from None
    except (ValueError, UnicodeError) as error:  # a URL or header httpx cannot encode
        raise request.failure(
            FailureKind.EXECUTION,
            f"cannot be sent: {type(error).__name__}: {error}",
            retryable=False,
        ) from None


def _answer(request: _Request, response: httpx.Response, deadline: float) -> dict[str, Any]:
    status = response.status_code
    if status == 404:
        raise InvocationError(
            FailureKind.RESOURCE_NOT_FOUND,
            f"resource '{request.name}': entity '{request.entity}' not found "
            f"(GET {request.url} -> 404)",
            retryable=False,
        )
    if 300 <= status < 400:
        raise request.failure(
            FailureKind.EXECUTION,
            f"redirected to {response.headers.get('location')!r}; redirects are not followed",
            hint="point the resource's base_url at the final location",
            retryable=False,
        )
    if status >= 500 or status == 429:
        raise request.failure(FailureKind.RESOURCE_UNAVAILABLE, f"-> {status}")
    if status >= 400:
        raise request.failure(FailureKind.EXECUTION, f"-> {status}", retryable=False)
    try:
        sent = read_capped(
            response.iter_raw(), response.headers.get("content-length"), request.max_bytes, deadline
        )
        body = decode_body(sent, response.headers.get("content-encoding"), request.max_bytes)
    except BodyTooLarge as error:
        raise _too_large(request, error.what) from None
    except BodyUndecodable as error:
        raise request.failure(FailureKind.EXECUTION, f"failed: {error}", retryable=False) from None
    except TimeoutError:
        raise request.failure(FailureKind.TIMEOUT, _timed_out(request)) from None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise request.failure(
            FailureKind.EXECUTION,
            f"did not return JSON ({response.headers.get('content-type', 'no content type')})",
            retryable=False,
        ) from None
    total = response.headers.get("x-total-count")
    return {"data": data, "total_count": int(total) if total and total.isdigit() else None}


def _too_large(request: _Request, what: str) -> InvocationError:
    cap = request.max_bytes
    error = request.failure(
        FailureKind.EXECUTION,
        f"{what} than the {human_size(cap)} acquire reads (the operator's cap)",
        hint="ask for less (params, limit), or the operator raises TASKER_ACQUIRE_MAX_BYTES",
        retryable=False,
    )
    error.details = {"refusal": "ACQUIRE_RESPONSE_TOO_LARGE", "max_response_bytes": cap}
    return error


def _timed_out(request: _Request) -> str:
    return f"timed out after {request.timeout_ms} ms (timeout_ms bounds the whole request)"


def _certificate_error(error: BaseException) -> ssl.SSLCertVerificationError | None:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)
