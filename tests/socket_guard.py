"""No test reaches the network: a connection by a Python socket to an address other than the
loopback (127.0.0.0/8, ::1) fails at once, and the test that tried fails with the address
named, even when the code under test swallowed the error. Unix sockets are allowed.

Registered from tests/conftest.py; it guards the whole run, collection included. Connections
made in C (libpq), in subprocesses and in forked children are not seen: those reach the
tests' own PostgreSQL, and the fuzz harness's children guard themselves.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex
blocked: list[str] = []
"""Every refused destination since the test began (read by the fixture below)."""


class NetworkAccessBlocked(OSError):
    """A test tried to connect to a non-loopback address (an OSError, so that whatever opened
    the socket closes it as after any failed connection)."""


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        # a name: allowed only when every address it resolves to is the loopback's
        try:
            infos = socket.getaddrinfo(host, None)
        except OSError:
            return True  # the connection cannot happen: let connect report it as it would
        return bool(infos) and all(
            ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]).is_loopback for info in infos
        )


def _check(sock: socket.socket, address: Any) -> None:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    host = str(address[0]) if isinstance(address, tuple) else str(address)
    if _loopback(host):
        return
    port = address[1] if isinstance(address, tuple) and len(address) > 1 else "?"
    destination = f"{host}:{port}"
    blocked.append(destination)
    raise NetworkAccessBlocked(
        f"tests may not reach the network: a connection to {destination} was refused "
        "(only 127.0.0.0/8 and ::1; start a loopback server, e.g. tests/openai_server.py)"
    )


_guarded_pid = os.getpid()


def _guarded(original: Callable[..., Any]) -> Callable[..., Any]:
    def connect(self: socket.socket, address: Any) -> Any:
        # only in the test process: a forked child (the fuzz harness's cases) has guards of
        # its own, which must see the connection to record and refuse it
        if os.getpid() == _guarded_pid:
            _check(self, address)
        return original(self, address)

    connect.__name__ = original.__name__
    connect.__doc__ = original.__doc__
    return connect


def install() -> None:
    global _guarded_pid
    _guarded_pid = os.getpid()
    socket.socket.connect = _guarded(_original_connect)  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded(_original_connect_ex)  # type: ignore[method-assign]


def uninstall() -> None:
    socket.socket.connect = _original_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _original_connect_ex  # type: ignore[method-assign]


def pytest_configure(config: pytest.Config) -> None:
    install()


def pytest_unconfigure(config: pytest.Config) -> None:
    uninstall()


@pytest.fixture(autouse=True)
def _no_network_reached() -> Iterator[None]:
    """Fail a test that tried to connect out, even when its code caught the error."""
    del blocked[:]
    yield
    if blocked:
        tried = ", ".join(blocked)
        del blocked[:]
        pytest.fail(f"the test tried to reach the network: {tried}", pytrace=False)
