"""What the console script and a preloader say to each other over the socket.

The request: four bytes of length, then a JSON object (the command line, the working folder,
the environment, the umask), sent in one message with the standard streams' descriptors
attached. The replies: lines of text, ``started <pid>`` once the child has taken the request
over, then ``exit <code>`` or ``signal <number>`` when it ended; or ``declined <reason>``
before anything ran, when the command must run in the console script's own process.
"""

from __future__ import annotations

import json
import os
import socket
import struct

from tasker_ctl.preload.errors import WireError

MAX_REQUEST_BYTES = 4 * 1024 * 1024
"""The largest request read: a command line and an environment, generously."""
_LENGTH = struct.Struct(">I")


class Request:
    """A command line to run, and where and how: the folder, the environment, the umask and
    the signals the console script ignores (started by nohup, say: the child ignores them
    too)."""

    __slots__ = ("argv", "cwd", "env", "ignored", "umask")

    def __init__(
        self, *, argv: list[str], cwd: str, env: dict[str, str], umask: int, ignored: list[int]
    ) -> None:
        self.argv = argv
        self.cwd = cwd
        self.env = env
        self.umask = umask
        self.ignored = ignored

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Request) and all(
            getattr(self, name) == getattr(other, name) for name in self.__slots__
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Request(argv={self.argv!r}, cwd={self.cwd!r})"

    def encode(self) -> bytes:
        fields = {
            "argv": self.argv,
            "cwd": self.cwd,
            "env": self.env,
            "umask": self.umask,
            "ignored": self.ignored,
        }
        # lone surrogates (undecodable bytes) travel as JSON escapes
        body = json.dumps(fields).encode("ascii")
        return _LENGTH.pack(len(body)) + body


def receive_request(connection: socket.socket) -> tuple[Request, list[int]]:
    """The request on ``connection`` and the descriptors that came with it (the caller owns
    them, whatever happens)."""
    data, descriptors, _flags, _address = socket.recv_fds(connection, 65536, 3)
    try:
        if len(data) < _LENGTH.size:
            raise WireError("the request is cut short")
        (length,) = _LENGTH.unpack_from(data)
        if length > MAX_REQUEST_BYTES:
            raise WireError(f"the request has {length} bytes, more than {MAX_REQUEST_BYTES}")
        body = bytearray(data[_LENGTH.size :])
        while len(body) < length:
            chunk = connection.recv(min(length - len(body), 1 << 20))
            if not chunk:
                raise WireError("the request is cut short")
            body += chunk
        return _decoded(bytes(body[:length])), descriptors
    except BaseException:
        for descriptor in descriptors:
            _close(descriptor)
        raise


def _decoded(body: bytes) -> Request:
    try:
        fields = json.loads(body)
    except ValueError as error:
        raise WireError(f"the request is not JSON: {error}") from None
    if not isinstance(fields, dict):
        raise WireError("the request is not a JSON object")
    argv, cwd, env, umask, ignored = (
        fields.get(name) for name in ("argv", "cwd", "env", "umask", "ignored")
    )
    if not (isinstance(argv, list) and argv and all(isinstance(word, str) for word in argv)):
        raise WireError("argv is not a list of strings")
    if not isinstance(cwd, str):
        raise WireError("cwd is not a string")
    if not (
        isinstance(env, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())
    ):
        raise WireError("env is not an object of strings")
    if not (isinstance(umask, int) and 0 <= umask <= 0o777):
        raise WireError("umask is not a mode")
    if not (isinstance(ignored, list) and all(type(n) is int and 0 < n < 65 for n in ignored)):
        raise WireError("ignored is not a list of signal numbers")
    return Request(argv=argv, cwd=cwd, env=env, umask=umask, ignored=ignored)


def reply(connection: socket.socket, word: str, value: object) -> bool:
    """Send one reply line; ``False`` when the console script is gone."""
    try:
        connection.sendall(f"{word} {value}\n".encode())
    except OSError:
        return False
    return True


def _close(descriptor: int) -> None:
    try:
        os.close(descriptor)
    except OSError:
        return
