"""``acquire`` over HTTP: GET a resource's entity, only from hosts the template allows.

A resource is declared in the template (``resources: {name: {kind: http, base_url, ...}}``);
the entity is a path under its base URL and the evaluated ``params`` become the query string.
Redirects are not followed (a redirect could leave the allowed hosts), every request has a
timeout, and failures become ``InvocationError``s an operator can act on: unreachable or 5xx
is retryable, 404 names the missing entity, other 4xx are permanent.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from tasker_ctl.grammar.errors import FailureKind, InvocationError
from tasker_ctl.template.model import HttpResource


def allowed_hosts(resource: HttpResource) -> set[str]:
    hosts = {host.lower() for host in resource.allowed_hosts}
    base = urlsplit(resource.base_url).hostname
    if base:
        hosts.add(base.lower())
    return hosts


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
) -> dict[str, Any]:
    """GET the entity; returns ``{"data": <JSON body>, "total_count": int | None}``."""
    url = entity_url(resource, entity)
    host = (urlsplit(url).hostname or "").lower()
    if host not in allowed_hosts(resource):
        raise InvocationError(
            FailureKind.EXECUTION,
            f"resource '{name}': host '{host}' is not allowed",
            hint=f"add it to resources.{name}.allowed_hosts in the template",
            retryable=False,
        )
    query = {key: _query_value(value) for key, value in params.items() if value is not None}
    for key in ("limit", "offset"):
        if constraints.get(key) is not None:
            query[key] = str(constraints[key])
    timeout_ms = constraints.get("timeout_ms") or resource.timeout_ms
    retry = constraints.get("retry") or {}
    attempts = max(int(retry.get("max_attempts") or 1), 1)
    backoff = max(int(retry.get("backoff_ms") or 0), 0) / 1000
    headers = dict(resource.headers)
    for header, variable in resource.headers_from_env.items():
        value = os.environ.get(variable)
        if value is None:
            raise InvocationError(
                FailureKind.RESOURCE_UNAVAILABLE,
                f"resource '{name}': environment variable {variable} (header {header}) is not set",
                retryable=False,
            )
        headers[header] = value
    last: InvocationError | None = None
    for attempt in range(attempts):
        if attempt:
            time.sleep(backoff * attempt)
        try:
            return _get(name, url, entity, query, headers, timeout_ms / 1000)
        except InvocationError as error:
            if not error.retryable:
                raise
            last = error
    assert last is not None
    raise last


def _get(
    name: str,
    url: str,
    entity: str,
    query: dict[str, str],
    headers: dict[str, str],
    timeout: float,
) -> dict[str, Any]:
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            response = client.get(url, params=query, headers=headers)
    except httpx.TimeoutException:
        raise InvocationError(
            FailureKind.TIMEOUT, f"resource '{name}': GET {url} timed out after {timeout:g} s"
        ) from None
    except httpx.HTTPError as error:
        raise InvocationError(
            FailureKind.RESOURCE_UNAVAILABLE, f"resource '{name}': GET {url} failed: {error}"
        ) from None
    status = response.status_code
    if status == 404:
        raise InvocationError(
            FailureKind.RESOURCE_NOT_FOUND,
            f"resource '{name}': entity '{entity}' not found (GET {url} -> 404)",
            retryable=False,
        )
    if 300 <= status < 400:
        raise InvocationError(
            FailureKind.EXECUTION,
            f"resource '{name}': GET {url} redirected to {response.headers.get('location')!r}; "
            "redirects are not followed",
            hint="point the resource's base_url at the final location",
            retryable=False,
        )
    if status >= 500 or status == 429:
        raise InvocationError(
            FailureKind.RESOURCE_UNAVAILABLE, f"resource '{name}': GET {url} -> {status}"
        )
    if status >= 400:
        raise InvocationError(
            FailureKind.EXECUTION, f"resource '{name}': GET {url} -> {status}", retryable=False
        )
    try:
        data = response.json()
    except ValueError:
        raise InvocationError(
            FailureKind.EXECUTION,
            f"resource '{name}': GET {url} did not return JSON "
            f"({response.headers.get('content-type', 'no content type')})",
            retryable=False,
        ) from None
    total = response.headers.get("x-total-count")
    return {"data": data, "total_count": int(total) if total and total.isdigit() else None}


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        import json

        return json.dumps(value, separators=(",", ":"))
    return str(value)
