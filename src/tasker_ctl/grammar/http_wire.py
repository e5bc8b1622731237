"""The connection-level guards of ``acquire`` (``tasker_ctl.grammar.http``): resolving a host
within a deadline, shutting a connection when the deadline passes, and reading a body no
further than the size cap (decompressing it no further either).

Each raises plain exceptions (``TimeoutError``, ``OSError``, ``BodyTooLarge``,
``BodyUndecodable``); ``http`` turns them into the grammar's ``InvocationError``s.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from tasker_ctl.grammar.errors import BodyTooLarge, BodyUndecodable

# content codings acquire decodes; it asks for these only
DECODABLE = frozenset({"gzip", "x-gzip", "deflate"})
ACCEPT_ENCODING = "gzip, deflate"


def resolve(host: str, port: int, seconds: float) -> list[str]:
    """The addresses ``host`` resolves to, in the resolver's order, without repeats.

    getaddrinfo cannot be interrupted, so it runs aside and is abandoned after ``seconds``
    (``TimeoutError``); a failed lookup is an ``OSError``.
    """
    found: dict[str, Any] = {}

    def lookup() -> None:
        try:
            found["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as error:
            found["error"] = error

    resolver = threading.Thread(target=lookup, name="tasker-acquire-resolve", daemon=True)
    resolver.start()
    resolver.join(max(seconds, 0))
    if resolver.is_alive():
        raise TimeoutError(f"resolving {host} took too long")
    if "error" in found or not found.get("infos"):
        raise OSError(f"cannot resolve {host} ({found.get('error') or 'no address'})")
    return list(dict.fromkeys(str(info[4][0]) for info in found["infos"]))


def read_capped(
    chunks: Iterable[bytes], declared_length: str | None, max_bytes: int, deadline: float
) -> bytes:
    """The body as sent, refused as soon as it is known to pass the cap (``BodyTooLarge``)
    or the deadline (``TimeoutError``); the rest is never read."""
    declared = (declared_length or "").strip()
    if declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge(f"announced {int(declared)} bytes, more")
    body = bytearray()
    for chunk in chunks:
        body += chunk
        if len(body) > max_bytes:
            raise BodyTooLarge("sent more")
        if time.monotonic() > deadline:
            raise TimeoutError("the body took too long")
    return bytes(body)


def decode_body(body: bytes, coding: str | None, max_bytes: int) -> bytes:
    """The body without its content coding, inflated no further than ``max_bytes``."""
    coding = (coding or "").strip().lower()
    if coding in ("", "identity"):
        return body
    if coding not in DECODABLE:
        raise BodyUndecodable(f"content encoding '{coding}' is not one acquire decodes")
    decoder = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib, told by the header
    try:
        data = decoder.decompress(body, max_bytes + 1)
    except zlib.error as error:
        raise BodyUndecodable(f"the {coding} body does not decode ({error})") from None
    if len(data) > max_bytes:
        raise BodyTooLarge("inflates to more")
    return data


@dataclass
class Watchdog:
    """Shuts the request's connection when the deadline passes, whatever it is waiting for.

    Pass ``trace`` as httpcore's ``trace`` request extension: it learns each socket as it is
    opened (TCP, then TLS). A read blocked on a shut socket returns at once, and the client
    reports an error, which the caller reads as a timeout when ``fired``.
    """

    seconds: float
    fired: bool = False
    _sockets: list[socket.socket] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _timer: threading.Timer | None = None

    def __enter__(self) -> Watchdog:
        self._timer = threading.Timer(self.seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if event not in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            return
        stream = info.get("return_value")
        found = stream.get_extra_info("socket") if stream is not None else None
        if not isinstance(found, socket.socket):
            return
        with self._lock:
            self._sockets.append(found)
            if self.fired:
                _shut(found)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for opened in self._sockets:
                _shut(opened)


def _shut(opened: socket.socket) -> None:
    # a socket already closed, or handed over to TLS, refuses: nothing left to wake
    with contextlib.suppress(OSError):
        opened.shutdown(socket.SHUT_RDWR)
